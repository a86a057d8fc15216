"""The timeline: what a Deployment was asked for against what it had, second by second.

`draw_timeline(samples)` is a pure drawing of plain samples

    {"t": 3.0, "desired": 6, "ready": 4, "phases": {"Ready": 4, "Pending": 2}}

(phases are the building's pod states, see `states.STATES`). A `Recorder` takes such samples
from a cluster, one call at a time (`sample()`) or on a background thread (`start()`/`stop()`).
Artists tests may look for: lines labelled "desired" and "ready", one band per pod state
labelled with the state's name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from matplotlib.figure import Figure

from . import states


def draw_timeline(samples: list[dict], title: str | None = None) -> Figure:
    """Desired against ready replicas (top) and the pods' states, stacked (bottom)."""
    fig = Figure(figsize=(10, 5.5))
    wanted_axes, phases_axes = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1]})
    times = [s["t"] for s in samples]
    wanted_axes.step(times, [s.get("desired", 0) for s in samples], where="post", linestyle="--",
                     color="#343a40", linewidth=2, label="desired")
    wanted_axes.step(times, [s.get("ready", 0) for s in samples], where="post", color="#52b788",
                     linewidth=2.5, label="ready")
    wanted_axes.set_ylabel("replicas")
    wanted_axes.legend(loc="upper left", fontsize=8)
    wanted_axes.grid(alpha=0.3)
    present = [state for state in states.STATES if any((s.get("phases") or {}).get(state) for s in samples)]
    if present:
        phases_axes.stackplot(times, [[(s.get("phases") or {}).get(state, 0) for s in samples] for state in present],
                              labels=present, colors=[states.STATES[state][1] for state in present], step="post")
        phases_axes.legend(loc="upper left", fontsize=8, ncol=min(len(present), 4))
    phases_axes.set_ylabel("pods")
    phases_axes.set_xlabel("seconds")
    phases_axes.grid(alpha=0.3)
    for axes in (wanted_axes, phases_axes):
        axes.set_ylim(bottom=0)
        axes.yaxis.get_major_locator().set_params(integer=True)
    if not samples:
        wanted_axes.text(0.5, 0.5, "no samples yet", transform=wanted_axes.transAxes, ha="center", gid="empty")
    fig.suptitle(title or "Desired and ready replicas over time")
    return fig


def selector_of(deployment: dict) -> str:
    """A Deployment's label selector as a string the API takes: 'app=web,tier in (front)'."""
    selector = (deployment.get("spec") or {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator in ("In", "NotIn"):
            parts.append(f"{key} {operator.lower()} ({','.join(values)})")
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def sample_of(deployment: dict | None, pods: list[dict], t: float) -> dict:
    """One sample from a Deployment (None: not there) and its pods."""
    phases: dict[str, int] = {}
    for pod in pods:
        state = states.pod_state(pod)
        phases[state] = phases.get(state, 0) + 1
    spec, status = (deployment or {}).get("spec") or {}, (deployment or {}).get("status") or {}
    return {"t": t, "desired": spec.get("replicas", 0) if deployment else 0,
            "ready": status.get("readyReplicas", 0), "phases": phases}


class Recorder:
    """Samples a Deployment and its pods over time: `sample()` once, or `start()` ... `stop()`."""

    def __init__(self, cluster, deployment: str, interval: float = 1.0, namespace: str | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.cluster = cluster
        self.deployment = deployment
        self.namespace = namespace or ""
        self.interval = interval
        self.samples: list[dict] = []
        self.error: str | None = None  # the last failure of the background thread, if any
        self._clock = clock
        self._began = clock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> dict:
        deployment = self.cluster.find("Deployment", self.deployment, self.namespace)
        selector = selector_of(deployment) if deployment else ""
        pods = self.cluster.pods(selector, self.namespace) if selector else []
        taken = sample_of(deployment, pods, round(self._clock() - self._began, 3))
        self.samples.append(taken)
        return taken

    def start(self) -> Recorder:
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=f"recorder-{self.deployment}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> list[dict]:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
            self._thread = None
        return self.samples

    def figure(self, title: str | None = None) -> Figure:
        return draw_timeline(list(self.samples), title or f"deployment {self.deployment}: desired and ready")

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.sample()
            except Exception as error:  # a thread must not die loudly; the notebook reads .error
                self.error = str(error)
            self._stopping.wait(self.interval)
