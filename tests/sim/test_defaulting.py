"""Defaulting of built-in kinds against what a real Kubernetes 1.36 API server answered."""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from pathlib import Path

import pytest

from k8s_course.sim import quantities
from k8s_course.sim.schema import defaulting

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference" / "kubernetes-1.36" / "defaulting.json").read_text()
)
CASES = sorted(name for name in REFERENCE if not name.startswith("_"))

NAMESPACE = "course-ns"
UID = "6a1f3c2e-0000-4000-8000-00000000abcd"
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
KEPT_METADATA = ("name", "namespace", "generation", "labels", "annotations", "finalizers")


def _kind_key(body: dict) -> str:
    return f"{body['apiVersion']}/{body['kind']}"


def _allocate_like_the_server(kind_key: str, obj: dict) -> None:
    """The API layer allocates service IPs and node ports; stand in for it."""
    if kind_key != "v1/Service":
        return
    spec = obj["spec"]
    spec.setdefault("clusterIP", "10.96.12.34")
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        for number, port in enumerate(spec.get("ports", [])):
            port.setdefault("nodePort", 30080 + number)


def _create(body: dict) -> dict:
    kind_key = _kind_key(body)
    obj = copy.deepcopy(body)
    obj["metadata"].update({"namespace": NAMESPACE, "uid": UID})
    _allocate_like_the_server(kind_key, obj)
    defaulting.set_initial_status(kind_key, obj)
    defaulting.apply_defaults(kind_key, obj)
    if defaulting.tracks_generation(kind_key):
        obj["metadata"]["generation"] = 1
    return obj


def _normalise(value):
    """Placeholders as in the reference README: <uid>, <ns>, <gen>, IP and port ranges."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if value == UID:
        return "<uid>"
    if value == NAMESPACE:
        return "<ns>"
    if isinstance(value, str):
        value = re.sub(r"^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$", "kube-api-access-<gen>", value)
        try:
            if ipaddress.ip_address(value) in SERVICE_CIDR:
                return "<ip:service-cidr>"
        except ValueError:
            pass
    return value


def _answer(obj: dict, response: dict) -> dict:
    metadata = {k: obj["metadata"][k] for k in KEPT_METADATA if k in obj["metadata"]}
    answer: dict = {"metadata": metadata, "status": obj.get("status")}
    if "spec" in response:
        answer["spec"] = obj["spec"]
    else:
        answer["body"] = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    answer = _normalise(answer)
    for port in (answer.get("spec") or {}).get("ports", []):
        if isinstance(port.get("nodePort"), int) and 30000 <= port["nodePort"] <= 32767:
            port["nodePort"] = "<nodePort:in-range>"
    return answer


@pytest.mark.parametrize("case", CASES)
def test_minimal_objects_come_back_as_the_real_server_answered(case):
    request, response = REFERENCE[case]["request"], REFERENCE[case]["response"]
    assert _answer(_create(request["body"]), response) == response


@pytest.mark.parametrize("case", CASES)
def test_defaulting_twice_changes_nothing(case):
    obj = _create(REFERENCE[case]["request"]["body"])
    again = copy.deepcopy(obj)
    defaulting.apply_defaults(_kind_key(obj), again)
    assert again == obj


def _pod(*containers: dict, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": list(containers), **spec}}


def test_pod_qos_class_follows_requests_and_limits():
    best_effort = _create(_pod({"name": "a", "image": "nginx"}))
    burstable = _create(_pod({"name": "a", "image": "nginx", "resources": {"requests": {"cpu": "100m"}}}))
    guaranteed = _create(
        _pod({"name": "a", "image": "nginx", "resources": {"limits": {"cpu": "1", "memory": "128Mi"}}})
    )
    assert best_effort["status"]["qosClass"] == "BestEffort"
    assert burstable["status"]["qosClass"] == "Burstable"
    assert guaranteed["status"]["qosClass"] == "Guaranteed"


def test_limits_alone_are_copied_to_requests():
    pod = _create(_pod({"name": "a", "image": "nginx", "resources": {"limits": {"cpu": "0.5", "memory": "1Gi"}}}))
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "1Gi"},
        "requests": {"cpu": "500m", "memory": "1Gi"},
    }


def test_quantities_are_written_back_in_canonical_form():
    pod = _create(_pod({"name": "a", "image": "x:1", "resources": {"requests": {"cpu": "1000m", "memory": "1.5Gi"}}}))
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "1536Mi"}


def test_an_unparseable_quantity_raises_the_servers_message():
    with pytest.raises(quantities.QuantityError, match=r"quantities must match the regular expression"):
        _create(_pod({"name": "a", "image": "x", "resources": {"requests": {"cpu": "lots"}}}))


@pytest.mark.parametrize(
    "image, policy",
    [("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
     ("localhost:5000/app", "Always"), ("localhost:5000/app:v2", "IfNotPresent"),
     ("busybox@sha256:" + "a" * 64, "IfNotPresent")],
)
def test_image_pull_policy_depends_on_the_tag(image, policy):
    pod = _create(_pod({"name": "a", "image": image}))
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_service_account_volume_is_mounted_in_init_and_regular_containers_once():
    pod = _create(_pod({"name": "a", "image": "x"}, initContainers=[{"name": "init", "image": "y"}]))
    volume_names = [v["name"] for v in pod["spec"]["volumes"]]
    assert len(volume_names) == 1 and volume_names[0].startswith("kube-api-access-")
    for container in pod["spec"]["initContainers"] + pod["spec"]["containers"]:
        assert container["volumeMounts"] == [
            {"name": volume_names[0], "readOnly": True, "mountPath": defaulting.SERVICE_ACCOUNT_MOUNT_PATH}
        ]


def test_automount_false_leaves_out_the_token_volume():
    pod = _create(_pod({"name": "a", "image": "x"}, automountServiceAccountToken=False))
    assert "volumes" not in pod["spec"]
    assert pod["spec"]["serviceAccountName"] == "default"


def test_existing_not_ready_toleration_is_kept_and_not_duplicated():
    mine = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
    pod = _create(_pod({"name": "a", "image": "x"}, tolerations=[mine]))
    assert [t["key"] for t in pod["spec"]["tolerations"]] == [
        "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"
    ]
    assert pod["spec"]["tolerations"][0]["tolerationSeconds"] == 5


def test_probes_ports_and_volumes_get_their_defaults():
    container = {
        "name": "a", "image": "x:1", "ports": [{"containerPort": 80}],
        "livenessProbe": {"httpGet": {"port": 80}},
        "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}],
    }
    pod = _create(_pod(container, volumes=[{"name": "cfg", "configMap": {"name": "c"}}, {"name": "scratch"}]))
    out = pod["spec"]["containers"][0]
    assert out["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert out["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3,
    }
    assert pod["spec"]["volumes"][0] == {"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}}
    assert pod["spec"]["volumes"][1] == {"name": "scratch", "emptyDir": {}}


def test_recreate_deployment_gets_no_rolling_update_block():
    body = copy.deepcopy(REFERENCE["deployment"]["request"]["body"])
    body["spec"]["strategy"] = {"type": "Recreate"}
    assert _create(body)["spec"]["strategy"] == {"type": "Recreate"}


def test_job_with_labels_keeps_them_and_template_gets_the_generated_ones():
    body = copy.deepcopy(REFERENCE["job"]["request"]["body"])
    body["metadata"]["labels"] = {"team": "data"}
    job = _create(body)
    assert job["metadata"]["labels"] == {"team": "data"}
    assert job["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] == UID
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}}


def test_job_with_manual_selector_gets_no_generated_selector():
    body = copy.deepcopy(REFERENCE["job"]["request"]["body"])
    body["spec"]["manualSelector"] = True
    body["spec"]["selector"] = {"matchLabels": {"app": "j"}}
    body["spec"]["template"]["metadata"] = {"labels": {"app": "j"}}
    job = _create(body)
    assert job["spec"]["selector"] == {"matchLabels": {"app": "j"}}
    assert job["spec"]["template"]["metadata"]["labels"] == {"app": "j"}


def test_statefulset_claim_templates_are_defaulted_like_claims_without_admission():
    body = copy.deepcopy(REFERENCE["statefulset"]["request"]["body"])
    body["spec"]["volumeClaimTemplates"] = [
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    ]
    claim = _create(body)["spec"]["volumeClaimTemplates"][0]
    assert claim == {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"},
    }


def test_load_balancer_service_defaults():
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443, "targetPort": "https"}], "selector": {"a": "b"}}}
    spec = _create(body)["spec"]
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["allocateLoadBalancerNodePorts"] is True
    assert spec["ports"][0]["targetPort"] == "https"


def test_namespace_gets_its_name_label_finalizer_and_active_phase():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    defaulting.set_initial_status("v1/Namespace", ns)
    defaulting.apply_defaults("v1/Namespace", ns)
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "shop"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}


def test_client_status_is_dropped_on_create():
    body = copy.deepcopy(REFERENCE["deployment"]["request"]["body"])
    body["status"] = {"replicas": 7}
    assert _create(body)["status"] == {}


def test_secret_string_data_overrides_data_and_is_removed():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "data": {"user": "b2xk", "keep": "a2VlcA=="}, "stringData": {"user": "new"}}
    defaulting.apply_defaults("v1/Secret", secret)
    assert secret == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                      "data": {"user": "bmV3", "keep": "a2VlcA=="}, "type": "Opaque"}


def test_crd_conversion_and_names_are_defaulted():
    crd = copy.deepcopy(REFERENCE["_crd_with_defaults"]["instances"]["crd.spec"])
    del crd["conversion"], crd["names"]["singular"], crd["names"]["listKind"]
    obj = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.diffcheck.example.com"}, "spec": crd}
    defaulting.set_initial_status("apiextensions.k8s.io/v1/CustomResourceDefinition", obj)
    defaulting.apply_defaults("apiextensions.k8s.io/v1/CustomResourceDefinition", obj)
    assert obj["spec"] == REFERENCE["_crd_with_defaults"]["instances"]["crd.spec"]
    assert obj["status"]["storedVersions"] == ["v1"]


def test_rbac_subjects_get_their_api_group():
    binding = {"subjects": [{"kind": "User", "name": "jane"}, {"kind": "ServiceAccount", "name": "op", "namespace": "x"}]}
    defaulting.apply_defaults("rbac.authorization.k8s.io/v1/RoleBinding", binding)
    assert [s["apiGroup"] for s in binding["subjects"]] == ["rbac.authorization.k8s.io", ""]
