"""The operator's few Kubernetes API calls, over the official client, in plain dicts.

Reads ask for the raw JSON (`_preload_content=False`), so the operator works on the same dicts
Kubernetes sends, not on the client's model classes. Patches are JSON merge patches, the one
kind custom resources accept too. `ApiException` passes through: callers decide what a 404 or
a 409 means to them.
"""

from __future__ import annotations

import json

from . import resources

MERGE_PATCH = "application/merge-patch+json"


def _json(response) -> dict:
    return json.loads(response.data)


class Kube:
    def __init__(self, api_client):
        from kubernetes import client

        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.policy = client.PolicyV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.coordination = client.CoordinationV1Api(api_client)

    # PostgresClusters

    def clusters(self, namespace: str | None) -> list[dict]:
        args = (resources.GROUP, resources.VERSION)
        if namespace:
            answer = self.custom.list_namespaced_custom_object(*args, namespace, resources.PLURAL)
        else:
            answer = self.custom.list_cluster_custom_object(*args, resources.PLURAL)
        return answer.get("items") or []

    def cluster(self, namespace: str, name: str) -> dict | None:
        from kubernetes.client import ApiException

        try:
            return self.custom.get_namespaced_custom_object(resources.GROUP, resources.VERSION, namespace,
                                                            resources.PLURAL, name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def patch_cluster(self, namespace: str, name: str, patch: dict) -> dict:
        return self.custom.patch_namespaced_custom_object(resources.GROUP, resources.VERSION, namespace,
                                                          resources.PLURAL, name, patch, _content_type=MERGE_PATCH)

    def patch_cluster_status(self, namespace: str, name: str, status: dict) -> dict:
        return self.custom.patch_namespaced_custom_object_status(
            resources.GROUP, resources.VERSION, namespace, resources.PLURAL, name, {"status": status},
            _content_type=MERGE_PATCH)

    # what a cluster owns

    def owned(self, namespace: str, cluster: str) -> tuple[list[dict], list[dict], set[str], dict[str, dict]]:
        """The cluster's pods, PVCs, the "Kind/name" of its other objects, and its Jobs by name."""
        selector = f"{resources.CLUSTER_LABEL}={cluster}"
        pods = _json(self.core.list_namespaced_pod(namespace, label_selector=selector,
                                                   _preload_content=False))["items"]
        claims = _json(self.core.list_namespaced_persistent_volume_claim(
            namespace, label_selector=selector, _preload_content=False))["items"]
        existing = {f"PersistentVolumeClaim/{c['metadata']['name']}" for c in claims}
        for kind, lister in (("Service", self.core.list_namespaced_service),
                             ("ConfigMap", self.core.list_namespaced_config_map),
                             ("PodDisruptionBudget", self.policy.list_namespaced_pod_disruption_budget)):
            items = _json(lister(namespace, label_selector=selector, _preload_content=False))["items"]
            existing |= {f"{kind}/{item['metadata']['name']}" for item in items}
        jobs = _json(self.batch.list_namespaced_job(namespace, label_selector=selector,
                                                    _preload_content=False))["items"]
        return pods, claims, existing, {job["metadata"]["name"]: job for job in jobs}

    def create(self, body: dict) -> None:
        """Create an object; one that exists already is fine (another reconcile made it)."""
        from kubernetes.client import ApiException

        namespace = body["metadata"]["namespace"]
        creators = {"Pod": self.core.create_namespaced_pod,
                    "PersistentVolumeClaim": self.core.create_namespaced_persistent_volume_claim,
                    "Service": self.core.create_namespaced_service,
                    "ConfigMap": self.core.create_namespaced_config_map,
                    "PodDisruptionBudget": self.policy.create_namespaced_pod_disruption_budget,
                    "Job": self.batch.create_namespaced_job}
        try:
            creators[body["kind"]](namespace, body, _preload_content=False)
        except ApiException as error:
            if error.status != 409:
                raise

    def delete(self, kind: str, namespace: str, name: str) -> None:
        """Delete an object; one that is gone already is fine."""
        from kubernetes.client import ApiException

        deleters = {"Pod": self.core.delete_namespaced_pod,
                    "PersistentVolumeClaim": self.core.delete_namespaced_persistent_volume_claim}
        try:
            deleters[kind](name, namespace, _preload_content=False)
        except ApiException as error:
            if error.status != 404:
                raise

    def patch(self, kind: str, namespace: str, name: str, patch: dict) -> None:
        patchers = {"Pod": self.core.patch_namespaced_pod,
                    "PersistentVolumeClaim": self.core.patch_namespaced_persistent_volume_claim}
        patchers[kind](name, namespace, patch, _content_type=MERGE_PATCH, _preload_content=False)
