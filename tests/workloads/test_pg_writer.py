"""The write-load generator: its protocol bytes and decisions with plain values, then the same
program against a real PostgreSQL server (skipped where PostgreSQL is not installed)."""

from __future__ import annotations

import asyncio
import signal
import struct
import subprocess
import sys
import time

import pytest

from k8s_course.workloads import pg_writer
from k8s_course.workloads.pg_writer import Message, QueryReply, Settings, Writer
from tests.operator.postgres_processes import LocalCluster, free_port, require_postgres

# ---------------------------------------------------------------------------------------------
# The protocol bytes
# ---------------------------------------------------------------------------------------------


def backend(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def test_the_startup_message_carries_protocol_3_and_the_login_as_nul_ended_pairs():
    data = pg_writer.encode_startup("postgres", "app")
    (length, version) = struct.unpack_from("!II", data)
    assert length == len(data)
    assert version == 196608
    pairs = data[8:].split(b"\0")
    assert pairs[:4] == [b"user", b"postgres", b"database", b"app"]
    assert data.endswith(b"\0\0")


def test_a_simple_query_is_q_then_its_length_then_the_nul_ended_sql():
    assert pg_writer.encode_query("SELECT 1") == b"Q\x00\x00\x00\x0dSELECT 1\x00"
    assert pg_writer.encode_terminate() == b"X\x00\x00\x00\x04"


def test_a_message_cut_in_the_middle_waits_for_the_rest():
    ready = backend(b"Z", b"I")
    complete = backend(b"C", b"INSERT 0 1\0")
    messages, rest = pg_writer.parse_messages(complete + ready[:3])
    assert messages == [Message("C", b"INSERT 0 1\0")]
    assert rest == ready[:3]
    messages, rest = pg_writer.parse_messages(rest + ready[3:])
    assert messages == [Message("Z", b"I")] and rest == b""


def test_bytes_that_are_not_postgres_are_refused():
    with pytest.raises(pg_writer.ProtocolError):
        pg_writer.parse_messages(b"HTTP/1.1 400 Bad Request\r\n")


def test_a_reply_keeps_the_rows_with_nulls_and_the_last_command_tag():
    column = b"id\0" + struct.pack("!IhIhih", 0, 0, 20, 8, -1, 0)
    row_description = backend(b"T", struct.pack("!H", 1) + column)
    rows = [backend(b"D", struct.pack("!Hi", 1, 1) + b"7"), backend(b"D", struct.pack("!Hi", 1, -1))]
    messages, _ = pg_writer.parse_messages(
        row_description + b"".join(rows) + backend(b"C", b"SELECT 2\0") + backend(b"Z", b"I"))
    reply = QueryReply()
    done = [reply.feed(message) for message in messages]
    assert done == [False, False, False, False, True]
    assert reply.columns == ["id"]
    assert reply.rows == [["7"], [None]]
    assert reply.tag == "SELECT 2"


def test_an_error_response_becomes_a_database_error_with_its_sqlstate():
    error = backend(b"E", b"SERROR\0C25006\0Mcannot execute INSERT in a read-only transaction\0\0")
    notice = backend(b"N", b"SNOTICE\0Mrelation \"writes\" already exists, skipping\0\0")
    messages, _ = pg_writer.parse_messages(notice + error + backend(b"Z", b"I"))
    reply = QueryReply()
    for message in messages:
        reply.feed(message)
    assert reply.notices == ['relation "writes" already exists, skipping']
    with pytest.raises(pg_writer.DatabaseError) as raised:
        reply.raise_for_error()
    assert raised.value.code == "25006"
    assert str(raised.value) == "cannot execute INSERT in a read-only transaction"


def test_only_trust_authentication_is_spoken():
    assert pg_writer.authentication_problem(struct.pack("!I", 0)) is None
    assert "MD5" in pg_writer.authentication_problem(struct.pack("!I", 5))


# ---------------------------------------------------------------------------------------------
# The writer's decisions and the summary of a log
# ---------------------------------------------------------------------------------------------


def test_every_id_is_attempted_once_whatever_its_outcome():
    writer = Writer()
    assert writer.take() == (1, "INSERT INTO writes (id) VALUES (1)")
    assert writer.take()[0] == 2


def test_log_lines_have_three_decimals_and_a_one_line_reason():
    assert Writer.ack_line(3, 1700000000.12345) == "ack 3 1700000000.123"
    assert Writer.fail_line(4, 1.5, "connection to server\n\tfailed") == "fail 4 1.500 connection to server failed"


def test_the_outage_runs_from_the_last_ack_before_to_the_first_ack_after():
    lines = ["pg_writer: writing", "ack 1 10.000", "ack 2 10.100", "fail 3 10.300 connection refused",
             "fail 4 12.000 connection refused", "ack 5 14.250", "ack 6 14.300"]
    summary = pg_writer.summarise(lines)
    assert summary.acked == [1, 2, 5, 6]
    assert summary.failed == 2
    assert summary.outage_seconds == pytest.approx(4.15)
    assert (summary.first_failure, summary.first_ack_after) == (10.3, 14.25)


def test_an_outage_not_over_yet_runs_to_the_last_line_and_no_failure_means_no_outage():
    ongoing = pg_writer.summarise(["fail 1 5.000 connection refused", "fail 2 6.500 timeout after 1 s"])
    assert (ongoing.outage_seconds, ongoing.first_ack_after, ongoing.acked) == (1.5, None, [])
    assert pg_writer.summarise(["ack 1 1.000", "ack 2 1.050"]).outage_seconds == 0.0


def test_settings_come_from_options_then_the_environment_then_defaults():
    settings = pg_writer.settings_from(["--rate", "50"], {"TARGET": "pg-rw:5432", "RATE": "5"})
    assert settings == Settings(target="pg-rw:5432", rate=50.0, timeout=1.0)
    with pytest.raises(ValueError, match="host:port"):
        pg_writer.settings_from([], {"TARGET": "pg-rw"})


class FakeTime:
    """A clock that moves only when the writer sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # let every task that is ready run first: a timer whose step finishes at once is
        # cancelled in those turns, and must not move the clock
        for _ in range(10):
            await asyncio.sleep(0)
        self.now += seconds


class ScriptedServer:
    """Connections whose INSERTs answer from a script keyed by id: "ack", "refused",
    "read-only" or "hang"."""

    def __init__(self, script: dict[int, str]) -> None:
        self.script = script
        self.connects = 0
        self.statements: list[str] = []

    async def connect(self, target: str):
        self.connects += 1
        server = self

        class Connection:
            async def execute(self, sql: str) -> str:
                server.statements.append(sql)
                if sql.startswith("CREATE"):
                    return "CREATE TABLE"
                outcome = server.script.get(int(sql.rsplit("(", 1)[1].rstrip(")")), "ack")
                if outcome == "refused":
                    raise ConnectionRefusedError(111, "Connection refused")
                if outcome == "read-only":
                    raise pg_writer.DatabaseError("cannot execute INSERT in a read-only transaction")
                if outcome == "hang":
                    await asyncio.Event().wait()
                return "INSERT 0 1"

        return Connection()


def test_the_writer_logs_each_outcome_reconnects_after_failures_and_keeps_its_pace():
    time_ = FakeTime()
    server = ScriptedServer({2: "refused", 3: "read-only", 4: "hang"})
    lines: list[str] = []
    asyncio.run(pg_writer.run_writer(Settings(rate=10, timeout=1), server.connect, time_.clock,
                                     time_.sleep, lines.append, limit=5))
    assert lines == [
        "ack 1 1000.000",
        "fail 2 1000.100 connection refused",
        "fail 3 1000.200 ERROR: cannot execute INSERT in a read-only transaction",
        "fail 4 1001.300 timeout after 1 s",  # the hung statement was given up after TIMEOUT
        "ack 5 1001.300",
    ]
    assert server.connects == 4  # the first, then after each failure
    assert server.statements.count(pg_writer.CREATE_TABLE) == 4


# ---------------------------------------------------------------------------------------------
# Against a real PostgreSQL server
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    cluster = LocalCluster(require_postgres())
    try:
        cluster.bootstrap()
        yield cluster
    finally:
        cluster.close()


def target_of(cluster: LocalCluster) -> str:
    return f"127.0.0.1:{cluster.ports['pg-1']}"


def write(settings: Settings, **options) -> list[str]:
    lines: list[str] = []
    asyncio.run(pg_writer.run_writer(settings, pg_writer.connector(settings), time.time, asyncio.sleep,
                                     lines.append, **options))
    return lines


def test_a_real_server_acknowledges_every_insert_and_has_every_row(server):
    settings = Settings(target=target_of(server), rate=1000)
    lines = write(settings, writer=Writer(next_id=1001), limit=20)
    assert [line.split()[:2] for line in lines] == [["ack", str(n)] for n in range(1001, 1021)]

    async def rows():
        connection = await pg_writer.PgConnection.open("127.0.0.1", server.ports["pg-1"])
        try:
            reply = await connection.query("SELECT id FROM writes WHERE id > 1000 ORDER BY id")
            version = connection.parameters["server_version"]
        finally:
            await connection.close()
        return reply, version

    reply, version = asyncio.run(rows())
    assert reply.tag == "SELECT 20"
    assert [row[0] for row in reply.rows] == [str(n) for n in range(1001, 1021)]
    assert version.split(".")[0].isdigit()


def test_a_duplicate_id_is_the_servers_error_in_the_fail_line(server):
    settings = Settings(target=target_of(server), rate=1000)
    write(settings, writer=Writer(next_id=2001), limit=1)
    again = write(settings, writer=Writer(next_id=2001), limit=1)
    assert again[0].startswith("fail 2001 ")
    assert again[0].endswith('ERROR: duplicate key value violates unique constraint "writes_pkey"')


def test_every_write_fails_with_a_reason_while_no_server_listens():
    lines = write(Settings(target=f"127.0.0.1:{free_port()}", rate=1000), limit=3)
    assert [line.split(" ", 3)[::3] for line in lines] == [["fail", "connection refused"]] * 3


def test_the_writer_reconnects_once_a_killed_server_is_back(server):
    settings = Settings(target=target_of(server), rate=200, timeout=1)
    lines: list[str] = []

    def acks_after_failure() -> bool:
        outcomes = [pg_writer.parse_line(line) for line in lines]
        failed = [o for o in outcomes if not o.acked]
        return bool(failed) and any(o.acked and o.id > failed[0].id for o in outcomes)

    async def scenario():
        task = asyncio.ensure_future(pg_writer.run_writer(
            settings, pg_writer.connector(settings), time.time, asyncio.sleep, lines.append,
            writer=Writer(next_id=3001), until=acks_after_failure))
        while not any(line.startswith("ack") for line in lines):
            await asyncio.sleep(0.01)
        await asyncio.to_thread(server.kill, "pg-1")
        while not any(line.startswith("fail") for line in lines):
            await asyncio.sleep(0.01)
        await asyncio.to_thread(server.start, "pg-1")
        await asyncio.wait_for(task, 30)

    asyncio.run(scenario())
    summary = pg_writer.summarise(lines)
    assert summary.first_failure is not None and summary.first_ack_after is not None
    assert summary.outage_seconds > 0
    # nothing acknowledged is missing after the crash and the restart (one server, fsync on)
    present = set(server.ids("pg-1"))
    assert set(summary.acked) <= present


def test_the_program_writes_until_sigterm_and_says_so(server):
    process = subprocess.Popen(
        [sys.executable, pg_writer.__file__, "--target", target_of(server), "--rate", "100"],
        stdout=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin", "RATE": "1"})
    try:
        first = process.stdout.readline()
        ack = process.stdout.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=10)
    assert first.startswith(f"pg_writer: writing to {target_of(server)} at 100/s")
    # the table has ids from the other tests: id 1 may be taken, but the line is one of the two
    assert ack.split()[0] in ("ack", "fail") and ack.split()[1] == "1"
    assert rest.rstrip().endswith("pg_writer: stopped")
    assert process.returncode == 0
