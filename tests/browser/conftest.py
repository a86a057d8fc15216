"""Fixtures for the browser tests: JupyterLab started as a learner starts it, and headless Chromium.

`jupyterlab` runs `k8s-course start --no-browser --port N` on a free port, with a simulator and
Jupyter settings of its own (temporary folders), and hands back its URL, token and an official
client for that simulator. `chromium` is Debian's /usr/bin/chromium driven by Playwright; the
tests are skipped, saying why, when either is missing (Playwright's own browser download is not
used: these machines cannot download browsers).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
STARTUP_TIMEOUT = 90  # seconds for the simulator and JupyterLab to come up
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# JupyterLab settings for the test's private config folder (JUPYTER_CONFIG_DIR):
USER_SETTINGS = {
    # every cell attached to the page, so the checks see all outputs (the default attaches
    # cells out of view lazily; what is drawn is the same)
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # the test must never write outputs into the course's notebook
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # no "official Jupyter news?" toast over the screenshots, and no request to the internet
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                          "checkForUpdates": False},
}


@dataclass
class JupyterLab:
    """A running `k8s-course start`: where it answers, and the simulator behind it."""

    url: str
    token: str
    state_dir: Path
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)

    def notebook_url(self, path: str) -> str:
        # a workspace of its own, reset: the page shows this notebook alone, not the tabs an
        # earlier page left open (Run All would then go to whichever tab JupyterLab restored)
        workspace = f"test-{uuid.uuid4().hex[:8]}"
        return f"{self.url}/lab/workspaces/{workspace}/tree/{path}?reset&token={self.token}"

    def api_client(self):
        """An official client for the simulator the notebooks use (close it when done)."""
        from kubernetes import config

        from k8s_course.sim import daemon

        record = daemon.read_state(self.state_dir)
        assert record is not None, "the simulator behind JupyterLab is not running"
        return config.new_client_from_config(config_file=record["kubeconfig"])

    def output(self) -> str:
        return "".join(self.log)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_settings(config_dir: Path) -> None:
    for relative, values in USER_SETTINGS.items():
        path = config_dir / "lab" / "user-settings" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _read_lines(stream, log: list[str], lines: queue.Queue) -> None:
    """Keep the server's output (for failure messages) and pass each line on."""
    for line in stream:
        log.append(line)
        lines.put(line)
    lines.put(None)  # the process closed its output


@pytest.fixture(scope="module")
def chromium_executable() -> Path:
    pytest.importorskip("playwright.sync_api", reason="the Python package playwright is not installed "
                                                      "(pip install playwright; no browser download needed)")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def chromium(chromium_executable):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_executable), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def jupyterlab(chromium_executable, tmp_path_factory):
    """`k8s-course start` on a free port; its kernels inherit K8S_COURSE_SPEED (20 under test)
    and a private K8S_COURSE_STATE_DIR, so they share one simulator of the test's own."""
    home = tmp_path_factory.mktemp("jupyterlab")
    state_dir, config_dir = home / "state", home / "config"
    _write_settings(config_dir)
    port = _free_port()
    env = dict(os.environ, K8S_COURSE_STATE_DIR=str(state_dir), K8S_COURSE_BACKEND="simulator",
               JUPYTER_CONFIG_DIR=str(config_dir), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    process = subprocess.Popen([sys.executable, "-m", "k8s_course.cli", "start", "--no-browser", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)  # a group of its own: see the end
    lab = JupyterLab(f"http://127.0.0.1:{port}", "", state_dir, process)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lab.log, lines), name="jupyterlab-output",
                              daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not lab.token:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                pytest.fail(f"JupyterLab printed no URL within {STARTUP_TIMEOUT} s:\n{lab.output()}")
            if line is None:
                pytest.fail(f"JupyterLab exited ({process.wait()}):\n{lab.output()}")
            if "token=" in line and f":{port}/" in line:
                lab.token = line.split("token=")[1].split()[0].strip()
        yield lab
    finally:
        # `k8s-course start` waits on a jupyter-lab child that a signal to it alone would orphan:
        # signal the whole group. On SIGTERM, Jupyter shuts its kernels down.
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
        reader.join(timeout=10)
        process.stdout.close()
        from k8s_course.sim import daemon

        daemon.stop(state_dir)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:  # already gone
        pass


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where screenshots go: test-artifacts/ at the repository's root (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
