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
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import ssl
import sys
import threading
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


def parse_address(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """"host:port" or ":port" or "port" -> (host, port)."""
    host, _, port = text.rpartition(":")
    try:
        return host or default_host, int(port)
    except ValueError:
        raise ValueError(f"{text!r} is not an address; write host:port, e.g. backend:8443") from None


def _port(text: str | None) -> int | None:
    return None if text in (None, "") else int(text)


def config_from(env: dict[str, str], argv: list[str] | None = None) -> ProxyConfig:
    """Settings from the environment, overridden by command-line options."""
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
        self._recorded = threading.Condition()  # notified when either list grows
        self._server_context = server_context(config)
        self._client_context = client_context(config)
        self._listeners: dict[str, socket.socket] = {}
        if config.inbound_port is not None:
            self._listeners["inbound"] = socket.create_server((config.inbound_host, config.inbound_port))
        if config.outbound_port is not None:
            # only the pod's own containers may use the way out
            self._listeners["outbound"] = socket.create_server(("127.0.0.1", config.outbound_port))
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

    def start(self) -> MtlsProxy:
        handlers = {"inbound": self._serve_inbound, "outbound": self._serve_outbound}
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
            self._record(self.refused, reason)
            self.log(f"mtls-proxy: refused {address[0]}:{address[1]} at the TLS handshake: {reason}")
            _linger_close(socket.socket(fileno=secure.detach()))
            return
        identity = identity_of(secure.getpeercert())
        why_not = refusal(identity, self.config.allowed_ids)
        if why_not:
            self._record(self.refused, why_not)
            self.log(f"mtls-proxy: refused {identity}: {why_not}")
            try:
                secure.sendall(forbidden_response(why_not))
            except OSError:
                pass
            _close(secure)
            return
        try:
            upstream = socket.create_connection(self.config.upstream, timeout=10)
        except OSError as error:
            self.log(f"mtls-proxy: the app at {self.config.upstream[0]}:{self.config.upstream[1]} does not answer: {error}")
            _close(secure)
            return
        self._record(self.accepted, identity)
        self.log(f"mtls-proxy: {identity} -> app")
        secure.settimeout(self.config.idle_timeout)
        upstream.settimeout(self.config.idle_timeout)
        relay(secure, upstream)

    def _serve_outbound(self, connection: socket.socket, address: tuple) -> None:
        host, port = self.config.peer
        try:
            raw = socket.create_connection((host, port), timeout=10)
            secure = self._client_context.wrap_socket(raw, server_hostname=self.config.peer_name)
        except (ssl.SSLError, OSError) as error:
            self.log(f"mtls-proxy: cannot reach {host}:{port} over mTLS: {getattr(error, 'reason', None) or error}")
            _close(connection)
            return
        secure.settimeout(self.config.idle_timeout)
        connection.settimeout(self.config.idle_timeout)
        relay(connection, secure)


def main(argv: list[str] | None = None, env: dict[str, str] | None = None) -> int:
    # before anything else: as PID 1 in a container, an unhandled SIGTERM would be ignored
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    config = config_from(dict(os.environ if env is None else env), sys.argv[1:] if argv is None else argv)
    proxy = MtlsProxy(config).start()
    print(f"mtls-proxy: inbound {proxy.inbound_port} -> {config.upstream[0]}:{config.upstream[1]}, "
          f"outbound {proxy.outbound_port} -> {config.peer}", flush=True)
    try:
        while not stop.wait(1.0):  # woken now and then, so that signals are handled promptly
            pass
    except KeyboardInterrupt:
        pass
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
