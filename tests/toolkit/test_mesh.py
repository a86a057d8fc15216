"""The course's mesh on the simulator, through the official client only: the injector installed,
a namespace labelled, and the pods of a plain Deployment come up with the proxy sidecar."""

from __future__ import annotations

import json
import uuid

import pytest

from k8s_course import mesh
from k8s_course.errors import ClusterError


def deployment(name: str, annotations: dict | None = None) -> dict:
    template_meta = {"labels": {"app": name}, **({"annotations": annotations} if annotations else {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": template_meta, "spec": {"containers": [
                         {"name": "app", "image": "python:3.11-slim", "ports": [{"containerPort": 8080}],
                          "command": ["python", "-m", "http.server", "8080"]}]}}}}


def containers(pod: dict) -> tuple[list[str], list[str]]:
    spec = pod["spec"]
    return [c["name"] for c in spec.get("initContainers") or []], [c["name"] for c in spec["containers"]]


@pytest.fixture
def injector(cluster):
    ca = mesh.install_injector(cluster, timeout=60)
    try:
        yield ca
    finally:
        mesh.uninstall_injector(cluster)


def test_pods_of_a_labelled_namespace_get_the_proxy_and_others_do_not(cluster, injector):
    mesh.enable_injection(cluster, ca=injector)
    assert cluster.get("Namespace", cluster.namespace, namespace=None)["metadata"]["labels"][
        mesh.INJECTION_LABEL] == "enabled"
    cluster.apply([deployment("web"), deployment("legacy", {"sidecar.k8s-course.dev/inject": "false"})])
    cluster.rollout_status("web", timeout=60)
    cluster.rollout_status("legacy", timeout=60)

    web = cluster.pods("app=web")
    assert len(web) == 2
    for pod in web:
        assert containers(pod) == (["proxy-init", "proxy"], ["app"])
        proxy = pod["spec"]["initContainers"][1]
        assert proxy["restartPolicy"] == "Always"
        assert proxy["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
        assert json.loads(pod["metadata"]["annotations"]["sidecar.k8s-course.dev/status"])["initContainers"] == \
            ["proxy-init", "proxy"]
        states = {s["name"]: s["state"] for s in pod["status"]["initContainerStatuses"]}
        assert states["proxy-init"]["terminated"]["exitCode"] == 0  # ran first and finished
        assert "running" in states["proxy"]  # and stays beside the app
    name = web[0]["metadata"]["name"]
    assert "mtls-proxy: inbound 15006 -> 127.0.0.1:8080" in cluster.logs(name, container="proxy")
    assert "REDIRECT --to-ports 15006" in cluster.logs(name, container="proxy-init")

    for pod in cluster.pods("app=legacy"):  # opted out with the annotation
        assert containers(pod) == ([], ["app"])

    elsewhere = f"plain-{uuid.uuid4().hex[:6]}"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": elsewhere}}, namespace=None)
    try:
        cluster.apply(deployment("web"), namespace=elsewhere)
        cluster.rollout_status("web", timeout=60, namespace=elsewhere)
        assert [containers(p) for p in cluster.pods("app=web", namespace=elsewhere)] == [([], ["app"])] * 2
    finally:
        cluster.delete("Namespace", elsewhere, namespace=None)


def test_without_a_ready_injector_the_labelled_namespace_refuses_new_pods(cluster, injector):
    mesh.enable_injection(cluster, ca=injector)
    cluster.scale("sidecar-injector", 0, namespace=mesh.SYSTEM_NAMESPACE)
    cluster.wait_for(lambda: not cluster.pods("app=sidecar-injector", namespace=mesh.SYSTEM_NAMESPACE),
                     60, "the injector's pod to go")
    with pytest.raises(ClusterError) as caught:
        cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lonely"},
                       "spec": {"containers": [{"name": "app", "image": "nginx"}]}})
    assert caught.value.status == 500
    assert ('failed calling webhook "sidecar-injector.k8s-course.dev": failed to call webhook: Post '
            '"https://sidecar-injector.k8s-course-system.svc:443/inject?timeout=10s": dial tcp ') in str(caught.value)
