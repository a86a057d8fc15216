"""Nodes that stop answering, and the pods on them: kube-controller-manager's node lifecycle.

Two controllers of kube-controller-manager in one loop:

- the node lifecycle controller hears from each node through its Lease in `kube-node-lease`
  (and the Ready condition's heartbeat). A node silent for the grace period (40 s) gets all its
  kubelet conditions set to Unknown ("Kubelet stopped posting node status."); its pods' Ready
  condition turns False. It keeps the node's condition taints in step with its conditions:
  `node.kubernetes.io/unreachable` (Ready Unknown) or `not-ready` (Ready False), NoExecute and
  NoSchedule, plus the NoSchedule taints for pressure and `unschedulable` (kubectl cordon).
  When the kubelet reports Ready again, the taints go.
- the taint eviction controller deletes pods from nodes with NoExecute taints they do not
  tolerate, at once, or after the `tolerationSeconds` of the matching toleration (300 s for the
  tolerations every pod gets by default); a toleration without seconds keeps the pod forever.

A timer per node (when its grace period runs out) and per pod (when its toleration runs out)
waits on the simulator's clock; nothing scans every node or pod on a tick. The real monitor
checks every 5 s, so a real node goes Unknown up to 5 s later than exactly 40 s after its last
renewal; this one does at exactly 40 s.
"""

from __future__ import annotations

import asyncio
import copy

from .. import errors
from ..events import Recorder
from .base import Controller

LEASE_NAMESPACE = "kube-node-lease"
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
# the NoSchedule taints that follow a node condition being True
PRESSURE_TAINTS = (
    ("MemoryPressure", "node.kubernetes.io/memory-pressure"),
    ("DiskPressure", "node.kubernetes.io/disk-pressure"),
    ("PIDPressure", "node.kubernetes.io/pid-pressure"),
    ("NetworkUnavailable", "node.kubernetes.io/network-unavailable"),
)
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MANAGED_TAINTS = frozenset(
    [(UNREACHABLE, "NoExecute"), (NOT_READY, "NoExecute"), (UNREACHABLE, "NoSchedule"),
     (NOT_READY, "NoSchedule"), (UNSCHEDULABLE, "NoSchedule")]
    + [(key, "NoSchedule") for _condition, key in PRESSURE_TAINTS])
# the conditions the kubelet owns, which go Unknown when it falls silent
KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
NEVER = -1.0  # a toleration without tolerationSeconds


# pure helpers over plain dicts

def condition(obj: dict, kind: str) -> dict | None:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return item
    return None


def ready_status(node: dict) -> str | None:
    found = condition(node, "Ready")
    return None if found is None else found.get("status")


def wanted_taints(node: dict) -> list[tuple[str, str]]:
    """The (key, effect) taints the controller wants on a node with these conditions."""
    ready = ready_status(node)
    taints = []
    if ready == "Unknown":
        taints += [(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]
    elif ready == "False":
        taints += [(NOT_READY, "NoExecute"), (NOT_READY, "NoSchedule")]
    for kind, key in PRESSURE_TAINTS:
        found = condition(node, kind)
        if found is not None and found.get("status") == "True":
            taints.append((key, "NoSchedule"))
    if (node.get("spec") or {}).get("unschedulable"):
        taints.append((UNSCHEDULABLE, "NoSchedule"))
    return taints


def reconcile_taints(node: dict, now: str) -> list[dict] | None:
    """The node's new taint list, or None when its managed taints are already right."""
    current = list((node.get("spec") or {}).get("taints") or [])
    wanted = wanted_taints(node)
    have = [(t.get("key"), t.get("effect")) for t in current if (t.get("key"), t.get("effect")) in MANAGED_TAINTS]
    if sorted(have) == sorted(wanted):
        return None
    kept = [t for t in current
            if (t.get("key"), t.get("effect")) not in MANAGED_TAINTS or (t.get("key"), t.get("effect")) in wanted]
    present = {(t.get("key"), t.get("effect")) for t in kept}
    added = [{"key": key, "effect": effect, "timeAdded": now} for key, effect in wanted if (key, effect) not in present]
    return kept + added


def tolerates(toleration: dict, taint: dict) -> bool:
    """v1.Toleration.ToleratesTaint: effect and key match (empty matches all), then value."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def eviction_delay(tolerations: list[dict], taints: list[dict]) -> float | None:
    """Seconds a pod may stay with these NoExecute taints: 0 = now, NEVER, None = no taints."""
    if not taints:
        return None
    used = []
    for taint in taints:
        match = next((t for t in tolerations if tolerates(t, taint)), None)
        if match is None:
            return 0.0  # a taint it does not tolerate: evicted at once
        used.append(match)
    shortest = None
    for toleration in used:
        seconds = toleration.get("tolerationSeconds")
        if seconds is None:
            continue
        if seconds <= 0:
            return 0.0
        shortest = seconds if shortest is None else min(shortest, seconds)
    return NEVER if shortest is None else float(shortest)


def no_execute_taints(node: dict) -> list[dict]:
    return [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]


class NodeLifecycleController(Controller):
    watches = (("", "v1", "nodes"), ("coordination.k8s.io", "v1", "leases"), ("", "v1", "pods"))

    def __init__(self, objects, grace_period: float = 40.0):
        super().__init__(objects)
        self.grace_period = grace_period
        self._nodes = self.rtype("", "v1", "nodes")
        self._pods = self.rtype("", "v1", "pods")
        self._node_events = Recorder(objects, "node-controller")
        self._eviction_events = Recorder(objects, "taint-eviction-controller")
        self._probe: dict[str, float] = {}  # when the node was last heard from
        self._heartbeat: dict[str, str | None] = {}  # Ready's lastHeartbeatTime as last seen
        self._renewal: dict[str, str | None] = {}  # the Lease's renewTime as last seen
        self._ready: dict[str, str | None] = {}  # Ready's status as last seen
        self._taints: dict[str, list[dict]] = {}  # NoExecute taints as last seen
        self._monitors: dict[str, asyncio.Task] = {}
        self._pods_on: dict[str, set[tuple[str, str]]] = {}
        self._evictions: dict[tuple[str, str], asyncio.Task] = {}

    def stopped(self) -> None:
        for task in [*self._monitors.values(), *self._evictions.values()]:
            task.cancel()

    async def handle(self, resource, event, obj) -> None:
        plural = resource[2]
        if plural == "pods":
            self._pod_changed(event, obj)
        elif plural == "nodes":
            self._node_changed(event, obj)
        elif obj["metadata"].get("namespace") == LEASE_NAMESPACE and event != "DELETED":
            name = obj["metadata"]["name"]
            renewed = (obj.get("spec") or {}).get("renewTime")
            if name in self._probe and renewed != self._renewal.get(name):
                self._renewal[name] = renewed
                self._heard_from(name)

    # nodes

    def _node_changed(self, event: str, node: dict) -> None:
        name = node["metadata"]["name"]
        if event == "DELETED":
            self._forget_node(name)
            return
        heartbeat = (condition(node, "Ready") or {}).get("lastHeartbeatTime")
        first_sight = name not in self._probe
        if first_sight:
            self._node_events.event(_node_reference(node), "RegisteredNode",
                                    f"Node {name} event: Registered Node {name} in Controller")
            self._heartbeat[name] = heartbeat
            self._heard_from(name)
        elif heartbeat != self._heartbeat.get(name):
            self._heartbeat[name] = heartbeat
            self._heard_from(name)
        ready, was_ready = ready_status(node), self._ready.get(name)
        self._ready[name] = ready
        if ready != "True" and (was_ready == "True" or first_sight):
            if was_ready == "True":
                self._node_events.event(_node_reference(node), "NodeNotReady",
                                        f"Node {name} status is now: NodeNotReady")
            for key in list(self._pods_on.get(name, ())):
                self._mark_pod_not_ready(*key)
        taints = reconcile_taints(node, self.clock.timestamp())
        if taints is not None:
            updated = copy.deepcopy(node)
            updated.setdefault("spec", {})["taints"] = taints
            if not taints:
                updated["spec"].pop("taints")
            self.objects.update(self._nodes, None, name, updated)
            return  # the write comes back as an event, with the taints to act on
        no_execute = no_execute_taints(node)
        if no_execute != self._taints.get(name, []):
            self._taints[name] = no_execute
            for namespace, pod_name in list(self._pods_on.get(name, ())):
                pod = self.store.get(("", "pods"), namespace, pod_name)
                if pod is not None:
                    self._consider_eviction(pod, no_execute)

    def _forget_node(self, name: str) -> None:
        for table in (self._probe, self._heartbeat, self._renewal, self._ready, self._taints):
            table.pop(name, None)
        monitor = self._monitors.pop(name, None)
        if monitor is not None:
            monitor.cancel()
        for key in self._pods_on.get(name, ()):
            self._cancel_eviction(key, quietly=True)

    def _heard_from(self, name: str) -> None:
        self._probe[name] = self.clock.now()
        monitor = self._monitors.get(name)
        if monitor is None or monitor.done():
            self._monitors[name] = asyncio.ensure_future(self._watch_over(name))

    async def _watch_over(self, name: str) -> None:
        """Sleep until the node's grace period ends; mark it Unknown if it stayed silent."""
        while name in self._probe:
            deadline = self._probe[name] + self.grace_period
            if self.clock.now() < deadline:
                await self.clock.sleep_until(deadline)
                continue
            try:
                self._mark_unknown(name)
            except errors.APIError as error:
                if error.code not in (404, 409):
                    raise
            return  # the next heartbeat starts a new watch

    def _mark_unknown(self, name: str) -> None:
        node = self.objects.find(self._nodes, "", name)
        if node is None:
            return
        updated = copy.deepcopy(node)
        conditions = updated.setdefault("status", {}).setdefault("conditions", [])
        now = self.clock.timestamp()
        changed = False
        for kind in KUBELET_CONDITIONS:
            found = next((c for c in conditions if c.get("type") == kind), None)
            if found is None:
                conditions.append({"type": kind, "status": "Unknown",
                                   "lastHeartbeatTime": node["metadata"].get("creationTimestamp"),
                                   "lastTransitionTime": now, "reason": "NodeStatusNeverUpdated",
                                   "message": "Kubelet never posted node status."})
                changed = True
            elif found.get("status") != "Unknown":
                found.update(status="Unknown", reason="NodeStatusUnknown",
                             message="Kubelet stopped posting node status.", lastTransitionTime=now)
                changed = True
        if changed:
            self.objects.update(self._nodes, None, name, updated, subresource="status")

    # pods

    def _pod_changed(self, event: str, pod: dict) -> None:
        meta = pod["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        node = (pod.get("spec") or {}).get("nodeName")
        if event == "DELETED":
            if node:
                self._pods_on.get(node, set()).discard(key)
            self._cancel_eviction(key, quietly=True)
            return
        if not node:
            return
        self._pods_on.setdefault(node, set()).add(key)
        if meta.get("deletionTimestamp"):
            self._cancel_eviction(key, quietly=True)
            return
        if node in self._ready and self._ready[node] != "True":
            ready = condition(pod, "Ready")
            if ready is not None and ready.get("status") != "False":
                self._mark_pod_not_ready(*key)
        taints = self._taints.get(node)
        if taints and key not in self._evictions:
            self._consider_eviction(pod, taints)

    def _mark_pod_not_ready(self, namespace: str, name: str) -> None:
        """What MarkPodsNotReady does to a pod on a node that stopped being Ready."""
        pod = self.store.get(("", "pods"), namespace, name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        ready = condition(pod, "Ready")
        if ready is None or ready.get("status") == "False":
            return
        updated = copy.deepcopy(pod)
        target = condition(updated, "Ready")
        target["status"] = "False"
        target["lastTransitionTime"] = self.clock.timestamp()
        try:
            self.objects.update(self._pods, namespace, name, updated, subresource="status")
        except errors.APIError as error:
            if error.code in (404, 409):
                return
            raise
        self._node_events.event(pod, "NodeNotReady", "Node is not ready", "Warning")

    def _consider_eviction(self, pod: dict, taints: list[dict]) -> None:
        key = (pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
        delay = eviction_delay((pod.get("spec") or {}).get("tolerations") or [], taints)
        if delay is None or delay == NEVER:
            self._cancel_eviction(key)
            return
        if delay == 0:
            self._cancel_eviction(key, quietly=True)  # an untolerated taint: no waiting
        elif key in self._evictions and not self._evictions[key].done():
            return  # already counting down since the pod first met the taint
        self._evictions[key] = asyncio.ensure_future(self._evict_later(key, self.clock.now() + delay))

    def _cancel_eviction(self, key: tuple[str, str], quietly: bool = False) -> None:
        task = self._evictions.pop(key, None)
        if task is None or task.done():
            return
        task.cancel()
        if not quietly:
            self._eviction_events.event(_pod_reference(*key), "TaintManagerEviction",
                                        f"Cancelling deletion of Pod {key[0]}/{key[1]}")

    async def _evict_later(self, key: tuple[str, str], when: float) -> None:
        await self.clock.sleep_until(when)
        namespace, name = key
        pod = self.store.get(("", "pods"), namespace, name)
        if self._evictions.get(key) is asyncio.current_task():
            del self._evictions[key]
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        self._eviction_events.event(_pod_reference(namespace, name), "TaintManagerEviction",
                                    f"Marking for deletion Pod {namespace}/{name}")
        try:
            self._add_disruption_condition(pod)
            self.objects.delete(self._pods, namespace, name)
        except errors.APIError as error:
            if error.code not in (404, 409):
                raise

    def _add_disruption_condition(self, pod: dict) -> None:
        updated = copy.deepcopy(pod)
        conditions = updated.setdefault("status", {}).setdefault("conditions", [])
        conditions[:] = [c for c in conditions if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": self.clock.timestamp(), "reason": "DeletionByTaintManager",
                           "message": "Taint manager: deleting due to NoExecute taint"})
        self.objects.update(self._pods, pod["metadata"]["namespace"], pod["metadata"]["name"], updated,
                            subresource="status")


def _node_reference(node: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node["metadata"]["name"], "uid": node["metadata"].get("uid")}}


def _pod_reference(namespace: str, name: str) -> dict:
    # the taint eviction controller names the pod without its uid
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}}
