"""Checks: a green tick with what was verified, or CheckFailed saying what is wrong and what to try."""

from __future__ import annotations

import uuid

import pytest
import yaml

from k8s_course import checks
from k8s_course.cluster import Cluster
from k8s_course.errors import ClusterError, CourseError


@pytest.fixture
def core(cluster):
    from kubernetes import client

    return client.CoreV1Api(cluster.api_client)


@pytest.fixture
def floors(core):
    from kubernetes import client

    names = sorted(f"floor-{uuid.uuid4().hex[:6]}" for _ in range(2))
    for name in names:
        core.create_node({"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    yield names
    for name in names:
        try:
            core.delete_node(name)
        except client.ApiException:
            pass


def make_pod(core, namespace: str, name: str, node: str | None, ready: bool = False, labels=None, **status) -> None:
    spec = {"containers": [{"name": "app", "image": "nginx"}]}
    spec.update({"nodeName": node} if node else {"schedulerName": "nobody"})  # no scheduler takes it
    core.create_namespaced_pod(namespace, {"metadata": {"name": name, "labels": labels or {"app": "web"}},
                                           "spec": spec})
    if ready:
        status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    if status:
        core.patch_namespaced_pod_status(name, namespace, {"status": status})


def make_ready(core, namespace: str, name: str) -> None:
    core.patch_namespaced_pod_status(name, namespace, {"status": {
        "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})


CREATING = {"phase": "Pending", "containerStatuses": [
    {"name": "app", "ready": False, "restartCount": 0, "image": "nginx", "imageID": "",
     "state": {"waiting": {"reason": "ContainerCreating"}}}]}
UNSCHEDULABLE = {"phase": "Pending", "conditions": [
    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
     "message": "0/3 nodes are available: 3 Insufficient cpu."}]}
CRASHING = {"phase": "Running", "containerStatuses": [
    {"name": "app", "ready": False, "restartCount": 5, "image": "nginx", "imageID": "",
     "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}}]}


def test_ready_pods_pass_with_a_green_tick_saying_what_was_verified(cluster, core, floors, capsys):
    make_pod(core, cluster.namespace, "web-a", floors[0], ready=True)
    make_pod(core, cluster.namespace, "web-b", floors[1], ready=True)
    result = checks.pods_ready(cluster, "app=web", 2, timeout=0)
    assert capsys.readouterr().out == "✔ 2 pods with app=web are Ready\n"
    assert result and result.name == "pods_ready" and result.message == "2 pods with app=web are Ready"


def test_pods_that_are_not_ready_are_named_with_their_state(cluster, core, floors):
    make_pod(core, cluster.namespace, "web-a", floors[0], ready=True)
    make_pod(core, cluster.namespace, "web-b", floors[0], **CREATING)
    make_pod(core, cluster.namespace, "web-c", None, **UNSCHEDULABLE)
    with pytest.raises(checks.CheckFailed) as caught:
        checks.pods_ready(cluster, "app=web", 3, timeout=0)
    failure = caught.value
    assert isinstance(failure, CourseError)
    assert failure.message == ("only 1 of 3 pods with app=web are Ready: web-b (ContainerCreating), "
                               "web-c (Pending: 0/3 nodes are available: 3 Insufficient cpu.)")
    assert failure.hint == "the scheduler found no floor (node) for web-c: its reason is above"
    assert len(failure.hints) == 3 and "cluster.events('web-c')" in failure.hints[1]


def test_the_check_waits_for_pods_to_become_ready(cluster, core, floors, monkeypatch):
    make_pod(core, cluster.namespace, "web-a", floors[0])
    listed = Cluster.pods

    def pods_that_get_ready(self, selector=None, namespace=""):
        answer = listed(self, selector, namespace)
        if not answer[0].get("status", {}).get("conditions"):
            make_ready(core, cluster.namespace, "web-a")  # becomes ready after the first look
        return answer

    monkeypatch.setattr(Cluster, "pods", pods_that_get_ready)
    assert checks.pods_ready(cluster, "app=web", 1, timeout=10).passed


def test_a_crashing_pod_hints_at_its_previous_logs(cluster, core, floors):
    make_pod(core, cluster.namespace, "web-a", floors[0], **CRASHING)
    failure = checks.attempt(checks.pods_ready, cluster, {"app": "web"}, 1, timeout=0)
    assert not failure and failure.message == "only 0 of 1 pods with app=web are Ready: web-a (CrashLoopBackOff)"
    assert failure.hints == ["a container of web-a keeps failing (CrashLoopBackOff)",
                             "read why: cluster.logs('web-a', previous=True)",
                             "cluster.events('web-a') shows the exit codes and restarts"]


def test_no_pods_and_too_many_pods_are_told_apart(cluster, core, floors):
    with pytest.raises(checks.CheckFailed, match=r"^no pods match app=web \(expected 2 Ready\)"):
        checks.pods_ready(cluster, "app=web", 2, timeout=0)
    for name in ("web-a", "web-b", "web-c"):
        make_pod(core, cluster.namespace, name, floors[0], ready=True)
    with pytest.raises(checks.CheckFailed, match=r"^3 pods with app=web are Ready, not 2"):
        checks.pods_ready(cluster, "app=web", 2, timeout=0)


DEPLOYMENT = yaml.safe_load("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 2}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: nginx:1.27}]
""")


class StubCluster:
    """A cluster whose Deployment and pods are fixed, for the Deployment's own status."""

    namespace = "lesson"
    wait_for = Cluster.wait_for

    def __init__(self, status, pods=()):
        self.deployment = dict(DEPLOYMENT, status=status)
        self.all_pods = list(pods)

    def find(self, kind, name, namespace=""):
        return self.deployment if name == "web" else None

    def pods(self, selector=None, namespace=""):
        assert selector == "app=web"
        return self.all_pods


def test_an_available_deployment_passes(capsys):
    stub = StubCluster({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3})
    assert checks.deployment_available(stub, "web", timeout=0).passed
    assert capsys.readouterr().out == "✔ deployment web is available: 3/3 replicas ready\n"


def test_a_deployment_short_of_replicas_names_its_waiting_pods():
    waiting = {"metadata": {"name": "web-x"}, "spec": {"nodeName": "w1"}, "status": CREATING}
    stub = StubCluster({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2},
                       [waiting])
    with pytest.raises(checks.CheckFailed) as caught:
        checks.deployment_available(stub, "web", timeout=0)
    assert caught.value.message == "deployment web has 2 of 3 replicas available: web-x (ContainerCreating)"
    stale = StubCluster({"observedGeneration": 1, "updatedReplicas": 3, "availableReplicas": 3})
    assert not checks.attempt(checks.deployment_available, stale, "web", timeout=0)
    missing = checks.attempt(checks.deployment_available, stub, "api", timeout=0)
    assert missing.message == "there is no Deployment named 'api' in namespace lesson"


def test_object_exists_or_says_where_it_looked(cluster, capsys):
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}})
    assert checks.object_exists(cluster, "ConfigMap", "settings", timeout=0)
    assert capsys.readouterr().out == "✔ ConfigMap settings exists\n"
    with pytest.raises(checks.CheckFailed) as caught:
        checks.object_exists(cluster, "ConfigMap", "other", timeout=0)
    assert str(caught.value) == (f"there is no ConfigMap named 'other' in namespace {cluster.namespace}\n"
                                 "Hint: apply the manifest that defines the ConfigMap (cluster.apply(...))")


def test_an_unknown_kind_is_a_failed_check_with_the_clusters_advice(cluster):
    with pytest.raises(checks.CheckFailed) as caught:
        checks.object_exists(cluster, "Apartment", "a1", timeout=0)
    assert caught.value.message == "the cluster does not serve 'Apartment'"
    assert caught.value.hint == "check the spelling, or apply the CustomResourceDefinition first"


def test_pods_on_distinct_nodes(cluster, core, floors, capsys):
    make_pod(core, cluster.namespace, "web-a", floors[0])
    make_pod(core, cluster.namespace, "web-b", floors[1])
    assert checks.pods_on_distinct_nodes(cluster, "app=web", timeout=0)
    assert capsys.readouterr().out == (f"✔ 2 pods with app=web run on 2 different nodes ({floors[0]}, {floors[1]})\n")
    make_pod(core, cluster.namespace, "web-c", floors[0])
    shared = checks.attempt(checks.pods_on_distinct_nodes, cluster, "app=web", timeout=0)
    assert shared.message == f"pods with app=web are not spread out: web-a and web-c share node {floors[0]}"
    assert "podAntiAffinity" in shared.hint(2) and shared.hint(9) == shared.hints[2]
    make_pod(core, cluster.namespace, "web-d", None, **UNSCHEDULABLE)
    unplaced = checks.attempt(checks.pods_on_distinct_nodes, cluster, "app=web", timeout=0)
    assert unplaced.message == ("not every pod with app=web has a node yet: "
                                "web-d (Pending: 0/3 nodes are available: 3 Insufficient cpu.)")


def test_a_deleted_pod_is_replaced(cluster, core, floors, capsys):
    make_pod(core, cluster.namespace, "web-a", floors[0], ready=True)
    standing = checks.attempt(checks.pod_replaced, cluster, "web-a", "app=web", timeout=0)
    assert standing.message == "pod web-a is still there (Running): nothing to replace yet"
    cluster.delete("Pod", "web-a")  # it stays Terminating: no kubelet confirms on this test's floors
    alone = checks.attempt(checks.pod_replaced, cluster, "web-a", "app=web", timeout=0)
    assert alone.message == "pod web-a is gone but no new pod with app=web has appeared"
    make_pod(core, cluster.namespace, "web-b", floors[1])
    assert checks.pod_replaced(cluster, "web-a", "app=web", timeout=0)
    assert capsys.readouterr().out.endswith("✔ pod web-a was replaced by web-b (ContainerCreating)\n")


def test_no_pods_are_left_on_a_drained_node(cluster, core, floors, capsys):
    make_pod(core, cluster.namespace, "web-a", floors[0], ready=True)
    make_pod(core, cluster.namespace, "web-b", floors[1], ready=True)
    left = checks.attempt(checks.no_pods_on_node, cluster, floors[0], "app=web", timeout=0)
    assert left.message == f"1 pod with app=web still runs on node {floors[0]}: web-a (Running)"
    cluster.delete("Pod", "web-a")
    assert checks.no_pods_on_node(cluster, floors[0], "app=web", timeout=0)
    assert capsys.readouterr().out.endswith(f"✔ no pods with app=web run on node {floors[0]} any more\n")


def test_logs_contain_the_text_or_the_check_shows_the_last_lines(cluster, monkeypatch, capsys):
    monkeypatch.setattr(cluster, "logs", lambda pod, container=None, namespace="": "starting\nlistening on :8080\n")
    assert checks.container_log_contains(cluster, "web-a", "listening", timeout=0)
    assert capsys.readouterr().out == "✔ the logs of pod web-a contain 'listening'\n"
    missing = checks.attempt(checks.container_log_contains, cluster, "web-a", "ready", container="app", timeout=0)
    assert missing.message == ("the logs of pod web-a (container app) do not contain 'ready'; the last lines are:\n"
                               "starting\nlistening on :8080")


def test_logs_that_cannot_be_read_say_why(cluster, monkeypatch):
    def refuse(pod, container=None, namespace=""):
        raise ClusterError(400, "BadRequest", f'container "app" in pod "{pod}" is waiting to start: ContainerCreating')

    monkeypatch.setattr(cluster, "logs", refuse)
    failure = checks.attempt(checks.container_log_contains, cluster, "web-a", "hello", timeout=0)
    assert failure.message == ('cannot read the logs of pod web-a: container "app" in pod "web-a" '
                               "is waiting to start: ContainerCreating")
    assert failure.hint(1).startswith("is the pod running yet?")


def test_a_check_result_reads_well_in_text_and_in_html():
    passed = checks.Check("pods_ready", True, "2 pods with app=web are Ready")
    failed = checks.Check("pods_ready", False, "no pods match app=<web>", ["apply it", "check labels"])
    assert (bool(passed), str(passed), bool(failed), str(failed)) == (
        True, "✔ 2 pods with app=web are Ready", False, "✘ no pods match app=<web>")
    assert "#2b9348" in passed._repr_html_()
    assert failed._repr_html_() == ('<span style="color:#c1121f;font-weight:bold">✘ no pods match app=&lt;web&gt;'
                                    "</span><br><i>Hint: apply it</i>")
    assert (failed.hint(), failed.hint(2), failed.hint(3), passed.hint()) == ("apply it", "check labels",
                                                                               "check labels", "")
    assert checks.CheckFailed("x", ["a", "b", "c", "d"]).hints == ["a", "b", "c"]
