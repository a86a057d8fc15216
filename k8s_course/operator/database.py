"""The database steps of the operator: who is primary, WAL positions, promote, re-point, clone.

Each step is one command line run on a member through a transport (`transports.PodExec` into
its pod, or `transports.LocalProcesses` in the real-database tests), with exactly the argv and
SQL of the chapter's contract, so that the simulator's postgres model can answer the same
strings. Every failure raises `DatabaseError`, which names the member, the argv and what the
program said.

`choose_candidate` is the pure failover decision: the reachable standby that has replayed the
most WAL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import transports

__all__ = [
    "Database",
    "DatabaseError",
    "MemberStatus",
    "PGDATA",
    "PSQL",
    "ReplicaState",
    "STATUS_SQL",
    "choose_candidate",
    "conninfo",
    "format_lsn",
    "lsn",
    "synchronous_standby_names",
]

PSQL = ["psql", "-U", "postgres", "-d", "postgres", "-X", "-q", "-t", "-A"]
PGDATA = "/var/lib/postgresql/data/pgdata"
PORT = 5432

# The timeline is read where it is current. pg_control_checkpoint()'s timeline_id is the *last
# checkpoint's*: after pg_promote() it stays on the old timeline until the checkpoint that the
# promotion requests has completed (spread over checkpoint_completion_target * checkpoint_timeout
# when there are dirty buffers: minutes), and on a standby until its next restartpoint. So: a
# primary's timeline from the name of its current WAL file (its first 8 hex digits), a
# standby's from the WAL it is receiving, or, while it is not connected to a primary, from its
# last restartpoint.
STATUS_SQL = (
    "SELECT pg_is_in_recovery(), "
    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, "
    "CASE WHEN pg_is_in_recovery() THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), "
    "(SELECT timeline_id FROM pg_control_checkpoint())) "
    "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END"
)
PROMOTE_SQL = "SELECT pg_promote()"
RELOAD_SQL = "SELECT pg_reload_conf()"
REPLICATION_SQL = ("SELECT application_name, state, sync_state, replay_lsn FROM pg_stat_replication "
                   "ORDER BY application_name")

# seconds a step may take: psql steps are quick; pg_promote() waits up to 60 s by itself; a
# clone copies the whole database
QUICK = 10.0
PROMOTE_TIMEOUT = 70.0
CLONE_TIMEOUT = 600.0


class DatabaseError(Exception):
    """A step failed on a member: what was run, its exit code, and what it said."""

    def __init__(self, member: str, argv: Sequence[str], completed: transports.Completed | None = None,
                 problem: str = "") -> None:
        self.member = member
        self.argv = list(argv)
        self.code = completed.code if completed else None
        self.stdout = completed.stdout if completed else ""
        self.stderr = completed.stderr if completed else ""
        said = (self.stderr.strip() or self.stdout.strip() or "(no output)")
        self.problem = problem or f"exit code {self.code}: {said}"
        super().__init__(f"{_program(self.argv)} on {member} failed: {self.problem}")

    @property
    def unreachable(self) -> bool:
        """True when the server did not answer at all (psql's exit code 2: no connection)."""
        return self.code == 2 or self.code in (transports.NOT_FOUND, transports.TIMED_OUT)


@dataclass(frozen=True)
class MemberStatus:
    """One member's answer to "what are you": a standby (in recovery) or a primary, the WAL
    position it has replayed (standby) or written (primary), and its timeline."""

    in_recovery: bool
    lsn: int
    timeline: int


@dataclass(frozen=True)
class ReplicaState:
    """One row of a primary's pg_stat_replication: a standby connected to it."""

    name: str  # application_name: the standby's cluster_name, i.e. its member name
    state: str  # startup, catchup, streaming, backup, stopping
    sync_state: str  # async, potential, sync, quorum
    replay_lsn: int | None  # None until the standby has reported a position


# ---------------------------------------------------------------------------------------------
# LSNs and the bits of SQL the steps build
# ---------------------------------------------------------------------------------------------

_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")


def lsn(text: str) -> int:
    """'0/3000148' -> 50331976: PostgreSQL's pg_lsn text (high/low 32 bits in hex) as a number."""
    match = _LSN.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a WAL position such as 0/3000148")
    return int(match.group(1), 16) << 32 | int(match.group(2), 16)


def format_lsn(value: int) -> str:
    """50331976 -> '0/3000148', as PostgreSQL prints a pg_lsn."""
    if not 0 <= value < 1 << 64:
        raise ValueError(f"{value} is not a WAL position (0 to 2^64 - 1)")
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def conninfo(host: str) -> str:
    """What a standby connects to: host=<host> port=5432 user=postgres."""
    return f"host={host} port={PORT} user=postgres"


def synchronous_standby_names(names: Sequence[str]) -> str:
    """['pg-2', 'pg-3'] -> 'ANY 1 ("pg-2", "pg-3")': a commit waits for any one of them."""
    return "ANY 1 (" + ", ".join('"' + name.replace('"', '""') + '"' for name in names) + ")"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _program(argv: Sequence[str]) -> str:
    return argv[0] if argv else "(nothing)"


# ---------------------------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------------------------


class Database:
    """The database steps, each run on a member through `transport`."""

    def __init__(self, transport: transports.Transport) -> None:
        self.transport = transport

    def run(self, member: str, argv: list[str], timeout: float = QUICK) -> transports.Completed:
        """Run argv on member; DatabaseError unless it exits 0."""
        completed = self.transport.run(member, argv, timeout)
        if completed.code != 0:
            raise DatabaseError(member, argv, completed)
        return completed

    def psql(self, member: str, *sql: str, timeout: float = QUICK) -> list[str]:
        """The output lines of one psql run with one -c per statement (tuples only, unaligned)."""
        argv = list(PSQL)
        for statement in sql:
            argv += ["-c", statement]
        return self.run(member, argv, timeout).stdout.splitlines()

    def ready(self, member: str) -> bool:
        """pg_isready: True when the server accepts connections; False when it rejects them
        (starting up, shutting down: exit 1) or does not answer (exit 2)."""
        argv = ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"]
        completed = self.transport.run(member, argv, QUICK)
        if completed.code in (0, 1, 2):
            return completed.code == 0
        raise DatabaseError(member, argv, completed)  # 3: bad parameters; 127: no pg_isready

    def status(self, member: str) -> MemberStatus:
        lines = [line for line in self.psql(member, STATUS_SQL) if line]
        try:
            (recovery, position, timeline), = (line.split("|") for line in lines)
            return MemberStatus(in_recovery=recovery == "t", lsn=lsn(position), timeline=int(timeline))
        except ValueError:
            raise DatabaseError(member, [*PSQL, "-c", STATUS_SQL], None,
                                f"unexpected answer {lines!r} (want f|0/3000148|1)") from None

    def promote(self, member: str) -> None:
        """End the standby's recovery; it becomes a primary on a new timeline. pg_promote()
        waits (up to 60 s) for the promotion to finish and says f if it did not."""
        lines = self.psql(member, PROMOTE_SQL, timeout=PROMOTE_TIMEOUT)
        if lines != ["t"]:
            raise DatabaseError(member, [*PSQL, "-c", PROMOTE_SQL], None,
                                f"pg_promote() answered {lines!r}: the promotion did not finish in 60 s")

    def follow(self, member: str, host: str) -> None:
        """Re-point a standby at the primary on `host`; the reload restarts its WAL receiver
        (no server restart since PostgreSQL 13), which follows the new timeline."""
        setting = f"ALTER SYSTEM SET primary_conninfo = {_literal(conninfo(host))}"
        self._reloaded(member, setting)

    def set_synchronous(self, member: str, names: Sequence[str]) -> None:
        """On the primary: commits wait until any one of `names` has *applied* them; no names:
        commits are acknowledged at once (asynchronous replication).

        `remote_apply` rather than the default `on` (flushed): the failover promotes the standby
        with the most WAL *replayed*, so an acknowledged commit must be replayed somewhere, not
        only flushed, or the choice could pass over the one standby that has it."""
        if names:
            value = synchronous_standby_names(names)
            settings = [f"ALTER SYSTEM SET synchronous_standby_names = {_literal(value)}",
                        "ALTER SYSTEM SET synchronous_commit = 'remote_apply'"]
        else:
            settings = ["ALTER SYSTEM RESET synchronous_standby_names", "ALTER SYSTEM RESET synchronous_commit"]
        self._reloaded(member, *settings)

    def _reloaded(self, member: str, *settings: str) -> None:
        # one -c each: ALTER SYSTEM cannot run inside the transaction block of a multi-statement -c
        lines = self.psql(member, *settings, RELOAD_SQL)
        if lines != ["t"]:
            argv = [*PSQL, *(part for setting in settings for part in ("-c", setting)), "-c", RELOAD_SQL]
            raise DatabaseError(member, argv, None, f"pg_reload_conf() answered {lines!r}")

    def replication(self, member: str) -> list[ReplicaState]:
        """The standbys connected to a primary, by name."""
        states = []
        for line in self.psql(member, REPLICATION_SQL):
            if not line:
                continue
            name, state, sync_state, replay = line.split("|")
            states.append(ReplicaState(name, state, sync_state, lsn(replay) if replay else None))
        return states

    def clone(self, member: str, host: str) -> None:
        """Copy the primary on `host` into the member's empty PGDATA, with -R so that it starts
        as a standby of it (standby.signal and primary_conninfo written)."""
        argv = ["pg_basebackup", "-U", "postgres", "-h", host, "-D", PGDATA, "-R", "-X", "stream",
                "-c", "fast"]
        self.run(member, argv, CLONE_TIMEOUT)

    @staticmethod
    def backup_command(host: str, path: str) -> list[str]:
        """The argv of a logical backup of every database of the server on `host` into `path`."""
        return ["pg_dumpall", "-U", "postgres", "-h", host, "-f", path]


# ---------------------------------------------------------------------------------------------
# The failover decision
# ---------------------------------------------------------------------------------------------


def _natural(name: str) -> tuple:
    # pg-2 before pg-10, as the member serial goes
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def choose_candidate(statuses: Mapping[str, MemberStatus | None]) -> str | None:
    """The standby to promote: the highest replayed WAL position among the standbys that
    answered (None: unreachable; not in recovery: not a standby, e.g. a returned old primary),
    ties going to the lowest member number. None when no standby answered."""
    standbys = [(name, status) for name, status in statuses.items()
                if status is not None and status.in_recovery]
    if not standbys:
        return None
    return min(standbys, key=lambda item: (-item[1].lsn, _natural(item[0])))[0]
