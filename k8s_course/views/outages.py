"""Outages, measured: the write-load generator's log and the members' roles, as plain data.

The chapter-3 writer prints one line per attempt, flushed:

    ack <id> <unix seconds>
    fail <id> <unix seconds> <reason in one line>

`parse_writer_log(text)` reads those lines into `Attempt`s (anything else, e.g. a start-up
message, is skipped). `measure(attempts, present_ids)` turns them into a `FailoverResult`:

- the **outage** is the longest stretch between two acknowledged writes in which at least one
  write failed: from the last acknowledged write before the first failure to the first
  acknowledged write after it ("last write before to first write after"). While no write has
  been acknowledged since, the outage is still going on and runs to the newest failure.
- **writes lost** are the ids that were acknowledged but are not in the table afterwards
  (`present_ids`, e.g. from `SELECT id FROM writes`); a write that failed was never promised,
  so it is not lost even when it is missing. The writer goes on while the table is read, so
  only ids up to the largest one read are judged (later acks came after the read).

`RoleRecorder` keeps snapshots `(t, {member: role})` of who was what, and turns them into lanes:
one list of `(start, end, role)` segments per member, for the failover timeline's picture.
`roles_of(pods)` reads such a snapshot from the members' pods (their `k8s-course.dev/member`
and `k8s-course.dev/role` labels). Nothing here talks to a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MEMBER_LABEL = "k8s-course.dev/member"
ROLE_LABEL = "k8s-course.dev/role"
CLUSTER_LABEL = "k8s-course.dev/cluster"

# the roles a lane can show; a pod with no role label yet is "unlabelled"
ROLES = ("primary", "replica", "fenced", "unlabelled", "gone")


@dataclass(frozen=True)
class Attempt:
    """One write the writer tried: its id, when it ended (unix seconds), and how."""

    id: int
    t: float
    acked: bool
    reason: str = ""  # why it failed; empty for an acknowledged write


@dataclass(frozen=True)
class FailoverResult:
    """What a failover cost the writer. Times are the writer's unix seconds; None: did not happen."""

    outage_seconds: float
    writes_lost: int | None  # None: the table was not read, so nobody knows yet
    acked: int
    failed: int
    first_failure: float | None
    first_ack_after: float | None  # None while the outage goes on
    last_ack_before: float | None = None
    lost_ids: tuple[int, ...] = ()

    @property
    def ongoing(self) -> bool:
        return self.first_failure is not None and self.first_ack_after is None

    def summary(self) -> str:
        """'outage 3.2 s, 0 writes lost', as the failover picture's title says it."""
        if self.first_failure is None:
            outage = "no outage"
        else:
            outage = f"outage {self.outage_seconds:.1f} s" + (" and counting" if self.ongoing else "")
        if self.writes_lost is None:
            return f"{outage}, writes lost not counted yet"
        return f"{outage}, {self.writes_lost} write{'' if self.writes_lost == 1 else 's'} lost"


_LINE = re.compile(r"^(ack|fail)\s+(\d+)\s+(\d+(?:\.\d+)?)(?:\s+(.*))?$")


def parse_writer_log(text: str) -> list[Attempt]:
    """The writer's `ack`/`fail` lines as Attempts, in the order they were written."""
    attempts = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue  # start-up messages, a line cut off by a restart
        verb, number, seconds, reason = match.groups()
        acked = verb == "ack"
        attempts.append(Attempt(int(number), float(seconds), acked, "" if acked else (reason or "").strip()))
    return attempts


def measure(attempts: Iterable[Attempt], present_ids: Iterable[int] | None = None) -> FailoverResult:
    """The outage and the writes lost (see the module's docstring for both definitions)."""
    ordered = sorted(attempts, key=lambda a: (a.t, a.id))
    acked = [a for a in ordered if a.acked]
    failed = [a for a in ordered if not a.acked]
    best: tuple[float, float | None, float, float | None] | None = None  # (length, before, first fail, after)
    last_ack: float | None = None
    gap_failure: float | None = None  # the first failure since the last ack
    for attempt in ordered:
        if attempt.acked:
            if gap_failure is not None:
                best = _longer(best, (attempt.t - _start(last_ack, gap_failure), last_ack, gap_failure, attempt.t))
                gap_failure = None
            last_ack = attempt.t
        elif gap_failure is None:
            gap_failure = attempt.t
    if gap_failure is not None:  # still failing: the outage runs to the newest failure
        best = _longer(best, (ordered[-1].t - _start(last_ack, gap_failure), last_ack, gap_failure, None))
    lost: tuple[int, ...] = ()
    writes_lost = None
    if present_ids is not None:
        present = set(present_ids)
        # The writer goes on while the table is read: its acks after that read have larger ids
        # than every row the read saw (one writer, ids in order), and are not lost. So only ids up
        # to the largest one read count. Read the table once writes succeed again after the
        # failover: a write lost in it then has a smaller id than the first one after.
        newest_read = max(present, default=0)
        lost = tuple(sorted({a.id for a in acked if a.id <= newest_read} - present))
        writes_lost = len(lost)
    if best is None:
        return FailoverResult(0.0, writes_lost, len(acked), len(failed), None, None, None, lost)
    length, before, first_failure, after = best
    return FailoverResult(round(length, 3), writes_lost, len(acked), len(failed), first_failure, after, before, lost)


def _start(last_ack: float | None, first_failure: float) -> float:
    """An outage starts at the last acknowledged write; with none before it, at the first failure."""
    return last_ack if last_ack is not None else first_failure


def _longer(best, candidate):
    return candidate if best is None or candidate[0] > best[0] else best


def writes_per_second(attempts: Iterable[Attempt], origin: float) -> tuple[list[float], list[int], list[int]]:
    """(second, acked in it, failed in it) for every whole second from `origin` to the last attempt."""
    attempts = list(attempts)
    if not attempts:
        return [], [], []
    last = int(max(a.t for a in attempts) - origin)
    seconds = [float(s) for s in range(0, last + 1)]
    acked, failed = [0] * len(seconds), [0] * len(seconds)
    for attempt in attempts:
        index = int(attempt.t - origin)
        if 0 <= index < len(seconds):
            (acked if attempt.acked else failed)[index] += 1
    return seconds, acked, failed


# roles over time

def member_of(pod: dict) -> str:
    meta = pod.get("metadata") or {}
    return (meta.get("labels") or {}).get(MEMBER_LABEL) or meta.get("name", "")


def role_of(pod: dict) -> str:
    """primary / replica / fenced from the pod's role label; a pod being deleted is already gone."""
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return "gone"
    role = (meta.get("labels") or {}).get(ROLE_LABEL) or "unlabelled"
    return role if role in ROLES else "unlabelled"


def roles_of(pods: Iterable[dict]) -> dict[str, str]:
    """{member: role} of a PostgresCluster's pods, as one snapshot."""
    return {member_of(pod): role_of(pod) for pod in pods}


def member_order(name: str) -> tuple:
    """pg-2 before pg-10: the serial compared as a number."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


@dataclass
class RoleRecorder:
    """Snapshots of who was what, `record(t, {member: role})` at a time, turned into lanes."""

    snapshots: list[tuple[float, dict[str, str]]] = field(default_factory=list)

    def record(self, t: float, roles: dict[str, str]) -> None:
        self.snapshots.append((float(t), dict(roles)))

    def lanes(self, until: float | None = None) -> dict[str, list[tuple[float, float, str]]]:
        return lanes_of(self.snapshots, until)


def lanes_of(snapshots: list[tuple[float, dict[str, str]]],
             until: float | None = None) -> dict[str, list[tuple[float, float, str]]]:
    """{member: [(start, end, role), ...]}, members in serial order.

    A role holds from its snapshot to the next one (the last one to `until`, default the last
    snapshot's time); a member missing from a snapshot after it was seen is "gone" there.
    Adjacent segments with the same role are one segment.
    """
    ordered = sorted(snapshots, key=lambda s: s[0])
    if not ordered:
        return {}
    end_of_time = ordered[-1][0] if until is None else max(until, ordered[-1][0])
    members = sorted({m for _, roles in ordered for m in roles}, key=member_order)
    lanes: dict[str, list[tuple[float, float, str]]] = {m: [] for m in members}
    for index, (t, roles) in enumerate(ordered):
        end = ordered[index + 1][0] if index + 1 < len(ordered) else end_of_time
        for member in members:
            lane = lanes[member]
            role = roles.get(member)
            if role is None:
                if not lane:
                    continue  # not born yet
                role = "gone"
            if lane and lane[-1][2] == role and lane[-1][1] == t:
                lane[-1] = (lane[-1][0], end, role)
            else:
                lane.append((t, end, role))
    return lanes
