"""Checks: the small named verifications a notebook runs after each step, and labs grade with.

    checks.pods_ready(cluster, "app=web", 6)        # ✔ 6 pods with app=web are Ready

Each check waits (up to its `timeout`, with `cluster.wait_for`) for what it verifies. On success
it says so with a green tick and returns a `Check`; on failure it raises `CheckFailed`, a
`CourseError` that says what is wrong now (which pods, in what state) and gives up to three
hints, from a nudge to the answer. `attempt()` runs a check without raising, for labs.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import progress
from .errors import ClusterError, CourseError
from .views import states

__all__ = ["Check", "CheckFailed", "attempt", "container_log_contains", "deployment_available",
           "no_pods_on_node", "object_exists", "pod_replaced", "pods_on_distinct_nodes", "pods_ready"]

SHOWN_PODS = 5  # a failure names this many pods, then "and N more"


class CheckFailed(CourseError):
    """A check did not pass: `message` says what is wrong, `hints` how to fix it (first: a nudge)."""

    def __init__(self, message: str, hints: list[str] | None = None, name: str = "check"):
        self.hints = [h for h in (hints or []) if h][:3]
        self.name = name
        super().__init__(message, self.hints[0] if self.hints else None)


@dataclass
class Check:
    """The result of a check, for labs: truthy when it passed."""

    name: str
    passed: bool
    message: str
    hints: list[str] = field(default_factory=list)
    announced: bool = False  # already shown when it passed; Jupyter does not show it twice

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return ("✔ " if self.passed else "✘ ") + self.message

    def hint(self, level: int = 1) -> str:
        """The hint at `level` (1: a nudge, 3: nearly the answer); the last one if there are fewer."""
        if not self.hints:
            return ""
        return self.hints[max(1, min(level, len(self.hints))) - 1]

    def _repr_html_(self) -> str:
        colour = "#2b9348" if self.passed else "#c1121f"
        text = f'<span style="color:{colour};font-weight:bold">{html.escape(str(self))}</span>'
        if not self.passed and self.hints:
            text += f"<br><i>Hint: {html.escape(self.hints[0])}</i>"
        return text

    def _ipython_display_(self) -> None:
        if not self.announced:
            from IPython.display import HTML, display

            display(HTML(self._repr_html_()))


def attempt(check: Callable[..., Check], *args, **kwargs) -> Check:
    """Run a check and return its `Check`, passed or not, instead of raising."""
    try:
        return check(*args, **kwargs)
    except CheckFailed as failure:
        return Check(failure.name, False, failure.message, failure.hints)


# the checks

def pods_ready(cluster, selector, count: int, timeout: float = 60, namespace: str | None = "") -> Check:
    """Exactly `count` pods matching `selector` are Ready (pods being deleted do not count)."""
    what = _selector_text(selector)

    def look():
        pods = _standing(cluster.pods(selector, namespace))
        ready = [p for p in pods if states.pod_state(p) == "Ready"]
        if len(ready) == count:
            return True, f"{count} pod{_s(count)} with {what} {'is' if count == 1 else 'are'} Ready", []
        if not pods:
            return False, f"no pods match {what} (expected {count} Ready)", _no_pods_hints(what)
        if len(ready) > count:
            return False, f"{len(ready)} pods with {what} are Ready, not {count}", [
                "the manager may still be removing the extra ones: try again in a moment",
                "check the Deployment's spec.replicas: cluster.get('Deployment', name)['spec']['replicas']"]
        waiting = [p for p in pods if states.pod_state(p) != "Ready"]
        return False, f"only {len(ready)} of {count} pods with {what} are Ready: {_describe(waiting)}", \
            _pod_hints(waiting)

    return _verify(cluster, "pods_ready", look, timeout, f"{count} pods with {what} to be Ready")


def deployment_available(cluster, name: str, timeout: float = 120, namespace: str | None = "") -> Check:
    """The Deployment exists, has seen its latest spec, and all its replicas are available."""

    def look():
        deployment = cluster.find("Deployment", name, namespace)
        if deployment is None:
            return False, f"there is no Deployment named {name!r} in namespace {_ns(cluster, namespace)}", [
                "apply the Deployment's manifest first (cluster.apply(...))",
                "check the name: cluster.list('Deployment') shows what exists"]
        spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
        wanted, available = spec.get("replicas", 1), status.get("availableReplicas", 0)
        current = status.get("observedGeneration", 0) >= (deployment.get("metadata") or {}).get("generation", 0)
        if current and available >= wanted and status.get("updatedReplicas", 0) >= wanted:
            return True, f"deployment {name} is available: {available}/{wanted} replicas ready", []
        from .views import timeline

        pods = _standing(cluster.pods(timeline.selector_of(deployment), namespace))
        waiting = [p for p in pods if states.pod_state(p) != "Ready"]
        detail = f": {_describe(waiting)}" if waiting else ""
        return False, f"deployment {name} has {available} of {wanted} replicas available{detail}", \
            _pod_hints(waiting) if waiting else ["the Deployment's controller may not have made its pods yet: "
                                                 "give it more time", "cluster.events() shows what happened"]

    return _verify(cluster, "deployment_available", look, timeout, f"deployment {name} to be available")


def object_exists(cluster, kind: str, name: str, timeout: float = 10, namespace: str | None = "") -> Check:
    def look():
        if cluster.find(kind, name, namespace) is not None:
            return True, f"{kind} {name} exists", []
        return False, f"there is no {kind} named {name!r} in namespace {_ns(cluster, namespace)}", [
            f"apply the manifest that defines the {kind} (cluster.apply(...))",
            f"check the name and namespace: cluster.list({kind!r}) shows what exists"]

    return _verify(cluster, "object_exists", look, timeout, f"{kind} {name} to exist")


def pods_on_distinct_nodes(cluster, selector, timeout: float = 60, namespace: str | None = "") -> Check:
    """Every pod matching `selector` is scheduled, each on a different node."""
    what = _selector_text(selector)

    def look():
        pods = _standing(cluster.pods(selector, namespace))
        if not pods:
            return False, f"no pods match {what}", _no_pods_hints(what)
        unplaced = [p for p in pods if not (p.get("spec") or {}).get("nodeName")]
        if unplaced:
            return False, f"not every pod with {what} has a node yet: {_describe(unplaced)}", _pod_hints(unplaced)
        by_node: dict[str, list[str]] = {}
        for pod in pods:
            by_node.setdefault(pod["spec"]["nodeName"], []).append(states.name_of(pod))
        shared = {node: names for node, names in by_node.items() if len(names) > 1}
        if shared:
            text = "; ".join(f"{' and '.join(sorted(names))} share node {node}" for node, names in sorted(shared.items()))
            return False, f"pods with {what} are not spread out: {text}", [
                "nothing tells the scheduler to keep them apart",
                "add a podAntiAffinity (or topologySpreadConstraints) on kubernetes.io/hostname",
                "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution with "
                f"labelSelector {what} and topologyKey kubernetes.io/hostname"]
        nodes = ", ".join(sorted(by_node))
        return True, f"{len(pods)} pod{_s(len(pods))} with {what} run on {len(by_node)} different nodes ({nodes})", []

    return _verify(cluster, "pods_on_distinct_nodes", look, timeout, f"pods with {what} on distinct nodes")


def pod_replaced(cluster, old_pod_name: str, selector, timeout: float = 60, namespace: str | None = "") -> Check:
    """`old_pod_name` is gone (or going) and another pod matching `selector` took its place."""
    what = _selector_text(selector)

    def look():
        pods = cluster.pods(selector, namespace)
        old = next((p for p in pods if states.name_of(p) == old_pod_name), None)
        if old is not None and not states.is_terminating(old):
            return False, f"pod {old_pod_name} is still there ({states.pod_reason(old)}): nothing to replace yet", [
                f"delete it first: cluster.delete('Pod', {old_pod_name!r})"]
        deleted_at = _deleted_at(old) if old is not None else None
        newcomers = [p for p in _standing(pods) if states.name_of(p) != old_pod_name
                     and (deleted_at is None or _created_at(p) >= deleted_at)]
        if not newcomers:
            return False, f"pod {old_pod_name} is gone but no new pod with {what} has appeared", [
                "is the pod managed by a ReplicaSet (a Deployment)? A bare pod is not rebuilt",
                "cluster.events() shows whether the ReplicaSet tried to create one"]
        newest = max(newcomers, key=lambda p: p["metadata"].get("creationTimestamp", ""))
        return True, (f"pod {old_pod_name} was replaced by {states.name_of(newest)} "
                      f"({states.pod_reason(newest)})"), []

    return _verify(cluster, "pod_replaced", look, timeout, f"pod {old_pod_name} to be replaced")


def no_pods_on_node(cluster, node: str, selector=None, timeout: float = 120, namespace: str | None = "") -> Check:
    """No pod (matching `selector`, if given) is left on `node`, except ones already terminating."""
    matching = f" with {_selector_text(selector)}" if selector else ""
    what = f"pods{matching}"

    def look():
        left = [p for p in _standing(cluster.pods(selector, namespace))
                if (p.get("spec") or {}).get("nodeName") == node]
        if not left:
            return True, f"no {what} run on node {node} any more", []
        runs = "pod" + matching + " still runs" if len(left) == 1 else what + " still run"
        return False, f"{len(left)} {runs} on node {node}: {_describe(left)}", [
            "pods leave a node only when they are deleted: after an outage Kubernetes waits about "
            "5 minutes (tolerationSeconds) before evicting them",
            f"drain it yourself: cordon the node, then delete its pods (kubectl drain {node})"]

    return _verify(cluster, "no_pods_on_node", look, timeout, f"no {what} on node {node}")


def container_log_contains(cluster, pod: str, text: str, container: str | None = None, timeout: float = 30,
                           namespace: str | None = "") -> Check:
    where = f"pod {pod}" + (f" (container {container})" if container else "")

    def look():
        try:
            logs = cluster.logs(pod, container=container, namespace=namespace)
        except ClusterError as error:
            return False, f"cannot read the logs of {where}: {error.message}", [
                "is the pod running yet? Logs exist once its container has started",
                "name the container if the pod has several: container='...'"]
        if text in logs:
            return True, f"the logs of {where} contain {text!r}", []
        tail = "\n".join(logs.splitlines()[-5:]) or "(nothing logged yet)"
        return False, f"the logs of {where} do not contain {text!r}; the last lines are:\n{tail}", [
            "the program may not have reached that point yet: give it more time",
            f"read them all: cluster.logs({pod!r})"]

    return _verify(cluster, "container_log_contains", look, timeout, f"{text!r} in the logs of {where}")


# the machinery

def _verify(cluster, name: str, look, timeout: float, description: str) -> Check:
    """Wait until look() -> (passed, message, hints) passes; then announce it, else raise."""
    seen: dict = {}

    def condition():
        try:
            seen["result"] = look()
        except CourseError as error:
            seen["error"] = error
            raise
        return seen["result"][0]

    try:
        cluster.wait_for(condition, timeout, description)
    except CourseError as error:
        if seen.get("error") is error or "result" not in seen:
            raise CheckFailed(error.message, [error.hint] if error.hint else [], name) from None
        _, message, hints = seen["result"]
        raise CheckFailed(message, hints, name) from None
    _, message, _ = seen["result"]
    result = Check(name, True, message, announced=True)
    _announce(result)
    return result


def _announce(result: Check) -> None:
    if progress._in_notebook():
        from IPython.display import HTML, display

        display(HTML(result._repr_html_()))
    else:
        print(str(result), flush=True)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _created_at(pod: dict) -> datetime:
    return _time(pod["metadata"].get("creationTimestamp") or "1970-01-01T00:00:00Z")


def _deleted_at(pod: dict) -> datetime | None:
    """When the pod was deleted: its deletionTimestamp is that moment plus its grace period."""
    meta = pod.get("metadata") or {}
    if not meta.get("deletionTimestamp"):
        return None
    return _time(meta["deletionTimestamp"]) - timedelta(seconds=meta.get("deletionGracePeriodSeconds") or 0)


def _standing(pods: list[dict]) -> list[dict]:
    return [p for p in pods if not states.is_terminating(p)]


def _describe(pods: list[dict]) -> str:
    named = [f"{states.name_of(p)} ({states.pod_reason(p)})" for p in sorted(pods, key=states.name_of)]
    more = len(named) - SHOWN_PODS
    return ", ".join(named[:SHOWN_PODS]) + (f" and {more} more" if more > 0 else "")


def _pod_hints(pods: list[dict]) -> list[str]:
    """Hints for the most telling trouble among `pods`, from a nudge to the answer."""
    by_state = {states.pod_state(p): p for p in pods}
    if "Trouble" in by_state:
        pod = by_state["Trouble"]
        name, reason = states.name_of(pod), states.pod_reason(pod)
        if "Image" in reason or "ErrImage" in reason:
            return [f"the image of {name} cannot be pulled ({reason})",
                    "check the image's name and tag in the manifest",
                    f"cluster.events({name!r}) shows the exact image the kubelet tried"]
        return [f"a container of {name} keeps failing ({reason})",
                f"read why: cluster.logs({name!r}, previous=True)",
                f"cluster.events({name!r}) shows the exit codes and restarts"]
    unscheduled = [p for p in pods if not (p.get("spec") or {}).get("nodeName")]
    if unscheduled:
        name = states.name_of(unscheduled[0])
        return [f"the scheduler found no floor (node) for {name}: its reason is above",
                f"cluster.events({name!r}) shows what the scheduler tried",
                "lower the pod's resources.requests, relax its affinity, or bring a node back online"]
    return ["the pods may need more time: run the check again, or give it a larger timeout=",
            "cluster.events() shows what the cluster is doing",
            "the building view shows where they are stuck"]


def _no_pods_hints(what: str) -> list[str]:
    return ["has the Deployment (or pod) been applied? cluster.list('Deployment') shows what exists",
            f"check that the pod template's labels match {what}",
            "check the namespace: cluster.namespace is where the check looks"]


def _selector_text(selector) -> str:
    if isinstance(selector, dict):
        return ",".join(f"{k}={v}" for k, v in selector.items())
    return selector or "any labels"


def _ns(cluster, namespace) -> str:
    return namespace or cluster.namespace


def _s(count: int) -> str:
    return "" if count == 1 else "s"
