"""`Cluster`: what a notebook does to the cluster, in a few readable calls over the official client.

Every call is a Kubernetes API call through the official `kubernetes` client, the same on
kind and on the simulator. Failures come back as `CourseError`s that say what to do.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from . import backends, progress, reconnecting
from .errors import ClusterError, CourseError, from_api_exception

PART_OF = "app.kubernetes.io/part-of"
LESSON = "k8s-course/lesson"
FIELD_MANAGER = "k8s-course"
MANIFESTS = Path(__file__).parent / "manifests"


class Cluster:
    """A connection to the course's cluster, working in one namespace (`cluster.namespace`)."""

    def __init__(self, backend: backends.Backend, api_client, namespace: str = "default"):
        from kubernetes import dynamic

        self.backend = backend
        self.api_client = api_client
        self.namespace = namespace
        self._dynamic = dynamic.DynamicClient(api_client)

    def __repr__(self) -> str:
        return f"<Cluster {self.backend.name} namespace={self.namespace!r}>"

    # the lesson's namespace

    def use_namespace(self, name: str) -> Cluster:
        """Create (if needed) and work in namespace `name`, labelled as the course's."""
        if self.find("Namespace", name, namespace=None) is None:
            self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, namespace=None)
        self.namespace = name
        return self

    def cleanup(self, timeout: float = 120) -> None:
        """Delete the lesson's namespace and everything in it, and wait until it is gone."""
        name = self.namespace
        if name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            raise CourseError(f"refusing to delete the system namespace {name!r}",
                              "cleanup() deletes the lesson's own namespace; use cluster.use_namespace() first")
        space = self.find("Namespace", name, namespace=None)
        if space is not None and "k8s-course/learner" in (space["metadata"].get("labels") or {}):
            self._delete_course_objects()  # a learner's namespace in a class: it stays, the work goes
            return
        try:
            self.delete("Namespace", name, namespace=None)
        except ClusterError as error:
            if error.status != 404:
                raise
        self.wait_for(lambda: self.find("Namespace", name, namespace=None) is None, timeout,
                      f"namespace {name} to be deleted")

    def _delete_course_objects(self) -> None:
        """Delete what the course made in this namespace (its label), of every kind the cluster
        serves, custom ones included; what they own goes with them (garbage collection)."""
        from kubernetes.dynamic.exceptions import DynamicApiError
        from kubernetes.dynamic.resource import ResourceList

        kinds = {(r.group_version, r.kind): r for r in self._dynamic.resources.search()
                 if not isinstance(r, ResourceList) and getattr(r, "namespaced", False) and "/" not in r.name
                 and r.kind != "Event" and {"list", "delete"} <= set(r.verbs or ())}
        # the class's own objects (the learner's account and its binding) stay with the namespace
        selector = f"{PART_OF}=k8s-course,!k8s-course/learner"
        for resource in kinds.values():
            try:
                found = self._call(lambda r=resource: r.get(namespace=self.namespace, label_selector=selector))
            except ClusterError:
                continue  # a kind this user may not list: nothing of ours can be there
            for item in found.items:
                try:
                    resource.delete(name=item.metadata.name, namespace=self.namespace)
                except DynamicApiError as error:
                    if error.status not in (403, 404):
                        raise from_api_exception(error) from None

    # reading

    def resource(self, kind: str, api_version: str | None = None):
        """The official dynamic client's resource for a kind ('Deployment', 'deploy', 'pods')."""
        return self._call(lambda: self._lookup(kind, api_version))  # discovery may have to ask the server

    def _lookup(self, kind: str, api_version: str | None):
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        for attempt in (1, 2):
            try:
                if api_version:
                    return self._dynamic.resources.get(api_version=api_version, kind=kind)
                return self._by_name(kind)
            except ResourceNotFoundError:
                if attempt == 1:
                    self._dynamic.resources.invalidate_cache()  # a CRD may have just arrived
        raise CourseError(f"the cluster does not serve {kind!r}" + (f" in {api_version}" if api_version else ""),
                          "check the spelling, or apply the CustomResourceDefinition first")

    def _by_name(self, name: str):
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        lowered = name.lower()
        for search in ({"kind": name}, {"name": lowered}, {"short_names": [lowered]}, {"singular_name": lowered}):
            found = [r for r in self._dynamic.resources.search(**search) if "/" not in r.name]
            if found:
                found.sort(key=lambda r: (r.group not in ("", "apps", "batch"), r.group))
                return found[0]
        raise ResourceNotFoundError(name)

    def get(self, kind: str, name: str, namespace: str | None = "") -> dict:
        resource = self.resource(kind)
        return self._call(lambda: resource.get(name=name, **self._scope(resource, namespace)).to_dict())

    def find(self, kind: str, name: str, namespace: str | None = "") -> dict | None:
        """Like get(), but None when it does not exist."""
        try:
            return self.get(kind, name, namespace)
        except ClusterError as error:
            if error.status == 404:
                return None
            raise

    def list(self, kind: str, namespace: str | None = "", selector: str | dict | None = None) -> list[dict]:
        resource = self.resource(kind)
        if isinstance(selector, dict):
            selector = ",".join(f"{k}={v}" for k, v in selector.items())
        answer = self._call(lambda: resource.get(label_selector=selector or "",
                                                 **self._scope(resource, namespace)).to_dict())
        return answer.get("items") or []

    def pods(self, selector: str | dict | None = None, namespace: str | None = "") -> list[dict]:
        return self.list("Pod", namespace, selector)

    def nodes(self) -> list[dict]:
        return self.list("Node", None)

    def events(self, name: str | None = None, namespace: str | None = "") -> list[dict]:
        """Events in the namespace (about `name` only, if given), oldest first."""
        events = self.list("Event", namespace)
        if name:
            events = [e for e in events if e.get("involvedObject", {}).get("name") == name]
        return sorted(events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")

    # writing

    def apply(self, manifest, namespace: str | None = "") -> list[dict]:
        """Create or update every object in `manifest` (a file, a manifest name, YAML, a dict or
        a list): server-side apply, so running the cell again is safe."""
        applied = []
        for document in _documents(manifest):
            body = copy.deepcopy(document)
            meta = body.setdefault("metadata", {})
            labels = meta.setdefault("labels", {})
            labels.setdefault(PART_OF, "k8s-course")
            labels.setdefault(LESSON, self.namespace)
            resource = self.resource(body.get("kind", ""), body.get("apiVersion"))
            scope = self._scope(resource, meta.pop("namespace", None) or namespace)
            applied.append(self._apply_one(resource, body, scope))
        return applied

    def _apply_one(self, resource, body: dict, scope: dict) -> dict:
        return self._call(lambda: resource.server_side_apply(
            body=body, name=body["metadata"].get("name"), field_manager=FIELD_MANAGER, force_conflicts=True,
            **scope)).to_dict()

    def patch(self, kind: str, name: str, changes: dict, namespace: str | None = "") -> dict:
        """Change some fields of an object (a JSON merge patch: `{"spec": {"replicas": 3}}`)."""
        resource = self.resource(kind)
        return self._call(lambda: resource.patch(name=name, body=changes, content_type="application/merge-patch+json",
                                                 **self._scope(resource, namespace)).to_dict())

    def delete(self, kind: str, name: str, namespace: str | None = "", grace_period: int | None = None) -> None:
        resource = self.resource(kind)
        options = {} if grace_period is None else {"grace_period_seconds": grace_period}
        self._call(lambda: resource.delete(name=name, **options, **self._scope(resource, namespace)))

    def scale(self, name: str, replicas, kind: str = "Deployment", namespace: str | None = "") -> None:
        """Set the replicas of a Deployment (or StatefulSet, ReplicaSet, custom resource)."""
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise CourseError(f"replicas must be a whole number, 0 or more (you gave {replicas!r})")
        resource = self.resource(kind)
        scope = self._scope(resource, namespace)
        self._call(lambda: resource.subresources["scale"].patch(
            name=name, body={"spec": {"replicas": replicas}}, content_type="application/merge-patch+json",
            **scope))

    # pods

    def logs(self, pod: str, container: str | None = None, previous: bool = False, tail: int | None = None,
             namespace: str | None = "") -> str:
        from kubernetes import client

        core = client.CoreV1Api(self.api_client)
        options = {"previous": previous}
        if container:
            options["container"] = container
        if tail is not None:
            options["tail_lines"] = tail
        return self._call(lambda: core.read_namespaced_pod_log(pod, namespace or self.namespace, **options))

    def exec(self, pod: str, command: str | list[str], container: str | None = None,
             namespace: str | None = "") -> str:
        """Run a command in a pod's container (`kubectl exec`); returns what it printed."""
        from kubernetes import client, stream

        # a client of its own: the official client's exec swaps the request method of the client it
        # runs on while its websocket is open, which would break a live view's calls meanwhile
        core = client.CoreV1Api(client.ApiClient(self.api_client.configuration))
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        options = {"container": container} if container else {}
        response = self._call(lambda: stream.stream(
            core.connect_get_namespaced_pod_exec, pod, namespace or self.namespace, command=argv,
            stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False, **options))
        response.run_forever(timeout=60)
        output = response.read_stdout() + response.read_stderr()
        code = response.returncode
        response.close()
        if code:
            raise CourseError(f"`{' '.join(argv)}` in pod {pod} exited with code {code}:\n{output}")
        return output

    # waiting

    def wait_for(self, condition: Callable[[], object], timeout: float = 120, description: str = "the cluster",
                 poll: float = 0.2):
        """Wait until `condition()` is true, with a progress bar; returns its value."""
        bar = progress.Bar(f"waiting for {description}", timeout)
        began = time.monotonic()
        try:
            while True:
                value = condition()
                if value:
                    bar.done(f"{description}: done in {time.monotonic() - began:.1f} s")
                    return value
                elapsed = time.monotonic() - began
                if elapsed >= timeout:
                    bar.fail(f"{description}: not reached after {timeout:.0f} s")
                    raise CourseError(f"timed out after {timeout:.0f} s waiting for {description}",
                                      "look at cluster.events() to see what the cluster is doing")
                bar.update(elapsed)
                time.sleep(poll)  # client side: the cluster runs on its own
        finally:
            bar.close()

    def rollout_status(self, name: str, timeout: float = 300, namespace: str | None = "") -> str:
        """Wait for a Deployment's rollout to finish, as `kubectl rollout status` does."""

        def finished():
            deployment = self.get("Deployment", name, namespace)
            return _rollout_done(deployment)

        self.wait_for(finished, timeout, f'deployment "{name}" rollout')
        return f'deployment "{name}" successfully rolled out'

    # infrastructure outside the Kubernetes API

    def node_offline(self, node: str) -> None:
        backends.node_offline(self.backend, node)

    def node_online(self, node: str) -> None:
        backends.node_online(self.backend, node)

    # plumbing

    def _scope(self, resource, namespace: str | None) -> dict:
        if not resource.namespaced:
            return {}
        return {"namespace": namespace or self.namespace} if namespace is not None else {}

    def _call(self, action):
        """Run one API call; errors become CourseErrors, and a cluster that went away is found again."""
        from kubernetes.client import ApiException
        from kubernetes.dynamic.exceptions import DynamicApiError

        for attempt in (1, 2):
            try:
                return action()
            except (DynamicApiError, ApiException) as error:
                raise from_api_exception(error) from None
            except reconnecting.connection_errors() as error:
                if attempt == 2:
                    raise CourseError(f"the cluster does not answer ({error})",
                                      "run k8s_course.connect() again; it restarts the simulator if it stopped") from None
                reconnecting.recover(self, error)  # returns only when the same cluster answers again

    def rebind(self, backend: backends.Backend) -> None:
        """Talk to `backend` from now on (after a restart), in the same namespace."""
        from kubernetes import config, dynamic

        self.backend = backend
        self.api_client = config.new_client_from_config(config_file=backend.kubeconfig, context=backend.context)
        self._dynamic = dynamic.DynamicClient(self.api_client)
        if self.namespace != "default":
            self.use_namespace(self.namespace)


def _rollout_done(deployment: dict) -> bool:
    spec, status = deployment.get("spec", {}), deployment.get("status", {})
    if deployment["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return False
    replicas = spec.get("replicas", 1)
    return (status.get("updatedReplicas", 0) >= replicas and status.get("replicas", 0) <= replicas
            and status.get("availableReplicas", 0) >= replicas)


def _documents(manifest) -> Iterable[dict]:
    if isinstance(manifest, dict):
        return [manifest]
    if isinstance(manifest, (list, tuple)):
        return [d for item in manifest for d in _documents(item)]
    if isinstance(manifest, Path) or (isinstance(manifest, str) and "\n" not in manifest
                                      and (manifest.endswith((".yaml", ".yml")) or os.path.exists(manifest))):
        path = Path(manifest)
        if not path.exists() and (MANIFESTS / path).exists():
            path = MANIFESTS / path
        if not path.exists():
            raise CourseError(f"no manifest file {manifest!r}", f"the course's manifests are in {MANIFESTS}")
        manifest = path.read_text()
    if isinstance(manifest, str):
        try:
            return [d for d in yaml.safe_load_all(manifest) if d]
        except yaml.YAMLError as error:
            raise CourseError(f"the manifest is not valid YAML: {error}",
                              "check the indentation (spaces, not tabs) around the line named") from None
    raise CourseError(f"apply() takes a file, YAML text, a dict or a list, not {type(manifest).__name__}")
