"""Chapter 6's manifests (k8s_course/quiz/manifests) pass the API server's strict validation."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml
from kubernetes import dynamic

MANIFESTS = sorted(p.name for p in (files("k8s_course.quiz") / "manifests").iterdir() if p.name.endswith(".yaml"))


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_manifest_is_labelled_and_valid_for_the_api_server(api_client, namespace, name):
    documents = [d for d in yaml.safe_load_all((files("k8s_course.quiz") / "manifests" / name).read_text()) if d]
    assert documents
    for document in documents:
        labels = document["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/part-of") == "k8s-course" and labels.get("k8s-course/lesson") == "interview"
        document["metadata"].pop("namespace", None)  # checked in the test's own namespace
        resource = dynamic.DynamicClient(api_client).resources.get(api_version=document["apiVersion"],
                                                                   kind=document["kind"])
        scope = {"namespace": namespace} if resource.namespaced else {}
        resource.create(body=document, query_params=[("dryRun", "All"), ("fieldValidation", "Strict")], **scope)


def test_the_three_manifests_of_the_chapter_are_there():
    assert MANIFESTS == ["06-operator-rbac-scoped.yaml", "06-operator-rbac.yaml", "06-shop.yaml"]
