"""The whole simulated cluster through kubectl and the official client, on a fast clock.

Unit tests of each part run on a manual clock (tests/sim/test_kubelet_*.py, ...); these check
that the parts work together as a learner meets them.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from kubernetes import client

from k8s_course.sim import Simulator
from tests.conftest import KUBECTL

SPEED = 50

pytestmark = pytest.mark.kubectl


@pytest.fixture(scope="module")
def fast():
    with Simulator(speed=SPEED) as sim:
        yield sim


@pytest.fixture
def env(fast):
    import os

    return dict(os.environ, KUBECONFIG=str(fast.kubeconfig))


def kubectl(env, *args, check=True, timeout=60, input_text=None):
    result = subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=timeout,
                            input=input_text)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def wait(predicate, timeout=30.0):
    """Wait on the wall clock for the simulator (which runs on its own thread) to get there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("not reached in time")


def pods(env, namespace, selector):
    answer = json.loads(kubectl(env, "get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout)
    return answer["items"]


def test_a_deployment_rolls_out_and_back_with_kubectl(env):
    ns = "rollout"
    kubectl(env, "create", "namespace", ns)
    kubectl(env, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=4", "-n", ns)
    out = kubectl(env, "rollout", "status", "deployment/web", "-n", ns, "--timeout=60s").stdout
    assert out.strip().endswith('deployment "web" successfully rolled out')
    kubectl(env, "set", "image", "deployment/web", "nginx=nginx:1.28", "-n", ns)
    kubectl(env, "rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    images = {p["spec"]["containers"][0]["image"] for p in pods(env, ns, "app=web")
              if not p["metadata"].get("deletionTimestamp")}
    assert images == {"nginx:1.28"}
    assert kubectl(env, "rollout", "undo", "deployment/web", "-n", ns).stdout.strip() == \
        "deployment.apps/web rolled back"
    kubectl(env, "rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    deployment = json.loads(kubectl(env, "get", "deploy", "web", "-n", ns, "-o", "json").stdout)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


def test_scaling_3_10_2_converges(env):
    ns = "scaling"
    kubectl(env, "create", "namespace", ns)
    kubectl(env, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "-n", ns)
    for replicas in (10, 2):
        kubectl(env, "scale", "deployment/web", f"--replicas={replicas}", "-n", ns)
        wait(lambda r=replicas: len([p for p in pods(env, ns, "app=web")
                                     if not p["metadata"].get("deletionTimestamp")
                                     and p["status"].get("phase") == "Running"]) == r)
    wait(lambda: len(pods(env, ns, "app=web")) == 2)


def test_logs_previous_exec_and_events_of_a_crashing_container(env):
    ns = "crash"
    kubectl(env, "create", "namespace", ns)
    manifest = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crasher", "labels": {"app": "crasher"}},
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36",
                                 "command": ["sh", "-c", "echo starting; sleep 2; echo giving up; exit 3"]}]}}
    kubectl(env, "apply", "-n", ns, "-f", "-", input_text=json.dumps(manifest))

    def restarted():
        pod = json.loads(kubectl(env, "get", "pod", "crasher", "-n", ns, "-o", "json").stdout)
        statuses = pod["status"].get("containerStatuses") or []
        return statuses and statuses[0]["restartCount"] >= 1 and statuses[0]

    status = wait(restarted, 60)
    assert status["lastState"]["terminated"]["exitCode"] == 3
    previous = kubectl(env, "logs", "crasher", "-n", ns, "--previous").stdout.splitlines()
    assert previous == ["starting", "giving up"]
    table = kubectl(env, "get", "pod", "crasher", "-n", ns).stdout.splitlines()[1].split()
    assert table[0] == "crasher" and table[2] in ("Running", "Error", "CrashLoopBackOff", "Completed")
    events = kubectl(env, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=crasher").stdout
    assert "Started" in events and "Pulled" in events


def test_exec_runs_a_shell_in_the_pod(env):
    ns = "execing"
    kubectl(env, "create", "namespace", ns)
    kubectl(env, "run", "box", "--image=busybox:1.36", "-n", ns, "--", "sleep", "3600")
    wait(lambda: json.loads(kubectl(env, "get", "pod", "box", "-n", ns, "-o", "json").stdout)["status"]
         .get("phase") == "Running")
    result = kubectl(env, "exec", "box", "-n", ns, "--", "sh", "-c", "echo hi > /tmp/x; cat /tmp/x; hostname")
    assert result.stdout.splitlines() == ["hi", "box"]
    failing = kubectl(env, "exec", "box", "-n", ns, "--", "sh", "-c", "exit 4", check=False)
    assert failing.returncode == 4


def test_top_shows_pods_and_nodes(env):
    ns = "topping"
    kubectl(env, "create", "namespace", ns)
    kubectl(env, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "-n", ns)
    kubectl(env, "rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    top_pods = wait(lambda: kubectl(env, "top", "pods", "-n", ns, check=False).stdout.splitlines())
    assert top_pods[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"] and len(top_pods) == 3
    top_nodes = kubectl(env, "top", "nodes").stdout.splitlines()
    assert top_nodes[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert {line.split()[0] for line in top_nodes[1:]} == {
        "k8s-course-control-plane", "k8s-course-worker", "k8s-course-worker2"}


def test_a_pod_too_big_for_any_node_stays_pending_with_the_reason(env):
    ns = "toobig"
    kubectl(env, "create", "namespace", ns)
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                         "resources": {"requests": {"cpu": "100"}}}]}}
    kubectl(env, "apply", "-n", ns, "-f", "-", input_text=json.dumps(manifest))
    events = wait(lambda: kubectl(env, "get", "events", "-n", ns, "-o", "json").stdout.count("FailedScheduling"))
    assert events
    text = kubectl(env, "describe", "pod", "huge", "-n", ns).stdout
    assert "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu." in text


def test_a_node_outage_evicts_deployment_pods_but_not_the_statefulset_pod(fast, env):
    """NotReady after 40 s, evicted after 300 s more (at x50 about 7 s of wall time)."""
    from k8s_course import backends

    ns = "outage"
    node = "k8s-course-worker2"
    api = fast.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    kubectl(env, "create", "namespace", ns)
    template = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    apps.create_namespaced_deployment(ns, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": template}}})
    apps.create_namespaced_stateful_set(ns, {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}},
                              "spec": {**template, "nodeSelector": {"kubernetes.io/hostname": node}}}}})

    def running(selector):
        return [p for p in core.list_namespaced_pod(ns, label_selector=selector).items
                if p.status.phase == "Running" and not p.metadata.deletion_timestamp]

    wait(lambda: len(running("app=web")) == 2 and len(running("app=db")) == 1)
    before = {p.metadata.name for p in running("app=web")}
    on_node = [p.metadata.name for p in running("app=web") if p.spec.node_name == node]
    assert len(on_node) == 1  # the scheduler spread the two replicas over the two workers
    backend = backends.Backend("simulator", str(fast.kubeconfig), backends.SIM_CONTEXT, "test")
    backends.node_offline(backend, node)
    try:
        wait(lambda: any(c.type == "Ready" and c.status == "Unknown"
                         for c in core.read_node(node).status.conditions), 20)
        taints = {(t.key, t.effect) for t in core.read_node(node).spec.taints or []}
        assert ("node.kubernetes.io/unreachable", "NoExecute") in taints
        moved = wait(lambda: [p for p in running("app=web") if p.metadata.name not in before], 30)
        assert moved[0].spec.node_name != node
        evicted = core.read_namespaced_pod(on_node[0], ns)  # its kubelet cannot confirm: Terminating
        assert evicted.metadata.deletion_timestamp is not None
        db = core.read_namespaced_pod("db-0", ns)  # evicted too, but never replaced while it exists
        assert db.metadata.deletion_timestamp is not None
        assert [p.metadata.name for p in core.list_namespaced_pod(ns, label_selector="app=db").items] == ["db-0"]
    finally:
        backends.node_online(backend, node)
    wait(lambda: any(c.type == "Ready" and c.status == "True" for c in core.read_node(node).status.conditions))
    # back online, the kubelet finishes the deletions, and the StatefulSet recreates db-0
    wait(lambda: len(running("app=db")) == 1 and running("app=db")[0].metadata.uid != db.metadata.uid, 30)
    api.close()


def test_the_admin_api_crashes_a_container_and_the_kubelet_restarts_it(fast, env):
    from k8s_course import backends

    ns = "crashing"
    kubectl(env, "create", "namespace", ns)
    kubectl(env, "run", "web", "--image=nginx:1.27", "-n", ns)
    wait(lambda: json.loads(kubectl(env, "get", "pod", "web", "-n", ns, "-o", "json").stdout)["status"]
         .get("phase") == "Running")
    backend = backends.Backend("simulator", str(fast.kubeconfig), backends.SIM_CONTEXT, "test")
    answer = backends._admin(backend, "POST", f"/sim/v1/namespaces/{ns}/pods/web/crash",
                             {"container": "web", "exitCode": 2})
    assert answer["status"] == "Success"

    def restarted():
        status = json.loads(kubectl(env, "get", "pod", "web", "-n", ns, "-o", "json").stdout)["status"]
        containers = status.get("containerStatuses") or [{}]
        return containers[0].get("restartCount") == 1 and containers[0]

    container = wait(restarted)
    assert container["lastState"]["terminated"]["exitCode"] == 2
    assert container["lastState"]["terminated"]["reason"] == "Error"
    with pytest.raises(RuntimeError) as caught:
        backends._admin(backend, "POST", f"/sim/v1/namespaces/{ns}/pods/web/crash", {"container": "nope"})
    assert "refused" in str(caught.value)
