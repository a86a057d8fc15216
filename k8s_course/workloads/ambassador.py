"""The ambassador: a Redis-protocol proxy that spreads keys over several redis shards.

The app in the pod talks to localhost:6379 as if to one redis; this program, in a second
container of the same pod, picks the shard of every key on a consistent-hash ring (virtual
nodes, so adding a shard moves only about 1/N of the keys), gives every shard call a timeout,
retries reads with exponential back-off, and keeps a circuit breaker per shard: after
BREAKER_FAILURES consecutive failures the shard's calls fail fast with
`-ERR shard <name> unavailable (circuit open)`; after BREAKER_COOLDOWN seconds one probe call
goes through (half-open) and a success closes the breaker again.

Commands: GET, SET (options such as EX passed on), DEL, EXISTS, INCR, MGET (split per shard,
answered in the asked order), PING, DBSIZE (summed over shards), KEYS (merged), FLUSHALL (every
shard), QUIT, and `INFO ambassador`, answered by the proxy itself: its settings and, per shard,
the breaker state and counters. Anything else gets `-ERR command not supported by the
ambassador`. Reads (GET, EXISTS, MGET, DBSIZE, KEYS) are retried; writes are not, because a
write whose reply was lost may have happened (INCR twice is not INCR once).

Settings come from the environment or from the same-named options (--shards ...):
  SHARDS            comma-separated host:port, or name=host:port to give a shard a stable name
                    (the ring hashes names; the default name is the address itself), e.g.
                    "redis-0.redis:6379,redis-1.redis:6379,redis-2.redis:6379"
  LISTEN            address to serve on, default 127.0.0.1:6379
  TIMEOUT           seconds per shard call (connect, send, reply), default 0.5
  RETRIES           extra attempts of a read, default 2 (back-off BACKOFF_BASE * 2^n, capped 1 s)
  BREAKER_FAILURES  consecutive failures that open a shard's breaker, default 3
  BREAKER_COOLDOWN  seconds an open breaker waits before its half-open probe, default 5
  VNODES            virtual nodes per shard on the ring, default 160

Runs as `python ambassador.py` in a stock python image; standard library only. The pure core
(RESP encoding and parsing, HashRing, Breaker, Backoff, plan_command, Ambassador with its I/O
injected) is apart from the asyncio shell (ShardConnections, serve, main), so the simulator can
run the same core with simulated shards and a simulated clock.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Ambassador",
    "Backoff",
    "Breaker",
    "CLOSED",
    "HALF_OPEN",
    "HashRing",
    "OPEN",
    "Plan",
    "ProtocolError",
    "RespError",
    "RespParser",
    "Settings",
    "ShardConnections",
    "ShardIOError",
    "ShardUnavailable",
    "SimpleString",
    "encode",
    "main",
    "parse_info",
    "plan_command",
    "serve",
    "settings_from",
    "start",
]

# ---------------------------------------------------------------------------------------------
# RESP (the Redis serialization protocol, version 2): values <-> bytes
# ---------------------------------------------------------------------------------------------

CRLF = b"\r\n"
# a line (simple string, error, integer, header) longer than this without CRLF is garbage,
# not a slow sender: refuse it rather than buffer without end
MAX_LINE = 64 * 1024
MAX_BULK = 512 * 1024 * 1024  # redis's own proto-max-bulk-len


class SimpleString(str):
    """A RESP simple string such as `+OK`, kept apart from bulk strings so it is re-sent as is."""


class RespError(str):
    """A RESP error reply such as `-ERR ...`: a value for the client, not an exception."""


class ProtocolError(Exception):
    """Bytes that are not RESP; the connection cannot be trusted any more."""


def encode(value: object) -> bytes:
    """The RESP bytes of a value: bytes/str -> bulk string, int -> integer, None -> null,
    list/tuple -> array, SimpleString -> +..., RespError -> -...."""
    # RespError and SimpleString are str: test them before plain str
    if isinstance(value, RespError):
        return b"-" + _one_line(value) + CRLF
    if isinstance(value, SimpleString):
        return b"+" + _one_line(value) + CRLF
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, bool):
        raise TypeError("RESP has no booleans; send 0/1 or a string")
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return b"$%d\r\n%s\r\n" % (len(data), data)
    if isinstance(value, (list, tuple)):
        return b"*%d\r\n" % len(value) + b"".join(encode(item) for item in value)
    raise TypeError(f"cannot encode {type(value).__name__} in RESP")


def _one_line(text: str) -> bytes:
    # a simple string or error ends at the first CRLF, so one inside would cut it short
    return text.replace("\r", " ").replace("\n", " ").encode("utf-8")


class RespParser:
    """Incremental RESP parser: feed it bytes as they arrive, get back every complete value.

    Values may be split over any number of packets and several may come in one (pipelining).
    With `inline_commands=True` (the server side) a line that is not RESP is read the way redis
    reads telnet input: words separated by spaces, e.g. b"PING\\r\\n" -> [b"PING"].
    """

    def __init__(self, *, inline_commands: bool = False) -> None:
        self.inline_commands = inline_commands
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received that do not make a complete value yet."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[object]:
        """Add received bytes; return the values they complete, in order (maybe none)."""
        self._buffer += data
        values: list[object] = []
        position = 0
        while position < len(self._buffer):
            parsed = self._parse(position, top_level=True)
            if parsed is None:
                break
            value, position = parsed
            if value is not _NOTHING:
                values.append(value)
        del self._buffer[:position]
        return values

    def _line(self, position: int) -> tuple[bytes, int] | None:
        end = self._buffer.find(CRLF, position)
        if end < 0:
            if len(self._buffer) - position > MAX_LINE:
                raise ProtocolError("line too long")
            return None
        return bytes(self._buffer[position:end]), end + 2

    def _parse(self, position: int, *, top_level: bool = False) -> tuple[object, int] | None:
        if position >= len(self._buffer):
            return None  # an array's next item has not arrived yet
        marker = self._buffer[position : position + 1]
        if marker not in (b"+", b"-", b":", b"$", b"*"):
            if top_level and self.inline_commands:
                return self._parse_inline(position)
            raise ProtocolError(f"expected '$', '*', '+', '-' or ':', got {bytes(marker)!r}")
        line = self._line(position + 1)
        if line is None:
            return None
        text, after = line
        if marker == b"+":
            return SimpleString(text.decode("utf-8", "replace")), after
        if marker == b"-":
            return RespError(text.decode("utf-8", "replace")), after
        length = _integer(text)
        if marker == b":":
            return length, after
        if marker == b"$":
            if length == -1:
                return None, after
            if not 0 <= length <= MAX_BULK:
                raise ProtocolError("invalid bulk length")
            if len(self._buffer) < after + length + 2:
                return None
            if self._buffer[after + length : after + length + 2] != CRLF:
                raise ProtocolError("bulk string not followed by CRLF")
            return bytes(self._buffer[after : after + length]), after + length + 2
        if length == -1:
            return None, after
        if length < 0:
            raise ProtocolError("invalid multibulk length")
        items: list[object] = []
        for _ in range(length):
            parsed = self._parse(after)
            if parsed is None:
                return None
            item, after = parsed
            items.append(item)
        return items, after

    def _parse_inline(self, position: int) -> tuple[object, int] | None:
        line = self._line(position)
        if line is None:
            # telnet users may end lines with a bare LF
            end = self._buffer.find(b"\n", position)
            if end < 0:
                return None
            line = bytes(self._buffer[position:end]), end + 1
        text, after = line
        words = text.split()
        return (words if words else _NOTHING), after


_NOTHING = object()  # an empty inline line: nothing to answer


def _integer(text: bytes) -> int:
    try:
        return int(text)
    except ValueError:
        raise ProtocolError(f"invalid integer {text[:20]!r}") from None


# ---------------------------------------------------------------------------------------------
# The hash ring: which shard owns a key
# ---------------------------------------------------------------------------------------------


def _ring_point(data: bytes) -> int:
    # md5, not hash(): every ambassador replica (and the simulator) must agree on positions
    return int.from_bytes(hashlib.md5(data).digest()[:8], "big")


def hashed_part(key: bytes) -> bytes:
    """The part of a key that is hashed: the text inside the first non-empty {...} if any
    (redis cluster's hash tags, so `{user:1}:name` and `{user:1}:mail` share a shard)."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
    return key


class HashRing:
    """Consistent hashing with virtual nodes: each shard owns `vnodes` points on a 64-bit ring
    and a key belongs to the first point at or after its own hash (wrapping around)."""

    def __init__(self, shards: Iterable[str] = (), vnodes: int = 160) -> None:
        if vnodes < 1:
            raise ValueError("vnodes must be at least 1")
        self.vnodes = vnodes
        self._shards: list[str] = []
        self._points: list[int] = []
        self._owners: list[str] = []
        for shard in shards:
            self.add(shard)

    @property
    def shards(self) -> tuple[str, ...]:
        return tuple(self._shards)

    def __len__(self) -> int:
        return len(self._shards)

    def __contains__(self, shard: object) -> bool:
        return shard in self._shards

    def add(self, shard: str) -> None:
        if shard in self._shards:
            raise ValueError(f"shard {shard!r} is already on the ring")
        self._shards.append(shard)
        self._rebuild()

    def remove(self, shard: str) -> None:
        if shard not in self._shards:
            raise ValueError(f"shard {shard!r} is not on the ring")
        self._shards.remove(shard)
        self._rebuild()

    def _rebuild(self) -> None:
        # ties (two equal 64-bit points) are broken by name so every replica builds the same ring
        points = sorted(
            (_ring_point(f"{shard}#{index}".encode()), shard)
            for shard in self._shards
            for index in range(self.vnodes)
        )
        self._points = [point for point, _ in points]
        self._owners = [shard for _, shard in points]

    def shard_for(self, key: bytes | str) -> str:
        if not self._points:
            raise LookupError("the ring has no shards")
        if isinstance(key, str):
            key = key.encode("utf-8")
        index = bisect.bisect_left(self._points, _ring_point(hashed_part(key)))
        return self._owners[index % len(self._owners)]

    def ownership(self) -> dict[str, float]:
        """The fraction of the ring each shard owns (what share of random keys it gets)."""
        shares = dict.fromkeys(self._shards, 0.0)
        if not self._points:
            return shares
        size = 2**64
        previous = self._points[-1] - size  # the last arc wraps around to the first point
        for point, owner in zip(self._points, self._owners, strict=True):
            shares[owner] += (point - previous) / size
            previous = point
        return shares


# ---------------------------------------------------------------------------------------------
# Circuit breaker and back-off
# ---------------------------------------------------------------------------------------------

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class Breaker:
    """One shard's circuit breaker: closed -> open after `failures` consecutive failures ->
    half-open once `cooldown` seconds have passed (one probe call allowed) -> closed when the
    probe succeeds, open again (for another cool-down) when it fails.

    `clock` returns seconds (time.monotonic, or a simulated clock); `on_change(old, new)` is told
    of every transition, e.g. to log it.
    """

    def __init__(
        self,
        failures: int = 3,
        cooldown: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, str], None] | None = None,
    ) -> None:
        if failures < 1:
            raise ValueError("a breaker needs at least 1 failure to open")
        self.failure_threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self._on_change = on_change
        self._state = CLOSED
        self._opened_at = 0.0
        self._probe_in_flight = False
        self.consecutive_failures = 0
        # counters, shown by INFO ambassador
        self.successes = 0
        self.failures = 0
        self.rejected = 0
        self.opened = 0
        self.half_opened = 0
        self.closed = 0

    @property
    def state(self) -> str:
        self._follow_clock()
        return self._state

    def _follow_clock(self) -> None:
        # open -> half-open is driven by time alone, so it happens whenever anyone looks
        if self._state == OPEN and self._clock() - self._opened_at >= self.cooldown:
            self._probe_in_flight = False
            self._move(HALF_OPEN)

    def _move(self, new: str) -> None:
        old, self._state = self._state, new
        if new == OPEN:
            self._opened_at = self._clock()
            self.opened += 1
        elif new == HALF_OPEN:
            self.half_opened += 1
        else:
            self.closed += 1
        if self._on_change is not None:
            self._on_change(old, new)

    def allow(self) -> bool:
        """May a call go to the shard now? Every True must be followed by success() or failure()."""
        self._follow_clock()
        if self._state == CLOSED:
            return True
        if self._state == HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True  # one probe at a time: the shard may be barely back
            return True
        self.rejected += 1
        return False

    def success(self) -> None:
        self.successes += 1
        self.consecutive_failures = 0
        if self._state == HALF_OPEN:
            self._probe_in_flight = False
            self._move(CLOSED)

    def failure(self) -> None:
        self.failures += 1
        self.consecutive_failures += 1
        if self._state == HALF_OPEN:
            self._probe_in_flight = False
            self._move(OPEN)
        elif self._state == CLOSED and self.consecutive_failures >= self.failure_threshold:
            self._move(OPEN)

    def seconds_until_probe(self) -> float:
        """How long an open breaker still waits before its half-open probe (0 otherwise)."""
        if self.state != OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown - self._clock())


@dataclass(frozen=True)
class Backoff:
    """Waits before the retries of a read: base, base*factor, base*factor^2 ..., capped.

    No jitter: each client connection of the ambassador runs its commands one after another, so
    retries of many clients do not line up the way a fleet of independent clients' would.
    """

    retries: int = 2
    base: float = 0.05
    factor: float = 2.0
    cap: float = 1.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 for the first retry)."""
        if retry < 1:
            return 0.0
        return min(self.cap, self.base * self.factor ** (retry - 1))

    def delays(self) -> list[float]:
        return [self.delay(retry) for retry in range(1, self.retries + 1)]


# ---------------------------------------------------------------------------------------------
# Routing: what a client command asks of which shards
# ---------------------------------------------------------------------------------------------

Reply = object  # bytes | int | None | list | SimpleString | RespError


@dataclass
class Plan:
    """What one client command needs: shard calls (made concurrently), and how their replies,
    in the same order, make the client's reply. No calls: `combine([])` is the answer."""

    calls: list[tuple[str, list[bytes]]]
    combine: Callable[[list[Reply]], Reply]
    retryable: bool = False


SUPPORTED = ("GET", "SET", "DEL", "EXISTS", "INCR", "MGET", "PING", "DBSIZE", "KEYS",
             "FLUSHALL", "INFO", "QUIT")
READS = frozenset({"GET", "EXISTS", "MGET", "DBSIZE", "KEYS"})
OK = SimpleString("OK")
PONG = SimpleString("PONG")

# (least, most) arguments after the command name; None: no upper limit
_ARITY = {
    "GET": (1, 1), "SET": (2, None), "DEL": (1, None), "EXISTS": (1, None), "INCR": (1, 1),
    "MGET": (1, None), "PING": (0, 1), "DBSIZE": (0, 0), "KEYS": (1, 1), "FLUSHALL": (0, 1),
    "INFO": (0, 1), "QUIT": (0, 0),
}


def command_name(args: Sequence[bytes]) -> str:
    return args[0].decode("utf-8", "replace").upper()


def unsupported(name: str) -> RespError:
    return RespError(
        f"ERR command not supported by the ambassador: '{name}' "
        f"(it supports {', '.join(SUPPORTED)})"
    )


def arity_error(args: Sequence[bytes]) -> RespError | None:
    """Redis's own error for a wrong number of arguments, or None when the count is right."""
    name = command_name(args)
    least, most = _ARITY[name]
    given = len(args) - 1
    if given < least or (most is not None and given > most):
        return RespError(f"ERR wrong number of arguments for '{name.lower()}' command")
    return None


def plan_command(args: Sequence[bytes], ring: HashRing) -> Plan:
    """The plan of a client command (a list of bytes, name first). INFO and QUIT are the
    ambassador's own business and are not planned here."""
    name = command_name(args)
    if name not in _ARITY or name in ("INFO", "QUIT"):
        return _answer(unsupported(name))
    error = arity_error(args)
    if error is not None:
        return _answer(error)
    command = [name.encode(), *args[1:]]
    if name == "PING":
        return _answer(args[1] if len(args) == 2 else PONG)
    if name in ("GET", "SET", "INCR"):
        return Plan([(ring.shard_for(args[1]), command)], _only_reply, name in READS)
    if name in ("DEL", "EXISTS"):
        calls, _ = _split_keys(name, args[1:], ring)
        return Plan(calls, _sum_replies, name in READS)
    if name == "MGET":
        calls, positions = _split_keys(name, args[1:], ring)
        return Plan(calls, _reassemble(positions, len(args) - 1), retryable=True)
    everywhere = [(shard, command) for shard in ring.shards]
    if name == "DBSIZE":
        return Plan(everywhere, _sum_replies, retryable=True)
    if name == "KEYS":
        return Plan(everywhere, _merge_lists, retryable=True)
    return Plan(everywhere, _all_ok)  # FLUSHALL


def _answer(reply: Reply) -> Plan:
    return Plan([], lambda _replies: reply)


def _split_keys(
    name: str, keys: Sequence[bytes], ring: HashRing
) -> tuple[list[tuple[str, list[bytes]]], list[list[int]]]:
    """One call per shard with that shard's keys, and the keys' positions in the request."""
    positions: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        positions.setdefault(ring.shard_for(key), []).append(index)
    calls = [
        (shard, [name.encode(), *(keys[index] for index in indexes)])
        for shard, indexes in positions.items()
    ]
    return calls, list(positions.values())


def _first_error(replies: list[Reply]) -> RespError | None:
    return next((reply for reply in replies if isinstance(reply, RespError)), None)


def _only_reply(replies: list[Reply]) -> Reply:
    return replies[0]


def _sum_replies(replies: list[Reply]) -> Reply:
    error = _first_error(replies)
    if error is not None:
        return error
    return sum(int(reply) for reply in replies)  # type: ignore[call-overload]


def _merge_lists(replies: list[Reply]) -> Reply:
    error = _first_error(replies)
    if error is not None:
        return error
    return [item for reply in replies for item in reply]  # type: ignore[union-attr]


def _all_ok(replies: list[Reply]) -> Reply:
    return _first_error(replies) or OK


def _reassemble(positions: list[list[int]], count: int) -> Callable[[list[Reply]], Reply]:
    def combine(replies: list[Reply]) -> Reply:
        error = _first_error(replies)
        if error is not None:
            return error
        values: list[Reply] = [None] * count
        for indexes, reply in zip(positions, replies, strict=True):
            for index, value in zip(indexes, reply, strict=True):  # type: ignore[call-overload]
                values[index] = value
        return values

    return combine


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    shards: dict[str, str]  # name -> host:port, in the order given
    listen: str = "127.0.0.1:6379"
    timeout: float = 0.5
    retries: int = 2
    breaker_failures: int = 3
    breaker_cooldown: float = 5.0
    vnodes: int = 160
    backoff_base: float = 0.05


def parse_shards(text: str) -> dict[str, str]:
    """ "redis-0.redis:6379,b=10.0.0.7:6379" -> {"redis-0.redis:6379": "redis-0.redis:6379",
    "b": "10.0.0.7:6379"}."""
    shards: dict[str, str] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        name, _, address = entry.rpartition("=")
        address = address.strip()
        name = name.strip() or address
        split_address(address)
        if name in shards:
            raise ValueError(f"shard {name!r} is listed twice in SHARDS")
        shards[name] = address
    if not shards:
        raise ValueError(
            "SHARDS is empty: set it to the redis shards as comma-separated host:port, "
            "e.g. SHARDS=redis-0.redis:6379,redis-1.redis:6379,redis-2.redis:6379"
        )
    return shards


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{address!r} is not host:port (for example redis-0.redis:6379)")
    return host.strip("[]"), int(port)


def settings_from(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from command-line options, falling back to environment variables, then defaults."""
    defaults = Settings(shards={})
    parser = argparse.ArgumentParser(
        prog="ambassador.py", description="Redis-protocol proxy sharding keys over redis servers."
    )
    options = [
        ("shards", str, ""),
        ("listen", str, defaults.listen),
        ("timeout", float, defaults.timeout),
        ("retries", int, defaults.retries),
        ("breaker-failures", int, defaults.breaker_failures),
        ("breaker-cooldown", float, defaults.breaker_cooldown),
        ("vnodes", int, defaults.vnodes),
        ("backoff-base", float, defaults.backoff_base),
    ]
    for option, kind, default in options:
        variable = option.upper().replace("-", "_")
        parser.add_argument(
            f"--{option}", type=kind, default=kind(environ.get(variable, default)),
            help=f"(env {variable}, default {default!r})",
        )
    values = parser.parse_args(list(argv))
    if values.retries < 0 or values.timeout <= 0 or values.breaker_cooldown < 0:
        raise ValueError("TIMEOUT must be > 0, RETRIES and BREAKER_COOLDOWN >= 0")
    split_address(values.listen)
    return Settings(
        shards=parse_shards(values.shards),
        listen=values.listen,
        timeout=values.timeout,
        retries=values.retries,
        breaker_failures=values.breaker_failures,
        breaker_cooldown=values.breaker_cooldown,
        vnodes=values.vnodes,
        backoff_base=values.backoff_base,
    )


# ---------------------------------------------------------------------------------------------
# The ambassador's decisions, with its I/O injected
# ---------------------------------------------------------------------------------------------


class ShardIOError(Exception):
    """A shard call that failed for a reason worth counting against the shard's breaker
    (raised by a transport; `str()` is the short reason shown to clients)."""


class ShardUnavailable(Exception):
    """A shard could not answer (after retries, or its breaker is open)."""

    def __init__(self, shard: str, reason: str) -> None:
        super().__init__(f"shard {shard} unavailable ({reason})")
        self.shard = shard
        self.reason = reason

    def reply(self) -> RespError:
        return RespError(f"ERR {self}")


# sends one command to one shard and returns its reply; raises ShardIOError, OSError or
# TimeoutError; must give up after `timeout` seconds
Transport = Callable[[str, list[bytes], float], Awaitable[Reply]]


@dataclass
class ShardStats:
    address: str
    breaker: Breaker
    calls: int = 0
    retries: int = 0
    timeouts: int = 0
    last_error: str = ""


@dataclass
class Ambassador:
    """Executes client commands: plans them on the ring, calls shards through `transport`
    behind each shard's breaker, retries reads after `sleep`, and reports with `info()`."""

    settings: Settings
    transport: Transport
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    log: Callable[[str], None] = lambda line: print(line, flush=True)
    commands: int = 0
    ring: HashRing = field(init=False)
    shards: dict[str, ShardStats] = field(init=False)
    backoff: Backoff = field(init=False)

    def __post_init__(self) -> None:
        self.ring = HashRing(self.settings.shards, vnodes=self.settings.vnodes)
        self.backoff = Backoff(retries=self.settings.retries, base=self.settings.backoff_base)
        self.shards = {}
        for name, address in self.settings.shards.items():
            breaker = Breaker(
                self.settings.breaker_failures,
                self.settings.breaker_cooldown,
                self.clock,
                on_change=self._breaker_logger(name),
            )
            self.shards[name] = ShardStats(address, breaker)

    def _breaker_logger(self, shard: str) -> Callable[[str, str], None]:
        def on_change(old: str, new: str) -> None:
            stats = self.shards[shard]
            why = {
                OPEN: f"after {stats.breaker.consecutive_failures} consecutive failures"
                f" ({stats.last_error}); probing again in {self.settings.breaker_cooldown:g}s",
                HALF_OPEN: "cool-down over, next call is a probe",
                CLOSED: "probe succeeded",
            }[new]
            self.log(f"ambassador: shard {shard} breaker {old} -> {new}: {why}")

        return on_change

    async def execute(self, args: list[bytes]) -> Reply:
        """The reply to one client command (a list of bytes, name first)."""
        self.commands += 1
        name = command_name(args)
        if name == "INFO":
            section = args[1].decode("utf-8", "replace").lower() if len(args) > 1 else ""
            if section not in ("", "ambassador", "all", "everything"):
                return RespError(
                    f"ERR INFO {section} is not supported by the ambassador; "
                    "try INFO ambassador (or ask a shard directly)"
                )
            return self.info().encode("utf-8")
        if name == "QUIT":
            return OK
        plan = plan_command(args, self.ring)
        if not plan.calls:
            return plan.combine([])
        # every call is awaited to its end (no orphan tasks), then the first failure answers
        replies = await asyncio.gather(
            *(self.call_shard(shard, command, plan.retryable) for shard, command in plan.calls),
            return_exceptions=True,
        )
        for reply in replies:
            if isinstance(reply, ShardUnavailable):
                return reply.reply()
            if isinstance(reply, BaseException):
                raise reply
        return plan.combine(list(replies))

    async def call_shard(self, shard: str, command: list[bytes], retryable: bool) -> Reply:
        """One shard's reply to one command, through its breaker, retried if `retryable`."""
        stats = self.shards[shard]
        breaker = stats.breaker
        attempts = 1 + (self.backoff.retries if retryable else 0)
        reason = "circuit open"
        for attempt in range(attempts):
            if attempt:
                stats.retries += 1
                await self.sleep(self.backoff.delay(attempt))
            if not breaker.allow():
                raise ShardUnavailable(shard, "circuit open")
            stats.calls += 1
            try:
                reply = await self.transport(shard, command, self.settings.timeout)
            except (asyncio.TimeoutError, TimeoutError):
                stats.timeouts += 1
                reason = f"timeout after {self.settings.timeout:g}s"
            except (ShardIOError, OSError, EOFError) as error:
                reason = describe_io_error(error)
            except BaseException:
                # cancelled mid-call: report it, or a half-open probe would be in flight forever
                breaker.failure()
                raise
            else:
                # an error *reply* (WRONGTYPE ...) still proves the shard is up
                breaker.success()
                return reply
            stats.last_error = reason
            breaker.failure()
        raise ShardUnavailable(shard, reason)

    def info(self) -> str:
        """`INFO ambassador`: settings, then one line per shard (redis's INFO format)."""
        settings = self.settings
        lines = [
            "# Ambassador",
            f"listen:{settings.listen}",
            f"shards:{len(self.shards)}",
            f"vnodes:{settings.vnodes}",
            f"timeout_seconds:{settings.timeout:g}",
            f"retries:{settings.retries}",
            f"breaker_failures:{settings.breaker_failures}",
            f"breaker_cooldown_seconds:{settings.breaker_cooldown:g}",
            f"commands_processed:{self.commands}",
            "",
            "# Shards",
        ]
        for index, (name, stats) in enumerate(self.shards.items()):
            breaker = stats.breaker
            fields = {
                "name": name,
                "address": stats.address,
                "state": breaker.state,
                "consecutive_failures": breaker.consecutive_failures,
                "calls": stats.calls,
                "successes": breaker.successes,
                "failures": breaker.failures,
                "timeouts": stats.timeouts,
                "retries": stats.retries,
                "rejected": breaker.rejected,
                "opened": breaker.opened,
                "half_opened": breaker.half_opened,
                "closed": breaker.closed,
                "last_error": stats.last_error.replace(",", ";").replace(" ", "_"),
            }
            lines.append(f"shard{index}:" + ",".join(f"{k}={v}" for k, v in fields.items()))
        return "\r\n".join(lines) + "\r\n"


def describe_io_error(error: BaseException) -> str:
    """A short reason for a failed shard call, for clients and logs."""
    if isinstance(error, ShardIOError):
        return str(error)
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "cannot resolve host"
    if isinstance(error, (ConnectionResetError, BrokenPipeError, EOFError)):
        return "connection lost"
    return getattr(error, "strerror", None) or type(error).__name__


def parse_info(text: str | bytes) -> dict[str, dict[str, object]]:
    """`INFO ambassador` as data: {"ambassador": {setting: value}, "shards": {name: {...}}}."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    result: dict[str, dict[str, object]] = {"ambassador": {}, "shards": {}}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        if key.startswith("shard") and key[5:].isdigit():
            shard = {k: _number(v) for k, _, v in (f.partition("=") for f in value.split(","))}
            result["shards"][str(shard["name"])] = shard
        else:
            result["ambassador"][key] = _number(value)
    return result


def _number(text: str) -> object:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


# ---------------------------------------------------------------------------------------------
# The I/O shell: asyncio sockets
# ---------------------------------------------------------------------------------------------


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = RespParser()
        self.ready: list[Reply] = []

    async def request(self, command: list[bytes]) -> Reply:
        self.writer.write(encode(command))
        await self.writer.drain()
        while not self.ready:
            data = await self.reader.read(65536)
            if not data:
                raise ShardIOError("connection lost")
            self.ready.extend(self.parser.feed(data))
        return self.ready.pop(0)

    def close(self) -> None:
        self.writer.close()


class ShardConnections:
    """The real transport: a pool of idle TCP connections per shard, reused between calls.

    A connection is closed rather than pooled when its call fails or times out: a late reply
    would otherwise be taken as the answer to the next command.
    """

    def __init__(self, addresses: Mapping[str, str]) -> None:
        self._addresses = {name: split_address(address) for name, address in addresses.items()}
        self._idle: dict[str, list[_Connection]] = {name: [] for name in addresses}

    async def __call__(self, shard: str, command: list[bytes], timeout: float) -> Reply:
        return await asyncio.wait_for(self._call(shard, command), timeout)

    async def _call(self, shard: str, command: list[bytes]) -> Reply:
        connection = self._take_idle(shard)
        if connection is None:
            host, port = self._addresses[shard]
            reader, writer = await asyncio.open_connection(host, port)
            connection = _Connection(reader, writer)
        try:
            reply = await connection.request(command)
        except BaseException:
            connection.close()
            # the shard failed: its other idle connections are suspect too
            self.close_idle(shard)
            raise
        self._idle[shard].append(connection)
        return reply

    def _take_idle(self, shard: str) -> _Connection | None:
        idle = self._idle[shard]
        while idle:
            connection = idle.pop()
            if not connection.reader.at_eof():  # the shard closed it (restarted, timeout)
                return connection
            connection.close()
        return None

    def close_idle(self, shard: str | None = None) -> None:
        for name in [shard] if shard else list(self._idle):
            for connection in self._idle[name]:
                connection.close()
            self._idle[name].clear()


def _is_command(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(a, bytes) for a in value)


async def _serve_client(
    ambassador: Ambassador, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    parser = RespParser(inline_commands=True)
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            try:
                commands = parser.feed(data)
            except ProtocolError as error:
                writer.write(encode(RespError(f"ERR Protocol error: {error}")))
                return
            # pipelined commands run one after another, so a SET is done before the next GET
            for command in commands:
                if not _is_command(command):
                    writer.write(encode(RespError("ERR Protocol error: expected bulk strings")))
                    return
                writer.write(encode(await ambassador.execute(command)))
                if command_name(command) == "QUIT":
                    return
            await writer.drain()
    except ConnectionError:
        pass  # the client went away; nothing to answer
    finally:
        writer.close()


async def start(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.monotonic,
    log: Callable[[str], None] = lambda line: print(line, flush=True),
) -> tuple[asyncio.AbstractServer, Ambassador]:
    """Listen on settings.listen (port 0: any free port) and serve; returns the server (its
    socket tells the port) and the ambassador (its state). Stop with server.close()."""
    transport = ShardConnections(settings.shards)
    ambassador = Ambassador(settings, transport, clock=clock, log=log)
    host, port = split_address(settings.listen)

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_client(ambassador, reader, writer)

    server = await asyncio.start_server(on_client, host, port)
    bound = server.sockets[0].getsockname()
    shards = ", ".join(f"{name}={address}" for name, address in settings.shards.items())
    log(f"ambassador: listening on {bound[0]}:{bound[1]}; shards {shards}")
    return server, ambassador


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT (what Kubernetes sends to stop the container)."""
    server, _ambassador = await start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()
    print("ambassador: stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = settings_from(sys.argv[1:] if argv is None else argv, os.environ)
    except ValueError as error:
        print(f"ambassador: {error}", file=sys.stderr, flush=True)
        return 2
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
