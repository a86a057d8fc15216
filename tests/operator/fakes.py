"""An in-memory stand-in for the contract's `Database`, for the operator's tests.

It keeps, per member, what a real server would answer: primary or standby, WAL position,
timeline, whom it streams from, its synchronous standbys. The first member it is asked about
is the bootstrapped primary (initdb ran in its pod); `clone` copies a server; `write` advances
the primary's WAL (streaming standbys replay it unless `lagging`); `stop` ends a server. It
is shared by the operator's thread and the test: a lock guards it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from k8s_course.operator.database import MemberStatus, ReplicaState


class NoServer(Exception):
    pass


@dataclass
class Server:
    in_recovery: bool
    lsn: int
    timeline: int = 1
    upstream: str | None = None
    sync_names: list[str] = field(default_factory=list)
    running: bool = True
    lagging: bool = False


def member_of(host: str) -> str:
    return host.split(".", 1)[0]


class FakeDatabase:
    def __init__(self, bootstrap: bool = True):
        self.servers: dict[str, Server] = {}
        self.calls: list[tuple] = []
        self.failing_clones: set[str] = set()
        self.bootstrap = bootstrap
        self._lock = threading.RLock()

    # the contract's steps

    def ready(self, member: str) -> bool:
        with self._lock:
            server = self.servers.get(member)
            return server is not None and server.running

    def status(self, member: str) -> MemberStatus:
        with self._lock:
            cluster = member.rsplit("-", 1)[0]
            if self.bootstrap and not any(name.rsplit("-", 1)[0] == cluster for name in self.servers):
                self.servers[member] = Server(in_recovery=False, lsn=0x3000000)  # initdb ran here
            server = self._running(member)
            return MemberStatus(server.in_recovery, server.lsn, server.timeline)

    def promote(self, member: str) -> None:
        with self._lock:
            self.calls.append(("promote", member))
            server = self._running(member)
            server.in_recovery, server.upstream = False, None
            server.timeline += 1

    def follow(self, member: str, host: str) -> None:
        with self._lock:
            self.calls.append(("follow", member, host))
            server = self._running(member)
            server.upstream = member_of(host)
            upstream = self.servers.get(server.upstream)
            if upstream is not None and server.lsn <= upstream.lsn:  # it follows the new timeline
                server.timeline = upstream.timeline

    def set_synchronous(self, member: str, names: list[str]) -> None:
        with self._lock:
            self.calls.append(("set_synchronous", member, tuple(names)))
            self._running(member).sync_names = list(names)

    def replication(self, member: str) -> list[ReplicaState]:
        with self._lock:
            primary = self._running(member)
            return [ReplicaState(name, "streaming", "quorum" if name in primary.sync_names else "async", server.lsn)
                    for name, server in sorted(self.servers.items())
                    if server.upstream == member and server.running and server.in_recovery
                    and server.timeline == primary.timeline]

    def clone(self, member: str, host: str) -> None:
        with self._lock:
            self.calls.append(("clone", member, host))
            if member in self.failing_clones:
                raise RuntimeError("pg_basebackup: error: connection to server failed")
            source = self._running(member_of(host))
            self.servers[member] = Server(in_recovery=True, lsn=source.lsn, timeline=source.timeline,
                                          upstream=member_of(host))

    @staticmethod
    def backup_command(host: str, path: str) -> list[str]:
        return ["pg_dumpall", "-U", "postgres", "-h", host, "-f", path]

    # what the tests do to it

    def write(self, records: int = 1) -> None:
        with self._lock:
            primaries = [s for s in self.servers.values() if s.running and not s.in_recovery]
            for primary in primaries:
                primary.lsn += 0x100 * records
            for server in self.servers.values():
                upstream = self.servers.get(server.upstream or "")
                if server.in_recovery and server.running and not server.lagging and upstream is not None \
                        and upstream.running and upstream.timeline == server.timeline:
                    server.lsn = upstream.lsn

    def stop(self, member: str) -> None:
        with self._lock:
            if member in self.servers:
                self.servers[member].running = False

    def primaries(self) -> list[str]:
        with self._lock:
            return sorted(n for n, s in self.servers.items() if s.running and not s.in_recovery)

    def _running(self, member: str) -> Server:
        server = self.servers.get(member)
        if server is None or not server.running:
            raise NoServer(f'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" '
                           f"failed: No such file or directory ({member})")
        return server


class FakeDatabases:
    """One FakeDatabase per namespace, as the operator's `databases(namespace)` wants."""

    def __init__(self):
        self.by_namespace: dict[str, FakeDatabase] = {}

    def __call__(self, namespace: str) -> FakeDatabase:
        return self.by_namespace.setdefault(namespace, FakeDatabase())
