"""Fakes for the image-model tests: a manual clock in the test's loop, a pod, a small network."""

from __future__ import annotations

import asyncio

from k8s_course.sim.clock import ManualClock
from k8s_course.sim.images.base import ContainerContext
from k8s_course.sim.images.files import PodFilesystem


class FakeNetwork:
    """Names -> IPs, and (ip, port) -> (model, ctx) of the container that serves there."""

    def __init__(self, names: dict[str, list[str]] | None = None):
        self.names = dict(names or {})
        self.servers: dict[tuple[str, int], tuple[object, ContainerContext]] = {}
        self.local: list[ContainerContext] = []  # the contexts of the pod (its localhost)

    def _ip(self, host: str) -> str:
        if host in ("localhost", "127.0.0.1"):
            return "127.0.0.1"
        return (self.names.get(host) or [host])[0]

    def resolve(self, name: str) -> list[str]:
        import ipaddress

        try:
            return [str(ipaddress.ip_address(name))]  # an address resolves to itself, as getaddrinfo does
        except ValueError:
            pass
        if name == "localhost":
            return ["127.0.0.1"]
        return list(self.names.get(name, []))

    def is_listening(self, host: str, port: int) -> bool:
        if self._ip(host) == "127.0.0.1":
            return any(port in ctx.listening for ctx in self.local)
        served = self.servers.get((self._ip(host), port))
        return served is not None and port in served[1].listening

    async def http_get(self, host: str, port: int, path: str) -> tuple[int, str]:
        served = self.servers.get((self._ip(host), port))
        if served is None or port not in served[1].listening:
            raise ConnectionRefusedError(f"{host}:{port}")
        model, ctx = served
        return await model.serve_http(port, path, ctx)


class FakePod:
    """One pod's files and one context per container, logging into `self.logs[container]`."""

    def __init__(self, spec: dict, clock: ManualClock, network: FakeNetwork | None = None,
                 name: str = "web-0", ip: str = "10.244.1.5"):
        self.spec, self.clock, self.name, self.ip = spec, clock, name, ip
        self.network = network or FakeNetwork()
        self.files = PodFilesystem(spec, hostname=name, pod_ip=ip)
        self.logs: dict[str, list[tuple[str, str]]] = {}
        self.contexts: dict[str, ContainerContext] = {}

    def container(self, name: str) -> dict:
        return next(c for c in self.spec["containers"] if c["name"] == name)

    def context(self, name: str, env: dict[str, str] | None = None) -> ContainerContext:
        container = self.container(name)
        if env is None:
            env = {e["name"]: e.get("value", "") for e in container.get("env") or []}
        lines = self.logs.setdefault(name, [])
        ctx = ContainerContext(
            pod={"metadata": {"name": self.name, "namespace": "default"}, "spec": self.spec},
            container=container, clock=self.clock, files=self.files.view(name),
            network=self.network, env=env, hostname=self.name, pod_ip=self.ip,
            log=lambda line, stream="stdout": lines.append((stream, line)))
        self.contexts[name] = ctx
        self.network.local.append(ctx)
        return ctx

    def lines(self, name: str, stream: str | None = None) -> list[str]:
        return [line for s, line in self.logs.get(name, []) if stream in (None, s)]


async def settle(turns: int = 200) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


async def advance(clock: ManualClock, seconds: float, step: float = 1.0) -> None:
    """Move the manual clock in steps, letting every sleeper run after each."""
    await settle()
    left = seconds
    while left > 1e-9:
        move = min(step, left)
        clock.advance(move)
        left -= move
        await settle()


def run(scenario, start: float = 1_800_000_000.0):
    """`asyncio.run(scenario(clock))` with the clock's timer loop running beside it."""

    async def main():
        clock = ManualClock(start)
        runner = asyncio.ensure_future(clock.run())
        try:
            return await scenario(clock)
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    return asyncio.run(main())
