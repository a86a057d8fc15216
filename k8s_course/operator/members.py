"""What the operator sees of a cluster: its members and their health, from plain dicts: pure.

A member is a serial's pod and PVC together (either may be missing) plus what its database
said (`database.MemberStatus`: in recovery or not, the WAL position, the timeline; None when it did not
answer). `Observed` is everything one reconcile knows; `observed(...)` builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import resources
from .database import MemberStatus, ReplicaState


@dataclass(frozen=True)
class Member:
    name: str
    serial: int
    pod: dict | None = field(default=None, hash=False, compare=False)
    claim: dict | None = field(default=None, hash=False, compare=False)
    db: MemberStatus | None = field(default=None, hash=False, compare=False)

    @property
    def role(self) -> str | None:
        return _labels(self.pod).get(resources.ROLE_LABEL)

    @property
    def version(self) -> str | None:
        if not self.pod:
            return None
        containers = self.pod.get("spec", {}).get("containers") or [{}]
        return resources.version_of_image(containers[0].get("image", ""))

    @property
    def gone(self) -> bool:
        """No pod that can serve: none, being deleted, or finished (evicted, failed)."""
        if self.pod is None:
            return True
        return bool(self.pod["metadata"].get("deletionTimestamp")) or \
            self.pod.get("status", {}).get("phase") in ("Failed", "Succeeded")

    @property
    def deleting(self) -> bool:
        return self.pod is not None and bool(self.pod["metadata"].get("deletionTimestamp"))

    @property
    def running(self) -> bool:
        return not self.gone and self.pod.get("status", {}).get("phase") == "Running"

    @property
    def ready(self) -> bool:
        if self.gone:
            return False
        conditions = self.pod.get("status", {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    @property
    def cloned_from(self) -> str | None:
        return (self.pod or {}).get("metadata", {}).get("annotations", {}).get(resources.CLONED_FROM)

    @property
    def cloned(self) -> bool:
        """Its data directory holds a copy of a primary's (or its own initdb's)."""
        return self.cloned_from not in (None, resources.CLONE_FAILED)

    @property
    def upgrading_to(self) -> str | None:
        if self.claim is None or self.claim["metadata"].get("deletionTimestamp"):
            return None
        return (self.claim["metadata"].get("annotations") or {}).get(resources.UPGRADING_TO)

    @property
    def has_claim(self) -> bool:
        return self.claim is not None and not self.claim["metadata"].get("deletionTimestamp")


@dataclass
class Observed:
    cr: dict
    members: dict[str, Member]
    existing: set[str]  # "Kind/name" of the cluster's other objects (Services, ConfigMap, ...)
    replication: list[ReplicaState] | None = None  # None: the primary did not answer
    failed_checks: int = 0  # consecutive failed health checks of the primary
    failing_since: float | None = None  # unix seconds: when a failure of the primary was first seen
    backup_job: dict | None = None
    now: float = 0.0

    @property
    def name(self) -> str:
        return self.cr["metadata"]["name"]

    @property
    def status(self) -> dict:
        return self.cr.get("status") or {}

    def streaming(self) -> set[str]:
        return {row.name for row in self.replication or [] if row.state == "streaming"}

    def live(self) -> list[Member]:
        """Members that count towards spec.replicas: neither fenced nor gone for good."""
        return sorted((m for m in self.members.values()
                       if m.role != resources.FENCED and (not m.gone or m.upgrading_to)),
                      key=lambda m: m.serial)


def _labels(obj: dict | None) -> dict:
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def observed(cr: dict, pods: list[dict], claims: list[dict], statuses: dict[str, MemberStatus | None],
             existing: set[str], replication: list[ReplicaState] | None = None, **rest) -> Observed:
    """Group the cluster's pods and PVCs by member; objects of other clusters are ignored."""
    cluster = cr["metadata"]["name"]
    found: dict[str, dict] = {}
    for pod in pods:
        member = _labels(pod).get(resources.MEMBER_LABEL, "")
        if _labels(pod).get(resources.CLUSTER_LABEL) == cluster and resources.serial_of(cluster, member):
            found.setdefault(member, {})["pod"] = pod
    for claim in claims:
        member = _labels(claim).get(resources.MEMBER_LABEL, "")
        if _labels(claim).get(resources.CLUSTER_LABEL) == cluster and resources.serial_of(cluster, member):
            found.setdefault(member, {})["claim"] = claim
    members = {name: Member(name, resources.serial_of(cluster, name), parts.get("pod"), parts.get("claim"),
                            statuses.get(name))
               for name, parts in found.items()}
    return Observed(cr, members, existing, replication, **rest)
