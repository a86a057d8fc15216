"""The kubelet's probes of one running container: startup, then readiness and liveness.

Each probe runs at `initialDelaySeconds` after the container started, then every
`periodSeconds` (10); an answer slower than `timeoutSeconds` (1) is a failure. The image
model answers (`model.probe(handler, ctx)`). A startup probe holds the others back until it
succeeds `successThreshold` times; `failureThreshold` (3) failures in a row of a startup or
liveness probe kill the container (it restarts per the pod's restartPolicy), of a readiness
probe mark it unready. Every failure is an `Unhealthy` Warning event, worded as the kubelet's.
"""

from __future__ import annotations

import asyncio

from .images import base
from .kubelet_formats import probe_setting

KINDS = {"startupProbe": "Startup", "readinessProbe": "Readiness", "livenessProbe": "Liveness"}


async def probe_container(worker, slot, instance) -> None:
    """Runs for as long as `instance` runs (the instance cancels it when it exits)."""
    startup = slot.spec.get("startupProbe")
    if startup:
        if not await _until_started(worker, slot, instance, startup):
            return
    if not slot.running or slot.instance is not instance:
        return
    slot.set_started()
    loops = []
    if slot.spec.get("readinessProbe"):
        loops.append(_readiness(worker, slot, instance, slot.spec["readinessProbe"]))
    if slot.spec.get("livenessProbe"):
        loops.append(_liveness(worker, slot, instance, slot.spec["livenessProbe"]))
    if loops:
        await asyncio.gather(*loops)


def _first_probe_at(instance, probe: dict, now: float) -> float:
    return max(instance.started_at + probe_setting(probe, "initialDelaySeconds"), now)


async def _ticks(clock, instance, probe: dict):
    """The probe's schedule: its first run, then one every periodSeconds."""
    at = _first_probe_at(instance, probe, clock.now())
    period = probe_setting(probe, "periodSeconds")
    while True:
        if at > clock.now():
            await clock.sleep_until(at)
        yield
        at += period


async def _until_started(worker, slot, instance, probe: dict) -> bool:
    successes = failures = 0
    async for _ in _ticks(worker.clock, instance, probe):
        result = await probe_once(worker.clock, instance, probe)
        if result.success:
            successes, failures = successes + 1, 0
            if successes >= probe_setting(probe, "successThreshold"):
                return True
            continue
        successes, failures = 0, failures + 1
        worker.probe_failed(slot, "startupProbe", result.message)
        if failures >= probe_setting(probe, "failureThreshold"):
            await worker.kill_for_probe(slot, instance, "startup", probe)
            return False
    return False


async def _readiness(worker, slot, instance, probe: dict) -> None:
    successes = failures = 0
    async for _ in _ticks(worker.clock, instance, probe):
        result = await probe_once(worker.clock, instance, probe)
        if result.success:
            successes, failures = successes + 1, 0
            if successes >= probe_setting(probe, "successThreshold"):
                slot.set_ready(True)
        else:
            successes, failures = 0, failures + 1
            worker.probe_failed(slot, "readinessProbe", result.message)
            if failures >= probe_setting(probe, "failureThreshold"):
                slot.set_ready(False)


async def _liveness(worker, slot, instance, probe: dict) -> None:
    failures = 0
    async for _ in _ticks(worker.clock, instance, probe):
        result = await probe_once(worker.clock, instance, probe)
        if result.success:
            failures = 0
            continue
        failures += 1
        worker.probe_failed(slot, "livenessProbe", result.message)
        if failures >= probe_setting(probe, "failureThreshold"):
            await worker.kill_for_probe(slot, instance, "liveness", probe)
            return


async def probe_once(clock, instance, probe: dict) -> base.ProbeResult:
    """One probe, failed if the model takes longer than timeoutSeconds of simulated time."""
    task = asyncio.ensure_future(instance.model.probe(probe, instance.ctx))
    await asyncio.sleep(0)  # most models answer at once: no timer needed then
    if not task.done():
        timer = asyncio.ensure_future(clock.sleep(probe_setting(probe, "timeoutSeconds")))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if not task.done():
            task.cancel()
            return base.ProbeResult(False, _timeout_message(probe, instance.ctx))
    if task.cancelled():
        return base.ProbeResult(False, "probe cancelled")
    if task.exception() is not None:
        return base.ProbeResult(False, str(task.exception()))
    return task.result()


def _timeout_message(probe: dict, ctx) -> str:
    seconds = probe_setting(probe, "timeoutSeconds")
    if "exec" in probe:
        command = " ".join(probe["exec"].get("command") or [])
        return f'command "{command}" timed out'
    spec = probe.get("httpGet") or probe.get("tcpSocket") or {}
    port = base.resolve_port(spec.get("port"), ctx.container)
    host = spec.get("host") or ctx.pod_ip
    if "httpGet" in probe:
        scheme = (spec.get("scheme") or "HTTP").lower()
        return (f'Get "{scheme}://{host}:{port}{spec.get("path") or "/"}": context deadline exceeded '
                f'(Client.Timeout exceeded while awaiting headers)')
    if "tcpSocket" in probe:
        return f"dial tcp {host}:{port}: i/o timeout"
    return f"probe timed out after {seconds}s"
