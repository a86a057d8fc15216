"""The ReplicaSet controller: keep `spec.replicas` pods of the template alive, and say how many are.

It creates pods from the template (named `<rs>-<5 chars>`, controlled by the ReplicaSet), deletes
the extras on a scale-down choosing victims as Kubernetes ranks them (unscheduled, pending,
not-ready, doubled-up on a node, recently ready, restarted, newer: first), adopts matching
orphans, releases pods whose labels moved away, and replaces pods that are deleted or failed.
Terminating pods are never replicas. Like kube-controller-manager it keeps *expectations*: after
creating or deleting pods it waits to see those changes on its watch before acting again, so a
slow watch never makes it create twice.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

from .. import errors, selectors
from ..events import Recorder
from . import ownership
from .base import Controller
from .queueing import KeyQueue

BURST_REPLICAS = 500  # at most this many creations or deletions per sync
EXPECTATIONS_TIMEOUT = 300.0  # seconds after which unobserved expectations are forgotten
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


@dataclass
class Expectations:
    """Creations and deletions a sync started and the watch has not shown yet."""

    adds: int = 0
    deletes: set = field(default_factory=set)
    since: float = 0.0

    def satisfied(self, now: float) -> bool:
        return (self.adds <= 0 and not self.deletes) or now - self.since > EXPECTATIONS_TIMEOUT


def pod_from_template(owner: dict, template: dict) -> dict:
    """The pod a workload controller creates from its template (GetPodFromTemplate)."""
    meta = template.get("metadata") or {}
    pod_meta: dict = {"generateName": f"{owner['metadata']['name']}-",
                      "ownerReferences": [ownership.owner_reference(owner)]}
    for part in ("labels", "annotations", "finalizers"):
        if meta.get(part):
            pod_meta[part] = copy.deepcopy(meta[part])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


def deletion_order(pods: list[dict]) -> list[dict]:
    """Pods in the order a scale-down deletes them (ActivePodsWithRanks)."""
    per_node: dict[str, int] = {}
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        if node:
            per_node[node] = per_node.get(node, 0) + 1

    def rank(pod: dict):
        spec, status, meta = pod.get("spec", {}), pod.get("status", {}), pod["metadata"]
        node = spec.get("nodeName")
        ready = ownership.is_pod_ready(pod)
        ready_since = ownership.ready_since(pod) if ready else None
        try:
            cost = int((meta.get("annotations") or {}).get(DELETION_COST, "0"))
        except ValueError:
            cost = 0
        restarts = max((c.get("restartCount", 0) for c in status.get("containerStatuses") or ()), default=0)
        created = meta.get("creationTimestamp")
        return (
            bool(node),                                   # unscheduled first
            _PHASE_ORDER.get(status.get("phase"), 3),     # Pending, Unknown, then Running
            ready,                                        # not ready first
            cost,                                         # cheaper to delete first
            -(per_node.get(node, 0) if node else 0),      # doubled up on a node first
            -(ready_since if ready_since is not None else math.inf),  # ready for less time first
            -restarts,                                    # more restarts first
            -(ownership.parse_time(created) if created else math.inf),  # newer first
        )

    return sorted(pods, key=rank)


def replica_status(rs: dict, pods: list[dict], now: float) -> tuple[dict, float | None]:
    """The status a sync writes, and when a ready pod next becomes available (minReadySeconds)."""
    template_labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = rs["spec"].get("minReadySeconds") or 0
    fully_labeled = ready = available = 0
    next_available = None
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        if all(labels.get(k) == v for k, v in template_labels.items()):
            fully_labeled += 1
        at = ownership.available_at(pod, min_ready)
        if at is None:
            continue
        ready += 1
        if at <= now:
            available += 1
        elif next_available is None or at < next_available:
            next_available = at
    status = dict(rs.get("status") or {})
    status.update(replicas=len(pods), fullyLabeledReplicas=fully_labeled, readyReplicas=ready,
                  availableReplicas=available, observedGeneration=rs["metadata"].get("generation"))
    for optional in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration"):
        if not status[optional]:
            del status[optional]  # omitempty, as the API writes them
    return status, next_available


class ReplicaSetController(Controller):
    watches = (("apps", "v1", "replicasets"), ("", "v1", "pods"))

    def __init__(self, objects):
        super().__init__(objects)
        self.recorder = Recorder(objects, "replicaset-controller")
        self.queue = KeyQueue(self.clock, self._sync, "replicaset-controller")
        self.pods = ownership.OwnedIndex()
        self.expectations: dict[str, Expectations] = {}
        self._pods_rtype = self.rtype("", "v1", "pods")
        self._rs_rtype = self.rtype("apps", "v1", "replicasets")

    def stopped(self) -> None:
        self.queue.close()

    # reacting to watch events

    async def handle(self, resource, event, obj) -> None:
        if resource[2] == "replicasets":
            if event == "DELETED":
                self.expectations.pop(obj["metadata"]["uid"], None)
            self.queue.add(ownership.key_of(obj))
        else:
            self._pod_changed(event, obj)

    def _pod_changed(self, event: str, pod: dict) -> None:
        old = self.pods.observe(event, pod)
        ref = ownership.controller_ref(pod)
        namespace, name = ownership.key_of(pod)
        if ref is not None and ref.get("kind") == "ReplicaSet":
            expected = self.expectations.get(ref["uid"])
            if expected is not None:
                if event == "ADDED":
                    expected.adds -= 1
                if event == "DELETED" or ownership.is_terminating(pod):
                    expected.deletes.discard((namespace, name))
            self.queue.add((namespace, ref["name"]))
        old_ref = ownership.controller_ref(old) if old is not None else None
        if old_ref is not None and old_ref.get("kind") == "ReplicaSet" and old_ref != ref:
            self.queue.add((namespace, old_ref["name"]))
        if ref is None and event != "DELETED":
            labels_moved = old is None or old["metadata"].get("labels") != pod["metadata"].get("labels") \
                or old_ref is not None
            if labels_moved:
                for rs in self.store.list(("apps", "replicasets"), namespace):
                    if _selector(rs).matches(pod["metadata"].get("labels")):
                        self.queue.add(ownership.key_of(rs))

    # syncing one ReplicaSet

    def _sync(self, key) -> None:
        namespace, name = key
        rs = self.store.get(("apps", "replicasets"), namespace, name)
        if rs is None:
            return
        uid = rs["metadata"]["uid"]
        pods = ownership.claim(self.objects, self._pods_rtype, rs, _selector(rs), self.pods.owned(uid),
                               self.pods.orphans(namespace))
        active = [p for p in pods if ownership.is_pod_active(p)]
        expected = self.expectations.get(uid)
        now = self.clock.now()
        if (expected is None or expected.satisfied(now)) and not ownership.is_terminating(rs):
            self._manage_replicas(rs, active)
        # like kube-controller-manager, the status counts what the sync started from: the pods it
        # just created or deleted show in the next sync, when the watch brings them
        self._write_status(rs, active)

    def _manage_replicas(self, rs: dict, active: list[dict]) -> None:
        wanted = rs["spec"].get("replicas", 1)
        diff = len(active) - wanted
        uid = rs["metadata"]["uid"]
        if diff < 0:
            count = min(-diff, BURST_REPLICAS)
            self.expectations[uid] = expected = Expectations(adds=count, since=self.clock.now())
            for index in range(count):
                try:
                    pod = self.objects.create(self._pods_rtype, rs["metadata"]["namespace"],
                                              pod_from_template(rs, rs["spec"].get("template") or {})).object
                except errors.APIError as error:
                    expected.adds -= count - index  # these will never be observed
                    self.recorder.event(rs, "FailedCreate", f"Error creating: {error.message}", "Warning")
                    break
                self.recorder.event(rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
            return
        if diff > 0:
            victims = deletion_order(active)[:min(diff, BURST_REPLICAS)]
            self.expectations[uid] = expected = Expectations(
                deletes={ownership.key_of(p) for p in victims}, since=self.clock.now())
            for pod in victims:
                namespace, pod_name = ownership.key_of(pod)
                try:
                    self.objects.delete(self._pods_rtype, namespace, pod_name)
                except errors.APIError as error:
                    expected.deletes.discard((namespace, pod_name))
                    if error.code != 404:
                        self.recorder.event(rs, "FailedDelete", f"Error deleting: {error.message}", "Warning")
                    continue
                self.recorder.event(rs, "SuccessfulDelete", f"Deleted pod: {pod_name}")

    def _write_status(self, rs: dict, active: list[dict]) -> None:
        status, next_available = replica_status(rs, active, self.clock.now())
        if next_available is not None:
            self.queue.add_at(ownership.key_of(rs), next_available)
        current = self.store.get(("apps", "replicasets"), *ownership.key_of(rs))
        if current is None or current.get("status") == status:
            return
        updated = copy.deepcopy(current)
        updated["status"] = status
        self.objects.update(self._rs_rtype, current["metadata"]["namespace"], current["metadata"]["name"],
                            updated, subresource="status")


def _selector(rs: dict):
    try:
        return selectors.from_selector_object(rs["spec"].get("selector"))
    except ValueError:
        return selectors.LabelSelector(nothing=True)
