"""Scenario questions: a pod in trouble on the course's own cluster, shown as evidence, and "why?".

A scenario is data (in `scenarios.yaml`): the manifest of a pod that goes wrong in a known
way, the course programs it runs (`programs`, mounted from the ConfigMap `sidecar-programs` as
in chapter 1, so that the pod runs in a stock python image on any cluster), the moment worth
looking at (`until`: its container waits in CrashLoopBackOff with 2 restarts, say), the
question about it, and a `recorded` snapshot taken from a real run on the simulator. A snapshot
is plain data: the pod's containers with their images, commands, requests, states and
restarts, its events and its last log lines. `render` turns it into the text an engineer
reads (`kubectl describe pod` and `kubectl logs --previous`, abridged) and that becomes the
question's exhibit.

In a notebook the same scenario can be run live: `start(cluster, scenario)` applies its
ConfigMap of programs (if it has any) and its manifest; then wait with
`reached(pod, scenario.until)`, take `snapshot(cluster, scenario.pod)`, and ask
`scenario.question(snapshot)` about what your own cluster just did.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..workloads import program_source
from .questions import Question, from_data

LOG_LINES = 4  # lines of a container's log that a snapshot keeps: from its first error, else the last
EVENT_REASONS_SHOWN = 10  # the newest rows of the events table
PROGRAMS_CONFIG_MAP = "sidecar-programs"  # where the course's pods mount their programs from (chapter 1's name)


@dataclass(frozen=True)
class Scenario:
    id: str
    pod: str  # the name of the pod in the manifest that goes wrong
    manifest: dict
    until: dict  # {"waiting": reason, "restarts": n} or {"unschedulable": True}
    question_data: dict
    recorded: dict = field(default_factory=dict)
    programs: tuple[str, ...] = ()  # course programs (k8s_course.workloads) the pod runs, e.g. "needs_proxy"

    def objects(self) -> list[dict]:
        """What to apply, in order: the ConfigMap of the programs the pod mounts (if any), then the pod."""
        return ([programs_config_map(self.programs)] if self.programs else []) + [self.manifest]

    def question(self, snapshot: dict | None = None) -> Question:
        """The question, with the snapshot (the recorded one by default) as its exhibit."""
        return from_data({**self.question_data, "id": self.id, "kind": self.question_data.get("kind", "choice"),
                          "exhibit": render(snapshot if snapshot is not None else self.recorded)})


def from_data_scenario(data: dict) -> Scenario:
    known = {"id", "pod", "manifest", "until", "recorded", "programs"}
    question = {k: v for k, v in data.items() if k not in known}
    return Scenario(data["id"], data["pod"], data["manifest"], data["until"], question, data.get("recorded") or {},
                    tuple(data.get("programs") or ()))


def programs_config_map(programs) -> dict:
    """The ConfigMap `sidecar-programs` holding these course programs, one `<name>.py` key each."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": PROGRAMS_CONFIG_MAP},
            "data": {f"{name}.py": program_source(name) for name in programs}}


def start(cluster, scenario: Scenario) -> None:
    """Apply the scenario on the cluster: its ConfigMap of programs first, so that the pod can mount it."""
    for manifest in scenario.objects():
        cluster.apply(manifest)


# reading the cluster

def reached(pod: dict | None, until: dict) -> bool:
    """Has the pod reached the state the scenario is about?"""
    if not pod:
        return False
    status = pod.get("status") or {}
    if until.get("unschedulable"):
        return any(c.get("type") == "PodScheduled" and c.get("status") == "False"
                   and c.get("reason") == "Unschedulable" for c in status.get("conditions") or [])
    wanted, restarts = until.get("waiting"), until.get("restarts", 0)
    for container in _statuses(status):
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") == wanted and container.get("restartCount", 0) >= restarts:
            return True
    return False


def snapshot(cluster, pod_name: str, namespace: str | None = "") -> dict:
    """The evidence about one pod, read through the API: spec and status, events, last log lines."""
    pod = cluster.get("Pod", pod_name, namespace)
    events = cluster.events(pod_name, namespace)
    logs = {}
    for status in _statuses(pod.get("status") or {}):
        previous = bool((status.get("lastState") or {}).get("terminated"))
        try:
            text = cluster.logs(pod_name, container=status["name"], previous=previous, namespace=namespace)
        except Exception:  # a container that never started has no log: nothing to show
            continue
        lines = telling_lines(text)
        if lines:
            logs[status["name"]] = {"previous": previous, "lines": lines}
    return describe(pod, events, logs)


def telling_lines(log: str, count: int = LOG_LINES) -> list[str]:
    """The lines of a log worth showing: from the first that mentions an error, else the last."""
    lines = [line.rstrip() for line in log.splitlines() if line.strip()]
    first_error = next((i for i, line in enumerate(lines) if "error" in line.lower()), None)
    return lines[first_error:first_error + count] if first_error is not None else lines[-count:]


def describe(pod: dict, events: list[dict], logs: dict | None = None) -> dict:
    """A snapshot from the API's JSON of a pod and its events (and logs already read)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    by_name = {s["name"]: s for s in _statuses(status)}
    containers = []
    for role, listed in (("init", spec.get("initContainers") or []), ("container", spec.get("containers") or [])):
        for container in listed:
            kind = "sidecar" if role == "init" and container.get("restartPolicy") == "Always" else role
            containers.append(_container(container, kind, by_name.get(container["name"])))
    conditions = {c["type"]: c.get("status") for c in status.get("conditions") or []}
    reasons: list[dict] = []  # one row per reason and message, as kubectl describe shows them
    for event in events:
        key = (event.get("reason", ""), event.get("message", ""))
        row = next((r for r in reasons if (r["reason"], r["message"]) == key), None)
        if row is None:
            row = {"type": event.get("type", "Normal"), "reason": key[0], "count": 0, "message": key[1]}
            reasons.append(row)
        row["count"] += event.get("count") or 1
    return {"pod": {"name": (pod.get("metadata") or {}).get("name", ""), "phase": status.get("phase", "Pending"),
                    "conditions": conditions, "containers": containers},
            "events": reasons[-EVENT_REASONS_SHOWN:], "logs": logs or {}}


def _statuses(status: dict) -> list[dict]:
    return (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])


def _container(container: dict, kind: str, status: dict | None) -> dict:
    described = {"name": container["name"], "kind": kind, "image": container.get("image", "")}
    command = [*(container.get("command") or []), *(container.get("args") or [])]
    if command:  # with a stock image, the command says which program the container runs
        described["command"] = command
    described.update(requests=dict((container.get("resources") or {}).get("requests") or {}),
                     env={e["name"]: e.get("value", "") for e in container.get("env") or [] if "name" in e})
    if status is not None:
        described.update(state=_state_text(status.get("state") or {}),
                         last_state=_state_text(status.get("lastState") or {}),
                         restarts=status.get("restartCount", 0), ready=bool(status.get("ready")))
    return described


def _state_text(state: dict) -> str:
    if "running" in state:
        return "Running"
    if "waiting" in state:
        return f"Waiting ({state['waiting'].get('reason', '')})"
    if "terminated" in state:
        ended = state["terminated"]
        return f"Terminated ({ended.get('reason', '')}), exit code {ended.get('exitCode')}"
    return ""


# showing it

def render(snap: dict) -> str:
    """The snapshot as an engineer reads it: `kubectl describe pod` and the logs, abridged."""
    if not snap:
        return ""
    pod = snap["pod"]
    lines = [f"Pod {pod['name']}   Status: {pod['phase']}"]
    if pod.get("conditions"):
        lines.append("Conditions: " + ", ".join(f"{k}={v}" for k, v in pod["conditions"].items()))
    for container in pod["containers"]:
        label = {"init": "init container", "sidecar": "init container (restartPolicy: Always)"}.get(
            container["kind"], "container")
        lines.append(f"  {label} {container['name']}: image {container['image']}")
        if container.get("command"):
            lines.append("    command: " + " ".join(container["command"]))
        if container.get("requests"):
            lines.append("    requests: " + ", ".join(f"{k}={v}" for k, v in container["requests"].items()))
        if container.get("env"):
            lines.append("    env: " + ", ".join(f"{k}={v}" for k, v in container["env"].items()))
        if container.get("state"):
            lines.append(f"    state: {container['state']}   restarts: {container.get('restarts', 0)}"
                         f"   ready: {str(container.get('ready', False)).lower()}")
        if container.get("last_state"):
            lines.append(f"    last state: {container['last_state']}")
    if snap.get("events"):
        lines += ["Events:", f"  {'type':8} {'reason':18} {'count':>5}  message"]
        lines += [f"  {e['type']:8} {e['reason']:18} {e['count']:>5}  {e['message']}" for e in snap["events"]]
    for name, log in (snap.get("logs") or {}).items():
        flag = " --previous" if log.get("previous") else ""
        lines.append(f"$ kubectl logs {pod['name']} -c {name}{flag}")
        lines += [f"  {line}" for line in log["lines"]]
    return "\n".join(lines)


# recording

def record(cluster, scenario: Scenario, timeout: float = 300) -> dict:
    """Apply the scenario (its programs' ConfigMap, then its pod), wait for its moment, take the snapshot."""
    start(cluster, scenario)
    cluster.wait_for(lambda: reached(cluster.find("Pod", scenario.pod), scenario.until), timeout,
                     f"pod {scenario.pod} to show its trouble")
    return snapshot(cluster, scenario.pod)


def record_all() -> None:  # pragma: no cover - run by hand to refresh recordings.yaml
    """Run every scenario on a fresh simulator and write what it showed to recordings.yaml."""
    from pathlib import Path

    import yaml

    from k8s_course import backends
    from k8s_course.cluster import Cluster
    from k8s_course.sim import Simulator

    from . import bank

    recorded = {}
    with Simulator(speed=20) as sim, sim.api_client() as api:
        backend = backends.Backend("simulator", str(sim.kubeconfig), backends.SIM_CONTEXT, "recording")
        cluster = Cluster(backend, api).use_namespace("interview")
        for scenario in bank.scenarios():
            recorded[scenario.id] = record(cluster, scenario)
    header = "# What each scenario of scenarios.yaml showed on the simulator. Generated: do not edit.\n"
    text = yaml.safe_dump(recorded, sort_keys=False, allow_unicode=True, width=120)
    (Path(__file__).parent / "recordings.yaml").write_text(header + text, encoding="utf-8")
