"""The sidecar injector for real: an AdmissionReview posted over HTTPS (a certificate of the course
CA, checked by the client as the API server checks caBundle), the JSON patch that comes back,
and the pod that patch makes."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
import uuid

import pytest

from k8s_course.sim import patching
from k8s_course.workloads import course_ca, sidecar_injector

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"generateName": "web-5d4f7c8b9-", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {"serviceAccountName": "web",
             "containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]},
}


def review(pod: dict, operation: str = "CREATE") -> dict:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": str(uuid.uuid4()), "kind": {"group": "", "version": "v1", "kind": "Pod"},
                        "resource": {"group": "", "version": "v1", "resource": "pods"},
                        "namespace": "shop", "operation": operation, "object": pod}}


@pytest.fixture(scope="module")
def authority():
    return course_ca.make_ca()


@pytest.fixture
def injector(authority, tmp_path):
    issued = course_ca.issue(authority, "k8s-course-system", "sidecar-injector",
                             ["sidecar-injector.k8s-course-system.svc", "localhost"])
    (tmp_path / "tls.crt").write_bytes(issued.cert_pem)
    (tmp_path / "tls.key").write_bytes(issued.key_pem)
    lines: list[str] = []
    server = sidecar_injector.InjectorServer(str(tmp_path / "tls.crt"), str(tmp_path / "tls.key"),
                                             "127.0.0.1", 0, log=lines.append)
    with server:
        yield server.port, lines


def post(port: int, body: dict, ca_pem: bytes, path: str = "/inject") -> tuple[int, dict]:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    request = urllib.request.Request(f"https://localhost:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, context=context, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_new_pod_comes_back_with_proxy_init_and_the_proxy_as_a_native_sidecar(injector, authority):
    port, lines = injector
    sent = review(POD)
    status, answer = post(port, sent, authority.cert_pem)
    assert status == 200
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == sent["request"]["uid"] and response["allowed"] is True
    assert response["patchType"] == "JSONPatch"
    pod = patching.json_patch(POD, json.loads(base64.b64decode(response["patch"])))

    init, proxy = pod["spec"]["initContainers"]
    assert init["name"] == "proxy-init"
    assert init["securityContext"]["capabilities"]["add"] == ["NET_ADMIN", "NET_RAW"]
    shown = init["command"][2]
    assert "REDIRECT --to-ports 15006" in shown and "REDIRECT --to-ports 15001" in shown
    assert "--uid-owner 1337 -j RETURN" in shown
    assert proxy["name"] == "proxy" and proxy["restartPolicy"] == "Always"
    assert proxy["command"] == ["python", "/opt/k8s-course-mesh/mtls_proxy.py"]
    assert proxy["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
    assert proxy["securityContext"]["runAsUser"] == 1337
    assert {e["name"]: e["value"] for e in proxy["env"]} == {
        "INBOUND_PORT": "15006", "UPSTREAM": "127.0.0.1:80", "OUTBOUND_PORT": ""}
    assert pod["spec"]["volumes"] == [
        {"name": "k8s-course-mesh", "configMap": {"name": "k8s-course-mesh"}},
        {"name": "mesh-identity", "secret": {"secretName": "mesh-identity-web"}}]
    assert json.loads(pod["metadata"]["annotations"]["sidecar.k8s-course.dev/status"]) == {
        "initContainers": ["proxy-init", "proxy"], "containers": [],
        "volumes": ["k8s-course-mesh", "mesh-identity"], "revision": "default"}
    assert pod["spec"]["containers"] == POD["spec"]["containers"]  # the app is untouched
    assert lines == ["sidecar-injector: shop/web-5d4f7c8b9-*: added proxy-init and proxy"]


def test_the_injector_goes_first_and_keeps_what_the_pod_already_has():
    pod = json.loads(json.dumps(POD))
    pod["metadata"]["annotations"] = {"team": "shop", sidecar_injector.PEER_ANNOTATION: "backend:15006"}
    pod["spec"]["initContainers"] = [{"name": "migrate", "image": "busybox"}]
    pod["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    injected = patching.json_patch(pod, sidecar_injector.inject(pod))
    assert [c["name"] for c in injected["spec"]["initContainers"]] == ["proxy-init", "proxy", "migrate"]
    assert [v["name"] for v in injected["spec"]["volumes"]] == ["data", "k8s-course-mesh", "mesh-identity"]
    assert injected["metadata"]["annotations"]["team"] == "shop"
    assert "sidecar.k8s-course.dev/status" in injected["metadata"]["annotations"]
    env = {e["name"]: e["value"] for e in injected["spec"]["initContainers"][1]["env"]}
    assert (env["OUTBOUND_PORT"], env["PEER"]) == ("15001", "backend:15006")


@pytest.mark.parametrize("change, reason", [
    ({"metadata": {"annotations": {"sidecar.k8s-course.dev/inject": "false"}}},
     'annotation sidecar.k8s-course.dev/inject: "false"'),
    ({"metadata": {"annotations": {"sidecar.k8s-course.dev/status": "{}"}}}, "already injected"),
    ({"spec": {"hostNetwork": True}}, "host network: its iptables are the node's"),
])
def test_opted_out_injected_and_host_network_pods_are_let_through_unchanged(injector, authority, change, reason):
    port, lines = injector
    pod = json.loads(json.dumps(POD))
    for part, fields in change.items():
        pod[part].update(fields)
    assert sidecar_injector.skip_reason(pod) == reason
    status, answer = post(port, review(pod), authority.cert_pem)
    assert status == 200 and answer["response"]["allowed"] is True
    assert "patch" not in answer["response"] and "patchType" not in answer["response"]
    assert lines == [f"sidecar-injector: shop/web-5d4f7c8b9-*: skipped ({reason})"]


def test_an_update_is_allowed_without_a_patch(injector, authority):
    port, _ = injector
    status, answer = post(port, review(POD, operation="UPDATE"), authority.cert_pem)
    assert status == 200 and answer["response"] == {"uid": answer["response"]["uid"], "allowed": True}


def test_a_body_that_is_no_review_is_a_bad_request(injector, authority):
    port, _ = injector
    assert post(port, {"kind": "Pod"}, authority.cert_pem) == (
        400, {"error": "expected an AdmissionReview with a request"})
    assert post(port, {}, authority.cert_pem, path="/mutate")[0] == 404


def test_a_client_trusting_another_ca_refuses_the_injector(injector):
    port, _ = injector
    with pytest.raises(urllib.error.URLError) as caught:
        post(port, review(POD), course_ca.make_ca().cert_pem)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
