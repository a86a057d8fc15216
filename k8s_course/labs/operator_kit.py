"""The operator lab's runner: calls your `reconcile(cluster, website)` for every Website, again and again.

    from k8s_course.labs import operator_kit
    runner = operator_kit.run(cluster, reconcile)   # reconciles once now, then every 2 s
    runner.errors                                   # what your reconcile raised, newest last
    runner.stop()

It is level-triggered, and it has no watches: every `resync` seconds it lists all the Websites
and calls `reconcile` for each, whether anything changed or not. A watch would only say *when*
to look; a good reconcile reads what it needs fresh each time, so looking regularly finds every
change too, a little later, and nothing is lost when an event is missed or the runner restarts.
Real operators (kopf, controller-runtime) add watches to react at once, and keep a resync as
well, for the same reason.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from pathlib import Path

GROUP = "labs.k8s-course.dev"
API_VERSION = f"{GROUP}/v1"
KIND = "Website"
KEPT_ERRORS = 20  # the newest; a reconcile that fails every round would otherwise fill memory
COURSE_CODE = str(Path(__file__).resolve().parents[1])


def owner_reference(website: dict) -> dict:
    """What to put in `metadata.ownerReferences` of an object the Website owns: when the Website
    is deleted, Kubernetes' garbage collector deletes the object too."""
    return {"apiVersion": API_VERSION, "kind": KIND, "name": website["metadata"]["name"],
            "uid": website["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


class Runner:
    """A background thread that reconciles every Website of one namespace every `resync` seconds."""

    def __init__(self, cluster, reconcile: Callable[[object, dict], object], resync: float = 2.0):
        self.cluster = _own_connection(cluster)
        self.reconcile = reconcile
        self.resync = resync
        self.rounds = 0
        self.errors: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="website-operator", daemon=True)

    def reconcile_all(self) -> None:
        """One round: list the Websites, reconcile each; a failure is recorded, never raised."""
        try:
            websites = self.cluster.list(KIND)
        except Exception as error:  # the cluster may be restarting: try again next round
            self._record("listing the Websites", error)
            return
        for website in websites:
            try:
                self.reconcile(self.cluster, website)
            except Exception as error:  # one broken Website must not stop the others, nor the thread
                self._record(f"Website {website['metadata']['name']}", error)
        self.rounds += 1

    def start(self) -> Runner:
        """Reconcile once now (its errors show at once), then keep going in the background."""
        self.reconcile_all()
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stopping.wait(self.resync):
            self.reconcile_all()

    def _record(self, what: str, error: Exception) -> None:
        self.errors.append(f"{what}{_where(error)}: {type(error).__name__}: {error}")
        del self.errors[:-KEPT_ERRORS]

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 30) -> None:
        """Stop after the current round (if any) and wait for the thread to end."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.cluster.api_client.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        text = (f"<Runner {state}: {_count(self.rounds, 'round')} every {self.resync:g} s, "
                f"{_count(len(self.errors), 'error')}")
        return text + (f"; the last: {self.errors[-1]}>" if self.errors else ">")


def run(cluster, reconcile: Callable[[object, dict], object], resync: float = 2.0) -> Runner:
    """Reconcile every Website of `cluster`'s namespace once now, then every `resync` seconds in
    the background, until `runner.stop()`."""
    return Runner(cluster, reconcile, resync).start()


def _own_connection(cluster):
    """The same cluster and namespace over a client of its own: the notebook goes on using
    `cluster` while the thread runs, and the two should not share one client's caches."""
    from kubernetes import client

    return type(cluster)(cluster.backend, client.ApiClient(cluster.api_client.configuration), cluster.namespace)


def _where(error: Exception) -> str:
    """The innermost line of the learner's code that the error passed through, not the client's."""
    theirs = [frame for frame in traceback.extract_tb(error.__traceback__)
              if not frame.filename.startswith(COURSE_CODE) and "-packages" not in frame.filename]
    return f" (in {theirs[-1].name}, line {theirs[-1].lineno})" if theirs else ""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
