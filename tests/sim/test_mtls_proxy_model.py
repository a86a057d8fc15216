"""The mTLS proxy's mesh features on simulated kubelets: the real core's metrics, retries and faults."""

from __future__ import annotations

import asyncio
import json

from k8s_course.sim import kubelet_volumes
from k8s_course.workloads import PROGRAMS, program_source
from tests.sim.harness import Harness
from tests.sim.test_workload_models import (
    STEP,
    ask,
    config_map,
    logs,
    pki,  # noqa: F401 (a fixture)
    pods,
    program,
    proxied,
    run,
    running,
    service,
    tls_secret,
)

FRONTEND_ENV = [{"name": "OUTBOUND_PORT", "value": "15001"}, {"name": "INBOUND_PORT", "value": ""},
                {"name": "PEER", "value": "backend:8443"}]


async def two_tiers(h: Harness, certificates, backend_env: list, frontend_env: list) -> tuple[dict, dict]:
    for name in ("backend", "frontend"):
        h.create(tls_secret(f"{name}-tls", certificates[name]))
    h.create(config_map("from the backend"))
    backend = proxied("backend", program("app", "config_reloader.py",
                                         mounts=[{"name": "config", "mountPath": "/etc/app"}]), backend_env)
    backend["spec"]["template"]["spec"]["volumes"].append({"name": "config", "configMap": {"name": "settings"}})
    h.create(backend)
    h.create(service("backend", 8443))
    h.create(proxied("frontend", {"name": "app", "image": "busybox", "command": ["sleep", "3600"]},
                     FRONTEND_ENV + frontend_env))
    await h.until(lambda: running(h, "backend", 1) and running(h, "frontend", 1), timeout=30)
    return pods(h, "frontend")[0], pods(h, "backend")[0]


async def call(h: Harness, pod: dict, host: str, port: int, path: str):
    """ask(), with the simulated clock moving meanwhile: a retry's back-off waits on that clock."""
    answer = asyncio.ensure_future(ask(h, pod, host, port, path))
    await h.until(answer.done, timeout=10, step=0.005)
    return answer.result()


async def stats_of(h: Harness, caller: dict, pod: dict) -> dict:
    status, body = await ask(h, caller, pod["status"]["podIP"], 15090, "/stats")
    assert status == 200
    return json.loads(body)


def test_retries_hide_injected_faults_and_both_proxies_count_them(pki):  # noqa: F811
    async def scenario(h: Harness):
        frontend, backend = await two_tiers(h, pki, [{"name": "FAULT_ABORT_EVERY", "value": "2"}],
                                            [{"name": "RETRIES", "value": "2"}])
        answers = [await call(h, frontend, "localhost", 15001, "/config") for _ in range(4)]
        assert [status for status, _ in answers] == [200, 200, 200, 200]
        inbound = (await stats_of(h, frontend, backend))["inbound"]
        outbound = (await stats_of(h, frontend, frontend))["outbound"]
        assert (inbound["requests"], inbound["errors"], inbound["responses"]) == (7, 3, {"200": 4, "503": 3})
        assert (outbound["requests"], outbound["errors"], outbound["retries"]) == (4, 0, 3)
        assert 25 <= outbound["latency_ms"]["max"] < 30  # the 25 ms back-off before each retry
        assert logs(h, frontend, "proxy")[-1] == "mtls-proxy: retry 1/2 of GET /config: 503 from backend:8443"
        assert logs(h, backend, "proxy")[-2] == "mtls-proxy: fault injected: 503 for GET /config (request 6, every 2)"
        status, text = await ask(h, frontend, backend["status"]["podIP"], 15090, "/metrics")
        assert 'mesh_requests_total{direction="inbound",code="503"} 3\n' in text

    run(scenario)


def test_without_retries_the_app_sees_every_injected_fault(pki):  # noqa: F811
    async def scenario(h: Harness):
        frontend, backend = await two_tiers(h, pki, [{"name": "FAULT_ABORT_EVERY", "value": "3"}], [])
        answers = [await call(h, frontend, "localhost", 15001, "/config") for _ in range(6)]
        assert [status for status, _ in answers] == [200, 200, 503, 200, 200, 503]
        assert answers[2][1] == "fault filter abort\n"
        assert (await stats_of(h, frontend, frontend))["outbound"]["responses"] == {"200": 4, "503": 2}

    run(scenario)


def test_a_mesh_file_in_the_programs_configmap_reaches_running_proxies(pki):  # noqa: F811
    async def scenario(h: Harness):
        frontend, backend = await two_tiers(h, pki, [], [])
        assert (await call(h, frontend, "localhost", 15001, "/config"))[0] == 200
        data = {f"{name}.py": program_source(name) for name in PROGRAMS} | {"mesh.json": '{"FAULT_ABORT_EVERY": 1}'}
        h.cluster.objects.update(h.rtype("v1", "ConfigMap"), "default", "programs",
                                 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "programs"},
                                  "data": data})
        await h.advance(kubelet_volumes.SYNC_DELAY, STEP)
        assert await call(h, frontend, "localhost", 15001, "/config") == (503, "fault filter abort\n")

    run(scenario)


def test_an_unreachable_peer_is_answered_503_after_the_retries(pki):  # noqa: F811
    async def scenario(h: Harness):
        h.create(tls_secret("frontend-tls", pki["frontend"]))
        h.create(proxied("frontend", {"name": "app", "image": "busybox", "command": ["sleep", "3600"]},
                         FRONTEND_ENV + [{"name": "RETRIES", "value": "1"}]))
        await h.until(lambda: running(h, "frontend", 1), timeout=30)
        frontend = pods(h, "frontend")[0]
        status, body = await call(h, frontend, "localhost", 15001, "/config")
        assert (status, body) == (503, "upstream connect error or disconnect/reset before headers. "
                                       "reset reason: connection failure\n")
        said = logs(h, frontend, "proxy")
        assert "mtls-proxy: retry 1/1 of GET /config: no answer from backend:8443" in said
        assert sum("cannot reach backend:8443" in line for line in said) == 2

    run(scenario)
