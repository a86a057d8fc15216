"""The server: one postmaster on one data directory, in one container (`PostgresServer`).

Part of the PostgreSQL model (overview in `postgres_models`). The server starts
(STARTUP_SECONDS: `pg_isready` says "rejecting connections" meanwhile) as a primary, or as a
standby of `primary_conninfo`'s host when `standby.signal` is there. It listens on 5432 on
the pod IP, localhost and the unix socket (`postgres_connections`); it admits a client by
pg_hba.conf, runs the statements the parser gives it (SHOW, SET, ALTER SYSTEM, CREATE TABLE,
INSERT, ...; SELECTs through `postgres_queries.Evaluator`), answers the functions and the
views of replication, and waits for synchronous standbys at commit (`postgres_replication`).
SIGTERM is a fast shutdown (exit 0); a killed server comes back with crash recovery.

`pg_promote()` ends recovery after PROMOTE_SECONDS: a new timeline (one more than the
highest known), standby.signal removed, and the checkpoint it requests done
CHECKPOINT_SECONDS later. An old primary that comes back starts as a primary on its old
timeline. SETTINGS are the settings SHOW, current_setting() and ALTER SYSTEM know.
"""

from __future__ import annotations

import asyncio
import posixpath
from datetime import datetime, timezone

from k8s_course.sim.images import (
    base,
    models,
    postgres_connections,
    postgres_data,
    postgres_queries,
    postgres_replication,
    postgres_sql,
)

STARTUP_SECONDS = 0.5  # from the postmaster's start to accepting connections
PROMOTE_SECONDS = 0.1  # pg_promote(): the end of recovery
CHECKPOINT_SECONDS = 300.0  # checkpoint_timeout: when the checkpoint promotion requests is done
VERSIONS = {"17": "17.2", "16": "16.6", "15": "15.10", "14": "14.15", "13": "13.18", "12": "12.22"}
DEFAULT_VERSION = "17.2"
# the settings SHOW, current_setting() and ALTER SYSTEM know, with their defaults
SETTINGS = {
    "primary_conninfo": "", "synchronous_standby_names": "", "synchronous_commit": "on",
    "cluster_name": "", "wal_log_hints": "off", "max_wal_senders": "10", "wal_level": "replica",
    "hot_standby": "on", "listen_addresses": "localhost", "port": "5432", "max_connections": "100",
    "shared_buffers": "128MB", "wal_keep_size": "0", "wal_sender_timeout": "1min",
    "wal_receiver_timeout": "1min", "log_checkpoints": "on", "work_mem": "4MB",
    "checkpoint_timeout": "5min", "wal_retrieve_retry_interval": "5s",
    "recovery_target_timeline": "latest", "primary_slot_name": "", "statement_timeout": "0",
    "application_name": "", "timezone": "Etc/UTC", "log_statement": "none",
    "max_replication_slots": "10", "full_page_writes": "on", "archive_mode": "off",
    "data_checksums": "off", "server_encoding": "UTF8", "client_encoding": "UTF8",
    "default_transaction_read_only": "off", "transaction_read_only": "off",
}
RESTART_ONLY = {"cluster_name", "listen_addresses", "port", "max_connections", "shared_buffers",
                "wal_level", "max_wal_senders", "hot_standby", "wal_log_hints",
                "max_replication_slots", "archive_mode"}


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


def _stamp(ctx, pid: int) -> str:
    moment = models.klog_time(ctx)
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')}.{moment.microsecond // 1000:03d} UTC [{pid}]"


def _time_text(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class PostgresServer:
    """One postmaster on one data directory, in one container."""

    startup_pid, checkpointer_pid, walreceiver_pid, walsender_pid = 28, 26, 35, 41

    def __init__(self, version: str, ctx: base.ContainerContext, pgdata: str, data: postgres_data.DataDirectory,
                 command_line: dict[str, str], log_output, env: dict[str, str]):
        self.version = version
        self.ctx = ctx
        self.ip = ctx.pod_ip
        self.files = ctx.files
        self.pgdata = pgdata
        self.data = data
        self.command_line = command_line
        self.log_output = log_output
        self.env = env
        self.state = "starting"  # starting, init (socket only), running, stopping, stopped
        self.tcp = False
        self.in_recovery = False
        self.settings: dict[str, str] = {}
        self.links: list[postgres_replication.Link] = []  # standbys streaming from this server
        self.receiver: postgres_replication.Receiver | None = None
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self._tasks: set[asyncio.Task] = set()
        self.started_at = ctx.clock.now()

    # plumbing

    def log(self, line: str, pid: int = 1) -> None:
        stamp = _stamp(self.ctx, pid)
        self.log_output.write("".join(f"{stamp} {part}\n" for part in line.split("\n")))

    def path(self, name: str) -> str:
        return posixpath.join(self.pgdata, name)

    def read_file(self, name: str) -> str:
        try:
            return self.files.read(self.path(name))
        except OSError:
            return ""

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def load_settings(self) -> dict[str, str]:
        settings = dict(SETTINGS, data_directory=self.pgdata, server_version=self.version)
        settings.update(postgres_data.read_config(self.read_file("postgresql.conf")))
        settings.update(postgres_data.read_config(self.read_file("postgresql.auto.conf")))
        settings.update(self.command_line)
        return settings

    def open(self, tcp: bool) -> None:
        self.tcp = tcp
        postgres_connections.servers_for(self.ctx.network).open(self.ip, postgres_connections.PORT, self)
        if tcp:
            self.ctx.listen(postgres_connections.PORT)

    def close(self) -> None:
        postgres_connections.servers_for(self.ctx.network).close(self.ip, postgres_connections.PORT, self)
        if self.tcp:
            self.ctx.close(postgres_connections.PORT)
        self.tcp = False

    def admit(self, client_ip: str | None, user: str, database: str, replication: bool,
              env: dict) -> str | None:
        """Why a connection is refused (the FATAL line), or None."""
        if self.state == "starting":
            return "FATAL:  the database system is starting up"
        if self.state in ("stopping", "stopped"):
            return "FATAL:  the database system is shutting down"
        local = client_ip is None
        method = postgres_data.hba_decision(self.read_file("pg_hba.conf"), local, database, user, client_ip, replication)
        host = "[local]" if local else client_ip
        if method is None:
            if replication:
                return (f'FATAL:  no pg_hba.conf entry for replication connection from host "{host}", '
                        f'user "{user}", no encryption')
            return (f'FATAL:  no pg_hba.conf entry for host "{host}", user "{user}", '
                    f'database "{database}", no encryption')
        if method == "reject":
            return (f'FATAL:  pg_hba.conf rejects connection for host "{host}", user "{user}", '
                    f'database "{database}", no encryption')
        if method not in ("trust", "peer") and not env.get("PGPASSWORD"):
            return "fe_sendauth: no password supplied"
        if user not in self.roles():
            return f'FATAL:  role "{user}" does not exist'
        if not replication and database not in self.databases():
            return f'FATAL:  database "{database}" does not exist'
        if not replication and database == "template0":
            return 'FATAL:  database "template0" is not currently accepting connections'
        return None

    def roles(self) -> set[str]:
        return {"postgres", self.env.get("POSTGRES_USER") or "postgres"}

    def databases(self) -> set[str]:
        return {"postgres", "template1", "template0", self.env.get("POSTGRES_DB") or
                self.env.get("POSTGRES_USER") or "postgres"}

    # lifecycle

    def start_temporary(self) -> None:
        """The entrypoint's `pg_ctl start` during initialization: the unix socket only."""
        self.data.server = self
        self.settings = self.load_settings()
        self.open(tcp=False)
        self.state = "init"
        for line in (f"LOG:  starting PostgreSQL {self.version_line()}",
                     f'LOG:  listening on Unix socket "{postgres_connections.socket_path(postgres_connections.PORT)}"'):
            self.log(line, pid=48)
        self.log(f"LOG:  database system was shut down at {_time_text(self.data.checkpoint_time)}", pid=51)
        self.log("LOG:  database system is ready to accept connections", pid=48)

    def stop_temporary(self) -> None:
        for line in ("LOG:  received fast shutdown request", "LOG:  aborting any active transactions",
                     "LOG:  shutting down"):
            self.log(line, pid=48)
        self.data.checkpoint(self.ctx.clock.now())
        self.close()
        self.state = "stopped"
        self.data.server = None
        self.log("LOG:  database system is shut down", pid=48)

    def version_line(self) -> str:
        return (f"{self.version} (Debian {self.version}-1.pgdg120+1) on x86_64-pc-linux-gnu, "
                "compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit")

    async def serve(self, stopping: asyncio.Event, ready_at: float | None = None) -> int:
        """The postmaster: start, run until SIGTERM, shut down fast. Cancelled: killed.

        `ready_at`: when it accepts connections (deadlines from the process's start, so that a
        clock moved in coarse steps does not add the steps up)."""
        data, clock = self.data, self.ctx.clock
        if data.server is not None and data.server.state != "stopped":
            self.log('FATAL:  lock file "postmaster.pid" already exists')
            self.log(f'HINT:  Is another postmaster (PID 1) running in data directory "{self.pgdata}"?')
            return 1
        data.server = self
        try:
            self.settings = self.load_settings()
            self.files.write(self.path("postmaster.pid"),
                             f"1\n{self.pgdata}\n{int(clock.now())}\n{postgres_connections.PORT}\n{postgres_connections.SOCKET_DIR}\n*\n")
            self.log(f"LOG:  starting PostgreSQL {self.version_line()}")
            self.open(tcp=True)
            for line in (f'LOG:  listening on IPv4 address "0.0.0.0", port {postgres_connections.PORT}',
                         f'LOG:  listening on IPv6 address "::", port {postgres_connections.PORT}',
                         f'LOG:  listening on Unix socket "{postgres_connections.socket_path(postgres_connections.PORT)}"'):
                self.log(line)
            clean, data.clean = data.clean, False
            pid = self.startup_pid
            if clean:
                self.log(f"LOG:  database system was shut down at {_time_text(data.checkpoint_time)}", pid=pid)
            else:
                self.log(f"LOG:  database system was interrupted; last known up at "
                         f"{_time_text(data.checkpoint_time)}", pid=pid)
            await clock.sleep_until(clock.now() + STARTUP_SECONDS if ready_at is None else ready_at)
            if self.files.exists(self.path("standby.signal")):
                self.in_recovery = True
                for line in ("LOG:  entering standby mode",
                             f"LOG:  redo starts at {postgres_sql.format_lsn(data.checkpoint_lsn)}",
                             f"LOG:  consistent recovery state reached at {postgres_sql.format_lsn(data.lsn)}"):
                    self.log(line, pid=pid)
                self.log("LOG:  database system is ready to accept read-only connections")
                self.state = "running"
                self.receiver = postgres_replication.Receiver(self)
            else:
                if not clean:
                    for line in ("LOG:  database system was not properly shut down; automatic recovery in progress",
                                 f"LOG:  redo starts at {postgres_sql.format_lsn(data.checkpoint_lsn)}",
                                 f"LOG:  redo done at {postgres_sql.format_lsn(data.lsn)}"):
                        self.log(line, pid=pid)
                    data.checkpoint(clock.now())
                self.log("LOG:  database system is ready to accept connections")
                self.state = "running"
            await stopping.wait()
            return await self._shutdown()
        finally:
            if self.state != "stopped":  # killed: nothing is flushed, nothing is sent
                self._halt("lost")

    async def _shutdown(self) -> int:
        data, clock = self.data, self.ctx.clock
        self.state = "stopping"
        self.log("LOG:  received fast shutdown request")
        self.log("LOG:  aborting any active transactions")
        self._fail_waiters()
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        self.log('LOG:  background worker "logical replication launcher" (PID 34) exited with exit code 1')
        self.log("LOG:  shutting down", pid=self.checkpointer_pid)
        if self.in_recovery:
            self.log("LOG:  restartpoint starting: shutdown immediate", pid=self.checkpointer_pid)
            data.checkpoint_lsn, data.checkpoint_timeline = data.lsn, data.timeline
            data.checkpoint_time = clock.now()
        else:
            self.log("LOG:  checkpoint starting: shutdown immediate", pid=self.checkpointer_pid)
            data.checkpoint(clock.now())
            self.wal_written()
        if self.links:
            await clock.sleep(postgres_replication.NETWORK_DELAY)  # the walsenders send the shutdown checkpoint too
            for link in list(self.links):
                link.deliver_pending()
        self.log(f"LOG:  {'restartpoint' if self.in_recovery else 'checkpoint'} complete: wrote 3 buffers "
                 "(0.0%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.002 s, sync=0.001 s, "
                 "total=0.005 s", pid=self.checkpointer_pid)
        data.clean = True
        self._halt("primary")
        try:
            self.files.remove(self.path("postmaster.pid"))
        except OSError:
            pass
        self.log("LOG:  database system is shut down")
        return 0

    def _halt(self, reason: str) -> None:
        """Everything stops: streams, receiver, sessions; the address is free again."""
        self.state = "stopped"
        for link in list(self.links):
            link.close(reason)
        if self.receiver is not None:
            self.receiver.task.cancel()
            if self.receiver.link is not None:
                self.receiver.link.close("receiver")
            self.receiver = None
        for task in list(self._tasks):
            task.cancel()
        self._fail_waiters()
        self.close()
        if self.data.server is self:
            self.data.server = None

    # WAL and synchronous commit

    def wal_written(self) -> None:
        for link in list(self.links):
            link.push()

    def sync_rule(self, session: postgres_connections.Session | None = None) -> postgres_replication.SyncRule:
        commit = (session.settings.get("synchronous_commit") if session else None) or \
            self.settings.get("synchronous_commit", "on")
        if commit in ("off", "local", "false", "0", "no"):
            return postgres_replication.SyncRule("", 0, ())
        try:
            return postgres_replication.parse_sync_names(self.settings.get("synchronous_standby_names", ""))
        except ValueError:
            return postgres_replication.SyncRule("", 0, ())

    def _priorities(self, rule: postgres_replication.SyncRule) -> dict[postgres_replication.Link, int]:
        found = {}
        for link in self.links:
            name = link.application_name.lower()
            for index, listed in enumerate(rule.names):
                if listed == "*" or listed == name:
                    found[link] = index + 1
                    break
        return found

    def sync_states(self) -> dict[postgres_replication.Link, tuple[str, int]]:
        rule = self.sync_rule()
        priorities = self._priorities(rule) if rule.method else {}
        states = {link: ("async", 0) for link in self.links}
        if rule.method == "any":
            for link in priorities:
                states[link] = ("quorum", 1)
        elif rule.method == "first":
            ranked = sorted(priorities, key=lambda link: (priorities[link], self.links.index(link)))
            for position, link in enumerate(ranked):
                states[link] = ("sync" if position < rule.count else "potential", priorities[link])
        return states

    def _satisfied(self, lsn: int, rule: postgres_replication.SyncRule) -> bool:
        if not rule.method:
            return True
        priorities = self._priorities(rule)
        if rule.method == "any":
            return sum(1 for link in priorities if link.flushed >= lsn) >= rule.count
        ranked = sorted(priorities, key=lambda link: (priorities[link], self.links.index(link)))[:rule.count]
        return len(ranked) >= rule.count and all(link.flushed >= lsn for link in ranked)

    async def commit(self, lsn: int, session: postgres_connections.Session) -> None:
        """Wait as synchronous_standby_names says; ConnectionLost if the server stops meanwhile."""
        self.wal_written()
        rule = self.sync_rule(session)
        if self.in_recovery or self._satisfied(lsn, rule):
            return
        future = asyncio.get_running_loop().create_future()
        entry = (lsn, future, session)
        self._waiters.append(entry)
        try:
            await future
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def release_waiters(self) -> None:
        for lsn, future, session in list(self._waiters):
            if not future.done() and self._satisfied(lsn, self.sync_rule(session)):
                future.set_result(None)

    def _fail_waiters(self) -> None:
        for _, future, _ in list(self._waiters):
            if not future.done():
                future.set_exception(postgres_sql.ConnectionLost(postgres_sql.TERMINATED))

    # configuration

    def reload(self) -> None:
        self.log("LOG:  received SIGHUP, reloading configuration files")
        old, new = self.settings, self.load_settings()
        for name in sorted(set(old) | set(new)):
            if old.get(name) == new.get(name):
                continue
            if name in RESTART_ONLY:
                self.log(f'LOG:  parameter "{name}" cannot be changed without restarting the server')
                new[name] = old.get(name, "")
            else:
                self.log(f'LOG:  parameter "{name}" changed to "{new.get(name, "")}"')
        self.settings = new
        if self.in_recovery and old.get("primary_conninfo") != new.get("primary_conninfo") and \
                self.state == "running":
            if self.receiver is not None:
                self.receiver.stop()
            self.receiver = postgres_replication.Receiver(self)
        self.release_waiters()

    def alter_system(self, action: str, name: str | None, value: str | None) -> None:
        auto = postgres_data.read_config(self.read_file("postgresql.auto.conf"))
        if action == "reset_all":
            auto = {}
        else:
            if name not in SETTINGS:
                raise postgres_sql.SqlError(f'unrecognized configuration parameter "{name}"')
            if action == "reset" or value is None:
                auto.pop(name, None)
            else:
                if name == "synchronous_standby_names":
                    try:
                        postgres_replication.parse_sync_names(value)
                    except ValueError:
                        raise postgres_sql.SqlError(f'invalid value for parameter "{name}": "{value}"',
                                       detail="synchronous_standby_names parser failed") from None
                auto[name] = value
        self.files.write(self.path("postgresql.auto.conf"), postgres_data.write_auto_conf(auto))

    # promotion

    async def promote(self, wait: bool = True) -> bool:
        if not self.in_recovery:
            raise postgres_sql.SqlError("recovery is not in progress",
                           hint="Recovery control functions can only be executed during recovery.")
        self.log("LOG:  received promote request", pid=self.startup_pid)
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        finished = asyncio.ensure_future(self._finish_promotion())
        if not wait:
            return True
        return await finished

    async def _finish_promotion(self) -> bool:
        clock, data, pid = self.ctx.clock, self.data, self.startup_pid
        await clock.sleep(PROMOTE_SECONDS)
        if self.state != "running" or not self.in_recovery:
            return False
        self.log(f"LOG:  redo done at {postgres_sql.format_lsn(data.lsn)} system usage: CPU: user: 0.00 s, "
                 "system: 0.00 s, elapsed: 0.10 s", pid=pid)
        timeline = data.promote()
        self.log(f"LOG:  selected new timeline ID: {timeline}", pid=pid)
        self.log("LOG:  archive recovery complete", pid=pid)
        try:
            self.files.remove(self.path("standby.signal"))
        except OSError:
            pass
        self.in_recovery = False
        self.wal_written()
        self.log("LOG:  checkpoint starting: force", pid=self.checkpointer_pid)
        self.log("LOG:  database system is ready to accept connections")
        self._spawn(self._checkpoint_later())
        return True

    async def _checkpoint_later(self) -> None:
        """The checkpoint promotion asks for is spread over checkpoint_timeout."""
        await self.ctx.clock.sleep(CHECKPOINT_SECONDS)
        if self.state == "running" and not self.in_recovery:
            self.data.checkpoint(self.ctx.clock.now())
            self.wal_written()
            self.log("LOG:  checkpoint complete: wrote 12 buffers (0.1%); 0 WAL file(s) added, "
                     "0 removed, 0 recycled", pid=self.checkpointer_pid)

    # what the views show

    def replication_rows(self) -> list[dict]:
        rows = []
        for link, (sync_state, priority) in self.sync_states().items():
            lsn = postgres_sql.Lsn(link.flushed)
            rows.append({
                "pid": 60 + len(rows), "usesysid": 10, "usename": "postgres",
                "application_name": link.application_name, "client_addr": link.downstream.ip,
                "client_hostname": None, "client_port": 40000 + len(rows), "backend_start": postgres_sql.Stamp(link.started_at),
                "backend_xmin": None, "state": "streaming", "sent_lsn": postgres_sql.Lsn(link.sent), "write_lsn": lsn,
                "flush_lsn": lsn, "replay_lsn": lsn, "write_lag": None, "flush_lag": None,
                "replay_lag": None, "sync_priority": priority, "sync_state": sync_state,
                "reply_time": postgres_sql.Stamp(self.ctx.clock.now())})
        return rows

    def receiver_rows(self) -> list[dict]:
        receiver = self.receiver
        if receiver is None or receiver.link is None:
            return []
        link, data = receiver.link, self.data
        now = postgres_sql.Stamp(self.ctx.clock.now())
        return [{"pid": self.walreceiver_pid, "status": "streaming",
                 "receive_start_lsn": postgres_sql.Lsn(link.start_lsn // postgres_data.SEGMENT * postgres_data.SEGMENT),
                 "receive_start_tli": data.timeline, "written_lsn": postgres_sql.Lsn(data.lsn), "flushed_lsn": postgres_sql.Lsn(data.lsn),
                 "received_tli": data.timeline, "last_msg_send_time": now, "last_msg_receipt_time": now,
                 "latest_end_lsn": postgres_sql.Lsn(data.lsn), "latest_end_time": now, "slot_name": None,
                 "sender_host": receiver.host, "sender_port": receiver.port,
                 "conninfo": receiver.conninfo}]

    def checkpoint_row(self) -> dict:
        data = self.data
        return {"checkpoint_lsn": postgres_sql.Lsn(data.checkpoint_lsn), "redo_lsn": postgres_sql.Lsn(data.checkpoint_lsn),
                "redo_wal_file": postgres_data.wal_file_name(data.checkpoint_timeline, data.checkpoint_lsn + 1),
                "timeline_id": data.checkpoint_timeline, "prev_timeline_id": data.checkpoint_timeline,
                "full_page_writes": True, "next_xid": f"0:{740 + len(data.records)}",
                "checkpoint_time": postgres_sql.Stamp(data.checkpoint_time)}

    # SQL

    async def function(self, name: str, values: list, position: int, session: postgres_connections.Session):
        data = self.data
        recovery_hint = "WAL control functions cannot be executed during recovery."
        if name == "pg_is_in_recovery":
            return self.in_recovery
        if name in ("pg_current_wal_lsn", "pg_current_wal_insert_lsn", "pg_current_wal_flush_lsn"):
            if self.in_recovery:
                raise postgres_sql.SqlError("recovery is in progress", hint=recovery_hint)
            return postgres_sql.Lsn(data.lsn)
        if name in ("pg_last_wal_replay_lsn", "pg_last_wal_receive_lsn"):
            return postgres_sql.Lsn(data.lsn) if self.in_recovery else None
        if name == "pg_walfile_name" and len(values) == 1:
            if self.in_recovery:
                raise postgres_sql.SqlError("recovery is in progress", hint="pg_walfile_name() cannot be executed during recovery.")
            return None if values[0] is None else postgres_data.wal_file_name(data.timeline, int(postgres_queries.coerce(values[0], "pg_lsn")))
        if name == "pg_wal_lsn_diff" and len(values) == 2:
            if None in values:
                return None
            return int(postgres_queries.coerce(values[0], "pg_lsn")) - int(postgres_queries.coerce(values[1], "pg_lsn"))
        if name == "pg_promote" and len(values) <= 2:
            return await self.promote(wait=values[0] is not False if values else True)
        if name == "pg_reload_conf" and not values:
            self.reload()
            return True
        if name == "pg_is_wal_replay_paused" and not values:
            if not self.in_recovery:
                raise postgres_sql.SqlError("recovery is not in progress",
                               hint="Recovery control functions can only be executed during recovery.")
            return False
        if name == "version" and not values:
            return f"PostgreSQL {self.version_line()}"
        if name in ("now", "current_timestamp", "transaction_timestamp", "statement_timestamp",
                    "clock_timestamp", "localtimestamp") and not values:
            return postgres_sql.Stamp(self.ctx.clock.now())
        if name == "pg_postmaster_start_time" and not values:
            return postgres_sql.Stamp(self.started_at)
        if name in ("current_user", "session_user", "user") and not values:
            return session.user
        if name == "current_database" and not values:
            return session.database
        if name == "current_setting" and len(values) in (1, 2):
            setting = str(values[0]).lower()
            if setting in session.settings:
                return session.settings[setting]
            if setting not in self.settings:
                if len(values) == 2 and values[1] is True:
                    return None
                raise postgres_sql.SqlError(f'unrecognized configuration parameter "{values[0]}"')
            return self.settings[setting]
        if name in ("substr", "substring") and len(values) in (2, 3):
            if None in values:
                return None
            text, start = postgres_sql.render(values[0]), int(values[1])
            end = len(text) if len(values) == 2 else start + int(values[2]) - 1
            return text[max(start, 1) - 1:max(end, 0)]
        if name in ("length", "char_length") and len(values) == 1:
            return None if values[0] is None else len(postgres_sql.render(values[0]))
        if name in ("upper", "lower") and len(values) == 1:
            return None if values[0] is None else getattr(postgres_sql.render(values[0]), name)()
        if name == "pg_backend_pid" and not values:
            return 70
        if name == "inet_server_addr" and not values:
            return self.ip if session.client_ctx is not None else None
        types = ", ".join(postgres_queries.type_of(value) for value in values)
        raise postgres_sql.SqlError(f"function {name}({types}) does not exist", position=position,
                       hint="No function matches the given name and argument types. You might need to "
                            "add explicit type casts.")

    async def run_statement(self, statement: postgres_sql.Statement, session: postgres_connections.Session) -> postgres_sql.Result:
        kind, node = statement.kind, statement.node
        if kind == "select":
            return await postgres_queries.Evaluator(self, session).select(node)
        if kind == "insert":
            return await self._insert(node, session)
        if kind == "create":
            definition, if_not_exists, position = node
            if definition.name in self.data.tables:
                if if_not_exists:
                    session.notices.append(f'NOTICE:  relation "{definition.name}" already exists, skipping')
                    return postgres_sql.Result([], None, "CREATE TABLE")
                raise postgres_sql.SqlError(f'relation "{definition.name}" already exists')
            if self.in_recovery:
                raise postgres_sql.read_only_error("CREATE TABLE")
            await self.commit(self.data.append(("create", definition)), session)
            return postgres_sql.Result([], None, "CREATE TABLE")
        if kind == "drop":
            names, if_exists = node
            if self.in_recovery:
                raise postgres_sql.read_only_error("DROP TABLE")
            for name in names:
                if name not in self.data.tables:
                    if not if_exists:
                        raise postgres_sql.SqlError(f'table "{name}" does not exist')
                    session.notices.append(f'NOTICE:  table "{name}" does not exist, skipping')
            lsn = None
            for name in names:
                if name in self.data.tables:
                    lsn = self.data.append(("drop", name))
            if lsn is not None:
                await self.commit(lsn, session)
            return postgres_sql.Result([], None, "DROP TABLE")
        if kind == "truncate":
            name, position = node
            if name not in self.data.tables:
                raise postgres_sql.SqlError(f'relation "{name}" does not exist')
            if self.in_recovery:
                raise postgres_sql.read_only_error("TRUNCATE TABLE")
            await self.commit(self.data.append(("truncate", name)), session)
            return postgres_sql.Result([], None, "TRUNCATE TABLE")
        if kind == "alter_system":
            self.alter_system(*node)
            return postgres_sql.Result([], None, "ALTER SYSTEM")
        if kind == "show":
            if node == "all":
                return postgres_sql.Result(["name", "setting"], sorted(self.settings.items()), "SHOW")
            if node in session.settings:
                return postgres_sql.Result([node], [(session.settings[node],)], "SHOW")
            if node not in self.settings:
                raise postgres_sql.SqlError(f'unrecognized configuration parameter "{node}"')
            return postgres_sql.Result([node], [(self.settings[node],)], "SHOW")
        if kind == "set":
            name, value = node
            if name not in SETTINGS:
                raise postgres_sql.SqlError(f'unrecognized configuration parameter "{name}"')
            if name in RESTART_ONLY:
                raise postgres_sql.SqlError(f'parameter "{name}" cannot be changed without restarting the server')
            if value is None:
                session.settings.pop(name, None)
            else:
                session.settings[name] = value
            return postgres_sql.Result([], None, "SET")
        if kind == "checkpoint":
            if self.in_recovery:
                self.data.checkpoint_lsn, self.data.checkpoint_time = self.data.lsn, self.ctx.clock.now()
                self.data.checkpoint_timeline = self.data.timeline
            else:
                self.data.checkpoint(self.ctx.clock.now())
                self.wal_written()
            return postgres_sql.Result([], None, "CHECKPOINT")
        if kind in ("begin", "commit"):
            return postgres_sql.Result([], None, kind.upper())
        raise postgres_sql.not_modelled_error(kind.upper())

    async def _insert(self, node, session: postgres_connections.Session) -> postgres_sql.Result:
        table_name, position, columns, rows = node
        table = self.data.tables.get(table_name)
        if table is None:
            raise postgres_sql.SqlError(f'relation "{table_name}" does not exist', position=position)
        if self.in_recovery:
            raise postgres_sql.read_only_error("INSERT")
        definition = table.definition
        by_name = {column.name: column for column in definition.columns}
        targets = [column.name for column in definition.columns] if columns is None else []
        for name, where in columns or []:
            if name not in by_name:
                raise postgres_sql.SqlError(f'column "{name}" of relation "{table_name}" does not exist', position=where)
            targets.append(name)
        evaluator = postgres_queries.Evaluator(self, session)
        prepared, keys = [], set()
        for values in rows:
            if len(values) > len(targets):
                raise postgres_sql.SqlError("INSERT has more expressions than target columns")
            given = {name: await evaluator.value(expression, {}) for name, expression in zip(targets, values, strict=False)}
            row = {}
            for column in definition.columns:
                if column.name in given:
                    value = given[column.name]
                elif column.default is not None:
                    value = await evaluator.value(column.default, {})
                else:
                    value = None
                row[column.name] = postgres_queries.coerce(value, column.type)
            for column in definition.columns:
                if column.not_null and row[column.name] is None:
                    shown = ", ".join("null" if v is None else postgres_sql.render(v) for v in row.values())
                    raise postgres_sql.SqlError(f'null value in column "{column.name}" of relation "{table_name}" '
                                   "violates not-null constraint", detail=f"Failing row contains ({shown}).")
            key = definition.primary_key
            if key is not None:
                if row[key] in table.keys or row[key] in keys:
                    raise postgres_sql.SqlError(f'duplicate key value violates unique constraint "{table_name}_pkey"',
                                   detail=f"Key ({key})=({postgres_sql.render(row[key])}) already exists.")
                keys.add(row[key])
            prepared.append(row)
        lsn = self.data.lsn
        for row in prepared:
            lsn = self.data.append(("insert", table_name, row))
        await self.commit(lsn, session)
        return postgres_sql.Result([], None, f"INSERT 0 {len(prepared)}")

    def dump(self) -> str:
        """pg_dumpall's plain-text output for this server."""
        now = _time_text(self.ctx.clock.now())
        lines = ["--", "-- PostgreSQL database cluster dump", "--", "",
                 f"-- Started on {now}", "", "SET default_transaction_read_only = off;", "",
                 "SET client_encoding = 'UTF8';", "SET standard_conforming_strings = on;", "",
                 "--", "-- Roles", "--", ""]
        for role in sorted(self.roles()):
            lines += [f"CREATE ROLE {role};",
                      f"ALTER ROLE {role} WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION "
                      "BYPASSRLS;"]
        lines += ["", "--", "-- Databases", "--", "", "--", '-- Database "postgres" dump', "--", "",
                  "\\connect postgres", "", "SET statement_timeout = 0;", "SET client_encoding = 'UTF8';",
                  "SET standard_conforming_strings = on;", "SET check_function_bodies = false;",
                  "SET client_min_messages = warning;", "SET default_tablespace = '';",
                  "SET default_table_access_method = heap;", ""]
        for name, table in sorted(self.data.tables.items()):
            definition = table.definition
            columns = []
            for column in definition.columns:
                text = f"    {column.name} {column.type}"
                if column.default is not None:
                    text += " DEFAULT " + _default_text(column.default)
                if column.not_null:
                    text += " NOT NULL"
                columns.append(text)
            lines += ["--", f"-- Name: {name}; Type: TABLE; Schema: public; Owner: postgres", "--", "",
                      f"CREATE TABLE public.{name} (", ",\n".join(columns), ");", "", "",
                      f"ALTER TABLE public.{name} OWNER TO postgres;", "", "--",
                      f"-- Data for Name: {name}; Type: TABLE DATA; Schema: public; Owner: postgres", "--", "",
                      f"COPY public.{name} ({', '.join(c.name for c in definition.columns)}) FROM stdin;"]
            for row in table.rows:
                lines.append("\t".join("\\N" if value is None else postgres_sql.render(value) for value in row.values()))
            lines += ["\\.", ""]
            if definition.primary_key:
                lines += ["", f"ALTER TABLE ONLY public.{name}",
                          f"    ADD CONSTRAINT {name}_pkey PRIMARY KEY ({definition.primary_key});", ""]
        lines += ["", f"-- Completed on {now}", "", "--", "-- PostgreSQL database cluster dump complete",
                  "--", ""]
        return "\n".join(lines) + "\n"


def _default_text(node) -> str:
    if node[0] == "fn":
        return f"{node[1]}()"
    if node[0] == "lit":
        return "NULL" if node[1] is None else (f"'{node[1]}'" if isinstance(node[1], str) else postgres_sql.render(node[1]))
    return "NULL"
