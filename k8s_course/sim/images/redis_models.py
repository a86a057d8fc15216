"""Redis that answers, and the course's ambassador running its real core on simulated sockets.

Three parts, one per role in chapter 2 (the Ambassador pattern):

- `Keyspace`: one redis server's data and command semantics (GET, SET with EX/PX/NX/XX, DEL,
  EXISTS, INCR, MGET, DBSIZE, KEYS, FLUSHALL, PING, INFO, TTL, QUIT), replies as RESP values,
  errors worded as redis 7 words them, expiry on the simulated clock. Pure: no I/O.
- `RespServers`: the RESP servers listening in one cluster, by (pod IP, port), and `call()`,
  the client side of a TCP connection: the name resolves through the pod's DNS
  (`ctx.network.resolve`), the request and reply cross as RESP bytes, and what a real socket
  would say when nothing answers is raised (`Unreachable`: refused, unknown host; a server
  whose node is cut off: `TimeoutError` after the caller's timeout, on the simulated clock).
- the models: `RedisServer` (`redis-server` of the stock redis image, no persistence: a new
  container starts empty), `redis_cli` (the `redis-cli` of the redis image, output as without a
  terminal), and `ambassador_program`, `python /app/ambassador.py`: the very
  `k8s_course.workloads.ambassador.Ambassador` with a transport over `RespServers`, the
  simulated clock for its breakers and back-off, and its log lines in the container log.

Plugging in (registry.py's hooks): `images={"redis": redis_model}` and
`python_programs={"ambassador.py": ambassador_program}`. The servers of a cluster are found
from the container's network (`servers_for(ctx.network)`), so one registry serves any number
of simulated clusters in one process.
"""

from __future__ import annotations

import fnmatch
import posixpath
import weakref
from collections.abc import Callable

from k8s_course.sim.images import base, models, program_args
from k8s_course.sim.images.shell_io import BUSYBOX, DEBIAN
from k8s_course.workloads import ambassador as core

REDIS_VERSION = "7.4.1"
REDIS_PORT = 6379
LOOPBACK = ("127.0.0.1", "::1", "localhost")
# a connect() to an address that never answers: Linux gives up after its SYN retries
CONNECT_TIMEOUT = 127.0

OK = core.SimpleString("OK")
PONG = core.SimpleString("PONG")
SYNTAX_ERROR = core.RespError("ERR syntax error")
NOT_AN_INTEGER = core.RespError("ERR value is not an integer or out of range")

# (least, most) arguments after the name, None: no limit (redis's arity, as redis counts it)
ARITY: dict[str, tuple[int, int | None]] = {
    "GET": (1, 1), "SET": (2, None), "DEL": (1, None), "EXISTS": (1, None), "INCR": (1, 1),
    "MGET": (1, None), "DBSIZE": (0, 0), "KEYS": (1, 1), "FLUSHALL": (0, 1), "FLUSHDB": (0, 1),
    "PING": (0, 1), "INFO": (0, None), "TTL": (1, 1), "QUIT": (0, None), "ECHO": (1, 1),
}
INFO_SECTIONS = ("server", "clients", "memory", "stats", "replication", "keyspace")


# ---------------------------------------------------------------------------------------------
# One redis server's data and commands
# ---------------------------------------------------------------------------------------------


def unknown_command(args: list[bytes]) -> core.RespError:
    """Redis 7's words: the name as typed, then up to 128 characters of quoted arguments."""
    words = ""
    for arg in args[1:]:
        if len(words) >= 128:
            break
        words += "'" + arg.decode("utf-8", "replace")[: 128 - len(words)] + "' "
    name = args[0].decode("utf-8", "replace")[:128]
    text = f"ERR unknown command '{name}', with args beginning with: {words}"
    return core.RespError(text.replace("\r", " ").replace("\n", " "))


def _integer(value: bytes) -> int | None:
    text = value.decode("ascii", "replace")
    if not text or text != text.strip() or (text.startswith("0") and text != "0"):
        return None  # redis takes only the canonical spelling of a 64-bit integer
    try:
        number = int(text)
    except ValueError:
        return None
    return number if -(2**63) <= number < 2**63 else None


class Keyspace:
    """The data of one redis server (db 0 only) and the commands the course uses.

    `execute(args)` takes a command as bytes (name first) and returns its reply as a RESP value
    (bytes, int, None, list, SimpleString, RespError). Keys with a TTL expire on `now()`.
    """

    def __init__(self, now: Callable[[], float], port: int = REDIS_PORT):
        self.now = now
        self.port = port
        self.started_at = now()
        self.data: dict[bytes, bytes] = {}
        self.expires: dict[bytes, float] = {}  # key -> when it goes (simulated seconds)
        self.commands_processed = 0
        self.hits = 0
        self.misses = 0
        self.expired = 0

    # keys that may have expired

    def _alive(self, key: bytes) -> bool:
        deadline = self.expires.get(key)
        if deadline is not None and self.now() >= deadline:
            del self.expires[key]
            self.data.pop(key, None)
            self.expired += 1
        return key in self.data

    def _read(self, key: bytes) -> bytes | None:
        if self._alive(key):
            self.hits += 1
            return self.data[key]
        self.misses += 1
        return None

    def keys(self) -> list[bytes]:
        return [key for key in list(self.data) if self._alive(key)]

    # commands

    def execute(self, args: list[bytes]) -> object:
        self.commands_processed += 1
        name = args[0].decode("utf-8", "replace").upper()
        if name not in ARITY:
            return unknown_command(args)
        least, most = ARITY[name]
        given = len(args) - 1
        if given < least or (most is not None and given > most):
            return core.RespError(f"ERR wrong number of arguments for '{name.lower()}' command")
        return getattr(self, "_" + name.lower())(args[1:])

    def _get(self, args: list[bytes]) -> object:
        return self._read(args[0])

    def _set(self, args: list[bytes]) -> object:
        key, value, options = args[0], args[1], [a.upper() for a in args[2:]]
        deadline: float | None = None
        keep_ttl = only_new = only_existing = give_old = False
        index = 0
        while index < len(options):
            option = options[index]
            if option in (b"EX", b"PX", b"EXAT", b"PXAT") and deadline is None and not keep_ttl:
                if index + 1 >= len(options):
                    return SYNTAX_ERROR
                amount = _integer(args[2 + index + 1])
                if amount is None:
                    return NOT_AN_INTEGER
                if amount <= 0:
                    return core.RespError("ERR invalid expire time in 'set' command")
                deadline = {b"EX": self.now() + amount, b"PX": self.now() + amount / 1000,
                            b"EXAT": float(amount), b"PXAT": amount / 1000}[option]
                index += 2
                continue
            if option == b"NX" and not only_existing:
                only_new = True
            elif option == b"XX" and not only_new:
                only_existing = True
            elif option == b"KEEPTTL" and deadline is None:
                keep_ttl = True
            elif option == b"GET":
                give_old = True
            else:
                return SYNTAX_ERROR
            index += 1
        exists = self._alive(key)
        old = self.data.get(key) if exists else None
        if (only_new and exists) or (only_existing and not exists):
            return old if give_old else None
        self.data[key] = value
        if deadline is not None:
            self.expires[key] = deadline
        elif not keep_ttl:
            self.expires.pop(key, None)
        return old if give_old else OK

    def _del(self, args: list[bytes]) -> object:
        removed = 0
        for key in args:
            if self._alive(key):
                del self.data[key]
                self.expires.pop(key, None)
                removed += 1
        return removed

    def _exists(self, args: list[bytes]) -> object:
        return sum(1 for key in args if self._alive(key))  # a key named twice counts twice

    def _incr(self, args: list[bytes]) -> object:
        key = args[0]
        current = self.data[key] if self._alive(key) else b"0"
        number = _integer(current)
        if number is None or number + 1 >= 2**63:
            return NOT_AN_INTEGER
        self.data[key] = str(number + 1).encode()
        return number + 1

    def _mget(self, args: list[bytes]) -> object:
        return [self._read(key) for key in args]

    def _dbsize(self, args: list[bytes]) -> object:
        return len(self.keys())

    def _keys(self, args: list[bytes]) -> object:
        pattern = args[0].decode("utf-8", "surrogateescape")
        return [key for key in self.keys()
                if fnmatch.fnmatchcase(key.decode("utf-8", "surrogateescape"), pattern)]

    def _flushall(self, args: list[bytes]) -> object:
        if args and args[0].upper() not in (b"ASYNC", b"SYNC"):
            return SYNTAX_ERROR
        self.data.clear()
        self.expires.clear()
        return OK

    _flushdb = _flushall

    def _ping(self, args: list[bytes]) -> object:
        return args[0] if args else PONG

    def _echo(self, args: list[bytes]) -> object:
        return args[0]

    def _ttl(self, args: list[bytes]) -> object:
        key = args[0]
        if not self._alive(key):
            return -2
        deadline = self.expires.get(key)
        if deadline is None:
            return -1
        return max(0, round(deadline - self.now()))

    def _quit(self, args: list[bytes]) -> object:
        return OK

    def _info(self, args: list[bytes]) -> object:
        wanted = {a.decode("utf-8", "replace").lower() for a in args}
        if not wanted or wanted & {"all", "everything", "default"}:
            wanted = set(INFO_SECTIONS)
        blocks = [self._info_section(name) for name in INFO_SECTIONS if name in wanted]
        return "\r\n".join(blocks).encode()

    def _info_section(self, name: str) -> str:
        uptime = int(self.now() - self.started_at)
        lines = {
            "server": [f"redis_version:{REDIS_VERSION}", "redis_mode:standalone",
                       "os:Linux 6.8.0 x86_64", "arch_bits:64", "process_id:1",
                       f"tcp_port:{self.port}", f"uptime_in_seconds:{uptime}",
                       f"uptime_in_days:{uptime // 86400}", "executable:/data/redis-server",
                       "config_file:"],
            "clients": ["connected_clients:1", "blocked_clients:0"],
            "memory": [f"used_memory:{900_000 + 80 * len(self.data)}",
                       "maxmemory:0", "maxmemory_policy:noeviction"],
            "stats": [f"total_commands_processed:{self.commands_processed}",
                      f"expired_keys:{self.expired}", f"keyspace_hits:{self.hits}",
                      f"keyspace_misses:{self.misses}"],
            "replication": ["role:master", "connected_slaves:0"],
            "keyspace": [],
        }[name]
        keys = len(self.keys())
        if name == "keyspace" and keys:
            expiring = sum(1 for key in self.expires if key in self.data)
            lines.append(f"db0:keys={keys},expires={expiring},avg_ttl=0,subexpiry=0")
        title = "Keyspace" if name == "keyspace" else name.capitalize()
        return "\r\n".join([f"# {title}", *lines]) + "\r\n"


def answer_request(request: bytes, execute: Callable[[list[bytes]], object]) -> bytes:
    """A RESP server's side of one request: every command in it, each reply encoded."""
    try:
        commands = core.RespParser(inline_commands=True).feed(request)
    except core.ProtocolError as error:
        return core.encode(core.RespError(f"ERR Protocol error: {error}"))
    return b"".join(core.encode(execute(command)) for command in commands)


# ---------------------------------------------------------------------------------------------
# The cluster's RESP servers, and the client side of a connection to one
# ---------------------------------------------------------------------------------------------


class Unreachable(core.ShardIOError):
    """A call that reached no server: `str()` is the ambassador's short reason (counted by its
    breaker), `system` the C library's words that redis-cli prints."""

    def __init__(self, reason: str, system: str):
        super().__init__(reason)
        self.system = system


class RespServers:
    """The RESP servers listening in one cluster: (pod IP, port) -> server.

    A server is anything with `async answer(request: bytes, client_ip: str) -> bytes`.
    `loopback_only` servers (bound to 127.0.0.1) answer only their own pod.
    """

    def __init__(self) -> None:
        self._servers: dict[tuple[str, int], tuple[object, bool]] = {}

    def open(self, ip: str, port: int, server, loopback_only: bool = False) -> None:
        self._servers[(ip, port)] = (server, loopback_only)

    def close(self, ip: str, port: int, server) -> None:
        found = self._servers.get((ip, port))
        if found is not None and found[0] is server:
            del self._servers[(ip, port)]

    def server_at(self, ip: str, port: int, client_ip: str):
        found = self._servers.get((ip, port))
        if found is None or (found[1] and ip != client_ip):
            return None
        return found[0]

    async def call(self, ctx: base.ContainerContext, host: str, port: int, command: list[bytes],
                   timeout: float | None = None) -> object:
        """Send one command from `ctx`'s pod to host:port and return the reply (a RESP value).

        Raises Unreachable (unknown name, refused, reset) or, when the server runs but its pod
        cannot be reached, TimeoutError after `timeout` (the kernel's connect timeout if None).
        """
        addresses = ctx.network.resolve(host)
        if not addresses:
            raise Unreachable("cannot resolve host", "Name or service not known")
        ip = ctx.pod_ip if addresses[0] in LOOPBACK else addresses[0]
        server = self.server_at(ip, port, ctx.pod_ip)
        reachable = ctx.network.is_listening(host, port)
        if server is None and reachable:
            server = _behind_service(ctx, host, port)
        if server is None:
            if reachable:  # something listens there, but it does not speak RESP
                raise Unreachable("connection lost", "Connection reset by peer")
            raise Unreachable("connection refused", "Connection refused")
        if not reachable:
            # the server runs, but its pod's node is cut off: the packets go nowhere
            await ctx.clock.sleep(CONNECT_TIMEOUT if timeout is None else timeout)
            raise TimeoutError(f"no answer from {host}:{port}")
        replies = core.RespParser().feed(await server.answer(core.encode(command), ctx.pod_ip))
        if not replies:
            raise Unreachable("connection lost", "Connection reset by peer")
        return replies[0]


def _behind_service(ctx: base.ContainerContext, host: str, port: int):
    """A Service's clusterIP is no pod's address: ask the pod network which container kube-proxy
    would pick (the kubelet's PodView knows; a network without that knowledge has none)."""
    target = getattr(ctx.network, "_target", None)
    if target is None:
        return None
    found = target(host, port)
    if found is None:
        return None
    _, model = found
    return getattr(model, "resp_server", None)


# one RespServers per cluster, found from any of its pods' networks; weak, so a finished
# cluster's servers go with it
_CLUSTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def servers_for(network) -> RespServers:
    """The RESP servers of the cluster `network` (a pod's Network) belongs to."""
    owner = getattr(network, "network", network)  # PodView -> the cluster's PodNetwork
    attached = getattr(owner, "resp_servers", None)
    if isinstance(attached, RespServers):
        return attached
    try:
        found = _CLUSTERS.get(owner)
        if found is None:
            found = _CLUSTERS[owner] = RespServers()
    except TypeError:  # cannot be weakly referenced: keep the servers on the object itself
        found = owner.resp_servers = RespServers()
    return found


# ---------------------------------------------------------------------------------------------
# redis-cli
# ---------------------------------------------------------------------------------------------


def format_raw(reply: object) -> str:
    """redis-cli's output without a terminal: values bare, arrays one item per line."""
    if reply is None:
        return ""
    if isinstance(reply, core.RespError):
        return str(reply) + "\n"
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    if isinstance(reply, list):
        return "\n".join(format_raw(item) for item in reply)
    return str(reply)


def _quoted(data: bytes) -> str:
    text = ""
    for byte in data:
        char = chr(byte)
        if char in '\\"':
            text += "\\" + char
        elif char in "\n\r\t\a\b":
            text += {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}[char]
        elif 32 <= byte < 127:
            text += char
        else:
            text += f"\\x{byte:02x}"
    return f'"{text}"'


def format_tty(reply: object, indent: str = "") -> str:
    """redis-cli's output on a terminal (or with --no-raw): quoted, typed, numbered."""
    if reply is None:
        return "(nil)\n"
    if isinstance(reply, core.RespError):
        return f"(error) {reply}\n"
    if isinstance(reply, core.SimpleString):
        return f"{reply}\n"
    if isinstance(reply, int):
        return f"(integer) {reply}\n"
    if isinstance(reply, bytes):
        return _quoted(reply) + "\n"
    if not reply:
        return "(empty array)\n"
    width = len(str(len(reply)))
    lines = []
    for number, item in enumerate(reply, 1):
        head = f"{number:>{width}}) "
        lines.append((indent if number > 1 else "") + head
                     + format_tty(item, indent + " " * len(head)))
    return "".join(lines)


async def redis_cli(shell, argv: list[str], io, env) -> int:
    """`redis-cli [-h host] [-p port] [--raw|--no-raw] [-e] COMMAND ARGS...`, as without a tty."""
    host, port, raw, exit_on_error = "127.0.0.1", REDIS_PORT, True, False
    args = list(argv[1:])
    while args and args[0].startswith("-"):
        option = args.pop(0)
        if option in ("-h", "-p", "-n", "-a") and args:
            value = args.pop(0)
            if option == "-h":
                host = value
            elif option == "-p":
                port = int(value) if value.isdigit() else 0
            elif option == "-a":
                io.stderr.write("Warning: Using a password with '-a' or '-u' option on the command"
                                " line interface may not be safe.\n")
        elif option == "--raw":
            raw = True
        elif option == "--no-raw":
            raw = False
        elif option == "-e":
            exit_on_error = True
        elif option in ("-v", "--version"):
            io.stdout.write(f"redis-cli {REDIS_VERSION}\n")
            return 0
        else:
            io.stderr.write(f"Unrecognized option or bad number of args for: '{option}'\n")
            return 1
    if not args:
        from k8s_course.sim.images.shell_syntax import Unsupported

        raise Unsupported("redis-cli (interactive)")
    servers = servers_for(shell.ctx.network)
    command = [arg.encode() for arg in args]
    try:
        reply = await servers.call(shell.ctx, host, port, command)
    except Unreachable as error:
        io.stderr.write(f"Could not connect to Redis at {host}:{port}: {error.system}\n")
        return 1
    except TimeoutError:
        io.stderr.write(f"Could not connect to Redis at {host}:{port}: Connection timed out\n")
        return 1
    if isinstance(reply, core.RespError) and exit_on_error:
        io.stderr.write(f"{reply}\n")
        return 1
    if not raw:
        io.stdout.write(format_tty(reply))
    elif args[0].lower() == "info":
        io.stdout.write(format_raw(reply))  # redis-cli prints INFO verbatim
    else:
        io.stdout.write(format_raw(reply) + "\n")
    return 0


# ---------------------------------------------------------------------------------------------
# The models
# ---------------------------------------------------------------------------------------------


class RedisServer(models.Redis):
    """`redis-server`: redis's start-up and shutdown logs, and a Keyspace answering on its port.

    No persistence: every container start (a fresh model) begins with an empty key space.
    """

    def __init__(self, flavour, argv: list[str] | None = None):
        super().__init__(flavour)
        self.commands = {**self.commands, "redis-cli": redis_cli}
        self.port = _port_option(argv or [])
        self.keyspace: Keyspace | None = None

    @property
    def resp_server(self) -> RedisServer:
        return self

    async def answer(self, request: bytes, client_ip: str) -> bytes:
        if self.keyspace is None:
            raise Unreachable("connection refused", "Connection refused")
        return answer_request(request, self.keyspace.execute)

    async def run(self, ctx: base.ContainerContext) -> int:
        self.started_at = ctx.clock.now()
        self.keyspace = Keyspace(ctx.clock.now, self.port)
        code = await self.start(ctx)
        if code is not None:
            return code
        servers = servers_for(ctx.network)
        ctx.listen(self.port)
        servers.open(ctx.pod_ip, self.port, self)
        try:
            await ctx.stopping.wait()
        finally:
            servers.close(ctx.pod_ip, self.port, self)
            for port in list(ctx.listening):
                ctx.close(port)
        return await self.shutdown(ctx)


def _port_option(argv: list[str]) -> int:
    for option, value in zip(argv, argv[1:], strict=False):
        if option == "--port" and value.isdigit():
            return int(value)
    return REDIS_PORT


class RedisShell(models.ShellImage):
    """The redis image running something else (`sleep infinity`, a script): it has redis-cli."""

    image_env = {"REDIS_VERSION": REDIS_VERSION}


def redis_model(container: dict) -> base.ImageModel:
    """The registry's hook for the redis image: redis-server, or the image's shell."""
    from k8s_course.sim.images import registry  # registry imports this module

    reference = registry.parse_reference(container.get("image") or "")
    flavour = BUSYBOX if "alpine" in reference.tag else DEBIAN
    entrypoint, cmd = registry.ENTRYPOINTS.get("redis", (["docker-entrypoint.sh"], ["redis-server"]))
    argv = registry.process_argv(container, entrypoint, cmd)
    while argv and argv[0] in registry.ENTRYPOINT_SCRIPTS:
        argv = argv[1:]
    program = posixpath.basename(argv[0]) if argv else ""
    if program == "redis-server" and not set(argv[1:2]) & {"-v", "--version", "-h", "--help"}:
        return RedisServer(flavour, argv)
    return RedisShell(argv, flavour, {"redis-cli": redis_cli})


# ---------------------------------------------------------------------------------------------
# python /app/ambassador.py
# ---------------------------------------------------------------------------------------------


class AmbassadorServer:
    """The ambassador's listening socket: each request's commands through `execute`, in order."""

    def __init__(self, ambassador: core.Ambassador):
        self.ambassador = ambassador

    async def answer(self, request: bytes, client_ip: str) -> bytes:
        try:
            commands = core.RespParser(inline_commands=True).feed(request)
        except core.ProtocolError as error:
            return core.encode(core.RespError(f"ERR Protocol error: {error}"))
        replies = []
        for command in commands:
            replies.append(core.encode(await self.ambassador.execute(command)))
        return b"".join(replies)


def shard_transport(ctx: base.ContainerContext, servers: RespServers, settings: core.Settings):
    """The ambassador's Transport: one command to one shard, from this pod, within `timeout`."""

    async def transport(shard: str, command: list[bytes], timeout: float) -> object:
        host, port = core.split_address(settings.shards[shard])
        return await servers.call(ctx, host, port, command, timeout)

    return transport


async def ambassador_program(shell, argv: list[str], io, env: dict) -> int:
    """`python /app/ambassador.py [options]`: the real Ambassador core on simulated sockets."""
    ctx = shell.ctx
    settings = program_args.settings_or_exit_code(core.settings_from, argv, env, io, "ambassador")
    if isinstance(settings, int):
        return settings

    def log(line: str) -> None:
        io.stdout.write(line + "\n")  # print(..., flush=True) in the real program

    servers = servers_for(ctx.network)
    ambassador = core.Ambassador(settings, shard_transport(ctx, servers, settings),
                                 clock=ctx.clock.now, sleep=ctx.clock.sleep, log=log)
    host, port = core.split_address(settings.listen)
    if ctx.network.is_listening("127.0.0.1", port):
        io.stderr.write(f"OSError: [Errno 98] error while attempting to bind on address "
                        f"('{host}', {port}): [errno 98] address already in use\n")
        return 1
    server = AmbassadorServer(ambassador)
    ctx.listen(port)
    servers.open(ctx.pod_ip, port, server, loopback_only=host in LOOPBACK)
    shards = ", ".join(f"{name}={address}" for name, address in settings.shards.items())
    log(f"ambassador: listening on {host}:{port}; shards {shards}")
    stopping = shell.stopping or ctx.stopping
    try:
        await stopping.wait()  # SIGTERM: the real program's signal handler ends serve()
    finally:
        servers.close(ctx.pod_ip, port, server)
        ctx.close(port)
    log("ambassador: stopped")
    return 0


__all__ = [
    "AmbassadorServer", "Keyspace", "RedisServer", "RedisShell", "RespServers", "Unreachable",
    "ambassador_program", "answer_request", "format_raw", "format_tty", "redis_cli",
    "redis_model", "servers_for", "shard_transport",
]
