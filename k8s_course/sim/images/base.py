"""What an image model is, and what the kubelet gives a container to run in.

The kubelet runs `await model.run(ctx)` as the container's main process: it returns the exit
code, or is cancelled when the kubelet stops the container (after `stop()` had its grace
period). Probes and exec are answered by the model too. Everything a model does goes through
its `ContainerContext`: the clock (all waiting is simulated time), its log, the pod's shared
files and localhost ports, and the cluster's names and addresses.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol


class PullError(Exception):
    """The image cannot be pulled: the kubelet reports ErrImagePull, then ImagePullBackOff."""


@dataclass
class ExecResult:
    exit_code: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class ProbeResult:
    success: bool
    message: str = ""  # why it failed, as the kubelet's Unhandled event words it


class PodFiles(Protocol):
    """The files of one pod: its volumes (shared by its containers) and each container's own."""

    def read(self, path: str) -> str: ...  # FileNotFoundError, IsADirectoryError
    def write(self, path: str, text: str, append: bool = False) -> None: ...
    def exists(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def listdir(self, path: str) -> list[str]: ...
    def mkdir(self, path: str, parents: bool = False) -> None: ...
    def remove(self, path: str) -> None: ...
    async def wait_for_change(self, path: str) -> None: ...  # returns when `path` is written


class Network(Protocol):
    """What a container can reach: its pod's localhost ports, Services and pods by name."""

    def resolve(self, name: str) -> list[str]: ...  # Service / pod DNS names -> IPs ([] unknown)
    def is_listening(self, host: str, port: int) -> bool: ...
    async def http_get(self, host: str, port: int, path: str) -> tuple[int, str]: ...  # ConnectionError


class Clock(Protocol):
    def now(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


@dataclass
class ContainerContext:
    """One container's world, handed to its model by the kubelet."""

    pod: dict  # the Pod object as the kubelet last saw it
    container: dict  # this container's spec
    clock: Clock
    files: PodFiles
    network: Network
    env: dict[str, str] = field(default_factory=dict)
    hostname: str = ""
    pod_ip: str = ""
    # set by the kubelet: write one line to this container's log (stdout or stderr)
    log: callable = lambda line, stream="stdout": None  # type: ignore[assignment]
    # the ports this container listens on in the pod's network namespace (localhost)
    listening: set[int] = field(default_factory=set)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # SIGTERM was sent

    def listen(self, port: int) -> None:
        self.listening.add(port)

    def close(self, port: int) -> None:
        self.listening.discard(port)


class ImageModel:
    """The default behaviour: start, listen on the declared ports, run until stopped."""

    ready_after: float = 0.0  # seconds before the declared ports answer

    async def run(self, ctx: ContainerContext) -> int:
        if self.ready_after:
            await ctx.clock.sleep(self.ready_after)
        for port in declared_ports(ctx.container):
            ctx.listen(port)
        await ctx.stopping.wait()
        return 0  # stopped politely by SIGTERM

    async def probe(self, handler: dict, ctx: ContainerContext) -> ProbeResult:
        """Answer an exec, httpGet or tcpSocket probe (the handler dict of the probe)."""
        if "tcpSocket" in handler or "httpGet" in handler:
            spec = handler.get("tcpSocket") or handler.get("httpGet")
            port = resolve_port(spec.get("port"), ctx.container)
            if port in ctx.listening:
                return ProbeResult(True)
            kind = "Get" if "httpGet" in handler else "dial tcp"
            return ProbeResult(False, f'{kind} "{ctx.pod_ip}:{port}": connect: connection refused')
        if "exec" in handler:
            result = await self.exec(handler["exec"].get("command") or [], ctx)
            return ProbeResult(result.exit_code == 0, result.stdout + result.stderr)
        return ProbeResult(True)

    async def exec(self, command: list[str], ctx: ContainerContext) -> ExecResult:
        """`kubectl exec` into the container; the default image has no shell to speak of."""
        name = command[0] if command else ""
        return ExecResult(126, "", f'OCI runtime exec failed: exec failed: unable to start container process: '
                                   f'exec: "{name}": executable file not found in $PATH: unknown\n')


def declared_ports(container: dict) -> list[int]:
    return [p["containerPort"] for p in container.get("ports") or [] if isinstance(p.get("containerPort"), int)]


def resolve_port(port, container: dict) -> int | None:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return declared.get("containerPort")
    try:
        return int(port)
    except (TypeError, ValueError):
        return None
