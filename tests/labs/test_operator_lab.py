"""The operator lab: its runner keeps going through a learner's mistakes, and its check grades a
learner's reconcile on the live cluster (the untouched one fails at step 1, the solution passes)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from k8s_course import classroom, connect, labs
from k8s_course.labs import operator_kit, operator_lab

SOLUTION = Path(__file__).resolve().parents[2] / "labs" / "05-operator" / "solution.ipynb"


def solution_reconcile():
    """The reconcile of the lab's solution notebook, run as the notebook defines it."""
    notebook = nbformat.read(SOLUTION, as_version=4)
    source = next(c.source for c in notebook.cells if c.cell_type == "code" and "def reconcile" in c.source)
    scope = {"operator_kit": operator_kit}
    exec(source, scope)
    return scope["reconcile"]


@pytest.fixture
def started(cluster):
    """The lab's start (the Website CRD and demo) in the test's namespace."""
    labs.start("operator", cluster)
    return cluster


@pytest.fixture
def runners():
    made = []
    yield made
    for runner in made:
        runner.stop()


def test_owner_reference_names_the_website_by_kind_and_uid():
    website = {"metadata": {"name": "demo", "uid": "1234-abcd"}}
    assert operator_kit.owner_reference(website) == {
        "apiVersion": "labs.k8s-course.dev/v1", "kind": "Website", "name": "demo", "uid": "1234-abcd",
        "controller": True, "blockOwnerDeletion": True}


def test_a_failing_reconcile_is_recorded_and_the_runner_keeps_going(started, runners):
    seen = []

    def broken(cluster, website):
        seen.append(website["metadata"]["name"])
        raise ValueError("no page for " + website["spec"]["message"])

    runner = operator_kit.run(started, broken, resync=0.05)
    runners.append(runner)
    line = broken.__code__.co_firstlineno + 2  # the raise, two lines into broken()
    assert runner.errors[0] == f"Website demo (in broken, line {line}): ValueError: no page for hello"
    started.wait_for(lambda: runner.rounds >= 3, timeout=20, description="three rounds")
    assert runner.running
    assert set(seen) == {"demo"} and len(seen) >= 3
    assert f"{runner.rounds} rounds every 0.05 s" in repr(runner)
    assert len(runner.errors) <= operator_kit.KEPT_ERRORS


def test_stop_ends_the_thread(started, runners):
    runner = operator_kit.run(started, lambda cluster, website: None, resync=0.05)
    runners.append(runner)
    assert runner.running and runner.rounds >= 1  # the first round ran before run() returned
    runner.stop()
    assert not runner.running
    assert repr(runner).startswith("<Runner stopped: ")


def test_prepare_twice_keeps_demo_as_the_learner_left_it(started):
    started.patch("Website", "demo", {"spec": {"message": "mine"}})
    operator_lab.prepare(started)
    assert started.get("Website", "demo")["spec"] == {"replicas": 2, "message": "mine"}


def test_the_website_schema_refuses_six_replicas_and_defaults_one(started):
    from k8s_course import CourseError

    with pytest.raises(CourseError, match="spec.replicas"):
        started.apply(operator_lab.website("too-big", {"replicas": 6, "message": "x"}))
    small = started.apply(operator_lab.website("small", {"message": "x"}))[0]
    assert small["spec"]["replicas"] == 1


def test_the_untouched_lab_fails_at_step_1_saying_nothing_was_made(started, runners):
    runners.append(operator_kit.run(started, lambda cluster, website: None))
    report = labs.get("operator").check(started)
    assert [bool(r) for r in report.results] == [False]
    assert report.results[0].message == "Website demo has no Deployment `demo`: your operator has made nothing yet"
    assert "Hint 1 of 3: reconcile(cluster, website) is called for every Website" in str(report)


def test_a_deployment_without_owner_fails_step_1_by_name(started, runners):
    reconcile = solution_reconcile()

    def unowned(cluster, website):
        reconcile(cluster, website)
        cluster.patch("Deployment", website["metadata"]["name"], {"metadata": {"ownerReferences": None}})

    runners.append(operator_kit.run(started, unowned, resync=60))
    report = labs.get("operator").check(started)
    assert report.results[0].message == "Deployment demo has no ownerReference to the Website demo"


def test_the_solutions_reconcile_passes_every_step_and_the_overview_changes_nothing(started, runners):
    runners.append(operator_kit.run(started, solution_reconcile(), resync=0.5))
    lab = labs.get("operator")
    overview = lab.check(started, wait=False)  # an instructor's look: steps 3 and 4 are not tried
    assert overview.status == "step 3 of 4 to do: the operator follows changes and repairs deletions"
    assert started.get("Website", "demo")["spec"] == {"replicas": 2, "message": "hello"}

    report = lab.check(started)
    assert report.passed, report
    assert report.results[3].message.startswith("Website check-")
    assert [w["metadata"]["name"] for w in started.list("Website")] == ["demo"]
    assert started.get("Website", "demo")["spec"] == {"replicas": 2, "message": "hello"}  # put back
    assert lab.check(started, wait=False).passed  # the overview now reports the full check's result


def test_in_a_class_a_learner_passes_the_lab_once_the_kind_is_installed(started, runners, tmp_path, monkeypatch):
    """The instructor's start installed the Website kind; the learner's `admin` role, which takes
    in the lab's aggregated ClusterRole, lets them do the rest in their own namespace."""
    kubeconfig = classroom.create(started, ["oplab"], tmp_path)[0]
    try:
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.setenv("K8S_COURSE_LEARNER", "oplab")
        monkeypatch.delenv("K8S_COURSE_BACKEND", raising=False)
        learner = connect("lab-operator", quiet=True)
        assert learner.namespace == "learner-oplab"
        labs.start("operator", learner)
        runners.append(operator_kit.run(learner, solution_reconcile(), resync=0.5))
        report = labs.get("operator").check(learner)
        assert report.passed, report
    finally:
        started.delete("Namespace", "learner-oplab", namespace=None)
