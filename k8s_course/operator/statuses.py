"""The PostgresCluster's status, computed from what a reconcile saw and did: pure.

`compute(...)` gives the whole status: phase, primary, replicas and readyReplicas, the members
(role, readiness, version, WAL position), observedGeneration, the Ready condition, the label
selector the scale subresource needs, and the operator's memory that lives there (the last
serial used, the synchronous standbys set on the primary, the last failover).
"""

from __future__ import annotations

import time

from . import resources, upgrading
from .members import Member, Observed


def lsn_text(lsn: int | None) -> str | None:
    """An LSN as PostgreSQL prints it: the high and low 32 bits in hex, `0/3000148`."""
    if lsn is None:
        return None
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def timestamp(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


def member_state(seen: Observed, member: Member, primary: str | None) -> str:
    if member.role == resources.FENCED:
        return "fenced"
    if member.gone:
        return "upgrading" if member.upgrading_to else "gone"
    if member.name == primary:
        return "primary" if member.db is not None else "unreachable"
    if member.cloned_from == resources.CLONE_FAILED:
        return "clone failed"
    if not member.cloned:
        return "waiting to be cloned" if member.running else "starting"
    return "streaming" if member.name in seen.streaming() else "joining"


def compute(seen: Observed, updates: dict, *, failure: str | None = None, problem: tuple[str, str] | None = None
            ) -> dict:
    """`updates`: what this reconcile's actions changed; `failure`: why the primary counts as failed;
    `problem`: (reason, message) of a spec the operator cannot act on."""
    old = seen.status
    cr = seen.cr
    status: dict = {key: old[key] for key in ("lastSerial", "synchronousStandbys", "synchronousOn",
                                                 "lastFailover", "primary") if old.get(key) is not None}
    status.update({k: v for k, v in updates.items() if v is not None})
    if not status.get("primary"):
        from .planning import current_primary  # bootstrap: the first primary that answers

        found = current_primary(seen)
        if found is not None:
            status["primary"] = found.name
    primary = status.get("primary")
    live = seen.live()
    status["replicas"] = len(live)
    status["readyReplicas"] = sum(1 for m in live if m.ready)
    status["selector"] = f"{resources.CLUSTER_LABEL}={seen.name}"
    status["observedGeneration"] = cr["metadata"].get("generation", 0)
    if primary in seen.members and seen.members[primary].version:
        status["version"] = seen.members[primary].version
    status["members"] = [{"name": m.name, "role": m.role or "", "state": member_state(seen, m, primary),
                          "ready": m.ready, "version": m.version or "",
                          **({"lsn": lsn_text(m.db.lsn), "timeline": m.db.timeline} if m.db is not None else {})}
                         for m in sorted(seen.members.values(), key=lambda m: m.serial)]
    if failure is not None and "primary" not in updates:
        status["failingOver"] = old.get("primary")
    phase, reason, message = _phase(seen, status, failure, problem)
    status["phase"] = phase
    status["conditions"] = [_condition(old, "Ready", phase == "Running", reason, message, seen.now)]
    return status


def _phase(seen: Observed, status: dict, failure: str | None, problem) -> tuple[str, str, str]:
    spec = seen.cr.get("spec") or {}
    if problem is not None:
        return "Failed", problem[0], problem[1]
    if seen.cr["metadata"].get("deletionTimestamp"):
        return "Deleting", "Deleting", "the members are being removed"
    if failure is not None and status.get("failingOver"):
        return "FailingOver", "PrimaryFailed", failure
    if not status.get("primary"):
        return "Creating", "Bootstrapping", "the first member runs initdb"
    live = seen.live()
    streaming = seen.streaming()
    lagging = [m.name for m in live if m.name != status["primary"] and m.name not in streaming]
    if upgrading.needed(seen, spec.get("version", "16.4")):
        return "Upgrading", "Upgrading", f"rolling upgrade to postgres {spec.get('version')}"
    if len(live) != spec.get("replicas", 3):
        return "Scaling", "Scaling", f"{len(live)} members, {spec.get('replicas', 3)} wanted"
    if lagging:
        creating = seen.status.get("phase") in (None, "", "Creating")
        return ("Creating" if creating else "Degraded", "ReplicasNotStreaming",
                f"not streaming yet: {', '.join(lagging)}")
    return "Running", "AllMembersStreaming", f"{status['primary']} is the primary; every replica streams"


def _condition(old: dict, kind: str, true: bool, reason: str, message: str, now: float) -> dict:
    value = "True" if true else "False"
    before = next((c for c in old.get("conditions") or [] if c.get("type") == kind), None)
    since = before["lastTransitionTime"] if before and before.get("status") == value else timestamp(now)
    return {"type": kind, "status": value, "reason": reason, "message": message, "lastTransitionTime": since}
