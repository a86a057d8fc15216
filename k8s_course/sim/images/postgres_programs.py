"""The postgres image's client programs, run through the simulated shell.

Part of the PostgreSQL model (overview in `postgres_models`): `psql` (-U -d -h -p -X -q -t
-A -c... -v -f, stdin; aligned output with header and "(N rows)" without -A: `format_result`),
`pg_isready`, `pg_basebackup` (BASEBACKUP_SECONDS; -R writes standby.signal and
primary_conninfo), `pg_dumpall` (a plain SQL dump). `python /app/pg_writer.py`
(`pg_writer_program`) runs the course's write-load generator's own core
(k8s_course.workloads.pg_writer) over `postgres_connections.connect`, through
`SimulatedConnection` and `writer_connect`.
"""

from __future__ import annotations

import asyncio

from k8s_course.sim.images import (
    postgres_connections,
    postgres_data,
    postgres_server,
    postgres_sql,
    program_args,
)

BASEBACKUP_SECONDS = 1.0  # pg_basebackup -c fast of a course-sized database


# the options of the client programs that take a value
_VALUE_OPTIONS = {"-U": "user", "--username": "user", "-d": "dbname", "--dbname": "dbname",
                  "-h": "host", "--host": "host", "-p": "port", "--port": "port", "-c": "command",
                  "--command": "command", "-v": "variable", "--set": "variable", "--variable": "variable",
                  "-f": "file", "--file": "file", "-D": "pgdata", "--pgdata": "pgdata", "-X": "wal",
                  "--wal-method": "wal", "-t": "timeout", "--timeout": "timeout", "-F": "format",
                  "--format": "format", "--checkpoint": "checkpoint", "-o": "output"}


def _client_options(program: str, argv: list[str], flags: dict[str, str], io) -> tuple[dict, list] | None:
    """Options and positional arguments of psql / pg_basebackup / ...; None after an error."""
    values: dict[str, list[str]] = {}
    positional: list[str] = []
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        if arg.startswith("--") and "=" in arg:
            arg, value = arg.split("=", 1)
            args.insert(0, value)
        name = flags.get(arg)
        if name is not None:
            values.setdefault(name, []).append("1")
            continue
        key = arg if arg in _VALUE_OPTIONS else None
        if key is None and arg.startswith("-") and not arg.startswith("--") and arg[:2] in _VALUE_OPTIONS \
                and len(arg) > 2:
            key, value = arg[:2], arg[2:]
            args.insert(0, value)
        if key is not None:
            if program == "pg_basebackup" and key == "-c":
                key = "--checkpoint"
            if program == "pg_basebackup" and key == "-X":
                pass
            elif key == "-X" and program == "psql":
                values.setdefault("no_psqlrc", []).append("1")
                continue
            if not args:
                io.stderr.write(f"{program}: option requires an argument -- '{arg.lstrip('-')}'\n"
                                f'{program}: hint: Try "{program} --help" for more information.\n')
                return None
            values.setdefault(_VALUE_OPTIONS[key], []).append(args.pop(0))
            continue
        if arg.startswith("-") and arg != "-":
            letters = arg[1:]
            if not arg.startswith("--") and all(f"-{letter}" in flags for letter in letters):
                for letter in letters:
                    values.setdefault(flags[f"-{letter}"], []).append("1")
                continue
            shown = f"unrecognized option '{arg}'" if arg.startswith("--") else f"invalid option -- '{arg[1]}'"
            io.stderr.write(f"{program}: {shown}\n{program}: hint: Try \"{program} --help\" for more information.\n")
            return None
        positional.append(arg)
    return values, positional


def _last(values: dict, name: str, default=None):
    found = values.get(name)
    return found[-1] if found else default


def _target(values: dict, env: dict, positional: list[str], ctx) -> tuple[str | None, int, str, str]:
    host = _last(values, "host") or env.get("PGHOST") or None
    port_text = _last(values, "port") or env.get("PGPORT") or str(postgres_connections.PORT)
    user = _last(values, "user") or (positional[1] if len(positional) > 1 else None) or \
        env.get("PGUSER") or _os_user(ctx)
    database = _last(values, "dbname") or (positional[0] if positional else None) or \
        env.get("PGDATABASE") or user
    return host, int(port_text) if port_text.isdigit() else postgres_connections.PORT, user, database


PSQL_FLAGS = {"-X": "no_psqlrc", "--no-psqlrc": "no_psqlrc", "-q": "quiet", "--quiet": "quiet",
              "-t": "tuples_only", "--tuples-only": "tuples_only", "-A": "unaligned",
              "--no-align": "unaligned", "-w": "no_password", "--no-password": "no_password",
              "-W": "password", "-e": "echo", "-a": "echo_all", "-1": "single", "-b": "echo_errors"}


def format_result(result: postgres_sql.Result, tuples_only: bool, unaligned: bool, quiet: bool) -> str:
    """What psql prints for one result."""
    if result.rows is None:
        return "" if quiet else result.tag + "\n"
    cells = [[postgres_sql.render(value) for value in row] for row in result.rows]
    if unaligned:
        lines = [] if tuples_only else ["|".join(result.columns)]
        lines += ["|".join(row) for row in cells]
        if not tuples_only:
            lines.append(f"({len(cells)} row{'' if len(cells) == 1 else 's'})")
        return "".join(line + "\n" for line in lines)
    numeric = [any(postgres_sql.is_number(row[i]) for row in result.rows) for i in range(len(result.columns))]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(result.columns)]
    lines = []
    if not tuples_only:
        headers = []
        for name, width in zip(result.columns, widths, strict=True):
            left = (width - len(name)) // 2
            headers.append(" " * left + name + " " * (width - len(name) - left))
        lines.append(" " + " | ".join(headers) + " ")
        lines.append("-" + "-+-".join("-" * width for width in widths) + "-")
    for row in cells:
        parts = []
        for index, (text, width) in enumerate(zip(row, widths, strict=True)):
            if numeric[index]:
                parts.append(text.rjust(width))
            elif index == len(row) - 1:
                parts.append(text)
            else:
                parts.append(text.ljust(width))
        lines.append((" " + " | ".join(parts)).rstrip() if not parts[-1] else " " + " | ".join(parts))
    if not tuples_only:
        lines.append(f"({len(cells)} row{'' if len(cells) == 1 else 's'})")
    return "".join(line + "\n" for line in lines) + "\n"


async def psql(shell, argv, io, env) -> int:
    """`psql [-U user] [-d db] [-h host] [-p port] [-X] [-q] [-t] [-A] [-c SQL]... [-v x=y] [-f file]`."""
    parsed = _client_options("psql", argv, PSQL_FLAGS, io)
    if parsed is None:
        return 1
    values, positional = parsed
    if "--version" in argv[1:] or "-V" in argv[1:]:
        io.stdout.write(f"psql (PostgreSQL) {shell.vars.get('PG_VERSION', postgres_server.DEFAULT_VERSION).split('-')[0]}"
                        f" (Debian {shell.vars.get('PG_VERSION', postgres_server.DEFAULT_VERSION)})\n")
        return 0
    host, port, user, database = _target(values, env, positional, shell.ctx)
    variables = dict(item.partition("=")[::2] for item in values.get("variable", []))
    stop_on_error = variables.get("ON_ERROR_STOP", "").lower() in ("1", "on", "true", "yes")
    tuples_only, unaligned, quiet = "tuples_only" in values, "unaligned" in values, "quiet" in values
    queries = list(values.get("command", []))
    for script in values.get("file", []):
        try:
            queries.append(shell.files.read(shell.path(script)) if script != "-" else await io.stdin.read())
        except OSError:
            io.stderr.write(f"psql: error: {script}: No such file or directory\n")
            return 1
    if not queries:
        queries = [await io.stdin.read()]
    try:
        session = await postgres_connections.connect(shell.ctx, host, port, user=user, database=database, env=env)
    except postgres_sql.ConnectFailure as failure:
        io.stderr.write(f"psql: error: {failure}\n")
        return 2
    status = 0
    for query in queries:
        try:
            results = await session.execute(query)
            failure = None
        except postgres_sql.SqlError as error:
            results, failure = error.results, error
        except postgres_sql.ConnectionLost as lost:
            io.stderr.write(f"{lost}\n{postgres_connections.LOST}\nconnection to server was lost\n")
            return 2
        for notice in session.notices:
            io.stderr.write(notice + "\n")
        session.notices.clear()
        for result in results:
            io.stdout.write(format_result(result, tuples_only, unaligned, quiet))
        status = 0
        if failure is not None:
            io.stderr.write(failure.text(query))
            status = 1
            if stop_on_error:
                return 3 if values.get("file") else 1
    return status


async def pg_isready(shell, argv, io, env) -> int:
    """`pg_isready [-h host] [-p port] [-U user] [-d db] [-t seconds] [-q]`: exit 0, 1, 2."""
    parsed = _client_options("pg_isready", argv, {"-q": "quiet", "--quiet": "quiet"}, io)
    if parsed is None:
        return 3
    values, positional = parsed
    host, port, _, _ = _target(values, env, positional, shell.ctx)
    timeout = float(_last(values, "timeout", "3") or 3)
    shown = f"{host}:{port}" if host else f"{postgres_connections.SOCKET_DIR}:{port}"
    answer, code = "no response", 2
    try:
        server, _, _ = postgres_connections.find_server(shell.ctx, host, port)
        if postgres_connections.path_open(shell.ctx, server.ctx):
            if server.state in ("starting", "stopping", "stopped"):
                answer, code = "rejecting connections", 1
            else:
                answer, code = "accepting connections", 0
        elif timeout:
            await shell.clock.sleep(timeout)
    except postgres_sql.ConnectFailure:
        pass
    if "quiet" not in values:
        io.stdout.write(f"{shown} - {answer}\n")
    return code


BASEBACKUP_FLAGS = {"-R": "recovery", "--write-recovery-conf": "recovery", "-P": "progress",
                    "--progress": "progress", "-v": "verbose", "--verbose": "verbose", "-w": "no_password",
                    "--no-password": "no_password", "-n": "no_clean", "-N": "no_sync"}


def _conninfo_line(user: str, host: str, port: int) -> str:
    conninfo = (f"user={user} passfile=''/var/lib/postgresql/.pgpass'' channel_binding=prefer "
                f"host={host} port={port} sslmode=prefer sslcompression=0 sslcertmode=allow sslsni=1 "
                "ssl_min_protocol_version=TLSv1.2 gssencmode=prefer krbsrvname=postgres gssdelegation=0 "
                "target_session_attrs=any load_balance_hosts=disable")
    return f"primary_conninfo = '{conninfo}'\n"


async def pg_basebackup(shell, argv, io, env) -> int:
    """`pg_basebackup -h HOST -D DIR [-U user] [-p port] [-R] [-X stream] [-c fast] [-P] [-v]`."""
    parsed = _client_options("pg_basebackup", argv, BASEBACKUP_FLAGS, io)
    if parsed is None:
        return 1
    values, positional = parsed
    target = _last(values, "pgdata")
    if not target:
        io.stderr.write("pg_basebackup: error: no target directory specified\n"
                        'pg_basebackup: hint: Try "pg_basebackup --help" for more information.\n')
        return 1
    files, clock, ctx = shell.ctx.files, shell.clock, shell.ctx
    target = shell.path(target)
    if files.exists(target) and (not files.is_dir(target) or files.listdir(target)):
        io.stderr.write(f'pg_basebackup: error: directory "{target}" exists but is not empty\n')
        return 1
    host, port, user, _ = _target(values, env, [], ctx)
    try:
        session = await postgres_connections.connect(ctx, host, port, user=user, database="replication", replication=True, env=env)
    except postgres_sql.ConnectFailure as failure:
        io.stderr.write(f"pg_basebackup: error: {failure}\n")
        return 1
    upstream = session.server
    verbose = "verbose" in values
    if verbose:
        io.stderr.write("pg_basebackup: initiating base backup, waiting for checkpoint to complete\n")
    if not upstream.in_recovery:
        upstream.log("LOG:  checkpoint starting: immediate force wait", pid=upstream.checkpointer_pid)
        upstream.data.checkpoint(clock.now())
        upstream.wal_written()
        upstream.log("LOG:  checkpoint complete: wrote 7 buffers (0.0%); 0 WAL file(s) added, 0 removed, "
                     "0 recycled", pid=upstream.checkpointer_pid)
    start = upstream.data.checkpoint_lsn
    if verbose:
        io.stderr.write(f"pg_basebackup: checkpoint completed\npg_basebackup: write-ahead log start point: "
                        f"{postgres_sql.format_lsn(start)} on timeline {upstream.data.timeline}\n")
    await clock.sleep(BASEBACKUP_SECONDS)
    if upstream.state != "running" or not postgres_connections.path_open(ctx, upstream.ctx):
        io.stderr.write(f"pg_basebackup: error: could not read COPY data: {postgres_connections.LOST}\n")
        return 1
    if not upstream.in_recovery:
        upstream.data.switch_segment()
        upstream.wal_written()
    backup = upstream.data.copy()
    backup.checkpoint_lsn, backup.checkpoint_timeline = start, upstream.data.checkpoint_timeline
    config = {name: upstream.read_file(name) for name in ("postgresql.conf", "pg_hba.conf")}
    auto = upstream.read_file("postgresql.auto.conf") or postgres_data.AUTO_CONF_HEADER
    if "recovery" in values:
        auto += _conninfo_line(user, host or "/var/run/postgresql", port)
        config["standby.signal"] = ""
    config["postgresql.auto.conf"] = auto
    config["backup_label.old"] = (f"START WAL LOCATION: {postgres_sql.format_lsn(start)} (file "
                                  f"{postgres_data.wal_file_name(backup.timeline, start + 1)})\nBACKUP METHOD: streamed\n"
                                  f"BACKUP FROM: {'standby' if upstream.in_recovery else 'primary'}\n")
    try:
        postgres_data.keep_directory(files, target, backup)
        postgres_data.write_data_directory(files, target, upstream.version, config)
    except OSError as error:
        io.stderr.write(f'pg_basebackup: error: could not create directory "{target}": {error.strerror}\n')
        return 1
    if verbose:
        io.stderr.write(f"pg_basebackup: write-ahead log end point: {postgres_sql.format_lsn(backup.lsn)}\n"
                        "pg_basebackup: syncing data to disk ...\npg_basebackup: base backup completed\n")
    return 0


async def pg_dumpall(shell, argv, io, env) -> int:
    """`pg_dumpall [-U user] [-h host] [-p port] [-f file]`: a plain SQL dump."""
    parsed = _client_options("pg_dumpall", argv, {"-w": "no_password", "-c": "clean"}, io)
    if parsed is None:
        return 1
    values, _ = parsed
    host, port, user, _ = _target(values, env, [], shell.ctx)
    try:
        session = await postgres_connections.connect(shell.ctx, host, port, user=user, database="postgres", env=env)
    except postgres_sql.ConnectFailure as failure:
        io.stderr.write(f"pg_dumpall: error: {failure}\n")
        return 1
    text = session.server.dump()
    output = _last(values, "file") or _last(values, "output")
    if not output:
        io.stdout.write(text)
        return 0
    try:
        shell.files.write(shell.path(output), text)
    except OSError as error:
        io.stderr.write(f'pg_dumpall: error: could not open output file "{output}": '
                        f"{error.strerror or 'No such file or directory'}\n")
        return 1
    return 0


def _os_user(ctx) -> str:
    """Who runs the command: the image's postgres user (uid 999) or root."""
    spec = (ctx.pod or {}).get("spec") or {}
    uid = ((ctx.container.get("securityContext") or {}).get("runAsUser")
           if (ctx.container.get("securityContext") or {}).get("runAsUser") is not None
           else (spec.get("securityContext") or {}).get("runAsUser"))
    return "root" if not uid else "postgres"


# ---------------------------------------------------------------------------------------------
# python /app/pg_writer.py: the write-load generator's own core over simulated connections
# ---------------------------------------------------------------------------------------------


SQLSTATES = (("read-only transaction", "25006"), ("duplicate key", "23505"), ("does not exist", "42P01"),
             ("syntax error", "42601"), ("not-null constraint", "23502"))


class SimulatedConnection:
    """The writer's `Connection` over a simulated session: `await execute(sql)` -> command tag.

    Raises the writer module's DatabaseError for an SQL error and ConnectionResetError when the
    server went away; a server on a cut-off node never answers (the writer's timeout ends it)."""

    def __init__(self, session: postgres_connections.Session, database_error):
        self.session = session
        self.database_error = database_error

    async def execute(self, sql: str) -> str:
        try:
            results = await self.session.execute(sql)
        except postgres_sql.SqlError as error:
            code = next((state for words, state in SQLSTATES if words in error.message), "XX000")
            raise self.database_error(error.message, code, error.severity) from None
        except postgres_sql.ConnectionLost:
            raise ConnectionResetError(104, "Connection reset by peer") from None
        return results[-1].tag if results else "EMPTY"

    async def close(self) -> None:
        return None


def _socket_error(failure: postgres_sql.ConnectFailure, database_error) -> Exception:
    """What a socket client sees for a failed connection, as an exception."""
    import errno
    import socket

    text = str(failure)
    if "could not translate host name" in text:
        return socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    if "Connection refused" in text:
        return ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    if "Connection timed out" in text:
        return TimeoutError(errno.ETIMEDOUT, "Connection timed out")
    if "FATAL:  " in text:
        return database_error(text.split("FATAL:  ", 1)[1].split("\n")[0], "57P03", "FATAL")
    return ConnectionError(text.split("\n")[0])


def writer_connect(ctx, database_error, split_target, user: str = "postgres", database: str = "postgres"):
    """`connect(target)` for the writer's core (`host:port`), from the container `ctx`."""

    async def connect_to(target: str) -> SimulatedConnection:
        host, port = split_target(target)
        try:
            session = await postgres_connections.connect(ctx, host, port, user=user, database=database)
        except postgres_sql.ConnectFailure as failure:
            raise _socket_error(failure, database_error) from None
        return SimulatedConnection(session, database_error)

    return connect_to


async def pg_writer_program(shell, argv: list[str], io, env: dict) -> int:
    """`python /app/pg_writer.py [options]`: the write-load generator's own loop
    (k8s_course.workloads.pg_writer.run_writer) on this cluster's simulated servers."""
    from k8s_course.workloads import pg_writer as core

    ctx = shell.ctx
    settings = program_args.settings_or_exit_code(core.settings_from, argv, env, io, "pg_writer")
    if isinstance(settings, int):
        return settings

    def log(line: str) -> None:
        io.stdout.write(line + "\n")  # print(..., flush=True) in the real program

    log(f"pg_writer: writing to {settings.target} at {settings.rate:g}/s, timeout {settings.timeout:g} s")
    connect_to = writer_connect(ctx, core.DatabaseError, core.split_target, settings.user, settings.database)
    task = asyncio.ensure_future(core.run_writer(settings, connect_to, ctx.clock.now, ctx.clock.sleep, log))
    stopping = asyncio.ensure_future((shell.stopping or ctx.stopping).wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()  # SIGTERM: the real program's signal handler cancels the loop
        await asyncio.gather(task, return_exceptions=True)
    log("pg_writer: stopped")
    return 0
