"""The ReplicaSet controller: pods from the template, scale-down victims, adoption, replacement."""

from __future__ import annotations

from k8s_course.sim.controllers.replicaset import ReplicaSetController
from tests.sim.harness import Harness
from tests.sim.kubelet_stand_in import fail_pod, pod_names, run_pod


def replicaset(name: str = "web", replicas: int = 3, min_ready: int = 0) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                 "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name, "tier": "front"}},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}},
    }


def run(scenario):
    Harness.run(scenario, controllers=lambda cluster: [ReplicaSetController(cluster.objects)])


def test_a_replicaset_of_three_creates_three_pods_it_controls():
    async def scenario(h: Harness):
        rs = h.create(replicaset())
        await h.settle()
        pods = h.list("v1", "Pod")
        assert len(pods) == 3
        for pod in pods:
            assert pod["metadata"]["name"].startswith("web-") and len(pod["metadata"]["name"]) == 9
            assert pod["metadata"]["generateName"] == "web-"
            assert pod["metadata"]["labels"] == {"app": "web", "tier": "front"}
            assert pod["metadata"]["ownerReferences"] == [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs["metadata"]["uid"],
                "controller": True, "blockOwnerDeletion": True}]
        messages = sorted(e["message"] for e in h.events(name="web"))
        assert messages == sorted(f"Created pod: {p['metadata']['name']}" for p in pods)
        assert {e["reason"] for e in h.events(name="web")} == {"SuccessfulCreate"}
        assert h.events(name="web")[0]["source"] == {"component": "replicaset-controller"}
        assert h.get("apps/v1", "ReplicaSet", "web")["status"] == {
            "replicas": 3, "fullyLabeledReplicas": 3, "observedGeneration": 1}

    run(scenario)


def test_ready_pods_are_counted_ready_and_available():
    async def scenario(h: Harness):
        h.create(replicaset())
        await h.settle()
        for name in pod_names(h)[:2]:
            run_pod(h, name)
        await h.settle()
        assert h.get("apps/v1", "ReplicaSet", "web")["status"] == {
            "replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 2, "availableReplicas": 2,
            "observedGeneration": 1}

    run(scenario)


def test_a_pod_is_available_only_min_ready_seconds_after_it_became_ready():
    async def scenario(h: Harness):
        h.create(replicaset(replicas=1, min_ready=10))
        await h.settle()
        run_pod(h, pod_names(h)[0])
        await h.settle()
        status = h.get("apps/v1", "ReplicaSet", "web")["status"]
        assert (status["readyReplicas"], status.get("availableReplicas", 0)) == (1, 0)
        await h.advance(9)
        assert h.get("apps/v1", "ReplicaSet", "web")["status"].get("availableReplicas", 0) == 0
        await h.advance(1)
        assert h.get("apps/v1", "ReplicaSet", "web")["status"]["availableReplicas"] == 1

    run(scenario)


def test_a_deleted_pod_is_replaced():
    async def scenario(h: Harness):
        h.create(replicaset())
        await h.settle()
        before = pod_names(h)
        h.delete("v1", "Pod", before[0])
        await h.settle()
        after = pod_names(h)
        assert len(after) == 3
        assert before[0] not in after and set(before[1:]) <= set(after)

    run(scenario)


def test_a_failed_pod_is_replaced_and_left_for_inspection():
    async def scenario(h: Harness):
        h.create(replicaset())
        await h.settle()
        failed = pod_names(h)[1]
        fail_pod(h, failed)
        await h.settle()
        pods = h.list("v1", "Pod")
        assert len(pods) == 4
        assert [p["metadata"]["name"] for p in pods if p["status"]["phase"] == "Failed"] == [failed]
        assert h.get("apps/v1", "ReplicaSet", "web")["status"]["replicas"] == 3

    run(scenario)


def test_scaling_down_deletes_pending_and_not_ready_pods_before_ready_ones():
    async def scenario(h: Harness):
        h.add_node("node-1")
        h.create(replicaset())
        await h.settle()
        ready, not_ready, pending = pod_names(h)
        run_pod(h, ready, ready=True, node="node-1")
        run_pod(h, not_ready, ready=False, node="node-1")
        await h.settle()
        h.patch("apps/v1", "ReplicaSet", "web", {"spec": {"replicas": 1}})
        await h.settle()
        assert pod_names(h) == [ready]
        terminating = [p["metadata"]["name"] for p in h.list("v1", "Pod") if p["metadata"].get("deletionTimestamp")]
        assert terminating == [not_ready]  # bound pods stop gracefully; the pending one went at once
        deletions = [e["message"] for e in h.events(name="web") if e["reason"] == "SuccessfulDelete"]
        assert sorted(deletions) == sorted([f"Deleted pod: {pending}", f"Deleted pod: {not_ready}"])
        assert h.get("apps/v1", "ReplicaSet", "web")["status"]["replicas"] == 1

    run(scenario)


def test_newer_pods_go_first_among_equals():
    async def scenario(h: Harness):
        h.create(replicaset(replicas=1))
        await h.settle()
        oldest = pod_names(h)[0]
        await h.advance(5)
        h.patch("apps/v1", "ReplicaSet", "web", {"spec": {"replicas": 3}})
        await h.settle()
        h.patch("apps/v1", "ReplicaSet", "web", {"spec": {"replicas": 1}})
        await h.settle()
        assert pod_names(h) == [oldest]

    run(scenario)


def test_a_terminating_pod_is_not_a_replica_and_gets_exactly_one_replacement():
    async def scenario(h: Harness):
        h.add_node("node-1")
        h.create(replicaset())
        await h.settle()
        for name in pod_names(h):
            run_pod(h, name, node="node-1")
        await h.settle()
        leaving = pod_names(h)[0]
        h.delete("v1", "Pod", leaving)
        await h.advance(10)
        assert len(pod_names(h)) == 3
        assert len(h.list("v1", "Pod")) == 4
        assert h.get("v1", "Pod", leaving)["metadata"]["deletionTimestamp"]
        assert h.get("apps/v1", "ReplicaSet", "web")["status"]["replicas"] == 3

    run(scenario)


def test_expectations_keep_a_second_sync_from_creating_again_before_the_watch_catches_up():
    async def scenario(h: Harness):
        controller = h.cluster.controllers[1]
        h.create(replicaset())
        controller._sync(("default", "web"))
        controller._sync(("default", "web"))  # the watch has shown none of the 3 new pods yet
        assert len(h.list("v1", "Pod")) == 3
        await h.settle()
        assert len(h.list("v1", "Pod")) == 3

    run(scenario)


def test_a_matching_orphan_is_adopted_instead_of_creating_a_pod():
    async def scenario(h: Harness):
        h.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "labels": {"app": "web"}},
                  "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
        rs = h.create(replicaset(replicas=2))
        await h.settle()
        assert len(pod_names(h)) == 2
        stray = h.get("v1", "Pod", "stray")
        assert stray["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        assert h.get("apps/v1", "ReplicaSet", "web")["status"]["fullyLabeledReplicas"] == 1

    run(scenario)


def test_a_pod_relabelled_out_of_the_selector_is_released_and_replaced():
    async def scenario(h: Harness):
        h.create(replicaset())
        await h.settle()
        moved = pod_names(h)[0]
        h.patch("v1", "Pod", moved, {"metadata": {"labels": {"app": "debug"}}})
        await h.settle()
        assert "ownerReferences" not in h.get("v1", "Pod", moved)["metadata"]
        assert len(pod_names(h)) == 4
        owned = [p for p in h.list("v1", "Pod") if p["metadata"].get("ownerReferences")]
        assert len(owned) == 3

    run(scenario)
