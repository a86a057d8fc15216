"""The postgres image's model: SQL and psql's words, a WAL streamed to standbys, sync and async
commits, failover by hand, and a data directory that lives on its claim.

Single-server tests use the image-model fakes; the replication tests run a whole simulated
cluster (kubelets, scheduler, PV binder, Services) on a manual clock with member pods built as
the chapter's contract says, so the times they assert are exact.
"""

from __future__ import annotations

import asyncio

import pytest

from k8s_course.sim import control_plane, nodes
from k8s_course.sim.images import postgres_models as pg
from k8s_course.sim.images.registry import Registry
from k8s_course.workloads import pg_writer
from tests.sim.harness import Harness
from tests.sim.images_fakes import FakePod, advance, run

PSQL = ["psql", "-U", "postgres", "-d", "postgres", "-X", "-q", "-t", "-A"]
PGDATA = "/var/lib/postgresql/data/pgdata"
STATUS_SQL = (
    "SELECT pg_is_in_recovery(), "
    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, "
    "CASE WHEN pg_is_in_recovery() THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), "
    "(SELECT timeline_id FROM pg_control_checkpoint())) "
    "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END")
REPLICATION_SQL = ("SELECT application_name, state, sync_state, replay_lsn FROM pg_stat_replication "
                   "ORDER BY application_name")
CREATE = "CREATE TABLE IF NOT EXISTS writes (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())"
REPLICATION_SCRIPT = ('#!/bin/sh\necho "host replication all all trust" >> "$PGDATA/pg_hba.conf"\n')


# ---------------------------------------------------------------------------------------------
# One server (image-model fakes)
# ---------------------------------------------------------------------------------------------


def _single(extra_env: list | None = None):
    spec = {"securityContext": {"runAsUser": 999},
            "containers": [{"name": "postgres", "image": "postgres:16.4",
                            "command": ["docker-entrypoint.sh", "postgres", "-c", "cluster_name=pg-1"],
                            "env": [{"name": "PGDATA", "value": PGDATA},
                                    {"name": "POSTGRES_HOST_AUTH_METHOD", "value": "trust"}, *(extra_env or [])],
                            "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]}],
            "volumes": [{"name": "data", "emptyDir": {}}]}
    return spec


def _on_one_server(*commands: list[str]):
    """Start one server, run each argv in its container; (exit, stdout, stderr) each, and the log."""
    async def scenario(clock):
        pod = FakePod(_single(), clock, name="pg-1")
        ctx = pod.context("postgres")
        model = Registry().model_for(pod.container("postgres"))
        task = asyncio.ensure_future(model.run(ctx))
        await advance(clock, 3)
        answers = []
        for command in commands:
            result = await model.exec(command, ctx)
            answers.append((result.exit_code, result.stdout, result.stderr))
        ctx.stopping.set()
        code = await task
        return answers, code, pod.lines("postgres")

    return run(scenario)


def test_psql_answers_the_app_sql_in_each_output_format_psql_has():
    answers, code, log = _on_one_server(
        [*PSQL, "-c", CREATE, "-c", "INSERT INTO writes (id) VALUES (1)", "-c", "INSERT INTO writes (id) VALUES (2)"],
        [*PSQL, "-c", "SELECT count(*) FROM writes", "-c", "SELECT max(id) FROM writes",
         "-c", "SELECT id FROM writes ORDER BY id", "-c", "SELECT 1"],
        ["psql", "-U", "postgres", "-c", "SELECT id, id * 10 AS ten, 'x' AS label FROM writes ORDER BY id DESC"],
        ["psql", "-U", "postgres", "-c", "INSERT INTO writes (id) VALUES (3)", "-c", CREATE],
        ["psql", "-U", "postgres", "-t", "-c", "SELECT count(*) FROM writes"],
        ["psql", "-U", "postgres", "-A", "-c", "SELECT count(*) AS n, max(id) FROM writes"],
        [*PSQL, "-c", "SELECT version()"])
    assert answers[0] == (0, "", "")
    assert answers[1] == (0, "2\n2\n1\n2\n1\n", "")
    assert answers[2] == (0, " id | ten | label \n----+-----+-------\n  2 |  20 | x\n  1 |  10 | x\n(2 rows)\n\n", "")
    assert answers[3] == (0, "INSERT 0 1\nCREATE TABLE\n", 'NOTICE:  relation "writes" already exists, skipping\n')
    assert answers[4] == (0, "     3\n\n", "")
    assert answers[5] == (0, "n|max\n3|3\n(1 row)\n", "")
    assert answers[6][1] == ("PostgreSQL 16.4 (Debian 16.4-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc "
                             "(Debian 12.2.0-14) 12.2.0, 64-bit\n")
    assert code == 0
    assert log[-1].endswith(" UTC [1] LOG:  database system is shut down")
    assert "PostgreSQL init process complete; ready for start up." in log


def test_psql_words_errors_as_postgresql_and_exits_1_continuing_unless_on_error_stop():
    answers, _, _ = _on_one_server(
        [*PSQL, "-c", "SELEC 1", "-c", "SELECT 2"],
        [*PSQL, "-v", "ON_ERROR_STOP=1", "-c", "SELECT * FROM nope", "-c", "SELECT 2"],
        [*PSQL, "-c", CREATE, "-c", "INSERT INTO writes (id) VALUES (7)", "-c", "INSERT INTO writes (id) VALUES (7)"],
        [*PSQL, "-c", "SELECT pg_promote()"],
        [*PSQL, "-c", "SELECT nosuch(1)"],
        [*PSQL, "-c", "UPDATE writes SET id = 1"],
        [*PSQL, "-c", "ALTER SYSTEM SET nonsense = 1"],
        [*PSQL, "-d", "app", "-c", "SELECT 1"],
        [*PSQL, "-h", "nowhere", "-c", "SELECT 1"],
        [*PSQL, "-h", "127.0.0.1", "-p", "5433", "-c", "SELECT 1"])
    assert answers[0] == (0, "2\n", 'ERROR:  syntax error at or near "SELEC"\nLINE 1: SELEC 1\n        ^\n')
    assert answers[1] == (1, "", 'ERROR:  relation "nope" does not exist\nLINE 1: SELECT * FROM nope\n'
                                 "                      ^\n")
    assert answers[2] == (1, "", 'ERROR:  duplicate key value violates unique constraint "writes_pkey"\n'
                                 "DETAIL:  Key (id)=(7) already exists.\n")
    assert answers[3] == (1, "", "ERROR:  recovery is not in progress\n"
                                 "HINT:  Recovery control functions can only be executed during recovery.\n")
    assert answers[4][2].startswith("ERROR:  function nosuch(integer) does not exist\nLINE 1: SELECT nosuch(1)\n")
    assert answers[5] == (1, "", 'ERROR:  k8s-course simulator: "UPDATE" is not modelled by the simulated '
                                 "PostgreSQL (see docs); run this lesson on kind to use it\n")
    assert answers[6] == (1, "", 'ERROR:  unrecognized configuration parameter "nonsense"\n')
    assert answers[7] == (2, "", 'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" '
                                 'failed: FATAL:  database "app" does not exist\n')
    assert answers[8] == (2, "", 'psql: error: could not translate host name "nowhere" to address: '
                                 "Name or service not known\n")
    assert answers[9] == (2, "", 'psql: error: connection to server at "127.0.0.1" (127.0.0.1), port 5433 failed: '
                                 "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
                                 "connections?\n")


def test_psql_without_a_server_says_so_on_the_socket_and_pg_isready_says_no_response():
    async def scenario(clock):
        spec = _single()
        spec["containers"][0]["command"] = ["sleep", "infinity"]
        pod = FakePod(spec, clock, name="pg-1")
        ctx = pod.context("postgres")
        model = Registry().model_for(pod.container("postgres"))
        asyncio.ensure_future(model.run(ctx))
        await advance(clock, 1)
        results = [await model.exec(command, ctx) for command in (
            [*PSQL, "-c", "SELECT 1"], ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"])]
        ctx.stopping.set()
        return [(r.exit_code, r.stdout, r.stderr) for r in results]

    psql, ready = run(scenario)
    assert psql == (2, "", 'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
                           "No such file or directory\n\tIs the server running locally and accepting connections "
                           "on that socket?\n")
    assert ready == (2, "127.0.0.1:5432 - no response\n", "")


def test_the_status_query_says_primary_its_lsn_and_timeline_one_after_initdb():
    answers, _, _ = _on_one_server([*PSQL, "-c", STATUS_SQL],
                                   [*PSQL, "-c", "SELECT timeline_id FROM pg_control_checkpoint()"])
    recovery, lsn, timeline = answers[0][1].strip().split("|")
    assert (recovery, timeline) == ("f", "1")
    assert 0x1000000 < pg.parse_lsn(lsn) < 0x2000000  # a fresh cluster's WAL position
    assert answers[1] == (0, "1\n", "")


def test_sql_the_model_cannot_parse_is_a_syntax_error_at_its_place():
    with pytest.raises(pg.SqlError) as raised:
        pg.parse_query("SELECT count(*) FROM writes WHERE")
    assert raised.value.message == "syntax error at end of input"
    with pytest.raises(pg.SqlError) as raised:
        pg.parse_query("SELECT 1; hello world")
    assert (raised.value.message, raised.value.position) == ('syntax error at or near "hello"', 10)
    assert pg.parse_sync_names('ANY 1 ("pg-2", "pg-3")') == pg.SyncRule("any", 1, ("pg-2", "pg-3"))
    assert pg.parse_sync_names("pg-2, Pg_3") == pg.SyncRule("first", 1, ("pg-2", "pg_3"))
    assert pg.parse_conninfo("user=postgres passfile='/x y' host=pg-1.pg-members port=5432")["host"] == \
        "pg-1.pg-members"


# ---------------------------------------------------------------------------------------------
# A primary and two standbys on a simulated cluster, as the operator builds them
# ---------------------------------------------------------------------------------------------


def _member(name: str, bootstrap: bool) -> dict:
    server = f"docker-entrypoint.sh postgres -c cluster_name={name} -c wal_log_hints=on"
    command = (["docker-entrypoint.sh", "postgres", "-c", f"cluster_name={name}", "-c", "wal_log_hints=on"]
               if bootstrap else
               ["sh", "-c", f'until [ -s "$PGDATA/PG_VERSION" ]; do sleep 1; done; exec {server}'])
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"k8s-course.dev/cluster": "pg", "k8s-course.dev/member": name,
                                              "k8s-course.dev/role": "primary" if bootstrap else "replica"}},
        "spec": {
            "hostname": name, "subdomain": "pg-members",
            "securityContext": {"runAsUser": 999, "runAsGroup": 999, "fsGroup": 999},
            "containers": [{
                "name": "postgres", "image": "postgres:16.4", "command": command,
                "env": [{"name": "PGDATA", "value": PGDATA}, {"name": "POSTGRES_HOST_AUTH_METHOD", "value": "trust"}],
                "ports": [{"name": "postgres", "containerPort": 5432, "protocol": "TCP"}],
                "readinessProbe": {"exec": {"command": ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"]},
                                   "periodSeconds": 2},
                "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"},
                                 {"name": "initdb", "mountPath": "/docker-entrypoint-initdb.d"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}},
                        {"name": "initdb", "configMap": {"name": "pg-initdb"}}]}}


def _claim(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": f"{name}-data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def _manifests() -> list[dict]:
    port = [{"name": "postgres", "port": 5432, "targetPort": 5432, "protocol": "TCP"}]
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pg-initdb"},
         "data": {"replication.sh": REPLICATION_SCRIPT}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pg-members"},
         "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                  "selector": {"k8s-course.dev/cluster": "pg"}, "ports": port}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pg-rw"},
         "spec": {"selector": {"k8s-course.dev/cluster": "pg", "k8s-course.dev/role": "primary"}, "ports": port}},
        *(_claim(name) for name in ("pg-1", "pg-2", "pg-3")),
        _member("pg-1", True), _member("pg-2", False), _member("pg-3", False),
    ]


def _ready(h: Harness, name: str) -> bool:
    pod = h.get("v1", "Pod", name)
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _kubelet(h: Harness, pod: str):
    return h.cluster.kubelets[h.get("v1", "Pod", pod)["spec"]["nodeName"]]


def _server(h: Harness, pod: str) -> pg.PostgresServer:
    worker = _kubelet(h, pod).workers[("default", pod)]
    return worker.endpoint.containers["postgres"][1].server


async def _exec(h: Harness, pod: str, *command: str, step: float = 0.05):
    """`kubectl exec pod -c postgres -- command`, the clock moving while it waits."""
    task = asyncio.ensure_future(_kubelet(h, pod).exec("default", pod, "postgres", list(command)))
    await h.settle()
    while not task.done():
        h.clock.advance(step)
        await h.settle()
    return task.result()


async def _sql(h: Harness, pod: str, *statements: str) -> list[str]:
    argv = list(PSQL)
    for statement in statements:
        argv += ["-c", statement]
    result = await _exec(h, pod, *argv)
    assert result.exit_code == 0, result
    return result.stdout.splitlines()


async def _clone(h: Harness, pod: str, primary: str = "pg-1.pg-members"):
    result = await _exec(h, pod, "pg_basebackup", "-U", "postgres", "-h", primary, "-D", PGDATA,
                         "-R", "-X", "stream", "-c", "fast")
    assert result.exit_code == 0, result


def _cluster(scenario):
    async def wrapped(h: Harness):
        for manifest in _manifests():
            h.create(manifest)
        await h.until(lambda: _ready(h, "pg-1"), timeout=60)
        await _clone(h, "pg-2")
        await _clone(h, "pg-3")
        await h.until(lambda: _ready(h, "pg-2") and _ready(h, "pg-3"), timeout=60)
        await h.advance(0.1, step=0.01)
        return await scenario(h)

    return Harness.run(wrapped, controllers=lambda cluster: control_plane.controllers(cluster)[1:],
                       node_specs=nodes.default_nodes(3))


def test_rows_written_on_the_primary_stream_to_both_standbys_that_show_in_pg_stat_replication():
    async def scenario(h: Harness):
        await _sql(h, "pg-1", CREATE, *(f"INSERT INTO writes (id) VALUES ({n})" for n in range(1, 6)))
        await h.advance(0.01, step=0.01)
        counts = [await _sql(h, name, "SELECT count(*) FROM writes", "SELECT max(id) FROM writes")
                  for name in ("pg-1", "pg-2", "pg-3")]
        replication = await _sql(h, "pg-1", REPLICATION_SQL)
        statuses = [(await _sql(h, name, STATUS_SQL))[0] for name in ("pg-1", "pg-2", "pg-3")]
        refused = await _exec(h, "pg-2", *PSQL, "-c", "INSERT INTO writes (id) VALUES (9)")
        log = [line for _, line in _kubelet(h, "pg-2").log_lines("default", "pg-2")]
        return counts, replication, statuses, refused, log

    counts, replication, statuses, refused, log = _cluster(scenario)
    assert counts == [["5", "5"]] * 3
    primary_lsn = statuses[0].split("|")[1]
    # each clone's backup ends with a WAL switch: after two, the primary is past 0/3000000, as on kind
    assert pg.parse_lsn(primary_lsn) > 0x3000000
    assert replication == [f"pg-2|streaming|async|{primary_lsn}", f"pg-3|streaming|async|{primary_lsn}"]
    assert statuses == [f"f|{primary_lsn}|1", f"t|{primary_lsn}|1", f"t|{primary_lsn}|1"]
    assert refused.exit_code == 1
    assert refused.stderr == "ERROR:  cannot execute INSERT in a read-only transaction\n"
    assert any(line.endswith("LOG:  entering standby mode") for line in log)
    assert any(line.endswith("LOG:  started streaming WAL from primary at 0/2000000 on timeline 1") for line in log)


async def _write(h: Harness, server: pg.PostgresServer, row: int) -> asyncio.Task:
    session = await pg.connect(server.ctx, None, user="postgres", database="postgres")
    return asyncio.ensure_future(session.execute(f"INSERT INTO writes (id) VALUES ({row})"))


def test_a_synchronous_commit_is_acknowledged_once_a_standby_flushed_it_and_hangs_without_one():
    async def scenario(h: Harness):
        await _sql(h, "pg-1", CREATE)
        await _sql(h, "pg-1", "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (\"pg-2\", \"pg-3\")'",
                   "SELECT pg_reload_conf()")
        replication = await _sql(h, "pg-1", REPLICATION_SQL)
        primary, standby = _server(h, "pg-1"), _server(h, "pg-2")
        task = await _write(h, primary, 1)
        await h.settle()  # written, waiting
        delays, standby_lsn_at_ack = 0, None
        while not task.done():  # in steps of one network delay, the clock's own arithmetic
            h.clock.advance(pg.NETWORK_DELAY)
            await h.settle()
            delays += 1
            standby_lsn_at_ack = standby.data.lsn
        commit_lsn = primary.data.lsn
        # nobody named is connected: the commit waits, as PostgreSQL's does
        await _sql(h, "pg-1", "ALTER SYSTEM SET synchronous_standby_names = 'pg-9'", "SELECT pg_reload_conf()")
        hanging = await _write(h, primary, 2)
        await h.advance(5)
        still_waiting = not hanging.done()
        await _sql(h, "pg-1", "ALTER SYSTEM RESET synchronous_standby_names", "SELECT pg_reload_conf()")
        await h.settle()
        return replication, delays, standby_lsn_at_ack, commit_lsn, still_waiting, hanging.done()

    replication, delays, standby_lsn, commit_lsn, still_waiting, released = _cluster(scenario)
    assert [line.split("|")[:3] for line in replication] == [["pg-2", "streaming", "quorum"],
                                                             ["pg-3", "streaming", "quorum"]]
    assert delays == 2  # the record's trip, and the flush reply's
    assert standby_lsn == commit_lsn  # on the standby before the client heard "INSERT 0 1"
    assert still_waiting is True
    assert released is True  # RESET lets the waiting commit go


async def _failover(h: Harness, new: str, other: str) -> None:
    """What the operator does: promote the best standby, relabel it, re-point the other."""
    assert await _sql(h, new, "SELECT pg_promote()") == ["t"]
    h.patch("v1", "Pod", new, {"metadata": {"labels": {"k8s-course.dev/role": "primary"}}})
    assert await _sql(h, other, f"ALTER SYSTEM SET primary_conninfo = 'host={new}.pg-members port=5432 "
                                f"user=postgres'", "SELECT pg_reload_conf()") == ["t"]


def _writer_log(h: Harness) -> list[str]:
    return [line for _, line in _kubelet(h, "writer").log_lines("default", "writer")]


def _writer_pod() -> list[dict]:
    from pathlib import Path

    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pg-writer"},
             "data": {"pg_writer.py": Path(pg_writer.__file__).read_text()}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer"},
             "spec": {"containers": [{"name": "writer", "image": "python:3.12-slim",
                                      "command": ["python", "/app/pg_writer.py"],
                                      "env": [{"name": "TARGET", "value": "pg-rw:5432"}],
                                      "volumeMounts": [{"name": "code", "mountPath": "/app"}]}],
                      "volumes": [{"name": "code", "configMap": {"name": "pg-writer"}}]}}]


def test_with_synchronous_replication_deleting_the_primary_mid_writes_loses_no_acknowledged_write():
    async def scenario(h: Harness):
        await _sql(h, "pg-1", "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (\"pg-2\", \"pg-3\")'",
                   "SELECT pg_reload_conf()")
        for manifest in _writer_pod():
            h.create(manifest)
        await h.advance(3, step=0.05)
        h.delete("v1", "Pod", "pg-1", grace_period_seconds=0)  # killed: nothing in flight is sent
        await h.advance(1, step=0.05)
        await _failover(h, "pg-2", "pg-3")
        await h.advance(3, step=0.05)
        log = _writer_log(h)  # then the rows: what it acknowledged so far must be there
        rows = {int(n) for n in await _sql(h, "pg-2", "SELECT id FROM writes ORDER BY id")}
        standby = {int(n) for n in await _sql(h, "pg-3", "SELECT id FROM writes ORDER BY id")}
        replication = await _sql(h, "pg-2", REPLICATION_SQL)
        status = (await _sql(h, "pg-2", STATUS_SQL))[0]
        return log, rows, standby, replication, status

    log, rows, standby, replication, status = _cluster(scenario)
    summary = pg_writer.summarise(log)
    assert log[0] == "pg_writer: writing to pg-rw:5432 at 20/s, timeout 1 s"
    assert len(summary.acked) > 60 and summary.failed > 0
    assert set(summary.acked) <= rows  # no acknowledged write lost
    # pg-3 follows the new primary (asynchronously now: the last write may still be on its way)
    assert set(summary.acked[:-1]) <= standby <= rows
    assert [line.split("|")[:2] for line in replication] == [["pg-3", "streaming"]]
    assert status.startswith("f|") and status.endswith("|2")  # a new timeline


def test_with_asynchronous_replication_a_write_in_flight_when_the_primary_dies_is_lost():
    async def scenario(h: Harness):
        await _sql(h, "pg-1", CREATE, "INSERT INTO writes (id) VALUES (1)")
        await h.advance(0.01, step=0.01)
        task = await _write(h, _server(h, "pg-1"), 2)
        await asyncio.sleep(0)
        acked = task.done() and task.result()[0].tag  # asynchronous: at once, before any standby has it
        h.delete("v1", "Pod", "pg-1", grace_period_seconds=0)  # killed before the record left
        await h.advance(1, step=0.05)
        await _failover(h, "pg-2", "pg-3")
        await h.advance(1, step=0.05)
        return acked, await _sql(h, "pg-2", "SELECT id FROM writes ORDER BY id"), \
            await _sql(h, "pg-3", "SELECT id FROM writes ORDER BY id")

    acked, promoted, other = _cluster(scenario)
    assert acked == "INSERT 0 1"
    assert promoted == other == ["1"]  # id 2 was acknowledged and is gone


def test_a_graceful_stop_sends_what_is_in_flight_and_a_standby_re_pointed_streams_from_the_new_primary():
    async def scenario(h: Harness):
        await _sql(h, "pg-1", CREATE, "INSERT INTO writes (id) VALUES (1)")
        task = await _write(h, _server(h, "pg-1"), 2)
        await asyncio.sleep(0)
        h.delete("v1", "Pod", "pg-1")  # SIGTERM: a fast shutdown, walsenders send what is left
        await h.advance(1, step=0.05)
        await _failover(h, "pg-2", "pg-3")
        await _sql(h, "pg-2", "INSERT INTO writes (id) VALUES (3)")
        await h.advance(0.01, step=0.01)
        log = [line for _, line in _kubelet(h, "pg-3").log_lines("default", "pg-3")]
        return task.done(), await _sql(h, "pg-3", "SELECT id FROM writes ORDER BY id", STATUS_SQL), log

    acked, (one, two, three, status), log = _cluster(scenario)
    assert acked is True
    assert [one, two, three] == ["1", "2", "3"]
    assert status.startswith("t|") and status.endswith("|2")
    assert any(line.endswith("LOG:  replication terminated by primary server") for line in log)
    assert any(line.endswith("LOG:  new target timeline is 2") for line in log)


def test_the_data_survives_deleting_and_recreating_a_member_on_its_claim():
    async def scenario(h: Harness):
        await _sql(h, "pg-1", CREATE, *(f"INSERT INTO writes (id) VALUES ({n})" for n in range(1, 4)))
        old = h.get("v1", "Pod", "pg-3")["metadata"]["uid"]
        h.delete("v1", "Pod", "pg-3")
        await h.until(lambda: h.get("v1", "Pod", "pg-3") is None, timeout=60)
        await _sql(h, "pg-1", "INSERT INTO writes (id) VALUES (4)")  # while pg-3 is away
        h.create(_member("pg-3", False))
        await h.until(lambda: _ready(h, "pg-3") and h.get("v1", "Pod", "pg-3")["metadata"]["uid"] != old,
                      timeout=60)
        await h.advance(0.1, step=0.01)
        return await _sql(h, "pg-3", "SELECT id FROM writes ORDER BY id"), await _sql(h, "pg-1", REPLICATION_SQL)

    rows, replication = _cluster(scenario)
    assert rows == ["1", "2", "3", "4"]  # its own three, and what it missed, streamed on return
    assert [line.split("|")[0] for line in replication] == ["pg-2", "pg-3"]


def test_pg_basebackup_needs_an_empty_directory_and_a_replication_line_in_pg_hba():
    async def scenario(h: Harness):
        again = await _exec(h, "pg-2", "pg_basebackup", "-U", "postgres", "-h", "pg-1.pg-members", "-D", PGDATA,
                            "-R", "-X", "stream", "-c", "fast")
        await _exec(h, "pg-1", "sh", "-c", "sed -i '$d' \"$PGDATA/pg_hba.conf\"")
        hba = await _exec(h, "pg-1", "cat", f"{PGDATA}/pg_hba.conf")
        auto = await _exec(h, "pg-2", "cat", f"{PGDATA}/postgresql.auto.conf")
        return again, hba.stdout, auto.stdout

    again, hba, auto = _cluster(scenario)
    assert (again.exit_code, again.stderr) == (
        1, f'pg_basebackup: error: directory "{PGDATA}" exists but is not empty\n')
    assert "host replication all all trust" in hba
    assert "host=pg-1.pg-members port=5432" in auto


def test_dumpall_writes_the_table_as_sql():
    async def scenario(h: Harness):
        await _sql(h, "pg-1", CREATE, "INSERT INTO writes (id) VALUES (1)", "INSERT INTO writes (id) VALUES (2)")
        done = await _exec(h, "pg-2", "pg_dumpall", "-U", "postgres", "-h", "pg-1.pg-members", "-f", "/tmp/all.sql")
        return done, (await _exec(h, "pg-2", "cat", "/tmp/all.sql")).stdout

    done, dump = _cluster(scenario)
    assert done.exit_code == 0
    assert "CREATE TABLE public.writes (\n    id bigint NOT NULL,\n    at timestamp with time zone DEFAULT now() " \
           "NOT NULL\n);" in dump
    assert "COPY public.writes (id, at) FROM stdin;\n1\t" in dump
    assert "ADD CONSTRAINT writes_pkey PRIMARY KEY (id);" in dump


def test_a_standby_whose_primarys_node_is_cut_off_drops_the_stream_after_the_replication_timeout():
    async def scenario(h: Harness):
        await _sql(h, "pg-1", CREATE)
        await h.advance(0.01, step=0.01)
        assert _kubelet(h, "pg-1") is not _kubelet(h, "pg-2")
        _kubelet(h, "pg-1").stop()
        cut_at = h.clock.now()
        await _write(h, _server(h, "pg-1"), 1)  # a local client: the primary itself still runs
        waited = await h.until(lambda: not _server(h, "pg-2").receiver_rows(), timeout=120)
        unreachable = await _exec(h, "pg-2", *PSQL, "-h", "pg-1.pg-members", "-c", "SELECT 1", step=5)
        log = [line for _, line in _kubelet(h, "pg-2").log_lines("default", "pg-2")]
        return waited, h.clock.now() - cut_at, unreachable, log, await _sql(h, "pg-2", "SELECT count(*) FROM writes")

    waited, _, unreachable, log, count = _cluster(scenario)
    # detected at a keepalive (every 10 s) once the link has been silent for 60 s
    assert pg.REPLICATION_TIMEOUT <= waited <= pg.REPLICATION_TIMEOUT + 2 * pg.KEEPALIVE_SECONDS
    assert any(line.endswith("FATAL:  terminating walreceiver due to timeout") for line in log)
    assert unreachable.exit_code == 2
    assert unreachable.stderr.endswith("port 5432 failed: Connection timed out\n\tIs the server running on "
                                       "that host and accepting TCP/IP connections?\n")
    assert count == ["0"]  # what the cut-off primary wrote never arrived


# ---------------------------------------------------------------------------------------------
# Through the HTTP API, as the operator reaches it
# ---------------------------------------------------------------------------------------------


def test_psql_answers_through_the_official_clients_exec(api_client, namespace):
    from kubernetes import client, stream, watch

    core = client.CoreV1Api(api_client)
    pod = _member("pg-1", True)
    pod["spec"]["volumes"][0] = {"name": "data", "emptyDir": {}}
    pod["spec"]["volumes"][1] = {"name": "initdb", "emptyDir": {}}
    core.create_namespaced_pod(namespace, pod)
    for event in watch.Watch().stream(core.list_namespaced_pod, namespace, field_selector="metadata.name=pg-1",
                                      timeout_seconds=30):
        conditions = event["object"].status.conditions or []
        if any(c.type == "Ready" and c.status == "True" for c in conditions):
            break
    answer = stream.stream(core.connect_get_namespaced_pod_exec, "pg-1", namespace, container="postgres",
                           command=[*PSQL, "-c", "SELECT pg_is_in_recovery(), 1 + 1"],
                           stderr=True, stdin=False, stdout=True, tty=False)
    assert answer == "f|2\n"
