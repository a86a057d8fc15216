"""Reading pods and nodes as the building shows them: pure functions over the API's JSON.

A pod is an apartment in one of a few states (`pod_state`), a container is a room of some kind
(`room_kind`), a node is a floor with a role, a condition and a load (`floor_of`). The same
readings feed the building, the timeline and the checks' messages, so they all agree.
"""

from __future__ import annotations

import re
from decimal import Decimal

# state -> (legend text, colour); the order is the legend's order
STATES = {
    "Pending": ("Pending (waiting)", "#f2c14e"),
    "Running": ("Running, not ready", "#8ecae6"),
    "Ready": ("Ready", "#52b788"),
    "Succeeded": ("Succeeded (done)", "#adb5bd"),
    "Failed": ("Failed", "#e63946"),
    "Terminating": ("Terminating", "#6c757d"),
    "Trouble": ("CrashLoopBackOff / waiting", "#f4845f"),
}

# room kind -> (legend text, colour, hatch)
ROOMS = {
    "main": ("room (container)", "#ffffff", ""),
    "sidecar": ("utility room (sidecar)", "#cdb4db", "///"),
    "ambassador": ("receptionist (ambassador)", "#ffd6a5", "..."),
    "init": ("init container (running)", "#e9ecef", "xx"),
}

# waiting reasons that are part of normal start-up, not trouble
STARTING_REASONS = {"ContainerCreating", "PodInitializing"}
SIDECAR_NAMES = re.compile(r"sidecar|proxy|envoy|shipper|fluent|logger|log-agent|promtail|vector")
AMBASSADOR_NAMES = re.compile(r"ambassador")
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


def name_of(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def is_terminating(pod: dict) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def is_ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _waiting_reasons(pod: dict) -> list[str]:
    status = pod.get("status") or {}
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    return [((s.get("state") or {}).get("waiting") or {}).get("reason") or "" for s in statuses
            if (s.get("state") or {}).get("waiting")]


def pod_state(pod: dict) -> str:
    """One of STATES: what colour the apartment is painted."""
    phase = (pod.get("status") or {}).get("phase") or "Pending"
    if is_terminating(pod):
        return "Terminating"
    if phase in ("Succeeded", "Failed"):
        return phase
    if any(reason and reason not in STARTING_REASONS for reason in _waiting_reasons(pod)):
        return "Trouble"
    if phase == "Running":
        return "Ready" if is_ready(pod) else "Running"
    return "Pending"


def unscheduled_message(pod: dict) -> str | None:
    """The scheduler's word on a pod that has no node yet, if it said anything."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return condition.get("message") or condition.get("reason") or "Unschedulable"
    return None


def pod_reason(pod: dict) -> str:
    """A short status like `kubectl get pods` shows: Running, ContainerCreating, CrashLoopBackOff,
    Pending: 0/3 nodes are available: ..."""
    status = pod.get("status") or {}
    state = pod_state(pod)
    if state == "Terminating":
        return "Terminating"
    if state == "Trouble":
        return next(r for r in _waiting_reasons(pod) if r and r not in STARTING_REASONS)
    if state == "Succeeded":
        return "Completed"
    if state == "Failed":
        return status.get("reason") or _terminated_reason(pod) or "Failed"
    if state == "Pending":
        if not (pod.get("spec") or {}).get("nodeName"):
            message = unscheduled_message(pod)
            return f"Pending: {message}" if message else "Pending"
        init = _init_progress(pod)
        if init:
            return init
        reasons = [r for r in _waiting_reasons(pod) if r]
        return reasons[0] if reasons else "ContainerCreating"
    if state == "Running":
        statuses = status.get("containerStatuses") or []
        ready = sum(1 for s in statuses if s.get("ready"))
        total = len((pod.get("spec") or {}).get("containers") or []) or len(statuses)
        return f"Running, not ready ({ready}/{total})"
    return "Running"


def _terminated_reason(pod: dict) -> str:
    for s in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (s.get("state") or {}).get("terminated")
        if terminated and terminated.get("reason"):
            return terminated["reason"]
    return ""


def _init_progress(pod: dict) -> str:
    """`Init:0/2` while plain init containers still run, as kubectl shows it."""
    spec_init = [c for c in (pod.get("spec") or {}).get("initContainers") or [] if c.get("restartPolicy") != "Always"]
    if not spec_init:
        return ""
    statuses = {s.get("name"): s for s in (pod.get("status") or {}).get("initContainerStatuses") or []}
    done = sum(1 for c in spec_init
               if (((statuses.get(c["name"]) or {}).get("state") or {}).get("terminated") or {}).get("exitCode") == 0)
    return "" if done == len(spec_init) else f"Init:{done}/{len(spec_init)}"


def room_kind(container: dict, init: bool = False) -> str:
    """main, sidecar (a utility room), ambassador (the receptionist) or init."""
    name = container.get("name", "")
    if AMBASSADOR_NAMES.search(name):
        return "ambassador"
    if init and container.get("restartPolicy") == "Always":
        return "sidecar"
    if init:
        return "init"
    return "sidecar" if SIDECAR_NAMES.search(name) else "main"


def rooms_of(pod: dict) -> list[tuple[str, str]]:
    """(container name, room kind) of the rooms to draw: sidecars and main containers always,
    plain init containers only while they run (or wait to)."""
    spec = pod.get("spec") or {}
    statuses = {s.get("name"): s for s in (pod.get("status") or {}).get("initContainerStatuses") or []}
    rooms = []
    for container in spec.get("initContainers") or []:
        kind = room_kind(container, init=True)
        if kind == "init":
            state = (statuses.get(container.get("name")) or {}).get("state") or {}
            if state.get("running") is None and state.get("waiting") is None:  # {} is a state too
                continue
        rooms.append((container.get("name", ""), kind))
    rooms += [(c.get("name", ""), room_kind(c)) for c in spec.get("containers") or []]
    return rooms


# floors

def role_of(node: dict) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(label in labels for label in CONTROL_PLANE_LABELS):
        return "control-plane"
    roles = [k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")]
    return roles[0] if roles and roles[0] else "worker"


def condition_of(node: dict) -> str:
    """Ready, NotReady or Unreachable (the node stopped reporting: Ready is Unknown)."""
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") == "Unknown":
        return "Unreachable"
    return "Ready" if ready.get("status") == "True" else "NotReady"


def parse_quantity(text) -> Decimal:
    """'250m' -> 0.25, '1Gi' -> 1073741824: enough of Kubernetes' quantities for a picture."""
    if text is None or text == "":
        return Decimal(0)
    text = str(text)
    match = re.fullmatch(r"([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)", text.strip())
    if not match:
        return Decimal(0)
    number, suffix = Decimal(match.group(1)), match.group(2)
    binary = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
    decimal = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
    if suffix in binary:
        return number * (Decimal(1024) ** binary[suffix])
    return number * (Decimal(10) ** decimal.get(suffix, 0))


def pod_requests(pod: dict) -> dict[str, Decimal]:
    """What a pod asks the floor for: its containers and sidecars together, or its largest
    plain init container if that is more (they run one at a time, before the others)."""
    spec = pod.get("spec") or {}
    totals = {"cpu": Decimal(0), "memory": Decimal(0)}
    largest_init = {"cpu": Decimal(0), "memory": Decimal(0)}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        requests = (container.get("resources") or {}).get("requests") or {}
        plain_init = container in (spec.get("initContainers") or []) and container.get("restartPolicy") != "Always"
        for resource in totals:
            value = parse_quantity(requests.get(resource))
            if plain_init:
                largest_init[resource] = max(largest_init[resource], value)
            else:
                totals[resource] += value
    return {r: max(totals[r], largest_init[r]) for r in totals}


def floor_load(node: dict, pods: list[dict]) -> dict[str, tuple[Decimal, Decimal]]:
    """resource -> (requested by the floor's live pods, allocatable)."""
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    live = [p for p in pods if pod_state(p) not in ("Succeeded", "Failed")]
    load = {}
    for resource in ("cpu", "memory"):
        requested = sum((pod_requests(p)[resource] for p in live), Decimal(0))
        load[resource] = (requested, parse_quantity(allocatable.get(resource)))
    return load
