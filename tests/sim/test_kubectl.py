"""kubectl 1.32 against the simulator: what a Kubernetes user types, and what they should see."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.conftest import KUBECTL

pytestmark = pytest.mark.kubectl

MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels: {app: web}
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: nginx:1.27
          ports:
            - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {app: web}
spec:
  selector: {app: web}
  ports:
    - port: 80
"""


def kubectl(env, *args, input_text=None, check=True, timeout=60):
    result = subprocess.run([KUBECTL, *args], env=env, input=input_text, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def test_apply_creates_then_leaves_unchanged(kubectl_env, namespace):
    first = kubectl(kubectl_env, "apply", "-n", namespace, "-f", "-", input_text=MANIFEST)
    assert first.stdout.splitlines() == [
        "configmap/web-config created", "deployment.apps/web created", "service/web created"]
    assert "Warning" not in first.stderr and "warning" not in first.stderr
    second = kubectl(kubectl_env, "apply", "-n", namespace, "-f", "-", input_text=MANIFEST)
    assert second.stdout.splitlines() == [
        "configmap/web-config unchanged", "deployment.apps/web unchanged", "service/web unchanged"]
    changed = MANIFEST.replace("replicas: 2", "replicas: 3").replace("nginx:1.27", "nginx:1.28")
    third = kubectl(kubectl_env, "apply", "-n", namespace, "-f", "-", input_text=changed)
    assert "deployment.apps/web configured" in third.stdout.splitlines()
    deployment = json.loads(kubectl(kubectl_env, "get", "deploy", "web", "-n", namespace, "-o", "json").stdout)
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP"}]


def test_get_prints_tables_like_a_real_cluster(kubectl_env, namespace):
    kubectl(kubectl_env, "apply", "-n", namespace, "-f", "-", input_text=MANIFEST)
    plain = kubectl(kubectl_env, "get", "deployments", "-n", namespace).stdout.splitlines()
    assert plain[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert plain[1].split()[0] == "web"
    wide = kubectl(kubectl_env, "get", "deploy", "-n", namespace, "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES",
                               "SELECTOR"]
    assert wide[1].split()[-3:] == ["app", "nginx:1.27", "app=web"]
    services = kubectl(kubectl_env, "get", "svc", "web", "-n", namespace).stdout.splitlines()
    assert services[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert services[1].split()[:2] == ["web", "ClusterIP"] and services[1].split()[4] == "80/TCP"


def test_get_yaml_json_labels_and_all_namespaces(kubectl_env, namespace):
    kubectl(kubectl_env, "apply", "-n", namespace, "-f", "-", input_text=MANIFEST)
    as_yaml = kubectl(kubectl_env, "get", "configmap", "web-config", "-n", namespace, "-o", "yaml").stdout
    assert "greeting: hello" in as_yaml and "kind: ConfigMap" in as_yaml
    as_json = json.loads(kubectl(kubectl_env, "get", "cm", "-n", namespace, "-l", "app=web", "-o", "json").stdout)
    assert [item["metadata"]["name"] for item in as_json["items"]] == ["web-config"]
    every = kubectl(kubectl_env, "get", "configmaps", "-A").stdout.splitlines()
    assert every[0].split() == ["NAMESPACE", "NAME", "DATA", "AGE"]
    assert any(line.split()[:2] == [namespace, "web-config"] for line in every[1:])
    assert any(line.split()[:2] == ["kube-system", "kube-root-ca.crt"] for line in every[1:])


def test_get_watch_sees_a_change(kubectl_env, namespace):
    kubectl(kubectl_env, "create", "configmap", "watched", "-n", namespace, "--from-literal=a=1")
    with subprocess.Popen([KUBECTL, "get", "configmap", "watched", "-n", namespace, "-w",
                           "--output-watch-events", "--request-timeout=20s"],
                          env=kubectl_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as watcher:
        try:
            first = watcher.stdout.readline()  # the header
            assert first.split()[:3] == ["EVENT", "NAME", "DATA"]
            assert watcher.stdout.readline().split()[:2] == ["ADDED", "watched"]
            kubectl(kubectl_env, "label", "configmap", "watched", "-n", namespace, "changed=yes")
            assert watcher.stdout.readline().split()[:2] == ["MODIFIED", "watched"]
        finally:
            watcher.kill()


def test_describe_shows_the_deployment(kubectl_env, namespace):
    kubectl(kubectl_env, "apply", "-n", namespace, "-f", "-", input_text=MANIFEST)
    text = kubectl(kubectl_env, "describe", "deployment", "web", "-n", namespace).stdout
    assert "Name:" in text and "web" in text
    assert "StrategyType:           RollingUpdate" in text
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in text
    assert "Image:         nginx:1.27" in text


def test_scale_label_annotate_and_patch(kubectl_env, namespace):
    kubectl(kubectl_env, "apply", "-n", namespace, "-f", "-", input_text=MANIFEST)
    assert kubectl(kubectl_env, "scale", "deploy/web", "-n", namespace, "--replicas=5").stdout.strip() == \
        "deployment.apps/web scaled"
    assert kubectl(kubectl_env, "label", "deploy", "web", "-n", namespace, "tier=front").stdout.strip() == \
        "deployment.apps/web labeled"
    assert kubectl(kubectl_env, "annotate", "deploy", "web", "-n", namespace, "owner=me").stdout.strip() == \
        "deployment.apps/web annotated"
    kubectl(kubectl_env, "patch", "deploy", "web", "-n", namespace, "--type=strategic",
            "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.29"}]}}}}')
    kubectl(kubectl_env, "patch", "deploy", "web", "-n", namespace, "--type=merge",
            "-p", '{"metadata":{"labels":{"merged":"yes"}}}')
    kubectl(kubectl_env, "patch", "deploy", "web", "-n", namespace, "--type=json",
            "-p", '[{"op":"replace","path":"/spec/revisionHistoryLimit","value":4}]')
    deployment = json.loads(kubectl(kubectl_env, "get", "deploy", "web", "-n", namespace, "-o", "json").stdout)
    assert deployment["spec"]["replicas"] == 5
    assert deployment["metadata"]["labels"] == {"app": "web", "tier": "front", "merged": "yes"}
    assert deployment["metadata"]["annotations"]["owner"] == "me"
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("app", "nginx:1.29")]
    assert containers[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]  # merged by name, kept
    assert deployment["spec"]["revisionHistoryLimit"] == 4


def test_delete_by_name_by_label_and_all(kubectl_env, namespace):
    for name, app in (("a", "one"), ("b", "two"), ("c", "two"), ("d", "three")):
        kubectl(kubectl_env, "create", "configmap", name, "-n", namespace)
        kubectl(kubectl_env, "label", "configmap", name, "-n", namespace, f"app={app}")
    assert kubectl(kubectl_env, "delete", "configmap", "a", "-n", namespace).stdout.strip() == \
        'configmap "a" deleted'
    by_label = kubectl(kubectl_env, "delete", "configmap", "-l", "app=two", "-n", namespace).stdout
    assert sorted(by_label.splitlines()) == ['configmap "b" deleted', 'configmap "c" deleted']
    kubectl(kubectl_env, "delete", "configmap", "--all", "-n", namespace)
    left = kubectl(kubectl_env, "get", "configmaps", "-n", namespace, "-o", "name").stdout.split()
    assert "configmap/d" not in left


def test_api_resources_lists_what_a_real_cluster_serves(kubectl_env):
    lines = kubectl(kubectl_env, "api-resources").stdout.splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = {tuple(line.split()[:2]) for line in lines[1:]}
    assert ("pods", "po") in rows and ("deployments", "deploy") in rows
    assert any(line.split()[0] == "leases" for line in lines[1:])


def test_create_namespace_and_auth_can_i(kubectl_env):
    name = f"made-by-kubectl-{int(time.time() * 1000) % 100000}"
    assert kubectl(kubectl_env, "create", "namespace", name).stdout.strip() == f"namespace/{name} created"
    assert kubectl(kubectl_env, "auth", "can-i", "create", "pods", "-n", name).stdout.strip() == "yes"
    kubectl(kubectl_env, "delete", "namespace", name, "--wait=false")


def test_get_raw_readyz(kubectl_env):
    assert kubectl(kubectl_env, "get", "--raw", "/readyz").stdout.strip() == "ok"


def test_a_server_side_apply_and_its_conflict(kubectl_env, namespace):
    kubectl(kubectl_env, "apply", "--server-side", "-n", namespace, "-f", "-", input_text=MANIFEST)
    kubectl(kubectl_env, "scale", "deploy/web", "-n", namespace, "--replicas=7")
    conflict = kubectl(kubectl_env, "apply", "--server-side", "-n", namespace, "-f", "-", input_text=MANIFEST,
                       check=False)
    assert conflict.returncode != 0
    assert "conflict" in conflict.stderr.lower() and ".spec.replicas" in conflict.stderr
    kubectl(kubectl_env, "apply", "--server-side", "--force-conflicts", "-n", namespace, "-f", "-",
            input_text=MANIFEST)
    deployment = json.loads(kubectl(kubectl_env, "get", "deploy", "web", "-n", namespace, "-o", "json").stdout)
    assert deployment["spec"]["replicas"] == 2


def test_an_invalid_manifest_gets_the_field_at_fault(kubectl_env, namespace):
    bad = MANIFEST.replace("replicas: 2", "replicas: -2")
    result = kubectl(kubectl_env, "apply", "-n", namespace, "-f", "-", input_text=bad, check=False)
    assert result.returncode != 0
    assert 'The Deployment "web" is invalid: spec.replicas: Invalid value: -2: must be greater than or equal to 0' \
        in result.stderr


def test_the_kubernetes_service_has_the_api_servers_endpoints(kubectl_env):
    rows = kubectl(kubectl_env, "get", "endpoints", "kubernetes", "-n", "default").stdout.splitlines()
    assert rows[0].split() == ["NAME", "ENDPOINTS", "AGE"]
    assert rows[1].split()[:2] == ["kubernetes", "172.18.0.2:6443"]
