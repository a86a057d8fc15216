"""kopf, the Python operator framework, runs against the simulator unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client, watch

pytestmark = pytest.mark.kopf

OPERATOR = Path(__file__).parent / "operators" / "greeter.py"

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "greetings.course.example.com"},
    "spec": {
        "group": "course.example.com",
        "scope": "Namespaced",
        "names": {"plural": "greetings", "singular": "greeting", "kind": "Greeting", "listKind": "GreetingList"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {"name": {"type": "string"}}},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            }}},
        }],
    },
}


def test_a_kopf_handler_patches_the_status_of_a_new_custom_resource(simulator, api_client, namespace, monkeypatch):
    kopf_testing = pytest.importorskip("kopf.testing")
    extensions = client.ApiextensionsV1Api(api_client)
    extensions.create_custom_resource_definition(CRD)
    custom = client.CustomObjectsApi(api_client)
    # kopf logs in through the official client's default kubeconfig, read as KUBECONFIG said at import
    import kubernetes.config.kube_config as kube_config

    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(simulator.kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    try:
        with kopf_testing.KopfRunner(["run", "--standalone", "--namespace", namespace, str(OPERATOR)],
                                     timeout=60) as runner:
            custom.create_namespaced_custom_object("course.example.com", "v1", namespace, "greetings", {
                "apiVersion": "course.example.com/v1", "kind": "Greeting",
                "metadata": {"name": "hi"}, "spec": {"name": "learner"}})
            status = None
            w = watch.Watch()
            for event in w.stream(custom.list_namespaced_custom_object, "course.example.com", "v1", namespace,
                                  "greetings", timeout_seconds=30):
                status = event["object"].get("status") or {}
                if status.get("phase") == "Greeted":
                    w.stop()
            custom.delete_namespaced_custom_object("course.example.com", "v1", namespace, "greetings", "hi")
        assert runner.exit_code == 0, runner.output
        assert (status["phase"], status["message"]) == ("Greeted", "hello, learner")
        assert "greeted learner" in runner.output
    finally:
        extensions.delete_custom_resource_definition("greetings.course.example.com")
