"""What the operator's simulator tests share: the CRD installed, quick timings, waiting."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from k8s_course.operator import resources
from k8s_course.operator.running import Timings

MANIFESTS = Path(resources.__file__).parent / "manifests"
QUICK = Timings(lease_duration=2, renew_every=0.3, health_every=0.3, resync_every=2.0, watch_timeout=5, settle=0.2)


def install_crd(api_client) -> None:
    """Apply the CRD (once per session is enough; applying again is harmless) and wait until served."""
    from kubernetes import client, dynamic

    body = yaml.safe_load((MANIFESTS / "crd.yaml").read_text())
    api = client.ApiextensionsV1Api(api_client)
    try:
        api.create_custom_resource_definition(body)
    except client.ApiException as error:
        if error.status != 409:
            raise
    resources_api = dynamic.DynamicClient(api_client).resources
    until(lambda: _served(resources_api), "the PostgresCluster CRD to be served")


def _served(resources_api) -> bool:
    try:
        resources_api.invalidate_cache()
        resources_api.get(api_version=resources.API_VERSION, kind=resources.KIND)
        return True
    except Exception:
        return False


def until(condition, what: str, timeout: float = 20.0, poll: float = 0.05):
    """Wait (wall time: the operator runs on its own thread) until condition() is true."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


def postgres_cluster(name: str = "pg", **spec) -> dict:
    return {"apiVersion": resources.API_VERSION, "kind": resources.KIND, "metadata": {"name": name}, "spec": spec}


class Api:
    """The few reads the tests make, in plain dicts."""

    def __init__(self, api_client, namespace: str):
        from kubernetes import client

        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.api_client = api_client

    def create(self, body: dict) -> dict:
        return self.custom.create_namespaced_custom_object(resources.GROUP, resources.VERSION, self.namespace,
                                                           resources.PLURAL, body)

    def cluster(self, name: str = "pg") -> dict | None:
        from kubernetes import client

        try:
            return self.custom.get_namespaced_custom_object(resources.GROUP, resources.VERSION, self.namespace,
                                                            resources.PLURAL, name)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise

    def status(self, name: str = "pg") -> dict:
        return (self.cluster(name) or {}).get("status") or {}

    def pods(self, selector: str = resources.MANAGED_SELECTOR) -> dict[str, dict]:
        items = self.api_client.sanitize_for_serialization(
            self.core.list_namespaced_pod(self.namespace, label_selector=selector).items)
        return {pod["metadata"]["name"]: pod for pod in items}

    def roles(self) -> dict[str, str]:
        return {name: pod["metadata"]["labels"].get(resources.ROLE_LABEL)
                for name, pod in self.pods().items() if not pod["metadata"].get("deletionTimestamp")}

    def events(self, name: str = "pg") -> list[dict]:
        """The Events about PostgresCluster `name`, oldest first."""
        items = self.api_client.sanitize_for_serialization(self.core.list_namespaced_event(self.namespace).items)
        return [e for e in items if e.get("involvedObject", {}).get("name") == name
                and e["involvedObject"].get("kind") == resources.KIND]

    def reasons(self, name: str = "pg") -> list[str]:
        return [e["reason"] for e in self.events(name)]
