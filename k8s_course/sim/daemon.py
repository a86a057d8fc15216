"""The simulator as a background process: `k8s-course sim start | status | stop`.

The process serves in the foreground (`python -m k8s_course.sim serve`); `start` launches it
detached, waits until /readyz answers, and leaves a state file (pid, url, kubeconfig path) in
the user's state directory so that `status`, `stop` and `connect()` can find it again.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import kubeconfig
from .clock import Clock

STATE_FILE = "simulator.json"
READY_TIMEOUT = 30.0


def state_path(state_dir: Path | None = None) -> Path:
    return (state_dir or kubeconfig.default_state_dir()) / STATE_FILE


def serve(port: int, speed: float, kubeconfig_path: Path, state_dir: Path | None = None,
          node_specs=None) -> None:
    """Run until SIGTERM/SIGINT; writes the kubeconfig and the state file once listening."""
    from .simulator import Cluster

    async def main() -> None:
        cluster = Cluster(Clock(speed), node_specs=node_specs)
        bound = await cluster.start(port)
        kubeconfig.write(kubeconfig_path, cluster.url, cluster.token, cluster.tls.ca_pem)
        record = {"pid": os.getpid(), "url": cluster.url, "port": bound,
                  "kubeconfig": str(kubeconfig_path), "speed": speed}
        path = state_path(state_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))
        print(f"simulated cluster listening on {cluster.url}; kubeconfig: {kubeconfig_path}", flush=True)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        try:
            await stopping.wait()
        finally:
            await cluster.stop()
            if path.exists() and json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()

    asyncio.run(main())


def read_state(state_dir: Path | None = None) -> dict | None:
    """The running simulator's record, or None when none answers."""
    path = state_path(state_dir)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not _alive(record.get("pid")):
        return None
    if not ready(record.get("url", ""), kubeconfig.ca_of(record.get("kubeconfig", ""))):
        return None
    return record


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ready(url: str, ca_pem: bytes | None) -> bool:
    if ca_pem is None:
        return False
    try:
        context = ssl.create_default_context(cadata=ca_pem.decode())
        with urllib.request.urlopen(url + "/readyz", timeout=2, context=context) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start(port: int = 0, speed: float = 1.0, kubeconfig_path: Path | None = None,
          state_dir: Path | None = None, node_options: list[str] | None = None) -> dict:
    """Start a background simulator (or return the one already running)."""
    running = read_state(state_dir)
    if running is not None:
        return running
    state_dir = state_dir or kubeconfig.default_state_dir()
    state_dir.mkdir(parents=True, exist_ok=True)
    kubeconfig_path = kubeconfig_path or state_dir / "kubeconfig"
    log_path = state_dir / "simulator.log"
    command = [sys.executable, "-m", "k8s_course.sim", "serve", "--port", str(port), "--speed", str(speed),
               "--kubeconfig", str(kubeconfig_path), "--state-dir", str(state_dir), *(node_options or [])]
    pid = _spawn_detached(command, log_path)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        finished, code = os.waitpid(pid, os.WNOHANG)
        if finished:
            raise RuntimeError(f"the simulator exited at start (code {code >> 8}); see {log_path}")
        record = read_state(state_dir)
        if record is not None and record.get("pid") == pid:
            return record
        time.sleep(0.05)  # waiting on another process, not on the simulator's clock
    os.kill(pid, signal.SIGTERM)
    raise RuntimeError(f"the simulator did not answer within {READY_TIMEOUT:.0f} s; see {log_path}")


def _spawn_detached(command: list[str], log_path: Path) -> int:
    """Start `command` in a session of its own, output to `log_path`; it outlives this process."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        actions = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2)]
        return os.posix_spawn(command[0], command, dict(os.environ), file_actions=actions, setsid=True)
    finally:
        os.close(log)
        os.close(null)


def stop(state_dir: Path | None = None) -> bool:
    """Stop the background simulator; False if none was running."""
    path = state_path(state_dir)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    pid = record.get("pid")
    if not _alive(pid):
        path.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    path.unlink(missing_ok=True)
    return True
