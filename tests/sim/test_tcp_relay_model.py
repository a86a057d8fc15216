"""The TCP ambassador in the simulator: psql in the app's pod reaches a PostgreSQL in another
namespace through `python /app/tcp_ambassador.py`, and moving the database changes only TARGET.

The scenarios run chapter 2's own manifest (k8s_course/manifests/02-db-elsewhere.yaml) on a whole
simulated cluster (kubelets, StatefulSet, Services, DNS) on a manual clock, with the default
image registry, so they also check that the program is registered.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import yaml

from k8s_course.sim import control_plane, nodes
from k8s_course.sim.images import registry
from k8s_course.sim.kubelet_images import NodeImages
from k8s_course.workloads import program_source
from tests.sim.harness import Harness
from tests.sim.images_fakes import FakePod, run, settle

MANIFEST = Path(__file__).resolve().parents[2] / "k8s_course" / "manifests" / "02-db-elsewhere.yaml"
DOCUMENTS = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
DATABASE = [d for d in DOCUMENTS if d["kind"] != "Pod"]  # Secret, Service, StatefulSet
APP = next(d for d in DOCUMENTS if d["kind"] == "Pod")
SECRET = DOCUMENTS[0]
CREATE = "CREATE TABLE orders (id integer PRIMARY KEY, item text NOT NULL)"
COPY = ("psql -h db.warehouse.svc.cluster.local -U postgres -At -c "
        "\"SELECT 'INSERT INTO orders VALUES (' || id || ', ''' || item || ''');' FROM orders\" "
        "| psql -U postgres -q")


def _ready(h: Harness, name: str, namespace: str = "default") -> bool:
    pod = h.get("v1", "Pod", name, namespace)
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def _exec(h: Harness, pod: str, container: str, command: str, namespace: str = "default"):
    """`kubectl exec pod -c container -- sh -c command`, the clock moving while it waits."""
    node = h.get("v1", "Pod", pod, namespace)["spec"]["nodeName"]
    task = asyncio.ensure_future(h.cluster.kubelets[node].exec(namespace, pod, container, ["sh", "-c", command]))
    await h.settle()
    while not task.done():
        h.clock.advance(0.05)
        await h.settle()
    return task.result()


def _log(h: Harness, pod: str, container: str, namespace: str = "default") -> list[str]:
    node = h.get("v1", "Pod", pod, namespace)["spec"]["nodeName"]
    return [line for _, line in h.cluster.kubelets[node].log_lines(namespace, pod, container)]


def _database_in(h: Harness, namespace: str) -> None:
    h.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for document in DATABASE:
        h.create(document, namespace)


def _app(name: str = "orders", target: str | None = None) -> dict:
    pod = copy.deepcopy(APP)
    pod["metadata"]["name"] = name
    if target is not None:
        env = pod["spec"]["initContainers"][0]["env"]
        next(e for e in env if e["name"] == "TARGET")["value"] = target
    return pod


def _without_token(containers: list[dict]) -> list[dict]:
    kept = copy.deepcopy(containers)
    for container in kept:
        container["volumeMounts"] = [m for m in container.get("volumeMounts") or []
                                     if not m["name"].startswith("kube-api-access-")]
    return kept


def _chapter(scenario):
    async def wrapped(h: Harness):
        for kubelet in h.cluster.kubelets.values():
            kubelet.images = NodeImages(registry.DEFAULT)
        _database_in(h, "warehouse")
        h.create(SECRET)
        h.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tcp-ambassador"},
                  "data": {"tcp_ambassador.py": program_source("tcp_ambassador")}})
        h.create(_app())
        await h.until(lambda: _ready(h, "db-0", "warehouse") and _ready(h, "orders"), timeout=120)
        return await scenario(h)

    return Harness.run(wrapped, controllers=lambda cluster: control_plane.controllers(cluster)[1:],
                       node_specs=nodes.default_nodes(2))


def test_psql_on_localhost_in_the_app_reaches_the_database_in_another_namespace():
    async def scenario(h: Harness):
        wrote = await _exec(h, "orders", "app", f"psql -c \"{CREATE}\" && "
                                                 "psql -c \"INSERT INTO orders VALUES (1, 'ten crates of apples')\"")
        read = await _exec(h, "orders", "app", "psql -At -c 'SELECT id, item FROM orders'")
        there = await _exec(h, "db-0", "postgres", "psql -U postgres -At -c 'SELECT count(*) FROM orders'",
                            "warehouse")
        return wrote, read, there, _log(h, "orders", "ambassador")

    wrote, read, there, log = _chapter(scenario)
    assert (wrote.exit_code, wrote.stdout) == (0, "CREATE TABLE\nINSERT 0 1\n")
    assert read.stdout == "1|ten crates of apples\n"
    assert there.stdout == "1\n"  # the row lives in warehouse's database, not in the app's pod
    assert log[0] == ("tcp-ambassador: listening on 127.0.0.1:5432, "
                      "relaying to db.warehouse.svc.cluster.local:5432")
    assert log[1:] == [f"relay 127.0.0.1:{port} -> db.warehouse.svc.cluster.local:5432"
                       for port in (32768, 32770, 32772)]  # one line per connection: psql ran 3 times


def test_moving_the_database_changes_only_the_ambassadors_target():
    async def scenario(h: Harness):
        await _exec(h, "orders", "app", f"psql -c \"{CREATE}\" -c \"INSERT INTO orders VALUES (7, 'pears')\"")
        _database_in(h, "warehouse-2")
        await h.until(lambda: _ready(h, "db-0", "warehouse-2"), timeout=120)
        copied = await _exec(h, "db-0", "postgres", f"psql -U postgres -q -c \"{CREATE}\" && {COPY}", "warehouse-2")
        h.delete("v1", "Namespace", "warehouse")
        await h.until(lambda: h.get("v1", "Pod", "db-0", "warehouse") is None, timeout=120)
        stranded = await _exec(h, "orders", "app", "psql -At -c 'SELECT item FROM orders'")
        h.create(_app("orders-2", "db.warehouse-2.svc.cluster.local:5432"))
        await h.until(lambda: _ready(h, "orders-2"), timeout=120)
        moved = await _exec(h, "orders-2", "app", "psql -At -c 'SELECT item FROM orders WHERE id = 7'")
        pods = h.get("v1", "Pod", "orders"), h.get("v1", "Pod", "orders-2")
        return copied, stranded, moved, pods, _log(h, "orders", "ambassador")

    copied, stranded, moved, (old, new), log = _chapter(scenario)
    assert copied.exit_code == 0, copied.stderr
    # the old ambassador's database is gone: the app's connection is closed on it
    assert stranded.exit_code == 2
    assert "server closed the connection unexpectedly" in stranded.stderr
    assert log[-1].endswith(" -> db.warehouse.svc.cluster.local:5432 failed: cannot resolve host")
    assert moved.stdout == "pears\n"
    # the app container is the same, byte for byte (but for the API token's volume, named anew for
    # every pod by the API server); only the ambassador's TARGET differs
    assert _without_token(new["spec"]["containers"]) == _without_token(old["spec"]["containers"])
    assert [e["value"] for e in new["spec"]["initContainers"][0]["env"] if e["name"] == "TARGET"] == [
        "db.warehouse-2.svc.cluster.local:5432"]


def test_the_relay_serves_its_own_pod_only_and_passes_the_databases_login_rules_through():
    async def scenario(h: Harness):
        ip = h.get("v1", "Pod", "orders")["status"]["podIP"]
        from_outside = await _exec(h, "db-0", "postgres", f"psql -h {ip} -U postgres -c 'SELECT 1'", "warehouse")
        no_password = await _exec(h, "orders", "app", "PGPASSWORD= psql -c 'SELECT 1'")
        unknown = await _exec(h, "orders", "app", "psql -U nobody -c 'SELECT 1'")
        return ip, from_outside, no_password, unknown

    ip, from_outside, no_password, unknown = _chapter(scenario)
    assert from_outside.exit_code == 2
    assert f'connection to server at "{ip}" ({ip}), port 5432 failed: Connection refused' in from_outside.stderr
    assert no_password.stderr == ('psql: error: connection to server at "127.0.0.1" (127.0.0.1), port 5432 '
                                  "failed: fe_sendauth: no password supplied\n")
    assert 'FATAL:  role "nobody" does not exist' in unknown.stderr


def test_the_program_without_a_target_exits_2_with_the_real_programs_words():
    async def scenario(clock):
        spec = {"containers": [{"name": "ambassador", "image": "python:3.11-slim",
                                "command": ["python", "/app/tcp_ambassador.py"],
                                "volumeMounts": [{"name": "code", "mountPath": "/app"}]}],
                "volumes": [{"name": "code", "emptyDir": {}}]}
        pod = FakePod(spec, clock, name="orders")
        pod.files.view("ambassador").write("/app/tcp_ambassador.py", program_source("tcp_ambassador"))
        ctx = pod.context("ambassador")
        code = await registry.DEFAULT.model_for(pod.container("ambassador")).run(ctx)
        await settle()
        return code, pod.lines("ambassador", "stderr")

    code, errors = run(scenario)
    assert code == 2
    assert errors == ["tcp-ambassador: TARGET is empty: set it to the database's host:port, "
                      "e.g. TARGET=db.warehouse.svc.cluster.local:5432"]
