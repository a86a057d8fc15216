"""Chapter 1's start-order programs, run for real: real processes, real sockets, real signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from k8s_course.workloads import needs_proxy, program_path, slow_proxy


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(name: str, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(program_path(name))], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # waiting on a real process, not on the simulator
    raise AssertionError(f"nothing listens on {port}")


def test_the_app_exits_1_and_says_why_when_its_proxy_is_not_there():
    port = _free_port()
    app = _start("needs_proxy", PROXY_PORT=str(port), APP_PORT=str(_free_port()))
    out, err = app.communicate(timeout=10)
    assert app.returncode == 1
    assert err.strip() == f"needs-proxy: cannot reach the proxy: dial tcp 127.0.0.1:{port}: connect: connection refused"


def test_the_app_serves_once_its_proxy_answers_and_stops_on_sigterm():
    proxy_port, app_port = _free_port(), _free_port()
    proxy = _start("slow_proxy", PORT=str(proxy_port), START_DELAY="0.3")
    try:
        _wait_for_port(proxy_port)
        app = _start("needs_proxy", PROXY_PORT=str(proxy_port), APP_PORT=str(app_port))
        _wait_for_port(app_port)
        with urllib.request.urlopen(f"http://127.0.0.1:{app_port}/") as answer:
            assert answer.read() == b"ok\n"
        app.send_signal(signal.SIGTERM)
        out, _ = app.communicate(timeout=10)
        assert app.returncode == 0
        assert out.strip() == f"needs-proxy: connected to the proxy on localhost:{proxy_port}"
    finally:
        proxy.send_signal(signal.SIGTERM)
        out, _ = proxy.communicate(timeout=10)
    assert out.splitlines() == ["proxy: starting", f"proxy: listening on :{proxy_port}"]


def test_a_proxy_stopped_during_its_warm_up_ends_at_once_with_code_0():
    proxy = _start("slow_proxy", PORT=str(_free_port()), START_DELAY="60")
    assert proxy.stdout.readline().strip() == "proxy: starting"
    began = time.monotonic()
    proxy.send_signal(signal.SIGTERM)
    proxy.communicate(timeout=10)
    assert proxy.returncode == 0 and time.monotonic() - began < 5


@pytest.mark.parametrize("refusal, expected", [
    (None, (None, "needs-proxy: connected to the proxy on localhost:15001")),
    ("connect: connection refused",
     (1, "needs-proxy: cannot reach the proxy: dial tcp 127.0.0.1:15001: connect: connection refused")),
])
def test_the_apps_decision_is_a_pure_function_of_its_one_attempt(refusal, expected):
    assert needs_proxy.first_words(needs_proxy.settings_from({}), refusal) == expected


def test_settings_come_from_the_environment():
    assert slow_proxy.settings_from({"PORT": "9000", "START_DELAY": "2.5"}) == slow_proxy.Settings(9000, 2.5)
    assert needs_proxy.settings_from({"PROXY_PORT": "9000"}) == needs_proxy.Settings(9000, 8080)
