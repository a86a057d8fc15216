"""Faults mid-lesson: the simulator's process dies; the toolkit notices, says so, and carries on."""

from __future__ import annotations

import json
import os
import signal

import pytest

from k8s_course import connect
from k8s_course.errors import CourseError
from k8s_course.sim import daemon
from k8s_course.views import BuildingView


@pytest.fixture
def private_simulator(tmp_path, monkeypatch):
    """A background simulator of this test's own (killing it must not hurt the others)."""
    monkeypatch.setenv("K8S_COURSE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("K8S_COURSE_BACKEND", "simulator")
    yield tmp_path
    daemon.stop(tmp_path)


def _kill(state_dir) -> int:
    record = json.loads(daemon.state_path(state_dir).read_text())
    os.kill(record["pid"], signal.SIGKILL)
    os.waitpid(record["pid"], 0) if _is_child(record["pid"]) else None
    return record["pid"]


def _is_child(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG) is not None
    except ChildProcessError:
        return False


def test_a_dead_simulator_is_replaced_and_the_learner_is_told_it_is_empty(private_simulator):
    cluster = connect("faults", quiet=True)
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "before"}, "data": {"a": "1"}})
    old_url = cluster.api_client.configuration.host
    _kill(private_simulator)

    with pytest.raises(CourseError) as raised:
        cluster.get("ConfigMap", "before")
    assert "The simulated cluster had stopped (its process is gone)" in raised.value.message
    assert "It starts empty" in raised.value.message
    assert "run this notebook again from the top" in raised.value.hint

    assert daemon.read_state(private_simulator) is not None
    assert cluster.find("ConfigMap", "before") is None  # the new cluster answers, and it is empty
    assert cluster.find("Namespace", "faults", namespace=None) is not None  # the lesson's namespace is back
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}, "data": {"b": "2"}})
    assert cluster.get("ConfigMap", "after")["data"] == {"b": "2"}
    assert cluster.api_client.configuration.host != old_url or daemon.read_state(private_simulator)


def test_connect_after_a_crash_says_the_new_simulator_is_empty(private_simulator, capsys):
    connect(quiet=True)
    _kill(private_simulator)
    connect()
    assert "started again: the previous one had stopped, so this one is empty" in capsys.readouterr().out


def test_the_building_view_keeps_drawing_after_the_simulator_is_replaced(private_simulator):
    cluster = connect("faults", quiet=True)
    view = BuildingView(cluster)
    try:
        _kill(private_simulator)
        with pytest.raises(CourseError):
            cluster.list("Pod")
        cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "survivor"},
                       "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}})
        cluster.wait_for(lambda: "1 apartments" in view.outputs[0]["data"]["text/plain"], timeout=90,
                         description="the view to show the new cluster's pod")
        assert view.outputs[0]["data"]["text/plain"] == "<building: 3 floors, 1 apartments>"
    finally:
        view.stop()
