"""Leader election with a coordination.k8s.io/v1 Lease, so that two operators never act at once.

The holder renews the Lease (`renewTime`) every `renew_every` seconds; the others watch it.
As client-go's leader election does, a candidate judges expiry by its *own* clock: it remembers
when it last saw the Lease change, and takes over only after it stayed unchanged for
`leaseDurationSeconds` (the clocks of two machines need not agree). Writes carry the
resourceVersion they read, so of two candidates racing for an expired Lease exactly one wins
(the other gets 409 Conflict). A holder that could not renew for `renew_deadline` seconds stops
acting even before anyone else takes over. On a clean stop the holder releases the Lease.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

LEASE_NAME = "k8s-course-pg-operator"


def micro_time(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unix)) + f".{int(unix % 1 * 1e6):06d}Z"


@dataclass(frozen=True)
class Seen:
    """A Lease's spec as last seen, and when (this process's monotonic clock)."""

    record: tuple
    at: float


def record_of(lease: dict) -> tuple:
    spec = lease.get("spec") or {}
    return (spec.get("holderIdentity") or "", spec.get("renewTime"), spec.get("leaseTransitions"),
            spec.get("leaseDurationSeconds"))


def expired(lease: dict, seen: Seen | None, now: float) -> bool:
    """Whether another holder's Lease may be taken: released, or unchanged for its duration."""
    spec = lease.get("spec") or {}
    if not spec.get("holderIdentity"):
        return True
    if seen is None or seen.record != record_of(lease):
        return False
    return now - seen.at >= (spec.get("leaseDurationSeconds") or 15)


def lease_body(name: str, namespace: str, identity: str, duration: int, transitions: int,
               acquired: str | None, now_unix: float, resource_version: str | None = None) -> dict:
    meta: dict = {"name": name, "namespace": namespace,
                  "labels": {"app.kubernetes.io/part-of": "k8s-course"}}
    if resource_version:
        meta["resourceVersion"] = resource_version
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": identity, "leaseDurationSeconds": duration,
                     "acquireTime": acquired or micro_time(now_unix), "renewTime": micro_time(now_unix),
                     "leaseTransitions": transitions}}


class Elector:
    """One candidate: call `tick()` every `renew_every` seconds; `leading()` says if it may act."""

    def __init__(self, api_client, namespace: str, identity: str, duration: int = 15, renew_every: float = 5.0,
                 name: str = LEASE_NAME):
        from kubernetes import client

        self.api = client.CoordinationV1Api(api_client)
        self.namespace = namespace
        self.identity = identity
        self.duration = duration
        self.renew_every = renew_every
        self.renew_deadline = duration * 2 / 3  # stop acting well before anyone may take over
        self.name = name
        self._seen: Seen | None = None
        self._renewed_at: float | None = None  # monotonic: the last successful acquire or renew

    def leading(self) -> bool:
        return self._renewed_at is not None and time.monotonic() - self._renewed_at < self.renew_deadline

    def tick(self) -> bool:
        """Acquire, renew or observe the Lease once; whether this candidate leads now."""
        from kubernetes.client import ApiException

        try:
            self._tick()
        except ApiException as error:
            if error.status == 409:
                log.info("%s lost a race for the lease", self.identity)
                self._renewed_at = None
            else:
                log.warning("lease %s/%s: %s", self.namespace, self.name, error.reason)
        except Exception as error:  # the API server is away: keep leading until the deadline only
            log.warning("lease %s/%s: %s", self.namespace, self.name, error)
        return self.leading()

    def _tick(self) -> None:
        from kubernetes.client import ApiException

        now = time.monotonic()
        try:
            lease = json.loads(self.api.read_namespaced_lease(self.name, self.namespace,
                                                               _preload_content=False).data)
        except ApiException as error:
            if error.status != 404:
                raise
            self.api.create_namespaced_lease(self.namespace, lease_body(
                self.name, self.namespace, self.identity, self.duration, 0, None, time.time()),
                _preload_content=False)
            self._became_leader(now)
            return
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        if holder == self.identity:
            self._replace(lease, spec.get("leaseTransitions") or 0, spec.get("acquireTime"))
            self._renewed_at = now
            return
        self._renewed_at = None
        if not expired(lease, self._seen, now):
            if self._seen is None or self._seen.record != record_of(lease):
                self._seen = Seen(record_of(lease), now)
            return
        self._replace(lease, (spec.get("leaseTransitions") or 0) + 1, None)
        self._became_leader(now)

    def _replace(self, lease: dict, transitions: int, acquired: str | None) -> None:
        body = lease_body(self.name, self.namespace, self.identity, self.duration, transitions, acquired,
                          time.time(), lease["metadata"]["resourceVersion"])
        self.api.replace_namespaced_lease(self.name, self.namespace, body, _preload_content=False)

    def _became_leader(self, now: float) -> None:
        log.info("%s leads now (lease %s/%s)", self.identity, self.namespace, self.name)
        self._renewed_at = now
        self._seen = None

    def release(self) -> None:
        """Give the Lease up (holder cleared), so that another candidate takes over at once."""
        if self._renewed_at is None:
            return
        self._renewed_at = None
        try:
            lease = json.loads(self.api.read_namespaced_lease(self.name, self.namespace,
                                                               _preload_content=False).data)
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"]["holderIdentity"] = None
            self.api.replace_namespaced_lease(self.name, self.namespace, lease, _preload_content=False)
        except Exception as error:  # it expires by itself anyway
            log.info("could not release the lease: %s", error)
