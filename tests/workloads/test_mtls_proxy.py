"""The mTLS proxy sidecar for real: certificates from course_ca, TLS handshakes on 127.0.0.1.

frontend app -> frontend proxy (outbound, plain) == mTLS ==> backend proxy (inbound) -> backend app.
"""

from __future__ import annotations

import base64
import socket
import ssl
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from k8s_course.workloads import course_ca, mtls_proxy

NAMESPACE = "shop"
FRONTEND_ID = "spiffe://k8s-course/ns/shop/sa/frontend"


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"backend answers {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture(scope="module")
def authority():
    return course_ca.make_ca()


@pytest.fixture(scope="module")
def pki(authority, tmp_path_factory):
    """Certificate files: backend, frontend and intruder from the course CA, stranger from another."""
    folder = tmp_path_factory.mktemp("pki")
    other_ca = course_ca.make_ca("some other CA")
    issued = {
        "backend": course_ca.issue(authority, NAMESPACE, "backend", ["backend.shop.svc", "localhost"]),
        "frontend": course_ca.issue(authority, NAMESPACE, "frontend", ["frontend.shop.svc"]),
        "intruder": course_ca.issue(authority, NAMESPACE, "intruder"),
        "stranger": course_ca.issue(other_ca, NAMESPACE, "frontend"),
    }
    files = {}
    for name, certificate in issued.items():
        for suffix, pem in (("crt", certificate.cert_pem), ("key", certificate.key_pem), ("ca", certificate.ca_pem)):
            (folder / f"{name}.{suffix}").write_bytes(pem)
        files[name] = {suffix: str(folder / f"{name}.{suffix}") for suffix in ("crt", "key", "ca")}
    return files


@pytest.fixture
def backend_app():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def proxy_config(files, **settings) -> mtls_proxy.ProxyConfig:
    return mtls_proxy.ProxyConfig(cert=files["crt"], key=files["key"], ca=files["ca"], **settings)


@pytest.fixture
def backend_proxy(pki, backend_app):
    config = proxy_config(pki["backend"], inbound_host="127.0.0.1", inbound_port=0, upstream=("127.0.0.1", backend_app))
    with mtls_proxy.MtlsProxy(config, log=lambda message: None) as proxy:
        yield proxy


def tls_client(files: dict | None, ca: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca)
    if files:
        context.load_cert_chain(files["crt"], files["key"])
    return context


def call_directly(context: ssl.SSLContext, port: int, path: str = "/direct") -> bytes:
    """An HTTP GET over TLS to the backend's inbound port; returns all that came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as secure:
            # in TLS 1.3 the server judges the client's certificate after the client's side of
            # the handshake is done, so its refusal arrives as an alert on the first read
            secure.sendall(f"GET {path} HTTP/1.0\r\nHost: backend\r\n\r\n".encode())
            answer = b""
            while chunk := secure.recv(65536):
                answer += chunk
            return answer


def test_a_call_through_the_proxy_pair_gets_the_apps_answer(pki, backend_proxy):
    config = proxy_config(pki["frontend"], inbound_port=None, outbound_port=0,
                          peer=("127.0.0.1", backend_proxy.inbound_port), peer_name="localhost")
    with mtls_proxy.MtlsProxy(config, log=lambda message: None) as frontend_proxy:
        with urllib.request.urlopen(f"http://127.0.0.1:{frontend_proxy.outbound_port}/orders", timeout=5) as answer:
            assert answer.read() == b"backend answers /orders"

    assert backend_proxy.wait_for(lambda: backend_proxy.accepted)
    assert backend_proxy.accepted == [FRONTEND_ID]


def test_a_client_with_a_course_certificate_is_let_in(pki, backend_proxy):
    answer = call_directly(tls_client(pki["frontend"], pki["backend"]["ca"]), backend_proxy.inbound_port)

    assert answer.startswith(b"HTTP/1.0 200 OK")
    assert answer.endswith(b"backend answers /direct")


def test_a_client_without_a_certificate_is_refused_at_the_handshake(pki, backend_proxy):
    with pytest.raises(ssl.SSLError) as refused:
        call_directly(tls_client(None, pki["backend"]["ca"]), backend_proxy.inbound_port)

    assert refused.value.reason == "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    assert backend_proxy.wait_for(lambda: backend_proxy.refused)
    assert backend_proxy.accepted == []
    assert backend_proxy.refused == ["PEER_DID_NOT_RETURN_A_CERTIFICATE"]


def test_a_client_with_a_certificate_from_another_ca_is_refused_at_the_handshake(pki, backend_proxy):
    with pytest.raises(ssl.SSLError) as refused:
        call_directly(tls_client(pki["stranger"], pki["backend"]["ca"]), backend_proxy.inbound_port)

    assert refused.value.reason == "TLSV1_ALERT_UNKNOWN_CA"
    assert backend_proxy.wait_for(lambda: backend_proxy.refused)
    assert backend_proxy.refused == ["CERTIFICATE_VERIFY_FAILED"]


def test_over_tls_1_2_the_refusal_ends_the_handshake_itself(pki, backend_proxy):
    context = tls_client(None, pki["backend"]["ca"])
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", backend_proxy.inbound_port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError) as refused:
            context.wrap_socket(raw, server_hostname="localhost")

    assert refused.value.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"


def test_a_course_identity_not_allowed_gets_403(pki, backend_app):
    config = proxy_config(pki["backend"], inbound_host="127.0.0.1", inbound_port=0,
                          upstream=("127.0.0.1", backend_app), allowed_ids=(FRONTEND_ID,))
    with mtls_proxy.MtlsProxy(config, log=lambda message: None) as proxy:
        intruder = call_directly(tls_client(pki["intruder"], pki["backend"]["ca"]), proxy.inbound_port)
        frontend = call_directly(tls_client(pki["frontend"], pki["backend"]["ca"]), proxy.inbound_port)

    assert intruder.startswith(b"HTTP/1.1 403 Forbidden")
    assert b"spiffe://k8s-course/ns/shop/sa/intruder is not among the allowed callers" in intruder
    assert frontend.endswith(b"backend answers /direct")


def test_the_proxy_reads_its_settings_from_env_and_arguments():
    config = mtls_proxy.config_from(
        {"TLS_CERT": "/certs/tls.crt", "UPSTREAM": "127.0.0.1:9000", "ALLOWED_IDS": f"{FRONTEND_ID}, spiffe://x"},
        ["--outbound-port", "15001", "--peer", "backend.shop.svc:8443"],
    )

    assert config.cert == "/certs/tls.crt"
    assert config.inbound_port == 8443
    assert config.upstream == ("127.0.0.1", 9000)
    assert config.allowed_ids == (FRONTEND_ID, "spiffe://x")
    assert (config.outbound_port, config.peer, config.peer_name) == (15001, ("backend.shop.svc", 8443), "backend.shop.svc")


def test_the_secret_holds_the_certificate_and_names_the_identity(authority):
    issued = course_ca.issue(authority, NAMESPACE, "backend", ["backend.shop.svc"])
    secret = course_ca.tls_secret("backend-mtls", NAMESPACE, issued)

    assert secret["type"] == "kubernetes.io/tls"
    assert sorted(secret["data"]) == ["ca.crt", "tls.crt", "tls.key"]
    assert secret["metadata"]["annotations"]["k8s-course/identity"] == "spiffe://k8s-course/ns/shop/sa/backend"
    assert base64.b64decode(secret["data"]["tls.crt"]) == issued.cert_pem


def test_the_certificate_names_the_workload_by_its_spiffe_id(pki, backend_proxy):
    context = tls_client(pki["frontend"], pki["backend"]["ca"])
    with socket.create_connection(("127.0.0.1", backend_proxy.inbound_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="backend.shop.svc") as secure:
            backend = secure.getpeercert()

    assert mtls_proxy.identity_of(backend) == "spiffe://k8s-course/ns/shop/sa/backend"
    assert ("DNS", "backend.shop.svc") in backend["subjectAltName"]
