"""Streaming replication: WAL streams between servers, synchronous commit's rules.

Part of the PostgreSQL model (overview in `postgres_models`).

- **Streaming replication**: a standby's `Receiver` connects to its upstream over the
  simulated network (`postgres_connections.connect`: refused when nothing listens, a connect
  timeout of CONNECT_TIMEOUT when the upstream's node is cut off) and its `Link` receives each
  record NETWORK_DELAY after it was written; the standby writes, flushes and replays it at
  once (so replay lag is the network delay), and its flush position reaches the upstream
  NETWORK_DELAY later. It shows in the upstream's `pg_stat_replication` with application_name
  = its cluster_name and sync_state async / sync / potential / quorum from
  `synchronous_standby_names` (`parse_sync_names`). A stream over a cut link holds its records
  and is dropped after REPLICATION_TIMEOUT (checked every KEEPALIVE_SECONDS); a dropped or
  refused standby retries every RETRY_SECONDS.
- **Commits** (`PostgresServer.commit`): asynchronous ones are acknowledged at once; with
  `synchronous_standby_names` a commit waits until enough named standbys flushed it (FIRST n /
  ANY n, a `SyncRule`), and hangs while none is connected, as the real one does. A fast
  shutdown sends what is in flight before it closes its streams (`Link.deliver_pending`); a
  killed server, or one whose node is cut off, loses it: a standby keeps only what it received.
- **Following a promotion**: a standby re-pointed with ALTER SYSTEM SET primary_conninfo
  (`parse_conninfo`) + pg_reload_conf() restarts its WAL receiver and follows the new
  timeline, unless it had received WAL past the fork point (then it cannot, as in PostgreSQL,
  and says so every RETRY_SECONDS: `_cannot_follow`).
"""

from __future__ import annotations

import asyncio
import collections
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from k8s_course.sim.images import postgres_connections, postgres_data, postgres_sql

if TYPE_CHECKING:  # annotations only: the server module imports this one
    from k8s_course.sim.images import postgres_server

NETWORK_DELAY = 0.002  # one way, pod to pod: a WAL record's trip, and its flush reply's
RETRY_SECONDS = 5.0  # wal_retrieve_retry_interval
REPLICATION_TIMEOUT = 60.0  # wal_receiver_timeout / wal_sender_timeout
KEEPALIVE_SECONDS = 10.0  # how often a stream checks its link (wal_receiver_status_interval)


# ---------------------------------------------------------------------------------------------
# synchronous_standby_names and primary_conninfo
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRule:
    method: str  # "first" or "any"; "" when no standby is synchronous
    count: int
    names: tuple[str, ...]


def parse_sync_names(text: str) -> SyncRule:
    """`ANY 1 ("pg-2", "pg-3")`, `FIRST 2 (a, b)`, `2 (a, b)`, `a, b`, `*`; ValueError if not."""
    text = text.strip()
    if not text:
        return SyncRule("", 0, ())
    match = re.fullmatch(r"(?:(ANY|FIRST)\s+)?(\d+)\s*\((.*)\)", text, re.I | re.S)
    if match:
        method, count, body = (match.group(1) or "FIRST").lower(), int(match.group(2)), match.group(3)
    elif "(" in text:
        raise ValueError(text)
    else:
        method, count, body = "first", 1, text
    names = []
    for part in _split_names(body):
        if not part:
            raise ValueError(text)
        names.append(part)
    if count < 1:
        raise ValueError(text)
    return SyncRule(method, count, tuple(names))


def _split_names(body: str) -> list[str]:
    names, current, quoted, index = [], "", False, 0
    while index < len(body):
        char = body[index]
        if char == '"':
            if quoted and body[index + 1:index + 2] == '"':
                current += '"'
                index += 1
            else:
                quoted = not quoted
        elif char == "," and not quoted:
            names.append(current.strip())
            current = ""
        else:
            current += char if quoted else char.lower()
        index += 1
    names.append(current.strip())
    return names


def parse_conninfo(text: str) -> dict[str, str]:
    """libpq's `key=value key='quoted value'` string."""
    found, index = {}, 0
    while index < len(text):
        match = re.compile(r"\s*([A-Za-z_]+)\s*=\s*").match(text, index)
        if match is None:
            break
        key, index = match.group(1), match.end()
        value = ""
        if text[index:index + 1] == "'":
            index += 1
            while index < len(text) and text[index] != "'":
                if text[index] == "\\" and index + 1 < len(text):
                    index += 1
                value += text[index]
                index += 1
            index += 1
        else:
            while index < len(text) and not text[index].isspace():
                value += text[index]
                index += 1
        found[key] = value
    return found


# ---------------------------------------------------------------------------------------------
# Streaming replication
# ---------------------------------------------------------------------------------------------


async def _event_or_sleep(clock, event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds` of simulated time; True if it was set."""
    if event.is_set():
        return True
    waiting = asyncio.ensure_future(event.wait())
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({waiting, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
        timer.cancel()
    return event.is_set()


class Link:
    """One replication connection: an upstream's walsender and a standby's walreceiver."""

    def __init__(self, upstream: postgres_server.PostgresServer, downstream: postgres_server.PostgresServer):
        self.upstream = upstream
        self.downstream = downstream
        self.clock = upstream.ctx.clock
        self.application_name = downstream.settings.get("cluster_name") or "walreceiver"
        self.started_at = self.clock.now()
        self.start_lsn = downstream.data.lsn
        self.sent = self.flushed = downstream.data.lsn
        self.closed = asyncio.Event()
        self.reason = ""
        self._queue: collections.deque = collections.deque()  # (due, records)
        self._wake = asyncio.Event()
        self._cut_since: float | None = None
        self._tasks: set[asyncio.Task] = set()
        upstream.links.append(self)
        self._spawn(self._run())
        self.push()

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def path_open(self) -> bool:
        return postgres_connections.path_open(self.upstream.ctx, self.downstream.ctx)

    def push(self) -> None:
        """The upstream wrote: what the standby has not been sent leaves now."""
        if self.closed.is_set():
            return
        records = self.upstream.data.records_after(self.sent)
        if records:
            self.sent = records[-1].end
            self._queue.append((self.clock.now() + NETWORK_DELAY, records))
            self._wake.set()

    async def _run(self) -> None:
        while not self.closed.is_set():
            if not self._queue:
                self._wake.clear()
                if not await _event_or_sleep(self.clock, self._wake, KEEPALIVE_SECONDS):
                    self._check_link()
                continue
            due, _ = self._queue[0]
            await self.clock.sleep_until(due)
            if self.closed.is_set():
                return
            if not self.path_open():
                if not self._check_link():
                    await self.clock.sleep(KEEPALIVE_SECONDS)
                continue
            self._cut_since = None
            # it arrived at `due` (a coarse manual clock may wake us later than that)
            self._deliver(self._queue.popleft()[1], max(due, self.clock.now() - KEEPALIVE_SECONDS))

    def _deliver(self, records: list[postgres_data.Record], now: float) -> None:
        downstream = self.downstream
        for timeline in downstream.data.receive(records):
            downstream.log(f"LOG:  new target timeline is {timeline}", pid=downstream.startup_pid)
        downstream.wal_written()
        self._spawn(self._acknowledge(records[-1].end, now + NETWORK_DELAY))

    async def _acknowledge(self, lsn: int, when: float) -> None:
        await self.clock.sleep_until(when)
        if not self.closed.is_set() and self.path_open():
            self.flushed = max(self.flushed, lsn)
            self.upstream.release_waiters()

    def deliver_pending(self) -> None:
        """A fast shutdown: the walsender sends what is left before it exits (if it can)."""
        if self.path_open():
            now = self.clock.now()
            while self._queue:
                self._deliver(self._queue.popleft()[1], now)
            self.flushed = self.sent

    def _check_link(self) -> bool:
        """A keepalive: True when the link has been cut too long and is dropped now."""
        if self.path_open():
            self._cut_since = None
            return False
        now = self.clock.now()
        if self._cut_since is None:
            self._cut_since = now
        if now - self._cut_since >= REPLICATION_TIMEOUT:
            self.upstream.log("LOG:  terminating walsender process due to replication timeout",
                              pid=self.upstream.walsender_pid)
            self.close("timeout")
            return True
        return False

    def close(self, reason: str) -> None:
        """reason: "primary" (its clean shutdown), "lost" (killed), "timeout", "receiver"."""
        if self.closed.is_set():
            return
        self.reason = reason
        self.closed.set()
        self._queue.clear()  # what was in flight never arrives
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if self in self.upstream.links:
            self.upstream.links.remove(self)
        self.upstream.release_waiters()


class Receiver:
    """A standby's walreceiver: connects to primary_conninfo's host, streams, retries."""

    def __init__(self, server: postgres_server.PostgresServer):
        self.server = server
        self.link: Link | None = None
        self.host = ""
        self.port = postgres_connections.PORT
        self.conninfo = ""
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        server = self.server
        clock = server.ctx.clock
        while True:
            self.conninfo = server.settings.get("primary_conninfo", "")
            info = parse_conninfo(self.conninfo)
            self.host, self.port = info.get("host", ""), int(info.get("port") or postgres_connections.PORT)
            if not self.host:
                return  # a standby without a primary waits for WAL that never comes
            pid = server.walreceiver_pid
            try:
                session = await postgres_connections.connect(server.ctx, self.host, self.port, user=info.get("user", "postgres"),
                                        database="replication", replication=True)
            except postgres_sql.ConnectFailure as failure:
                server.log(f"FATAL:  could not connect to the primary server: {failure}", pid=pid)
                await clock.sleep(RETRY_SECONDS)
                continue
            upstream = session.server
            problem = _cannot_follow(server.data, upstream.data)
            if problem:
                server.log(problem, pid=pid)
                await clock.sleep(RETRY_SECONDS)
                continue
            start = server.data.lsn // postgres_data.SEGMENT * postgres_data.SEGMENT
            server.log(f"LOG:  started streaming WAL from primary at {postgres_sql.format_lsn(start)} on timeline "
                       f"{server.data.timeline}", pid=pid)
            self.link = Link(upstream, server)
            await self.link.closed.wait()
            reason, self.link = self.link.reason, None
            if reason == "primary":
                server.log("LOG:  replication terminated by primary server", pid=pid)
                server.log(f"DETAIL:  End of WAL reached on timeline {server.data.timeline} at "
                           f"{postgres_sql.format_lsn(server.data.lsn)}.", pid=pid)
            elif reason == "timeout":
                server.log("FATAL:  terminating walreceiver due to timeout", pid=pid)
            else:
                server.log(f"FATAL:  could not receive data from WAL stream: {postgres_connections.LOST}", pid=pid)
            await clock.sleep(RETRY_SECONDS)

    def stop(self) -> None:
        self.task.cancel()
        if self.link is not None:
            self.link.close("receiver")
            self.link = None
            self.server.log("FATAL:  terminating walreceiver process due to administrator command",
                            pid=self.server.walreceiver_pid)


def _cannot_follow(standby: postgres_data.DataDirectory, upstream: postgres_data.DataDirectory) -> str | None:
    """Why a standby cannot stream from `upstream` (PostgreSQL's words), or None."""
    timeline, lsn = standby.timeline, standby.lsn
    if timeline > upstream.timeline:
        return (f"FATAL:  highest timeline {upstream.timeline} of the primary is behind recovery "
                f"timeline {timeline}")
    if timeline == upstream.timeline:
        if lsn > upstream.lsn:
            return (f"FATAL:  could not receive data from WAL stream: ERROR:  requested starting point "
                    f"{postgres_sql.format_lsn(lsn)} is ahead of the WAL flush position of this server "
                    f"{postgres_sql.format_lsn(upstream.lsn)}")
        return None
    fork = upstream.fork_point(timeline)
    if fork is None:
        return (f"FATAL:  could not receive data from WAL stream: ERROR:  requested timeline "
                f"{timeline} is not in this server's history")
    if lsn > fork:
        return (f"FATAL:  could not start WAL streaming: ERROR:  requested starting point "
                f"{postgres_sql.format_lsn(lsn)} on timeline {timeline} is not in this server's history\n"
                f"DETAIL:  This server's history forked from timeline {timeline} at {postgres_sql.format_lsn(fork)}.")
    return None
