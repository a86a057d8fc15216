"""DaemonSets: one pod on every node that should run one, as the daemonset controller keeps it.

For each node the controller decides, from the pod template's nodeName, nodeSelector, required
node affinity and tolerations (plus the tolerations Kubernetes gives every daemon pod), whether
a daemon pod should run there and whether an existing one may stay. It creates the missing pods
(pinned to their node by required node affinity on `metadata.name`, which the scheduler then
honours), deletes extra and misplaced ones, replaces outdated pods one node at a time within
`maxUnavailable` (RollingUpdate), keeps a ControllerRevision per template and writes the status
counts `kubectl rollout status` and `kubectl get ds` read.
"""

from __future__ import annotations

import asyncio
import copy
import json

from .. import errors, scheduler
from ..clock import parse_time
from ..events import Recorder
from ..objects import DeleteOptions
from .base import Controller

COMPONENT = "daemonset-controller"
REVISION_HASH_LABEL = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_PODS, _NODES = ("", "pods"), ("", "nodes")

# What the controller adds to every daemon pod, so that it runs on nodes in trouble too.
DAEMON_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                           "effect": "NoSchedule"}


def template_hash(template: dict, collision_count: int = 0) -> str:
    """A short, stable name for a pod template, spelled as Kubernetes spells its hashes."""
    text = json.dumps(template, sort_keys=True, separators=(",", ":")) + str(collision_count)
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_HASH_ALPHABET[ord(digit) % len(_HASH_ALPHABET)] for digit in str(value))


def daemon_pod_spec(template_spec: dict, node_name: str) -> dict:
    """The template's spec with the daemon tolerations and pinned to `node_name` by affinity."""
    spec = copy.deepcopy(template_spec)
    tolerations = spec.setdefault("tolerations", [])
    wanted = list(DAEMON_TOLERATIONS) + ([HOST_NETWORK_TOLERATION] if spec.get("hostNetwork") else [])
    for toleration in wanted:
        if toleration not in tolerations:
            tolerations.append(dict(toleration))
    requirement = {"key": "metadata.name", "operator": "In", "values": [node_name]}
    node_affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    required = node_affinity.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        terms = [{}]
    for term in terms:
        term["matchFields"] = [dict(requirement)]  # replaces any name pinning the template had
    required["nodeSelectorTerms"] = terms
    return spec


def placement(template_spec: dict, node: dict) -> tuple[bool, bool]:
    """(should run a daemon pod here, may an existing one stay), as the controller's predicates say."""
    name = node["metadata"]["name"]
    labels = node["metadata"].get("labels") or {}
    if template_spec.get("nodeName") and template_spec["nodeName"] != name:
        return False, False
    if not scheduler.node_matches_pod(template_spec, name, labels):
        return False, False
    tolerations = daemon_pod_spec(template_spec, name).get("tolerations") or []
    taints = (node.get("spec") or {}).get("taints") or []
    if scheduler.untolerated_taint(taints, tolerations, effects=("NoExecute",)) is not None:
        return False, False
    if scheduler.untolerated_taint(taints, tolerations, effects=("NoSchedule",)) is not None:
        return False, True
    return True, True


def target_node(pod: dict) -> str | None:
    """The node a daemon pod is for: its nodeName, or the name its affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and \
                    len(field.get("values") or []) == 1:
                return field["values"][0]
    return None


def _ready_since(pod: dict) -> str | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return condition.get("lastTransitionTime") or ""
    return None


def _max_unavailable(ds: dict, desired: int) -> int:
    rolling = ((ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {})
    value = rolling.get("maxUnavailable", 1)
    if isinstance(value, str) and value.endswith("%"):
        value = desired * int(value[:-1]) // 100
        return max(1, value) if desired else 0
    return int(value)


class DaemonSetController(Controller):
    watches = (("apps", "v1", "daemonsets"), ("", "v1", "pods"), ("", "v1", "nodes"))

    def __init__(self, objects):
        super().__init__(objects)
        self.recorder = Recorder(objects, COMPONENT)
        self._node_signatures: dict[str, tuple] = {}
        self._timers: dict[tuple[str, str], asyncio.Task] = {}
        self._daemonsets = self.rtype("apps", "v1", "daemonsets")
        self._pods = self.rtype("", "v1", "pods")
        self._revisions = self.rtype("apps", "v1", "controllerrevisions")

    async def handle(self, resource, event, obj) -> None:
        plural = resource[2]
        if plural == "daemonsets":
            if event != "DELETED":
                self.sync(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        elif plural == "pods":
            owner = next((o for o in obj["metadata"].get("ownerReferences") or []
                          if o.get("controller") and o.get("kind") == "DaemonSet"), None)
            if owner is not None:
                self.sync(obj["metadata"].get("namespace", ""), owner["name"])
        else:
            name = obj["metadata"]["name"]
            signature = None if event == "DELETED" else (
                repr(obj["metadata"].get("labels")), repr((obj.get("spec") or {}).get("taints")))
            if self._node_signatures.get(name) != signature:
                self._node_signatures[name] = signature
                if signature is None:
                    del self._node_signatures[name]
                for ds in self.store.list(("apps", "daemonsets")):
                    self.sync(ds["metadata"].get("namespace", ""), ds["metadata"]["name"])

    # one pass over one DaemonSet

    def sync(self, namespace: str, name: str) -> None:
        ds = self.store.get(("apps", "daemonsets"), namespace, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        template = ds["spec"]["template"]
        current_hash = self._ensure_revision(ds)
        nodes = {n["metadata"]["name"]: n for n in self.store.list(_NODES)}
        by_node: dict[str | None, list[dict]] = {}
        for pod in self.store.list(_PODS, namespace):
            if not any(o.get("uid") == ds["metadata"]["uid"] and o.get("controller")
                       for o in pod["metadata"].get("ownerReferences") or []):
                continue
            if pod["metadata"].get("deletionTimestamp"):
                by_node.setdefault("<terminating>", []).append(pod)
                continue
            if (pod.get("status") or {}).get("phase") == "Failed":
                self._delete(ds, pod)  # a failed daemon pod is killed and made again
                continue
            by_node.setdefault(target_node(pod), []).append(pod)
        for pods in by_node.values():
            pods.sort(key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"]))
        terminating_nodes = {target_node(p) for p in by_node.pop("<terminating>", [])}

        should_run: dict[str, bool] = {}
        for node_name, node in sorted(nodes.items()):
            run, stay = placement(template["spec"], node)
            should_run[node_name] = run
            pods = by_node.get(node_name, [])
            if run and not pods and node_name not in terminating_nodes:
                self._create(ds, node_name, current_hash)
            elif run and len(pods) > 1:
                for extra in pods[1:]:
                    self._delete(ds, extra)
            elif not stay:
                for pod in pods:
                    self._delete(ds, pod)
        for node_name, pods in by_node.items():
            if node_name not in nodes:  # the node is gone: so are its daemon pods
                for pod in pods:
                    self._delete(ds, pod)

        if (ds["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            self._roll(ds, by_node, should_run, current_hash, terminating_nodes)
        self._write_status(ds, by_node, should_run, current_hash)

    def _roll(self, ds: dict, by_node: dict, should_run: dict, current_hash: str, terminating: set) -> None:
        desired = sum(should_run.values())
        budget = _max_unavailable(ds, desired)
        unavailable, old_available, old_unavailable = 0, [], []
        for node_name, run in sorted(should_run.items()):
            if not run:
                continue
            pods = by_node.get(node_name, [])
            pod = pods[0] if pods else None
            available = pod is not None and self._available(ds, pod)
            if not available:
                unavailable += 1
            if pod is not None and pod["metadata"].get("labels", {}).get(REVISION_HASH_LABEL) != current_hash:
                (old_available if available else old_unavailable).append(pod)
        for pod in old_unavailable:  # already down: replacing it costs nothing
            self._delete(ds, pod)
        for pod in old_available:
            if unavailable >= budget:
                break
            self._delete(ds, pod)
            unavailable += 1

    def _available(self, ds: dict, pod: dict) -> bool:
        since = _ready_since(pod)
        if since is None:
            return False
        min_ready = ds["spec"].get("minReadySeconds") or 0
        if min_ready <= 0 or not since:
            return True
        ready_at = parse_time(since) + min_ready
        if ready_at <= self.clock.now():
            return True
        self._resync_at(ds, ready_at)
        return False

    def _resync_at(self, ds: dict, when: float) -> None:
        key = (ds["metadata"].get("namespace", ""), ds["metadata"]["name"])
        if key in self._timers and not self._timers[key].done():
            return

        async def later():
            await self.clock.sleep_until(when)
            self.sync(*key)

        self._timers[key] = asyncio.ensure_future(later())

    # writes

    def _create(self, ds: dict, node_name: str, current_hash: str) -> None:
        template = ds["spec"]["template"]
        meta = template.get("metadata") or {}
        generation = (ds["metadata"].get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION,
                                                                     str(ds["metadata"].get("generation", 1)))
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "generateName": f"{ds['metadata']['name']}-",
                "labels": {**(meta.get("labels") or {}), REVISION_HASH_LABEL: current_hash,
                           TEMPLATE_GENERATION_LABEL: generation},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": ds["metadata"]["name"],
                                     "uid": ds["metadata"]["uid"], "controller": True,
                                     "blockOwnerDeletion": True}],
            },
            "spec": daemon_pod_spec(template.get("spec") or {}, node_name),
        }
        if meta.get("annotations"):
            pod["metadata"]["annotations"] = dict(meta["annotations"])
        try:
            created = self.objects.create(self._pods, ds["metadata"].get("namespace"), pod).object
        except errors.APIError as error:
            self.recorder.event(ds, "FailedCreate", f"Error creating: {error.message}", "Warning")
            return
        self.recorder.event(ds, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

    def _delete(self, ds: dict, pod: dict) -> None:
        try:
            self.objects.delete(self._pods, pod["metadata"].get("namespace"), pod["metadata"]["name"],
                                DeleteOptions())
        except errors.APIError as error:
            if error.code != 404:
                raise
            return
        self.recorder.event(ds, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

    def _ensure_revision(self, ds: dict) -> str:
        """The ControllerRevision of the current template (made if new); returns its hash."""
        namespace, name = ds["metadata"].get("namespace", ""), ds["metadata"]["name"]
        template = ds["spec"]["template"]
        current_hash = template_hash(template, (ds.get("status") or {}).get("collisionCount") or 0)
        owned = [r for r in self.store.list(("apps", "controllerrevisions"), namespace)
                 if any(o.get("uid") == ds["metadata"]["uid"] for o in r["metadata"].get("ownerReferences") or [])]
        newest = max((r.get("revision", 0) for r in owned), default=0)
        revision_name = f"{name}-{current_hash}"
        mine = next((r for r in owned if r["metadata"]["name"] == revision_name), None)
        if mine is None:
            self.objects.create(self._revisions, namespace, {
                "apiVersion": "apps/v1", "kind": "ControllerRevision",
                "metadata": {"name": revision_name,
                             "labels": {**((template.get("metadata") or {}).get("labels") or {}),
                                        REVISION_HASH_LABEL: current_hash},
                             "annotations": dict(ds["metadata"].get("annotations") or {}),
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": name,
                                                  "uid": ds["metadata"]["uid"], "controller": True,
                                                  "blockOwnerDeletion": True}]},
                "data": {"spec": {"template": {**copy.deepcopy(template), "$patch": "replace"}}},
                "revision": newest + 1,
            })
        elif mine.get("revision", 0) < newest:  # rolled back to an older template: it is the newest again
            updated = dict(mine, revision=newest + 1)
            updated["metadata"] = dict(mine["metadata"])
            self.objects.update(self._revisions, namespace, revision_name, updated)
        limit = ds["spec"].get("revisionHistoryLimit", 10)
        old = sorted((r for r in owned if r["metadata"]["name"] != revision_name), key=lambda r: r.get("revision", 0))
        for stale in old[:max(0, len(old) - limit)]:
            try:
                self.objects.delete(self._revisions, namespace, stale["metadata"]["name"], DeleteOptions())
            except errors.APIError as error:
                if error.code != 404:
                    raise
        return current_hash

    def _write_status(self, ds: dict, by_node: dict, should_run: dict, current_hash: str) -> None:
        desired = current = misscheduled = ready = available = updated = 0
        for node_name, pods in by_node.items():
            if not pods or node_name is None:
                continue
            if not should_run.get(node_name, False):
                misscheduled += 1
                continue
            current += 1
            pod = pods[0]
            if _ready_since(pod) is not None:
                ready += 1
                if self._available(ds, pod):
                    available += 1
            if pod["metadata"].get("labels", {}).get(REVISION_HASH_LABEL) == current_hash:
                updated += 1
        desired = sum(should_run.values())
        status = dict(ds.get("status") or {})
        status.update({"currentNumberScheduled": current, "numberMisscheduled": misscheduled,
                       "desiredNumberScheduled": desired, "numberReady": ready,
                       "observedGeneration": ds["metadata"].get("generation", 1),
                       "updatedNumberScheduled": updated, "numberAvailable": available,
                       "numberUnavailable": max(0, desired - available)})
        for omitted_when_zero in ("updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
            if not status[omitted_when_zero]:
                del status[omitted_when_zero]
        if status == (ds.get("status") or {}):
            return
        fresh = self.store.get(("apps", "daemonsets"), ds["metadata"].get("namespace", ""), ds["metadata"]["name"])
        if fresh is None:
            return
        written = copy.deepcopy(fresh)
        written["status"] = status
        self.objects.update(self._daemonsets, ds["metadata"].get("namespace"), ds["metadata"]["name"], written,
                            subresource="status")
