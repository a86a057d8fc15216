"""The learner's `Cluster`: apply, read, scale, errors that read like advice."""

from __future__ import annotations

import pytest

from k8s_course.errors import ClusterError, CourseError

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
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
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


def test_apply_creates_then_updates_and_labels_what_it_made(cluster):
    first = cluster.apply(DEPLOYMENT)
    assert [(o["kind"], o["metadata"]["name"]) for o in first] == [("Deployment", "web"), ("Service", "web")]
    again = cluster.apply(DEPLOYMENT.replace("replicas: 2", "replicas: 4"))
    assert again[0]["spec"]["replicas"] == 4
    labels = cluster.get("deploy", "web")["metadata"]["labels"]
    assert labels == {"app.kubernetes.io/part-of": "k8s-course", "k8s-course/lesson": cluster.namespace}


def test_kinds_are_found_by_kind_plural_or_short_name(cluster):
    cluster.apply(DEPLOYMENT)
    names = {n: [o["metadata"]["name"] for o in cluster.list(n)] for n in ("Deployment", "deployments", "deploy")}
    assert names == {"Deployment": ["web"], "deployments": ["web"], "deploy": ["web"]}
    assert [o["metadata"]["name"] for o in cluster.list("svc", selector={"k8s-course/lesson": cluster.namespace})] == ["web"]


def test_scale_changes_replicas_and_refuses_nonsense(cluster):
    cluster.apply(DEPLOYMENT)
    cluster.scale("web", 6)
    assert cluster.get("Deployment", "web")["spec"]["replicas"] == 6
    for bad in (-1, 2.5, "six", True):
        with pytest.raises(CourseError) as caught:
            cluster.scale("web", bad)
        assert "replicas must be a whole number, 0 or more" in str(caught.value)


def test_an_invalid_manifest_names_the_field_and_what_was_given(cluster):
    with pytest.raises(ClusterError) as caught:
        cluster.apply(DEPLOYMENT.replace("replicas: 2", "replicas: -1"))
    text = str(caught.value)
    assert 'Deployment.apps "web" is invalid:' in text
    assert "spec.replicas: must be greater than or equal to 0 (you gave -1)" in text
    assert "Hint: fix the field(s) named above" in text


def test_a_missing_object_is_a_readable_not_found(cluster):
    with pytest.raises(ClusterError) as caught:
        cluster.get("Deployment", "nothing")
    assert caught.value.status == 404
    assert str(caught.value).startswith('deployments.apps "nothing" not found')
    assert cluster.find("Deployment", "nothing") is None


def test_bad_yaml_says_so(cluster):
    with pytest.raises(CourseError) as caught:
        cluster.apply("kind: Deployment\n  metadata: [oops")
    assert "the manifest is not valid YAML" in str(caught.value)


def test_an_unknown_kind_says_so(cluster):
    with pytest.raises(CourseError) as caught:
        cluster.list("Spaceship")
    assert "the cluster does not serve 'Spaceship'" in str(caught.value)


def test_wait_for_returns_the_value_or_times_out_with_advice(cluster):
    assert cluster.wait_for(lambda: 42, timeout=1, description="the answer") == 42
    with pytest.raises(CourseError) as caught:
        cluster.wait_for(lambda: False, timeout=0.3, description="never", poll=0.05)
    assert "timed out after 0 s waiting for never" in str(caught.value)


def test_cleanup_deletes_the_lesson_namespace(cluster):
    cluster.use_namespace(cluster.namespace + "-extra")
    cluster.apply(DEPLOYMENT)
    cluster.cleanup(timeout=30)
    assert cluster.find("Namespace", cluster.namespace, namespace=None) is None


def test_cleanup_refuses_a_system_namespace(cluster):
    cluster.namespace = "kube-system"
    with pytest.raises(CourseError):
        cluster.cleanup()


def test_logs_and_exec_of_a_running_pod(cluster):
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "talker"},
                   "spec": {"containers": [{"name": "app", "image": "busybox:1.36",
                                            "command": ["sh", "-c", "echo hello from the app; sleep 3600"]}]}})
    cluster.wait_for(lambda: (cluster.get("Pod", "talker").get("status") or {}).get("phase") == "Running",
                     timeout=30, description="the pod to run")
    assert cluster.wait_for(lambda: "hello from the app" in cluster.logs("talker"), timeout=10,
                            description="its first log line")
    assert cluster.exec("talker", "echo $((6 * 7)) > /tmp/answer; cat /tmp/answer") == "42\n"
    with pytest.raises(CourseError) as caught:
        cluster.exec("talker", "exit 5")
    assert "exited with code 5" in str(caught.value)


def test_rollout_status_waits_for_the_new_pods(cluster):
    cluster.apply(DEPLOYMENT)
    assert cluster.rollout_status("web", timeout=60) == 'deployment "web" successfully rolled out'
