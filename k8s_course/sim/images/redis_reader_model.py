"""`python /app/redis_reader.py` in the simulator: the app's read loop on simulated redis.

The real program's loop (k8s_course.workloads.redis_reader.run_reader) runs here unchanged: the
same keys in turn at the same rate, the same per-second lines. Its reads go through the
cluster's RESP servers (`redis_models.RespServers.call`, so `127.0.0.1:6379` is the pod's
ambassador), its clock and sleeps are the simulated clock's, and a read that does not answer
fails after TIMEOUT of simulated time. `python /app/redis_reader.py info` asks for
`INFO ambassador` once and prints what the real one prints.
"""

from __future__ import annotations

import asyncio
import socket

from k8s_course.sim.images import program_args, redis_models
from k8s_course.workloads import ambassador as resp
from k8s_course.workloads import redis_reader as core


def _as_reader_reply(value: object) -> object:
    """A RESP value of the simulated servers as the reader's own parser would give it."""
    if isinstance(value, resp.RespError):
        return core.ReplyError(str(value))
    return value


async def _within(clock, awaitable, seconds: float):
    """`asyncio.wait_for` on the simulated clock: the result, or TimeoutError after `seconds`."""
    work = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
    if work.cancelled():
        raise TimeoutError(f"no answer within {seconds:g}s")
    return work.result()


async def redis_reader_program(shell, argv: list[str], io, env: dict) -> int:
    """`python /app/redis_reader.py [info] [options]`."""
    ctx = shell.ctx
    parsed = program_args.settings_or_exit_code(core.settings_from, argv, env, io, "redis-reader")
    if isinstance(parsed, int):
        return parsed
    mode, settings = parsed
    servers = redis_models.servers_for(ctx.network)
    host, port = settings.address

    async def command(*words: str) -> object:
        try:
            reply = await _within(ctx.clock, servers.call(ctx, host, port, [w.encode() for w in words],
                                                          settings.timeout), settings.timeout)
        except redis_models.Unreachable as failure:
            # the real program's socket errors, so that it words them as it does
            raise {"connection refused": ConnectionRefusedError(111, "Connection refused"),
                   "cannot resolve host": socket.gaierror(-2, "Name or service not known")}.get(
                       str(failure), ConnectionResetError(104, "connection lost")) from None
        return _as_reader_reply(reply)

    if mode == "info":
        try:
            reply = await command("INFO", "ambassador")
        except (OSError, TimeoutError) as error:
            io.stderr.write(f"redis-reader: cannot ask {settings.target}: {core.describe(error, settings.timeout)}\n")
            return 1
        io.stdout.write(core.info_text(reply, ctx.clock.now()))
        return 0

    def log(line: str) -> None:
        io.stdout.write(line + "\n")  # print(..., flush=True) in the real program

    log(f"redis-reader: reading {len(settings.keys)} keys from {settings.target}, {settings.rate:g} a second")
    task = asyncio.ensure_future(core.run_reader(settings, lambda key: command("GET", key), ctx.clock.now,
                                                 ctx.clock.sleep, log))
    stopping = asyncio.ensure_future((shell.stopping or ctx.stopping).wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()  # SIGTERM: the real program's signal handler cancels the loop
        await asyncio.gather(task, return_exceptions=True)
    log("redis-reader: stopped")
    return 0


PROGRAMS = {"redis_reader.py": redis_reader_program}

__all__ = ["PROGRAMS", "redis_reader_program"]
