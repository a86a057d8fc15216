"""The StatefulSet controller: ordered pods with stable names, claims and revisions."""

from __future__ import annotations

from k8s_course.sim.binding import bind
from k8s_course.sim.controllers.statefulset import StatefulSetController
from tests.sim.harness import Harness


def _set(replicas=3, **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "serviceName": "nginx",
                     "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                                                           "volumeMounts": [{"name": "data",
                                                                             "mountPath": "/data"}]}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
                     **spec}}


def _run(scenario):
    return Harness.run(scenario, controllers=lambda cluster: [StatefulSetController(cluster.objects)])


def _names(h: Harness) -> list[str]:
    return sorted(p["metadata"]["name"] for p in h.list("v1", "Pod"))


def _start(h: Harness, name: str, node: str = "node-1") -> None:
    """What the scheduler and a kubelet would do: bind, run, report Ready."""
    pod = h.get("v1", "Pod", name)
    if not pod["spec"].get("nodeName"):
        bind(h.objects, "default", name, node)
    now = h.clock.timestamp()
    h.patch("v1", "Pod", name, {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now}]}}, subresource="status")


def _finish_deletion(h: Harness, name: str) -> None:
    """What the kubelet does once the containers have stopped."""
    h.objects.finish_deletion(h.rtype("v1", "Pod"), "default", name)


def test_pods_are_created_in_order_each_ready_before_the_next():
    async def scenario(h: Harness):
        h.create(_set())
        await h.settle()
        assert _names(h) == ["web-0"]
        await h.advance(60, step=10)
        assert _names(h) == ["web-0"]  # web-1 waits while web-0 is not Ready
        _start(h, "web-0")
        await h.settle()
        assert _names(h) == ["web-0", "web-1"]
        _start(h, "web-1")
        await h.settle()
        assert _names(h) == ["web-0", "web-1", "web-2"]
        _start(h, "web-2")
        await h.settle()

        pod = h.get("v1", "Pod", "web-1")
        sts = h.get("apps/v1", "StatefulSet", "web")
        revision = sts["status"]["updateRevision"]
        assert pod["metadata"]["labels"] == {
            "app": "nginx", "statefulset.kubernetes.io/pod-name": "web-1",
            "apps.kubernetes.io/pod-index": "1", "controller-revision-hash": revision}
        assert pod["spec"]["hostname"] == "web-1" and pod["spec"]["subdomain"] == "nginx"
        assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}} in pod["spec"]["volumes"]
        assert pod["metadata"]["ownerReferences"][0]["uid"] == sts["metadata"]["uid"]
        assert revision.startswith("web-")
        assert h.get("apps/v1", "ControllerRevision", revision)["revision"] == 1
        assert sts["status"] == {
            "observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
            "updatedReplicas": 3, "currentRevision": revision, "updateRevision": revision,
            "collisionCount": 0, "availableReplicas": 3}
        claims = sorted(c["metadata"]["name"] for c in h.list("v1", "PersistentVolumeClaim"))
        assert claims == ["data-web-0", "data-web-1", "data-web-2"]
        assert h.get("v1", "PersistentVolumeClaim", "data-web-0")["metadata"]["labels"] == {"app": "nginx"}
        messages = [e["message"] for e in h.events(name="web")]
        assert "create Pod web-0 in StatefulSet web successful" in messages
        assert "create Claim data-web-0 Pod web-0 in StatefulSet web success" in messages

    _run(scenario)


def test_min_ready_seconds_delays_the_next_pod():
    async def scenario(h: Harness):
        h.create(_set(replicas=2, minReadySeconds=15))
        await h.settle()
        _start(h, "web-0")
        await h.advance(14)
        assert _names(h) == ["web-0"]
        await h.advance(1)
        assert _names(h) == ["web-0", "web-1"]

    _run(scenario)


def test_scaling_down_removes_the_highest_ordinal_first_and_keeps_the_claims():
    async def scenario(h: Harness):
        h.create(_set())
        for name in ("web-0", "web-1", "web-2"):
            await h.settle()
            _start(h, name)
        await h.settle()
        h.patch("apps/v1", "StatefulSet", "web", {"spec": {"replicas": 1}})
        await h.settle()
        assert h.get("v1", "Pod", "web-2")["metadata"].get("deletionTimestamp")
        assert not h.get("v1", "Pod", "web-1")["metadata"].get("deletionTimestamp")
        await h.advance(30)
        assert not h.get("v1", "Pod", "web-1")["metadata"].get("deletionTimestamp")  # waits for web-2
        _finish_deletion(h, "web-2")
        await h.settle()
        assert h.get("v1", "Pod", "web-1")["metadata"].get("deletionTimestamp")
        _finish_deletion(h, "web-1")
        await h.settle()
        assert _names(h) == ["web-0"]
        claims = sorted(c["metadata"]["name"] for c in h.list("v1", "PersistentVolumeClaim"))
        assert claims == ["data-web-0", "data-web-1", "data-web-2"]
        messages = [e["message"] for e in h.events(name="web")]
        assert "delete Pod web-2 in StatefulSet web successful" in messages
        assert h.get("apps/v1", "StatefulSet", "web")["status"]["replicas"] == 1

    _run(scenario)


def test_a_pod_on_an_unreachable_node_is_not_replaced_until_force_deleted():
    async def scenario(h: Harness):
        h.add_node("node-1")
        h.create(_set(replicas=1))
        await h.settle()
        _start(h, "web-0")
        await h.settle()
        old_uid = h.get("v1", "Pod", "web-0")["metadata"]["uid"]
        h.patch("v1", "Node", "node-1", {"spec": {"taints": [
            {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]}}, namespace="")
        h.delete("v1", "Pod", "web-0")  # as the taint manager would: no kubelet will ever confirm
        await h.advance(600, step=30)
        pods = h.list("v1", "Pod")
        assert [(p["metadata"]["name"], p["metadata"]["uid"]) for p in pods] == [("web-0", old_uid)]
        h.delete("v1", "Pod", "web-0", grace_period_seconds=0)
        await h.settle()
        pod = h.get("v1", "Pod", "web-0")
        assert pod is not None and pod["metadata"]["uid"] != old_uid
        assert not pod["metadata"].get("deletionTimestamp")

    _run(scenario)


def test_parallel_pods_are_created_without_waiting():
    async def scenario(h: Harness):
        h.create(_set(podManagementPolicy="Parallel"))
        await h.settle()
        assert _names(h) == ["web-0", "web-1", "web-2"]

    _run(scenario)


def test_a_rolling_update_replaces_pods_from_the_highest_ordinal_down_to_the_partition():
    async def scenario(h: Harness):
        h.create(_set(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}))
        for name in ("web-0", "web-1", "web-2"):
            await h.settle()
            _start(h, name)
        await h.settle()
        old = h.get("apps/v1", "StatefulSet", "web")["status"]["currentRevision"]
        h.patch("apps/v1", "StatefulSet", "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.28",
             "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}}})
        await h.settle()
        sts = h.get("apps/v1", "StatefulSet", "web")
        new = sts["status"]["updateRevision"]
        assert new != old and sts["status"]["currentRevision"] == old
        assert h.get("v1", "Pod", "web-2")["metadata"].get("deletionTimestamp")
        _finish_deletion(h, "web-2")
        await h.settle()
        assert h.get("v1", "Pod", "web-2")["metadata"]["labels"]["controller-revision-hash"] == new
        assert not h.get("v1", "Pod", "web-1")["metadata"].get("deletionTimestamp")  # waits for web-2
        _start(h, "web-2")
        await h.settle()
        _finish_deletion(h, "web-1")
        await h.settle()
        _start(h, "web-1")
        await h.settle()
        # web-0 is below the partition: it keeps the old revision
        labels = {p["metadata"]["name"]: p["metadata"]["labels"]["controller-revision-hash"]
                  for p in h.list("v1", "Pod")}
        assert labels == {"web-0": old, "web-1": new, "web-2": new}
        sts = h.get("apps/v1", "StatefulSet", "web")
        assert sts["status"]["updatedReplicas"] == 2 and sts["status"]["currentReplicas"] == 1
        assert sts["status"]["observedGeneration"] == 2
        assert h.get("apps/v1", "ControllerRevision", new)["revision"] == 2

    _run(scenario)


def test_on_delete_waits_for_someone_to_delete_the_pod():
    async def scenario(h: Harness):
        h.create(_set(replicas=1, updateStrategy={"type": "OnDelete"}))
        await h.settle()
        _start(h, "web-0")
        await h.settle()
        h.patch("apps/v1", "StatefulSet", "web", {"spec": {"template": {"metadata": {"labels": {
            "app": "nginx", "tier": "web"}}}}})
        await h.advance(60, step=10)
        assert not h.get("v1", "Pod", "web-0")["metadata"].get("deletionTimestamp")
        h.delete("v1", "Pod", "web-0", grace_period_seconds=0)
        await h.settle()
        assert h.get("v1", "Pod", "web-0")["metadata"]["labels"]["tier"] == "web"

    _run(scenario)


def test_claims_are_owned_by_the_set_when_the_retention_policy_says_delete():
    async def scenario(h: Harness):
        h.create(_set(replicas=1, persistentVolumeClaimRetentionPolicy={
            "whenDeleted": "Delete", "whenScaled": "Retain"}))
        await h.settle()
        claim = h.get("v1", "PersistentVolumeClaim", "data-web-0")
        sts = h.get("apps/v1", "StatefulSet", "web")
        assert [r["uid"] for r in claim["metadata"]["ownerReferences"]] == [sts["metadata"]["uid"]]

    _run(scenario)


def test_a_condemned_pod_owns_its_claim_when_scaled_claims_are_deleted():
    async def scenario(h: Harness):
        h.create(_set(replicas=2, persistentVolumeClaimRetentionPolicy={
            "whenDeleted": "Retain", "whenScaled": "Delete"}))
        await h.settle()
        _start(h, "web-0")
        await h.settle()
        _start(h, "web-1")
        await h.settle()
        assert not h.get("v1", "PersistentVolumeClaim", "data-web-1")["metadata"].get("ownerReferences")
        pod_uid = h.get("v1", "Pod", "web-1")["metadata"]["uid"]
        h.patch("apps/v1", "StatefulSet", "web", {"spec": {"replicas": 1}})
        await h.settle()
        refs = h.get("v1", "PersistentVolumeClaim", "data-web-1")["metadata"]["ownerReferences"]
        assert [(r["kind"], r["uid"]) for r in refs] == [("Pod", pod_uid)]

    _run(scenario)


def test_a_failed_pod_is_recreated():
    async def scenario(h: Harness):
        h.create(_set(replicas=1))
        await h.settle()
        uid = h.get("v1", "Pod", "web-0")["metadata"]["uid"]
        h.patch("v1", "Pod", "web-0", {"status": {"phase": "Failed"}}, subresource="status")
        await h.settle()
        assert h.get("v1", "Pod", "web-0")["metadata"]["uid"] != uid
        assert "StatefulSet default/web is recreating failed Pod web-0" in [
            e["message"] for e in h.events(name="web")]

    _run(scenario)
