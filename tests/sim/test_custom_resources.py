"""Custom resources: served once their CRD is Established, validated, defaulted, gone with it."""

from __future__ import annotations

import json
import subprocess

import pytest
from kubernetes import client

from tests.conftest import KUBECTL

GROUP, VERSION, PLURAL = "course.example.com", "v1", "databases"

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "database", "kind": "Database", "shortNames": ["db"]},
        "versions": [{
            "name": VERSION, "served": True, "storage": True,
            "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                     "statusReplicasPath": ".status.replicas"}},
            "additionalPrinterColumns": [
                {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                {"name": "Version", "type": "string", "jsonPath": ".spec.version"},
                {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
            ],
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "required": ["version"], "properties": {
                    "replicas": {"type": "integer", "minimum": 1, "maximum": 9, "default": 1},
                    "version": {"type": "string", "enum": ["15", "16"]},
                }},
                "status": {"type": "object", "properties": {
                    "phase": {"type": "string"}, "replicas": {"type": "integer"}}},
            }}},
        }],
    },
}


@pytest.fixture
def crd(api_client):
    extensions = client.ApiextensionsV1Api(api_client)
    made = extensions.create_custom_resource_definition(CRD)
    yield made
    try:
        extensions.delete_custom_resource_definition(CRD["metadata"]["name"])
    except client.ApiException:
        pass


def _database(name: str, **spec) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Database", "metadata": {"name": name},
            "spec": {"version": "16", **spec}}


def test_a_crd_is_established_and_its_resources_are_served(api_client, crd, namespace):
    extensions = client.ApiextensionsV1Api(api_client)
    status = extensions.read_custom_resource_definition(CRD["metadata"]["name"]).status
    assert {c.type: c.status for c in status.conditions} == {"NamesAccepted": "True", "Established": "True"}
    custom = client.CustomObjectsApi(api_client)
    made = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _database("orders"))
    assert made["spec"] == {"version": "16", "replicas": 1}  # the schema's default
    assert made["metadata"]["generation"] == 1
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    assert [item["metadata"]["name"] for item in listed["items"]] == ["orders"]


def test_a_custom_resource_is_validated_by_its_schema(api_client, crd, namespace):
    custom = client.CustomObjectsApi(api_client)
    with pytest.raises(client.ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL,
                                               _database("bad", replicas=12, version="99"))
    answer = json.loads(caught.value.body)
    assert caught.value.status == 422
    messages = {cause["field"]: cause["message"] for cause in answer["details"]["causes"]}
    assert messages["spec.replicas"] == "Invalid value: 12: spec.replicas in body should be less than or equal to 9"
    assert messages["spec.version"] == 'Unsupported value: "99": supported values: "15", "16"'


def test_status_and_scale_subresources_of_a_custom_resource(api_client, crd, namespace):
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _database("orders"))
    # a write to the main resource ignores status; the status subresource ignores the spec
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "orders",
                                          {"status": {"phase": "Ignored"}})
    assert "status" not in custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "orders")
    custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, "orders",
                                                 {"status": {"phase": "Running", "replicas": 1},
                                                  "spec": {"replicas": 5}})
    current = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "orders")
    assert current["status"] == {"phase": "Running", "replicas": 1} and current["spec"]["replicas"] == 1
    assert current["metadata"]["generation"] == 1
    custom.patch_namespaced_custom_object_scale(GROUP, VERSION, namespace, PLURAL, "orders",
                                                {"spec": {"replicas": 3}})
    scale = custom.get_namespaced_custom_object_scale(GROUP, VERSION, namespace, PLURAL, "orders")
    assert scale["spec"]["replicas"] == 3 and scale["status"]["replicas"] == 1
    after = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "orders")
    assert after["spec"]["replicas"] == 3 and after["metadata"]["generation"] == 2


def test_strategic_merge_patch_is_refused_for_custom_resources(simulator, api_client, crd, namespace):
    from tests.sim.test_bad_requests import _send

    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _database("orders"))
    status, answer = _send(simulator, "PATCH", f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/orders",
                           b'{"spec": {"replicas": 2}}', "application/strategic-merge-patch+json")
    assert (status, answer["reason"]) == (415, "UnsupportedMediaType")
    assert answer["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")


def test_kubectl_shows_printer_columns_and_scales_a_custom_resource(api_client, crd, namespace, kubectl_env):
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _database("orders", replicas=2))
    run = lambda *args: subprocess.run([KUBECTL, *args, "-n", namespace], env=kubectl_env,  # noqa: E731
                                       capture_output=True, text=True, timeout=60)
    table = run("get", "db").stdout.splitlines()
    assert table[0].split() == ["NAME", "REPLICAS", "VERSION", "PHASE"]
    assert table[1].split() == ["orders", "2", "16"]
    assert run("scale", "database/orders", "--replicas=4").stdout.strip() == "database.course.example.com/orders scaled"
    assert custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "orders")["spec"]["replicas"] == 4


def test_deleting_the_crd_removes_its_resources_and_stops_serving_them(api_client, namespace):
    extensions = client.ApiextensionsV1Api(api_client)
    extensions.create_custom_resource_definition(CRD)
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _database("orders"))
    extensions.delete_custom_resource_definition(CRD["metadata"]["name"])
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            extensions.read_custom_resource_definition(CRD["metadata"]["name"])
        except client.ApiException as error:
            assert error.status == 404
            break
        time.sleep(0.05)  # the CRD's cleanup runs on the simulator's own loop
    with pytest.raises(client.ApiException) as caught:
        custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    assert caught.value.status == 404
