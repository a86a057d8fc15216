"""Choosing the cluster: kind when it answers, the simulator otherwise, clear words when neither."""

from __future__ import annotations

import pytest

from k8s_course import backends, connect
from k8s_course.errors import NoCluster


def test_without_kind_asking_for_it_says_how_to_get_one(monkeypatch):
    monkeypatch.setattr(backends.shutil, "which", lambda name: None)
    with pytest.raises(NoCluster) as caught:
        connect(backend="kind", quiet=True)
    assert str(caught.value).startswith(
        "no cluster: run `kind create cluster --config kind-config.yaml`, or use the built-in simulator")


def test_creating_a_kind_cluster_without_kind_or_docker_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(backends.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError) as caught:
        backends.create_kind_cluster()
    assert "kind is not installed" in str(caught.value)
    monkeypatch.setattr(backends.shutil, "which", lambda name: "/usr/bin/kind" if name == "kind" else None)
    with pytest.raises(RuntimeError) as caught:
        backends.create_kind_cluster()
    assert "kind needs Docker" in str(caught.value)


def test_an_unknown_backend_name_is_refused():
    with pytest.raises(NoCluster) as caught:
        connect(backend="minikube", quiet=True)
    assert "unknown backend 'minikube'" in str(caught.value)
