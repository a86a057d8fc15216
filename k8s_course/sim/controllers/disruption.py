"""The disruption controller: how many pods a PodDisruptionBudget lets an eviction take.

For each budget it counts the pods its selector picks (policy/v1: an empty selector picks every
pod of the namespace), the healthy ones among them (Ready and not being deleted, and not just
evicted), and what must stay healthy: `minAvailable` as a number, or as a percentage of the
expected pods, or expected pods minus `maxUnavailable` (number or percentage); percentages
round up, as Kubernetes rounds them. Expected pods come from the pods' controllers' scale
(Deployment, ReplicaSet, StatefulSet, ReplicationController) when a percentage or
`maxUnavailable` is used, else from the pods found. `disruptionsAllowed` is healthy minus
desired (never below 0), and the `DisruptionAllowed` condition says SufficientPods or
InsufficientPods. Evictions recorded in `status.disruptedPods` count as unhealthy until the pod
goes or two minutes pass.

Work per pod change is proportional to the budgets of that pod's namespace: each budget keeps
its own set of matched pods, rebuilt only when its selector changes.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

from .. import selectors
from ..clock import format_time, parse_time
from ..events import Recorder
from .base import Controller
from .timers import Alarms, Pending

COMPONENT = "controllermanager"
DISRUPTED_POD_TIMEOUT = 120  # seconds an eviction waits for its pod to go before it is forgotten

BUDGETS = ("policy", "poddisruptionbudgets")
PODS = ("", "pods")
SCALED_KINDS = {
    ("apps", "ReplicaSet"): ("apps", "replicasets"),
    ("apps", "StatefulSet"): ("apps", "statefulsets"),
    ("apps", "Deployment"): ("apps", "deployments"),
    ("", "ReplicationController"): ("", "replicationcontrollers"),
}


def _is_healthy(pod: dict) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def _controller_ref(obj: dict) -> dict | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def scaled_value(value, total: int) -> int:
    """An IntOrString against `total`: "30%" of 3 is 1 (rounded up), 2 is 2."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


class SyncFailed(Exception):
    pass


@dataclass
class _Budget:
    selector_source: object
    selector: selectors.LabelSelector
    pods: dict[str, dict] = field(default_factory=dict)  # the matched pods by name


class DisruptionController(Controller):
    watches = (("policy", "v1", "poddisruptionbudgets"), ("", "v1", "pods"),
               ("apps", "v1", "deployments"), ("apps", "v1", "replicasets"),
               ("apps", "v1", "statefulsets"), ("", "v1", "replicationcontrollers"))

    def __init__(self, objects):
        super().__init__(objects)
        self.events = Recorder(objects, COMPONENT)
        self.alarms = Alarms(self.clock, self._ring)
        self.pending = Pending(self.sync)
        self._budgets_type = self.rtype("policy", "v1", "poddisruptionbudgets")
        self._budgets: dict[str, dict[str, _Budget]] = {}  # namespace -> name -> matched pods
        self._scales: dict[tuple[str, str, str], int] = {}  # (plural, namespace, name) -> replicas

    def stopped(self) -> None:
        self.alarms.cancel_all()
        self.pending.cancel()

    async def handle(self, resource, event, obj) -> None:
        plural = resource[2]
        namespace = obj["metadata"].get("namespace", "")
        name = obj["metadata"]["name"]
        if plural == "poddisruptionbudgets":
            if event == "DELETED":
                self._budgets.get(namespace, {}).pop(name, None)
                self.alarms.clear((namespace, name))
                return
            self._track_budget(obj)
            self.pending.add((namespace, name))
        elif plural == "pods":
            self._pod_changed(event, obj)
        else:
            self._scale_changed(plural, event, obj)

    def _ring(self, key) -> None:
        self.sync(*key)

    # keeping each budget's pods

    def _track_budget(self, budget: dict) -> None:
        namespace, name = budget["metadata"]["namespace"], budget["metadata"]["name"]
        source = (budget.get("spec") or {}).get("selector")
        known = self._budgets.setdefault(namespace, {}).get(name)
        if known is not None and known.selector_source == source:
            return
        try:
            selector = selectors.from_selector_object(source)
        except ValueError:
            selector = selectors.LabelSelector(nothing=True)
        tracked = _Budget(copy.deepcopy(source), selector)
        for pod in self.store.list(PODS, namespace):
            if selector.matches(pod["metadata"].get("labels") or {}):
                tracked.pods[pod["metadata"]["name"]] = pod
        self._budgets[namespace][name] = tracked

    def _pod_changed(self, event: str, pod: dict) -> None:
        namespace, name = pod["metadata"].get("namespace", ""), pod["metadata"]["name"]
        for budget_name, tracked in list(self._budgets.get(namespace, {}).items()):
            before = tracked.pods.get(name)
            matches = event != "DELETED" and tracked.selector.matches(pod["metadata"].get("labels") or {})
            if matches:
                tracked.pods[name] = pod
            else:
                tracked.pods.pop(name, None)
            if before is None and not matches:
                continue
            if (before is not None and matches and _is_healthy(before) == _is_healthy(pod)
                    and _controller_ref(before) == _controller_ref(pod)
                    and bool(before["metadata"].get("deletionTimestamp"))
                    == bool(pod["metadata"].get("deletionTimestamp"))):
                continue  # nothing the budget counts has changed
            self.pending.add((namespace, budget_name))

    def _scale_changed(self, plural: str, event: str, obj: dict) -> None:
        namespace, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        key = (plural, namespace, name)
        replicas = None if event == "DELETED" else (obj.get("spec") or {}).get("replicas", 1)
        if self._scales.get(key) == replicas:
            return
        if replicas is None:
            self._scales.pop(key, None)
        else:
            self._scales[key] = replicas
        uid = obj["metadata"].get("uid")
        for budget_name, tracked in list(self._budgets.get(namespace, {}).items()):
            if any((_controller_ref(p) or {}).get("uid") == uid for p in tracked.pods.values()) or \
                    plural == "deployments":
                self.pending.add((namespace, budget_name))

    # the sync

    def sync(self, namespace: str, name: str) -> None:
        budget = self.store.get(BUDGETS, namespace, name)
        if budget is None:
            return
        self._track_budget(budget)
        tracked = self._budgets[namespace][name]
        pods = list(tracked.pods.values())
        status = copy.deepcopy(budget.get("status") or {})
        now = self.clock.now()
        disrupted = self._disrupted(status.get("disruptedPods") or {}, tracked, now, (namespace, name))
        generation = budget["metadata"].get("generation", 1)
        try:
            expected, desired = self._expected_and_desired(budget, pods)
        except SyncFailed as error:
            self.events.event(budget, "CalculateExpectedPodCountFailed",
                              f"Failed to calculate the number of expected pods: {error}", "Warning")
            status.update(disruptionsAllowed=0, observedGeneration=generation)
            self._set_condition(status, "False", "SyncFailed", str(error), generation)
            self._write(budget, status)
            return
        if not pods:
            self.events.event(budget, "NoPods", "No matching pods found")
        healthy = sum(1 for p in pods if _is_healthy(p) and p["metadata"]["name"] not in disrupted)
        allowed = healthy - desired
        if expected <= 0 or allowed <= 0:
            allowed = 0
        status.update(disruptionsAllowed=allowed, currentHealthy=healthy, desiredHealthy=desired,
                      expectedPods=expected, observedGeneration=generation)
        if disrupted:
            status["disruptedPods"] = disrupted
        else:
            status.pop("disruptedPods", None)
        if allowed > 0:
            self._set_condition(status, "True", "SufficientPods", "", generation)
        else:
            self._set_condition(status, "False", "InsufficientPods", "", generation)
        self._write(budget, status)

    def _disrupted(self, recorded: dict, tracked: _Budget, now: float, key) -> dict:
        """Evicted pods still counted as unhealthy: not yet being deleted, and evicted < 2 min ago."""
        kept = {}
        for pod_name, stamp in recorded.items():
            pod = tracked.pods.get(pod_name)
            if pod is None or pod["metadata"].get("deletionTimestamp"):
                continue
            expires = parse_time(stamp) + DISRUPTED_POD_TIMEOUT
            if expires <= now:
                continue
            kept[pod_name] = stamp
            self.alarms.set(key, expires)
        return kept

    def _expected_and_desired(self, budget: dict, pods: list[dict]) -> tuple[int, int]:
        spec = budget.get("spec") or {}
        if spec.get("maxUnavailable") is not None:
            expected = self._expected_scale(pods)
            unavailable = scaled_value(spec["maxUnavailable"], expected)
            return expected, max(0, expected - unavailable)
        minimum = spec.get("minAvailable")
        if minimum is None:
            return len(pods), 0
        if isinstance(minimum, int):
            return len(pods), minimum
        expected = self._expected_scale(pods)
        return expected, scaled_value(minimum, expected)

    def _expected_scale(self, pods: list[dict]) -> int:
        """The sum of the replicas of the controllers of the pods, each controller once."""
        counted: dict[str, int] = {}
        for pod in pods:
            ref = _controller_ref(pod)
            if ref is None:
                raise SyncFailed(f'found no controller ref for pod "{pod["metadata"]["name"]}"')
            if ref["uid"] in counted:
                continue
            owner = self._scale_owner(pod["metadata"]["namespace"], ref)
            if owner is None:
                raise SyncFailed(f'found no controllers for pod "{pod["metadata"]["name"]}"')
            counted[ref["uid"]] = (owner.get("spec") or {}).get("replicas", 1)
        return sum(counted.values())

    def _scale_owner(self, namespace: str, ref: dict) -> dict | None:
        group = ref.get("apiVersion", "").rpartition("/")[0]
        resource = SCALED_KINDS.get((group, ref.get("kind")))
        if resource is None:
            return self._custom_scale_owner(namespace, group, ref)
        owner = self.store.get(resource, namespace, ref["name"])
        if owner is None or owner["metadata"]["uid"] != ref["uid"]:
            return None
        if ref.get("kind") == "ReplicaSet":
            parent = _controller_ref(owner)
            if parent is not None and parent.get("kind") == "Deployment":
                deployment = self._scale_owner(namespace, parent)
                if deployment is not None:
                    return deployment
        return owner

    def _custom_scale_owner(self, namespace: str, group: str, ref: dict) -> dict | None:
        """A custom resource with a scale subresource counts as a controller, as in Kubernetes:
        its replicas are read where the CRD's specReplicasPath says (`{"spec": {"replicas": n}}`)."""
        for crd in self.store.list(("apiextensions.k8s.io", "customresourcedefinitions"), None):
            spec = crd.get("spec") or {}
            if spec.get("group") != group or (spec.get("names") or {}).get("kind") != ref.get("kind"):
                continue
            version = ref.get("apiVersion", "").rpartition("/")[2]
            served = next((v for v in spec.get("versions") or () if v.get("name") == version), None)
            scale = ((served or {}).get("subresources") or {}).get("scale")
            if not scale:
                return None
            owner = self.store.get((group, spec["names"]["plural"]), namespace, ref["name"])
            if owner is None or owner["metadata"]["uid"] != ref["uid"]:
                return None
            value = owner
            for part in scale.get("specReplicasPath", ".spec.replicas").strip(".").split("."):
                value = value.get(part) if isinstance(value, dict) else None
            return {"spec": {"replicas": value if isinstance(value, int) else 0}}
        return None

    def _set_condition(self, status: dict, value: str, reason: str, message: str, generation: int) -> None:
        conditions = status.setdefault("conditions", [])
        for condition in conditions:
            if condition.get("type") == "DisruptionAllowed":
                if condition.get("status") != value:
                    condition["lastTransitionTime"] = format_time(self.clock.now())
                condition.update(status=value, reason=reason, message=message, observedGeneration=generation)
                return
        conditions.append({"type": "DisruptionAllowed", "status": value, "observedGeneration": generation,
                           "lastTransitionTime": format_time(self.clock.now()), "reason": reason,
                           "message": message})

    def _write(self, budget: dict, status: dict) -> None:
        if status == (budget.get("status") or {}):
            return
        self.objects.update(self._budgets_type, budget["metadata"]["namespace"], budget["metadata"]["name"],
                            dict(budget, status=status), subresource="status")
