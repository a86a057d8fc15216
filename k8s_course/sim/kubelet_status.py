"""A pod's status as the kubelet reports it: phase, conditions, addresses, container statuses.

Pure functions of what the pod worker knows (its container slots, address, whether it is
initialized or finished) and of the status already stored, whose conditions keep their
`lastTransitionTime` while their status does not change. Phases and conditions follow the
kubelet's rules: Pending until initialized and every container has run, Running while any
runs or restarts, Succeeded / Failed set by the worker once every container has stopped;
`Initialized`, `ContainersReady` and `Ready` with the kubelet's reasons and messages.
"""

from __future__ import annotations

from .schema import defaulting

KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")


def phase(worker) -> str:
    if worker.terminal_phase:
        return worker.terminal_phase
    mains = worker.main_slots
    if not worker.initialized and not any(slot.starts for slot in mains):
        return "Pending"
    waiting = running = stopped = 0
    for slot in mains:
        if slot.running:
            running += 1
        elif "terminated" in slot.state or slot.last_state:
            stopped += 1  # a container waiting to restart has run: it counts as stopped
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running or stopped:
        return "Running"  # terminal phases wait until every container, sidecars too, has stopped
    return "Pending"


def _names(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"  # Go's %s of a []string


def _condition(kind: str, true: bool, reason: str = "", message: str = "") -> dict:
    found = {"type": kind, "status": "True" if true else "False"}
    if reason:
        found["reason"] = reason
    if message:
        found["message"] = message
    return found


def _initialized(worker, pod_phase: str) -> dict:
    incomplete = []
    for slot in worker.init_slots:
        if slot.kind == "sidecar":
            if not slot.started:
                incomplete.append(slot.name)
        elif (slot.state.get("terminated") or {}).get("exitCode") != 0:
            incomplete.append(slot.name)
    if pod_phase == "Succeeded" and worker.init_slots:
        return _condition("Initialized", True, "PodCompleted")
    if not incomplete or any(slot.starts for slot in worker.main_slots):
        return _condition("Initialized", True)
    return _condition("Initialized", False, "ContainersNotInitialized",
                      f"containers with incomplete status: {_names(incomplete)}")


def _containers_ready(worker, pod_phase: str) -> dict:
    if pod_phase == "Succeeded":
        return _condition("ContainersReady", False, "PodCompleted")
    if pod_phase == "Failed":
        return _condition("ContainersReady", False, "PodFailed")
    unready = [slot.name for slot in [*worker.init_slots, *worker.main_slots]
               if slot.kind != "init" and not slot.ready]
    if unready:
        return _condition("ContainersReady", False, "ContainersNotReady",
                          f"containers with unready status: {_names(unready)}")
    return _condition("ContainersReady", True)


def _ready(worker, containers_ready: dict, old: list[dict]) -> dict:
    if containers_ready["status"] != "True":
        return dict(containers_ready, type="Ready")
    messages = []
    for gate in worker.pod["spec"].get("readinessGates") or []:
        kind = gate.get("conditionType")
        found = next((c for c in old if c.get("type") == kind), None)
        if found is None:
            messages.append(f'corresponding condition of pod readiness gate "{kind}" does not exist.')
        elif found.get("status") != "True":
            messages.append(f'the status of pod readiness gate "{kind}" is not "True", but {found.get("status")}')
    if messages:
        return _condition("Ready", False, "ReadinessGatesNotReady", ", ".join(messages))
    return _condition("Ready", True)


def conditions(worker, pod_phase: str, old: list[dict], now: str) -> list[dict]:
    containers_ready = _containers_ready(worker, pod_phase)
    sandbox = worker.sandbox_ready and pod_phase not in ("Succeeded", "Failed")
    fresh = [_condition("PodReadyToStartContainers", sandbox), _initialized(worker, pod_phase),
             _ready(worker, containers_ready, old), containers_ready]
    generation = worker.pod["metadata"].get("generation")
    before = {c.get("type"): c for c in old}
    result = []
    for condition in fresh:
        previous = before.get(condition["type"])
        changed = previous is None or previous.get("status") != condition["status"]
        entry = {"lastProbeTime": None,
                 "lastTransitionTime": now if changed else previous.get("lastTransitionTime", now),
                 **condition}
        if generation is not None:
            entry["observedGeneration"] = generation
        result.append(entry)
    others = [c for c in old if c.get("type") not in KUBELET_CONDITIONS]
    if not any(c.get("type") == "PodScheduled" for c in others):
        others.append({"lastProbeTime": None, "lastTransitionTime": now, "status": "True",
                       "type": "PodScheduled"})
    return result + others


def pod_status(worker, old: dict, now: str) -> dict:
    """The whole status to write, keeping what other writers own (nominatedNodeName ...)."""
    spec = worker.pod["spec"]
    pod_phase = phase(worker)
    status = {key: value for key, value in old.items()
              if key not in ("phase", "conditions", "containerStatuses", "initContainerStatuses",
                             "podIP", "podIPs", "hostIP", "hostIPs", "startTime")}
    status["phase"] = pod_phase
    status["conditions"] = conditions(worker, pod_phase, old.get("conditions") or [], now)
    if worker.host_ip:
        status["hostIP"] = worker.host_ip
        status["hostIPs"] = [{"ip": worker.host_ip}]
    if worker.ip:
        status["podIP"] = worker.ip
        status["podIPs"] = [{"ip": worker.ip}]
    if worker.start_time:
        status["startTime"] = worker.start_time
    status.setdefault("qosClass", defaulting.qos_class(spec))
    if worker.init_slots:
        status["initContainerStatuses"] = [slot.status() for slot in worker.init_slots]
    status["containerStatuses"] = [slot.status() for slot in worker.main_slots]
    generation = worker.pod["metadata"].get("generation")
    if generation is not None:
        status["observedGeneration"] = generation
    return status
