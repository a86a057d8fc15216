# ruff: noqa: F811  (the fixtures imported from test_mtls_proxy are parameters here)
"""The proxy's mesh features for real: request metrics, retries, fault injection, the mesh file.

frontend app -> frontend proxy (outbound: retries) == mTLS ==> backend proxy (inbound: faults) -> app,
each proxy counting its requests on its metrics port.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from k8s_course.workloads import mtls_proxy
from tests.workloads.test_mtls_proxy import authority, backend_app, pki, proxy_config  # noqa: F401 (fixtures)

quiet = {"log": lambda message: None}


def backend_proxy_for(pki, port: int, **settings) -> mtls_proxy.MtlsProxy:
    config = proxy_config(pki["backend"], inbound_host="127.0.0.1", inbound_port=0, upstream=("127.0.0.1", port),
                          metrics_host="127.0.0.1", metrics_port=0, **settings)
    return mtls_proxy.MtlsProxy(config, **quiet)


def frontend_proxy_for(pki, peer_port: int, log=None, **settings) -> mtls_proxy.MtlsProxy:
    config = proxy_config(pki["frontend"], inbound_port=None, outbound_port=0, peer=("127.0.0.1", peer_port),
                          peer_name="localhost", metrics_host="127.0.0.1", metrics_port=0, **settings)
    return mtls_proxy.MtlsProxy(config, log=log or (lambda message: None))


def call(port: int, path: str = "/orders") -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_both_proxies_count_the_requests_and_serve_them_as_json_and_prometheus_text(pki, backend_app):
    with backend_proxy_for(pki, backend_app) as backend, frontend_proxy_for(pki, backend.inbound_port) as frontend:
        answers = [call(frontend.outbound_port, f"/orders/{n}") for n in range(3)]
        assert answers == [(200, f"backend answers /orders/{n}".encode()) for n in range(3)]
        assert backend.wait_for(lambda: backend.stats.snapshot()["inbound"]["requests"] == 3)
        status, body = call(backend.metrics_port, "/stats")
        status_text, text = call(backend.metrics_port, "/metrics")
        outbound = frontend.stats.snapshot()["outbound"]

    inbound = json.loads(body)["inbound"]
    assert status == 200
    assert (inbound["requests"], inbound["errors"], inbound["responses"]) == (3, 0, {"200": 3})
    assert inbound["in_flight"] == 0 and inbound["peak_in_flight"] >= 1
    assert 0 < inbound["latency_ms"]["p50"] <= inbound["latency_ms"]["max"] < 5000
    assert json.loads(body)["outbound"]["requests"] == 0  # the backend called no one
    assert (outbound["requests"], outbound["responses"], outbound["retries"]) == (3, {"200": 3}, 0)
    assert status_text == 200
    assert 'mesh_requests_total{direction="inbound",code="200"} 3\n' in text.decode()
    assert 'mesh_request_duration_milliseconds_bucket{direction="inbound",le="+Inf"} 3\n' in text.decode()


def test_an_injected_fault_answers_every_nth_request_without_asking_the_app(pki, backend_app):
    with backend_proxy_for(pki, backend_app, fault_abort_every=3) as backend, \
            frontend_proxy_for(pki, backend.inbound_port) as frontend:
        statuses = [call(frontend.outbound_port)[0] for _ in range(6)]
        aborted = call(frontend.outbound_port)
        assert backend.wait_for(lambda: backend.stats.snapshot()["inbound"]["requests"] == 7)
        inbound = backend.stats.snapshot()["inbound"]

    assert statuses == [200, 200, 503, 200, 200, 503]
    assert aborted == (200, b"backend answers /orders")  # the 7th
    assert (inbound["errors"], inbound["responses"]) == (2, {"200": 5, "503": 2})
    assert backend.accepted.count("spiffe://k8s-course/ns/shop/sa/frontend") == 5  # the app saw five


def test_retries_hide_the_backends_failures_from_the_app_and_are_counted(pki, backend_app):
    said: list[str] = []
    with backend_proxy_for(pki, backend_app, fault_abort_every=2) as backend, \
            frontend_proxy_for(pki, backend.inbound_port, log=said.append, retries=2) as frontend:
        backend_port = backend.inbound_port
        statuses = [call(frontend.outbound_port)[0] for _ in range(4)]
        assert backend.wait_for(lambda: backend.stats.snapshot()["inbound"]["requests"] == 7)
        inbound, outbound = backend.stats.snapshot()["inbound"], frontend.stats.snapshot()["outbound"]

    assert statuses == [200, 200, 200, 200]
    # backend requests 1..7: every even one aborted, each followed by a retry that succeeds
    assert inbound["responses"] == {"200": 4, "503": 3}
    assert (outbound["responses"], outbound["errors"], outbound["retries"]) == ({"200": 4}, 0, 3)
    assert said == [f"mtls-proxy: retry 1/2 of GET /orders: 503 from 127.0.0.1:{backend_port}"] * 3


def test_a_peer_that_cannot_be_reached_is_retried_then_answered_503(pki):
    said: list[str] = []
    nowhere = free_port()
    with frontend_proxy_for(pki, nowhere, log=said.append, retries=2) as frontend:
        status, body = call(frontend.outbound_port)
        outbound = frontend.stats.snapshot()["outbound"]

    assert status == 503
    assert body == b"upstream connect error or disconnect/reset before headers. reset reason: connection failure\n"
    assert (outbound["responses"], outbound["errors"], outbound["retries"]) == ({"503": 1}, 1, 2)
    retries = [line for line in said if "retry" in line]
    assert retries == [f"mtls-proxy: retry {n}/2 of GET /orders: no answer from 127.0.0.1:{nowhere}" for n in (1, 2)]
    assert sum("cannot reach" in line for line in said) == 3


def test_without_retries_an_unreachable_peer_is_tried_once(pki):
    said: list[str] = []
    with frontend_proxy_for(pki, free_port(), log=said.append) as frontend:
        assert call(frontend.outbound_port)[0] == 503
    assert sum("cannot reach" in line for line in said) == 1
    assert not any("retry" in line for line in said)


def test_an_app_that_does_not_answer_gets_the_caller_a_503_and_counts_as_an_error(pki):
    with backend_proxy_for(pki, free_port()) as backend, frontend_proxy_for(pki, backend.inbound_port) as frontend:
        status, body = call(frontend.outbound_port)
        assert backend.wait_for(lambda: backend.stats.snapshot()["inbound"]["errors"] == 1)

    assert (status, body.split(b".")[0]) == (503, b"upstream connect error or disconnect/reset before headers")


def test_bytes_that_are_not_http_are_relayed_unchanged_and_not_counted(pki):
    echo = socket.create_server(("127.0.0.1", 0))

    def answer_once() -> None:
        connection, _ = echo.accept()
        with connection:
            connection.sendall(b"echo:" + connection.recv(100))

    import threading

    server = threading.Thread(target=answer_once, daemon=True)
    server.start()
    with backend_proxy_for(pki, echo.getsockname()[1]) as backend, \
            frontend_proxy_for(pki, backend.inbound_port) as frontend:
        with socket.create_connection(("127.0.0.1", frontend.outbound_port), timeout=5) as raw:
            raw.sendall(b"\x00\x01binary\n")
            received = raw.recv(100)
        counted = frontend.stats.snapshot()["outbound"]["requests"]
    server.join(5)
    echo.close()

    assert received == b"echo:\x00\x01binary\n"
    assert counted == 0


def test_the_mesh_file_is_read_for_every_request_and_the_pods_env_wins(tmp_path):
    mesh_file = tmp_path / "mesh.json"
    said: list[str] = []
    config = mtls_proxy.ProxyConfig(inbound_port=None, mesh_file=str(mesh_file))
    proxy = mtls_proxy.MtlsProxy.__new__(mtls_proxy.MtlsProxy)  # the policy only: no certificates needed
    proxy.config, proxy.log, proxy._mesh_file_problem = config, said.append, None

    assert proxy.policy() == mtls_proxy.MeshPolicy()  # no file yet
    mesh_file.write_text('{"RETRIES": 2, "FAULT_ABORT_EVERY": "3"}')
    assert proxy.policy() == mtls_proxy.MeshPolicy(retries=2, fault_abort_every=3)
    mesh_file.write_text('{"RETRIES": 1}')
    assert proxy.policy().retries == 1
    proxy.config = mtls_proxy.ProxyConfig(inbound_port=None, mesh_file=str(mesh_file), retries=0)
    assert proxy.policy().retries == 0  # the pod's own RETRIES=0 wins over the file
    mesh_file.write_text("[1, 2]")
    assert proxy.policy() == mtls_proxy.MeshPolicy()
    assert proxy.policy() == mtls_proxy.MeshPolicy()
    assert said == [f"mtls-proxy: ignoring the mesh file {mesh_file}: the mesh file must hold a JSON object, not list"]


def test_the_program_serves_metrics_on_15090_and_finds_its_mesh_file_beside_it_by_default():
    config = mtls_proxy.config_from({}, [], program="/opt/k8s-course-mesh/mtls_proxy.py")
    assert (config.metrics_port, config.retries, config.mesh_file) == (15090, None, "/opt/k8s-course-mesh/mesh.json")

    tuned = mtls_proxy.config_from({"METRICS_PORT": "", "RETRIES": "2", "MESH_FILE": "/etc/mesh/m.json"},
                                   ["--fault-abort-every", "4"])
    assert (tuned.metrics_port, tuned.retries, tuned.fault_abort_every, tuned.mesh_file) == (None, 2, 4, "/etc/mesh/m.json")
    assert mtls_proxy.config_from({}, []).mesh_file is None  # no program path, no default file


# the pure core


@pytest.mark.parametrize(("status", "attempt", "retries", "again"), [
    (None, 0, 2, True), (503, 1, 2, True), (503, 2, 2, False), (500, 0, 2, False), (200, 0, 2, False),
    (None, 0, 0, False)])
def test_a_call_is_retried_on_no_answer_or_503_while_attempts_remain(status, attempt, retries, again):
    assert mtls_proxy.should_retry(status, attempt, mtls_proxy.MeshPolicy(retries=retries)) is again


def test_retries_back_off_from_25_ms_doubling_to_250_ms():
    assert [mtls_proxy.retry_delay(n) for n in range(6)] == [0.025, 0.05, 0.1, 0.2, 0.25, 0.25]


def test_a_negative_or_broken_setting_in_the_mesh_file_is_refused():
    config = mtls_proxy.ProxyConfig()
    with pytest.raises(ValueError, match="RETRIES must be 0 or more, not -1"):
        mtls_proxy.mesh_policy(config, '{"RETRIES": -1}')
    with pytest.raises(ValueError):
        mtls_proxy.mesh_policy(config, '{"RETRIES": ')
    assert mtls_proxy.mesh_policy(config, "  \n") == mtls_proxy.MeshPolicy()


def test_http_requests_are_told_from_other_bytes_as_early_as_possible():
    assert mtls_proxy.looks_like_http(b"") is None
    assert mtls_proxy.looks_like_http(b"GE") is None
    assert mtls_proxy.looks_like_http(b"GET /x HTTP/1.1\r\nHost: a\r\n") is True
    assert mtls_proxy.looks_like_http(b"\x00\x00\x00\x08") is False
    assert mtls_proxy.looks_like_http(b"hello world\n") is False
    assert mtls_proxy.request_line(b"POST /ingest HTTP/1.0\r\n\r\n") == ("POST", "/ingest")


def test_heads_bodies_and_status_lines_are_read_from_the_bytes():
    head = b"POST /x HTTP/1.1\r\nContent-Length: 12\r\n\r\n"
    assert mtls_proxy.head_end(head + b"hello") == len(head)
    assert mtls_proxy.head_end(b"GET / HTTP/1.1\r\n") == -1
    assert mtls_proxy.body_length(head) == 12
    assert mtls_proxy.body_length(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") == 0
    assert mtls_proxy.body_length(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") is None
    assert mtls_proxy.response_status(b"HTTP/1.0 404 Not Found\r\n") == 404
    assert mtls_proxy.response_status(b"HTTP/1.0 40") is None


def test_the_stats_summarise_traffic_errors_latency_and_saturation():
    stats = mtls_proxy.RequestStats()
    for number, (status, seconds) in enumerate([(200, 0.004), (200, 0.020), (503, 0.001), (200, 0.300)], 1):
        assert stats.begin("inbound") == number
        stats.end("inbound", status, seconds)
    stats.begin("inbound")  # one still in flight
    stats.refuse()

    report = stats.snapshot()
    inbound = report["inbound"]
    assert (inbound["requests"], inbound["errors"], inbound["responses"]) == (4, 1, {"200": 3, "503": 1})
    assert (inbound["in_flight"], inbound["peak_in_flight"]) == (1, 1)
    assert inbound["latency_ms"] | {"buckets": None} == {"p50": 4.0, "p90": 300.0, "p99": 300.0, "max": 300.0,
                                                         "sum": 325.0, "buckets": None}
    assert inbound["latency_ms"]["buckets"]["1"] == 1 and inbound["latency_ms"]["buckets"]["25"] == 3
    assert inbound["latency_ms"]["buckets"]["10000"] == 4
    assert report["refused_connections"] == 1
    assert report["outbound"]["requests"] == 0
    text = stats.prometheus()
    assert 'mesh_requests_total{direction="inbound",code="503"} 1\n' in text
    assert 'mesh_requests_in_flight{direction="inbound"} 1\n' in text
    assert text.endswith("mesh_refused_connections_total 1\n")


def test_the_metrics_port_answers_stats_metrics_and_nothing_else():
    stats = mtls_proxy.RequestStats()
    assert mtls_proxy.stats_answer("GET", "/stats", stats)[:2] == (200, "application/json")
    assert mtls_proxy.stats_answer("GET", "/metrics", stats)[:2] == (200, "text/plain; version=0.0.4")
    assert mtls_proxy.stats_answer("POST", "/stats", stats)[0] == 405
    assert mtls_proxy.stats_answer("GET", "/admin", stats) == (
        404, "text/plain", "no /admin here: GET /stats (JSON) or /metrics (Prometheus)\n")


def test_callers_turned_away_are_counted_as_refused_connections(pki, backend_app):
    import ssl

    with backend_proxy_for(pki, backend_app) as backend:
        context = ssl.create_default_context(cafile=pki["backend"]["ca"])  # no client certificate
        with pytest.raises(ssl.SSLError):
            with socket.create_connection(("127.0.0.1", backend.inbound_port), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as secure:
                    secure.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    secure.recv(100)
        assert backend.wait_for(lambda: backend.refused)
        report = backend.stats.snapshot()
    assert (report["refused_connections"], report["inbound"]["requests"]) == (1, 0)
