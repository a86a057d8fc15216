"""Failover, decided: when the primary counts as failed, and the steps that replace it: pure.

The primary has failed when its pod is gone (deleted, evicted, stopped), not Ready with a
postgres that does not answer the status query either, or its postgres missed `FAILED_CHECKS`
health checks in a row (`pg_isready` through exec, one every 2 s). Then, in
order: fence the old primary by label (`role: fenced`: out of the -rw Service at once), promote
the replica with the most WAL replayed, label it primary (-rw follows), re-point the other
replicas at it (fence those that do not answer: they are re-cloned), set its synchronous
standbys, record `status.lastFailover`. Each step is re-derived from what is observed, so a
failover interrupted half-way (or a second failure while the first is still recovering)
continues from where the cluster really is.
"""

from __future__ import annotations

from . import actions, resources
from .database import choose_candidate
from .members import Member, Observed

FAILED_CHECKS = 2


def primary_failure(seen: Observed) -> str | None:
    """Why the recorded primary counts as failed, or None while it is fine (or not yet there)."""
    primary = seen.status.get("primary")
    if not primary:
        return None  # not bootstrapped yet: nothing to fail over from
    member = seen.members.get(primary)
    if member is None or member.pod is None:
        return f"the pod of primary {primary} is gone"
    if member.role == resources.FENCED:
        return f"primary {primary} is fenced"
    if member.gone:
        return f"the pod of primary {primary} is being deleted" if member.deleting else \
            f"the pod of primary {primary} has stopped ({member.pod.get('status', {}).get('phase')})"
    if not member.ready and member.db is None:
        # the kubelet's readiness alone is not enough (a slow probe, a restart of the probe's
        # own exec): our own status query must fail too
        return f"the pod of primary {primary} is not Ready and its postgres does not answer"
    if seen.failed_checks >= FAILED_CHECKS:
        return f"postgres on {primary} did not answer {seen.failed_checks} health checks in a row"
    return None


def replicas(seen: Observed, excluding: str) -> list[Member]:
    return [m for m in seen.members.values()
            if m.name != excluding and m.role == resources.REPLICA and not m.gone and m.cloned]


def plan(seen: Observed, why: str, synchronous: bool) -> list[actions.Action]:
    """The steps that move the cluster from its failed primary to a new one."""
    cluster = seen.name
    former = seen.status["primary"]
    old = seen.members.get(former)
    steps: list[actions.Action] = []
    if seen.status.get("failingOver") != former:
        steps.append(actions.Notice("PrimaryFailed", f"{why}: failing over"))
    standing = replicas(seen, former)
    promoted = [m for m in standing if m.db is not None and not m.db.in_recovery]
    if promoted:  # a promotion already happened (an interrupted failover): carry on from it
        chosen = max(promoted, key=lambda m: (m.db.timeline, m.db.lsn)).name
    else:
        chosen = choose_candidate({m.name: m.db for m in standing if m.db is not None})
    if chosen is None:
        return steps + _without_candidate(seen, former, old)
    if old is not None and old.pod is not None and old.role != resources.FENCED:
        steps.append(actions.Fence(former, why))
    if old is not None and old.deleting and old.db is not None and not old.db.in_recovery:
        # a deleted primary is still shutting down: its last WAL may still be on its way to the
        # replicas, so wait until it has stopped before promoting (it is fenced already)
        return steps
    if not promoted:
        steps.append(actions.Promote(chosen, former))
    steps.append(actions.Relabel(chosen, resources.PRIMARY, resources.rw_service(cluster)))
    others = [m for m in standing if m.name != chosen and m.db is not None]
    host = resources.member_host(cluster, chosen)
    steps += [actions.Follow(m.name, chosen, host) for m in others]
    # a replica that does not answer now (its floor is dark) cannot be re-pointed: when it comes
    # back it would still follow the old primary, maybe with WAL the new one never had, and
    # stream from no one. Fenced, it is re-cloned from the new primary instead.
    steps += [actions.Fence(m.name, f"it did not answer during the failover from {former}")
              for m in standing if m.name != chosen and m.db is None]
    names = tuple(sorted(m.name for m in others)) if synchronous else ()
    steps.append(actions.SetSynchronous(chosen, names))
    steps.append(actions.RecordFailover(former, chosen, why, seen.failing_since or seen.now))
    return steps


def _without_candidate(seen: Observed, former: str, old: Member | None) -> list[actions.Action]:
    """No replica can take over. A lone primary whose pod is gone comes back on its own PVC (the
    data is there); one fenced by an earlier, unfinished failover gets its label back."""
    version = seen.cr.get("spec", {}).get("version", "16.4")
    if old is not None and old.pod is None and old.has_claim:
        return [actions.RecreatePod(former, resources.PRIMARY, version, bootstrap=True,
                                    cloned_from=old.cloned_from or "initdb")]
    if old is not None and old.role == resources.FENCED and not old.gone and old.db is not None \
            and not old.db.in_recovery:
        return [actions.Relabel(former, resources.PRIMARY, resources.rw_service(seen.name))]
    return [actions.Notice("NoFailoverCandidate",
                           f"no streaming replica can replace {former}; waiting for it to come back")]
