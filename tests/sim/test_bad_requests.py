"""A corpus of bad requests: each gets the right Status, and the server keeps answering."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest


def _send(simulator, method: str, path: str, body: bytes | None = None,
          content_type: str = "application/json", token: str | None = "use"):
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    if token == "use":
        headers["Authorization"] = f"Bearer {simulator.token}"
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(simulator.url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30, context=simulator.ssl_context()) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _deployment(name="web", **spec_changes) -> dict:
    spec = {
        "replicas": 2,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}},
    }
    spec.update(spec_changes)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def _post_deployment(simulator, namespace, body, query=""):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return _send(simulator, "POST", f"/apis/apps/v1/namespaces/{namespace}/deployments{query}", data)


CORPUS = [
    # (what, body, query, code, reason, words in the message)
    ("undecodable JSON", b'{"apiVersion": "apps/v1", "kind": ', "", 400, "BadRequest",
     "could not be decoded"),
    ("a JSON array instead of an object", b"[1, 2, 3]", "", 400, "BadRequest", "expected an object"),
    ("a wrong apiVersion", {**_deployment(), "apiVersion": "apps/v2"}, "", 400, "BadRequest",
     "does not match the expected API version"),
    ("a wrong kind", {**_deployment(), "kind": "StatefulSet"}, "", 400, "BadRequest",
     "does not match the expected kind"),
    ("replicas as a string", _deployment(replicas="three"), "", 400, "BadRequest",
     "cannot unmarshal string"),
    ("an unknown field under Strict validation", _deployment(replica=3), "?fieldValidation=Strict", 400,
     "BadRequest", 'unknown field "spec.replica"'),
    ("negative replicas", _deployment(replicas=-1), "", 422, "Invalid",
     "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ("a missing template", {**_deployment(), "spec": {"selector": {"matchLabels": {"app": "web"}}}}, "",
     422, "Invalid", "spec.template"),
    ("an invalid name", {**_deployment(), "metadata": {"name": "Web_App"}}, "", 422, "Invalid",
     "a lowercase RFC 1123 subdomain"),
    ("an over-long name", {**_deployment(), "metadata": {"name": "a" * 254}}, "", 422, "Invalid",
     "metadata.name"),
]


@pytest.mark.parametrize("what,body,query,code,reason,words", CORPUS, ids=[c[0] for c in CORPUS])
def test_a_bad_request_gets_the_right_status(simulator, namespace, what, body, query, code, reason, words):
    status, answer = _post_deployment(simulator, namespace, body, query)
    assert (status, answer["kind"], answer["code"], answer["reason"]) == (code, "Status", code, reason)
    assert words in answer["message"]
    # and the server still answers
    assert _send(simulator, "GET", f"/api/v1/namespaces/{namespace}")[0] == 200


def test_an_invalid_object_names_each_field_at_fault_as_a_cause(simulator, namespace):
    body = _deployment(replicas=-1)
    body["spec"]["template"]["spec"]["containers"][0]["name"] = "Bad Name"
    status, answer = _post_deployment(simulator, namespace, body)
    assert status == 422
    fields = {cause["field"] for cause in answer["details"]["causes"]}
    assert {"spec.replicas", "spec.template.spec.containers[0].name"} <= fields
    assert answer["details"]["kind"] == "Deployment" and answer["details"]["group"] == "apps"


def test_a_namespace_that_does_not_exist_is_not_found(simulator):
    status, answer = _post_deployment(simulator, "no-such-namespace", _deployment())
    assert (status, answer["reason"], answer["message"]) == (404, "NotFound", 'namespaces "no-such-namespace" not found')


def test_a_body_of_several_megabytes_is_too_large(simulator, namespace):
    huge = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge"}, "data": {"x": "y" * (4 << 20)}}
    status, answer = _send(simulator, "POST", f"/api/v1/namespaces/{namespace}/configmaps",
                           json.dumps(huge).encode())
    assert (status, answer["reason"]) == (413, "RequestEntityTooLarge")
    assert _send(simulator, "GET", f"/api/v1/namespaces/{namespace}/configmaps")[0] == 200


def test_a_deeply_nested_document_is_refused(simulator, namespace):
    nested = '{"a":' * 5000 + "{}" + "}" * 5000
    text = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep", "annotations": ' + nested + "}}"
    status, answer = _send(simulator, "POST", f"/api/v1/namespaces/{namespace}/configmaps", text.encode())
    assert status == 400 and answer["reason"] == "BadRequest"
    assert _send(simulator, "GET", f"/api/v1/namespaces/{namespace}/configmaps")[0] == 200


def test_undecodable_yaml_in_an_apply_is_a_bad_request(simulator, namespace):
    status, answer = _send(simulator, "PATCH",
                           f"/api/v1/namespaces/{namespace}/configmaps/x?fieldManager=test",
                           b"kind: ConfigMap\n  bad: [indent", "application/apply-patch+yaml")
    assert (status, answer["reason"]) == (400, "BadRequest")


def test_a_request_without_a_token_is_unauthorized(simulator):
    status, answer = _send(simulator, "GET", "/api/v1/namespaces", token=None)
    assert (status, answer["reason"], answer["message"]) == (401, "Unauthorized", "Unauthorized")


def test_a_request_with_a_wrong_token_is_unauthorized(simulator):
    assert _send(simulator, "GET", "/api/v1/pods", token="not-the-token")[0] == 401


def test_the_server_listens_on_loopback_only(simulator):
    port = int(simulator.url.rsplit(":", 1)[1])
    assert simulator.url.startswith("https://127.0.0.1:")
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    for address in addresses - {"127.0.0.1"}:
        if address.startswith("127."):
            continue
        with socket.socket() as probe:
            probe.settimeout(1)
            assert probe.connect_ex((address, port)) != 0


def test_the_kubeconfig_is_readable_by_its_owner_only(simulator):
    assert simulator.kubeconfig.stat().st_mode & 0o777 == 0o600
    assert simulator.token in simulator.kubeconfig.read_text()


def test_an_unknown_path_is_not_found(simulator):
    status, answer = _send(simulator, "GET", "/apis/nothing.example.com/v1/things")
    assert (status, answer["reason"]) == (404, "NotFound")
