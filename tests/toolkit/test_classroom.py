"""A class on one cluster: each learner works in a namespace of their own and nowhere else."""

from __future__ import annotations

import stat

import pytest

from k8s_course import classroom, connect, labs
from k8s_course.errors import ClusterError


@pytest.fixture
def klass(cluster, tmp_path):
    names = ["ada", "grace"]
    files = classroom.create(cluster, names, tmp_path)
    yield dict(zip(names, files, strict=True))
    classroom.delete(cluster)


def _as_learner(monkeypatch, learner, kubeconfig):
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("K8S_COURSE_LEARNER", learner)
    monkeypatch.delenv("K8S_COURSE_BACKEND", raising=False)
    return connect("lab-broken-pod", quiet=True)  # the name asked for gives way to the learner's


def test_each_learner_gets_a_private_kubeconfig_for_their_own_namespace(klass):
    for learner, path in klass.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert f"namespace: learner-{learner}" in path.read_text()


def test_a_learner_runs_a_lab_in_their_namespace_and_cannot_look_into_another(klass, monkeypatch):
    ada = _as_learner(monkeypatch, "ada", klass["ada"])
    assert ada.namespace == "learner-ada" and ada.backend.name == "kubeconfig"
    run = labs.start("broken-pod", ada)
    assert {d["metadata"]["name"] for d in ada.list("Deployment")} == {"menu", "kitchen"}
    assert not run.check()

    with pytest.raises(ClusterError) as refused:
        ada.list("Pod", namespace="learner-grace")
    assert refused.value.status == 403
    assert refused.value.message == ('pods is forbidden: User "system:serviceaccount:learner-ada:learner" cannot '
                                     'list resource "pods" in API group "" in the namespace "learner-grace"')
    with pytest.raises(ClusterError) as nodes:
        ada.nodes()
    assert nodes.value.status == 403


def test_the_instructor_sees_every_learner_and_lab_in_one_table(klass, monkeypatch, cluster):
    labs.start("broken-pod", _as_learner(monkeypatch, "ada", klass["ada"]))
    rows = classroom.progress(cluster)
    assert len(rows) == 2 * len(labs.LABS)
    by_key = {(learner, lab): status for learner, lab, status in rows}
    assert by_key[("grace", "broken-pod")] == "step 1 of 2 to do: the menu is served"
    assert by_key[("ada", "broken-pod")].startswith("step ")


def test_cleanup_in_a_class_keeps_the_namespace_and_removes_the_work(klass, monkeypatch):
    ada = _as_learner(monkeypatch, "ada", klass["ada"])
    labs.start("broken-pod", ada)
    ada.cleanup()
    assert ada.find("Namespace", "learner-ada", namespace=None) is not None
    assert ada.list("Deployment") == []
