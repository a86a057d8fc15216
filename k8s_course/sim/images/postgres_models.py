"""PostgreSQL as chapter 3 observes it: a server with a WAL, streaming replicas, promotion.

The stock `postgres` image, modelled far enough that the operator (exec'ing psql,
pg_basebackup, pg_isready into the member pods) and the write-load generator behave on the
simulator as they do on kind. This module is the image: `docker-entrypoint.sh postgres -c
cluster_name=... -c ...` and the registry's hook (`postgres_model`); it ties the parts
together and re-exports what the rest of the simulator uses. The parts, each in its module:

| module                 | owns                                                                |
|------------------------|---------------------------------------------------------------------|
| `postgres_sql`         | values, errors as PostgreSQL words them, results, the SQL parser    |
| `postgres_queries`     | evaluating expressions and SELECTs (tables and replication views)   |
| `postgres_data`        | $PGDATA: its files, tables, the WAL, timelines; kept on the Volume  |
| `postgres_connections` | the servers of a cluster, reaching one (`find_server`, `connect`),  |
|                        | the client's `Session`                                              |
| `postgres_replication` | WAL streams (`Link`, `Receiver`), synchronous_standby_names, conninfo |
| `postgres_server`      | the postmaster: startup, statements, commit, promotion, shutdown    |
| `postgres_programs`    | psql, pg_isready, pg_basebackup, pg_dumpall, python /app/pg_writer.py |

**The entrypoint** (here): without `PG_VERSION`, the entrypoint's initdb (its log lines;
INIT_SECONDS), the `/docker-entrypoint-initdb.d/*.sh` scripts through the simulated shell (and
`*.sql` through the SQL engine) on a server listening on the unix socket only; then the server
starts (`postgres_server`). `postgres` and `docker-entrypoint.sh` run through the simulated
shell, so `sh -c "until ...; exec docker-entrypoint.sh postgres ..."` works.

The delays, in simulated seconds (each constant lives with the part it times):

| delay                                     | seconds | what takes that long                       |
|-------------------------------------------|---------|--------------------------------------------|
| INIT_SECONDS                              | 2.5     | initdb and the entrypoint's temporary server |
| `postgres_server.STARTUP_SECONDS`         | 0.5     | postmaster start to accepting connections  |
| `postgres_replication.NETWORK_DELAY`      | 0.002   | one way, pod to pod: a WAL record, its flush reply |
| `postgres_server.PROMOTE_SECONDS`         | 0.1     | pg_promote(): the end of recovery          |
| `postgres_programs.BASEBACKUP_SECONDS`    | 1.0     | pg_basebackup -c fast of a course-sized database |
| `postgres_replication.RETRY_SECONDS`      | 5.0     | wal_retrieve_retry_interval                |
| `postgres_replication.REPLICATION_TIMEOUT`| 60.0    | wal_receiver_timeout / wal_sender_timeout  |
| `postgres_replication.KEEPALIVE_SECONDS`  | 10.0    | how often a stream checks its link         |
| `postgres_connections.CONNECT_TIMEOUT`    | 127.0   | libpq without connect_timeout: the kernel's SYN retries |
| `postgres_server.CHECKPOINT_SECONDS`      | 300.0   | checkpoint_timeout: promotion's checkpoint |

Not modelled: transactions (every statement commits on its own; ROLLBACK is refused), MVCC
and locks, passwords (md5/scram lines accept whoever has PGPASSWORD), replication slots,
cascading timelines beyond following a promotion, pg_rewind, WAL archiving, crash of a single
backend. A row is visible on the primary as soon as it is written (a real one shows it when
the synchronous wait is over). Client queries cost no simulated time; only replication does.
"""

from __future__ import annotations

import posixpath
import re

from k8s_course.sim.images import (
    base,
    models,
    postgres_connections,
    postgres_data,
    postgres_programs,
    postgres_server,
    postgres_sql,
)

# what other modules import from here (the model's public names, wherever they live now)
from k8s_course.sim.images.postgres_connections import (  # noqa: F401
    CONNECT_TIMEOUT,
    LOOPBACK,
    LOST,
    PORT,
    REFUSED,
    SOCKET_DIR,
    TIMED_OUT,
    PgServers,
    Session,
    connect,
    find_server,
    path_open,
    servers_for,
)
from k8s_course.sim.images.postgres_data import (  # noqa: F401
    AUTO_CONF_HEADER,
    INITDB_LSN,
    RECORD_SIZES,
    SEGMENT,
    DataDirectory,
    directory_at,
    keep_directory,
    read_config,
    wal_file_name,
)
from k8s_course.sim.images.postgres_programs import (  # noqa: F401
    BASEBACKUP_SECONDS,
    SimulatedConnection,
    format_result,
    pg_basebackup,
    pg_dumpall,
    pg_isready,
    pg_writer_program,
    psql,
    writer_connect,
)
from k8s_course.sim.images.postgres_replication import (  # noqa: F401
    KEEPALIVE_SECONDS,
    NETWORK_DELAY,
    REPLICATION_TIMEOUT,
    RETRY_SECONDS,
    Link,
    Receiver,
    SyncRule,
    parse_conninfo,
    parse_sync_names,
)
from k8s_course.sim.images.postgres_server import (  # noqa: F401
    CHECKPOINT_SECONDS,
    DEFAULT_VERSION,
    PROMOTE_SECONDS,
    RESTART_ONLY,
    SETTINGS,
    STARTUP_SECONDS,
    VERSIONS,
    PostgresServer,
)
from k8s_course.sim.images.postgres_sql import (  # noqa: F401
    NOT_MODELLED,
    TERMINATED,
    ConnectFailure,
    ConnectionLost,
    Lsn,
    Result,
    SqlError,
    format_lsn,
    parse_lsn,
    parse_query,
)
from k8s_course.sim.images.shell_io import BUSYBOX, DEBIAN

DEFAULT_PGDATA = "/var/lib/postgresql/data"
INITDB_DIR = "/docker-entrypoint-initdb.d"
ENTRYPOINT = "/usr/local/bin/docker-entrypoint.sh"
INIT_SECONDS = 2.5  # initdb and the entrypoint's temporary server


# ---------------------------------------------------------------------------------------------
# The image: its entrypoint, initdb and the server's process
# ---------------------------------------------------------------------------------------------


INITDB_LINES = """The files belonging to this database system will be owned by user "postgres".
This user must also own the server process.

The database cluster will be initialized with locale "en_US.utf8".
The default database encoding has accordingly been set to "UTF8".
The default text search configuration will be set to "english".

Data page checksums are disabled.

fixing permissions on existing directory {pgdata} ... ok
creating subdirectories ... ok
selecting dynamic shared memory implementation ... posix
selecting default max_connections ... 100
selecting default shared_buffers ... 128MB
selecting default time zone ... Etc/UTC
creating configuration files ... ok
running bootstrap script ... ok
performing post-bootstrap initialization ... ok
syncing data to disk ... ok


Success. You can now start the database server using:

    pg_ctl -D {pgdata} -l logfile start

"""
POSTGRES_NO_PASSWORD = models.POSTGRES_NO_PASSWORD


def version_for(tag: str) -> str:
    """The server version an image tag runs: `16.4` -> 16.4, `16` -> its latest minor here."""
    tag = tag.split("-", 1)[0]
    if re.fullmatch(r"\d+\.\d+", tag):
        return tag
    return postgres_server.VERSIONS.get(tag.split(".", 1)[0], postgres_server.DEFAULT_VERSION)


class PostgresImage(models.Postgres):
    """The postgres image: its process through the simulated shell, with its programs."""

    def __init__(self, argv: list[str] | None, flavour, version: str = postgres_server.DEFAULT_VERSION):
        super().__init__(argv, flavour, {
            "psql": postgres_programs.psql, "pg_isready": postgres_programs.pg_isready, "pg_basebackup": postgres_programs.pg_basebackup,
            "pg_dumpall": postgres_programs.pg_dumpall, "postgres": self._postgres, "docker-entrypoint.sh": self._entrypoint})
        self.version = version
        major = version.split(".", 1)[0]
        self.image_env = {"PG_MAJOR": major, "PG_VERSION": f"{version}-1.pgdg120+1",
                          "PGDATA": DEFAULT_PGDATA, "LANG": "en_US.utf8", "GOSU_VERSION": "1.17",
                          "PATH": f"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:"
                                  f"/usr/lib/postgresql/{major}/bin"}
        self.server: postgres_server.PostgresServer | None = None  # the postmaster of this container, while it runs

    async def _entrypoint(self, shell, argv, io, env) -> int:
        args = list(argv[1:])
        if not args or args[0].startswith("-"):
            args = ["postgres", *args]
        if args[0] != "postgres":
            return await shell.invoke(args, io)  # exec "$@"
        return await self._postgres(shell, args, io, env, entrypoint=True)

    async def _postgres(self, shell, argv, io, env, entrypoint: bool = False) -> int:
        options: dict[str, str] = {}
        pgdata = env.get("PGDATA") or DEFAULT_PGDATA
        args = list(argv[1:])
        while args:
            option = args.pop(0)
            if option in ("-V", "--version"):
                io.stdout.write(f"postgres (PostgreSQL) {self.version} (Debian {self.version}-1.pgdg120+1)\n")
                return 0
            if option in ("-c", "-D", "-p") and args:
                value = args.pop(0)
                if option == "-D":
                    pgdata = value
                elif option == "-p":
                    options["port"] = value
                else:
                    name, _, setting = value.partition("=")
                    options[name.strip().lower().replace("-", "_")] = setting.strip().strip("'")
            elif option.startswith("--") and "=" in option:
                name, _, setting = option[2:].partition("=")
                options[name.lower().replace("-", "_")] = setting
            else:
                io.stderr.write(f"postgres: invalid argument: \"{option}\"\n"
                                'Try "postgres --help" for more information.\n')
                return 1
        pgdata = shell.path(pgdata)
        files = shell.ctx.files
        marker = posixpath.join(pgdata, "PG_VERSION")
        ready_at = shell.clock.now() + postgres_server.STARTUP_SECONDS
        if entrypoint and not files.exists(marker):
            code = await self._initdb(shell, io, env, pgdata)
            if code:
                return code
            ready_at += INIT_SECONDS
        elif entrypoint:
            io.stdout.write("\nPostgreSQL Database directory appears to contain a database; "
                            "Skipping initialization\n\n")
        if not files.exists(marker):
            if files.is_dir(pgdata):
                io.stderr.write(f'postgres: "{pgdata}" is not a valid data directory\n'
                                'DETAIL:  File "PG_VERSION" is missing.\n')
            else:
                io.stderr.write(f'postgres: could not access directory "{pgdata}": No such file or directory\n'
                                "Run initdb or pg_basebackup to initialize a PostgreSQL data directory.\n")
            return 2
        data = postgres_data.directory_at(files, pgdata)
        if data is None:  # files made by hand: an empty cluster
            data = postgres_data.DataDirectory(now=shell.clock.now())
            postgres_data.keep_directory(files, pgdata, data)
        server = postgres_server.PostgresServer(self.version, shell.ctx, pgdata, data, options, io.stderr, dict(env))
        self.server = server
        try:
            return await server.serve(shell.stopping or shell.ctx.stopping, ready_at)
        finally:
            if self.server is server:
                self.server = None

    async def _initdb(self, shell, io, env, pgdata: str) -> int:
        trust = env.get("POSTGRES_HOST_AUTH_METHOD") == "trust"
        if not env.get("POSTGRES_PASSWORD") and not trust:
            io.stderr.write(POSTGRES_NO_PASSWORD + "\n")
            return 1
        files, clock = shell.ctx.files, shell.clock
        began = clock.now()
        if files.is_dir(pgdata) and files.listdir(pgdata):
            io.stderr.write(f'initdb: error: directory "{pgdata}" exists but is not empty\n'
                            f'initdb: hint: If you want to create a new database system, either remove or '
                            f'empty the directory "{pgdata}" or run initdb with an argument other than '
                            f'"{pgdata}".\n')
            return 1
        io.stdout.write(INITDB_LINES.format(pgdata=pgdata))
        if trust:
            io.stderr.write('initdb: warning: enabling "trust" authentication for local connections\n'
                            "initdb: hint: You can change this by editing pg_hba.conf or using the option "
                            "-A, or --auth-local and --auth-host, the next time you run initdb.\n")
        await clock.sleep_until(began + INIT_SECONDS)
        data = postgres_data.DataDirectory(now=clock.now())
        try:
            postgres_data.write_data_directory(files, pgdata, self.version, {
                "postgresql.conf": postgres_data.POSTGRESQL_CONF, "postgresql.auto.conf": postgres_data.AUTO_CONF_HEADER,
                "pg_hba.conf": postgres_data.PG_HBA + "\nhost all all all "
                               + ("trust" if trust else env.get("POSTGRES_HOST_AUTH_METHOD") or "scram-sha-256")
                               + "\n"})
        except OSError as error:
            io.stderr.write(f'initdb: error: could not create directory "{pgdata}": {error.strerror}\n')
            return 1
        postgres_data.keep_directory(files, pgdata, data)
        temporary = postgres_server.PostgresServer(self.version, shell.ctx, pgdata, data, {}, io.stdout, dict(env))
        io.stdout.write("waiting for server to start....")
        temporary.start_temporary()
        io.stdout.write(" done\nserver started\n\n")
        try:
            code = await self._initdb_scripts(shell, io, env, temporary)
        finally:
            io.stdout.write("waiting for server to shut down....")
            temporary.stop_temporary()
            io.stdout.write(" done\nserver stopped\n\n")
        if code:
            return code
        io.stdout.write("PostgreSQL init process complete; ready for start up.\n\n")
        return 0

    async def _initdb_scripts(self, shell, io, env, server: postgres_server.PostgresServer) -> int:
        from k8s_course.sim.images.shell import Shell

        files = shell.ctx.files
        if not files.is_dir(INITDB_DIR):
            return 0
        for name in sorted(files.listdir(INITDB_DIR)):
            path = posixpath.join(INITDB_DIR, name)
            if name.endswith(".sh"):
                io.stdout.write(f"{ENTRYPOINT}: running {path}\n")
                child = Shell(shell.ctx, shell.flavour, io, env=dict(env), commands=shell.commands,
                              stopping=shell.stopping)
                code = await child.run_argv([path])
                if code:
                    return code
            elif name.endswith(".sql"):
                io.stdout.write(f"{ENTRYPOINT}: running {path}\n")
                session = postgres_connections.Session(server, None, "postgres", "postgres")
                try:
                    await session.execute(files.read(path))
                except postgres_sql.SqlError as error:
                    io.stderr.write(f"psql:{path}: " + error.text())
                    return 3
            else:
                io.stdout.write(f"{ENTRYPOINT}: ignoring {path}\n")
        io.stdout.write("\n")
        return 0


def postgres_model(container: dict) -> base.ImageModel:
    """The registry's hook for the postgres image."""
    from k8s_course.sim.images import registry  # registry imports this module

    reference = registry.parse_reference(container.get("image") or "")
    flavour = BUSYBOX if "alpine" in reference.tag else DEBIAN
    entrypoint, cmd = registry.ENTRYPOINTS.get("postgres", (["docker-entrypoint.sh"], ["postgres"]))
    argv = registry.process_argv(container, entrypoint, cmd)
    return PostgresImage(argv, flavour, version_for(reference.tag))


__all__ = [
    "ConnectFailure", "ConnectionLost", "DataDirectory", "Link", "Lsn", "PgServers", "PostgresImage",
    "PostgresServer", "Receiver", "Result", "Session", "SimulatedConnection", "SqlError", "SyncRule",
    "connect", "directory_at", "find_server", "format_lsn", "format_result", "keep_directory",
    "parse_conninfo", "parse_lsn", "parse_query", "parse_sync_names", "path_open", "pg_basebackup",
    "pg_dumpall", "pg_isready", "pg_writer_program", "postgres_model", "psql", "read_config",
    "servers_for", "version_for", "writer_connect",
]
