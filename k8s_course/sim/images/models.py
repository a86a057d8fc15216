"""The behaviour of the images the course runs, as the course observes it.

| image                      | behaviour                                                          |
|----------------------------|--------------------------------------------------------------------|
| busybox, alpine            | the container's command through the simulated shell (busybox ash) |
| debian, ubuntu             | the same with dash/bash and GNU wording; no wget/nc/nslookup       |
| python                     | the shell; `python` with no program exits 0 (no tty);              |
|                            | `python -m http.server [port]` serves the working directory        |
|                            | `python /app/<workload>.py`: the course's programs (`workloads`)   |
| curlimages/curl            | `curl ARGS` (the image's entrypoint), or the command given         |
| nginx                      | listens on 80 and the declared ports, serves /usr/share/nginx/html |
|                            | (one access-log line per GET), `nginx -v`/`-t`/`-s reload`         |
| redis                      | listens on 6379 ("Ready to accept connections tcp"), `redis-cli`   |
| postgres                   | initdb, then the server on 5432 with a WAL, streaming replication, |
|                            | promotion; psql, pg_isready, pg_basebackup (`postgres_models`)     |
| envoyproxy/envoy, istio    | listen on their ports (envoy 10000 + admin 9901; istio 150xx)      |
| k8s-course/crasher         | logs, then exits with EXIT_CODE (1) after CRASH_AFTER (5) seconds  |
| k8s-course/slow-ready      | listens at once; probes fail until READY_AFTER (30) seconds        |
|                            | (httpGet on /healthz or /livez always succeeds)                    |
| k8s-course/needs-proxy     | exits 1 ("connection refused") unless localhost:PROXY_PORT (15001) |
|                            | answers when it starts: the classic sidecar start-up race          |
| k8s-course/proxy           | listens on PORT (15001) after START_DELAY (0) seconds              |
| anything else              | base.ImageModel: listens on the declared ports until stopped       |

The course's own images (crasher, slow-ready, needs-proxy, proxy) live in `course_images`.
Models with HTTP answer `await model.serve_http(port, path, ctx)` -> (status, body): the kubelet's
Network calls it when another pod GETs a port this container listens on.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
from datetime import datetime, timezone

from k8s_course.sim.images import base, contents, shell_commands
from k8s_course.sim.images.shell import Shell
from k8s_course.sim.images.shell_io import IO, BufferOutput, Flavour, LogOutput

OCI_EXEC = ('OCI runtime exec failed: exec failed: unable to start container process: '
            'exec: "{name}": executable file not found in $PATH: unknown')
OCI_CREATE = ('failed to create containerd task: failed to create shim task: OCI runtime create '
              'failed: runc create failed: unable to start container process: error during '
              'container init: exec: "{name}": executable file not found in $PATH: unknown')


class StartError(Exception):
    """The runtime could not start the process: the kubelet reports reason StartError, 128."""

    exit_code = 128


def expand_references(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` in command and args: known names replaced, `$$` -> `$`."""
    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", replace, text)


def process_env(ctx: base.ContainerContext, image_env: dict[str, str]) -> dict[str, str]:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOSTNAME": ctx.hostname, "HOME": "/root"}
    env.update(image_env)
    env.update(ctx.env)
    return env


def env_number(ctx: base.ContainerContext, name: str, default: float) -> float:
    try:
        return float(ctx.env.get(name, default))
    except ValueError:
        return default


def klog_time(ctx: base.ContainerContext) -> datetime:
    return datetime.fromtimestamp(ctx.clock.now(), tz=timezone.utc)


class ShellImage(base.ImageModel):
    """An image whose process, exec and exec probes run through the simulated shell."""

    image_env: dict[str, str] = {}

    def __init__(self, argv: list[str] | None, flavour: Flavour, commands: dict | None = None):
        self.argv = argv  # before `$(VAR)` expansion; None for models with their own run()
        self.flavour = flavour
        self.commands = dict(commands or {})

    def shell(self, ctx, io: IO, stopping: asyncio.Event | None) -> Shell:
        return Shell(ctx, self.flavour, io, env=process_env(ctx, self.image_env),
                     commands=self.commands, stopping=stopping)

    def has_program(self, name: str, ctx) -> bool:
        base_name = posixpath.basename(name)
        if "/" in name and posixpath.dirname(name) not in shell_commands.BIN_DIRS:
            return ctx.files.exists(name) and not ctx.files.is_dir(name)
        return (base_name in self.commands or base_name in self.flavour.commands
                or base_name in shell_commands.UNMODELLED)

    async def run(self, ctx: base.ContainerContext) -> int:
        argv = [expand_references(arg, ctx.env) for arg in self.argv or []]
        if not argv:
            return 0
        if not self.has_program(argv[0], ctx):
            raise StartError(OCI_CREATE.format(name=argv[0]))
        io = IO(stdout=LogOutput(ctx.log, "stdout"), stderr=LogOutput(ctx.log, "stderr"))
        try:
            return await self.shell(ctx, io, ctx.stopping).run_argv(argv)
        finally:
            io.stdout.close()
            io.stderr.close()

    async def exec(self, command: list[str], ctx: base.ContainerContext) -> base.ExecResult:
        if not command or not self.has_program(command[0], ctx):
            name = command[0] if command else ""
            return base.ExecResult(126, "", OCI_EXEC.format(name=name) + "\n")
        out, err = BufferOutput(), BufferOutput()
        code = await self.shell(ctx, IO(stdout=out, stderr=err), None).run_argv(list(command))
        return base.ExecResult(code, out.text(), err.text())


class HttpFiles:
    """Serving files of the container's filesystem over the simulated HTTP."""

    def serve_file(self, ctx, root: str, path: str) -> tuple[int, str]:
        target = posixpath.normpath(posixpath.join(root, path.split("?")[0].lstrip("/")))
        if ctx.files.is_dir(target):
            target = posixpath.join(target, "index.html")
        try:
            return 200, ctx.files.read(target)
        except OSError:
            return 404, ""


class Server(ShellImage):
    """A long-running server: starts, listens, logs, runs until SIGTERM, then shuts down."""

    ports: tuple[int, ...] = ()

    def __init__(self, flavour: Flavour, commands: dict | None = None):
        super().__init__(None, flavour, commands)
        self.started_at = 0.0

    async def run(self, ctx: base.ContainerContext) -> int:
        self.started_at = ctx.clock.now()
        code = await self.start(ctx)
        if code is not None:
            return code
        for port in (*self.ports, *base.declared_ports(ctx.container)):
            ctx.listen(port)
        await ctx.stopping.wait()
        for port in list(ctx.listening):
            ctx.close(port)
        return await self.shutdown(ctx)

    async def start(self, ctx) -> int | None:
        """Log the start-up; return an exit code to fail instead of listening."""
        return None

    async def shutdown(self, ctx) -> int:
        return 0


class Nginx(Server, HttpFiles):
    ports = (80,)
    version = "1.27.3"
    image_env = {"NGINX_VERSION": "1.27.3", "NJS_VERSION": "0.8.7"}

    def __init__(self, flavour: Flavour):
        super().__init__(flavour, {"nginx": self.cli})

    def stamp(self, ctx) -> str:
        return klog_time(ctx).strftime("%Y/%m/%d %H:%M:%S")

    async def start(self, ctx) -> int | None:
        for line in (
            "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
            "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
            "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
            "10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf",
            "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf",
            "/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh",
            "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
            "/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
            "/docker-entrypoint.sh: Configuration complete; ready for start up",
        ):
            ctx.log(line, "stdout")
        stamp = self.stamp(ctx)
        for line in ('using the "epoll" event method', f"nginx/{self.version}",
                     "built by gcc 12.2.0 (Debian 12.2.0-14)", "OS: Linux 6.8.0",
                     "getrlimit(RLIMIT_NOFILE): 1048576:1048576", "start worker processes",
                     "start worker process 29"):
            ctx.log(f"{stamp} [notice] 1#1: {line}", "stderr")
        return None

    async def shutdown(self, ctx) -> int:
        stamp = self.stamp(ctx)
        for line in ("1#1: signal 3 (SIGQUIT) received, shutting down",
                     "29#29: gracefully shutting down", "29#29: exiting", "29#29: exit",
                     "1#1: signal 17 (SIGCHLD) received from 29",
                     "1#1: worker process 29 exited with code 0", "1#1: exit"):
            ctx.log(f"{stamp} [notice] {line}", "stderr")
        return 0

    async def serve_http(self, port: int, path: str, ctx, client: str = "10.244.0.1",
                         agent: str = "Wget") -> tuple[int, str]:
        status, body = self.serve_file(ctx, "/usr/share/nginx/html", path)
        if status == 404:
            body = (f"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                    f"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/{self.version}"
                    "</center>\r\n</body>\r\n</html>\r\n")
        when = klog_time(ctx).strftime("%d/%b/%Y:%H:%M:%S +0000")
        size = len(body.encode())
        ctx.log(f'{client} - - [{when}] "GET {path} HTTP/1.1" {status} {size} "-" "{agent}" "-"',
                "stdout")
        return status, body

    async def cli(self, shell, argv, io, env) -> int:
        """`nginx -v`, `nginx -t`, `nginx -s reload` inside the nginx container."""
        args = argv[1:]
        if args == ["-v"]:
            io.stderr.write(f"nginx version: nginx/{self.version}\n")
            return 0
        if args == ["-t"]:
            io.stderr.write("nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
                            "nginx: configuration file /etc/nginx/nginx.conf test is successful\n")
            return 0
        if args[:1] == ["-s"] and args[1:] in (["reload"], ["quit"], ["stop"]):
            shell.ctx.log(f"{self.stamp(shell.ctx)} [notice] 1#1: signal process started", "stderr")
            return 0
        from k8s_course.sim.images.shell_syntax import Unsupported

        raise Unsupported("nginx " + " ".join(args))


class Redis(Server):
    ports = (6379,)
    image_env = {"REDIS_VERSION": "7.4.1"}

    def __init__(self, flavour: Flavour):
        super().__init__(flavour, {"redis-cli": self.cli})
        self.data: dict[str, str] = {}

    def stamp(self, ctx, role: str = "M") -> str:
        moment = klog_time(ctx)
        return f"1:{role} {moment.strftime('%d %b %Y %H:%M:%S')}.{moment.microsecond // 1000:03d}"

    async def start(self, ctx) -> int | None:
        c, m = self.stamp(ctx, "C"), self.stamp(ctx)
        for line in (
            f"{c} * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
            f"{c} * Redis version=7.4.1, bits=64, commit=00000000, modified=0, pid=1, just started",
            f"{c} # Warning: no config file specified, using the default config. In order to "
            "specify a config file use redis-server /path/to/redis.conf",
            f"{m} * monotonic clock: POSIX clock_gettime",
            f"{m} * Running mode=standalone, port=6379.",
            f"{m} * Server initialized",
            f"{m} * Ready to accept connections tcp",
        ):
            ctx.log(line, "stdout")
        return None

    async def shutdown(self, ctx) -> int:
        m = self.stamp(ctx)
        for line in ("1:signal-handler Received SIGTERM scheduling shutdown...",
                     f"{m} * User requested shutdown...",
                     f"{m} * Saving the final RDB snapshot before exiting.",
                     f"{m} * DB saved on disk", f"{m} # Redis is now ready to exit, bye bye..."):
            ctx.log(line, "stdout")
        return 0

    async def cli(self, shell, argv, io, env) -> int:
        """`redis-cli PING | SET | GET | INCR | DEL | DBSIZE | KEYS` against this server."""
        args = argv[1:]
        while args[:1] in (["-h"], ["-p"]):
            args = args[2:]
        if 6379 not in shell.ctx.listening:
            io.stdout.write("Could not connect to Redis at 127.0.0.1:6379: Connection refused\n")
            return 1
        if not args:
            from k8s_course.sim.images.shell_syntax import Unsupported

            raise Unsupported("redis-cli (interactive)")
        verb, rest = args[0].upper(), args[1:]
        data = self.data
        if verb == "PING":
            answer = "PONG"
        elif verb == "SET" and len(rest) >= 2:
            data[rest[0]], answer = rest[1], "OK"
        elif verb == "GET" and len(rest) == 1:
            answer = data.get(rest[0], "")
        elif verb == "INCR" and len(rest) == 1:
            data[rest[0]] = str(int(data.get(rest[0], "0")) + 1)
            answer = data[rest[0]]  # redis-cli prints raw values when not on a terminal
        elif verb == "DEL":
            answer = str(sum(1 for key in rest if data.pop(key, None) is not None))
        elif verb == "DBSIZE":
            answer = str(len(data))
        elif verb == "KEYS":
            import fnmatch

            answer = "\n".join(sorted(k for k in data if fnmatch.fnmatchcase(k, rest[0] if rest else "*")))
        else:
            from k8s_course.sim.images.shell_syntax import Unsupported

            raise Unsupported("redis-cli " + " ".join(args))
        io.stdout.write(answer + "\n")
        return 0


POSTGRES_NO_PASSWORD = """Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.

       See PostgreSQL documentation about "trust":
       https://www.postgresql.org/docs/current/auth-trust.html"""


class Postgres(ShellImage):
    """The postgres image; what it does is `postgres_models.PostgresImage`, its one subclass
    (initdb, the server, streaming replication, psql, pg_isready, pg_basebackup, ...)."""

    image_env = {"PG_MAJOR": "17", "PG_VERSION": "17.2-1.pgdg120+1",
                 "PGDATA": "/var/lib/postgresql/data"}


class Envoy(Server):
    def __init__(self, flavour: Flavour, ports: tuple[int, ...]):
        super().__init__(flavour)
        self.ports = ports

    async def start(self, ctx) -> int | None:
        stamp = klog_time(ctx).strftime("[%Y-%m-%d %H:%M:%S.000][1][info][main]")
        for line in ("initializing epoch 0 (base id=0, hot restart version=11.104)",
                     "all clusters initialized. initializing init manager",
                     "all dependencies initialized. starting workers", "starting main dispatch loop"):
            ctx.log(f"{stamp} {line}", "stderr")
        return None

    async def serve_http(self, port: int, path: str, ctx, client: str = "10.244.0.1") -> tuple[int, str]:
        return 200, ""


class PythonImage(ShellImage, HttpFiles):
    """The python image: its shell, `python -m http.server`, and the programs it knows.

    `programs` maps a script's basename to `async fn(shell, argv, io, env) -> exit code` (the
    course's workloads: `images.workloads`). The script must exist in the container's files, as
    `python` must open it (a ConfigMap mounted at /app on kind). A program serves HTTP with
    `shell.python_image.serve(port, handler)`: the handler is
    `async handler(method, target, body, client, client_cert) -> (status, body text)`.
    """

    image_env = {"PYTHON_VERSION": "3.12.8", "LANG": "C.UTF-8"}

    def __init__(self, argv: list[str], flavour: Flavour, programs: dict | None = None):
        super().__init__(argv, flavour, {"python": self.python, "python3": self.python})
        self.programs = programs or {}
        self.http_root: str | None = None
        self.http_handlers: dict[int, object] = {}
        self._ctx: base.ContainerContext | None = None

    def serve(self, port: int, handler) -> None:
        """A program listens on `port` and answers its HTTP requests with `handler`."""
        self.http_handlers[port] = handler
        if self._ctx is not None:
            self._ctx.listen(port)

    def unserve(self, port: int) -> None:
        self.http_handlers.pop(port, None)
        if self._ctx is not None:
            self._ctx.close(port)

    async def python(self, shell, argv, io, env) -> int:
        from k8s_course.sim.images.shell_syntax import Unsupported

        args = argv[1:]
        while args[:1] in (["-u"], ["-B"]):
            args = args[1:]
        if not args:
            return 0  # the REPL without a terminal reads an empty stdin and exits
        if args[:2] == ["-m", "http.server"]:
            port = int(args[2]) if len(args) > 2 and args[2].isdigit() else 8000
            self.http_root = shell.cwd
            shell.ctx.listen(port)
            io.stdout.write(f"Serving HTTP on 0.0.0.0 port {port} (http://0.0.0.0:{port}/) ...\n")
            self._log = io.stderr
            forever = asyncio.get_running_loop().create_future()
            finished = await shell.interruptible(forever)
            shell.ctx.close(port)
            return 0 if finished else 143
        program = self.programs.get(posixpath.basename(args[0]))
        if program is not None:
            script = posixpath.join(shell.cwd, args[0])
            if not shell.ctx.files.exists(script) or shell.ctx.files.is_dir(script):
                io.stderr.write(f"{argv[0]}: can't open file '{script}': [Errno 2] No such file or directory\n")
                return 2
            self._ctx = shell.ctx
            shell.python_image = self
            return await program(shell, args, io, env)
        raise Unsupported("python " + " ".join(args))

    async def serve_request(self, port: int, method: str, path: str, body: bytes, ctx,
                            client: str = "10.244.0.1", client_cert: str | None = None) -> tuple[int, str]:
        handler = self.http_handlers.get(port)
        if handler is not None:
            return await handler(method, path, body, client, client_cert)
        if method not in ("GET", "HEAD"):
            return 501, ""  # http.server answers only GET and HEAD
        return await self.serve_http(port, path, ctx, client)

    async def serve_http(self, port: int, path: str, ctx, client: str = "10.244.0.1") -> tuple[int, str]:
        handler = self.http_handlers.get(port)
        if handler is not None:
            return await handler("GET", path, b"", client, None)
        if self.http_root is None:
            raise ConnectionError("nothing serves HTTP in this container")
        status, body = self.serve_file(ctx, self.http_root, path)
        when = klog_time(ctx).strftime("%d/%b/%Y %H:%M:%S")
        self._log.write(f'{client} - - [{when}] "GET {path} HTTP/1.1" {status} -\n')
        return status, body


def curl_entrypoint(argv: list[str]) -> list[str]:
    """curlimages/curl runs `curl` with the arguments, unless they name another program."""
    if not argv or argv[0].startswith("-") or argv[0].startswith("http"):
        return ["curl", *argv]
    return argv


def image_files(image: str) -> dict[str, str]:
    return contents.shipped_files(image)
