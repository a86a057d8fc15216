"""The rest of the API surface: bookmarks, collections, reviews, tokens, binding, eviction."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "x"}},
       "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}


def test_a_watch_that_asks_for_bookmarks_gets_the_initial_events_end_marker(api_client, namespace):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="a")))
    response = core.list_namespaced_config_map(namespace, watch=True, allow_watch_bookmarks=True,
                                               send_initial_events=True, resource_version_match="NotOlderThan",
                                               timeout_seconds=1, _preload_content=False)
    events = [json.loads(line) for line in response.read().decode().splitlines() if line]
    types = [e["type"] for e in events]
    names = sorted(e["object"]["metadata"]["name"] for e in events if e["type"] == "ADDED")
    assert names == ["a", "kube-root-ca.crt"]
    bookmark = events[types.index("BOOKMARK")]
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert types.index("BOOKMARK") == 2  # after both initial objects


def test_delete_collection_deletes_what_the_selector_picks(api_client, namespace):
    core = client.CoreV1Api(api_client)
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=name, labels={"tier": tier})))
    core.delete_collection_namespaced_config_map(namespace, label_selector="tier=web")
    left = sorted(c.metadata.name for c in core.list_namespaced_config_map(namespace).items)
    assert left == ["c", "kube-root-ca.crt"]


def test_a_self_subject_access_review_answers_for_the_admin(api_client):
    review = client.AuthorizationV1Api(api_client).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(verb="delete", resource="pods", namespace="default"))))
    assert review.status.allowed is True


def test_a_service_account_token_request_returns_a_token_that_expires(api_client, namespace):
    core = client.CoreV1Api(api_client)
    token = core.create_namespaced_service_account_token("default", namespace, client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=["course"], expiration_seconds=3600)))
    header, claims, signature = token.status.token.split(".")  # a JWT, as kube-apiserver issues
    assert header and claims and signature
    assert (token.status.expiration_timestamp - token.metadata.creation_timestamp).total_seconds() == 3600


def test_binding_a_pod_sets_its_node_once(api_client, namespace):
    core = client.CoreV1Api(api_client)
    # a scheduler of nobody's: the default one leaves the pod alone, so the test binds it
    core.create_namespaced_pod(namespace, {**POD, "spec": {**POD["spec"], "schedulerName": "by-hand"}})
    core.create_namespaced_binding(namespace, client.V1Binding(
        metadata=client.V1ObjectMeta(name="p"), target=client.V1ObjectReference(kind="Node", name="node-a")),
        _preload_content=False)
    pod = core.read_namespaced_pod("p", namespace)
    assert pod.spec.node_name == "node-a"
    assert [(c.type, c.status) for c in pod.status.conditions] == [("PodScheduled", "True")]
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_binding(namespace, client.V1Binding(
            metadata=client.V1ObjectMeta(name="p"), target=client.V1ObjectReference(kind="Node", name="node-b")),
            _preload_content=False)
    assert caught.value.status == 409
    assert 'pod p is already assigned to node "node-a"' in json.loads(caught.value.body)["message"]


def _wait(predicate, timeout=20.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)  # the simulator works on its own thread
    raise AssertionError("not reached in time")


def test_evictions_respect_the_disruption_budget(api_client, namespace):
    core, policy = client.CoreV1Api(api_client), client.PolicyV1Api(api_client)
    for name in ("p1", "p2"):
        core.create_namespaced_pod(namespace, {**POD, "metadata": {**POD["metadata"], "name": name}})
    policy.create_namespaced_pod_disruption_budget(namespace, {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "keep"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "x"}}}})
    _wait(lambda: (policy.read_namespaced_pod_disruption_budget("keep", namespace).status.disruptions_allowed
                   or 0) == 1)
    core.create_namespaced_pod_eviction("p1", namespace, client.V1Eviction(
        metadata=client.V1ObjectMeta(name="p1", namespace=namespace)))
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_pod_eviction("p2", namespace, client.V1Eviction(
            metadata=client.V1ObjectMeta(name="p2", namespace=namespace)))
    assert caught.value.status == 429
    answer = json.loads(caught.value.body)
    assert answer["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert answer["details"]["causes"][0]["reason"] == "DisruptionBudget"


def test_an_unscheduled_pod_is_deleted_at_once_and_a_bound_one_gracefully(api_client, namespace):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(namespace, POD)
    core.delete_namespaced_pod("p", namespace)
    with pytest.raises(client.ApiException):
        core.read_namespaced_pod("p", namespace)
    core.create_namespaced_pod(namespace, {**POD, "spec": {**POD["spec"], "nodeName": "nowhere"}})
    core.delete_namespaced_pod("p", namespace)
    marked = core.read_namespaced_pod("p", namespace)
    assert marked.metadata.deletion_grace_period_seconds == 30
    core.delete_namespaced_pod("p", namespace, grace_period_seconds=0)
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_pod("p", namespace)
    assert caught.value.status == 404


def test_the_openapi_v3_index_lists_every_group_version(simulator, api_client):
    from tests.sim.test_bad_requests import _send

    status, index = _send(simulator, "GET", "/openapi/v3")
    assert status == 200
    assert {"api/v1", "apis/apps/v1", "apis/apiextensions.k8s.io/v1"} <= set(index["paths"])
    status, document = _send(simulator, "GET", index["paths"]["apis/apps/v1"]["serverRelativeURL"].split("?")[0])
    patch = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "io.k8s.api.apps.v1.Deployment" in document["components"]["schemas"]
