"""Real PostgreSQL servers on local ports for the tests: a primary and streaming standbys.

Debian's PostgreSQL (apt-get install postgresql) keeps initdb, pg_ctl and friends in
/usr/lib/postgresql/<major>/bin. The servers run as the `postgres` system user when the tests
run as root (PostgreSQL refuses root), listen on 127.0.0.1 only, put their unix sockets in the
cluster's temporary directory, and are started the way the contract starts a member:
`-c cluster_name=<member> -c wal_log_hints=on`. Members are created by the database steps
themselves (`Database.clone` through `LocalProcesses`); this module only runs initdb for the
first member and starts, kills and removes servers.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from k8s_course.operator import database, transports
from k8s_course.workloads import pg_writer

RUN_AS = "postgres"
NEEDED = ("initdb", "pg_ctl", "postgres", "pg_basebackup", "pg_dumpall", "pg_isready", "psql")


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin that has every program the tests need."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)
    for bin_dir in reversed(candidates):
        if all((bin_dir / name).exists() for name in NEEDED):
            return bin_dir
    return None


def require_postgres() -> Path:
    """The bin dir, or skip the test: no PostgreSQL here, or root without a postgres user."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql): no "
                    "/usr/lib/postgresql/<major>/bin with initdb, pg_ctl, pg_basebackup, psql")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            pytest.skip(f"running as root and there is no {RUN_AS!r} user to run PostgreSQL as")
    return bin_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalCluster:
    """Members named pg-1, pg-2, ... (a serial that only grows), each a server on its own port
    with its own data directory under one temporary directory."""

    def __init__(self, bin_dir: Path, prefix: str = "pg") -> None:
        self.bin_dir = bin_dir
        self.prefix = prefix
        self.root = Path(tempfile.mkdtemp(prefix="k8s-course-pg-"))
        self.root.chmod(0o755)
        self.as_root = os.geteuid() == 0
        if self.as_root:
            account = pwd.getpwnam(RUN_AS)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.ports: dict[str, int] = {}
        self.data_dirs: dict[str, Path] = {}
        self.serial = 0
        self.running: set[str] = set()
        self.transport = transports.LocalProcesses(self.ports, run_as=RUN_AS, bin_dir=bin_dir,
                                                   data_dirs=self.data_dirs, cwd=self.root)
        self.db = database.Database(self.transport)

    # members

    def new_member(self) -> str:
        """A new member name with a port and a (not yet existing) data directory."""
        self.serial += 1
        name = f"{self.prefix}-{self.serial}"
        self.ports[name] = free_port()
        self.data_dirs[name] = self.root / name
        return name

    def bootstrap(self) -> str:
        """The first member: initdb (1 MB WAL segments: small clones), then start it."""
        name = self.new_member()
        self._run([str(self.bin_dir / "initdb"), "-D", str(self.data_dirs[name]), "-U", "postgres",
                   "--auth=trust", "--wal-segsize=1", "--no-instructions"])
        with open(self.data_dirs[name] / "pg_hba.conf", "a") as hba:
            hba.write("host replication all all trust\n")  # what the contract's replication.sh adds
        self.start(name)
        return name

    def start(self, name: str) -> None:
        options = " ".join([
            f"-c cluster_name={name}", "-c wal_log_hints=on", "-c listen_addresses=127.0.0.1",
            f"-c port={self.ports[name]}", f"-c unix_socket_directories={self.root}",
            "-c shared_buffers=16MB", "-c max_wal_size=32MB", "-c min_wal_size=4MB",
            # a restarted walreceiver tries again after 1 s rather than 5 s
            "-c wal_retrieve_retry_interval=1s",
        ])
        self._run([str(self.bin_dir / "pg_ctl"), "start", "-w", "-t", "60",
                   "-D", str(self.data_dirs[name]), "-l", str(self.root / f"{name}.log"),
                   "-o", options])
        self.running.add(name)

    def kill(self, name: str) -> None:
        """What a crash does: stop without a shutdown checkpoint, clients cut off."""
        self._run([str(self.bin_dir / "pg_ctl"), "stop", "-m", "immediate", "-D",
                   str(self.data_dirs[name])])
        self.running.discard(name)

    def remove(self, name: str) -> None:
        """Forget a member and its data (a re-cloned member gets a new name, as in the operator)."""
        if name in self.running:
            self.kill(name)
        shutil.rmtree(self.data_dirs.pop(name), ignore_errors=True)
        self.ports.pop(name)

    def add_standby(self, primary: str) -> str:
        """A new member cloned from `primary` with the clone step, started as its standby."""
        name = self.new_member()
        self.db.clone(name, primary)
        self.start(name)
        return name

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # waiting for real processes (there is no simulated clock to move)

    def wait_until(self, condition, timeout: float = 30, what: str = "the condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.02)

    def wait_streaming(self, primary: str, standbys, timeout: float = 30) -> None:
        wanted = set(standbys)

        def streaming():
            return wanted <= {r.name for r in self.db.replication(primary) if r.state == "streaming"}

        self.wait_until(streaming, timeout, f"{sorted(wanted)} streaming from {primary}")

    def ids(self, member: str) -> list[int]:
        return [int(line) for line in self.db.psql(member, "SELECT id FROM writes ORDER BY id") if line]

    def close(self) -> None:
        for name in list(self.running):
            try:
                self.kill(name)
            except AssertionError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, argv: list[str]) -> None:
        options: dict = {}
        if self.as_root:
            account = pwd.getpwnam(RUN_AS)
            options = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        finished = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=self.root,
                                  **options)
        if finished.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {finished.returncode}:\n"
                                 f"{finished.stdout}{finished.stderr}")


def replicated_cluster(standbys: int = 2, synchronous: bool = True) -> tuple[LocalCluster, str, list[str]]:
    """A primary and `standbys` streaming standbys (synchronous: ANY 1 of them); the caller
    closes the cluster."""
    cluster = LocalCluster(require_postgres())
    try:
        primary = cluster.bootstrap()
        names = [cluster.add_standby(primary) for _ in range(standbys)]
        cluster.db.set_synchronous(primary, names if synchronous else [])
        cluster.wait_streaming(primary, names)
    except BaseException:
        cluster.close()
        raise
    return cluster, primary, names


# ---------------------------------------------------------------------------------------------
# The failover drill: a writer through a "pg-rw Service", the primary killed, the operator's steps
# ---------------------------------------------------------------------------------------------


class BackgroundWriter:
    """The course's write-load generator in a thread of its own, connecting to whichever member
    `primary` names at the moment it (re)connects, as a pod does through the pg-rw Service."""

    def __init__(self, cluster: LocalCluster, primary: str, rate: float = 200, timeout: float = 1.0) -> None:
        self.cluster = cluster
        self.primary = primary
        self.settings = pg_writer.Settings(target="pg-rw:5432", rate=rate, timeout=timeout)
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-writer", daemon=True)

    async def _connect(self, target: str) -> pg_writer.PgConnection:
        port = self.cluster.ports.get(self.primary)
        if port is None:  # the Service has no endpoint: the member is gone
            raise ConnectionRefusedError(111, "Connection refused")
        return await pg_writer.PgConnection.open("127.0.0.1", port)

    def _run(self) -> None:
        asyncio.run(pg_writer.run_writer(self.settings, self._connect, time.time, asyncio.sleep,
                                         self.lines.append, until=self._stop.is_set))

    def __enter__(self) -> BackgroundWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def point_at(self, member: str) -> None:
        self.primary = member

    def outcomes(self, start: int = 0) -> list[pg_writer.Outcome]:
        return [o for o in map(pg_writer.parse_line, self.lines[start:]) if o is not None]

    def wait_for_acks(self, count: int, after: int, timeout: float = 30) -> None:
        """Until `count` acks have come after line number `after`."""
        self.cluster.wait_until(lambda: sum(o.acked for o in self.outcomes(after)) >= count, timeout,
                                f"{count} acknowledged writes")


@dataclass
class Failover:
    """One failover of the drill, as measured by the writer's log and a count of the rows."""

    old: str
    new: str
    timeline: int  # the new primary's, just after promotion
    killed_at: float
    seconds: float  # from the kill to the new primary streaming to both standbys
    outage_seconds: float  # the writer's last ack before to its first ack after
    lost: list[int]  # ids acknowledged, then missing on the new primary
    acked_by_old_primary: set[int] = field(repr=False, default_factory=set)


def fail_over(cluster: LocalCluster, primary: str, standbys: list[str], synchronous: bool,
              on_promoted=lambda member: None) -> tuple[str, list[str], int]:
    """The operator's steps after its primary died: status of each standby -> choose_candidate
    -> promote -> follow for the others -> set_synchronous on the new primary -> re-clone the
    old primary as a new member -> start it. `on_promoted(member)` is called right after the
    promotion (where the operator relabels the pod, so that pg-rw follows). Returns the new
    primary, its standbys, and its timeline."""
    db = cluster.db
    statuses: dict[str, database.MemberStatus | None] = {}
    for member in standbys:
        try:
            statuses[member] = db.status(member)
        except database.DatabaseError:
            statuses[member] = None
    new = database.choose_candidate(statuses)
    assert new is not None, f"no standby answered: {statuses}"
    db.promote(new)
    on_promoted(new)
    timeline = db.status(new).timeline
    others = [member for member in standbys if member != new]
    for member in others:
        db.follow(member, new)
    fresh = cluster.new_member()
    db.set_synchronous(new, [*others, fresh] if synchronous else [])
    cluster.remove(primary)  # its data is not trusted: it comes back as a fresh clone
    db.clone(fresh, new)
    cluster.start(fresh)
    cluster.wait_streaming(new, [*others, fresh])
    return new, [*others, fresh], timeline


def failover_drill(rounds: int, synchronous: bool, writes_between: int = 20, rate: float = 200,
                   report=None) -> list[Failover]:
    """A primary and two standbys, a writer, and `rounds` kills of the primary, each followed by
    fail_over and a count of every acknowledged id on the new primary. `report(failover)` is told
    of each round as it ends."""
    cluster, primary, standbys = replicated_cluster(2, synchronous)
    results: list[Failover] = []
    lost: set[int] = set()
    try:
        with BackgroundWriter(cluster, primary, rate=rate) as writer:
            writer.wait_for_acks(writes_between, after=0)
            for _ in range(rounds):
                mark = len(writer.lines)
                killed_at = time.time()
                cluster.kill(primary)
                # taken once the old primary is gone and before any other is promoted: every
                # ack so far came from the old primary
                acked_by_old = {o.id for o in writer.outcomes() if o.acked}
                old = primary
                primary, standbys, timeline = fail_over(cluster, primary, standbys, synchronous,
                                                        on_promoted=writer.point_at)
                ready_at = time.time()
                writer.wait_for_acks(writes_between, after=mark)
                # the acknowledged ids first, then the table: every id acknowledged before the
                # SELECT began must be in it
                acked = {o.id for o in writer.outcomes() if o.acked}
                missing = acked - set(cluster.ids(primary))
                new_losses = sorted(missing - lost)
                lost |= missing
                summary = pg_writer.summarise(writer.lines[mark:])
                results.append(Failover(old, primary, timeline, killed_at, ready_at - killed_at,
                                        summary.outage_seconds, new_losses, acked_by_old))
                if report:
                    report(results[-1])
    finally:
        cluster.close()
    return results
