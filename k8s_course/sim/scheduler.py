"""The default scheduler: picks a node for every pod that has none, as kube-scheduler does.

It keeps its own picture of the cluster (nodes, and what the pods bound to each request),
updated from watch events, so that one scheduling decision costs a pass over the nodes and not
over every pod. A decision runs kube-scheduler's filters in its order (node unschedulable,
taints, node affinity and selector, host ports, resources, volumes, topology spread, inter-pod
affinity), scores the nodes that pass (least allocated, balanced allocation, spreading of one
owner's pods, untolerated PreferNoSchedule taints, preferred node affinity) and binds the pod
to the best. A pod that fits nowhere stays Pending with `PodScheduled=False` and a
`FailedScheduling` event worded as Kubernetes 1.36 words it; it is tried again when the
cluster changes in a way that may help (after its back-off: 1 s doubling to 10 s), and at the
latest after 5 minutes, as kube-scheduler flushes its unschedulable pods.

The predicates at the top (tolerations, node selector terms, pod requests) are pure functions
over plain dicts, shared with the DaemonSet controller.
"""

from __future__ import annotations

import asyncio
import copy
import heapq
import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from . import binding, errors, quantities, selectors
from .controllers.base import Controller
from .events import Recorder

SCHEDULER_NAME = "default-scheduler"
INITIAL_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 10.0
UNSCHEDULABLE_FLUSH_SECONDS = 300.0  # podMaxInUnschedulablePodsDuration
MIN_FEASIBLE_NODES_TO_FIND = 100
DEFAULT_MILLI_CPU_REQUEST = 100  # what scoring counts for a container that requests no cpu
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024  # and no memory
MAX_NODE_SCORE = 100
HOSTNAME_LABEL = "kubernetes.io/hostname"
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"

# Filter reasons, as the scheduler's plugins word them.
UNSCHEDULABLE = "Unschedulable"  # preemption might help
UNRESOLVABLE = "UnschedulableAndUnresolvable"  # it cannot
NODE_UNSCHEDULABLE = "node(s) were unschedulable"
UNTOLERATED_TAINT = "node(s) had untolerated taint(s)"  # taints no longer named since 1.34.2
NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
NODE_NAME_PLUGIN = "node(s) didn't satisfy plugin(s) [NodeAffinity]"
AFFINITY_CONFLICT = "pod affinity terms conflict"
HOST_PORTS = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"
VOLUME_NODE_AFFINITY = "node(s) didn't match PersistentVolume's node affinity"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
SPREAD_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
SPREAD_SKEW = "node(s) didn't match pod topology spread constraints"
POD_AFFINITY = "node(s) didn't match pod affinity rules"
POD_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
NO_NODES = "no nodes available to schedule pods"
# PostFilter: DynamicResources (on by default since 1.34) speaks first, then DefaultPreemption.
NO_CLAIMS_TO_DEALLOCATE = "no new claims to deallocate"
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
PREEMPTION_NEVER = "not eligible due to preemptionPolicy=Never."
GATED_MESSAGE = "Scheduling is blocked due to non-empty scheduling gates"

_TERMINAL = ("Succeeded", "Failed")
_NODES, _PODS, _CLAIMS, _VOLUMES, _CLASSES = (
    ("", "nodes"), ("", "pods"), ("", "persistentvolumeclaims"), ("", "persistentvolumes"),
    ("storage.k8s.io", "storageclasses"))


# ---------------------------------------------------------------------------------------------
# Pure predicates over plain dicts


def tolerates(toleration: dict, taint: dict) -> bool:
    """One toleration against one taint, as v1.Toleration.ToleratesTaint decides."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(taints: list[dict], tolerations: list[dict], effects=("NoSchedule", "NoExecute")) -> dict | None:
    """The first taint of `effects` that no toleration tolerates, or None."""
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def _selector_requirement_matches(requirement: dict, value: str | None) -> bool:
    operator, values = requirement.get("operator"), requirement.get("values") or []
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt"):
        if value is None or len(values) != 1:
            return False
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def node_selector_term_matches(term: dict, node_name: str, labels: dict) -> bool:
    """A NodeSelectorTerm: its expressions and fields ANDed; an empty term matches nothing."""
    expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not expressions and not fields:
        return False
    for requirement in expressions:
        if not _selector_requirement_matches(requirement, labels.get(requirement.get("key", ""))):
            return False
    for requirement in fields:
        value = node_name if requirement.get("key") == "metadata.name" else None
        if not _selector_requirement_matches(requirement, value):
            return False
    return True


def node_matches_pod(spec: dict, node_name: str, labels: dict) -> bool:
    """nodeSelector and required node affinity (the NodeAffinity filter)."""
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    terms = _required_node_terms(spec)
    if terms is None:
        return True
    return any(node_selector_term_matches(term, node_name, labels) for term in terms)


def _required_node_terms(spec: dict) -> list | None:
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if not required:
        return None
    return required.get("nodeSelectorTerms") or []


def _milli(value) -> int:
    return int((quantities.parse_quantity(value) * 1000).to_integral_value(rounding=ROUND_CEILING))


def _whole(value) -> int:
    return int(Decimal(quantities.parse_quantity(value)).to_integral_value(rounding=ROUND_CEILING))


def resource_amounts(resources: dict | None) -> dict[str, int]:
    """A ResourceList as integers: cpu in millicores, everything else in its own unit."""
    amounts: dict[str, int] = {}
    for name, value in (resources or {}).items():
        try:
            amounts[name] = _milli(value) if name == "cpu" else _whole(value)
        except quantities.QuantityError:
            continue
    return amounts


def _add(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    merged = dict(total)
    for name, value in more.items():
        merged[name] = merged.get(name, 0) + value
    return merged


def _maximum(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    merged = dict(a)
    for name, value in b.items():
        merged[name] = max(merged.get(name, 0), value)
    return merged


def pod_requests(spec: dict, non_zero: bool = False) -> dict[str, int]:
    """The pod's effective request, as Kubernetes computes it for scheduling.

    Regular containers and native sidecars (init containers with restartPolicy Always) add up;
    each classic init container runs alone beside the sidecars started before it, so the pod
    needs the larger of the two. Pod overhead is added on top. With `non_zero`, a container
    that requests no cpu or memory counts 100m and 200Mi (what scoring uses).
    """
    def requests_of(container: dict) -> dict[str, int]:
        amounts = resource_amounts((container.get("resources") or {}).get("requests"))
        if non_zero:
            amounts.setdefault("cpu", DEFAULT_MILLI_CPU_REQUEST)
            amounts.setdefault("memory", DEFAULT_MEMORY_REQUEST)
        return amounts

    total: dict[str, int] = {}
    for container in spec.get("containers") or []:
        total = _add(total, requests_of(container))
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for container in spec.get("initContainers") or []:
        amounts = requests_of(container)
        if container.get("restartPolicy") == "Always":
            total = _add(total, amounts)
            sidecars = _add(sidecars, amounts)
            running = sidecars
        else:
            running = _add(amounts, sidecars)
        init_peak = _maximum(init_peak, running)
    total = _maximum(total, init_peak)
    pod_level = resource_amounts((spec.get("resources") or {}).get("requests"))
    total.update(pod_level)  # pod-level requests, where set, are the pod's
    return _add(total, resource_amounts(spec.get("overhead")))


def effective_taints(node: dict) -> list[dict]:
    """The node's taints, plus the not-ready/unreachable one its Ready condition implies.

    The node lifecycle controller adds those taints shortly after the condition changes; the
    scheduler counts them at once so that it never places a pod on a node that is not Ready.
    """
    taints = list((node.get("spec") or {}).get("taints") or [])
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    status = (ready or {}).get("status", "False")
    implied = {"True": None, "Unknown": "node.kubernetes.io/unreachable"}.get(status, "node.kubernetes.io/not-ready")
    if implied and not any(t.get("key") == implied and t.get("effect") == "NoSchedule" for t in taints):
        taints.append({"key": implied, "effect": "NoSchedule"})
    return taints


# ---------------------------------------------------------------------------------------------
# The scheduler's picture of the cluster


@dataclass(frozen=True)
class AffinityTerm:
    selector: selectors.LabelSelector
    namespaces: frozenset[str] | None  # None: every namespace
    topology_key: str

    def selects(self, pod: PodFacts) -> bool:
        return (self.namespaces is None or pod.namespace in self.namespaces) and self.selector.matches(pod.labels)


@dataclass
class PodFacts:
    """What scheduling needs of one pod, read from its spec once."""

    namespace: str
    name: str
    uid: str
    labels: dict
    owner: str | None
    priority: int
    requests: dict[str, int]
    non_zero_cpu: int
    non_zero_memory: int
    host_ports: tuple[tuple[str, int, str], ...]
    anti_affinity: tuple[AffinityTerm, ...] = ()
    terminating: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass
class NodeState:
    name: str
    node: dict | None = None
    labels: dict = field(default_factory=dict)
    taints: list = field(default_factory=list)
    unschedulable: bool = False
    allocatable: dict[str, int] = field(default_factory=dict)
    requested: dict[str, int] = field(default_factory=dict)
    non_zero_cpu: int = 0
    non_zero_memory: int = 0
    pods: dict[tuple[str, str], PodFacts] = field(default_factory=dict)
    owners: Counter = field(default_factory=Counter)
    ports: Counter = field(default_factory=Counter)
    with_anti_affinity: int = 0  # pods here with required anti-affinity terms
    signature: tuple = ()

    def take(self, pod: PodFacts) -> None:
        self.pods[pod.key] = pod
        self.requested = _add(self.requested, pod.requests)
        self.non_zero_cpu += pod.non_zero_cpu
        self.non_zero_memory += pod.non_zero_memory
        if pod.owner:
            self.owners[pod.owner] += 1
        self.ports.update(pod.host_ports)
        self.with_anti_affinity += bool(pod.anti_affinity)

    def release(self, key: tuple[str, str]) -> PodFacts | None:
        pod = self.pods.pop(key, None)
        if pod is None:
            return None
        for name, value in pod.requests.items():
            self.requested[name] = self.requested.get(name, 0) - value
        self.non_zero_cpu -= pod.non_zero_cpu
        self.non_zero_memory -= pod.non_zero_memory
        if pod.owner:
            self.owners[pod.owner] -= 1
            if self.owners[pod.owner] <= 0:
                del self.owners[pod.owner]
        self.ports.subtract(pod.host_ports)
        self.with_anti_affinity -= bool(pod.anti_affinity)
        return pod


def _node_signature(node: dict) -> tuple:
    """What of a node scheduling depends on (not its heartbeats)."""
    spec, status = node.get("spec") or {}, node.get("status") or {}
    ready = [c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return (repr(sorted((node["metadata"].get("labels") or {}).items())), repr(spec.get("taints")),
            bool(spec.get("unschedulable")), repr(sorted((status.get("allocatable") or {}).items())), tuple(ready))


@dataclass
class Verdict:
    """Why one node refused a pod: a code (can preemption help?) and the plugin's reasons."""

    code: str
    reasons: tuple[str, ...]


class Unschedulable(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------


class Scheduler(Controller):
    watches = (("", "v1", "nodes"), ("", "v1", "pods"), ("", "v1", "persistentvolumeclaims"),
               ("", "v1", "persistentvolumes"))

    def __init__(self, objects):
        super().__init__(objects)
        self.recorder = Recorder(objects, SCHEDULER_NAME)
        self.nodes: dict[str, NodeState] = {}
        self._placed: dict[tuple[str, str], str] = {}  # pod key -> node it is counted on
        self._specs: dict[tuple[str, str], tuple] = {}  # pending pod key -> (spec, labels) last seen
        self._attempts: dict[tuple[str, str], int] = {}
        self._backoff_until: dict[tuple[str, str], float] = {}
        self._active: list = []  # heap of (-priority, sequence, key)
        self._in_active: set[tuple[str, str]] = set()
        self._backoff: list = []  # heap of (due time, sequence, key)
        self._unschedulable: dict[tuple[str, str], float] = {}  # key -> since, oldest first
        self._wants_neighbours: set[tuple[str, str]] = set()  # pending pods with required pod affinity
        self._sequence = itertools.count()
        self._start_index = 0
        self._wake = asyncio.Event()
        self._pods_rtype = self.rtype("", "v1", "pods")
        self._claims_rtype = self.rtype("", "v1", "persistentvolumeclaims")

    async def run(self) -> None:
        queue = asyncio.ensure_future(self._schedule_forever())
        try:
            await super().run()
        finally:
            queue.cancel()

    # watch events

    async def handle(self, resource, event, obj) -> None:
        plural = resource[2]
        if plural == "nodes":
            self._on_node(event, obj)
        elif plural == "pods":
            self._on_pod(event, obj)
        elif event != "DELETED":  # a claim or a volume appeared or changed: volume checks may pass
            self._retry_unschedulable()

    def _on_node(self, event: str, node: dict) -> None:
        name = node["metadata"]["name"]
        if event == "DELETED":
            state = self.nodes.pop(name, None)
            if state is not None and state.pods:
                # its pods stay counted nowhere until they are deleted too
                for key in state.pods:
                    self._placed.pop(key, None)
            return
        state = self.nodes.get(name)
        if state is None:
            state = self.nodes[name] = NodeState(name)
        signature = _node_signature(node)
        changed = signature != state.signature
        state.node = node
        if changed:
            state.signature = signature
            state.labels = node["metadata"].get("labels") or {}
            state.taints = effective_taints(node)
            state.unschedulable = bool((node.get("spec") or {}).get("unschedulable"))
            state.allocatable = resource_amounts((node.get("status") or {}).get("allocatable"))
            self._retry_unschedulable()

    def _on_pod(self, event: str, pod: dict) -> None:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        key = (meta.get("namespace", ""), meta["name"])
        gone = event == "DELETED" or (pod.get("status") or {}).get("phase") in _TERMINAL
        if gone:
            self._forget_pending(key)
            if self._unplace(key):
                self._retry_unschedulable()
            return
        node_name = spec.get("nodeName")
        if node_name:
            self._forget_pending(key)
            placed_on = self._placed.get(key)
            state = self.nodes.get(placed_on) if placed_on else None
            current = state.pods.get(key) if state else None
            if (current is not None and placed_on == node_name and current.labels == (meta.get("labels") or {})
                    and current.terminating == bool(meta.get("deletionTimestamp"))):
                return
            self._unplace(key)
            self._place(self._facts(pod), node_name)
            if self._wants_neighbours:
                self._retry_unschedulable()  # a new neighbour may satisfy someone's pod affinity
            return
        if spec.get("schedulerName", SCHEDULER_NAME) != SCHEDULER_NAME or meta.get("deletionTimestamp"):
            self._forget_pending(key)
            return
        seen = (spec, meta.get("labels"))
        if _pod_affinity_terms(spec):
            self._wants_neighbours.add(key)
        if key not in self._specs:
            self._specs[key] = seen
            self._activate(key, priority=spec.get("priority") or 0)
        elif self._specs[key] != seen:
            # someone changed the pod (tolerations added, gates removed): try it again now
            self._specs[key] = seen
            self._unschedulable.pop(key, None)
            self._activate(key, priority=spec.get("priority") or 0)

    # bookkeeping

    def _facts(self, pod: dict) -> PodFacts:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        owner = next((o.get("uid") for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
        non_zero = pod_requests(spec, non_zero=True)
        ports = tuple((p.get("hostIP") or "0.0.0.0", p["hostPort"], p.get("protocol") or "TCP")
                      for c in spec.get("containers") or [] for p in c.get("ports") or [] if p.get("hostPort"))
        return PodFacts(
            namespace=meta.get("namespace", ""), name=meta["name"], uid=meta.get("uid", ""),
            labels=meta.get("labels") or {}, owner=owner, priority=spec.get("priority") or 0,
            requests=pod_requests(spec), non_zero_cpu=non_zero.get("cpu", 0),
            non_zero_memory=non_zero.get("memory", 0), host_ports=ports,
            anti_affinity=tuple(self._terms(pod, _pod_anti_affinity_terms(spec))),
            terminating=bool(meta.get("deletionTimestamp")))

    def _place(self, facts: PodFacts, node_name: str) -> None:
        state = self.nodes.get(node_name)
        if state is None:  # bound to a node not seen yet: count it there once the node comes
            state = self.nodes[node_name] = NodeState(node_name)
        state.take(facts)
        self._placed[facts.key] = node_name

    def _unplace(self, key: tuple[str, str]) -> bool:
        node_name = self._placed.pop(key, None)
        state = self.nodes.get(node_name) if node_name else None
        return state is not None and state.release(key) is not None

    def _forget_pending(self, key: tuple[str, str]) -> None:
        self._specs.pop(key, None)
        self._attempts.pop(key, None)
        self._backoff_until.pop(key, None)
        self._unschedulable.pop(key, None)
        self._wants_neighbours.discard(key)
        self._in_active.discard(key)  # a stale heap entry is skipped when popped

    # the queue

    def _activate(self, key: tuple[str, str], priority: int = 0) -> None:
        if key in self._in_active:
            return
        due = self._backoff_until.get(key, 0.0)
        if due > self.clock.now():
            heapq.heappush(self._backoff, (due, next(self._sequence), key))
        else:
            self._in_active.add(key)
            heapq.heappush(self._active, (-priority, next(self._sequence), key))
        self._wake.set()

    def _retry_unschedulable(self) -> None:
        if not self._unschedulable:
            return
        waiting = list(self._unschedulable)
        self._unschedulable.clear()
        for key in waiting:
            pod = self.store.get(_PODS, *key)
            self._activate(key, ((pod or {}).get("spec") or {}).get("priority") or 0)

    def _promote_due(self) -> None:
        now = self.clock.now()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, key = heapq.heappop(self._backoff)
            if key in self._specs and key not in self._unschedulable:
                pod = self.store.get(_PODS, *key)
                self._activate(key, ((pod or {}).get("spec") or {}).get("priority") or 0)
        for key, since in list(self._unschedulable.items()):
            if since + UNSCHEDULABLE_FLUSH_SECONDS > now:
                break  # oldest first: the rest are younger
            del self._unschedulable[key]
            self._activate(key)

    def _next_deadline(self) -> float | None:
        deadlines = []
        if self._backoff:
            deadlines.append(self._backoff[0][0])
        if self._unschedulable:
            deadlines.append(next(iter(self._unschedulable.values())) + UNSCHEDULABLE_FLUSH_SECONDS)
        return min(deadlines) if deadlines else None

    async def _schedule_forever(self) -> None:
        while True:
            self._promote_due()
            if self._active:
                _, _, key = heapq.heappop(self._active)
                if key in self._in_active:
                    self._in_active.discard(key)
                    try:
                        self._schedule(key)
                    except errors.APIError:
                        pass  # a lost race: the watch brings the pod back as it now is
                await asyncio.sleep(0)  # let watch events and other loops through
                continue
            deadline = self._next_deadline()
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            waits = {waiter}
            if deadline is not None:
                waits.add(asyncio.ensure_future(self.clock.sleep_until(deadline)))
            try:
                _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    if not task.done():
                        task.cancel()

    # one scheduling cycle

    def _schedule(self, key: tuple[str, str]) -> None:
        pod = self.store.get(_PODS, *key)
        if pod is None or (pod.get("spec") or {}).get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            self._forget_pending(key)
            return
        spec = pod.get("spec") or {}
        if spec.get("schedulingGates"):
            self._set_condition(pod, "SchedulingGated", GATED_MESSAGE)
            self._unschedulable[key] = self.clock.now()
            return
        try:
            node_name, facts = self._find_node(pod)
        except Unschedulable as failure:
            self._fail(pod, failure.message)
            return
        self._claim_volumes(pod, node_name)
        binding.bind(self.objects, key[0], key[1], node_name)
        self._forget_pending(key)
        self._unplace(key)
        self._place(facts, node_name)  # assumed now; the watch event finds it already counted
        self.recorder.event(pod, "Scheduled", f"Successfully assigned {key[0]}/{key[1]} to {node_name}")

    def _fail(self, pod: dict, message: str) -> None:
        key = (pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
        attempts = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempts
        backoff = min(INITIAL_BACKOFF_SECONDS * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
        self._backoff_until[key] = self.clock.now() + backoff
        self._unschedulable[key] = self.clock.now()
        self.recorder.event(pod, "FailedScheduling", message, "Warning")
        self._set_condition(pod, UNSCHEDULABLE, message)

    def _set_condition(self, pod: dict, reason: str, message: str) -> None:
        conditions = (pod.get("status") or {}).get("conditions") or []
        current = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        if current and current.get("status") == "False" and current.get("reason") == reason \
                and current.get("message") == message:
            return
        updated = copy.deepcopy(pod)
        status = updated.setdefault("status", {})
        kept = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        since = current["lastTransitionTime"] if current and current.get("status") == "False" \
            else self.clock.timestamp()
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                 "lastTransitionTime": since, "reason": reason, "message": message}, *kept]
        self.objects.update(self._pods_rtype, pod["metadata"].get("namespace"), pod["metadata"]["name"], updated,
                            subresource="status")

    def _find_node(self, pod: dict) -> tuple[str, PodFacts]:
        """The best node for the pod, or Unschedulable with kube-scheduler's FitError text."""
        nodes = [s for s in self.nodes.values() if s.node is not None]
        if not nodes:
            raise Unschedulable(NO_NODES)
        cycle = _Cycle(self, pod, nodes)
        failure = cycle.prefilter()
        if failure is not None:
            message = f"0/{len(nodes)} nodes are available: {failure}."
            raise Unschedulable(f"{message} {cycle.post_filter_message({})}")
        feasible, verdicts = cycle.filter_nodes(self._rotation(nodes))
        if not feasible:
            counts: Counter = Counter()
            for verdict in verdicts.values():
                counts.update(verdict.reasons)
            reasons = sorted(f"{count} {reason}" for reason, count in counts.items())
            message = f"0/{len(nodes)} nodes are available: {', '.join(reasons)}."
            raise Unschedulable(f"{message} {cycle.post_filter_message(verdicts)}")
        return cycle.best(feasible), cycle.facts

    def _rotation(self, nodes: list[NodeState]) -> list[NodeState]:
        """Nodes in name order, starting where the last search stopped (as the scheduler rotates)."""
        nodes = sorted(nodes, key=lambda s: s.name)
        if len(nodes) <= MIN_FEASIBLE_NODES_TO_FIND:
            return nodes
        start = self._start_index % len(nodes)
        return nodes[start:] + nodes[:start]

    def _terms(self, pod: dict, raw_terms: list) -> list[AffinityTerm]:
        namespace = pod["metadata"].get("namespace", "")
        terms = []
        for raw in raw_terms:
            names = raw.get("namespaces") or []
            namespace_selector = raw.get("namespaceSelector")
            if namespace_selector is not None:
                chosen = selectors.from_selector_object(namespace_selector)
                if chosen.empty:
                    allowed = None
                else:
                    allowed = frozenset(names) | frozenset(
                        ns["metadata"]["name"] for ns in self.store.list(("", "namespaces"))
                        if chosen.matches(ns["metadata"].get("labels")))
            else:
                allowed = frozenset(names or [namespace])
            terms.append(AffinityTerm(selectors.from_selector_object(raw.get("labelSelector")), allowed,
                                      raw.get("topologyKey", "")))
        return terms

    # volumes

    def _claim_volumes(self, pod: dict, node_name: str) -> None:
        """Mark unbound WaitForFirstConsumer claims with the chosen node, as VolumeBinding's PreBind."""
        namespace = pod["metadata"].get("namespace", "")
        for claim_name in _claim_names(pod.get("spec") or {}):
            claim = self.store.get(_CLAIMS, namespace, claim_name)
            if claim is None or (claim.get("spec") or {}).get("volumeName"):
                continue
            annotations = claim["metadata"].get("annotations") or {}
            if annotations.get(SELECTED_NODE_ANNOTATION) == node_name:
                continue
            updated = copy.deepcopy(claim)
            updated["metadata"].setdefault("annotations", {})[SELECTED_NODE_ANNOTATION] = node_name
            self.objects.update(self._claims_rtype, namespace, claim_name, updated)


def _claim_names(spec: dict) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"] for v in spec.get("volumes") or []
            if isinstance(v.get("persistentVolumeClaim"), dict) and v["persistentVolumeClaim"].get("claimName")]


def _pod_affinity_terms(spec: dict) -> list:
    return ((spec.get("affinity") or {}).get("podAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or []


def _pod_anti_affinity_terms(spec: dict) -> list:
    return ((spec.get("affinity") or {}).get("podAntiAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or []


class _Cycle:
    """One attempt to place one pod: what PreFilter computes once, then Filter and Score per node."""

    def __init__(self, scheduler: Scheduler, pod: dict, nodes: list[NodeState]):
        self.scheduler = scheduler
        self.pod = pod
        self.spec = pod.get("spec") or {}
        self.nodes = nodes
        self.facts = scheduler._facts(pod)
        self.tolerations = self.spec.get("tolerations") or []
        self.node_names: set[str] | None = None
        self.bound_volumes: list[dict] = []
        self.spread_hard: list[dict] = []
        self.spread_soft: list[dict] = []

    # PreFilter

    def prefilter(self) -> str | None:
        terms = _required_node_terms(self.spec)
        if terms:
            names: set[str] | None = set()
            for term in terms:
                in_term = [set(r.get("values") or []) for r in term.get("matchFields") or []
                           if r.get("key") == "metadata.name" and r.get("operator") == "In"]
                if not in_term:
                    names = None
                    break
                names |= set.intersection(*in_term)
            if names is not None and not names:
                return AFFINITY_CONFLICT
            self.node_names = names
        failure = self._prefilter_volumes()
        if failure:
            return failure
        self._prefilter_spread()
        self._prefilter_affinity()
        return None

    def _prefilter_volumes(self) -> str | None:
        store = self.scheduler.store
        namespace = self.facts.namespace
        for claim_name in _claim_names(self.spec):
            claim = store.get(_CLAIMS, namespace, claim_name)
            if claim is None:
                return f'persistentvolumeclaim "{claim_name}" not found'
            if claim["metadata"].get("deletionTimestamp"):
                return f'persistentvolumeclaim "{claim_name}" is being deleted'
            volume_name = (claim.get("spec") or {}).get("volumeName")
            if volume_name:
                volume = store.get(_VOLUMES, "", volume_name)
                if volume is not None:
                    self.bound_volumes.append(volume)
                continue
            class_name = (claim.get("spec") or {}).get("storageClassName")
            storage_class = store.get(_CLASSES, "", class_name) if class_name else None
            if storage_class is None or storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
                return UNBOUND_IMMEDIATE
        return None

    def _prefilter_spread(self) -> None:
        for constraint in self.spec.get("topologySpreadConstraints") or []:
            selector = dict(constraint.get("labelSelector") or {})
            labels = self.facts.labels
            extra = {k: labels[k] for k in constraint.get("matchLabelKeys") or [] if k in labels}
            if extra:
                selector["matchLabels"] = {**(selector.get("matchLabels") or {}), **extra}
            entry = {"key": constraint.get("topologyKey", ""), "max_skew": constraint.get("maxSkew", 1),
                     "min_domains": constraint.get("minDomains") or 1,
                     "selector": selectors.from_selector_object(selector if constraint.get("labelSelector")
                                                                is not None or extra else None)}
            entry["self"] = 1 if entry["selector"].matches(labels) else 0
            entry["counts"] = self._domain_counts(entry["key"], entry["selector"],
                                                  honour_affinity=constraint.get("nodeAffinityPolicy", "Honor") == "Honor")
            if constraint.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule":
                self.spread_hard.append(entry)
            else:
                self.spread_soft.append(entry)

    def _domain_counts(self, key: str, selector, honour_affinity: bool) -> Counter:
        counts: Counter = Counter()
        for state in self.nodes:
            if key not in state.labels:
                continue
            if honour_affinity and not node_matches_pod(self.spec, state.name, state.labels):
                continue
            domain = state.labels[key]
            counts[domain] += sum(1 for p in state.pods.values()
                                  if not p.terminating and p.namespace == self.facts.namespace
                                  and selector.matches(p.labels))
        return counts

    def _prefilter_affinity(self) -> None:
        scheduler = self.scheduler
        self.affinity = scheduler._terms(self.pod, _pod_affinity_terms(self.spec))
        self.anti_affinity = self.facts.anti_affinity
        self.affinity_domains: list[set] = [set() for _ in self.affinity]
        self.anti_domains: list[set] = [set() for _ in self.anti_affinity]
        self.existing_anti: set[tuple[str, str]] = set()  # (topology key, value) forbidden by others
        self.affinity_free = False
        if not (self.affinity or self.anti_affinity or any(s.with_anti_affinity for s in self.nodes)):
            return
        for state in self.nodes:
            for other in state.pods.values():
                for index, term in enumerate(self.affinity):
                    if term.topology_key in state.labels and term.selects(other):
                        self.affinity_domains[index].add(state.labels[term.topology_key])
                for index, term in enumerate(self.anti_affinity):
                    if term.topology_key in state.labels and term.selects(other):
                        self.anti_domains[index].add(state.labels[term.topology_key])
                for term in other.anti_affinity:
                    if term.topology_key in state.labels and term.selects(self.facts):
                        self.existing_anti.add((term.topology_key, state.labels[term.topology_key]))
        # the first pod of a group that wants to be with its own kind may go anywhere
        self.affinity_free = (not any(self.affinity_domains)
                              and all(term.selects(self.facts) for term in self.affinity))

    # Filter

    def filter_nodes(self, ordered: list[NodeState]) -> tuple[list[NodeState], dict[str, Verdict]]:
        verdicts: dict[str, Verdict] = {}
        feasible: list[NodeState] = []
        total = len(ordered)
        wanted = _feasible_nodes_to_find(total)
        for index, state in enumerate(ordered):
            if self.node_names is not None and state.name not in self.node_names:
                verdicts[state.name] = Verdict(UNRESOLVABLE, (NODE_NAME_PLUGIN,))
                continue
            verdict = self.check(state)
            if verdict is None:
                feasible.append(state)
                if len(feasible) >= wanted:
                    self.scheduler._start_index += index + 1
                    break
            else:
                verdicts[state.name] = verdict
        return feasible, verdicts

    def check(self, state: NodeState, removed: tuple = ()) -> Verdict | None:
        """Run the filters in kube-scheduler's order; the first that refuses gives the verdict."""
        if state.unschedulable and not any(
                tolerates(t, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
                for t in self.tolerations):
            return Verdict(UNRESOLVABLE, (NODE_UNSCHEDULABLE,))
        if untolerated_taint(state.taints, self.tolerations) is not None:
            return Verdict(UNRESOLVABLE, (UNTOLERATED_TAINT,))
        if not node_matches_pod(self.spec, state.name, state.labels):
            return Verdict(UNRESOLVABLE, (NODE_AFFINITY,))
        if self.facts.host_ports and any(self._port_taken(state, p) for p in self.facts.host_ports):
            return Verdict(UNSCHEDULABLE, (HOST_PORTS,))
        short = self._insufficient(state, removed)
        if short:
            return Verdict(UNSCHEDULABLE, tuple(short))
        for volume in self.bound_volumes:
            terms = (((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get(
                "nodeSelectorTerms")
            if terms and not any(node_selector_term_matches(t, state.name, state.labels) for t in terms):
                return Verdict(UNRESOLVABLE, (VOLUME_NODE_AFFINITY,))
        for entry in self.spread_hard:
            if entry["key"] not in state.labels:
                return Verdict(UNRESOLVABLE, (SPREAD_MISSING_LABEL,))
            counts = entry["counts"]
            minimum = min(counts.values()) if counts else 0
            if len(counts) < entry["min_domains"]:
                minimum = 0
            if counts.get(state.labels[entry["key"]], 0) + entry["self"] - minimum > entry["max_skew"]:
                return Verdict(UNSCHEDULABLE, (SPREAD_SKEW,))
        for index, term in enumerate(self.affinity):
            if self.affinity_free:
                break
            if state.labels.get(term.topology_key) not in self.affinity_domains[index]:
                return Verdict(UNRESOLVABLE, (POD_AFFINITY,))
        for index, term in enumerate(self.anti_affinity):
            if term.topology_key in state.labels and state.labels[term.topology_key] in self.anti_domains[index]:
                return Verdict(UNSCHEDULABLE, (POD_ANTI_AFFINITY,))
        for topology_key, value in self.existing_anti:
            if state.labels.get(topology_key) == value:
                return Verdict(UNSCHEDULABLE, (EXISTING_ANTI_AFFINITY,))
        return None

    @staticmethod
    def _port_taken(state: NodeState, port: tuple[str, int, str]) -> bool:
        ip, number, protocol = port
        for (used_ip, used_number, used_protocol), count in state.ports.items():
            if count > 0 and used_number == number and used_protocol == protocol and (
                    used_ip == ip or "0.0.0.0" in (ip, used_ip)):
                return True
        return False

    def _insufficient(self, state: NodeState, removed: tuple = ()) -> list[str]:
        requested = state.requested
        pod_count = len(state.pods)
        if removed:
            requested = dict(requested)
            for victim in removed:
                for name, value in victim.requests.items():
                    requested[name] = requested.get(name, 0) - value
            pod_count -= len(removed)
        allocatable = state.allocatable
        short = []
        if pod_count + 1 > allocatable.get("pods", 0):
            short.append(TOO_MANY_PODS)
        wants = self.facts.requests
        for name in ("cpu", "memory", "ephemeral-storage"):
            amount = wants.get(name, 0)
            if amount > 0 and amount > allocatable.get(name, 0) - requested.get(name, 0):
                short.append(f"Insufficient {name}")
        for name in sorted(wants):
            if name in ("cpu", "memory", "ephemeral-storage", "pods") or wants[name] <= 0:
                continue
            if wants[name] > allocatable.get(name, 0) - requested.get(name, 0):
                short.append(f"Insufficient {name}")
        return short

    # PostFilter: what preemption would say (the simulator does not preempt)

    def post_filter_message(self, verdicts: dict[str, Verdict]) -> str:
        if self.spec.get("preemptionPolicy") == "Never":
            return f"{NO_CLAIMS_TO_DEALLOCATE}, preemption: {PREEMPTION_NEVER}"
        outcome: Counter = Counter()
        for state in self.nodes:
            verdict = verdicts.get(state.name)
            if verdict is None or verdict.code != UNSCHEDULABLE:
                outcome[PREEMPTION_NOT_HELPFUL] += 1
                continue
            victims = tuple(p for p in state.pods.values() if p.priority < self.facts.priority)
            if not victims:
                outcome[NO_VICTIMS] += 1
                continue
            still = self.check(state, removed=victims)
            outcome.update(still.reasons if still is not None else (NO_VICTIMS,))
        reasons = ", ".join(sorted(f"{count} {reason}" for reason, count in outcome.items()))
        return (f"{NO_CLAIMS_TO_DEALLOCATE}, preemption: 0/{len(self.nodes)} nodes are available: "
                f"{reasons}.")

    # Score

    def best(self, feasible: list[NodeState]) -> str:
        if len(feasible) == 1:
            return feasible[0].name
        scores = [0.0] * len(feasible)
        weighted = [
            (1, [self._least_allocated(s) for s in feasible]),
            (1, [self._balanced(s) for s in feasible]),
            (3, _reverse_normalized([self._prefer_no_schedule(s) for s in feasible])),
            (2, _normalized([self._preferred_affinity(s) for s in feasible])),
            (2, self._spread_scores(feasible)),
        ]
        for weight, values in weighted:
            for index, value in enumerate(values):
                scores[index] += weight * value
        top = max(scores)
        # ties go to the first in name order (kube-scheduler picks at random among them)
        return next(s.name for s, score in zip(feasible, scores, strict=True) if score >= top - 1e-9)

    def _least_allocated(self, state: NodeState) -> float:
        total = 0.0
        for allocatable, used in ((state.allocatable.get("cpu", 0), state.non_zero_cpu + self.facts.non_zero_cpu),
                                  (state.allocatable.get("memory", 0),
                                   state.non_zero_memory + self.facts.non_zero_memory)):
            if allocatable > 0 and used <= allocatable:
                total += (allocatable - used) * MAX_NODE_SCORE / allocatable
        return total / 2

    def _balanced(self, state: NodeState) -> float:
        fractions = []
        for name, pod_amount in (("cpu", self.facts.requests.get("cpu", 0)),
                                 ("memory", self.facts.requests.get("memory", 0))):
            allocatable = state.allocatable.get(name, 0)
            if allocatable > 0:
                fractions.append(min(1.0, (state.requested.get(name, 0) + pod_amount) / allocatable))
        if len(fractions) < 2:
            return float(MAX_NODE_SCORE)
        deviation = abs(fractions[0] - fractions[1]) / 2
        return (1 - deviation) * MAX_NODE_SCORE

    def _prefer_no_schedule(self, state: NodeState) -> float:
        soft = [t for t in self.tolerations if not t.get("effect") or t.get("effect") == "PreferNoSchedule"]
        return float(sum(1 for taint in state.taints if taint.get("effect") == "PreferNoSchedule"
                         and not any(tolerates(t, taint) for t in soft)))

    def _preferred_affinity(self, state: NodeState) -> float:
        preferred = (((self.spec.get("affinity") or {}).get("nodeAffinity") or {})
                     .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
        return float(sum(p.get("weight", 0) for p in preferred
                         if node_selector_term_matches(p.get("preference") or {}, state.name, state.labels)))

    def _spread_scores(self, feasible: list[NodeState]) -> list[float]:
        """PodTopologySpread scoring: the pod's ScheduleAnyway constraints, or the system default
        (spread one owner's pods over hostnames, maxSkew 3) when it has none."""
        raw = [0.0] * len(feasible)
        if self.spread_soft:
            for entry in self.spread_soft:
                weight = math.log(len(entry["counts"]) + 2)
                for index, state in enumerate(feasible):
                    domain = state.labels.get(entry["key"])
                    raw[index] += entry["counts"].get(domain, 0) * weight + entry["max_skew"] - 1
        elif self.facts.owner and not self.spread_hard:
            weight = math.log(len(feasible) + 2)
            for index, state in enumerate(feasible):
                raw[index] = state.owners.get(self.facts.owner, 0) * weight + 2
        else:
            return [float(MAX_NODE_SCORE)] * len(feasible)
        highest, lowest = max(raw), min(raw)
        if highest == 0:
            return [float(MAX_NODE_SCORE)] * len(feasible)
        return [MAX_NODE_SCORE * (highest + lowest - value) / highest for value in raw]


def _normalized(values: list[float]) -> list[float]:
    highest = max(values) if values else 0
    if highest <= 0:
        return [0.0] * len(values)
    return [v * MAX_NODE_SCORE / highest for v in values]


def _reverse_normalized(values: list[float]) -> list[float]:
    highest = max(values) if values else 0
    if highest <= 0:
        return [float(MAX_NODE_SCORE)] * len(values)
    return [MAX_NODE_SCORE - v * MAX_NODE_SCORE / highest for v in values]


def _feasible_nodes_to_find(total: int) -> int:
    """kube-scheduler stops looking once it has found this many feasible nodes."""
    if total < MIN_FEASIBLE_NODES_TO_FIND:
        return total
    percentage = max(5, 50 - total // 125)
    return max(MIN_FEASIBLE_NODES_TO_FIND, total * percentage // 100)
