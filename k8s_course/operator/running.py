"""The operator's loop: leader election, watches, health checks and one reconcile at a time.

    operator = Operator(api_client).start()   # a background thread (a notebook's kernel)
    ...
    operator.stop()

or `Operator(api_client).run_forever()` in the foreground (`python -m k8s_course.operator`).

Level-triggered: a watch event (a PostgresCluster, or a pod or PVC the operator manages) only
says *which* cluster to look at; the reconcile then looks at the whole cluster as it is. A
resync every `resync_every` seconds looks at every cluster anyway, so a missed event costs a
delay, never a wrong state. Every `health_every` seconds the primary of each cluster is asked
`pg_isready`; two failures in a row trigger a reconcile that fails over. Only the holder of the
leader Lease reconciles; the watches of a follower only keep its queue warm.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from . import (
    acting,
    actions,
    events,
    failover,
    kube,
    leadership,
    observing,
    planning,
    resources,
    specs,
    statuses,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timings:
    """Seconds. The defaults are the chapter's; tests shorten them."""

    lease_duration: int = 15
    renew_every: float = 5.0
    health_every: float = 2.0
    resync_every: float = 30.0
    watch_timeout: int = 60  # a watch is re-opened after this, so a stopped operator's end is bounded
    settle: float = 1.0  # look again this soon while a cluster is not yet Running


def _default_databases(api_client) -> Callable[[str], object]:
    """The contract's Database over PodExec, on an ApiClient of its own: the client's exec
    (`kubernetes.stream.stream`) swaps the request method of the ApiClient it runs on while the
    websocket is open, so any other call on that client meanwhile (a watch, a status write, a
    notebook's own call) would go out as a websocket handshake and fail."""
    from kubernetes import client

    from .database import Database
    from .transports import PodExec

    exec_client = client.ApiClient(api_client.configuration)
    return lambda namespace: Database(PodExec(exec_client, namespace))


class Operator:
    def __init__(self, api_client, namespace: str | None = None, *, databases: Callable[[str], object] | None = None,
                 identity: str | None = None, timings: Timings = Timings(), lease_namespace: str | None = None,
                 listener: Callable[[dict, actions.Action, str], None] | None = None):
        """`namespace`: the one to manage (None: all). `databases(namespace)` gives the Database
        for a namespace's members (default: the contract's Database over PodExec)."""
        self.api_client = api_client
        self.namespace = namespace
        self.identity = identity or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"
        self.timings = timings
        self.listener = listener
        self.kube = kube.Kube(api_client)
        self.recorder = events.Recorder(self.kube.core, self.identity)
        self.elector = leadership.Elector(api_client, lease_namespace or namespace or "default", self.identity,
                                          timings.lease_duration, timings.renew_every)
        self._databases = databases or _default_databases(api_client)
        self._database_cache: dict[str, object] = {}
        self._queue: queue.Queue = queue.Queue()
        self._pending: set[tuple[str, str]] = set()
        self._later: dict[tuple[str, str], float] = {}  # key -> monotonic time of a requeue
        self._primaries: dict[tuple[str, str], str] = {}  # what the health checks ask
        self._failed_checks: dict[tuple[str, str], int] = {}
        self._failing_since: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._watches: list = []
        self._release_on_stop = True
        self.reconciles = 0  # how many reconciles this operator ran (tests read it)

    # lifecycle

    def start(self) -> Operator:
        """Run in a background thread (e.g. in a notebook's kernel)."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self.run_forever, name=f"pg-operator-{self.identity}",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0, release: bool = True) -> None:
        """Stop the loop and its watches. `release=False` leaves the Lease to expire, as a
        crashed operator would (the other copy takes over after leaseDurationSeconds)."""
        self._release_on_stop = release
        self._stopping.set()
        self._queue.put(None)  # wake the loop
        for watch in list(self._watches):
            _close(watch)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    @property
    def leading(self) -> bool:
        return self.elector.leading()

    def run_forever(self) -> None:
        """Elect, watch, check and reconcile until `stop()` (or Ctrl-C)."""
        watchers = [threading.Thread(target=self._watch, args=(kind,), daemon=True, name=f"pg-operator-watch-{kind}")
                    for kind in ("clusters", "pods", "claims")]
        for thread in watchers:
            thread.start()
        next_lease = next_health = next_resync = 0.0
        was_leading = False
        try:
            while not self._stopping.is_set():
                now = time.monotonic()
                if now >= next_lease:
                    leading = self.elector.tick()
                    next_lease = now + self.timings.renew_every
                    if leading and not was_leading:
                        next_resync = 0.0  # a new leader looks at everything first
                    was_leading = leading
                if not self.elector.leading():
                    self._stopping.wait(min(0.2, max(0.0, next_lease - time.monotonic())))
                    continue
                if now >= next_resync:
                    self._resync()
                    next_resync = now + self.timings.resync_every
                if now >= next_health:
                    self._check_health()
                    next_health = time.monotonic() + self.timings.health_every
                self._release_due()
                wait = max(0.01, min(next_lease, next_health, next_resync, self._next_due()) - time.monotonic())
                try:
                    key = self._queue.get(timeout=wait)
                except queue.Empty:
                    continue
                if key is None:
                    continue
                with self._lock:
                    self._pending.discard(key)
                self._safely_reconcile(key)
        finally:
            for watch in list(self._watches):
                _close(watch)
            if self._release_on_stop:
                self.elector.release()

    # queueing

    def enqueue(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)
        self._queue.put(key)

    def _later_by(self, key: tuple[str, str], seconds: float) -> None:
        with self._lock:
            due = time.monotonic() + seconds
            self._later[key] = min(due, self._later.get(key, due))

    def _next_due(self) -> float:
        with self._lock:
            return min(self._later.values(), default=time.monotonic() + 3600)

    def _release_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [key for key, when in self._later.items() if when <= now]
            for key in due:
                del self._later[key]
        for key in due:
            self.enqueue(*key)

    def _resync(self) -> None:
        try:
            for cr in self.kube.clusters(self.namespace):
                self.enqueue(cr["metadata"]["namespace"], cr["metadata"]["name"])
        except Exception as error:  # no CRD yet, or the API away: the next resync tries again
            log.info("resync: %s", error)

    # watches: they only say which cluster to look at

    def _watch(self, kind: str) -> None:
        from kubernetes import watch

        while not self._stopping.is_set():
            stream = watch.Watch()
            self._watches.append(stream)
            try:
                for event in stream.stream(*self._lister(kind), timeout_seconds=self.timings.watch_timeout,
                                           deserialize=False):
                    if self._stopping.is_set():
                        break
                    obj = event.get("raw_object") or event.get("object") or {}  # deserialize=False: "object"
                    meta = obj.get("metadata") or {}
                    name = meta.get("name") if kind == "clusters" else (meta.get("labels") or {}).get(
                        resources.CLUSTER_LABEL)
                    if name and meta.get("namespace"):
                        self.enqueue(meta["namespace"], name)
            except Exception as error:  # no CRD yet, a dropped connection: watch again shortly
                if not self._stopping.is_set():
                    log.debug("watch of %s: %s", kind, error)
                    self._stopping.wait(1.0)
            finally:
                if stream in self._watches:
                    self._watches.remove(stream)

    def _lister(self, kind: str) -> tuple:
        core, custom, ns = self.kube.core, self.kube.custom, self.namespace
        managed = {"label_selector": resources.MANAGED_SELECTOR}
        if kind == "clusters":
            if ns:
                return (custom.list_namespaced_custom_object, resources.GROUP, resources.VERSION, ns, resources.PLURAL)
            return (custom.list_cluster_custom_object, resources.GROUP, resources.VERSION, resources.PLURAL)
        if kind == "pods":
            return (_with(core.list_namespaced_pod, ns, **managed) if ns
                    else _with(core.list_pod_for_all_namespaces, **managed),)
        return (_with(core.list_namespaced_persistent_volume_claim, ns, **managed) if ns
                else _with(core.list_persistent_volume_claim_for_all_namespaces, **managed),)

    # health checks of the primaries

    def _check_health(self) -> None:
        for key, primary in list(self._primaries.items()):
            if self._stopping.is_set() or not self.elector.leading():
                return
            answer = observing.ask(self._database(key[0]).ready, primary)
            healthy = answer is not None and answer is not False
            count = 0 if healthy else self._failed_checks.get(key, 0) + 1
            self._failed_checks[key] = count
            if count >= failover.FAILED_CHECKS:
                log.warning("%s/%s: primary %s failed %d health checks", *key, primary, count)
                self.enqueue(*key)

    def _database(self, namespace: str):
        if namespace not in self._database_cache:
            self._database_cache[namespace] = self._databases(namespace)
        return self._database_cache[namespace]

    # reconciling

    def _safely_reconcile(self, key: tuple[str, str]) -> None:
        try:
            self.reconcile(*key)
        except Exception:  # one cluster's trouble never stops the loop: look again later
            log.exception("reconcile of %s/%s failed", *key)
            self._later_by(key, max(self.timings.settle, 2.0))

    def reconcile(self, namespace: str, name: str) -> None:
        """Look at one PostgresCluster and take the next steps towards its spec."""
        key = (namespace, name)
        self.reconciles += 1
        cr = self.kube.cluster(namespace, name)
        if cr is None:
            self._forget(key)
            return
        database = self._database(namespace)
        seen = observing.observe(self.kube, database, cr, self._failed_checks.get(key, 0),
                                 self._failing_since.get(key))
        why = failover.primary_failure(seen)
        if why is None:
            self._failing_since.pop(key, None)
        else:
            seen.failing_since = self._failing_since.setdefault(key, time.time())
        problem = None
        try:
            steps = planning.plan(seen, getattr(database, "backup_command", planning.default_backup_command))
        except specs.Malformed as malformed:
            problem = (malformed.reason, malformed.message)
            reported = next((c for c in seen.status.get("conditions") or [] if c.get("type") == "Ready"), {})
            steps = [] if reported.get("reason") == malformed.reason else [
                actions.Notice(malformed.reason, f"cannot act on this PostgresCluster: {malformed.message}")]
        log.debug("reconcile %s/%s: %s", namespace, name, ", ".join(step.reason for step in steps) or "nothing to do")
        executor = acting.Executor(self.kube, database, self.recorder, cr, self.elector.leading, self.listener)
        updates, succeeded = executor.run(steps)
        if any(isinstance(step, actions.RemoveFinalizer) for step in steps) and succeeded:
            self._forget(key)
            return
        if "primary" in updates:
            self._failed_checks.pop(key, None)
            self._failing_since.pop(key, None)
            why = None
        status = statuses.compute(seen, updates, failure=why, problem=problem)
        self._write_status(cr, status)
        if status.get("primary") and not cr["metadata"].get("deletionTimestamp"):
            self._primaries[key] = status["primary"]
        if steps and not all(isinstance(step, actions.Notice) for step in steps):
            self._later_by(key, 0.05 if succeeded else self.timings.settle)
        elif status["phase"] not in ("Running", "Failed"):
            self._later_by(key, self.timings.settle)  # replication is not watched: look again soon

    def _write_status(self, cr: dict, status: dict) -> None:
        old = cr.get("status") or {}
        if _comparable(old) == _comparable(status):
            return
        patch = {**status, **{key: None for key in old if key not in status}}
        if self.elector.leading():
            self.kube.patch_cluster_status(cr["metadata"]["namespace"], cr["metadata"]["name"], patch)

    def _forget(self, key: tuple[str, str]) -> None:
        for memory in (self._primaries, self._failed_checks, self._failing_since):
            memory.pop(key, None)


def _comparable(status: dict) -> dict:
    """A status without the times that change on every write."""
    copy = dict(status)
    copy["conditions"] = [{k: v for k, v in c.items() if k != "lastTransitionTime"}
                          for c in status.get("conditions") or []]
    return copy


def _with(function, *args, **kwargs):
    """A lister with its arguments bound, keeping the name the watch reads its return type from."""
    def bound(**more):
        return function(*args, **kwargs, **more)
    bound.__doc__ = function.__doc__
    bound.__name__ = function.__name__
    return bound


def _close(stream) -> None:
    """End a watch now: stop it and close its open response, which unblocks its reader."""
    stream.stop()
    response = getattr(stream, "_resp", None)  # the client keeps the response only here
    if response is not None:
        try:
            response.close()
        except Exception:
            pass
