"""The course's pod programs on simulated kubelets: the real cores, simulated files and network."""

from __future__ import annotations

import base64
import json

import pytest

from k8s_course.sim import kubelet_volumes, nodes
from k8s_course.sim.controllers.deployment import DeploymentController
from k8s_course.sim.controllers.endpoints import EndpointsController
from k8s_course.sim.controllers.replicaset import ReplicaSetController
from k8s_course.sim.scheduler import Scheduler
from k8s_course.workloads import PROGRAMS, program_source
from tests.sim.harness import Harness

IMAGE = "python:3.11-slim"
STEP = 0.5  # the writer writes every 0.5 s: the clock moves no coarser
POD_NAME = {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
PROGRAM_VOLUME = {"name": "programs", "configMap": {"name": "programs"}}
PROGRAM_MOUNT = {"name": "programs", "mountPath": "/app"}


def controllers(cluster):
    objects = cluster.objects
    return [DeploymentController(objects), ReplicaSetController(objects), EndpointsController(objects),
            Scheduler(objects)]


def run(scenario):
    async def with_programs(h: Harness):
        h.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "programs"},
                  "data": {f"{name}.py": program_source(name) for name in PROGRAMS}})
        return await scenario(h)

    return Harness.run(with_programs, controllers=controllers, node_specs=nodes.default_nodes(2))


def program(name: str, program_file: str, env: list | None = None, mounts: list | None = None, **extra) -> dict:
    return {"name": name, "image": IMAGE, "command": ["python", f"/app/{program_file}"],
            "env": env or [], "volumeMounts": [PROGRAM_MOUNT, *(mounts or [])], **extra}


def deployment(name: str, replicas: int, containers: list, volumes: list) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": containers, "volumes": [PROGRAM_VOLUME, *volumes]}}}}


def service(name: str, port: int, target: int | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": target or port}]}}


AGGREGATOR = deployment("log-aggregator", 1, [program("aggregator", "log_aggregator.py",
                                                      ports=[{"containerPort": 8080}])], [])
LOGS = {"name": "logs", "mountPath": "/var/log/app"}


def app_with_shipper(replicas: int, jitter: bool = True) -> dict:
    shipper_env = [POD_NAME, {"name": "BACKOFF_CAP", "value": "8"},
                   {"name": "BACKOFF_JITTER", "value": "1" if jitter else "0"}]
    return deployment("app", replicas, [
        program("app", "log_writer.py", [POD_NAME, {"name": "RATE", "value": "2"}], [LOGS]),
        program("shipper", "log_shipper.py", shipper_env, [LOGS]),
    ], [{"name": "logs", "emptyDir": {}}])


def pods(h: Harness, app: str) -> list[dict]:
    return [p for p in h.list("v1", "Pod") if p["metadata"]["labels"].get("app") == app
            and not p["metadata"].get("deletionTimestamp")]


def running(h: Harness, app: str, count: int) -> bool:
    found = pods(h, app)
    return len(found) == count and all(
        (p.get("status") or {}).get("phase") == "Running" and all(
            c.get("ready") for c in p["status"].get("containerStatuses") or [{}]) for p in found)


def worker_of(h: Harness, pod: dict):
    kubelet = h.cluster.kubelets[pod["spec"]["nodeName"]]
    return kubelet.workers[("default", pod["metadata"]["name"])]


async def ask(h: Harness, pod: dict, host: str, port: int, path: str, client_cert: str | None = None):
    """GET host:port/path from inside `pod`: (status, body)."""
    view = worker_of(h, pod).view
    return await view.http_request("GET", host, port, path, client_cert=client_cert)


async def stats(h: Harness) -> dict:
    status, body = await ask(h, pods(h, "app")[0], "log-aggregator", 8080, "/stats")
    assert status == 200
    return json.loads(body)


def logs(h: Harness, pod: dict, container: str) -> list[str]:
    kubelet = h.cluster.kubelets[pod["spec"]["nodeName"]]
    return [line for _, line in kubelet.log_lines("default", pod["metadata"]["name"], container)]


def file_in(h: Harness, pod: dict, container: str, path: str) -> str:
    return worker_of(h, pod).files.view(container).read(path)


# logging: writer, shipper, aggregator


def test_a_writer_and_its_shipper_deliver_every_line_to_the_aggregator():
    async def scenario(h: Harness):
        h.create(AGGREGATOR)
        h.create(service("log-aggregator", 8080))
        h.create(app_with_shipper(1))
        await h.until(lambda: running(h, "app", 1) and running(h, "log-aggregator", 1), timeout=30)
        await h.advance(20, STEP)
        pod = pods(h, "app")[0]
        name = pod["metadata"]["name"]
        written = file_in(h, pod, "app", "/var/log/app/app.log").splitlines()
        assert written[0].endswith(f" {name} line 1")
        await h.advance(2, STEP)  # the last lines' batch leaves within MAX_WAIT
        shipped = (await stats(h))["pods"][name]
        assert shipped["missing"] == 0 and shipped["duplicates"] == 0
        assert shipped["lines"] >= len(written) >= 40  # 2 lines a second for 20 s and more
        status, body = await ask(h, pod, "log-aggregator", 8080, f"/lines?pod={name}")
        assert json.loads(body)["lines"][:len(written)] == written
        assert logs(h, pod, "shipper")[0] == (
            f"log-shipper: following /var/log/app/app.log as {name}, "
            "shipping to http://log-aggregator:8080/ingest")
        assert logs(h, pod, "app")[0] == f"log-writer: {name} writing 2 lines/s to /var/log/app/app.log"
        assert logs(h, pods(h, "log-aggregator")[0], "aggregator") == ["log-aggregator: listening on 0.0.0.0:8080"]

    run(scenario)


def test_three_replicas_show_up_as_three_pods_at_the_aggregator():
    async def scenario(h: Harness):
        h.create(AGGREGATOR)
        h.create(service("log-aggregator", 8080))
        h.create(app_with_shipper(1))
        await h.until(lambda: running(h, "app", 1) and running(h, "log-aggregator", 1), timeout=30)
        h.patch("apps/v1", "Deployment", "app", {"spec": {"replicas": 3}})
        await h.until(lambda: running(h, "app", 3), timeout=30)
        await h.advance(10, STEP)
        counted = (await stats(h))["pods"]
        assert sorted(counted) == sorted(p["metadata"]["name"] for p in pods(h, "app"))
        assert all(entry["lines"] >= 15 and entry["missing"] == 0 for entry in counted.values())

    run(scenario)


async def lines_at_aggregator(h: Harness, pod: dict) -> list[str]:
    name = pod["metadata"]["name"]
    status, body = await ask(h, pod, "log-aggregator", 8080, f"/lines?pod={name}")
    return json.loads(body)["lines"]


def test_an_aggregator_outage_of_30_seconds_loses_no_line():
    async def scenario(h: Harness):
        h.create(AGGREGATOR)
        h.create(service("log-aggregator", 8080))
        h.create(app_with_shipper(1, jitter=False))
        await h.until(lambda: running(h, "app", 1) and running(h, "log-aggregator", 1), timeout=30)
        await h.advance(5, STEP)
        pod = pods(h, "app")[0]
        h.patch("apps/v1", "Deployment", "log-aggregator", {"spec": {"replicas": 0}})
        before = []  # what the old aggregator holds when it goes
        while True:
            try:
                before = await lines_at_aggregator(h, pod)
            except ConnectionRefusedError:
                break
            await h.advance(STEP, STEP)
        went = h.clock.now()
        await h.advance(30, STEP)
        retries = [line for line in logs(h, pod, "shipper") if "aggregator unreachable" in line]
        refused = "log-shipper: aggregator unreachable (<urlopen error [Errno 111] Connection refused>); "
        # the same batch again after 1, 2, 4, 8 and then 8 s (BACKOFF_CAP) each time
        assert retries[:6] == [refused + f"retry {n} in {delay:.1f}s" for n, delay in
                               ((1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (6, 8))]
        h.patch("apps/v1", "Deployment", "log-aggregator", {"spec": {"replicas": 1}})
        await h.until(lambda: running(h, "log-aggregator", 1), timeout=30)
        await h.advance(12, STEP)  # the rest of the last back-off, then the backlog in one batch
        written = file_in(h, pod, "app", "/var/log/app/app.log").splitlines()
        after = await lines_at_aggregator(h, pod)
        assert h.clock.now() - went >= 40
        # every line reached one aggregator or the other, in order, none twice; only the lines
        # of the last second may still wait for their batch
        assert before + after == written[:len(before) + len(after)]
        assert len(written) - len(before) - len(after) <= 3
        assert len(before) >= 8 and len(after) >= 70

    run(scenario)


def test_a_stopped_aggregator_is_unreachable():
    async def scenario(h: Harness):
        h.create(AGGREGATOR)
        h.create(service("log-aggregator", 8080))
        h.create(app_with_shipper(1))
        await h.until(lambda: running(h, "app", 1) and running(h, "log-aggregator", 1), timeout=30)
        h.patch("apps/v1", "Deployment", "log-aggregator", {"spec": {"replicas": 0}})
        await h.until(lambda: len(pods(h, "log-aggregator")) == 0, timeout=60)
        await h.advance(1, STEP)
        with pytest.raises(ConnectionRefusedError):
            await stats(h)

    run(scenario)


def test_a_missing_program_file_fails_as_python_does():
    async def scenario(h: Harness):
        h.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lost"}, "spec": {
            "restartPolicy": "Never", "containers": [{"name": "app", "image": IMAGE,
                                                      "command": ["python", "/app/log_writer.py"]}]}})
        await h.until(lambda: (h.get("v1", "Pod", "lost").get("status") or {}).get("phase") == "Failed",
                      timeout=30)
        pod = h.get("v1", "Pod", "lost")
        assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 2
        assert logs(h, pod, "app") == [
            "python: can't open file '/app/log_writer.py': [Errno 2] No such file or directory"]

    run(scenario)


# config: a ConfigMap volume refreshed, the app reloading without a restart

CONFIG_APP = deployment("settings", 1, [program(
    "app", "config_reloader.py", mounts=[{"name": "config", "mountPath": "/etc/app"}],
    ports=[{"containerPort": 8080}])], [{"name": "config", "configMap": {"name": "settings"}}])


def config_map(greeting: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
            "data": {"config.json": json.dumps({"greeting": greeting})}}


def test_a_config_change_reaches_the_running_app_without_a_restart():
    async def scenario(h: Harness):
        h.create(config_map("hello"))
        h.create(CONFIG_APP)
        await h.until(lambda: running(h, "settings", 1), timeout=30)
        pod = pods(h, "settings")[0]
        status, body = await ask(h, pod, "localhost", 8080, "/config")
        assert status == 200
        assert json.loads(body)["config"] == {"greeting": "hello"} and json.loads(body)["reloads"] == 0
        h.patch("v1", "ConfigMap", "settings", {"data": {"config.json": json.dumps({"greeting": "bonjour"})}})
        await h.advance(kubelet_volumes.SYNC_DELAY - 1, STEP)
        assert json.loads(file_in(h, pod, "app", "/etc/app/config.json")) == {"greeting": "hello"}
        await h.advance(2, STEP)  # the kubelet's sync, then the app's next poll
        assert json.loads(file_in(h, pod, "app", "/etc/app/config.json")) == {"greeting": "bonjour"}
        answer = json.loads((await ask(h, pod, "localhost", 8080, "/config"))[1])
        assert answer["config"] == {"greeting": "bonjour"} and answer["reloads"] == 1 and answer["pid"] == 1
        current = h.get("v1", "Pod", pod["metadata"]["name"])
        assert current["status"]["containerStatuses"][0]["restartCount"] == 0
        assert logs(h, pod, "app")[-1].startswith("config-reloader: config version ")
        assert logs(h, pod, "app")[-1].endswith(" in force (reloads: 1)")

    run(scenario)


def test_a_config_change_still_arrives_after_the_kubelets_watch_of_config_maps_ended():
    async def scenario(h: Harness):
        h.create(config_map("hello"))
        h.create(CONFIG_APP)
        await h.until(lambda: running(h, "settings", 1), timeout=30)
        pod = pods(h, "settings")[0]
        refresher = h.cluster.kubelets[pod["spec"]["nodeName"]].volume_refresher
        ended = refresher.watchers[("", "configmaps")]
        ended.queue.put_nowait(None)  # what an overflowing watch queue delivers
        await h.advance(1, STEP)
        assert refresher.watchers[("", "configmaps")] is not ended  # a new watch is open
        h.patch("v1", "ConfigMap", "settings", {"data": {"config.json": json.dumps({"greeting": "bonjour"})}})
        await h.advance(kubelet_volumes.SYNC_DELAY + 2, STEP)
        assert json.loads(file_in(h, pod, "app", "/etc/app/config.json")) == {"greeting": "bonjour"}

    run(scenario)


def test_an_invalid_config_keeps_the_old_one_and_counts_an_error():
    async def scenario(h: Harness):
        h.create(config_map("hello"))
        h.create(CONFIG_APP)
        await h.until(lambda: running(h, "settings", 1), timeout=30)
        pod = pods(h, "settings")[0]
        h.patch("v1", "ConfigMap", "settings", {"data": {"config.json": "{not json"}})
        await h.advance(kubelet_volumes.SYNC_DELAY + 2, STEP)
        answer = json.loads((await ask(h, pod, "localhost", 8080, "/config"))[1])
        assert answer["config"] == {"greeting": "hello"}
        assert (answer["reloads"], answer["errors"]) == (0, 1)
        assert logs(h, pod, "app")[-1].startswith("config-reloader: kept the old config; the new one is invalid: ")

    run(scenario)


def test_a_secret_volume_is_refreshed_too():
    async def scenario(h: Harness):
        def secret(value: str) -> dict:
            return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token"},
                    "data": {"token": base64.b64encode(value.encode()).decode()}}

        h.create(secret("one"))
        h.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"}, "spec": {
            "containers": [{"name": "app", "image": "busybox", "command": ["sleep", "3600"],
                            "volumeMounts": [{"name": "token", "mountPath": "/var/run/token"}]}],
            "volumes": [{"name": "token", "secret": {"secretName": "token"}}]}})
        await h.until(lambda: (h.get("v1", "Pod", "reader").get("status") or {}).get("phase") == "Running",
                      timeout=30)
        pod = h.get("v1", "Pod", "reader")
        h.cluster.objects.update(h.rtype("v1", "Secret"), "default", "token", secret("two"))
        await h.advance(kubelet_volumes.SYNC_DELAY, STEP)
        assert file_in(h, pod, "app", "/var/run/token/token") == "two"

    run(scenario)


# mTLS: the proxy sidecar lets in only callers with a certificate from its CA


@pytest.fixture(scope="module")
def pki():
    from k8s_course.workloads import course_ca

    authority = course_ca.make_ca()
    return {
        "backend": course_ca.issue(authority, "default", "backend", ["backend"]),
        "frontend": course_ca.issue(authority, "default", "frontend", ["frontend"]),
        "stranger": course_ca.issue(course_ca.make_ca(), "default", "stranger", ["stranger"]),
    }


def tls_secret(name: str, issued) -> dict:
    def encoded(pem: bytes) -> str:
        return base64.b64encode(pem).decode()

    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": encoded(issued.cert_pem), "tls.key": encoded(issued.key_pem),
                     "ca.crt": encoded(issued.ca_pem)}}


def proxied(name: str, app: dict, env: list) -> dict:
    proxy = program("proxy", "mtls_proxy.py", env, [{"name": "certs", "mountPath": "/etc/mtls"}])
    return deployment(name, 1, [app, proxy], [{"name": "certs", "secret": {"secretName": f"{name}-tls"}}])


def test_the_mtls_proxy_lets_in_a_caller_with_a_certificate_from_its_ca_and_refuses_one_without(pki):
    async def scenario(h: Harness):
        for name in ("backend", "frontend"):
            h.create(tls_secret(f"{name}-tls", pki[name]))
        h.create(config_map("from the backend"))
        backend_app = program("app", "config_reloader.py", mounts=[{"name": "config", "mountPath": "/etc/app"}])
        backend = proxied("backend", backend_app, [])
        backend["spec"]["template"]["spec"]["volumes"].append({"name": "config", "configMap": {"name": "settings"}})
        h.create(backend)
        h.create(service("backend", 8443))
        frontend_app = {"name": "app", "image": "busybox", "command": ["sleep", "3600"]}
        h.create(proxied("frontend", frontend_app, [{"name": "OUTBOUND_PORT", "value": "15001"},
                                                    {"name": "INBOUND_PORT", "value": ""},
                                                    {"name": "PEER", "value": "backend:8443"}]))
        await h.until(lambda: running(h, "backend", 1) and running(h, "frontend", 1), timeout=30)
        frontend, backend_pod = pods(h, "frontend")[0], pods(h, "backend")[0]
        # the frontend's app calls its own proxy in plain HTTP; the proxies speak mTLS between them
        status, body = await ask(h, frontend, "localhost", 15001, "/config")
        assert status == 200 and json.loads(body)["config"] == {"greeting": "from the backend"}
        assert logs(h, backend_pod, "proxy")[-1] == "mtls-proxy: spiffe://k8s-course/ns/default/sa/frontend -> app"
        # a caller without a certificate is refused at the handshake
        with pytest.raises(ConnectionResetError):
            await ask(h, frontend, "backend", 8443, "/config")
        assert logs(h, backend_pod, "proxy")[-1].endswith(
            " at the TLS handshake: PEER_DID_NOT_RETURN_A_CERTIFICATE")
        # and so is one whose certificate another CA issued
        with pytest.raises(ConnectionResetError):
            await ask(h, frontend, "backend", 8443, "/config", client_cert=pki["stranger"].cert_pem.decode())
        assert logs(h, backend_pod, "proxy")[-1].endswith(" at the TLS handshake: CERTIFICATE_VERIFY_FAILED")

    run(scenario)


def test_the_mtls_proxy_refuses_an_identity_that_is_not_allowed(pki):
    async def scenario(h: Harness):
        h.create(tls_secret("backend-tls", pki["backend"]))
        allowed = [{"name": "ALLOWED_IDS", "value": "spiffe://k8s-course/ns/default/sa/someone-else"}]
        h.create(proxied("backend", {"name": "app", "image": "nginx"}, allowed))
        await h.until(lambda: running(h, "backend", 1), timeout=30)
        backend_pod = pods(h, "backend")[0]
        status, body = await ask(h, backend_pod, "localhost", 8443, "/",
                                 client_cert=pki["frontend"].cert_pem.decode())
        assert status == 403
        assert body == ("forbidden by the mTLS proxy: spiffe://k8s-course/ns/default/sa/frontend is not among "
                        "the allowed callers (spiffe://k8s-course/ns/default/sa/someone-else)\n")

    run(scenario)
