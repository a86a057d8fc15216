"""The ambassador (k8s_course/workloads/ambassador.py): its pure core on its own (RESP, hash
ring, breaker, back-off, command plans, the Ambassador with a fake transport and a fake clock),
then the real program in front of real redis-server processes on loopback ports.

The real tests never sleep: redis is ready when it prints so, the program when it logs its
address, and the breakers' cool-downs run on a clock the test moves by hand.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8s_course.workloads import ambassador as amb

PROGRAM = Path(amb.__file__)
KEYS = [f"key:{index}" for index in range(10_000)]
NAMES = [f"redis-{index}" for index in range(4)]


# ---------------------------------------------------------------------------------------------
# RESP
# ---------------------------------------------------------------------------------------------


def test_values_encode_to_the_exact_resp_bytes():
    assert amb.encode(amb.SimpleString("OK")) == b"+OK\r\n"
    assert amb.encode(amb.RespError("ERR no")) == b"-ERR no\r\n"
    assert amb.encode(42) == b":42\r\n"
    assert amb.encode(b"hi") == b"$2\r\nhi\r\n"
    assert amb.encode("h\u00e9") == b"$3\r\nh\xc3\xa9\r\n"
    assert amb.encode(None) == b"$-1\r\n"
    assert amb.encode([b"GET", b"k", [1, None]]) == (
        b"*3\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n:1\r\n$-1\r\n"
    )
    assert amb.encode(amb.RespError("ERR two\r\nlines")) == b"-ERR two  lines\r\n"


def test_pipelined_commands_split_at_every_byte_parse_like_one_packet():
    wire = amb.encode([b"SET", b"k", b"v\r\nx"]) + amb.encode([b"GET", b"k"]) + b"*0\r\n"
    parser = amb.RespParser()
    values = []
    for index in range(len(wire)):
        values += parser.feed(wire[index : index + 1])
    assert values == [[b"SET", b"k", b"v\r\nx"], [b"GET", b"k"], []]
    assert parser.pending == 0
    assert amb.RespParser().feed(wire) == values


def test_an_incomplete_value_waits_for_the_rest():
    parser = amb.RespParser()
    assert parser.feed(b"*2\r\n$3\r\nGET\r\n$5\r\nhel") == []
    assert parser.pending == 20
    assert parser.feed(b"lo\r\n:7\r\n") == [[b"GET", b"hello"], 7]


def test_replies_of_every_kind_parse_back_to_their_values():
    wire = b"+OK\r\n-ERR bad\r\n:-3\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n$-1\r\n"
    values = amb.RespParser().feed(wire)
    assert values == ["OK", "ERR bad", -3, None, None, [b"a", None]]
    assert type(values[0]) is amb.SimpleString and type(values[1]) is amb.RespError


def test_inline_commands_are_split_on_spaces_on_the_server_side_only():
    parser = amb.RespParser(inline_commands=True)
    assert parser.feed(b"PING\r\n\r\nGET  key:1\n") == [[b"PING"], [b"GET", b"key:1"]]
    with pytest.raises(amb.ProtocolError):
        amb.RespParser().feed(b"PING\r\n")


def test_garbage_is_a_protocol_error():
    with pytest.raises(amb.ProtocolError, match="invalid integer"):
        amb.RespParser().feed(b"*x\r\n")
    with pytest.raises(amb.ProtocolError, match="CRLF"):
        amb.RespParser().feed(b"$2\r\nabcd\r\n")


resp_values = st.recursive(
    st.none() | st.integers(-(2**63), 2**63 - 1) | st.binary(max_size=40),
    lambda children: st.lists(children, max_size=5),
    max_leaves=20,
)


@given(resp_values, st.integers(1, 7))
def test_any_value_survives_encoding_and_chunked_parsing(value, chunk):
    wire = amb.encode(value) * 2
    parser = amb.RespParser()
    parsed = []
    for start in range(0, len(wire), chunk):
        parsed += parser.feed(wire[start : start + chunk])
    assert parsed == [value, value]


# ---------------------------------------------------------------------------------------------
# Hash ring
# ---------------------------------------------------------------------------------------------


def test_three_shards_with_160_vnodes_each_get_their_fair_share_of_keys_within_ten_percent():
    ring = amb.HashRing(NAMES[:3], vnodes=160)
    counts = Counter(ring.shard_for(key) for key in KEYS)
    assert counts == {"redis-0": 3089, "redis-1": 3492, "redis-2": 3419}
    for count in counts.values():
        assert abs(count - len(KEYS) / 3) <= 0.10 * len(KEYS) / 3
    shares = ring.ownership()
    assert sum(shares.values()) == pytest.approx(1.0)
    assert all(0.28 < share < 0.38 for share in shares.values())


def test_every_ring_with_the_same_shards_places_keys_the_same_way():
    one = amb.HashRing(["a", "b", "c"])
    other = amb.HashRing(["c", "a", "b"])
    assert [one.shard_for(key) for key in KEYS[:500]] == [other.shard_for(k) for k in KEYS[:500]]


def test_a_fourth_shard_takes_about_a_quarter_of_the_keys_and_only_for_itself():
    ring = amb.HashRing(NAMES[:3])
    before = {key: ring.shard_for(key) for key in KEYS}
    ring.add("redis-3")
    moved = {key for key in KEYS if ring.shard_for(key) != before[key]}
    assert len(moved) == 2389  # 23.9%; a modulo-N sharding would move about 75%
    assert {ring.shard_for(key) for key in moved} == {"redis-3"}
    ring.remove("redis-3")
    assert {key: ring.shard_for(key) for key in KEYS} == before


def test_keys_with_the_same_hash_tag_share_a_shard():
    ring = amb.HashRing(NAMES)
    shards = {ring.shard_for(f"{{user:{7}}}:{field}") for field in ("name", "mail", "cart", "x")}
    assert shards == {ring.shard_for("user:7")}
    assert amb.hashed_part(b"a{}b") == b"a{}b"


def test_ring_refuses_duplicates_unknown_shards_and_lookups_when_empty():
    ring = amb.HashRing(["a"])
    with pytest.raises(ValueError, match="already on the ring"):
        ring.add("a")
    with pytest.raises(ValueError, match="not on the ring"):
        ring.remove("b")
    ring.remove("a")
    with pytest.raises(LookupError):
        ring.shard_for("k")


# ---------------------------------------------------------------------------------------------
# Breaker and back-off
# ---------------------------------------------------------------------------------------------


class FakeClock:
    """Seconds that move only when the test says so (read from the ambassador's thread)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_n_consecutive_failures_and_probes_after_the_cooldown():
    clock = FakeClock()
    changes = []
    breaker = amb.Breaker(3, 10.0, clock, on_change=lambda old, new: changes.append((old, new)))
    breaker.failure()
    breaker.success()  # a success in between: the count starts again
    breaker.failure()
    breaker.failure()
    assert breaker.state == amb.CLOSED and breaker.allow()
    breaker.failure()
    assert breaker.state == amb.OPEN
    assert not breaker.allow() and breaker.rejected == 1
    clock.now += 9.5
    assert breaker.state == amb.OPEN and breaker.seconds_until_probe() == pytest.approx(0.5)
    clock.now += 0.5
    assert breaker.state == amb.HALF_OPEN
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one probe at a time
    breaker.success()
    assert breaker.state == amb.CLOSED and breaker.consecutive_failures == 0
    assert changes == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]
    assert (breaker.opened, breaker.half_opened, breaker.closed) == (1, 1, 1)
    assert (breaker.successes, breaker.failures, breaker.rejected) == (2, 4, 2)


def test_a_failed_probe_opens_the_breaker_for_another_full_cooldown():
    clock = FakeClock()
    breaker = amb.Breaker(1, 5.0, clock)
    breaker.failure()
    clock.now += 5
    assert breaker.allow()
    clock.now += 3  # the probe took 3 s to fail: the new cool-down starts from its failure
    breaker.failure()
    assert breaker.state == amb.OPEN and breaker.opened == 2
    clock.now += 4.9
    assert breaker.state == amb.OPEN
    clock.now += 0.1
    assert breaker.state == amb.HALF_OPEN


def test_backoff_doubles_from_its_base_up_to_its_cap():
    assert amb.Backoff(retries=5, base=0.1, cap=1.0).delays() == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert amb.Backoff(retries=0).delays() == []


# ---------------------------------------------------------------------------------------------
# Command plans
# ---------------------------------------------------------------------------------------------


def _args(text: str) -> list[bytes]:
    return [word.encode() for word in text.split()]


def test_mget_is_split_per_shard_and_answered_in_the_asked_order():
    ring = amb.HashRing(NAMES[:3])
    keys = KEYS[:12]
    plan = amb.plan_command(_args("mget " + " ".join(keys)), ring)
    assert plan.retryable
    assert sorted(shard for shard, _ in plan.calls) == ["redis-0", "redis-1", "redis-2"]
    for shard, command in plan.calls:
        assert command[0] == b"MGET"
        assert all(ring.shard_for(key) == shard for key in command[1:])
    # each shard answers with its keys' names as values
    replies = [[key.upper() for key in command[1:]] for _, command in plan.calls]
    assert plan.combine(replies) == [key.upper().encode() for key in keys]
    assert plan.combine([amb.RespError("ERR x"), [], []]) == "ERR x"


def test_single_key_commands_go_to_the_keys_shard_and_writes_are_not_retried():
    ring = amb.HashRing(NAMES[:3])
    set_plan = amb.plan_command(_args("set key:1 v EX 10"), ring)
    assert set_plan.calls == [(ring.shard_for("key:1"), _args("SET key:1 v EX 10"))]
    assert not set_plan.retryable and not amb.plan_command(_args("incr n"), ring).retryable
    assert amb.plan_command(_args("get key:1"), ring).retryable


def test_whole_keyspace_commands_go_to_every_shard_and_are_summed_or_merged():
    ring = amb.HashRing(NAMES[:3])
    dbsize = amb.plan_command(_args("dbsize"), ring)
    assert [shard for shard, _ in dbsize.calls] == NAMES[:3]
    assert dbsize.combine([3, 4, 5]) == 12
    keys = amb.plan_command(_args("keys *"), ring)
    assert keys.combine([[b"a"], [], [b"b", b"c"]]) == [b"a", b"b", b"c"]
    flush = amb.plan_command(_args("flushall"), ring)
    assert not flush.retryable and flush.combine(["OK"] * 3) == "OK"
    delete = amb.plan_command(_args("del " + " ".join(KEYS[:9])), ring)
    assert delete.combine([1] * len(delete.calls)) == len(delete.calls)


def test_unsupported_commands_and_wrong_arities_are_answered_without_any_shard():
    ring = amb.HashRing(NAMES[:3])
    hset = amb.plan_command(_args("hset h f v"), ring)
    assert hset.calls == []
    assert hset.combine([]).startswith("ERR command not supported by the ambassador: 'HSET'")
    assert amb.plan_command(_args("get"), ring).combine([]) == (
        "ERR wrong number of arguments for 'get' command"
    )
    assert amb.plan_command(_args("ping"), ring).combine([]) == "PONG"
    assert amb.plan_command(_args("ping hi"), ring).combine([]) == b"hi"


# ---------------------------------------------------------------------------------------------
# The Ambassador with simulated shards (what the simulator's model does)
# ---------------------------------------------------------------------------------------------


class FakeShards:
    """A transport over dicts; shards listed in `down` refuse connections."""

    def __init__(self, names):
        self.data = {name: {} for name in names}
        self.down: set[str] = set()
        self.calls: list[tuple[str, bytes]] = []

    async def __call__(self, shard, command, timeout):
        self.calls.append((shard, command[0]))
        if shard in self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        store = self.data[shard]
        if command[0] == b"SET":
            store[command[1]] = command[2]
            return amb.SimpleString("OK")
        if command[0] == b"GET":
            return store.get(command[1])
        raise AssertionError(command)


def _fake_ambassador(shards, clock, sleeps):
    async def sleep(seconds):
        sleeps.append(seconds)

    settings = amb.Settings(
        shards={name: f"{name}:6379" for name in NAMES[:3]},
        retries=2,
        breaker_failures=4,
        breaker_cooldown=30,
        backoff_base=0.1,
    )
    logs = []
    ambassador = amb.Ambassador(settings, shards, clock=clock, sleep=sleep, log=logs.append)
    return ambassador, logs


def test_reads_are_retried_with_backoff_then_the_breaker_fails_fast_without_calling_the_shard():
    shards, clock, sleeps = FakeShards(NAMES[:3]), FakeClock(), []
    ambassador, logs = _fake_ambassador(shards, clock, sleeps)
    key = next(key for key in KEYS if ambassador.ring.shard_for(key) == "redis-1")

    async def scenario():
        assert await ambassador.execute(_args(f"set {key} v")) == "OK"
        shards.down.add("redis-1")
        first = await ambassador.execute(_args(f"get {key}"))
        second = await ambassador.execute(_args(f"get {key}"))
        calls_when_open = len(shards.calls)
        third = await ambassador.execute(_args(f"get {key}"))
        assert len(shards.calls) == calls_when_open  # fast fail: the shard was not called
        write = await ambassador.execute(_args(f"set {key} w"))
        return first, second, third, write

    first, second, third, write = asyncio.run(scenario())
    assert first == "ERR shard redis-1 unavailable (connection refused)"
    assert sleeps == [0.1, 0.2, 0.1]  # 3 attempts, then the 4th failure opened the breaker
    assert second == third == write == "ERR shard redis-1 unavailable (circuit open)"
    assert logs == [
        "ambassador: shard redis-1 breaker closed -> open: after 4 consecutive failures "
        "(connection refused); probing again in 30s"
    ]
    info = amb.parse_info(ambassador.info())
    assert info["shards"]["redis-1"]["state"] == "open"
    assert info["shards"]["redis-1"]["rejected"] == 3
    assert info["shards"]["redis-0"]["state"] == "closed"

    shards.down.clear()
    clock.now += 30
    assert asyncio.run(ambassador.execute(_args(f"get {key}"))) == b"v"
    assert ambassador.shards["redis-1"].breaker.state == amb.CLOSED
    assert logs[-1] == "ambassador: shard redis-1 breaker half-open -> closed: probe succeeded"


def test_writes_are_tried_once():
    shards, clock, sleeps = FakeShards(NAMES[:3]), FakeClock(), []
    ambassador, _ = _fake_ambassador(shards, clock, sleeps)
    shards.down.add(ambassador.ring.shard_for("n"))
    reply = asyncio.run(ambassador.execute(_args("set n 1")))
    assert reply.endswith("unavailable (connection refused)")
    assert len(shards.calls) == 1 and sleeps == []


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


def test_settings_come_from_options_then_environment_then_defaults():
    environ = {"SHARDS": "redis-0.redis:6379, b=10.0.0.7:6380", "TIMEOUT": "0.25", "RETRIES": "1"}
    settings = amb.settings_from(["--retries", "4", "--breaker-cooldown", "2"], environ)
    assert settings.shards == {"redis-0.redis:6379": "redis-0.redis:6379", "b": "10.0.0.7:6380"}
    assert (settings.timeout, settings.retries, settings.breaker_cooldown) == (0.25, 4, 2.0)
    assert (settings.listen, settings.breaker_failures, settings.vnodes) == (
        "127.0.0.1:6379", 3, 160,
    )
    with pytest.raises(ValueError, match="SHARDS is empty"):
        amb.settings_from([], {})
    with pytest.raises(ValueError, match="not host:port"):
        amb.settings_from([], {"SHARDS": "redis-0"})


# ---------------------------------------------------------------------------------------------
# The real thing: real redis-server processes, real sockets
# ---------------------------------------------------------------------------------------------

REDIS_SERVER = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="redis-server is not on PATH (Debian: apt-get install -y redis-server)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """One redis-server on a loopback port, without persistence; stop() and start() again on
    the same port (a restarted shard comes back empty)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        # redis says when it accepts connections: read its log instead of polling the port
        for line in self.process.stdout:
            if "Ready to accept connections" in line:
                return
        raise RuntimeError(f"redis-server on port {self.port} exited: {self.process.wait()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.process is not None:
            self.process.stdout.close()
        self.process = None

    def client(self) -> RespClient:
        return RespClient(self.port)


class RespClient:
    """A minimal blocking RESP client for the tests."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.parser = amb.RespParser()
        self.replies: list = []

    def pipeline(self, commands) -> list:
        self.socket.sendall(b"".join(amb.encode([str(a).encode() for a in c]) for c in commands))
        wanted = len(self.replies) + len(commands)
        while len(self.replies) < wanted:
            data = self.socket.recv(1 << 16)
            if not data:
                raise ConnectionError("server closed the connection")
            self.replies += self.parser.feed(data)
        answers, self.replies = self.replies[: len(commands)], self.replies[len(commands) :]
        return answers

    def call(self, *args):
        return self.pipeline([args])[0]

    def close(self) -> None:
        self.socket.close()

    def __enter__(self) -> RespClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RunningAmbassador:
    """The ambassador's asyncio server in a thread of this process, with a clock the test
    moves; `.client()` connects to it like the app in the pod would."""

    def __init__(self, shards: list[RedisServer], **settings) -> None:
        self.clock = FakeClock()
        self.logs: list[str] = []
        self.settings = amb.Settings(
            shards={shard.name: shard.address for shard in shards}, listen="127.0.0.1:0",
            **settings,
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        started = asyncio.run_coroutine_threadsafe(
            amb.start(self.settings, clock=self.clock, log=self.logs.append), self.loop
        )
        self.server, self.ambassador = started.result(timeout=10)
        self.port = self.server.sockets[0].getsockname()[1]

    def client(self) -> RespClient:
        return RespClient(self.port)

    def info(self) -> dict:
        with self.client() as client:
            return amb.parse_info(client.call("INFO", "ambassador"))

    def stop(self) -> None:
        async def close():
            self.server.close()
            await self.server.wait_closed()
            self.ambassador.transport.close_idle()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def redis_shards():
    """Four real redis servers, redis-0..redis-3, always stopped at the end."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not on PATH (Debian: apt-get install -y redis-server)")
    servers = [RedisServer(name) for name in NAMES]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def shards(redis_shards):
    """The four servers, running and empty."""
    for server in redis_shards:
        if server.process is None:
            server.start()
        with server.client() as client:
            assert client.call("FLUSHALL") == "OK"
    return redis_shards


@pytest.fixture
def running():
    """Starts ambassadors for a test and stops them after it."""
    started: list[RunningAmbassador] = []

    def run(shards, **settings) -> RunningAmbassador:
        started.append(RunningAmbassador(shards, **settings))
        return started[-1]

    yield run
    for ambassador in started:
        ambassador.stop()


def _write_keys(ambassador: RunningAmbassador) -> None:
    with ambassador.client() as client:
        assert set(client.pipeline([("SET", key, f"value-{key}") for key in KEYS])) == {"OK"}


@needs_redis
def test_ten_thousand_keys_land_within_ten_percent_of_each_shards_fair_share(shards, running):
    ambassador = running(shards[:3])
    _write_keys(ambassador)
    counts = {}
    for server in shards[:3]:
        with server.client() as client:
            counts[server.name] = client.call("DBSIZE")
            stored = {key.decode() for key in client.call("KEYS", "*")}
        assert stored == {k for k in KEYS if ambassador.ambassador.ring.shard_for(k) == server.name}
    print(f"\nkeys per shard, counted with DBSIZE on each redis: {counts}")
    assert counts == {"redis-0": 3089, "redis-1": 3492, "redis-2": 3419}
    fair = len(KEYS) / 3
    assert all(abs(count - fair) <= 0.10 * fair for count in counts.values())

    with ambassador.client() as client:
        assert client.call("DBSIZE") == 10_000
        assert len(client.call("KEYS", "*")) == 10_000
        assert client.call("MGET", *KEYS) == [f"value-{key}".encode() for key in KEYS]
        assert client.call("EXISTS", "key:1", "key:2", "nope") == 2
        assert client.call("DEL", "key:1", "key:2", "key:3") == 3
        assert client.call("INCR", "counter") == 1 and client.call("INCR", "counter") == 2
        assert client.call("SET", "session", "s", "EX", "100") == "OK"
        with shards[NAMES.index(ambassador.ambassador.ring.shard_for("session"))].client() as own:
            assert 99 <= own.call("TTL", "session") <= 100  # EX reached the key's shard
        assert client.call("PING") == "PONG"
        assert client.call("HSET", "h", "f", "v").startswith(
            "ERR command not supported by the ambassador"
        )
        assert client.call("FLUSHALL") == "OK"
        assert client.call("DBSIZE") == 0


@needs_redis
def test_adding_a_fourth_shard_moves_about_a_quarter_of_the_keys(shards, running):
    _write_keys(running(shards[:3]))
    with running(shards).client() as client:
        values = client.call("MGET", *KEYS)
    missing = [key for key, value in zip(KEYS, values, strict=True) if value is None]
    moved = len(missing) / len(KEYS)
    print(f"\nkeys no longer found after adding redis-3: {len(missing)} ({moved:.1%})")
    assert 0.20 <= moved <= 0.30
    ring = amb.HashRing(NAMES)
    assert {ring.shard_for(key) for key in missing} == {"redis-3"}  # the rest stayed put
    assert all(
        value == f"value-{key}".encode()
        for key, value in zip(KEYS, values, strict=True)
        if value is not None
    )


@needs_redis
def test_a_dead_shard_opens_its_breaker_others_keep_working_and_a_restart_closes_it(
    shards, running
):
    ambassador = running(shards[:3], timeout=1.0, retries=1, breaker_failures=3,
                         breaker_cooldown=5.0, backoff_base=0.01)
    ring = ambassador.ambassador.ring
    keys = {name: [k for k in KEYS[:200] if ring.shard_for(k) == name][:3] for name in NAMES[:3]}
    with ambassador.client() as client:
        for shard_keys in keys.values():
            assert client.pipeline([("SET", key, key) for key in shard_keys]) == ["OK"] * 3

        shards[1].stop()  # terminate redis-1
        dead_key = keys["redis-1"][0]
        replies = []
        while len(replies) < 3:
            replies.append(client.call("GET", dead_key))
            if ambassador.info()["shards"]["redis-1"]["state"] == "open":
                break
        # retries=1: the 1st GET fails twice, the 2nd GET's first failure is the 3rd in a row
        assert replies == [
            "ERR shard redis-1 unavailable (connection refused)",
            "ERR shard redis-1 unavailable (circuit open)",
        ]
        dead = ambassador.info()["shards"]["redis-1"]
        assert (dead["failures"], dead["opened"], dead["calls"]) == (3, 1, 6)  # 3 SETs + 3 GETs

        for _ in range(5):  # fast fail: no more connection attempts to redis-1
            assert client.call("GET", dead_key) == "ERR shard redis-1 unavailable (circuit open)"
        for name in ("redis-0", "redis-2"):
            assert client.pipeline([("GET", k) for k in keys[name]]) == [
                k.encode() for k in keys[name]
            ]
        assert client.call("MGET", keys["redis-0"][0], dead_key).endswith("(circuit open)")
        assert client.call("DBSIZE") == "ERR shard redis-1 unavailable (circuit open)"
        dead = ambassador.info()["shards"]["redis-1"]
        assert (dead["state"], dead["calls"], dead["rejected"]) == ("open", 6, 8)

        # cool-down over while redis-1 is still down: the probe fails, open again
        ambassador.clock.now += 5.0
        assert ambassador.info()["shards"]["redis-1"]["state"] == "half-open"
        assert client.call("GET", dead_key).endswith("unavailable (circuit open)")
        dead = ambassador.info()["shards"]["redis-1"]
        assert (dead["state"], dead["opened"], dead["half_opened"]) == ("open", 2, 1)

        shards[1].start()  # back, but empty: it had no persistence
        assert client.call("GET", dead_key).endswith("(circuit open)")  # still cooling down
        ambassador.clock.now += 5.0
        assert ambassador.info()["shards"]["redis-1"]["state"] == "half-open"
        assert client.call("GET", dead_key) is None  # the probe: redis-1 answers again
        assert client.call("SET", dead_key, "again") == "OK"
        assert client.call("GET", dead_key) == b"again"
    dead = ambassador.info()["shards"]["redis-1"]
    assert (dead["state"], dead["opened"], dead["half_opened"], dead["closed"]) == (
        "closed", 2, 2, 1,
    )
    assert [line.split(": ")[1] for line in ambassador.logs[1:]] == [
        "shard redis-1 breaker closed -> open",
        "shard redis-1 breaker open -> half-open",
        "shard redis-1 breaker half-open -> open",
        "shard redis-1 breaker open -> half-open",
        "shard redis-1 breaker half-open -> closed",
    ]


@needs_redis
def test_a_hung_shard_times_out_and_its_late_reply_is_never_given_to_another_command(
    shards, running
):
    ambassador = running(shards[:3], timeout=0.2, retries=1, breaker_failures=5,
                         backoff_base=0.01)
    ring = ambassador.ambassador.ring
    first, second = [key for key in KEYS if ring.shard_for(key) == "redis-2"][:2]
    with ambassador.client() as client:
        assert client.pipeline([("SET", first, "one"), ("SET", second, "two")]) == ["OK", "OK"]
        os.kill(shards[2].process.pid, signal.SIGSTOP)
        try:
            assert client.call("GET", first) == (
                "ERR shard redis-2 unavailable (timeout after 0.2s)"
            )
        finally:
            os.kill(shards[2].process.pid, signal.SIGCONT)
        assert client.call("GET", second) == b"two"
        assert client.call("GET", first) == b"one"
    hung = ambassador.info()["shards"]["redis-2"]
    assert (hung["timeouts"], hung["retries"], hung["state"]) == (2, 1, "closed")


@needs_redis
def test_the_program_runs_as_a_script_with_the_standard_library_only(shards):
    port = free_port()
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "SHARDS": ",".join(f"{s.name}={s.address}" for s in shards[:3]),
        "LISTEN": f"127.0.0.1:{port}",
        "TIMEOUT": "0.3",
        "BREAKER_FAILURES": "4",
        "BREAKER_COOLDOWN": "2",
    }
    # -S: no site-packages at all, as in a stock python image
    process = subprocess.Popen(
        [sys.executable, "-S", str(PROGRAM)], env=environ, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        first_line = process.stdout.readline()
        assert first_line.startswith(f"ambassador: listening on 127.0.0.1:{port}; shards redis-0=")
        with RespClient(port) as client:
            assert client.call("SET", "greeting", "hello") == "OK"
            assert client.call("GET", "greeting") == b"hello"
            info = amb.parse_info(client.call("INFO", "ambassador"))
        assert info["ambassador"]["timeout_seconds"] == 0.3
        assert info["ambassador"]["breaker_failures"] == 4
        assert info["ambassador"]["breaker_cooldown_seconds"] == 2
        assert sorted(info["shards"]) == NAMES[:3]
        process.terminate()
        assert process.wait(timeout=10) == 0
        assert process.stdout.read() == "ambassador: stopped\n"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def test_the_program_explains_missing_shards_and_exits_2():
    result = subprocess.run(
        [sys.executable, "-S", str(PROGRAM)], env={"PATH": os.environ.get("PATH", "")},
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "SHARDS is empty: set it to the redis shards as comma-separated host:port" in (
        result.stderr
    )
