"""`k8s-course sim start|status|stop` and `connect()` on the background simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from kubernetes import client


def run(args, env):
    return subprocess.run([sys.executable, "-m", "k8s_course.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_sim_start_status_stop_in_the_background(tmp_path):
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path))
    env.pop("K8S_COURSE_STATE_DIR", None)  # the user's default place, not the test session's
    started = run(["sim", "start", "--speed", "5"], env)
    try:
        assert started.returncode == 0, started.stderr
        kubeconfig = started.stdout.strip()
        assert kubeconfig == str(tmp_path / "k8s-course" / "kubeconfig")
        assert os.stat(kubeconfig).st_mode & 0o777 == 0o600
        status = run(["sim", "status"], env)
        assert status.returncode == 0 and "clock x5" in status.stdout
        again = run(["sim", "start"], env)  # a second start reuses the running one
        assert again.stdout.strip() == kubeconfig
        state = json.loads((tmp_path / "k8s-course" / "simulator.json").read_text())
        assert state["url"].startswith("https://127.0.0.1:")
    finally:
        stopped = run(["sim", "stop"], env)
    assert stopped.stdout.strip() == "stopped"
    assert run(["sim", "status"], env).returncode == 1


def test_the_sim_commands_find_the_simulator_connect_started_in_the_same_state_dir(tmp_path):
    from k8s_course import backends

    env = dict(os.environ, K8S_COURSE_STATE_DIR=str(tmp_path), K8S_COURSE_BACKEND="simulator")
    try:
        connected = subprocess.run([sys.executable, "-c", "from k8s_course import connect; connect()"], env=env,
                                   capture_output=True, text=True, timeout=60)
        assert connected.returncode == 0, connected.stderr
        status = run(["sim", "status"], env)
        assert status.returncode == 0 and f"kubeconfig {tmp_path}" in status.stdout
    finally:
        assert run(["sim", "stop"], env).stdout.strip() == "stopped"
    assert backends._state_dir() != tmp_path  # the session's own simulator was not touched


def test_connect_starts_or_reuses_the_simulator_and_says_which(tmp_path, monkeypatch, capsys):
    from k8s_course import connect
    from k8s_course.sim import daemon

    monkeypatch.setenv("K8S_COURSE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("K8S_COURSE_BACKEND", "simulator")
    try:
        first = connect()
        line = capsys.readouterr().out.strip()
        assert line.startswith("Connected to the built-in simulated cluster at https://127.0.0.1:")
        names = [n.metadata.name for n in client.CoreV1Api(first.api_client).list_namespace().items]
        assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
        second = connect(quiet=True)
        assert second.backend == first.backend
        first.api_client.close()
        second.api_client.close()
    finally:
        daemon.stop(tmp_path)


def test_start_opens_jupyterlab_on_the_course_with_the_simulator(tmp_path):
    """The README's first command: JupyterLab serves the first notebook, the cluster is up."""
    import socket
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, K8S_COURSE_STATE_DIR=str(tmp_path), K8S_COURSE_BACKEND="simulator",
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    process = subprocess.Popen([sys.executable, "-m", "k8s_course.cli", "start", "--no-browser", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith("Using the built-in simulated cluster at https://127.0.0.1:")
        deadline = time.monotonic() + 60
        token = None
        while time.monotonic() < deadline and token is None:
            line = process.stdout.readline()
            if "token=" in line and f":{port}/" in line:
                token = line.split("token=")[1].split()[0].strip()
        assert token, "JupyterLab did not print its URL"
        url = f"http://127.0.0.1:{port}/api/contents/notebooks/00_apartment_complex.ipynb?content=0&token={token}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(url, timeout=10) as answer:
                    assert json.loads(answer.read())["name"] == "00_apartment_complex.ipynb"
                break
            except urllib.error.URLError:
                assert process.poll() is None, "JupyterLab exited"
                time.sleep(0.1)  # the server prints its URL a moment before it answers
        else:
            raise AssertionError("JupyterLab never answered")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        from k8s_course.sim import daemon

        daemon.stop(tmp_path)
