"""The TCP ambassador (k8s_course/workloads/tcp_ambassador.py): its core on its own (settings, log
lines, accounting), then the real relay on loopback sockets: an echo server behind it, a target
that refuses, the program run as a script, and a real psql query to a real PostgreSQL through it
(when Debian's PostgreSQL is installed). No sleeps: every wait is on a socket or a log line.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_course.workloads import tcp_ambassador as relay

PROGRAM = Path(relay.__file__)


# ---------------------------------------------------------------------------------------------
# The core
# ---------------------------------------------------------------------------------------------


def test_settings_come_from_options_then_environment_then_defaults():
    settings = relay.settings_from([], {"TARGET": "db.warehouse.svc.cluster.local:5432"})
    assert settings == relay.Settings("db.warehouse.svc.cluster.local:5432", "127.0.0.1:5432", 5.0)
    assert settings.target_address == ("db.warehouse.svc.cluster.local", 5432)
    chosen = relay.settings_from(["--target", "db.warehouse-2.svc.cluster.local:5433", "--connect-timeout", "2"],
                                 {"TARGET": "ignored:1", "LISTEN": "0.0.0.0:6432"})
    assert (chosen.target, chosen.listen, chosen.connect_timeout) == (
        "db.warehouse-2.svc.cluster.local:5433", "0.0.0.0:6432", 2.0)


@pytest.mark.parametrize(("environ", "message"), [
    ({}, "TARGET is empty"),
    ({"TARGET": "db.warehouse"}, "'db.warehouse' is not host:port"),
    ({"TARGET": "db:5432", "LISTEN": "localhost:http"}, "'localhost:http' is not host:port"),
    ({"TARGET": "db:5432", "CONNECT_TIMEOUT": "soon"}, "CONNECT_TIMEOUT must be a number"),
    ({"TARGET": "db:5432", "CONNECT_TIMEOUT": "0"}, "more than 0 seconds"),
])
def test_bad_settings_are_refused_with_what_to_write_instead(environ, message):
    with pytest.raises(ValueError, match=message):
        relay.settings_from([], environ)


def test_the_accounting_gives_one_log_line_per_connection_and_sums_what_was_relayed():
    connections = relay.Connections("db.warehouse.svc.cluster.local:5432")
    assert connections.opened("127.0.0.1:40000") == "relay 127.0.0.1:40000 -> db.warehouse.svc.cluster.local:5432"
    assert connections.opened("127.0.0.1:40002") == "relay 127.0.0.1:40002 -> db.warehouse.svc.cluster.local:5432"
    assert connections.failed("127.0.0.1:40004", "connection refused") == (
        "relay 127.0.0.1:40004 -> db.warehouse.svc.cluster.local:5432 failed: connection refused")
    connections.moved(up=120)
    connections.moved(down=4000)
    connections.closed()
    assert (connections.relayed, connections.active, connections.failures) == (2, 1, 1)
    assert relay.stopped_line(connections) == (
        "tcp-ambassador: stopped after relaying 2 connections (1 open), 1 failed, 120 bytes up, 4000 bytes down")


def test_failures_are_described_in_a_few_words():
    assert relay.describe_error(ConnectionRefusedError(111, "Connection refused")) == "connection refused"
    assert relay.describe_error(socket.gaierror(-2, "Name or service not known")) == "cannot resolve host"
    assert relay.describe_error(asyncio.TimeoutError(), 5.0) == "timeout after 5s"
    assert relay.describe_error(OSError(113, "No route to host")) == "No route to host"


# ---------------------------------------------------------------------------------------------
# The relay on real sockets
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _echo_server():
    async def echo(reader, writer):
        while data := await reader.read(65536):
            writer.write(data.upper())
            await writer.drain()
        writer.close()  # EOF from the client: answer with ours

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_bytes_go_both_ways_through_the_relay_and_each_connection_is_logged():
    async def scenario():
        echo, echo_port = await _echo_server()
        lines: list[str] = []
        settings = relay.Settings(target=f"127.0.0.1:{echo_port}", listen="127.0.0.1:0")
        server, connections = await relay.start(settings, lines.append)
        port = server.sockets[0].getsockname()[1]
        answers = []
        for text in (b"select 1;", b"x" * 200_000):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(text)
            writer.write_eof()  # the client is done; the relay passes the EOF on
            answers.append(await reader.read())  # until the echo server's EOF comes back
            client = f"127.0.0.1:{writer.get_extra_info('sockname')[1]}"
            writer.close()
            await writer.wait_closed()
        while connections.active:  # the relay's side of the last connection is closing
            await asyncio.sleep(0)
        server.close()
        await server.wait_closed()
        echo.close()
        await echo.wait_closed()
        return answers, lines, client, connections, port, echo_port

    answers, lines, client, connections, port, echo_port = asyncio.run(scenario())
    assert answers == [b"SELECT 1;", b"X" * 200_000]
    assert lines[0] == f"tcp-ambassador: listening on 127.0.0.1:{port}, relaying to 127.0.0.1:{echo_port}"
    assert lines[2] == f"relay {client} -> 127.0.0.1:{echo_port}"
    assert len(lines) == 3
    assert (connections.relayed, connections.active, connections.failures) == (2, 0, 0)
    assert (connections.bytes_up, connections.bytes_down) == (200_009, 200_009)


def test_a_target_that_refuses_closes_the_clients_connection_and_logs_why():
    async def scenario():
        lines: list[str] = []
        dead = free_port()
        server, connections = await relay.start(relay.Settings(f"127.0.0.1:{dead}", "127.0.0.1:0"), lines.append)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello")
        answer = await reader.read()  # closed without a byte
        writer.close()
        server.close()
        await server.wait_closed()
        return answer, lines, connections, dead

    answer, lines, connections, dead = asyncio.run(scenario())
    assert answer == b""
    assert lines[1].endswith(f" -> 127.0.0.1:{dead} failed: connection refused")
    assert lines[1].startswith("relay 127.0.0.1:")
    assert (connections.relayed, connections.failures) == (0, 1)


def test_an_unknown_target_name_is_logged_as_cannot_resolve_host():
    async def scenario():
        lines: list[str] = []
        settings = relay.Settings("db.nowhere.invalid:5432", "127.0.0.1:0")
        server, _ = await relay.start(settings, lines.append)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()
        return lines

    assert asyncio.run(scenario())[1].endswith(" -> db.nowhere.invalid:5432 failed: cannot resolve host")


def _start_program(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-I", str(PROGRAM)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_the_program_runs_as_a_script_and_stops_on_sigterm_with_its_summary():
    async def echo_forever(ready, stop):
        server, port = await _echo_server()
        ready.append(port)
        await stop.wait()
        server.close()

    import threading

    ready: list[int] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(echo_forever(ready, stop)), daemon=True)
    thread.start()
    while not ready:
        thread.join(0.01)
    listen = free_port()
    process = _start_program({"PATH": os.environ.get("PATH", ""), "TARGET": f"127.0.0.1:{ready[0]}",
                              "LISTEN": f"127.0.0.1:{listen}"})
    try:
        first = process.stdout.readline()
        assert first == f"tcp-ambassador: listening on 127.0.0.1:{listen}, relaying to 127.0.0.1:{ready[0]}\n"
        with socket.create_connection(("127.0.0.1", listen), timeout=10) as client:
            client.sendall(b"ping")
            client.shutdown(socket.SHUT_WR)
            assert client.recv(100) == b"PING"
            assert client.recv(100) == b""  # the echo server's EOF, passed on
        assert process.stdout.readline().startswith("relay 127.0.0.1:")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
    assert process.returncode == 0, err
    assert out == "tcp-ambassador: stopped after relaying 1 connection (0 open), 0 failed, 4 bytes up, 4 bytes down\n"


def test_the_program_explains_a_missing_target_and_exits_2():
    finished = subprocess.run([sys.executable, "-I", str(PROGRAM)], env={"PATH": os.environ.get("PATH", "")},
                              capture_output=True, text=True, timeout=30)
    assert finished.returncode == 2
    assert finished.stderr.startswith("tcp-ambassador: TARGET is empty: set it to the database's host:port")


# ---------------------------------------------------------------------------------------------
# A real psql to a real PostgreSQL, through the relay
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_postgres():
    from tests.operator.postgres_processes import LocalCluster, require_postgres

    cluster = LocalCluster(require_postgres(), prefix="relayed")
    try:
        member = cluster.bootstrap()
        yield cluster, member
    finally:
        cluster.close()


def _psql(bin_dir: Path, port: int, sql: str) -> subprocess.CompletedProcess:
    options: dict = {}
    if os.geteuid() == 0:  # psql may run as root, but the server's files are the postgres user's
        account = pwd.getpwnam("postgres")
        options = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    return subprocess.run([str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                           "-d", "postgres", "-X", "-q", "-t", "-A", "-c", sql],
                          capture_output=True, text=True, timeout=60, cwd="/", **options)


def test_psql_writes_and_reads_a_row_through_the_relay_and_the_relay_sees_only_bytes(real_postgres):
    cluster, member = real_postgres
    listen = free_port()
    process = _start_program({"PATH": os.environ.get("PATH", ""), "TARGET": f"127.0.0.1:{cluster.ports[member]}",
                              "LISTEN": f"127.0.0.1:{listen}"})
    try:
        assert process.stdout.readline().startswith(f"tcp-ambassador: listening on 127.0.0.1:{listen}")
        written = _psql(cluster.bin_dir, listen, "CREATE TABLE orders (id int PRIMARY KEY, item text); "
                                                 "INSERT INTO orders VALUES (1, 'ten crates of apples')")
        assert written.returncode == 0, written.stderr
        read = _psql(cluster.bin_dir, listen, "SELECT item FROM orders WHERE id = 1")
        direct = _psql(cluster.bin_dir, cluster.ports[member], "SELECT count(*) FROM orders")
        log = [process.stdout.readline(), process.stdout.readline()]
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert read.stdout == "ten crates of apples\n"
    assert direct.stdout == "1\n"  # the row is in the real server, not in the relay
    assert all(line.startswith("relay 127.0.0.1:") and line.endswith(f" -> 127.0.0.1:{cluster.ports[member]}\n")
               for line in log)
    assert out.startswith("tcp-ambassador: stopped after relaying 2 connections (0 open), 0 failed, ")
