"""Chapter 1's start-order programs as the python image runs them in the simulator.

`python /app/needs_proxy.py` and `python /app/slow_proxy.py` (k8s_course.workloads) run their
real cores here: the same settings, the same decision and the same log lines, with the pod's
simulated localhost for the connection attempt, the simulated clock for the warm-up, and
`PythonImage.serve` for the HTTP answers.
"""

from __future__ import annotations

from k8s_course.sim.images.workloads import _forever, until_stopped
from k8s_course.workloads import needs_proxy, slow_proxy


async def _ok(method: str, target: str, body: bytes, client: str, client_cert) -> tuple[int, str]:
    return 200, "ok\n"


async def run_needs_proxy(shell, argv, io, env) -> int:
    settings = needs_proxy.settings_from(env)
    listening = shell.ctx.network.is_listening("127.0.0.1", settings.proxy_port)
    code, line = needs_proxy.first_words(settings, None if listening else "connect: connection refused")
    (io.stderr if code else io.stdout).write(line + "\n")
    if code is not None:
        return code
    shell.python_image.serve(settings.app_port, _ok)
    try:
        await until_stopped(shell, _forever())
    finally:
        shell.python_image.unserve(settings.app_port)
    return 0


async def run_slow_proxy(shell, argv, io, env) -> int:
    settings = slow_proxy.settings_from(env)
    io.stdout.write(slow_proxy.STARTING + "\n")
    if not await until_stopped(shell, shell.ctx.clock.sleep(settings.start_delay)):
        return 0  # stopped during the warm-up
    shell.python_image.serve(settings.port, _ok)
    io.stdout.write(slow_proxy.listening(settings) + "\n")
    try:
        await until_stopped(shell, _forever())
    finally:
        shell.python_image.unserve(settings.port)
    return 0


PROGRAMS = {"needs_proxy.py": run_needs_proxy, "slow_proxy.py": run_slow_proxy}
