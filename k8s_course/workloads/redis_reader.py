"""The app's read loop: a steady stream of GETs through the ambassador, summed up every second.

An app that reads all the time, so that a shard's outage shows as what the app lives through:
errors and waiting. It connects to redis on localhost (the ambassador, in the same pod), reads
the KEYS in turn, RATE reads a second, and logs one line per second of the reads that started in
it:

    reads second=1767225600 reads=12 errors=4 misses=0 mean_ms=0.4 max_ms=1.3 error=ERR shard ...

`errors` are error replies (the ambassador's `-ERR shard ... unavailable (...)`) and connections
that failed or timed out; `misses` are keys that are not there (a nil reply: not an error);
`error` is the last error's text, if any. `python redis_reader.py info` asks once for
`INFO ambassador` and prints the reply (with the reader's clock first, `clock:<seconds>`), for
when no redis-cli is at hand.

Settings come from the environment or from the same-named options (--keys ...):
  TARGET   host:port of the redis (the ambassador), default 127.0.0.1:6379
  KEYS     comma-separated keys to read in turn, default key:1 to key:12
  RATE     reads per second, default 12
  TIMEOUT  seconds a read may take before it counts as an error, default 2

Runs as `python redis_reader.py` in a stock python image; standard library only. The pure core
(settings, the RESP bits, `Second`, `format_line`/`parse_line`, `run_reader` with its I/O
injected) is apart from the asyncio shell (`RedisConnection`, main), so the simulator can run the
same loop with simulated connections and a simulated clock.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ReplyError",
    "RedisConnection",
    "Second",
    "Settings",
    "encode_command",
    "format_line",
    "info_text",
    "main",
    "parse_line",
    "parse_reply",
    "run_reader",
    "settings_from",
]

DEFAULT_KEYS = tuple(f"key:{number}" for number in range(1, 13))

# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    target: str = "127.0.0.1:6379"
    keys: tuple[str, ...] = DEFAULT_KEYS
    rate: float = 12.0
    timeout: float = 2.0

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.target.rpartition(":")
        return host.strip("[]"), int(port)


def settings_from(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[str, Settings]:
    """(mode, settings): mode is "loop" or "info"; options fall back to environment variables."""
    parser = argparse.ArgumentParser(prog="redis_reader.py", description="Read keys through redis in a loop.")
    parser.add_argument("mode", nargs="?", default="loop", choices=("loop", "info"))
    parser.add_argument("--target", default=environ.get("TARGET", Settings.target))
    parser.add_argument("--keys", default=environ.get("KEYS", ",".join(DEFAULT_KEYS)))
    parser.add_argument("--rate", default=environ.get("RATE", Settings.rate))
    parser.add_argument("--timeout", default=environ.get("TIMEOUT", Settings.timeout))
    values = parser.parse_args(list(argv))
    host, _, port = values.target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"TARGET {values.target!r} is not host:port (for example 127.0.0.1:6379)")
    keys = tuple(key.strip() for key in values.keys.split(",") if key.strip())
    if not keys:
        raise ValueError("KEYS is empty: name the keys to read, e.g. KEYS=key:1,key:2,key:3")
    try:
        rate, timeout = float(values.rate), float(values.timeout)
    except ValueError:
        raise ValueError(f"RATE and TIMEOUT must be numbers, not {values.rate!r} and {values.timeout!r}") from None
    if rate <= 0 or timeout <= 0:
        raise ValueError("RATE and TIMEOUT must be more than 0")
    return values.mode, Settings(values.target, keys, rate, timeout)


# ---------------------------------------------------------------------------------------------
# RESP, the little a client needs
# ---------------------------------------------------------------------------------------------


class ReplyError(str):
    """An error reply (`-ERR ...`): an answer, not a broken connection."""


def encode_command(*words: str | bytes) -> bytes:
    """A command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(words)]
    for word in words:
        data = word.encode("utf-8") if isinstance(word, str) else word
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def parse_reply(buffer: bytes, start: int = 0) -> tuple[object, int] | None:
    """One reply from `buffer` at `start`: (value, end), or None if it has not all arrived.
    Bulk strings are bytes (None for nil), `+` lines str, `-` lines ReplyError, `:` int."""
    end = buffer.find(b"\r\n", start)
    if end < 0:
        return None
    marker, text = buffer[start:start + 1], buffer[start + 1:end]
    after = end + 2
    if marker == b"+":
        return text.decode("utf-8", "replace"), after
    if marker == b"-":
        return ReplyError(text.decode("utf-8", "replace")), after
    if marker == b":":
        return int(text), after
    if marker == b"$":
        length = int(text)
        if length < 0:
            return None, after
        if len(buffer) < after + length + 2:
            return None
        return buffer[after:after + length], after + length + 2
    if marker == b"*":
        count = int(text)
        items: list[object] = []
        for _ in range(max(count, 0)):
            parsed = parse_reply(buffer, after)
            if parsed is None:
                return None
            item, after = parsed
            items.append(item)
        return (items if count >= 0 else None), after
    raise ValueError(f"not a RESP reply: {bytes(buffer[start:start + 20])!r}")


def info_text(reply: object, clock: float) -> str:
    """What `info` prints: the reader's clock, then the INFO reply as redis-cli prints it."""
    if isinstance(reply, ReplyError):
        body = f"{reply}\n"
    elif isinstance(reply, bytes):
        body = reply.decode("utf-8", "replace")
    else:
        body = f"{reply}\n"
    return f"# Reader\r\nclock:{clock:.3f}\r\n\r\n{body}"


# ---------------------------------------------------------------------------------------------
# The loop, with its I/O injected
# ---------------------------------------------------------------------------------------------


@dataclass
class Second:
    """The reads that started in one second of the clock."""

    second: int
    reads: int = 0
    errors: int = 0
    misses: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds
    last_error: str = ""

    def add(self, latency: float, error: str | None = None, miss: bool = False) -> None:
        self.reads += 1
        self.latencies.append(latency)
        if error is not None:
            self.errors += 1
            self.last_error = error
        elif miss:
            self.misses += 1

    def line(self) -> str:
        mean = 1000 * sum(self.latencies) / len(self.latencies) if self.latencies else 0.0
        longest = 1000 * max(self.latencies, default=0.0)
        return format_line(self.second, self.reads, self.errors, self.misses, mean, longest, self.last_error)


def format_line(second: int, reads: int, errors: int, misses: int, mean_ms: float, max_ms: float,
                error: str = "") -> str:
    line = (f"reads second={second} reads={reads} errors={errors} misses={misses} "
            f"mean_ms={mean_ms:.1f} max_ms={max_ms:.1f}")
    return line + (f" error={error}" if error else "")


def parse_line(line: str) -> dict | None:
    """A `reads ...` line as {"second": int, "reads": int, ..., "error": str}; None for others."""
    if not line.startswith("reads second="):
        return None
    head, _, error = line.partition(" error=")
    fields = dict(part.split("=", 1) for part in head.split()[1:] if "=" in part)
    try:
        return {"second": int(fields["second"]), "reads": int(fields["reads"]), "errors": int(fields["errors"]),
                "misses": int(fields["misses"]), "mean_ms": float(fields["mean_ms"]),
                "max_ms": float(fields["max_ms"]), "error": error}
    except (KeyError, ValueError):
        return None


def describe(error: BaseException, timeout: float) -> str:
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return f"timeout after {timeout:g}s"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "cannot resolve host"
    if isinstance(error, (ConnectionError, EOFError)):
        return "connection lost"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


async def run_reader(settings: Settings, read: Callable[[str], Awaitable[object]], clock: Callable[[], float],
                     sleep: Callable[[float], Awaitable[None]], log: Callable[[str], None]) -> None:
    """Read forever (until cancelled): `read(key)` returns the reply or raises (TimeoutError
    after settings.timeout: its own clock's business); one line a second.

    Reads are one after another, as in a simple app: a read that waits holds up the next ones,
    so a second spent waiting shows as few reads with a long max_ms, or as no reads at all."""
    interval = 1.0 / settings.rate
    current: Second | None = None
    due = clock()
    index = 0
    try:
        while True:
            key = settings.keys[index % len(settings.keys)]
            index += 1
            started = clock()
            second = int(started)
            if current is None or current.second != second:
                if current is not None:
                    log(current.line())
                    # seconds in which no read started (the app was waiting) are said, not skipped
                    for idle in range(current.second + 1, min(second, current.second + 61)):
                        log(Second(idle).line())
                current = Second(second)
            try:
                reply = await read(key)
            except Exception as error:  # any failure is the app's error, counted, never fatal
                current.add(clock() - started, describe(error, settings.timeout))
            else:
                if isinstance(reply, ReplyError):
                    current.add(clock() - started, str(reply))
                else:
                    current.add(clock() - started, miss=reply is None)
            due = max(due + interval, clock())  # late after a wait: go on from now, no burst to catch up
            await sleep(max(0.0, due - clock()))
    finally:
        if current is not None and current.reads:
            log(current.line())


# ---------------------------------------------------------------------------------------------
# The I/O shell: asyncio sockets
# ---------------------------------------------------------------------------------------------


class RedisConnection:
    """One connection to redis, opened on first use and again after a failure."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._buffer = b""

    async def command(self, *words: str) -> object:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
            self._buffer = b""
        reader, writer = self._streams
        try:
            writer.write(encode_command(*words))
            await writer.drain()
            while True:
                parsed = parse_reply(self._buffer)
                if parsed is not None:
                    value, end = parsed
                    self._buffer = self._buffer[end:]
                    return value
                data = await reader.read(65536)
                if not data:
                    raise ConnectionResetError("connection lost")
                self._buffer += data
        except BaseException:
            self.close()  # a late reply would be taken for the next command's
            raise

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def _loop(settings: Settings) -> None:
    connection = RedisConnection(*settings.address)
    print(f"redis-reader: reading {len(settings.keys)} keys from {settings.target}, "
          f"{settings.rate:g} a second", flush=True)
    task = asyncio.ensure_future(run_reader(settings, lambda key: asyncio.wait_for(connection.command("GET", key), settings.timeout), time.time,
                                            asyncio.sleep, lambda line: print(line, flush=True)))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await asyncio.wait({task, asyncio.ensure_future(stopping.wait())}, return_when=asyncio.FIRST_COMPLETED)
    # cancel until it takes: Python 3.11's wait_for can swallow a cancellation that arrives just
    # as the read it guards completes, and the loop would then read on
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.2)
    connection.close()
    print("redis-reader: stopped", flush=True)


async def _info(settings: Settings) -> int:
    connection = RedisConnection(*settings.address)
    try:
        reply = await asyncio.wait_for(connection.command("INFO", "ambassador"), settings.timeout)
    except (OSError, asyncio.TimeoutError) as error:
        print(f"redis-reader: cannot ask {settings.target}: {describe(error, settings.timeout)}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    sys.stdout.write(info_text(reply, time.time()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        mode, settings = settings_from(sys.argv[1:] if argv is None else argv, os.environ)
    except ValueError as error:
        print(f"redis-reader: {error}", file=sys.stderr, flush=True)
        return 2
    if mode == "info":
        return asyncio.run(_info(settings))
    asyncio.run(_loop(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
