"""Scenarios: pods in trouble rendered as evidence, and each one run again on the simulator."""

from __future__ import annotations

import pytest

from k8s_course.quiz import bank, scenarios

CRASHING = {
    "metadata": {"name": "late"},
    "spec": {"containers": [{"name": "app", "image": "needs-proxy", "env": [{"name": "PORT", "value": "1"}]}],
             "initContainers": [{"name": "proxy", "image": "proxy", "restartPolicy": "Always",
                                 "resources": {"requests": {"cpu": "100m"}}}]},
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
               "containerStatuses": [{"name": "app", "restartCount": 2, "ready": False,
                                      "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                                      "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]},
}
EVENTS = [{"type": "Normal", "reason": "Started", "message": "Container started", "count": 2},
          {"type": "Warning", "reason": "BackOff", "message": "Back-off restarting", "count": 1},
          {"type": "Normal", "reason": "Started", "message": "Container started", "count": 1}]


def test_a_snapshot_keeps_containers_states_and_events_with_counts_added_up():
    snap = scenarios.describe(CRASHING, EVENTS, {"app": {"previous": True, "lines": ["refused"]}})
    proxy, app = snap["pod"]["containers"]
    assert (proxy["kind"], proxy["requests"]) == ("sidecar", {"cpu": "100m"})
    assert (app["state"], app["last_state"], app["restarts"]) == (
        "Waiting (CrashLoopBackOff)", "Terminated (Error), exit code 1", 2)
    assert [(e["reason"], e["count"]) for e in snap["events"]] == [("Started", 3), ("BackOff", 1)]


def test_rendering_reads_like_kubectl_describe_and_logs():
    text = scenarios.render(scenarios.describe(CRASHING, EVENTS, {"app": {"previous": True, "lines": ["refused"]}}))
    assert "Pod late   Status: Running" in text
    assert "init container (restartPolicy: Always) proxy: image proxy" in text
    assert "state: Waiting (CrashLoopBackOff)   restarts: 2   ready: false" in text
    assert "Warning  BackOff" in text
    assert "$ kubectl logs late -c app --previous\n  refused" in text


def test_the_telling_log_lines_start_at_the_first_error():
    log = "starting\nError: no password\n  set POSTGRES_PASSWORD\n  or trust\n  see docs\n  more\n"
    assert scenarios.telling_lines(log) == ["Error: no password", "  set POSTGRES_PASSWORD", "  or trust", "  see docs"]
    assert scenarios.telling_lines("a\nb\nc\nd\ne\n") == ["b", "c", "d", "e"]


def test_reached_knows_crash_loops_and_unschedulable_pods():
    assert scenarios.reached(CRASHING, {"waiting": "CrashLoopBackOff", "restarts": 2})
    assert not scenarios.reached(CRASHING, {"waiting": "CrashLoopBackOff", "restarts": 3})
    pending = {"status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}}
    assert scenarios.reached(pending, {"unschedulable": True})
    assert not scenarios.reached(None, {"unschedulable": True})


def test_a_snapshot_shows_the_command_that_says_which_program_a_stock_image_runs():
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "app", "image": "python:3.11-slim", "command": ["python"], "args": ["/app/needs_proxy.py"]},
        {"name": "web", "image": "nginx:1.27"}]}}
    app, web = scenarios.describe(pod, [])["pod"]["containers"]
    assert app["command"] == ["python", "/app/needs_proxy.py"] and "command" not in web
    assert "app: image python:3.11-slim\n    command: python /app/needs_proxy.py" in scenarios.render(
        scenarios.describe(pod, []))


def test_a_scenario_that_runs_course_programs_applies_their_config_map_before_its_pod():
    late = bank.scenario("scenario-late-proxy")
    config_map, pod = late.objects()
    assert late.programs == ("needs_proxy", "slow_proxy")
    assert (config_map["kind"], config_map["metadata"]["name"]) == ("ConfigMap", "sidecar-programs")
    assert sorted(config_map["data"]) == ["needs_proxy.py", "slow_proxy.py"]
    assert "def first_words" in config_map["data"]["needs_proxy.py"]
    assert pod is late.manifest
    mounted = {v["configMap"]["name"] for v in pod["spec"]["volumes"] if "configMap" in v}
    assert mounted == {"sidecar-programs"}
    assert {c["image"] for c in pod["spec"]["containers"]} == {"python:3.11-slim"}


def test_a_scenario_without_programs_applies_its_pod_alone():
    greedy = bank.scenario("scenario-greedy-sidecar")
    assert greedy.programs == () and greedy.objects() == [greedy.manifest]


def test_the_late_proxy_recording_shows_what_its_explanation_points_to():
    late = bank.scenario("scenario-late-proxy")
    exhibit, explanation = late.question().exhibit, late.question_data["explanation"]
    for evidence in ("connection refused", "127.0.0.1:15001", "exit code 1", "BackOff"):
        assert evidence in exhibit and evidence in explanation, evidence
    assert "proxy: starting" in exhibit and "START_DELAY=600" in exhibit  # the proxy is still warming up


def test_every_scenario_has_a_recording():
    for scenario in bank.scenarios():
        assert scenario.recorded["pod"]["name"] == scenario.pod


@pytest.mark.parametrize("scenario", bank.scenarios(), ids=lambda s: s.id)
def test_running_a_scenario_again_shows_what_was_recorded(cluster, scenario):
    snap = scenarios.record(cluster, scenario, timeout=120)
    recorded = scenario.recorded
    assert snap["pod"]["phase"] == recorded["pod"]["phase"]
    states = [(c["name"], c.get("state"), c.get("last_state")) for c in snap["pod"]["containers"]]
    assert states == [(c["name"], c.get("state"), c.get("last_state")) for c in recorded["pod"]["containers"]]
    assert {e["reason"] for e in snap["events"] if e["type"] == "Warning"} == \
        {e["reason"] for e in recorded["events"] if e["type"] == "Warning"}
    assert {name: log["lines"][0] for name, log in snap["logs"].items()} == \
        {name: log["lines"][0] for name, log in recorded["logs"].items()}
    question = bank.scenario_question(scenario.id, snap)
    assert question.is_correct(question.correct_answer()) and snap["pod"]["name"] in question.exhibit
