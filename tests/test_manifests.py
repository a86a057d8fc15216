"""Every manifest the course ships is accepted by the API server as it is: strict field
validation, server-side dry run, on the simulator (whose types follow Kubernetes 1.36's)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import dynamic

MANIFESTS = sorted((Path(__file__).resolve().parent.parent / "k8s_course" / "manifests").glob("*.yaml"))


def dry_run(api_client, namespace: str, document: dict) -> None:
    """Create with dryRun=All and strict field validation: nothing is stored, everything is checked."""
    resource = dynamic.DynamicClient(api_client).resources.get(api_version=document["apiVersion"],
                                                               kind=document["kind"])
    scope = {"namespace": namespace} if resource.namespaced else {}
    resource.create(body=document, query_params=[("dryRun", "All"), ("fieldValidation", "Strict")], **scope)


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_the_manifest_is_valid_for_the_api_server(api_client, namespace, path):
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert documents, f"{path.name} holds no object"
    for document in documents:
        labels = document["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/part-of") == "k8s-course", f"{path.name}: {document['kind']} unlabelled"
        assert labels.get("k8s-course/lesson"), f"{path.name}: {document['kind']} has no lesson label"
        try:
            dry_run(api_client, namespace, document)
        except dynamic.exceptions.DynamicApiError as error:
            pytest.fail(f"{path.name}: {document['kind']} {document['metadata'].get('name')}: {error.summary()}")


def test_the_check_catches_an_unknown_field_and_stores_nothing(api_client, namespace):
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "checked"}, "dta": {"a": "1"}}
    with pytest.raises(dynamic.exceptions.DynamicApiError) as caught:
        dry_run(api_client, namespace, bad)
    assert 'unknown field "dta"' in caught.value.summary()
    dry_run(api_client, namespace, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "checked"},
                                    "data": {"a": "1"}})  # accepted, and still not stored
    names = [c.metadata.name for c in dynamic.DynamicClient(api_client).resources.get(
        api_version="v1", kind="ConfigMap").get(namespace=namespace).items]
    assert "checked" not in names
