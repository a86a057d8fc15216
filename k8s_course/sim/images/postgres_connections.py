"""Reaching a server: the servers of a cluster, libpq's `connect`, and the client's `Session`.

Part of the PostgreSQL model (overview in `postgres_models`). A server listens on PORT on its
pod IP, localhost and the unix socket (SOCKET_DIR) of its pod; `PgServers` (one per cluster,
`servers_for`) is where clients find it. `find_server(ctx, host, port)` is the server a
host:port reaches from a container's pod (its name resolved through the pod's DNS, a
Service's clusterIP through kube-proxy's pick), or ConnectFailure with libpq's words
(refused when nothing listens). `connect` opens a `Session`; when either pod's node is cut off
(`path_open` is False) it waits CONNECT_TIMEOUT and times out, as the kernel's SYN retries do,
and a session over a cut link never gets an answer. Client queries cost no simulated time;
only replication does.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

from k8s_course.sim.images import base, postgres_sql

if TYPE_CHECKING:  # annotations only: the server module imports this one
    from k8s_course.sim.images import postgres_server

PORT = 5432
SOCKET_DIR = "/var/run/postgresql"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
CONNECT_TIMEOUT = 127.0  # libpq without connect_timeout: the kernel's SYN retries
REFUSED = "Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?"
TIMED_OUT = "Connection timed out\n\tIs the server running on that host and accepting TCP/IP connections?"
LOST = ("server closed the connection unexpectedly\n\tThis probably means the server terminated "
        "abnormally\n\tbefore or while processing the request.")


# ---------------------------------------------------------------------------------------------
# The servers of a cluster, and reaching one
# ---------------------------------------------------------------------------------------------


class PgServers:
    """The PostgreSQL servers listening in one cluster: (pod IP, port) -> server."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, int], postgres_server.PostgresServer] = {}

    def open(self, ip: str, port: int, server: postgres_server.PostgresServer) -> None:
        self._servers[(ip, port)] = server

    def close(self, ip: str, port: int, server: postgres_server.PostgresServer) -> None:
        if self._servers.get((ip, port)) is server:
            del self._servers[(ip, port)]

    def at(self, ip: str, port: int, tcp: bool = True) -> postgres_server.PostgresServer | None:
        server = self._servers.get((ip, port))
        if server is None or (tcp and not server.tcp):
            return None
        return server


_CLUSTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def servers_for(network) -> PgServers:
    """The PostgreSQL servers of the cluster `network` (a pod's Network) belongs to."""
    owner = getattr(network, "network", network)  # PodView -> the cluster's PodNetwork
    attached = getattr(owner, "pg_servers", None)
    if isinstance(attached, PgServers):
        return attached
    try:
        found = _CLUSTERS.get(owner)
        if found is None:
            found = _CLUSTERS[owner] = PgServers()
    except TypeError:
        found = owner.pg_servers = PgServers()
    return found


def _reachable(ctx) -> bool:
    """False while the pod's node is cut off from the network."""
    own = getattr(ctx.network, "own", None)
    return getattr(own, "reachable", True)


def path_open(a, b) -> bool:
    """Whether packets pass between two containers' pods (False while either node is cut off)."""
    if a is b or a.pod_ip == b.pod_ip:
        return True
    return _reachable(a) and _reachable(b)


def socket_path(port: int) -> str:
    return f"{SOCKET_DIR}/.s.PGSQL.{port}"


def find_server(ctx, host: str | None, port: int) -> tuple[postgres_server.PostgresServer, str, str | None]:
    """The server host:port reaches from ctx's pod: (server, libpq's "connection to ..." prefix,
    the client address it sees, None for the unix socket); ConnectFailure if none listens."""
    servers = servers_for(ctx.network)
    if not host or host.startswith("/"):
        where = f'connection to server on socket "{socket_path(port)}" failed: '
        server = servers.at(ctx.pod_ip, port, tcp=False)
        if server is None:
            raise postgres_sql.ConnectFailure(where + "No such file or directory\n\tIs the server running locally "
                                         "and accepting connections on that socket?")
        return server, where, None
    addresses = ctx.network.resolve(host)
    if not addresses:
        raise postgres_sql.ConnectFailure(f'could not translate host name "{host}" to address: Name or service not known')
    address = addresses[0]
    where = f'connection to server at "{host}" ({address}), port {port} failed: '
    loopback = address in LOOPBACK
    server = servers.at(ctx.pod_ip if loopback else address, port)
    if server is None and ctx.network.is_listening(host, port):
        target = getattr(ctx.network, "_target", None)  # a Service's clusterIP: kube-proxy's pick
        found = target(host, port) if target is not None else None
        candidate = getattr(found[1], "server", None) if found else None
        if candidate is not None and candidate.tcp:
            server = candidate
    if server is None:
        raise postgres_sql.ConnectFailure(where + REFUSED)
    return server, where, "127.0.0.1" if loopback else ctx.pod_ip


async def connect(ctx, host: str | None, port: int = PORT, *, user: str = "postgres",
                  database: str = "postgres", replication: bool = False, env: dict | None = None,
                  timeout: float | None = None) -> Session:
    """A session from ctx's pod to the server on host:port (None: the unix socket).

    Raises ConnectFailure with libpq's words; waits `timeout` (the kernel's connect timeout if
    None) before "Connection timed out" when the server's node is cut off."""
    server, where, client_ip = find_server(ctx, host, port)
    if not path_open(ctx, server.ctx):
        await ctx.clock.sleep(CONNECT_TIMEOUT if timeout is None else timeout)
        raise postgres_sql.ConnectFailure(where + TIMED_OUT)
    problem = server.admit(client_ip, user, database, replication, env or {})
    if problem:
        raise postgres_sql.ConnectFailure(where + problem)
    return Session(server, ctx, user, database)


class Session:
    """One client connection to one server: statements in, results out."""

    def __init__(self, server: postgres_server.PostgresServer, client_ctx: base.ContainerContext | None,
                 user: str, database: str):
        self.server = server
        self.client_ctx = client_ctx
        self.user = user
        self.database = database
        self.settings: dict[str, str] = {}  # SET in this session
        self.notices: list[str] = []

    async def execute(self, sql: str) -> list[postgres_sql.Result]:
        """Run one query string; SqlError (with .results of what ran before it), ConnectionLost."""
        server = self.server
        if server.state not in ("running", "init"):
            raise postgres_sql.ConnectionLost(postgres_sql.TERMINATED)
        if self.client_ctx is not None and not path_open(self.client_ctx, server.ctx):
            await asyncio.get_running_loop().create_future()  # the packets go nowhere
        statements = postgres_sql.parse_query(sql)
        results: list[postgres_sql.Result] = []
        for statement in statements:
            try:
                results.append(await server.run_statement(statement, self))
            except postgres_sql.SqlError as error:
                error.results = results
                raise
        return results
