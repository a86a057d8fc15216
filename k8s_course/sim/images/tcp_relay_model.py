"""`python /app/tcp_ambassador.py` in the simulator: the pod's localhost:5432 relayed to TARGET.

The real program (k8s_course.workloads.tcp_ambassador) copies bytes; the simulated cluster has no
bytes between pods, only the PostgreSQL model's sessions (`postgres_models.connect`, `Session`).
So the relay here is a stand-in server in the cluster's `PgServers` at (pod IP, LISTEN port):
psql in any container of the pod (`psql -h 127.0.0.1`) finds it as it would find a PostgreSQL,
and each of its statements runs on a session the relay holds to the server behind TARGET, from
the relay's own pod (so TARGET's name resolves through this pod's DNS, a Service's clusterIP
picks an endpoint, and the database sees the relay's pod as its client, as with real TCP).

What the real program decides runs here unchanged: its settings and their complaints, its log
lines (`relay <client> -> <target>`, `... failed: <reason>`, the listening and stopped lines)
and its `Connections` accounting. Authentication passes through as with a real relay: the
database's pg_hba and password rules apply to the app's login (its PGPASSWORD), and the
database's FATAL reaches psql. A TARGET that cannot be reached closes the app's connection
(psql: "server closed the connection unexpectedly"); one whose node is cut off does so after
CONNECT_TIMEOUT, at the first statement.

Not modelled: replication connections and pg_dumpall's server-side dump through the relay are
refused with the simulator's "not modelled" words; the client ports in the log are counted from
32768 (Linux picks them at random); `bytes up/down` stay 0 (there are no bytes).
"""

from __future__ import annotations

import asyncio
import weakref

from k8s_course.sim.images import postgres_models as pg
from k8s_course.sim.images import program_args
from k8s_course.workloads import tcp_ambassador as core

FIRST_CLIENT_PORT = 32768  # the bottom of Linux's ip_local_port_range
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class RelayedDatabase:
    """The relay's listening socket, as the PostgreSQL model's clients find servers."""

    tcp = True  # reachable over TCP (never the unix socket)

    def __init__(self, ctx, settings: core.Settings, connections: core.Connections, log, loopback_only: bool):
        self.ctx = ctx
        self.ip = ctx.pod_ip
        self.settings = settings
        self.connections = connections
        self.log = log
        self.loopback_only = loopback_only
        self.state = "running"  # "stopped" once the program ends: its clients lose their connection
        self._next_port = FIRST_CLIENT_PORT
        self._sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # app's -> relay's

    # what postgres_models.connect asks of a server

    def admit(self, client_ip: str | None, user: str, database: str, replication: bool, env: dict) -> str | None:
        """Accept the app's connection and open one to TARGET: None, or why psql is refused."""
        if self.state != "running":
            return pg.REFUSED
        if self.loopback_only and client_ip != "127.0.0.1":
            return pg.REFUSED  # bound to 127.0.0.1: other pods find nothing listening
        client = self._client(client_ip)
        if replication:
            self.log(self.connections.failed(client, "replication is not relayed by the simulator"))
            return "FATAL:  " + pg.NOT_MODELLED.format(what="replication through tcp_ambassador")
        host, port = self.settings.target_address
        try:
            server, _where, _ = pg.find_server(self.ctx, host, port)
        except pg.ConnectFailure as failure:
            self.log(self.connections.failed(client, _reason(str(failure))))
            return pg.LOST
        if not pg.path_open(self.ctx, server.ctx):
            return None  # the connect hangs: decided at the first statement, after CONNECT_TIMEOUT
        self.log(self.connections.opened(client))
        return server.admit(self.ip, user, database, replication, env)

    async def run_statement(self, statement, session) -> pg.Result:
        """One statement of the app's session, run on the relay's session to TARGET."""
        upstream = await self._upstream_for(session)
        server = upstream.server
        if server.state not in ("running", "init"):
            self.connections.closed()
            raise pg.ConnectionLost(pg.TERMINATED)
        if not pg.path_open(self.ctx, server.ctx):
            await _forever()  # the packets go nowhere: psql waits, as on a real cut link
        try:
            return await server.run_statement(statement, upstream)
        finally:
            session.notices.extend(upstream.notices)
            upstream.notices.clear()

    def dump(self) -> str:
        raise pg.ConnectionLost("FATAL:  " + pg.NOT_MODELLED.format(what="pg_dumpall through tcp_ambassador"))

    # plumbing

    def _client(self, client_ip: str | None) -> str:
        port, self._next_port = self._next_port, self._next_port + 2  # Linux steps ephemeral ports by 2
        return f"{client_ip or '127.0.0.1'}:{port}"

    async def _upstream_for(self, session) -> pg.Session:
        upstream = self._sessions.get(session)
        if upstream is not None:
            return upstream
        host, port = self.settings.target_address
        try:
            server, _where, _ = pg.find_server(self.ctx, host, port)
        except pg.ConnectFailure:
            raise pg.ConnectionLost("") from None  # TARGET went away since the connect
        if not pg.path_open(self.ctx, server.ctx):
            client = self._client("127.0.0.1")
            await self.ctx.clock.sleep(self.settings.connect_timeout)
            self.log(self.connections.failed(client, f"timeout after {self.settings.connect_timeout:g}s"))
            raise pg.ConnectionLost("")
        upstream = pg.Session(server, self.ctx, session.user, session.database)
        self._sessions[session] = upstream
        return upstream


async def _forever() -> None:
    await asyncio.get_running_loop().create_future()


def _reason(libpq_message: str) -> str:
    """The real program's few words for what libpq says about a failed connect."""
    if "could not translate host name" in libpq_message:
        return "cannot resolve host"
    if "Connection refused" in libpq_message:
        return "connection refused"
    if "timed out" in libpq_message:
        return "timeout"
    return libpq_message.split(": ")[-1].split("\n")[0] or "connection failed"


async def tcp_ambassador_program(shell, argv: list[str], io, env: dict) -> int:
    """`python /app/tcp_ambassador.py [options]`: the real program's core, relaying sessions."""
    ctx = shell.ctx
    settings = program_args.settings_or_exit_code(core.settings_from, argv, env, io, "tcp-ambassador")
    if isinstance(settings, int):
        return settings

    def log(line: str) -> None:
        io.stdout.write(line + "\n")  # print(..., flush=True) in the real program

    host, port = settings.listen_address
    servers = pg.servers_for(ctx.network)
    if port in ctx.listening or ctx.network.is_listening("127.0.0.1", port) or servers.at(ctx.pod_ip, port):
        io.stderr.write(f"OSError: [Errno 98] error while attempting to bind on address "
                        f"('{host}', {port}): [errno 98] address already in use\n")
        return 1
    connections = core.Connections(settings.target)
    relay = RelayedDatabase(ctx, settings, connections, log, loopback_only=host in LOOPBACK)
    servers.open(ctx.pod_ip, port, relay)
    ctx.listen(port)
    log(core.listening_line(f"{host}:{port}", settings.target))
    try:
        await (shell.stopping or ctx.stopping).wait()  # SIGTERM: the real program's handler
    finally:
        relay.state = "stopped"
        servers.close(ctx.pod_ip, port, relay)
        ctx.close(port)
    connections.active = 0  # the open ones are closed with the program, as in the real one
    log(core.stopped_line(connections))
    return 0


PROGRAMS = {"tcp_ambassador.py": tcp_ambassador_program}

__all__ = ["PROGRAMS", "RelayedDatabase", "tcp_ambassador_program"]
