"""The Deployment controller: ReplicaSets per template, rolling updates, history, status."""

from __future__ import annotations

import copy
import re

from k8s_course.sim.controllers import rollout
from k8s_course.sim.controllers.deployment import DeploymentController
from k8s_course.sim.controllers.replicaset import ReplicaSetController
from tests.sim.harness import Harness
from tests.sim.kubelet_stand_in import pod_names, run_pod

STAMP = "2027-01-15T08:00:00Z"  # the harness clock's start, 1 800 000 000


def deployment(name: str = "web", replicas: int = 3, image: str = "nginx:1.27", **spec) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": image}]}},
                 **spec},
    }


def run(scenario):
    Harness.run(scenario, controllers=lambda cluster: [DeploymentController(cluster.objects),
                                                       ReplicaSetController(cluster.objects)])


def replica_sets(h: Harness) -> dict[str, dict]:
    return {rs["metadata"]["name"]: rs for rs in h.list("apps/v1", "ReplicaSet")}


def image_of(pod: dict) -> str:
    return pod["spec"]["containers"][0]["image"]


async def make_all_ready(h: Harness) -> None:
    """The kubelet's part: every pod that is not ready yet starts and passes its probe."""
    while True:
        waiting = [p for p in h.list("v1", "Pod") if p["status"].get("phase") != "Running"]
        if not waiting:
            return
        for pod in waiting:
            run_pod(h, pod["metadata"]["name"])
        await h.settle()


def test_the_template_hash_is_stable_ten_characters_of_kubernetes_alphabet():
    template = deployment()["spec"]["template"]
    first = rollout.template_hash(template)
    assert first == rollout.template_hash(dict(template))
    assert re.fullmatch("[bcdfghjklmnpqrstvwxz2456789]{10}", first)
    assert rollout.template_hash(template, 1) != first
    changed = deployment(image="nginx:1.28")["spec"]["template"]
    assert rollout.template_hash(changed) != first


def test_surge_rounds_up_and_unavailable_rounds_down():
    assert rollout.fenceposts(deployment(replicas=4)) == (1, 1)
    assert rollout.fenceposts(deployment(replicas=10)) == (3, 2)
    assert rollout.fenceposts(deployment(replicas=1)) == (1, 0)
    zero = deployment(replicas=3, strategy={"type": "RollingUpdate",
                                            "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}})
    assert rollout.fenceposts(zero) == (0, 1)


def test_a_deployment_creates_a_hashed_replicaset_and_reports_a_complete_rollout():
    async def scenario(h: Harness):
        deploy = h.create(deployment())
        await h.settle()
        (name, rs), = replica_sets(h).items()
        template_hash = rs["metadata"]["labels"]["pod-template-hash"]
        assert name == f"web-{template_hash}" and len(template_hash) == 10
        assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": template_hash}}
        assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": template_hash}
        assert rs["metadata"]["annotations"] == {
            "deployment.kubernetes.io/desired-replicas": "3", "deployment.kubernetes.io/max-replicas": "4",
            "deployment.kubernetes.io/revision": "1"}
        assert rs["metadata"]["ownerReferences"][0]["uid"] == deploy["metadata"]["uid"]
        assert [e["message"] for e in h.events(name="web") if e["involvedObject"]["kind"] == "Deployment"] == [
            f"Scaled up replica set {name} from 0 to 3"]
        assert all(p["metadata"]["labels"]["pod-template-hash"] == template_hash for p in h.list("v1", "Pod"))
        status = h.get("apps/v1", "Deployment", "web")["status"]
        assert status["unavailableReplicas"] == 3
        assert rollout.condition(status, "Available")["reason"] == "MinimumReplicasUnavailable"
        await make_all_ready(h)
        got = h.get("apps/v1", "Deployment", "web")
        assert got["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
        assert got["status"] == {
            "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
            "availableReplicas": 3,
            "conditions": [
                {"type": "Available", "status": "True", "lastUpdateTime": STAMP, "lastTransitionTime": STAMP,
                 "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                {"type": "Progressing", "status": "True", "lastUpdateTime": STAMP, "lastTransitionTime": STAMP,
                 "reason": "NewReplicaSetAvailable", "message": f'ReplicaSet "{name}" has successfully progressed.'},
            ]}

    run(scenario)


def test_a_rolling_update_of_four_never_exceeds_five_pods_nor_drops_below_three_available():
    async def scenario(h: Harness):
        h.create(deployment(replicas=4))
        await h.settle()
        await make_all_ready(h)
        (old_name,) = replica_sets(h)
        await h.advance(60)
        h.patch("apps/v1", "Deployment", "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "nginx:1.28"}]}}}})
        steps = []
        for _ in range(20):
            await h.settle()
            pods = h.list("v1", "Pod")
            ready = [p for p in pods if p["status"].get("phase") == "Running"]
            status = h.get("apps/v1", "Deployment", "web")["status"]
            steps.append((len(pods), len(ready), sum(image_of(p) == "nginx:1.28" for p in pods)))
            assert len(pods) <= 5
            assert len(ready) >= 3 and status.get("availableReplicas", 0) >= 3
            waiting = [p for p in pods if p["status"].get("phase") != "Running"]
            if not waiting:
                break
            run_pod(h, waiting[0]["metadata"]["name"])  # one new pod becomes ready at a time
            await h.advance(5)
        # pods, ready pods, new pods after each step: one surge pod, then one out for one in
        assert steps == [(5, 3, 2), (5, 3, 3), (5, 3, 4), (4, 3, 4), (4, 4, 4)]
        assert all(image_of(p) == "nginx:1.28" for p in h.list("v1", "Pod"))
        sets = replica_sets(h)
        new_name = next(n for n in sets if n != old_name)
        assert sets[old_name]["spec"]["replicas"] == 0
        assert sets[new_name]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
        messages = {e["message"] for e in h.events(name="web") if e["reason"] == "ScalingReplicaSet"}
        assert messages == {f"Scaled up replica set {old_name} from 0 to 4"} | {
            f"Scaled up replica set {new_name} from {n} to {n + 1}" for n in range(4)} | {
            f"Scaled down replica set {old_name} from {n + 1} to {n}" for n in range(4)}
        got = h.get("apps/v1", "Deployment", "web")
        assert got["metadata"]["generation"] == 2
        status = got["status"]
        assert {k: v for k, v in status.items() if k != "conditions"} == {
            "observedGeneration": 2, "replicas": 4, "updatedReplicas": 4, "readyReplicas": 4,
            "availableReplicas": 4}
        available, progressing = status["conditions"]
        assert (available["type"], available["status"], available["reason"]) == (
            "Available", "True", "MinimumReplicasAvailable")
        assert available["lastTransitionTime"] == "2027-01-15T08:00:00Z"  # stayed available throughout
        assert (progressing["type"], progressing["status"], progressing["reason"], progressing["message"]) == (
            "Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{new_name}" has successfully progressed.')

    run(scenario)


async def roll_to(h: Harness, image: str) -> None:
    h.patch("apps/v1", "Deployment", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": image}]}}}})
    await h.settle()
    await make_all_ready(h)


def revision_of(obj: dict) -> str:
    return obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"]


def test_undo_reuses_the_first_replicaset_as_revision_three():
    async def scenario(h: Harness):
        h.create(deployment())
        await h.settle()
        await make_all_ready(h)
        (first,) = replica_sets(h)
        await roll_to(h, "nginx:1.28")
        # what `kubectl rollout undo` sends: revision 1's template without the hash label
        template = copy.deepcopy(replica_sets(h)[first]["spec"]["template"])
        del template["metadata"]["labels"]["pod-template-hash"]
        h.patch("apps/v1", "Deployment", "web", {"spec": {"template": template}})
        await h.settle()
        await make_all_ready(h)
        sets = replica_sets(h)
        assert len(sets) == 2
        assert revision_of(sets[first]) == "3"
        assert sets[first]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        assert sets[first]["spec"]["replicas"] == 3
        assert revision_of(h.get("apps/v1", "Deployment", "web")) == "3"
        assert {image_of(p) for p in h.list("v1", "Pod")} == {"nginx:1.27"}
        status = h.get("apps/v1", "Deployment", "web")["status"]
        assert (status["updatedReplicas"], status["availableReplicas"]) == (3, 3)
        assert rollout.condition(status, "Progressing")["message"] == f'ReplicaSet "{first}" has successfully progressed.'

    run(scenario)


def test_old_replicasets_beyond_the_history_limit_are_deleted():
    async def scenario(h: Harness):
        h.create(deployment(replicas=1, revisionHistoryLimit=1))
        await h.settle()
        await make_all_ready(h)
        for image in ("nginx:1.28", "nginx:1.29", "nginx:1.30"):
            await roll_to(h, image)
        sets = replica_sets(h)
        assert sorted(revision_of(rs) for rs in sets.values()) == ["3", "4"]
        assert sorted(rs["spec"]["replicas"] for rs in sets.values()) == [0, 1]

    run(scenario)


def test_scaling_three_to_ten_to_two_converges():
    async def scenario(h: Harness):
        h.create(deployment())
        await h.settle()
        await make_all_ready(h)
        for size in (10, 2):
            h.patch("apps/v1", "Deployment", "web", {"spec": {"replicas": size}})
            await h.settle()
            await make_all_ready(h)
            (rs,) = replica_sets(h).values()
            assert rs["spec"]["replicas"] == size and len(pod_names(h)) == size
            assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == str(size)
            status = h.get("apps/v1", "Deployment", "web")["status"]
            assert (status["replicas"], status["availableReplicas"], status["observedGeneration"]) == (
                size, size, 2 if size == 10 else 3)
        messages = {e["message"] for e in h.events(name="web") if e["reason"] == "ScalingReplicaSet"}
        assert messages == {f"Scaled up replica set {rs['metadata']['name']} from 0 to 3",
                            f"Scaled up replica set {rs['metadata']['name']} from 3 to 10",
                            f"Scaled down replica set {rs['metadata']['name']} from 10 to 2"}

    run(scenario)


def test_a_rollout_that_makes_no_progress_exceeds_its_deadline_one_second_after_it():
    async def scenario(h: Harness):
        h.create(deployment(progressDeadlineSeconds=30))
        await h.settle()
        (name,) = replica_sets(h)
        progressing = rollout.condition(h.get("apps/v1", "Deployment", "web")["status"], "Progressing")
        # "Created new replica set" lasted until the pods appeared, which counts as progress
        assert (progressing["reason"], progressing["message"], progressing["lastUpdateTime"]) == (
            "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.', STAMP)
        await h.advance(30)
        assert rollout.condition(h.get("apps/v1", "Deployment", "web")["status"], "Progressing")["status"] == "True"
        await h.advance(1)
        progressing = rollout.condition(h.get("apps/v1", "Deployment", "web")["status"], "Progressing")
        assert progressing == {
            "type": "Progressing", "status": "False", "lastUpdateTime": "2027-01-15T08:00:31Z",
            "lastTransitionTime": "2027-01-15T08:00:31Z", "reason": "ProgressDeadlineExceeded",
            "message": f'ReplicaSet "{name}" has timed out progressing.'}

    run(scenario)


def test_a_paused_deployment_keeps_its_template_change_until_resumed():
    async def scenario(h: Harness):
        h.create(deployment())
        await h.settle()
        await make_all_ready(h)
        h.patch("apps/v1", "Deployment", "web", {"spec": {"paused": True}})
        await roll_to(h, "nginx:1.28")
        assert len(replica_sets(h)) == 1
        progressing = rollout.condition(h.get("apps/v1", "Deployment", "web")["status"], "Progressing")
        assert (progressing["status"], progressing["reason"], progressing["message"]) == (
            "Unknown", "DeploymentPaused", "Deployment is paused")
        h.patch("apps/v1", "Deployment", "web", {"spec": {"paused": False}})
        await h.settle()
        await make_all_ready(h)
        assert len(replica_sets(h)) == 2
        assert {image_of(p) for p in h.list("v1", "Pod")} == {"nginx:1.28"}

    run(scenario)


def test_recreate_stops_every_old_pod_before_creating_new_ones():
    async def scenario(h: Harness):
        h.add_node("node-1")
        h.create(deployment(strategy={"type": "Recreate"}))
        await h.settle()
        for name in pod_names(h):
            run_pod(h, name, node="node-1")
        await h.settle()
        h.patch("apps/v1", "Deployment", "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "nginx:1.28"}]}}}})
        await h.settle()
        assert len(replica_sets(h)) == 1
        pods = h.list("v1", "Pod")
        assert len(pods) == 3 and all(p["metadata"].get("deletionTimestamp") for p in pods)
        for pod in pods:  # the kubelet reports the containers stopped
            h.objects.finish_deletion(h.rtype("v1", "Pod"), "default", pod["metadata"]["name"])
        await h.settle()
        assert len(replica_sets(h)) == 2
        assert [image_of(p) for p in h.list("v1", "Pod")] == ["nginx:1.28"] * 3
        messages = [e["message"] for e in h.events(name="web") if e["reason"] == "ScalingReplicaSet"]
        assert any(m.startswith("Scaled up replica set") and m.endswith("from 0 to 3") and "web-" in m
                   for m in messages[1:])

    run(scenario)


def test_a_new_replicaset_is_reported_as_created_until_its_pods_appear():
    async def scenario(h: Harness):
        h.create(deployment())
        await h.settle()
        (name,) = replica_sets(h)
        status = h.get("apps/v1", "Deployment", "web")["status"]
        assert status["conditions"] == [
            {"type": "Progressing", "status": "True", "lastUpdateTime": STAMP, "lastTransitionTime": STAMP,
             "reason": "NewReplicaSetCreated", "message": f'Created new replica set "{name}"'},
            {"type": "Available", "status": "False", "lastUpdateTime": STAMP, "lastTransitionTime": STAMP,
             "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."}]

    Harness.run(scenario, controllers=lambda cluster: [DeploymentController(cluster.objects)])
