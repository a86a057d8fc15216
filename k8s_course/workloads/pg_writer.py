"""The write-load generator: inserts numbered rows into PostgreSQL and logs every outcome.

It is how the course measures a failover: the app keeps writing through the `pg-rw` Service
while the primary dies, and its log says which writes the database acknowledged, which failed,
and for how long nothing got through. After the failover, every acknowledged id should be in
the table (synchronous replication guarantees it; asynchronous may lose the tail in flight).

It creates the table, then inserts ids 1, 2, 3 ... one statement each, at RATE per second,
reconnecting after any failure (a failed id is not retried: it may have committed on a server
that died before answering), and prints one line per attempt, flushed:

    ack <id> <unix-seconds with 3 decimals>
    fail <id> <unix-seconds with 3 decimals> <reason in one line>

Settings come from the environment or from the same-named options (--target ...):
  TARGET   host:port of the database, e.g. pg-rw:5432 (default 127.0.0.1:5432)
  RATE     writes per second, default 20
  TIMEOUT  seconds per step (connecting, each statement), default 1
  USER, DATABASE  default postgres, postgres (trust authentication only)

Runs as `python pg_writer.py` in a stock python image, which has no PostgreSQL driver: it
speaks the frontend/backend protocol version 3 itself (startup, AuthenticationOk, simple
Query, Terminate). Pure core: the message bytes (encode_startup, encode_query,
parse_messages, QueryReply), the Writer (ids, statements, log lines), summarise (a log ->
acknowledged ids and the outage). The I/O is behind a `Connection` (`PgConnection` here, the
simulator's own in its model), and run_writer takes connect, clock and sleep as arguments, so
the simulator runs the same loop on its clock.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

__all__ = [
    "CREATE_TABLE",
    "Connection",
    "DatabaseError",
    "Message",
    "Outcome",
    "PgConnection",
    "ProtocolError",
    "QueryReply",
    "Settings",
    "StepTimeout",
    "Summary",
    "Writer",
    "authentication_problem",
    "connector",
    "describe_failure",
    "encode_query",
    "encode_startup",
    "encode_terminate",
    "error_fields",
    "insert_sql",
    "main",
    "parse_line",
    "parse_messages",
    "run_writer",
    "settings_from",
    "summarise",
]

# ---------------------------------------------------------------------------------------------
# The protocol (frontend/backend version 3): messages <-> bytes
# ---------------------------------------------------------------------------------------------

PROTOCOL_VERSION = 3 << 16  # 196608: major 3, minor 0
# a message longer than this is not one the writer's statements can get back: the stream is
# garbage (or not PostgreSQL), not a slow server
MAX_MESSAGE = 64 * 1024 * 1024


class ProtocolError(Exception):
    """Bytes that are not the PostgreSQL protocol; the connection cannot be trusted any more."""


class DatabaseError(Exception):
    """The server answered with an ErrorResponse (or refused our authentication)."""

    def __init__(self, message: str, code: str = "", severity: str = "ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.code = code  # SQLSTATE, e.g. 25006 read_only_sql_transaction
        self.severity = severity


class Message(NamedTuple):
    """One backend message: its type letter (R, S, K, Z, T, D, C, E, N, I ...) and its body."""

    kind: str
    body: bytes


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def encode_startup(user: str = "postgres", database: str = "postgres",
                   application_name: str = "pg_writer") -> bytes:
    """The StartupMessage: length, protocol version, then name/value pairs, each NUL-ended."""
    pairs = {"user": user, "database": database, "application_name": application_name,
             "client_encoding": "UTF8"}
    body = struct.pack("!I", PROTOCOL_VERSION)
    body += b"".join(name.encode() + b"\0" + value.encode() + b"\0" for name, value in pairs.items())
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def encode_query(sql: str) -> bytes:
    """A simple Query message: Q, length, the SQL NUL-ended."""
    if "\0" in sql:
        raise ValueError("SQL text cannot contain a NUL character")
    return _message(b"Q", sql.encode("utf-8") + b"\0")


def encode_terminate() -> bytes:
    return _message(b"X", b"")


def parse_messages(data: bytes | bytearray) -> tuple[list[Message], bytes]:
    """Every complete backend message at the start of `data`, and the bytes left over (a
    message cut in the middle, to be completed by the next read)."""
    messages: list[Message] = []
    position = 0
    while len(data) - position >= 5:
        kind = data[position : position + 1]
        (length,) = struct.unpack_from("!I", data, position + 1)
        if length < 4 or length > MAX_MESSAGE or not kind.isalpha():
            raise ProtocolError(f"not a PostgreSQL message: type {bytes(kind)!r}, length {length}")
        end = position + 1 + length
        if end > len(data):
            break
        messages.append(Message(kind.decode("ascii"), bytes(data[position + 5 : end])))
        position = end
    return messages, bytes(data[position:])


def error_fields(body: bytes) -> dict[str, str]:
    """The fields of an ErrorResponse or NoticeResponse: {"S": "ERROR", "C": "25006", "M": ...}."""
    fields: dict[str, str] = {}
    for part in body.split(b"\0"):
        if part:
            fields[part[:1].decode("ascii", "replace")] = part[1:].decode("utf-8", "replace")
    return fields


def _cstring(body: bytes, position: int) -> tuple[str, int]:
    end = body.index(b"\0", position)
    return body[position:end].decode("utf-8", "replace"), end + 1


def _columns(body: bytes) -> list[str]:
    (count,) = struct.unpack_from("!H", body, 0)
    names, position = [], 2
    for _ in range(count):
        name, position = _cstring(body, position)
        names.append(name)
        position += 18  # table oid, column number, type oid, type size, type modifier, format
    return names


def _row(body: bytes) -> list[str | None]:
    (count,) = struct.unpack_from("!H", body, 0)
    values: list[str | None] = []
    position = 2
    for _ in range(count):
        (length,) = struct.unpack_from("!i", body, position)
        position += 4
        if length < 0:
            values.append(None)  # SQL NULL
        else:
            values.append(body[position : position + length].decode("utf-8", "replace"))
            position += length
    return values


def authentication_problem(body: bytes) -> str | None:
    """None for AuthenticationOk; otherwise why the writer cannot log in (it speaks trust only)."""
    (code,) = struct.unpack_from("!I", body, 0)
    if code == 0:
        return None
    method = {2: "Kerberos", 3: "a cleartext password", 5: "an MD5 password", 7: "GSSAPI",
              9: "SSPI", 10: "SASL (SCRAM)"}.get(code, f"method {code}")
    return (f"the server asks for {method}; the writer uses trust authentication only "
            "(POSTGRES_HOST_AUTH_METHOD=trust, or a trust line in pg_hba.conf)")


@dataclass
class QueryReply:
    """What the server answered to one simple Query, fed message by message until
    ReadyForQuery: the last command tag, the rows, the error if any, the notices."""

    tag: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    error: dict[str, str] | None = None
    notices: list[str] = field(default_factory=list)

    def feed(self, message: Message) -> bool:
        """Take one message; True once the reply is complete (ReadyForQuery)."""
        if message.kind == "T":
            self.columns, self.rows = _columns(message.body), []
        elif message.kind == "D":
            self.rows.append(_row(message.body))
        elif message.kind == "C":
            self.tag = message.body.rstrip(b"\0").decode("utf-8", "replace")
        elif message.kind == "E":
            self.error = error_fields(message.body)
        elif message.kind == "N":
            self.notices.append(error_fields(message.body).get("M", ""))
        elif message.kind == "Z":
            return True
        # I (empty query), S (a parameter changed), A (notification): nothing to keep
        return False

    def raise_for_error(self) -> None:
        if self.error is not None:
            raise DatabaseError(self.error.get("M", "unknown error"), self.error.get("C", ""),
                                self.error.get("S", "ERROR"))


# ---------------------------------------------------------------------------------------------
# The writer's decisions: ids, statements, log lines, and reading a log back
# ---------------------------------------------------------------------------------------------

CREATE_TABLE = ("CREATE TABLE IF NOT EXISTS writes "
                "(id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())")


def insert_sql(row_id: int) -> str:
    return f"INSERT INTO writes (id) VALUES ({int(row_id)})"


@dataclass
class Writer:
    """The ids to write, one after another, and the log line of each outcome."""

    next_id: int = 1

    def take(self) -> tuple[int, str]:
        """The next id and its INSERT; every id is attempted once, whatever its outcome."""
        row_id, self.next_id = self.next_id, self.next_id + 1
        return row_id, insert_sql(row_id)

    @staticmethod
    def ack_line(row_id: int, at: float) -> str:
        return f"ack {row_id} {at:.3f}"

    @staticmethod
    def fail_line(row_id: int, at: float, reason: str) -> str:
        one_line = " ".join(str(reason).split()) or "unknown failure"
        return f"fail {row_id} {at:.3f} {one_line}"


class Outcome(NamedTuple):
    acked: bool
    id: int
    at: float
    reason: str


def parse_line(line: str) -> Outcome | None:
    """An ack or fail line as data; None for any other line (a program's other output)."""
    parts = line.strip().split(" ", 3)
    if len(parts) < 3 or parts[0] not in ("ack", "fail"):
        return None
    try:
        return Outcome(parts[0] == "ack", int(parts[1]), float(parts[2]),
                       parts[3] if len(parts) > 3 else "")
    except ValueError:
        return None


@dataclass(frozen=True)
class Summary:
    """What a writer's log says: the acknowledged ids, how many attempts failed, and the first
    outage: from the last ack before the first failure (or the first failure, if nothing was
    acknowledged before it) to the first ack after it (or the last line, if none came yet)."""

    acked: list[int]
    failed: int
    outage_seconds: float
    first_failure: float | None
    first_ack_after: float | None


def summarise(lines: Iterable[str]) -> Summary:
    outcomes = [outcome for outcome in map(parse_line, lines) if outcome is not None]
    acked = [outcome.id for outcome in outcomes if outcome.acked]
    failed = sum(1 for outcome in outcomes if not outcome.acked)
    first_failure = next((index for index, outcome in enumerate(outcomes) if not outcome.acked), None)
    if first_failure is None:
        return Summary(acked, failed, 0.0, None, None)
    before = [outcome.at for outcome in outcomes[:first_failure] if outcome.acked]
    start = before[-1] if before else outcomes[first_failure].at
    after = next((outcome.at for outcome in outcomes[first_failure:] if outcome.acked), None)
    end = after if after is not None else outcomes[-1].at
    return Summary(acked, failed, round(end - start, 3), outcomes[first_failure].at, after)


# ---------------------------------------------------------------------------------------------
# The loop, with its I/O injected
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    target: str = "127.0.0.1:5432"
    rate: float = 20.0
    timeout: float = 1.0
    user: str = "postgres"
    database: str = "postgres"


class Connection(Protocol):
    async def execute(self, sql: str) -> str:
        """Run one statement; its command tag (INSERT 0 1). Raises DatabaseError or
        ConnectionError. A connection may also have `close()` (plain or async)."""
        ...


class StepTimeout(Exception):
    """Connecting or a statement took longer than TIMEOUT."""


async def _within(step: Awaitable, seconds: float, sleep: Callable[[float], Awaitable]):
    """The step's result, or StepTimeout once `sleep(seconds)` is over first (the injected
    sleep, so that a simulated clock times steps out too)."""
    work = asyncio.ensure_future(step)
    timer = asyncio.ensure_future(sleep(seconds))
    try:
        await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
        if work.done():
            return work.result()
        raise StepTimeout(f"timeout after {seconds:g} s")
    finally:
        for task in (work, timer):
            if not task.done():
                task.cancel()
        await asyncio.gather(work, timer, return_exceptions=True)


def describe_failure(error: BaseException) -> str:
    """A short reason for a fail line."""
    if isinstance(error, DatabaseError):
        return f"{error.severity}: {error.message}"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "cannot resolve host"
    if isinstance(error, (ConnectionResetError, BrokenPipeError, EOFError)):
        return "connection lost"
    return str(error) or getattr(error, "strerror", None) or type(error).__name__


async def _close(connection: object) -> None:
    close = getattr(connection, "close", None)
    if close is not None:
        try:
            result = close()
            if asyncio.iscoroutine(result):
                await result
        except (OSError, ConnectionError):
            pass  # it is already broken: that is why it is being closed


async def run_writer(settings: Settings, connect: Callable[[str], Awaitable[Connection]],
                     clock: Callable[[], float], sleep: Callable[[float], Awaitable],
                     log: Callable[[str], None], *, writer: Writer | None = None,
                     limit: int | None = None, until: Callable[[], bool] | None = None) -> Writer:
    """Write at settings.rate until cancelled, `limit` ids attempted, or `until()` is true.

    `connect(target)` opens a Connection, `clock()` gives unix seconds (for the log and the
    pace), `sleep(seconds)` waits, `log(line)` prints. The table is created on every new
    connection (after a failover it exists already: IF NOT EXISTS makes that a no-op).
    """
    writer = writer or Writer()
    interval = 1.0 / settings.rate if settings.rate > 0 else 0.0
    connection: Connection | None = None
    attempted = 0
    next_at = clock()
    try:
        while (limit is None or attempted < limit) and not (until and until()):
            row_id, sql = writer.take()
            attempted += 1
            try:
                if connection is None:
                    connection = await _within(connect(settings.target), settings.timeout, sleep)
                    await _within(connection.execute(CREATE_TABLE), settings.timeout, sleep)
                await _within(connection.execute(sql), settings.timeout, sleep)
            except (DatabaseError, OSError, EOFError, StepTimeout, ProtocolError) as error:
                log(writer.fail_line(row_id, clock(), describe_failure(error)))
                if connection is not None:
                    await _close(connection)
                connection = None
            else:
                log(writer.ack_line(row_id, clock()))
            # a steady pace: late after a slow step, go on at once rather than catch up in a burst
            next_at = max(next_at + interval, clock())
            await sleep(max(0.0, next_at - clock()))
    finally:
        if connection is not None:
            await _close(connection)
    return writer


# ---------------------------------------------------------------------------------------------
# The I/O shell: asyncio sockets
# ---------------------------------------------------------------------------------------------


class PgConnection:
    """One connection to a PostgreSQL server (trust authentication, simple queries)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = b""  # the start of a message not complete yet
        self.pending: list[Message] = []  # complete messages not taken yet
        self.parameters: dict[str, str] = {}  # ParameterStatus: server_version ...
        self.backend_pid: int | None = None

    @classmethod
    async def open(cls, host: str, port: int, user: str = "postgres",
                   database: str = "postgres") -> PgConnection:
        reader, writer = await asyncio.open_connection(host, port)
        connection = cls(reader, writer)
        try:
            writer.write(encode_startup(user, database))
            await writer.drain()
            await connection._startup()
        except BaseException:
            writer.close()
            raise
        return connection

    async def _next(self) -> Message:
        while not self.pending:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionResetError("connection lost")
            messages, self.buffer = parse_messages(self.buffer + data)
            self.pending.extend(messages)
        return self.pending.pop(0)

    async def _startup(self) -> None:
        while True:
            message = await self._next()
            if message.kind == "R":
                problem = authentication_problem(message.body)
                if problem:
                    raise DatabaseError(problem, "28000", "FATAL")
            elif message.kind == "S":
                name, position = _cstring(message.body, 0)
                self.parameters[name] = _cstring(message.body, position)[0]
            elif message.kind == "K":
                self.backend_pid = struct.unpack_from("!I", message.body, 0)[0]
            elif message.kind == "E":
                # e.g. FATAL: the database system is starting up / in recovery mode
                fields = error_fields(message.body)
                raise DatabaseError(fields.get("M", "startup failed"), fields.get("C", ""),
                                    fields.get("S", "FATAL"))
            elif message.kind == "Z":
                return

    async def query(self, sql: str) -> QueryReply:
        """The whole reply to one simple Query (raises DatabaseError for an ErrorResponse)."""
        self.writer.write(encode_query(sql))
        await self.writer.drain()
        reply = QueryReply()
        while not reply.feed(await self._next()):
            pass
        reply.raise_for_error()
        return reply

    async def execute(self, sql: str) -> str:
        return (await self.query(sql)).tag

    async def close(self) -> None:
        try:
            if not self.writer.is_closing():
                self.writer.write(encode_terminate())
        except (OSError, RuntimeError):
            pass
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (OSError, ConnectionError):
            pass


def split_target(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"TARGET {target!r} is not host:port (for example pg-rw:5432)")
    return host.strip("[]"), int(port)


def connector(settings: Settings) -> Callable[[str], Awaitable[PgConnection]]:
    """The real `connect` for run_writer: a PgConnection to the target, as the settings log in."""

    async def open_target(target: str) -> PgConnection:
        host, port = split_target(target)
        return await PgConnection.open(host, port, settings.user, settings.database)

    return open_target


def settings_from(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from command-line options, falling back to environment variables, then defaults."""
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="pg_writer.py", description="Numbered inserts into PostgreSQL.")
    for option, kind, default in (("target", str, defaults.target), ("rate", float, defaults.rate),
                                  ("timeout", float, defaults.timeout), ("user", str, defaults.user),
                                  ("database", str, defaults.database)):
        variable = option.upper()
        parser.add_argument(f"--{option}", type=kind, default=kind(environ.get(variable, default)),
                            help=f"(env {variable}, default {default!r})")
    values = parser.parse_args(list(argv))
    if values.rate <= 0 or values.timeout <= 0:
        raise ValueError("RATE and TIMEOUT must be greater than 0")
    split_target(values.target)
    return Settings(values.target, values.rate, values.timeout, values.user, values.database)


async def serve(settings: Settings) -> None:
    """Write until SIGTERM or SIGINT (what Kubernetes sends to stop the container)."""
    print(f"pg_writer: writing to {settings.target} at {settings.rate:g}/s, "
          f"timeout {settings.timeout:g} s", flush=True)
    task = asyncio.ensure_future(run_writer(settings, connector(settings), time.time, asyncio.sleep,
                                            lambda line: print(line, flush=True)))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    print("pg_writer: stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = settings_from(sys.argv[1:] if argv is None else argv, os.environ)
    except ValueError as error:
        print(f"pg_writer: {error}", file=sys.stderr, flush=True)
        return 2
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
