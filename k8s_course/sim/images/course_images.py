"""The course's own behaviour images: a crasher, a slow starter, a sidecar race (see models).

Each reads its knobs from the container's env, so a lesson's manifest says what will happen:
`EXIT_CODE`/`CRASH_AFTER`, `READY_AFTER`, `PROXY_PORT`, `PORT`/`START_DELAY`.
"""

from __future__ import annotations

import asyncio

from k8s_course.sim.images import base
from k8s_course.sim.images.models import Server, env_number


class Crasher(Server):
    async def start(self, ctx) -> int | None:
        after, code = env_number(ctx, "CRASH_AFTER", 5), int(env_number(ctx, "EXIT_CODE", 1))
        ctx.log(f"crasher: started; exiting with code {code} in {after:g} seconds", "stdout")
        stop = asyncio.ensure_future(ctx.stopping.wait())
        try:
            await asyncio.wait({stop, asyncio.ensure_future(ctx.clock.sleep(after))},
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if ctx.stopping.is_set():
            return 143
        ctx.log(f"crasher: exiting with code {code}", "stderr")
        return code


class SlowReady(Server):
    async def start(self, ctx) -> int | None:
        ctx.log(f"slow-ready: starting; ready in {env_number(ctx, 'READY_AFTER', 30):g} seconds",
                "stdout")
        if not base.declared_ports(ctx.container):
            ctx.listen(int(env_number(ctx, "PORT", 8080)))
        return None

    def ready(self, ctx) -> bool:
        return ctx.clock.now() - self.started_at >= env_number(ctx, "READY_AFTER", 30)

    async def probe(self, handler: dict, ctx) -> base.ProbeResult:
        path = (handler.get("httpGet") or {}).get("path", "/")
        if "httpGet" in handler and path in ("/healthz", "/livez"):
            return await super().probe(handler, ctx)
        if not self.ready(ctx):
            if "httpGet" in handler:
                return base.ProbeResult(False, "HTTP probe failed with statuscode: 503")
            if "exec" in handler:
                return base.ProbeResult(False, "not ready yet\n")
        return await super().probe(handler, ctx)

    async def serve_http(self, port: int, path: str, ctx, client: str = "10.244.0.1") -> tuple[int, str]:
        if path in ("/healthz", "/livez") or self.ready(ctx):
            return 200, "ok\n"
        return 503, "not ready\n"


class NeedsProxy(Server):
    async def start(self, ctx) -> int | None:
        port = int(env_number(ctx, "PROXY_PORT", 15001))
        if not ctx.network.is_listening("localhost", port):
            ctx.log(f"needs-proxy: cannot reach the proxy: dial tcp 127.0.0.1:{port}: connect: "
                    "connection refused", "stderr")
            return 1
        ctx.log(f"needs-proxy: connected to the proxy on localhost:{port}", "stdout")
        return None

    async def serve_http(self, port: int, path: str, ctx, client: str = "10.244.0.1") -> tuple[int, str]:
        return 200, "ok\n"


class Proxy(Server):
    async def start(self, ctx) -> int | None:
        delay, port = env_number(ctx, "START_DELAY", 0), int(env_number(ctx, "PORT", 15001))
        ctx.log("proxy: starting", "stdout")
        if delay:
            stop = asyncio.ensure_future(ctx.stopping.wait())
            try:
                await asyncio.wait({stop, asyncio.ensure_future(ctx.clock.sleep(delay))},
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
            if ctx.stopping.is_set():
                return 0
        ctx.listen(port)
        ctx.log(f"proxy: listening on :{port}", "stdout")
        return None

    async def serve_http(self, port: int, path: str, ctx, client: str = "10.244.0.1") -> tuple[int, str]:
        return 200, "ok\n"
