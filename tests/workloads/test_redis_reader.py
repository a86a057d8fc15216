"""The app's read loop (k8s_course/workloads/redis_reader.py): its core with a fake clock and fake
reads, then the real program as a script against a small RESP server on a loopback port.
No sleeps: the loop's waits run on the fake clock, the script's are read off its output."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from k8s_course.workloads import ambassador as amb
from k8s_course.workloads import redis_reader as reader

PROGRAM = Path(reader.__file__)


def test_settings_come_from_options_then_environment_then_defaults():
    assert reader.settings_from([], {}) == ("loop", reader.Settings())
    mode, settings = reader.settings_from(["info", "--rate", "4"], {"KEYS": "a, b,", "TARGET": "10.0.0.1:7000"})
    assert (mode, settings.keys, settings.rate, settings.address) == ("info", ("a", "b"), 4.0, ("10.0.0.1", 7000))
    with pytest.raises(ValueError, match="KEYS is empty"):
        reader.settings_from([], {"KEYS": " , "})
    with pytest.raises(ValueError, match="RATE and TIMEOUT must be more than 0"):
        reader.settings_from(["--rate", "0"], {})


def test_replies_parse_as_the_ambassador_encodes_them():
    wire = b"".join(amb.encode(v) for v in (b"v1", None, amb.RespError("ERR shard x unavailable (circuit open)"),
                                            amb.SimpleString("OK"), 7, [b"a", None]))
    values, position = [], 0
    while position < len(wire):
        value, position = reader.parse_reply(wire, position)
        values.append(value)
    assert values == [b"v1", None, "ERR shard x unavailable (circuit open)", "OK", 7, [b"a", None]]
    assert isinstance(values[2], reader.ReplyError)
    assert reader.parse_reply(b"$5\r\nhel") is None  # not all there yet
    assert reader.encode_command("GET", "key:1") == amb.encode([b"GET", b"key:1"])


def test_a_second_line_round_trips_through_its_parser():
    line = reader.format_line(1767225600, 12, 4, 1, 0.44, 1650.0, "ERR shard redis-2.redis:6379 unavailable (circuit open)")
    assert line == ("reads second=1767225600 reads=12 errors=4 misses=1 mean_ms=0.4 max_ms=1650.0 "
                    "error=ERR shard redis-2.redis:6379 unavailable (circuit open)")
    assert reader.parse_line(line) == {"second": 1767225600, "reads": 12, "errors": 4, "misses": 1, "mean_ms": 0.4,
                                       "max_ms": 1650.0, "error": "ERR shard redis-2.redis:6379 unavailable (circuit open)"}
    assert reader.parse_line("redis-reader: stopped") is None


def test_the_loop_reads_at_its_rate_and_sums_each_second():
    now = [1000.0]

    async def sleep(seconds):
        now[0] += seconds
        await asyncio.sleep(0)  # let the test look at the lines

    async def read(key):
        if key == "slow":
            now[0] += 1.6  # the ambassador's worst case: 3 timeouts and back-off
            return reader.ReplyError("ERR shard s unavailable (timeout after 0.5s)")
        if key == "down":
            raise ConnectionRefusedError(111, "Connection refused")
        return None if key == "missing" else b"value"

    lines: list[str] = []
    settings = reader.Settings(keys=("a", "missing", "down", "slow"), rate=4)

    async def scenario():
        task = asyncio.ensure_future(reader.run_reader(settings, read, lambda: now[0], sleep, lines.append))
        while len(lines) < 4:
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    parsed = [reader.parse_line(line) for line in lines]
    assert parsed[0] == {"second": 1000, "reads": 4, "errors": 2, "misses": 1, "mean_ms": 400.0, "max_ms": 1600.0,
                         "error": "ERR shard s unavailable (timeout after 0.5s)"}
    # the slow read held the loop: no read started in second 1001 (said, not skipped), and the
    # next ones start late, with no burst to catch up
    assert parsed[1] == {"second": 1001, "reads": 0, "errors": 0, "misses": 0, "mean_ms": 0.0, "max_ms": 0.0,
                         "error": ""}
    assert parsed[2]["second"] == 1002 and parsed[2]["reads"] == 3
    assert "connection refused" not in lines[0]


async def _fake_redis():
    """GET answers the key's name back, or an error for keys starting with "bad"; INFO a bulk."""
    async def serve(reader_stream, writer):
        parser = amb.RespParser()
        while data := await reader_stream.read(65536):
            for command in parser.feed(data):
                if command[0] == b"INFO":
                    writer.write(amb.encode(b"# Ambassador\r\nbreaker_failures:3\r\n"))
                elif command[1].startswith(b"bad"):
                    writer.write(amb.encode(amb.RespError("ERR shard b unavailable (circuit open)")))
                else:
                    writer.write(amb.encode(command[1]))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
def fake_redis():
    ready: list[int] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main():
        server, port = await _fake_redis()
        ready.append(port)
        await stop.wait()
        server.close()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    while not ready:
        thread.join(0.01)
    yield ready[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


def _env(port: int) -> dict:
    return {"PATH": os.environ.get("PATH", ""), "TARGET": f"127.0.0.1:{port}", "KEYS": "good,bad", "RATE": "50"}


def test_the_program_logs_a_line_a_second_and_stops_on_sigterm(fake_redis):
    process = subprocess.Popen([sys.executable, "-I", str(PROGRAM)], env=_env(fake_redis), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == f"redis-reader: reading 2 keys from 127.0.0.1:{fake_redis}, 50 a second\n"
        second = reader.parse_line(process.stdout.readline().rstrip("\n"))
        process.send_signal(signal.SIGTERM)
        rest, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert second["errors"] * 2 in (second["reads"], second["reads"] + 1, second["reads"] - 1)
    assert second["error"] == "ERR shard b unavailable (circuit open)"
    assert rest.endswith("redis-reader: stopped\n")


def test_the_info_mode_prints_the_reply_after_the_readers_clock(fake_redis):
    finished = subprocess.run([sys.executable, "-I", str(PROGRAM), "info"], env=_env(fake_redis),
                              capture_output=True, text=True, timeout=30)
    assert finished.returncode == 0, finished.stderr
    parsed = amb.parse_info(finished.stdout)
    assert parsed["ambassador"]["breaker_failures"] == 3
    assert isinstance(parsed["ambassador"]["clock"], float)
