"""Redis that answers, redis-cli, and the ambassador's real core sharding over simulated redis.

The unit tests use the image-model fakes; the chapter-2 scenario runs a whole simulated cluster
(real kubelets, StatefulSet, headless Service) on a manual clock, so its times are exact.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from k8s_course.sim import control_plane, nodes
from k8s_course.sim.images import redis_models
from k8s_course.sim.images.registry import Registry
from k8s_course.sim.kubelet_images import NodeImages
from k8s_course.workloads import ambassador as core
from tests.sim.harness import Harness
from tests.sim.images_fakes import FakeNetwork, FakePod, advance, run, settle

REGISTRY = Registry(images={"redis": redis_models.redis_model},
                    python_programs={"ambassador.py": redis_models.ambassador_program})
SHARDS = "redis-0.redis:6379,redis-1.redis:6379,redis-2.redis:6379"


# ---------------------------------------------------------------------------------------------
# Keyspace: redis's answers
# ---------------------------------------------------------------------------------------------


def _execute(keyspace: redis_models.Keyspace, *words: str):
    return keyspace.execute([word.encode() for word in words])


def test_the_keyspace_answers_the_commands_the_course_uses_as_redis_does():
    keyspace = redis_models.Keyspace(lambda: 100.0)
    answers = [_execute(keyspace, *command) for command in (
        ("SET", "a", "1"), ("set", "b", "x"), ("GET", "a"), ("GET", "nope"), ("INCR", "a"),
        ("INCR", "fresh"), ("INCR", "b"), ("EXISTS", "a", "a", "nope"), ("MGET", "a", "nope", "b"),
        ("DBSIZE",), ("KEYS", "*"), ("KEYS", "f*"), ("DEL", "a", "nope"), ("PING",),
        ("PING", "hi"), ("GET",), ("SET", "k", "v", "BOGUS"), ("HSET", "h", "f", "v"),
        ("FLUSHALL",), ("DBSIZE",))]
    assert answers == [
        "OK", "OK", b"1", None, 2, 1, "ERR value is not an integer or out of range", 2,
        [b"2", None, b"x"], 3, [b"a", b"b", b"fresh"], [b"fresh"], 1, "PONG", b"hi",
        "ERR wrong number of arguments for 'get' command", "ERR syntax error",
        "ERR unknown command 'HSET', with args beginning with: 'h' 'f' 'v' ", "OK", 0]
    assert isinstance(answers[0], core.SimpleString)
    assert isinstance(answers[6], core.RespError)


def test_a_key_set_with_ex_expires_on_the_simulated_clock():
    now = [1000.0]
    keyspace = redis_models.Keyspace(lambda: now[0])
    assert _execute(keyspace, "SET", "session", "s1", "EX", "10") == "OK"
    assert _execute(keyspace, "SET", "bad", "v", "EX", "0") == "ERR invalid expire time in 'set' command"
    assert _execute(keyspace, "SET", "n", "v", "NX") == "OK"
    assert _execute(keyspace, "SET", "n", "w", "NX") is None
    now[0] += 4
    assert _execute(keyspace, "TTL", "session") == 6
    assert _execute(keyspace, "GET", "session") == b"s1"
    now[0] += 6
    assert _execute(keyspace, "GET", "session") is None
    assert _execute(keyspace, "TTL", "session") == -2
    assert _execute(keyspace, "TTL", "n") == -1
    assert _execute(keyspace, "DBSIZE") == 1


def test_info_keyspace_counts_the_keys_as_redis_formats_it():
    keyspace = redis_models.Keyspace(lambda: 50.0)
    _execute(keyspace, "SET", "a", "1")
    _execute(keyspace, "SET", "b", "2", "EX", "60")
    assert _execute(keyspace, "INFO", "keyspace") == \
        b"# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0,subexpiry=0\r\n"
    assert b"redis_version:7.4.1\r\n" in _execute(keyspace, "INFO")


# ---------------------------------------------------------------------------------------------
# redis-server and redis-cli in a pod (image-model fakes)
# ---------------------------------------------------------------------------------------------


def _redis_pod(clock, network=None, ip="10.244.1.5", name="redis-0"):
    spec = {"containers": [{"name": "redis", "image": "redis:7"}]}
    pod = FakePod(spec, clock, network or FakeNetwork({"127.0.0.1": ["127.0.0.1"]}), name=name, ip=ip)
    ctx = pod.context("redis")
    model = REGISTRY.model_for(pod.container("redis"))
    task = asyncio.ensure_future(model.run(ctx))
    return pod, model, ctx, task


def test_redis_cli_prints_replies_as_without_a_terminal_and_fails_like_redis_cli():
    async def scenario(clock):
        pod, model, ctx, task = _redis_pod(clock)
        await settle()
        outputs = []
        for args in (["SET", "k", "v"], ["GET", "k"], ["GET", "missing"], ["INCR", "n"],
                     ["KEYS", "*"], ["INCR", "k"], ["-e", "INCR", "k"], ["--no-raw", "MGET", "k", "x"],
                     ["--no-raw", "INCR", "n"], ["-p", "6380", "PING"], ["-h", "nowhere", "PING"]):
            result = await model.exec(["redis-cli", *args], ctx)
            outputs.append((result.exit_code, result.stdout, result.stderr))
        ctx.stopping.set()
        code = await task
        return outputs, code, ctx.listening

    outputs, code, listening = run(scenario)
    assert outputs == [
        (0, "OK\n", ""), (0, "v\n", ""), (0, "\n", ""), (0, "1\n", ""), (0, "k\nn\n", ""),
        (0, "ERR value is not an integer or out of range\n\n", ""),
        (1, "", "ERR value is not an integer or out of range\n"),
        (0, '1) "v"\n2) (nil)\n', ""), (0, "(integer) 2\n", ""),
        (1, "", "Could not connect to Redis at 127.0.0.1:6380: Connection refused\n"),
        (1, "", "Could not connect to Redis at nowhere:6379: Name or service not known\n")]
    assert code == 0
    assert listening == set()


def test_a_new_redis_container_starts_empty_and_a_stopped_one_refuses():
    async def scenario(clock):
        pod, model, ctx, task = _redis_pod(clock)
        await settle()
        await model.exec(["redis-cli", "SET", "k", "v"], ctx)
        ctx.stopping.set()
        await task
        refused = await model.exec(["redis-cli", "GET", "k"], ctx)
        again = pod.context("redis")
        second = REGISTRY.model_for(pod.container("redis"))
        task = asyncio.ensure_future(second.run(again))
        await settle()
        answer = await second.exec(["redis-cli", "DBSIZE"], again)
        task.cancel()
        return refused, answer

    refused, answer = run(scenario)
    assert refused.stderr == "Could not connect to Redis at 127.0.0.1:6379: Connection refused\n"
    assert answer.stdout == "0\n"


def test_the_redis_image_running_another_command_still_has_redis_cli():
    async def scenario(clock):
        network = FakeNetwork({"127.0.0.1": ["127.0.0.1"], "redis-0.redis": ["10.244.1.5"]})
        _, server, server_ctx, task = _redis_pod(clock, network)
        network.servers[("10.244.1.5", 6379)] = (server, server_ctx)
        client = FakePod({"containers": [{"name": "app", "image": "redis:7-alpine",
                                          "command": ["sleep", "infinity"]}]},
                         clock, network, name="app", ip="10.244.2.7")
        app = REGISTRY.model_for(client.container("app"))
        await settle()
        wrote = await app.exec(["redis-cli", "-h", "redis-0.redis", "SET", "x", "1"], client.context("app"))
        read = await server.exec(["redis-cli", "GET", "x"], server_ctx)
        task.cancel()
        return type(app), wrote.stdout, read.stdout

    kind, wrote, read = run(scenario)
    assert kind is redis_models.RedisShell
    assert (wrote, read) == ("OK\n", "1\n")


def _with_program(ctx):
    """What the ConfigMap volume does on the cluster: /app/ambassador.py in the container."""
    ctx.files.mkdir("/app", parents=True)
    ctx.files.write("/app/ambassador.py", Path(core.__file__).read_text())
    return ctx


def test_an_ambassador_without_shards_exits_2_with_its_message():
    async def scenario(clock):
        pod = FakePod({"containers": [{"name": "ambassador", "image": "python:3.11-slim",
                                       "command": ["python", "/app/ambassador.py"]}]}, clock)
        ctx = _with_program(pod.context("ambassador"))
        model = REGISTRY.model_for(pod.container("ambassador"))
        code = await model.run(ctx)
        return code, pod.lines("ambassador", "stderr")

    code, stderr = run(scenario)
    assert code == 2
    assert stderr[0].startswith("ambassador: SHARDS is empty: set it to the redis shards")


class _Cluster:
    """What the pods' networks share (on the cluster: the kubelets' PodNetwork)."""


class _PodNetwork(FakeNetwork):
    """One pod's network: its own localhost, the cluster's RESP servers."""

    def __init__(self, names: dict, cluster: _Cluster):
        super().__init__(names)
        self.network = cluster


def test_the_ambassador_times_out_on_a_shard_whose_pod_cannot_be_reached():
    async def scenario(clock):
        cluster = object.__new__(_Cluster)
        names = {"127.0.0.1": ["127.0.0.1"], "redis-0.redis": ["10.244.1.5"]}
        _, server, server_ctx, task = _redis_pod(clock, _PodNetwork(names, cluster))
        # registered with the cluster's RESP servers, but the app pod's network cannot reach it
        network = _PodNetwork(names, cluster)
        pod = FakePod({"containers": [
            {"name": "app", "image": "redis:7", "command": ["sleep", "infinity"]},
            {"name": "ambassador", "image": "python:3.11-slim",
             "command": ["python", "/app/ambassador.py"],
             "env": [{"name": "SHARDS", "value": "redis-0.redis:6379"}]}]},
            clock, network, name="app", ip="10.244.2.7")
        ctx = _with_program(pod.context("ambassador"))
        ambassador = asyncio.ensure_future(REGISTRY.model_for(pod.container("ambassador")).run(ctx))
        app = REGISTRY.model_for(pod.container("app"))
        await settle()
        began = clock.now()
        reply = asyncio.ensure_future(app.exec(["redis-cli", "GET", "k"], pod.context("app")))
        while not reply.done():
            await advance(clock, 0.01, 0.01)
        took = clock.now() - began
        info = await app.exec(["redis-cli", "INFO", "ambassador"], pod.context("app"))
        ctx.stopping.set()
        await ambassador
        task.cancel()
        return reply.result().stdout, took, core.parse_info(info.stdout), pod.lines("ambassador")

    stdout, took, info, log = run(scenario)
    assert stdout == "ERR shard redis-0.redis:6379 unavailable (timeout after 0.5s)\n\n"
    # three 0.5 s attempts with 0.05 s and 0.1 s of back-off between them, the clock moving in
    # 0.01 s steps (each of the five waits ends on the first step at or past its deadline)
    assert 1.65 - 1e-6 <= took <= 1.65 + 5 * 0.01 + 1e-6
    shard = info["shards"]["redis-0.redis:6379"]
    assert (shard["state"], shard["timeouts"], shard["opened"]) == ("open", 3, 1)
    assert log[0] == "ambassador: listening on 127.0.0.1:6379; shards redis-0.redis:6379=redis-0.redis:6379"
    assert log[1].startswith("ambassador: shard redis-0.redis:6379 breaker closed -> open: "
                             "after 3 consecutive failures (timeout after 0.5s)")
    assert log[-1] == "ambassador: stopped"


# ---------------------------------------------------------------------------------------------
# Chapter 2 on a whole simulated cluster
# ---------------------------------------------------------------------------------------------


def _manifests() -> list[dict]:
    program = Path(core.__file__).read_text()
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis"},
         "spec": {"clusterIP": "None", "selector": {"app": "redis"}, "ports": [{"port": 6379}]}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "redis"},
         "spec": {"replicas": 3, "serviceName": "redis", "selector": {"matchLabels": {"app": "redis"}},
                  "template": {"metadata": {"labels": {"app": "redis"}}, "spec": {"containers": [
                      {"name": "redis", "image": "redis:7", "ports": [{"containerPort": 6379}],
                       "readinessProbe": {"exec": {"command": ["redis-cli", "ping"]},
                                          "initialDelaySeconds": 5, "periodSeconds": 5}}]}}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ambassador"},
         "data": {"ambassador.py": program}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app"},
         "spec": {"containers": [
             {"name": "app", "image": "redis:7", "command": ["sleep", "infinity"]},
             {"name": "ambassador", "image": "python:3.11-slim",
              "command": ["python", "/app/ambassador.py"],
              "env": [{"name": "SHARDS", "value": SHARDS}],
              "volumeMounts": [{"name": "code", "mountPath": "/app"}]}],
             "volumes": [{"name": "code", "configMap": {"name": "ambassador"}}]}},
    ]


def _ready(h: Harness, name: str) -> bool:
    pod = h.get("v1", "Pod", name)
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def _exec(h: Harness, pod: str, container: str, *command: str) -> str:
    """`kubectl exec pod -c container -- command`, the clock moving while it waits."""
    node = h.get("v1", "Pod", pod)["spec"]["nodeName"]
    task = asyncio.ensure_future(h.cluster.kubelets[node].exec("default", pod, container, list(command)))
    await h.settle()
    while not task.done():
        h.clock.advance(0.05)
        await h.settle()
    result = task.result()
    assert result.exit_code == 0, result
    return result.stdout


def _chapter(scenario):
    async def wrapped(h: Harness):
        for kubelet in h.cluster.kubelets.values():
            kubelet.images = NodeImages(REGISTRY)
        for manifest in _manifests():
            h.create(manifest)
        await h.until(lambda: all(_ready(h, n) for n in ("redis-0", "redis-1", "redis-2", "app")),
                      timeout=120)
        return await scenario(h)

    return Harness.run(wrapped, controllers=lambda cluster: control_plane.controllers(cluster)[1:],
                       node_specs=nodes.default_nodes(2))


def test_a_thousand_keys_through_the_ambassador_spread_evenly_over_three_shards():
    async def scenario(h: Harness):
        for number in range(1000):
            assert await _exec(h, "app", "app", "redis-cli", "SET", f"key:{number}", str(number)) == "OK\n"
        counts = [int(await _exec(h, f"redis-{i}", "redis", "redis-cli", "DBSIZE")) for i in range(3)]
        total = await _exec(h, "app", "app", "redis-cli", "DBSIZE")
        back = await _exec(h, "app", "app", "redis-cli", "MGET", "key:7", "key:500", "nope")
        return counts, total, back

    counts, total, back = _chapter(scenario)
    ring = core.HashRing(core.parse_shards(SHARDS))
    # each shard holds exactly the keys the ambassador's own ring gives it ...
    expected = [sum(1 for n in range(1000) if ring.shard_for(f"key:{n}") == f"redis-{i}.redis:6379")
                for i in range(3)]
    assert counts == expected == [337, 298, 365]
    assert total == "1000\n"
    # ... the ring gives each shard a third of the hash space, within 10% (160 virtual nodes) ...
    assert all(abs(share - 1 / 3) <= 1 / 30 for share in ring.ownership().values())
    # ... so 1000 keys land within 12% of a third each (sampling adds its noise to the ring's)
    assert all(abs(count - 1000 / 3) <= 0.12 * 1000 / 3 for count in counts)
    assert back == "7\n500\n\n"


def test_losing_a_shard_opens_its_breaker_and_its_return_empty_closes_it():
    ring = core.HashRing(core.parse_shards(SHARDS))
    keys = {shard: [f"key:{n}" for n in range(200) if ring.shard_for(f"key:{n}") == shard][:3]
            for shard in ring.shards}
    lost, kept = keys["redis-1.redis:6379"], keys["redis-0.redis:6379"] + keys["redis-2.redis:6379"]

    async def scenario(h: Harness):
        for key in lost + kept:
            await _exec(h, "app", "app", "redis-cli", "SET", key, "v-" + key)
        old_uid = h.get("v1", "Pod", "redis-1")["metadata"]["uid"]
        h.delete("v1", "Pod", "redis-1")
        deleted_at = h.clock.now()
        await h.settle()  # redis stops at once on SIGTERM; the StatefulSet makes a new redis-1
        failed = await _exec(h, "app", "app", "redis-cli", "GET", lost[0])
        fast = await _exec(h, "app", "app", "redis-cli", "GET", lost[1])
        opened = core.parse_info(await _exec(h, "app", "app", "redis-cli", "INFO", "ambassador"))
        others = [await _exec(h, "app", "app", "redis-cli", "GET", key) for key in kept]
        back = await h.until(lambda: _ready(h, "redis-1") and
                             h.get("v1", "Pod", "redis-1")["metadata"]["uid"] != old_uid, timeout=120)
        await h.advance(max(0.0, deleted_at + 5.5 - h.clock.now()), step=0.5)  # past the cool-down
        empty = await _exec(h, "app", "app", "redis-cli", "GET", lost[2])
        closed = core.parse_info(await _exec(h, "app", "app", "redis-cli", "INFO", "ambassador"))
        log = [line for _, line in h.cluster.kubelets[h.get("v1", "Pod", "app")["spec"]["nodeName"]]
               .log_lines("default", "app", "ambassador")]
        return failed, fast, opened, others, back, empty, closed, log

    failed, fast, opened, others, back, empty, closed, log = _chapter(scenario)
    # the new redis-1 is not Ready yet, so its DNS name does not resolve
    assert failed == "ERR shard redis-1.redis:6379 unavailable (cannot resolve host)\n\n"
    assert fast == "ERR shard redis-1.redis:6379 unavailable (circuit open)\n\n"
    shard = opened["shards"]["redis-1.redis:6379"]
    assert (shard["state"], shard["failures"], shard["opened"], shard["rejected"]) == ("open", 3, 1, 1)
    assert opened["shards"]["redis-0.redis:6379"]["state"] == "closed"
    assert others == [f"v-{key}\n" for key in kept]
    assert back == 5  # the new redis-1 is Ready after its readiness probe's initial delay
    assert empty == "\n"  # back, but empty: nothing was persisted
    shard = closed["shards"]["redis-1.redis:6379"]
    assert (shard["state"], shard["half_opened"], shard["closed"]) == ("closed", 1, 1)
    changes = [line for line in log if "breaker" in line]
    assert changes[0] == ("ambassador: shard redis-1.redis:6379 breaker closed -> open: after 3 "
                          "consecutive failures (cannot resolve host); probing again in 5s")
    assert [line.split(": ")[1] for line in changes] == [
        "shard redis-1.redis:6379 breaker closed -> open",
        "shard redis-1.redis:6379 breaker open -> half-open",
        "shard redis-1.redis:6379 breaker half-open -> closed"]


def test_a_shard_on_a_node_cut_off_times_out_after_the_ambassadors_timeout():
    ring = core.HashRing(core.parse_shards(SHARDS))
    key = next(f"key:{n}" for n in range(100) if ring.shard_for(f"key:{n}") == "redis-2.redis:6379")

    async def scenario(h: Harness):
        await _exec(h, "app", "app", "redis-cli", "SET", key, "v")
        h.cluster.kubelets[h.get("v1", "Pod", "redis-2")["spec"]["nodeName"]].stop()
        began = h.clock.now()
        reply = await _exec(h, "app", "app", "redis-cli", "GET", key)
        took = h.clock.now() - began
        info = core.parse_info(await _exec(h, "app", "app", "redis-cli", "INFO", "ambassador"))
        return reply, took, info["shards"]["redis-2.redis:6379"]

    reply, took, shard = _chapter(scenario)
    assert reply == "ERR shard redis-2.redis:6379 unavailable (timeout after 0.5s)\n\n"
    assert 1.65 - 1e-6 <= took <= 1.65 + 5 * 0.05 + 1e-6  # 3 x 0.5 s + back-off, in 0.05 s steps
    assert (shard["state"], shard["timeouts"]) == ("open", 3)
