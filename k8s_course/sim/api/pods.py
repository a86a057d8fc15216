"""Pod logs, exec and attach, and the metrics API: what the API server asks a node's kubelet.

The API server hands `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward` to
`server.extensions.pod_<subresource>(request, pod)` and metrics.k8s.io lists to
`server.extensions.metrics(plural, namespace)`. `PodIO` answers them from the kubelets, by
node name, the way kube-apiserver proxies to the kubelet on the pod's node: the same checks,
the same error wording, the same wire formats.

- logs: `container`, `previous`, `tailLines`, `sinceSeconds`/`sinceTime`, `timestamps`
  (RFC 3339 with nanoseconds, as the kubelet writes), `limitBytes`, `follow` (a chunked stream
  that ends when the container stops).
- exec and attach: the WebSocket channel protocol (`v5.channel.k8s.io`, or
  `v4.channel.k8s.io`) that kubectl 1.30+ and the official Python client's `stream()` speak:
  every binary message starts with its channel (0 stdin, 1 stdout, 2 stderr, 3 the final v1
  Status, 4 terminal resize; v5 adds 255, "close this channel").
- metrics: PodMetrics and NodeMetrics as metrics-server returns them (cpu in nanocores, memory
  in Ki), for `kubectl top`.

What PodIO needs of a kubelet (see `KubeletIO`): `running`, `log_lines`, `follow`, `exec` and
`usage`; `crash` is for the admin API (api/admin_nodes.py).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from .. import errors, quantities
from ..clock import format_time, parse_time
from ..objects import Objects
from .requests import flag, integer

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
METRICS_WINDOW = "10s"  # metav1.Duration of metrics-server's 10 s scrape window, as Go prints it
KUBELET_PORT = 10250
# what an idle kind node uses besides its pods (kubelet, containerd, kube-proxy, kindnet, ...)
NODE_OVERHEAD = {"worker": (Decimal("0.025"), Decimal(180 * 1024 * 1024)),
                 "control-plane": (Decimal("0.12"), Decimal(700 * 1024 * 1024))}


class KubeletIO(Protocol):
    """What PodIO calls on the kubelet of a pod's node.

    Log entries are `(time, text)` pairs (time in simulated seconds since the epoch, text one
    line without its newline); plain strings are taken as lines without a time.
    """

    running: bool

    def log_lines(self, namespace: str, pod: str, container: str, previous: bool) -> Iterable: ...

    # entries written from the moment of the call on; ends when the container stops. The
    # subscription must start in the call itself (not at the first iteration), so that
    # nothing written between `log_lines` and `follow` is lost.
    def follow(self, namespace: str, pod: str, container: str) -> AsyncIterator: ...

    async def exec(self, namespace: str, pod: str, container: str, command: list[str]) -> Any: ...

    # {container: {"cpu": cores (number or quantity), "memory": bytes (number or quantity)}}
    def usage(self, namespace: str, pod: str) -> dict | None: ...


class PodIO:
    """The API server's side of pod I/O, for `server.extensions` (see `install`)."""

    def __init__(self, kubelets: dict[str, KubeletIO], objects: Objects):
        self.kubelets = kubelets  # by node name; the caller may add kubelets later
        self.objects = objects
        self.clock = objects.clock

    def install(self, extensions) -> None:
        """Plug into an `Extensions` object (the API server's `server.extensions`)."""
        extensions.pod_log = self.pod_log
        extensions.pod_exec = self.pod_exec
        extensions.pod_attach = self.pod_attach
        extensions.pod_portforward = self.pod_portforward
        extensions.metrics = self.metrics

    # logs

    async def pod_log(self, request: web.Request, pod: dict) -> web.StreamResponse:
        query = request.query
        container = choose_container(pod, query.get("container"))
        previous = flag(query.get("previous"))
        follow = flag(query.get("follow"))
        timestamps = flag(query.get("timestamps"))
        tail, limit, since = self._log_options(pod, query)
        if not pod["spec"].get("nodeName"):
            return web.Response(body=b"", content_type="text/plain")  # not on a node: no logs yet
        kubelet = self._kubelet(pod, f"containerLogs/{_path(pod)}/{container}")
        status = container_status(pod, container)
        log_source_check(pod, container, status, previous)
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        entries = [_entry(item) for item in kubelet.log_lines(namespace, name, container, previous) or ()]
        # follow only what is running now: the subscription starts before any await
        following = None
        if follow and not previous and "running" in ((status or {}).get("state") or {}):
            following = kubelet.follow(namespace, name, container)
        if tail is not None:
            entries = entries[-tail:] if tail else []
        if since is not None:
            entries = [e for e in entries if e[0] is None or e[0] >= since]
        body = b"".join(_format_entry(e, timestamps) for e in entries)
        if limit is not None:
            body = body[:limit]
        if following is None:
            return web.Response(body=body, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent = len(body)
        try:
            if body:
                await response.write(body)
            async for item in following if limit is None or sent < limit else _nothing():
                chunk = _format_entry(_entry(item), timestamps)
                if limit is not None:
                    chunk = chunk[:max(limit - sent, 0)]
                if chunk:
                    await response.write(chunk)
                    sent += len(chunk)
                if limit is not None and sent >= limit:
                    break  # the limit is reached: no need to wait for another line
        except (ConnectionResetError, asyncio.CancelledError):
            await _close_quietly(following)
            raise
        await _close_quietly(following)
        await response.write_eof()
        return response

    def _log_options(self, pod: dict, query) -> tuple[int | None, int | None, float | None]:
        """PodLogOptions, validated as the API server does (422 PodLogOptions)."""
        tail = integer(query, "tailLines")
        limit = integer(query, "limitBytes")
        since_seconds = integer(query, "sinceSeconds")
        since_time = query.get("sinceTime")
        problems = []
        if tail is not None and tail < 0:
            problems.append(errors.invalid("tailLines", tail, "must be greater than or equal to 0"))
        if limit is not None and limit < 1:
            problems.append(errors.invalid("limitBytes", limit, "must be greater than 0"))
        if since_seconds is not None and since_time:
            problems.append(errors.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
        if since_seconds is not None and since_seconds < 1:
            problems.append(errors.invalid("sinceSeconds", since_seconds, "must be greater than 0"))
        if problems:
            raise errors.invalid_object("PodLogOptions", "", pod["metadata"]["name"], problems)
        since = None
        if since_seconds is not None:
            since = self.clock.now() - since_seconds
        elif since_time:
            try:
                since = parse_time(since_time)
            except ValueError:
                raise errors.bad_request(f'parsing time "{since_time}" as "2006-01-02T15:04:05Z07:00": '
                                         "cannot parse it") from None
        return tail, limit, since

    # exec and attach

    async def pod_exec(self, request: web.Request, pod: dict) -> web.StreamResponse:
        query = request.query
        container = choose_container(pod, query.get("container"))
        command = query.getall("command", [])
        stdin, stdout, stderr, tty = (flag(query.get(k)) for k in ("stdin", "stdout", "stderr", "tty"))
        if not (stdin or stdout or stderr):
            raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
        if not command:
            raise errors.bad_request("you must specify at least one command for the container")
        kubelet = self._streaming_kubelet(pod, container, "exec")
        if not _running(pod, container):
            return _container_not_found(container)
        ws = await _upgrade(request)
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        try:
            given = await _read_stdin(ws) if stdin else None
            result = await _run_exec(kubelet, namespace, name, container, command, given)
        except Exception as error:  # the runtime failed: the client still gets a Status
            await _send_status(ws, _failure(f"error executing command {_go_list(command)}: {error}"))
            await ws.close()
            return ws
        out, err = _text(getattr(result, "stdout", "")), _text(getattr(result, "stderr", ""))
        if tty:  # a terminal has one output stream
            out, err = out + err, ""
        if stdout and out:
            await _send(ws, STDOUT, out.encode())
        if stderr and err:
            await _send(ws, STDERR, err.encode())
        await _send_status(ws, exit_status(getattr(result, "exit_code", 0), command))
        await ws.close()
        return ws

    async def pod_attach(self, request: web.Request, pod: dict) -> web.StreamResponse:
        """The container's output from now on, until it stops (stdin is not passed on)."""
        query = request.query
        container = choose_container(pod, query.get("container"))
        stdin, stdout, stderr = (flag(query.get(k)) for k in ("stdin", "stdout", "stderr"))
        if not (stdin or stdout or stderr):
            raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
        kubelet = self._streaming_kubelet(pod, container, "attach")
        if not _running(pod, container):
            return _container_not_found(container)
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        following = kubelet.follow(namespace, name, container)
        ws = await _upgrade(request)
        try:
            async for item in following:
                if ws.closed:
                    break
                if stdout:
                    await _send(ws, STDOUT, _format_entry(_entry(item), False))
        finally:
            await _close_quietly(following)
        if not ws.closed:
            await _send_status(ws, {"metadata": {}, "status": "Success"})
            await ws.close()
        return ws

    async def pod_portforward(self, request: web.Request, pod: dict) -> web.StreamResponse:
        raise errors.bad_request(
            "the simulated cluster does not forward ports: its pods have no real sockets. Reach a "
            "pod through a Service and `kubectl exec`, or run the lesson on kind for port-forward")

    def _streaming_kubelet(self, pod: dict, container: str, verb: str) -> KubeletIO:
        if not pod["spec"].get("nodeName"):
            raise errors.bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")
        return self._kubelet(pod, f"{verb}/{_path(pod)}/{container}", dialing=True)

    def _kubelet(self, pod: dict, path: str, dialing: bool = False) -> KubeletIO:
        node = pod["spec"]["nodeName"]
        kubelet = self.kubelets.get(node)
        if kubelet is None or not getattr(kubelet, "running", True):
            address = self._node_ip(node)
            problem = f"dial tcp {address}:{KUBELET_PORT}: connect: no route to host"
            if dialing:
                raise errors.APIError(500, "", f"error dialing backend: {problem}")
            raise errors.APIError(500, "", f'Get "https://{address}:{KUBELET_PORT}/{path}": {problem}')
        return kubelet

    def _node_ip(self, node_name: str) -> str:
        node = self.objects.store.get(("", "nodes"), "", node_name) or {}
        for address in (node.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                return address.get("address", node_name)
        return node_name

    # metrics

    def metrics(self, plural: str, namespace: str | None) -> list[dict]:
        """metrics.k8s.io items: PodMetrics of running pods, NodeMetrics of answering nodes."""
        now = format_time(self.clock.now())
        pods = [p for p in self.objects.store.list(("", "pods"), namespace if plural == "pods" else None)
                if (p.get("status") or {}).get("phase") == "Running" and p["spec"].get("nodeName")]
        usage_by_pod: dict[tuple[str, str], dict[str, tuple[Decimal, Decimal]]] = {}
        for pod in pods:
            kubelet = self.kubelets.get(pod["spec"]["nodeName"])
            if kubelet is None or not getattr(kubelet, "running", True):
                continue
            usage = kubelet.usage(pod["metadata"]["namespace"], pod["metadata"]["name"])
            if usage:
                usage_by_pod[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = {
                    name: _usage_pair(values) for name, values in usage.items()}
        if plural == "pods":
            return [pod_metrics(pod, usage_by_pod[key], now) for pod in pods
                    if (key := (pod["metadata"]["namespace"], pod["metadata"]["name"])) in usage_by_pod]
        items = []
        for node in self.objects.store.list(("", "nodes"), None):
            name = node["metadata"]["name"]
            kubelet = self.kubelets.get(name)
            if kubelet is None or not getattr(kubelet, "running", True):
                continue
            labels = node["metadata"].get("labels") or {}
            cpu, memory = NODE_OVERHEAD["control-plane" if "node-role.kubernetes.io/control-plane" in labels
                                        else "worker"]
            for pod in pods:
                if pod["spec"]["nodeName"] == name:
                    for pod_cpu, pod_memory in usage_by_pod.get(
                            (pod["metadata"]["namespace"], pod["metadata"]["name"]), {}).values():
                        cpu, memory = cpu + pod_cpu, memory + pod_memory
            items.append({"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                          "metadata": {"name": name, "creationTimestamp": now, "labels": dict(labels)},
                          "timestamp": now, "window": METRICS_WINDOW,
                          "usage": {"cpu": cpu_quantity(cpu), "memory": memory_quantity(memory)}})
        return items


# pure helpers

def choose_container(pod: dict, name: str | None) -> str:
    """The container a log or exec request means, or the API server's 400 (validateContainer)."""
    spec = pod["spec"]
    containers = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    ephemeral = [c["name"] for c in spec.get("ephemeralContainers") or []]
    pod_name = pod["metadata"]["name"]
    if not name:
        if len(containers) == 1:
            return containers[0]
        if not containers:
            raise errors.bad_request(f"a container name must be specified for pod {pod_name}")
        message = f"a container name must be specified for pod {pod_name}, choose one of: [{' '.join(containers)}]"
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        if ephemeral:
            message += f" or one of the ephemeral containers: [{' '.join(ephemeral)}]"
        raise errors.bad_request(message)
    if name not in containers + inits + ephemeral:
        raise errors.bad_request(f"container {name} is not valid for pod {pod_name}")
    return name


def container_status(pod: dict, container: str) -> dict | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for item in status.get(key) or []:
            if item.get("name") == container:
                return item
    return None


def log_source_check(pod: dict, container: str, status: dict | None, previous: bool) -> None:
    """The kubelet's refusals (validateContainerLogStatus), as 400s with its wording."""
    pod_name = pod["metadata"]["name"]
    if status is None:
        raise errors.bad_request(f'container "{container}" in pod "{pod_name}" is not available')
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated")
    if previous:
        if not last:
            raise errors.bad_request(f'previous terminated container "{container}" in pod "{pod_name}" not found')
        return
    if "running" in state or "terminated" in state or last:
        return
    waiting = state.get("waiting")
    if waiting is not None:
        reason = waiting.get("reason") or ""
        if reason == "ErrImagePull":
            reason = "image can't be pulled"
        elif reason == "ImagePullBackOff":
            reason = "trying and failing to pull image"
        raise errors.bad_request(f'container "{container}" in pod "{pod_name}" is waiting to start: {reason}')
    raise errors.bad_request(f'container "{container}" in pod "{pod_name}" is waiting to start - no logs yet')


def exit_status(exit_code: int, command: list[str]) -> dict:
    """The v1 Status on the error channel: Success, or NonZeroExitCode with the code as a cause."""
    if not exit_code:
        return {"metadata": {}, "status": "Success"}
    status = _failure(f"command terminated with non-zero exit code: error executing command "
                      f"{_go_list(command)}, exit code {exit_code}")
    status["reason"] = "NonZeroExitCode"
    status["details"] = {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}
    return status


def _usage_pair(values) -> tuple[Decimal, Decimal]:
    """A kubelet's usage of one container: (nanocores, bytes), or {"cpu": cores, "memory": bytes}."""
    if isinstance(values, (tuple, list)):
        nanocores, memory = values
        return Decimal(nanocores) / Decimal(1_000_000_000), Decimal(memory)
    return _amount(values.get("cpu", 0)), _amount(values.get("memory", 0))


def pod_metrics(pod: dict, usage: dict[str, tuple[Decimal, Decimal]], now: str) -> dict:
    meta = pod["metadata"]
    order = [c["name"] for c in pod["spec"].get("containers") or []]
    names = [n for n in order if n in usage] + sorted(n for n in usage if n not in order)
    return {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "creationTimestamp": now,
                         "labels": dict(meta.get("labels") or {})},
            "timestamp": now, "window": METRICS_WINDOW,
            "containers": [{"name": n, "usage": {"cpu": cpu_quantity(usage[n][0]),
                                                 "memory": memory_quantity(usage[n][1])}} for n in names]}


def cpu_quantity(cores: Decimal) -> str:
    """Cores as metrics-server writes them: nanocores, shortened when exact ("3m", "1234567n")."""
    nanocores = int((Decimal(cores) * 1_000_000_000).to_integral_value())
    return quantities.format_quantity(Decimal(nanocores).scaleb(-9))


def memory_quantity(amount: Decimal) -> str:
    """Bytes as metrics-server writes them: whole Ki, shortened when exact ("12Mi", "12345Ki")."""
    return quantities.canonical_quantity(f"{int(amount) // 1024}Ki")


def format_log_time(seconds: float) -> str:
    """RFC 3339 with exactly nine fraction digits, as the kubelet prefixes `--timestamps` lines."""
    whole = int(seconds)
    nanos = int(round((seconds - whole) * 1_000_000_000))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    return datetime.fromtimestamp(whole, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def _amount(value) -> Decimal:
    if isinstance(value, str):
        return quantities.parse_quantity(value)
    return Decimal(str(value))


def _entry(item) -> tuple[float | None, str]:
    if isinstance(item, str):
        return None, item
    if isinstance(item, (tuple, list)):
        when = item[0] if len(item) > 1 and isinstance(item[0], (int, float)) else None
        return when, str(item[-1])
    when = getattr(item, "time", None)
    return when, str(getattr(item, "text", getattr(item, "line", item)))


def _format_entry(entry: tuple[float | None, str], timestamps: bool) -> bytes:
    when, text = entry
    if not text.endswith("\n"):
        text += "\n"
    if timestamps and when is not None:
        text = f"{format_log_time(when)} {text}"
    return text.encode()


def _running(pod: dict, container: str) -> bool:
    return "running" in ((container_status(pod, container) or {}).get("state") or {})


def _container_not_found(container: str) -> web.Response:
    # the kubelet finds no running container by that name; its plain-text 500 comes back
    # through the API server as is (kubectl: "error: unable to upgrade connection: ...")
    return web.Response(status=500, text=f'container not found ("{container}")')


def _path(pod: dict) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def _go_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


def _failure(message: str) -> dict:
    return {"metadata": {}, "status": "Failure", "message": message}


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")


async def _upgrade(request: web.Request) -> web.WebSocketResponse:
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise errors.bad_request("Upgrade request required: the simulated cluster streams exec and attach "
                                 f"over WebSocket ({V5} or {V4}), not SPDY")
    ws = web.WebSocketResponse(protocols=(V5, V4), autoping=True)
    await ws.prepare(request)
    return ws


async def _send(ws: web.WebSocketResponse, channel: int, data: bytes) -> None:
    if not ws.closed:
        await ws.send_bytes(bytes([channel]) + data)


async def _send_status(ws: web.WebSocketResponse, status: dict) -> None:
    await _send(ws, ERROR, json.dumps(status, separators=(",", ":")).encode())


async def _read_stdin(ws: web.WebSocketResponse) -> str:
    """What the client sends on stdin: until v5's close of channel 0; v4 cannot say, so nothing."""
    if ws.ws_protocol != V5:
        return ""
    received = bytearray()
    async for message in ws:
        if message.type != WSMsgType.BINARY or not message.data:
            continue
        channel, payload = message.data[0], message.data[1:]
        if channel == STDIN:
            received += payload
        elif channel == CLOSE and payload[:1] == bytes([STDIN]):
            break
    return received.decode(errors="replace")


async def _run_exec(kubelet, namespace: str, name: str, container: str, command: list[str], stdin: str | None):
    method = kubelet.exec
    if stdin is not None and "stdin" in inspect.signature(method).parameters:
        return await method(namespace, name, container, command, stdin=stdin)
    return await method(namespace, name, container, command)


async def _nothing():
    return
    yield


async def _close_quietly(iterator) -> None:
    closer = getattr(iterator, "aclose", None)
    if closer is not None:
        try:
            await closer()
        except Exception:  # the kubelet's stream ends however it ends
            pass
