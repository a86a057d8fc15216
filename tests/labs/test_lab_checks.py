"""Labs against the simulator: start states fail where they should, hints escalate, the CLI agrees."""

from __future__ import annotations

import pytest

import k8s_course
from k8s_course import labs
from k8s_course.cli import main
from k8s_course.labs import logging_sidecar


@pytest.fixture
def lab_cluster(cluster, monkeypatch):
    """The test's cluster, also what the `k8s-course` command connects to."""
    monkeypatch.setattr(k8s_course, "connect", lambda *args, **kwargs: cluster)
    return cluster


def test_a_fresh_logging_lab_fails_at_its_first_step_and_names_the_missing_container(lab_cluster):
    run = labs.start("logging-sidecar", lab_cluster)
    report = run.check()
    assert not report.passed
    assert len(report.results) == 1
    assert report.results[0].message == "the orders pods still have only the app container"
    assert report.status == "step 1 of 3 to do: a sidecar shares the app's log volume"
    assert str(report).splitlines()[1] == "· 2. the app container is untouched: not checked yet"


def test_hints_escalate_to_the_third_and_stay_there(lab_cluster):
    run = labs.start("logging-sidecar", lab_cluster)
    run.check()
    levels = [run.hint().split(" of ")[0] for _ in range(3)]
    assert levels == ["Hint 2", "Hint 3", "Hint 3"]
    assert "01-logging.yaml" in run.hint()


def test_changing_the_app_container_fails_the_second_step_even_with_a_sidecar(lab_cluster):
    labs.start("logging-sidecar", lab_cluster)
    deployment = logging_sidecar.orders_deployment()
    spec = deployment["spec"]["template"]["spec"]
    spec["containers"][0] = {**spec["containers"][0], "image": "python:3.12-slim"}
    spec["containers"].append({"name": "shipper", "image": "python:3.11-slim", "command": ["sleep", "infinity"],
                               "volumeMounts": [{"name": "logs", "mountPath": "/var/log/app"}]})
    lab_cluster.apply(deployment)
    report = labs.get("logging-sidecar").check(lab_cluster)
    assert [bool(r) for r in report.results] == [True, False]
    assert report.results[1].message == "the app container was changed: image differ from the start"


def test_a_wrong_tag_stays_broken_and_the_menu_step_says_why(lab_cluster):
    labs.start("broken-pod", lab_cluster)
    lab_cluster.wait_for(lambda: any("ErrImagePull" in e["reason"] or "Failed" == e["reason"]
                                     for e in lab_cluster.events()), timeout=60, description="the pull to fail")
    report = labs.get("broken-pod").check(lab_cluster)
    assert not report.passed and len(report.results) == 1
    assert report.results[0].message.startswith("menu is not serving: its pods are ")
    assert "ImagePull" in report.results[0].message or "ErrImagePull" in report.results[0].message


def test_an_unknown_lab_name_lists_the_labs():
    with pytest.raises(ValueError, match="the labs are: broken-pod, logging-sidecar, native-sidecar, ambassador"):
        labs.get("nope")


def test_the_check_command_exits_1_with_the_hint_level_asked_for(lab_cluster, capsys):
    labs.start("native-sidecar", lab_cluster)
    code = main(["check", "native-sidecar", "--namespace", lab_cluster.namespace, "--hint", "3"])
    out = capsys.readouterr().out
    assert code == 1
    assert "✘ 1. the proxy is a native sidecar: the proxy is still an ordinary container" in out
    assert "Hint 3 of 3: initContainers:" in out


def test_the_check_command_refuses_a_lab_that_was_never_started(lab_cluster, capsys):
    assert main(["check", "ambassador", "--namespace", "lab-never-started"]) == 1
    assert "namespace lab-never-started does not exist" in capsys.readouterr().err


def test_the_labs_command_lists_every_lab_with_its_time(lab_cluster, capsys):
    assert main(["labs"]) == 0
    out = capsys.readouterr().out
    for lab in labs.LABS.values():
        assert f"{lab.name}" in out and f"{lab.minutes:>3} min" in out
