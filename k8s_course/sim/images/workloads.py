"""The course's pod programs (k8s_course.workloads) as the python image runs them in the simulator.

On kind, `python /app/log_shipper.py` runs the real program. Here the same program's pure core
(the real module, imported) runs with simulated I/O: files through `ctx.files`, time through
`ctx.clock`, HTTP through the pod network (`ctx.network.http_request`), serving through
`PythonImage.serve`. Only the thin I/O shell of each program is written again here, step for
step as the real one does it, so that a lesson shows the same outcome on both clusters.

| program              | core shared with the real program                                |
|----------------------|------------------------------------------------------------------|
| log_writer.py        | `log_line`, `interval`                                           |
| log_aggregator.py    | `LineStore`, `respond`                                           |
| log_shipper.py       | `Batcher`, `Backoff`, `split_lines`, `follow_decision`,          |
|                      | `start_position`, `ShipError`                                    |
| config_reloader.py   | `ConfigState` (`parse_config`), `respond`                        |
| mtls_proxy.py        | `config_from`, `identity_of`, `refusal`, `forbidden_response`,   |
|                      | `RequestStats`, `stats_answer`, `mesh_policy`, `should_retry`,   |
|                      | `retry_delay`, `is_aborted`, the 503 bodies                      |

`PROGRAMS` is what `registry.DEFAULT` gives the python image: {script basename: program}.
Not modelled: rotation by renaming (the simulated files have no inodes), mtls_proxy's check
of the peer's name, and the outbound listener is reachable from other pods (the real one binds
127.0.0.1). The simulated network takes no time, so mtls_proxy's latencies are those of its
retries' back-off only.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import posixpath
from datetime import datetime, timezone
from urllib.parse import urlsplit

from cryptography import x509

from k8s_course.sim.images.shell import finished_before_signal
from k8s_course.workloads import (
    config_reloader,
    log_aggregator,
    log_shipper,
    log_writer,
    mtls_proxy,
)

PID = 1  # `python` is the container's first process
FILE_ID = 1  # the simulated files have no inodes: the same file stays the same file


async def until_stopped(shell, awaitable) -> bool:
    """Run `awaitable`; False if SIGTERM came first (the real programs catch it and end cleanly)."""
    task = asyncio.ensure_future(awaitable)
    if shell.stopping is None:  # run by `kubectl exec`: no signal reaches it
        await task
        return True
    if await finished_before_signal(task, shell.stopping):
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


def _forever():
    return asyncio.get_running_loop().create_future()


def _pod_name(shell, env: dict) -> str:
    return env.get("POD_NAME") or shell.ctx.hostname


def _read_bytes(files, path: str) -> bytes | None:
    try:
        return files.read(path).encode("utf-8")
    except OSError:
        return None


def _traceback(io, error: Exception) -> int:
    io.stderr.write("Traceback (most recent call last):\n")
    io.stderr.write(f"{type(error).__name__}: {error}\n")
    return 1


# ---------------------------------------------------------------- log_writer


async def run_log_writer(shell, argv, io, env) -> int:
    ctx = shell.ctx
    path = env.get("LOG_FILE", "/var/log/app/app.log")
    pod = _pod_name(shell, env)
    try:
        rate = float(env.get("RATE", "5"))
        count = int(env.get("LINES", "0"))
        pause = log_writer.interval(rate)
        ctx.files.mkdir(posixpath.dirname(path) or ".", parents=True)
    except (ValueError, OSError) as error:
        return _traceback(io, error)
    io.stdout.write(f"log-writer: {pod} writing {rate:g} lines/s to {path}\n")
    written = [0]

    async def write_lines() -> None:
        number = 0
        while count == 0 or number < count:
            number += 1
            when = datetime.fromtimestamp(ctx.clock.now(), tz=timezone.utc)
            ctx.files.write(path, log_writer.log_line(when, pod, number) + "\n", append=True)
            written[0] = number
            if count == 0 or number < count:
                await ctx.clock.sleep(pause)

    if await until_stopped(shell, write_lines()):
        io.stdout.write(f"log-writer: wrote {written[0]} lines\n")
    return 0


# ---------------------------------------------------------------- log_aggregator


async def run_log_aggregator(shell, argv, io, env) -> int:
    ctx = shell.ctx
    host, port = env.get("HOST", "0.0.0.0"), int(env.get("PORT", "8080"))
    journal = env.get("JOURNAL") or None
    store = log_aggregator.LineStore()
    if journal:
        for row in (_read_bytes(ctx.files, journal) or b"").decode().splitlines():
            if row.strip():
                entry = json.loads(row)
                store.restore(entry["pod"], entry["seq"], entry["line"])

    async def handle(method: str, target: str, body: bytes, client: str, client_cert) -> tuple[int, str]:
        status, answer, new = log_aggregator.respond(store, method, target, body)
        if new and journal:
            pod = json.loads(body)["pod"]
            ctx.files.write(journal, "".join(json.dumps({"pod": pod, **entry}) + "\n" for entry in new),
                            append=True)
        return status, json.dumps(answer)

    shell.python_image.serve(port, handle)
    io.stdout.write(f"log-aggregator: listening on {host}:{port}\n")
    try:
        await until_stopped(shell, _forever())
    finally:
        shell.python_image.unserve(port)
    return 0


# ---------------------------------------------------------------- log_shipper


class SimulatedShipper:
    """The real Shipper's loop, asynchronous, over the pod's simulated files and network."""

    def __init__(self, shell, env: dict, log):
        self.ctx = shell.ctx
        self.log = log
        self.log_path = env.get("LOG_FILE", "/var/log/app/app.log")
        self.url = env.get("AGGREGATOR_URL", "http://log-aggregator:8080/ingest")
        self.state_path = env.get("STATE_FILE", self.log_path + ".shipper-state")
        self.poll_interval = float(env.get("POLL_INTERVAL", "0.2"))
        self.backoff = log_shipper.Backoff(
            base=float(env.get("BACKOFF_BASE", "1")),
            cap=float(env.get("BACKOFF_CAP", "30")),
            jitter=env.get("BACKOFF_JITTER", "1") not in ("0", "false", "no"),
        )
        self.shipped = 0
        self.failures = 0
        content = _read_bytes(self.ctx.files, self.log_path)
        saved = _load_state(self.ctx.files, self.state_path)
        offset, sequence = log_shipper.start_position(
            saved, FILE_ID if content is not None else None, len(content or b""))
        self.batcher = log_shipper.Batcher(_pod_name(shell, env), int(env.get("MAX_LINES", "100")),
                                           float(env.get("MAX_WAIT", "1.0")), sequence)
        self._offset = offset
        self._tail = b""

    def read_new_lines(self) -> int:
        content = _read_bytes(self.ctx.files, self.log_path)
        decision = log_shipper.follow_decision(FILE_ID, self._offset + len(self._tail),
                                               FILE_ID if content is not None else None, len(content or b""))
        if decision == "wait":
            return 0
        if decision == "truncated":
            self.log(f"log-shipper: {self.log_path} was truncated; reading it from the start")
            self._offset, self._tail = 0, b""
        data = content[self._offset + len(self._tail):]
        lines, self._tail = log_shipper.split_lines(self._tail + data, self._offset)
        now = self.ctx.clock.now()
        for line, end in lines:
            self.batcher.add(line, (FILE_ID, end), now)
        if lines:
            self._offset = lines[-1][1]
        return len(lines)

    async def send(self, payload: dict) -> dict:
        """post_batch over the pod network, failing as urllib fails (ShipError)."""
        url = urlsplit(self.url)
        port = url.port or (443 if url.scheme == "https" else 80)
        target = url.path or "/"
        if url.query:
            target += "?" + url.query
        try:
            status, body = await self.ctx.network.http_request(
                "POST", url.hostname or "", port, target, json.dumps(payload).encode())
        except OSError as error:
            raise log_shipper.ShipError(f"<urlopen error [Errno {error.errno}] {error.strerror}>") from error
        if status >= 400:
            raise log_shipper.ShipError(f"HTTP Error {status}: {_phrase(status)}")
        try:
            return json.loads(body or "{}")
        except ValueError as error:
            raise log_shipper.ShipError(str(error)) from error

    async def step(self) -> None:
        self.read_new_lines()
        clock = self.ctx.clock
        batch = self.batcher.next_batch(clock.now())
        if batch is None:
            if self.batcher.pending_count:
                await clock.sleep(self.poll_interval)
            else:  # nothing to ship until the app writes again
                await self.ctx.files.wait_for_change(self.log_path)
            return
        try:
            await self.send(batch.payload())
        except log_shipper.ShipError as error:
            self.batcher.nack(batch)
            self.failures += 1
            delay = self.backoff.next_delay()
            self.log(f"log-shipper: aggregator unreachable ({error}); retry {self.backoff.failures} in {delay:.1f}s")
            await clock.sleep(delay)
            return
        _, offset = self.batcher.ack(batch)
        self.backoff.reset()
        self.shipped += len(batch.lines)
        state = {"inode": FILE_ID, "offset": offset, "next_sequence": batch.next_sequence}
        self.ctx.files.write(self.state_path, json.dumps(state))

    async def run(self) -> None:
        while True:
            await self.step()


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _load_state(files, path: str) -> dict | None:
    content = _read_bytes(files, path)
    try:
        return json.loads(content) if content is not None else None
    except ValueError:
        return None


async def run_log_shipper(shell, argv, io, env) -> int:
    shipper = SimulatedShipper(shell, env, lambda message: io.stdout.write(message + "\n"))
    io.stdout.write(f"log-shipper: following {shipper.log_path} as {shipper.batcher.pod}, "
                    f"shipping to {shipper.url}\n")
    await until_stopped(shell, shipper.run())
    io.stdout.write(f"log-shipper: stopped after shipping {shipper.shipped} lines\n")
    return 0


# ---------------------------------------------------------------- config_reloader


async def run_config_reloader(shell, argv, io, env) -> int:
    ctx = shell.ctx
    path = env.get("CONFIG_FILE", "/etc/app/config.json")
    host, port = env.get("HOST", "0.0.0.0"), int(env.get("PORT", "8080"))
    poll_interval = float(env.get("POLL_INTERVAL", "1"))
    state = config_reloader.ConfigState()

    def check() -> None:
        content = _read_bytes(ctx.files, path)
        if content is None:
            return  # not mounted yet: next poll
        errors = state.errors
        if state.offer(path, content):
            io.stdout.write(f"config-reloader: config version {state.digest[:12]} in force "
                            f"(reloads: {state.reloads})\n")
        elif state.errors > errors:
            io.stdout.write(f"config-reloader: kept the old config; the new one is invalid: {state.last_error}\n")

    async def handle(method: str, target: str, body: bytes, client: str, client_cert) -> tuple[int, str]:
        if method != "GET":
            return 501, ""  # the real handler answers GET only
        status, answer = config_reloader.respond(target, lambda: state.report(PID))
        return status, json.dumps(answer)

    async def poll() -> None:
        while True:
            await ctx.clock.sleep(poll_interval)
            check()

    check()
    shell.python_image.serve(port, handle)
    io.stdout.write(f"config-reloader: listening on {host}:{port}\n")
    try:
        await until_stopped(shell, poll())
    finally:
        shell.python_image.unserve(port)
    return 0


# ---------------------------------------------------------------- mtls_proxy

NO_CERTIFICATE = "PEER_DID_NOT_RETURN_A_CERTIFICATE"
UNKNOWN_ISSUER = "CERTIFICATE_VERIFY_FAILED"


def peer_certificate(pem: str) -> dict:
    """A certificate as `ssl.SSLSocket.getpeercert()` shows it (its subjectAltName part)."""
    certificate = x509.load_pem_x509_certificate(pem.encode())
    names: list[tuple[str, str]] = []
    try:
        alternative = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return {"subjectAltName": ()}
    names += [("DNS", name) for name in alternative.get_values_for_type(x509.DNSName)]
    names += [("URI", uri) for uri in alternative.get_values_for_type(x509.UniformResourceIdentifier)]
    return {"subjectAltName": tuple(names)}


def handshake_refusal(ca_pem: str, client_cert: str | None) -> str | None:
    """Why the inbound TLS handshake fails, in the words ssl gives the real proxy, or None."""
    if not client_cert:
        return NO_CERTIFICATE
    try:
        authority = x509.load_pem_x509_certificate(ca_pem.encode())
        x509.load_pem_x509_certificate(client_cert.encode()).verify_directly_issued_by(authority)
    except Exception:  # a bad signature (InvalidSignature), another key type, a broken PEM
        return UNKNOWN_ISSUER
    return None


async def run_mtls_proxy(shell, argv, io, env) -> int:
    ctx = shell.ctx
    try:
        config = mtls_proxy.config_from(env, list(argv[1:]), program=posixpath.join(shell.cwd, argv[0]))
        own_cert = ctx.files.read(config.cert)
        ctx.files.read(config.key)
        ca_pem = ctx.files.read(config.ca)
    except (ValueError, OSError) as error:
        return _traceback(io, error)
    image = shell.python_image
    stats = mtls_proxy.RequestStats()
    mesh_file_problem: list[str] = []  # logged once, not for every request

    def log(message: str) -> None:
        io.stdout.write(message + "\n")

    def policy() -> mtls_proxy.MeshPolicy:
        """As the real proxy: the mesh file (a ConfigMap key the kubelet refreshes) read each time."""
        try:
            text = ctx.files.read(config.mesh_file) if config.mesh_file else None
        except OSError:
            text = None
        try:
            found = mtls_proxy.mesh_policy(config, text)
            mesh_file_problem.clear()
            return found
        except ValueError as error:
            if mesh_file_problem != [str(error)]:
                mesh_file_problem[:] = [str(error)]
                log(f"mtls-proxy: ignoring the mesh file {config.mesh_file}: {error}")
            return mtls_proxy.mesh_policy(config)

    def finish(direction: str, started: float, status: int, body: str, retries: int = 0) -> tuple[int, str]:
        stats.end(direction, status, ctx.clock.now() - started, retries)
        return status, body

    async def inbound(method: str, target: str, body: bytes, client: str, client_cert) -> tuple[int, str]:
        reason = handshake_refusal(ca_pem, client_cert)
        if reason:
            stats.refuse()
            log(f"mtls-proxy: refused {client}:{_ephemeral_port(ctx)} at the TLS handshake: {reason}")
            raise ConnectionResetError(104, "Connection reset by peer")
        identity = mtls_proxy.identity_of(peer_certificate(client_cert))
        why_not = mtls_proxy.refusal(identity, config.allowed_ids)
        if why_not:
            stats.refuse()
            log(f"mtls-proxy: refused {identity}: {why_not}")
            answer = mtls_proxy.forbidden_response(why_not).split(b"\r\n\r\n", 1)[1]
            return 403, answer.decode()
        number, started = stats.begin("inbound"), ctx.clock.now()
        if mtls_proxy.is_aborted(number, now := policy()):
            log(f"mtls-proxy: fault injected: {now.fault_abort_status} for {method} {target} "
                f"(request {number}, every {now.fault_abort_every})")
            return finish("inbound", started, now.fault_abort_status, mtls_proxy.fault_body())
        host, port = config.upstream
        try:
            status, answer = await ctx.network.http_request(method, host, port, target, body)
        except OSError as error:
            log(f"mtls-proxy: the app at {host}:{port} does not answer: [Errno {error.errno}] {error.strerror}")
            return finish("inbound", started, 503, mtls_proxy.unavailable_body("connection failure"))
        log(f"mtls-proxy: {identity} -> app")
        return finish("inbound", started, status, answer)

    async def outbound(method: str, target: str, body: bytes, client: str, client_cert) -> tuple[int, str]:
        host, port = config.peer
        stats.begin("outbound")
        started, now, attempt = ctx.clock.now(), policy(), 0
        while True:
            try:
                status, answer = await ctx.network.http_request(method, host, port, target, body, client_cert=own_cert)
            except OSError as error:
                log(f"mtls-proxy: cannot reach {host}:{port} over mTLS: {error}")
                status, answer = None, ""
            if not mtls_proxy.should_retry(status, attempt, now):
                break
            why = f"{status} from {host}:{port}" if status else f"no answer from {host}:{port}"
            log(f"mtls-proxy: retry {attempt + 1}/{now.retries} of {method} {target}: {why}")
            await ctx.clock.sleep(mtls_proxy.retry_delay(attempt))
            attempt += 1
        if status is None:
            return finish("outbound", started, 503, mtls_proxy.unavailable_body("connection failure"), attempt)
        return finish("outbound", started, status, answer, attempt)

    async def metrics(method: str, target: str, body: bytes, client: str, client_cert) -> tuple[int, str]:
        status, _, answer = mtls_proxy.stats_answer(method, target, stats)
        return status, answer

    listeners = {}
    if config.inbound_port is not None:
        listeners[config.inbound_port] = inbound
    if config.outbound_port is not None:
        listeners[config.outbound_port] = outbound
    if config.metrics_port is not None:
        listeners[config.metrics_port] = metrics
    for port, handler in listeners.items():
        image.serve(port, handler)
    log(f"mtls-proxy: inbound {config.inbound_port} -> {config.upstream[0]}:{config.upstream[1]}, "
        f"outbound {config.outbound_port} -> {config.peer}")
    if config.metrics_port is not None:
        log(f"mtls-proxy: metrics on {config.metrics_host}:{config.metrics_port} (GET /stats, /metrics)")
    try:
        await until_stopped(shell, _forever())
    finally:
        for port in listeners:
            image.unserve(port)
    return 0


def _ephemeral_port(ctx) -> int:
    """The caller's source port: Linux picks one from 32768-60999."""
    return 32768 + int(ctx.clock.now() * 1000) % 28232


PROGRAMS = {
    "log_writer.py": run_log_writer,
    "log_aggregator.py": run_log_aggregator,
    "log_shipper.py": run_log_shipper,
    "config_reloader.py": run_config_reloader,
    "mtls_proxy.py": run_mtls_proxy,
}
