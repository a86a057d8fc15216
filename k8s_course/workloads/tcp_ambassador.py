"""The TCP ambassador: the app's localhost:5432 relayed to a database that lives elsewhere.

The app in the pod connects to 127.0.0.1:5432 as if PostgreSQL ran next to it; this program, in
a second container of the same pod, accepts the connection, opens one to TARGET (another
namespace, another cluster, a managed database) and copies bytes both ways until either side
closes. It knows nothing of PostgreSQL: the login, the password and every query pass through
untouched, end to end, so the app keeps its credentials and the ambassador holds none. Moving
the database changes TARGET, not the app.

Settings come from the environment or from the same-named options (--target ...):
  TARGET           host:port to relay to, e.g. db.warehouse.svc.cluster.local:5432 (required)
  LISTEN           address to serve on, default 127.0.0.1:5432 (this pod only)
  CONNECT_TIMEOUT  seconds to wait for TARGET to accept a connection, default 5

The log has one line per connection, `relay <client> -> <target>`, or
`relay <client> -> <target> failed: <reason>` when TARGET cannot be reached (the client's
connection is then closed, which psql reports as "server closed the connection unexpectedly").

Runs as `python tcp_ambassador.py` in a stock python image; standard library only. The pure core
(Settings, settings_from, split_address, describe_error, the log lines and the `Connections`
accounting) is apart from the asyncio shell (relay_connection, start, serve, main), so the
simulator can run the same core with simulated connections.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "Connections",
    "Settings",
    "describe_error",
    "failure_line",
    "listening_line",
    "main",
    "relay_connection",
    "relay_line",
    "serve",
    "settings_from",
    "split_address",
    "start",
    "stopped_line",
]

CHUNK = 65536

# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    target: str  # host:port
    listen: str = "127.0.0.1:5432"
    connect_timeout: float = 5.0

    @property
    def target_address(self) -> tuple[str, int]:
        return split_address(self.target)

    @property
    def listen_address(self) -> tuple[str, int]:
        return split_address(self.listen)


def split_address(address: str) -> tuple[str, int]:
    """ "db.warehouse.svc.cluster.local:5432" -> ("db.warehouse.svc.cluster.local", 5432)."""
    host, _, port = address.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{address!r} is not host:port (for example db.warehouse.svc.cluster.local:5432)")
    return host.strip("[]"), int(port)


def settings_from(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from command-line options, falling back to environment variables, then defaults."""
    defaults = Settings(target="")
    parser = argparse.ArgumentParser(prog="tcp_ambassador.py",
                                     description="Relay TCP connections from LISTEN to TARGET.")
    parser.add_argument("--target", default=environ.get("TARGET", ""))
    parser.add_argument("--listen", default=environ.get("LISTEN", defaults.listen))
    parser.add_argument("--connect-timeout", default=environ.get("CONNECT_TIMEOUT", defaults.connect_timeout))
    values = parser.parse_args(list(argv))
    if not values.target.strip():
        raise ValueError("TARGET is empty: set it to the database's host:port, "
                         "e.g. TARGET=db.warehouse.svc.cluster.local:5432")
    try:
        timeout = float(values.connect_timeout)
    except ValueError:
        raise ValueError(f"CONNECT_TIMEOUT must be a number of seconds, not {values.connect_timeout!r}") from None
    if timeout <= 0:
        raise ValueError(f"CONNECT_TIMEOUT must be more than 0 seconds, not {timeout:g}")
    settings = Settings(target=values.target.strip(), listen=values.listen.strip(), connect_timeout=timeout)
    settings.target_address  # noqa: B018  (validates, raising ValueError with the address)
    settings.listen_address  # noqa: B018
    return settings


# ---------------------------------------------------------------------------------------------
# The log lines and the accounting
# ---------------------------------------------------------------------------------------------


def listening_line(listen: str, target: str) -> str:
    return f"tcp-ambassador: listening on {listen}, relaying to {target}"


def relay_line(client: str, target: str) -> str:
    return f"relay {client} -> {target}"


def failure_line(client: str, target: str, reason: str) -> str:
    return f"relay {client} -> {target} failed: {reason}"


def stopped_line(connections: Connections) -> str:
    return f"tcp-ambassador: stopped after {connections.summary()}"


def describe_error(error: BaseException, connect_timeout: float | None = None) -> str:
    """A short reason for a connection to TARGET that failed, for the log."""
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return f"timeout after {connect_timeout:g}s" if connect_timeout else "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "cannot resolve host"
    if isinstance(error, (ConnectionResetError, BrokenPipeError, EOFError)):
        return "connection lost"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


class Connections:
    """What the relay did: connections relayed (and how many are open now), failed, bytes moved.

    `opened()` and `failed()` return the connection's log line; `moved()` counts bytes as they
    go through, `closed()` ends a relayed connection."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.relayed = 0
        self.active = 0
        self.failures = 0
        self.bytes_up = 0  # client -> target
        self.bytes_down = 0  # target -> client

    def opened(self, client: str) -> str:
        self.relayed += 1
        self.active += 1
        return relay_line(client, self.target)

    def failed(self, client: str, reason: str) -> str:
        self.failures += 1
        return failure_line(client, self.target, reason)

    def moved(self, up: int = 0, down: int = 0) -> None:
        self.bytes_up += up
        self.bytes_down += down

    def closed(self) -> None:
        self.active = max(0, self.active - 1)

    def summary(self) -> str:
        relayed = f"relaying {self.relayed} connection{'' if self.relayed == 1 else 's'}"
        return (f"{relayed} ({self.active} open), {self.failures} failed, "
                f"{self.bytes_up} bytes up, {self.bytes_down} bytes down")


# ---------------------------------------------------------------------------------------------
# The I/O shell: asyncio sockets
# ---------------------------------------------------------------------------------------------


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "unknown")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: Callable[[int], None]) -> None:
    """Copy until EOF, then pass the EOF on (half-close), counting what went through."""
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
            count(len(data))
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass  # one side went away; the other direction ends on its own


async def relay_connection(settings: Settings, connections: Connections, log: Callable[[str], None],
                           client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
    """One client's connection: open one to TARGET and copy both ways until both sides are done."""
    client = _peer(client_writer)
    host, port = settings.target_address
    try:
        upstream_reader, upstream_writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), settings.connect_timeout)
    except (OSError, asyncio.TimeoutError) as error:
        log(connections.failed(client, describe_error(error, settings.connect_timeout)))
        client_writer.close()
        return
    log(connections.opened(client))
    try:
        await asyncio.gather(_pipe(client_reader, upstream_writer, lambda n: connections.moved(up=n)),
                             _pipe(upstream_reader, client_writer, lambda n: connections.moved(down=n)))
    finally:
        connections.closed()
        for writer in (upstream_writer, client_writer):
            writer.close()


async def start(settings: Settings, log: Callable[[str], None] = lambda line: print(line, flush=True),
                relays: set[asyncio.Task] | None = None) -> tuple[asyncio.AbstractServer, Connections]:
    """Listen on settings.listen (port 0: any free port) and relay; returns the server (its
    socket tells the port) and the accounting. Stop with server.close(). `relays`, if given,
    holds the task of every connection being relayed (to end them at shutdown)."""
    connections = Connections(settings.target)
    host, port = settings.listen_address

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if relays is not None and task is not None:
            relays.add(task)
        try:
            await relay_connection(settings, connections, log, reader, writer)
        finally:
            if relays is not None and task is not None:
                relays.discard(task)

    server = await asyncio.start_server(on_client, host, port)
    bound = server.sockets[0].getsockname()
    log(listening_line(f"{bound[0]}:{bound[1]}", settings.target))
    return server, connections


async def serve(settings: Settings) -> None:
    """Relay until SIGTERM or SIGINT (what Kubernetes sends to stop the container); then stop
    accepting and close the connections still open (their clients see the server go away)."""
    relays: set[asyncio.Task] = set()
    server, connections = await start(settings, relays=relays)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    for task in list(relays):
        task.cancel()
    await asyncio.gather(*relays, return_exceptions=True)
    print(stopped_line(connections), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = settings_from(sys.argv[1:] if argv is None else argv, os.environ)
    except ValueError as error:
        print(f"tcp-ambassador: {error}", file=sys.stderr, flush=True)
        return 2
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
