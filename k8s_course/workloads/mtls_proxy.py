"""The proxy sidecar: mutual TLS between pods, so that the apps themselves speak plain HTTP.

Inbound: listens with TLS on INBOUND_PORT, demands a client certificate signed by the course
CA (a caller without one is refused during the TLS handshake), optionally checks the caller's
identity (its SPIFFE ID) against ALLOWED_IDS, and relays the connection as plain bytes to the
app at UPSTREAM (default 127.0.0.1:8080).
Outbound: listens in plain TCP on 127.0.0.1:OUTBOUND_PORT for the app's own calls and carries
each one to PEER (host:port of the other pod's inbound listener) over TLS, presenting this
pod's certificate and checking that the peer's certificate names PEER_NAME.

Certificates: TLS_CERT, TLS_KEY, TLS_CA (defaults: tls.crt, tls.key, ca.crt in /etc/mtls,
where the Secret made by course_ca.tls_secret is mounted). Every setting is also a command-line
option (`--inbound-port 8443`, ...); a port of 0 picks a free one, an empty one turns that
listener off. Runs as `python mtls_proxy.py`; standard library only (`ssl`).

What a mesh adds on top, as Envoy does in Istio:
- request metrics, per direction: requests by status, errors (5xx), latency, requests in flight
  (the golden signals), served as JSON on GET /stats and in Prometheus' text format on
  GET /metrics at METRICS_PORT (default 15090, Envoy's Prometheus port; empty: off);
- retries (outbound): a call whose peer cannot be reached, resets before answering or answers
  503 is sent again, up to RETRIES times (default 0: never), 25 ms, 50 ms, ... apart;
- fault injection (inbound): FAULT_ABORT_EVERY=n answers every n-th request with
  FAULT_ABORT_STATUS (default 503) without asking the app, to see retries work.
RETRIES and the FAULT_ settings can also come from the mesh file, MESH_FILE (default: mesh.json
next to this program, i.e. a key of the ConfigMap it is mounted from), a JSON object of the same
names, read again for every request so that a changed ConfigMap takes effect without a restart
(the way istiod pushes new routes to running proxies). The pod's own env wins over the file.
HTTP/1 requests are what gets measured, retried and faulted; anything else is relayed as bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import re
import signal
import socket
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# ---------------------------------------------------------------- pure core


@dataclass(frozen=True)
class ProxyConfig:
    cert: str = "/etc/mtls/tls.crt"
    key: str = "/etc/mtls/tls.key"
    ca: str = "/etc/mtls/ca.crt"
    inbound_host: str = "0.0.0.0"
    inbound_port: int | None = 8443  # None: no inbound listener
    upstream: tuple[str, int] = ("127.0.0.1", 8080)
    allowed_ids: tuple[str, ...] = ()  # empty: any certificate from the CA
    outbound_port: int | None = None  # None: no outbound listener
    peer: tuple[str, int] | None = None
    peer_name: str | None = None  # the DNS name the peer's certificate must carry
    idle_timeout: float = 300.0
    metrics_host: str = "0.0.0.0"
    metrics_port: int | None = None  # None: no metrics listener (the program's default is 15090)
    # None: not set for this pod, so the mesh file (or the default) decides
    retries: int | None = None
    fault_abort_every: int | None = None
    fault_abort_status: int | None = None
    mesh_file: str | None = None


def parse_address(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """"host:port" or ":port" or "port" -> (host, port)."""
    host, _, port = text.rpartition(":")
    try:
        return host or default_host, int(port)
    except ValueError:
        raise ValueError(f"{text!r} is not an address; write host:port, e.g. backend:8443") from None


def _port(text: str | None) -> int | None:
    return None if text in (None, "") else int(text)


def _count(text: str | None) -> int | None:
    return None if text in (None, "") else int(text)


def config_from(env: dict[str, str], argv: list[str] | None = None, program: str | None = None) -> ProxyConfig:
    """Settings from the environment, overridden by command-line options; `program` is the
    path this file runs from (its folder holds the default mesh file)."""
    parser = argparse.ArgumentParser(prog="mtls_proxy.py", description="mTLS proxy sidecar")
    parser.add_argument("--cert", default=env.get("TLS_CERT", ProxyConfig.cert))
    parser.add_argument("--key", default=env.get("TLS_KEY", ProxyConfig.key))
    parser.add_argument("--ca", default=env.get("TLS_CA", ProxyConfig.ca))
    parser.add_argument("--inbound-host", default=env.get("INBOUND_HOST", ProxyConfig.inbound_host))
    parser.add_argument("--inbound-port", default=env.get("INBOUND_PORT", "8443"))
    parser.add_argument("--upstream", default=env.get("UPSTREAM", "127.0.0.1:8080"))
    parser.add_argument("--allowed-ids", default=env.get("ALLOWED_IDS", ""))
    parser.add_argument("--outbound-port", default=env.get("OUTBOUND_PORT", ""))
    parser.add_argument("--peer", default=env.get("PEER", ""))
    parser.add_argument("--peer-name", default=env.get("PEER_NAME", ""))
    parser.add_argument("--metrics-port", default=env.get("METRICS_PORT", METRICS_PORT))
    parser.add_argument("--retries", default=env.get("RETRIES", ""))
    parser.add_argument("--fault-abort-every", default=env.get("FAULT_ABORT_EVERY", ""))
    parser.add_argument("--fault-abort-status", default=env.get("FAULT_ABORT_STATUS", ""))
    default_mesh_file = posixpath.join(posixpath.dirname(program), MESH_FILE_NAME) if program else ""
    parser.add_argument("--mesh-file", default=env.get("MESH_FILE", default_mesh_file))
    options = parser.parse_args(argv or [])
    peer = parse_address(options.peer) if options.peer else None
    config = ProxyConfig(
        cert=options.cert,
        key=options.key,
        ca=options.ca,
        inbound_host=options.inbound_host,
        inbound_port=_port(options.inbound_port),
        upstream=parse_address(options.upstream),
        allowed_ids=tuple(i.strip() for i in options.allowed_ids.split(",") if i.strip()),
        outbound_port=_port(options.outbound_port),
        peer=peer,
        peer_name=options.peer_name or (peer[0] if peer else None),
        metrics_port=_port(options.metrics_port),
        retries=_count(options.retries),
        fault_abort_every=_count(options.fault_abort_every),
        fault_abort_status=_count(options.fault_abort_status),
        mesh_file=options.mesh_file or None,
    )
    if config.outbound_port is not None and config.peer is None:
        raise ValueError("an outbound listener needs PEER (host:port of the other pod's inbound port)")
    return config


def identity_of(peercert: dict | None) -> str | None:
    """The SPIFFE ID in a certificate as `ssl.SSLSocket.getpeercert()` returns it."""
    for kind, value in (peercert or {}).get("subjectAltName", ()):
        if kind == "URI" and value.startswith("spiffe://"):
            return value
    return None


def refusal(identity: str | None, allowed_ids: tuple[str, ...]) -> str | None:
    """Why a caller with a valid certificate is still not let through, or None."""
    if not allowed_ids:
        return None
    if identity is None:
        return "the client certificate carries no SPIFFE ID"
    if identity not in allowed_ids:
        return f"{identity} is not among the allowed callers ({', '.join(allowed_ids)})"
    return None


def forbidden_response(reason: str) -> bytes:
    body = f"forbidden by the mTLS proxy: {reason}\n".encode()
    head = f"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


# ------------------------------------------- the mesh's part: metrics, retries, faults

METRICS_PORT = "15090"  # Envoy's Prometheus port in Istio, which istio-init leaves unredirected
MESH_FILE_NAME = "mesh.json"
RETRIABLE_STATUSES = frozenset({503})  # Istio's default retriable-status-codes
RETRY_BASE_DELAY = 0.025  # Envoy's default back-off base: 25 ms, doubling...
RETRY_MAX_DELAY = 0.25  # ...up to 10 times the base
LATENCY_BUCKETS_MS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
LATENCIES_KEPT = 1000  # the percentiles are over the last this many requests
DIRECTIONS = ("inbound", "outbound")
REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass(frozen=True)
class MeshPolicy:
    retries: int = 0
    fault_abort_every: int = 0  # 0: no fault; n: every n-th inbound request is aborted
    fault_abort_status: int = 503


def mesh_policy(config: ProxyConfig, mesh_file_text: str | None = None) -> MeshPolicy:
    """The policy in force: the pod's own settings, else the mesh file's, else the defaults.

    The file is a JSON object with the environment's names ({"RETRIES": 2}); ValueError when it
    is not one, or a value is not a whole number of at least 0."""
    shared = {}
    if mesh_file_text and mesh_file_text.strip():
        shared = json.loads(mesh_file_text)  # json.JSONDecodeError is a ValueError
        if not isinstance(shared, dict):
            raise ValueError(f"the mesh file must hold a JSON object, not {type(shared).__name__}")

    def pick(own: int | None, name: str, default: int) -> int:
        value = own if own is not None else int(shared.get(name, default))
        if value < 0:
            raise ValueError(f"{name} must be 0 or more, not {value}")
        return value

    return MeshPolicy(retries=pick(config.retries, "RETRIES", 0),
                      fault_abort_every=pick(config.fault_abort_every, "FAULT_ABORT_EVERY", 0),
                      fault_abort_status=pick(config.fault_abort_status, "FAULT_ABORT_STATUS", 503))


def should_retry(status: int | None, attempt: int, policy: MeshPolicy) -> bool:
    """Whether attempt number `attempt` (0: the first) is followed by another; `status` is the
    peer's answer, None when it could not be reached or reset before answering."""
    return attempt < policy.retries and (status is None or status in RETRIABLE_STATUSES)


def retry_delay(attempt: int) -> float:
    """The pause before retry number attempt + 1 (Envoy draws at random below this ceiling)."""
    return min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2 ** attempt)


def is_aborted(number: int, policy: MeshPolicy) -> bool:
    """Whether inbound request `number` (1, 2, ...) gets the injected fault."""
    return policy.fault_abort_every > 0 and number % policy.fault_abort_every == 0


def http_response(status: int, body: str, content_type: str = "text/plain") -> bytes:
    data = body.encode()
    head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n")
    return head.encode() + data


def unavailable_body(reason: str) -> str:
    """What the proxy answers (503) when the other side does not: Envoy's words."""
    return f"upstream connect error or disconnect/reset before headers. reset reason: {reason}\n"


def fault_body() -> str:
    return "fault filter abort\n"


_REQUEST_LINE = re.compile(rb"([A-Z]{1,16}) (\S+) HTTP/1\.[01]\r?\n")
_METHOD_START = re.compile(rb"[A-Z]{0,16}( |$)")


def looks_like_http(data: bytes) -> bool | None:
    """Whether the first bytes of a connection are an HTTP/1 request; None: too early to say."""
    line_end = data.find(b"\n")
    if line_end < 0:
        return None if _METHOD_START.match(data[:17]) and len(data) < 8192 else False
    return _REQUEST_LINE.match(data[:line_end + 1]) is not None


def request_line(data: bytes) -> tuple[str, str] | None:
    """(method, target) of an HTTP/1 request's first line."""
    found = _REQUEST_LINE.match(data)
    return (found.group(1).decode(), found.group(2).decode()) if found else None


def head_end(data: bytes) -> int:
    """Where an HTTP head ends (just after its blank line), -1 if it has not ended yet."""
    end = data.find(b"\r\n\r\n")
    return end + 4 if end >= 0 else -1


def body_length(head: bytes) -> int | None:
    """The body's length by Content-Length (0 without one); None for a chunked body."""
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding" and b"chunked" in value.lower():
            return None
        if name == b"content-length":
            length = int(value.strip() or 0)
    return length


def response_status(data: bytes) -> int | None:
    """The status code of an HTTP response's first line, None until that line has arrived."""
    line_end = data.find(b"\n")
    if line_end < 0:
        return None
    parts = data[:line_end].split()
    return int(parts[1]) if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit() else None


class _Direction:
    def __init__(self) -> None:
        self.started = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.responses: dict[int, int] = {}
        self.retries = 0
        self.latencies: deque[float] = deque(maxlen=LATENCIES_KEPT)
        self.latency_sum = 0.0
        self.buckets = [0] * len(LATENCY_BUCKETS_MS)


class RequestStats:
    """The golden signals of one proxy, per direction: traffic (requests), errors (5xx answers,
    the proxy's own 503s included), latency (milliseconds to the answer's first line) and
    saturation (requests in flight, and the most at once). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._directions = {name: _Direction() for name in DIRECTIONS}
        self.refused_connections = 0

    def begin(self, direction: str) -> int:
        """A request starts; returns its number in this direction (1, 2, ...)."""
        with self._lock:
            counters = self._directions[direction]
            counters.started += 1
            counters.in_flight += 1
            counters.peak_in_flight = max(counters.peak_in_flight, counters.in_flight)
            return counters.started

    def end(self, direction: str, status: int, seconds: float, retries: int = 0) -> None:
        milliseconds = seconds * 1000
        with self._lock:
            counters = self._directions[direction]
            counters.in_flight = max(0, counters.in_flight - 1)
            counters.responses[status] = counters.responses.get(status, 0) + 1
            counters.retries += retries
            counters.latencies.append(milliseconds)
            counters.latency_sum += milliseconds
            for index, bound in enumerate(LATENCY_BUCKETS_MS):
                if milliseconds <= bound:
                    counters.buckets[index] += 1

    def refuse(self) -> None:
        with self._lock:
            self.refused_connections += 1

    def snapshot(self) -> dict:
        """Plain data: {"inbound": {...}, "outbound": {...}, "refused_connections": n}."""
        with self._lock:
            report: dict = {name: _summary(counters) for name, counters in self._directions.items()}
            report["refused_connections"] = self.refused_connections
            return report

    def prometheus(self) -> str:
        """The same figures in Prometheus' text exposition format."""
        report = self.snapshot()
        lines = ["# TYPE mesh_requests_total counter"]
        for direction in DIRECTIONS:
            for code, count in report[direction]["responses"].items():
                lines.append(f'mesh_requests_total{{direction="{direction}",code="{code}"}} {count}')
        lines.append("# TYPE mesh_request_duration_milliseconds histogram")
        for direction in DIRECTIONS:
            latency = report[direction]["latency_ms"]
            for bound, count in latency["buckets"].items():
                lines.append(f'mesh_request_duration_milliseconds_bucket{{direction="{direction}",le="{bound}"}} {count}')
            lines.append(f'mesh_request_duration_milliseconds_bucket{{direction="{direction}",le="+Inf"}} '
                         f'{report[direction]["requests"]}')
            lines.append(f'mesh_request_duration_milliseconds_sum{{direction="{direction}"}} {latency["sum"]}')
            lines.append(f'mesh_request_duration_milliseconds_count{{direction="{direction}"}} '
                         f'{report[direction]["requests"]}')
        for name, key, kind in (("mesh_requests_in_flight", "in_flight", "gauge"),
                                ("mesh_retries_total", "retries", "counter")):
            lines.append(f"# TYPE {name} {kind}")
            lines += [f'{name}{{direction="{d}"}} {report[d][key]}' for d in DIRECTIONS]
        lines += ["# TYPE mesh_refused_connections_total counter",
                  f"mesh_refused_connections_total {report['refused_connections']}"]
        return "\n".join(lines) + "\n"


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values (0 when there are none)."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil without floats drifting
    return round(ordered[int(rank) - 1], 3)


def _summary(counters: _Direction) -> dict:
    ordered = sorted(counters.latencies)
    answered = sum(counters.responses.values())
    return {
        "requests": answered,
        "errors": sum(n for code, n in counters.responses.items() if code >= 500),
        "responses": {str(code): counters.responses[code] for code in sorted(counters.responses)},
        "retries": counters.retries,
        "latency_ms": {"p50": _percentile(ordered, 0.5), "p90": _percentile(ordered, 0.9),
                       "p99": _percentile(ordered, 0.99), "max": round(ordered[-1], 3) if ordered else 0.0,
                       "sum": round(counters.latency_sum, 3),
                       "buckets": {str(b): n for b, n in zip(LATENCY_BUCKETS_MS, counters.buckets, strict=True)}},
        "in_flight": counters.in_flight,
        "peak_in_flight": counters.peak_in_flight,
    }


def stats_answer(method: str, target: str, stats: RequestStats) -> tuple[int, str, str]:
    """(status, content type, body) for a request to the metrics port."""
    path = target.split("?", 1)[0]
    if method != "GET":
        return 405, "text/plain", "the metrics port answers GET only\n"
    if path == "/stats":
        return 200, "application/json", json.dumps(stats.snapshot(), indent=1) + "\n"
    if path == "/metrics":
        return 200, "text/plain; version=0.0.4", stats.prometheus()
    if path in ("/healthz", "/ready"):
        return 200, "text/plain", "ok\n"
    return 404, "text/plain", f"no {path} here: GET /stats (JSON) or /metrics (Prometheus)\n"


# ---------------------------------------------------------------- I/O shell


def server_context(config: ProxyConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.cert, config.key)
    context.load_verify_locations(config.ca)
    context.verify_mode = ssl.CERT_REQUIRED  # no certificate from our CA, no connection
    return context


def client_context(config: ProxyConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # checks the peer's name and chain
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.cert, config.key)
    context.load_verify_locations(config.ca)
    return context


def _close(*connections: socket.socket) -> None:
    for connection in connections:
        try:
            # shutdown first: it wakes a thread blocked in recv on this socket, close does not
            connection.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass
        connection.close()


def _linger_close(connection: socket.socket) -> None:
    """Close after a refused handshake so that the TLS alert reaches the caller.

    Closing a socket with unread input sends a reset, which can make the caller's kernel drop
    the alert it has not read yet; so half-close, read what is still coming, then close.
    """
    try:
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(1.0)
        while connection.recv(65536):
            pass
    except OSError:
        pass
    connection.close()


def relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until both directions end, then close both.

    A plain socket whose source ended gets a half-close, so request/response protocols finish;
    TLS has no half-close in Python's API, so the end of either side towards TLS ends both.
    """
    lock = threading.Lock()
    open_directions = [2]

    def pump(source: socket.socket, destination: socket.socket) -> None:
        clean = True
        try:
            while data := source.recv(65536):
                destination.sendall(data)
        except (OSError, ValueError, AttributeError):
            # AttributeError/ValueError: the other direction closed this TLS socket under us
            clean = False
        with lock:
            open_directions[0] -= 1
            last = open_directions[0] == 0
        if last or not clean or isinstance(destination, ssl.SSLSocket):
            _close(a, b)
        else:
            try:
                destination.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    other = threading.Thread(target=pump, args=(b, a), daemon=True)
    other.start()
    try:
        pump(a, b)
        other.join()
    finally:
        _close(a, b)  # whatever happened, no caller is left hanging on a half-dead connection


class MtlsProxy:
    """Both listeners of one pod's proxy; `start()` runs them on threads, `stop()` ends them."""

    def __init__(self, config: ProxyConfig, log: Callable[[str], None] = lambda message: print(message, flush=True)):
        self.config = config
        self.log = log
        self.accepted: list[str | None] = []  # the identities of the callers let in
        self.refused: list[str] = []  # why callers were turned away
        self.stats = RequestStats()
        self._mesh_file_problem: str | None = None  # logged once, not for every request
        self._recorded = threading.Condition()  # notified when either list grows
        self._server_context = server_context(config)
        self._client_context = client_context(config)
        self._listeners: dict[str, socket.socket] = {}
        if config.inbound_port is not None:
            self._listeners["inbound"] = socket.create_server((config.inbound_host, config.inbound_port))
        if config.outbound_port is not None:
            # only the pod's own containers may use the way out
            self._listeners["outbound"] = socket.create_server(("127.0.0.1", config.outbound_port))
        if config.metrics_port is not None:
            self._listeners["metrics"] = socket.create_server((config.metrics_host, config.metrics_port))
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def inbound_port(self) -> int | None:
        listener = self._listeners.get("inbound")
        return listener.getsockname()[1] if listener else None

    @property
    def outbound_port(self) -> int | None:
        listener = self._listeners.get("outbound")
        return listener.getsockname()[1] if listener else None

    @property
    def metrics_port(self) -> int | None:
        listener = self._listeners.get("metrics")
        return listener.getsockname()[1] if listener else None

    def policy(self) -> MeshPolicy:
        """The retries and faults in force now: the mesh file is read again every time."""
        text = None
        if self.config.mesh_file:
            try:
                with open(self.config.mesh_file, encoding="utf-8") as file:
                    text = file.read()
            except OSError:
                pass  # no mesh file: the pod's own settings and the defaults
        try:
            policy = mesh_policy(self.config, text)
            self._mesh_file_problem = None
            return policy
        except ValueError as error:
            if str(error) != self._mesh_file_problem:
                self._mesh_file_problem = str(error)
                self.log(f"mtls-proxy: ignoring the mesh file {self.config.mesh_file}: {error}")
            return mesh_policy(self.config)

    def start(self) -> MtlsProxy:
        handlers = {"inbound": self._serve_inbound, "outbound": self._serve_outbound,
                    "metrics": self._serve_metrics}
        for name, listener in self._listeners.items():
            thread = threading.Thread(target=self._accept, args=(listener, handlers[name]), name=f"mtls-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for listener in self._listeners.values():
            _close(listener)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> MtlsProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, outcomes: list, outcome: object) -> None:
        with self._recorded:
            outcomes.append(outcome)
            self._recorded.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until `predicate()` holds for `accepted`/`refused` (the proxy's threads record
        an outcome a moment after the caller sees it)."""
        with self._recorded:
            return self._recorded.wait_for(predicate, timeout)

    def _accept(self, listener: socket.socket, handle: Callable[[socket.socket, tuple], None]) -> None:
        while not self._stopping.is_set():
            try:
                connection, address = listener.accept()
            except OSError:
                return  # the listener was closed by stop()
            threading.Thread(target=handle, args=(connection, address), daemon=True).start()

    def _serve_inbound(self, connection: socket.socket, address: tuple) -> None:
        connection.settimeout(10)  # for the handshake
        # the handshake is started by hand: on failure wrap_socket would close the socket at once
        secure = self._server_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        try:
            secure.do_handshake()
        except (ssl.SSLError, OSError) as error:
            reason = getattr(error, "reason", None) or str(error)
            self.stats.refuse()
            self._record(self.refused, reason)
            self.log(f"mtls-proxy: refused {address[0]}:{address[1]} at the TLS handshake: {reason}")
            _linger_close(socket.socket(fileno=secure.detach()))
            return
        identity = identity_of(secure.getpeercert())
        why_not = refusal(identity, self.config.allowed_ids)
        if why_not:
            self.stats.refuse()
            self._record(self.refused, why_not)
            self.log(f"mtls-proxy: refused {identity}: {why_not}")
            try:
                secure.sendall(forbidden_response(why_not))
            except OSError:
                pass
            _close(secure)
            return
        secure.settimeout(self.config.idle_timeout)
        request, is_http = _read_request(secure)
        number = self.stats.begin("inbound") if is_http else 0
        started = time.monotonic()
        if is_http and is_aborted(number, policy := self.policy()):
            method, target = request_line(request) or ("?", "?")
            self.log(f"mtls-proxy: fault injected: {policy.fault_abort_status} for {method} {target} "
                     f"(request {number}, every {policy.fault_abort_every})")
            self._answer_and_close(secure, "inbound", policy.fault_abort_status, fault_body(), started)
            return
        try:
            upstream = socket.create_connection(self.config.upstream, timeout=10)
        except OSError as error:
            self.log(f"mtls-proxy: the app at {self.config.upstream[0]}:{self.config.upstream[1]} does not answer: {error}")
            if is_http:
                self._answer_and_close(secure, "inbound", 503, unavailable_body("connection failure"), started)
            else:
                _close(secure)
            return
        self._record(self.accepted, identity)
        self.log(f"mtls-proxy: {identity} -> app")
        upstream.settimeout(self.config.idle_timeout)
        if not is_http:
            _send_then_relay(secure, upstream, request)
            return
        try:
            upstream.sendall(request)
            answer = _read_status_line(upstream)
        except OSError:
            answer = b""
        status = response_status(answer)
        if status is None:
            _close(upstream)
            self._answer_and_close(secure, "inbound", 503, unavailable_body("connection termination"), started)
            return
        self.stats.end("inbound", status, time.monotonic() - started)
        try:
            secure.sendall(answer)
        except OSError:
            _close(secure, upstream)
            return
        relay(secure, upstream)

    def _answer_and_close(self, connection: socket.socket, direction: str, status: int, body: str,
                          started: float, retries: int = 0) -> None:
        self.stats.end(direction, status, time.monotonic() - started, retries)
        try:
            connection.sendall(http_response(status, body))
        except OSError:
            pass
        _close(connection)

    def _serve_metrics(self, connection: socket.socket, address: tuple) -> None:
        connection.settimeout(10)
        try:
            request, _ = _read_request(connection)
            method, target = request_line(request) or ("GET", "/")
            status, content_type, body = stats_answer(method, target, self.stats)
            connection.sendall(http_response(status, body, content_type))
        except OSError:
            pass
        _close(connection)

    def _connect_peer(self) -> ssl.SSLSocket | None:
        host, port = self.config.peer
        try:
            raw = socket.create_connection((host, port), timeout=10)
            secure = self._client_context.wrap_socket(raw, server_hostname=self.config.peer_name)
        except (ssl.SSLError, OSError) as error:
            self.log(f"mtls-proxy: cannot reach {host}:{port} over mTLS: {getattr(error, 'reason', None) or error}")
            return None
        secure.settimeout(self.config.idle_timeout)
        return secure

    def _serve_outbound(self, connection: socket.socket, address: tuple) -> None:
        connection.settimeout(self.config.idle_timeout)
        request, is_http = _read_request(connection)
        if not is_http:
            secure = self._connect_peer()
            if secure is None:
                _close(connection)
            else:
                _send_then_relay(connection, secure, request)
            return
        self.stats.begin("outbound")
        started = time.monotonic()
        policy = self.policy()
        host, port = self.config.peer
        attempt = 0
        while True:
            secure, answer = self._connect_peer(), b""
            if secure is not None:
                try:
                    secure.sendall(request)
                    answer = _read_status_line(secure)
                except OSError:
                    pass
            status = response_status(answer)
            if not should_retry(status, attempt, policy):
                break
            if secure is not None:
                _close(secure)
            method, target = request_line(request) or ("?", "?")
            why = f"{status} from {host}:{port}" if status else f"no answer from {host}:{port}"
            self.log(f"mtls-proxy: retry {attempt + 1}/{policy.retries} of {method} {target}: {why}")
            time.sleep(retry_delay(attempt))
            attempt += 1
        if status is None:
            if secure is not None:
                _close(secure)
            reason = "connection failure" if secure is None else "connection termination"
            self._answer_and_close(connection, "outbound", 503, unavailable_body(reason), started, attempt)
            return
        self.stats.end("outbound", status, time.monotonic() - started, attempt)
        try:
            connection.sendall(answer)
        except OSError:
            _close(connection, secure)
            return
        relay(connection, secure)


MAX_HEAD = 65536  # a request head longer than this is relayed as bytes, unmeasured


def _read_request(connection: socket.socket) -> tuple[bytes, bool]:
    """The first request on a connection: (its bytes, True) for an HTTP/1 request read whole
    (head and Content-Length body); (what was read, False) for anything else."""
    data = b""
    while (verdict := looks_like_http(data)) is not False and head_end(data) < 0 and len(data) < MAX_HEAD:
        try:
            chunk = connection.recv(65536)
        except (OSError, ValueError):
            return data, False
        if not chunk:
            return data, False
        data += chunk
    end = head_end(data)
    if verdict is False or end < 0:
        return data, False
    try:
        length = body_length(data[:end])
    except ValueError:
        return data, False
    if length is None:
        return data, False  # a chunked body: relayed as it comes, not measured
    while len(data) - end < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data, True


def _read_status_line(connection: socket.socket) -> bytes:
    """Read until the answer's first line is in (or the connection ends); returns what came."""
    data = b""
    while b"\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _send_then_relay(source: socket.socket, destination: socket.socket, already_read: bytes) -> None:
    try:
        if already_read:
            destination.sendall(already_read)
    except OSError:
        _close(source, destination)
        return
    relay(source, destination)


def main(argv: list[str] | None = None, env: dict[str, str] | None = None) -> int:
    # before anything else: as PID 1 in a container, an unhandled SIGTERM would be ignored
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    config = config_from(dict(os.environ if env is None else env), sys.argv[1:] if argv is None else argv,
                         program=os.path.abspath(__file__))
    proxy = MtlsProxy(config).start()
    print(f"mtls-proxy: inbound {proxy.inbound_port} -> {config.upstream[0]}:{config.upstream[1]}, "
          f"outbound {proxy.outbound_port} -> {config.peer}", flush=True)
    if proxy.metrics_port is not None:
        print(f"mtls-proxy: metrics on {config.metrics_host}:{proxy.metrics_port} (GET /stats, /metrics)", flush=True)
    try:
        while not stop.wait(1.0):  # woken now and then, so that signals are handled promptly
            pass
    except KeyboardInterrupt:
        pass
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
