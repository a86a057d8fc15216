"""The garbage collector: background, foreground and orphan deletion through ownerReferences."""

from __future__ import annotations

from k8s_course.sim.controllers.deployment import DeploymentController
from k8s_course.sim.controllers.garbage import GarbageCollector
from k8s_course.sim.controllers.replicaset import ReplicaSetController
from tests.sim.harness import Harness
from tests.sim.kubelet_stand_in import pod_names, run_pod


def config_map(name: str, owner: dict | None = None, block: bool = False) -> dict:
    meta: dict = {"name": name}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                    **({"blockOwnerDeletion": True} if block else {})}]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def gc_only(scenario):
    Harness.run(scenario, controllers=lambda cluster: [GarbageCollector(cluster.objects)])


def with_workloads(scenario):
    Harness.run(scenario, controllers=lambda cluster: [
        GarbageCollector(cluster.objects), DeploymentController(cluster.objects),
        ReplicaSetController(cluster.objects)])


def deployment(replicas: int = 3) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}


def test_dependents_of_a_deleted_owner_are_deleted_in_the_background():
    async def scenario(h: Harness):
        owner = h.create(config_map("owner"))
        child = h.create(config_map("child", owner))
        h.create(config_map("grandchild", child))
        h.create(config_map("bystander"))
        await h.settle()
        h.delete("v1", "ConfigMap", "owner")
        await h.settle()
        names = {c["metadata"]["name"] for c in h.list("v1", "ConfigMap")}
        assert names == {"bystander", "kube-root-ca.crt"}

    gc_only(scenario)


def test_a_dependent_created_after_its_owner_is_gone_is_collected():
    async def scenario(h: Harness):
        owner = h.create(config_map("owner"))
        h.delete("v1", "ConfigMap", "owner")
        await h.settle()
        h.create(config_map("late", owner))
        await h.settle()
        assert h.get("v1", "ConfigMap", "late") is None

    gc_only(scenario)


def test_a_dependent_with_another_living_owner_only_loses_the_dead_reference():
    async def scenario(h: Harness):
        first, second = h.create(config_map("first")), h.create(config_map("second"))
        shared = config_map("shared", first)
        shared["metadata"]["ownerReferences"] += config_map("x", second)["metadata"]["ownerReferences"]
        h.create(shared)
        await h.settle()
        h.delete("v1", "ConfigMap", "first")
        await h.settle()
        refs = h.get("v1", "ConfigMap", "shared")["metadata"]["ownerReferences"]
        assert [r["name"] for r in refs] == ["second"]

    gc_only(scenario)


def test_foreground_deletion_waits_for_blocking_dependents_then_removes_the_owner():
    async def scenario(h: Harness):
        owner = h.create(config_map("owner"))
        blocker = config_map("blocker", owner, block=True)
        blocker["metadata"]["finalizers"] = ["example.com/hold"]  # holds it while "deleted"
        h.create(blocker)
        h.create(config_map("free", owner))
        await h.settle()
        h.delete("v1", "ConfigMap", "owner", propagation_policy="Foreground")
        await h.settle()
        held = h.get("v1", "ConfigMap", "owner")
        assert held["metadata"]["finalizers"] == ["foregroundDeletion"]
        assert held["metadata"]["deletionTimestamp"]
        assert h.get("v1", "ConfigMap", "free") is None
        assert h.get("v1", "ConfigMap", "blocker")["metadata"]["deletionTimestamp"]
        h.patch("v1", "ConfigMap", "blocker", {"metadata": {"finalizers": None}})
        await h.settle()
        assert h.get("v1", "ConfigMap", "blocker") is None
        assert h.get("v1", "ConfigMap", "owner") is None

    gc_only(scenario)


def test_orphan_deletion_keeps_dependents_without_the_reference():
    async def scenario(h: Harness):
        owner = h.create(config_map("owner"))
        h.create(config_map("child", owner))
        await h.settle()
        h.delete("v1", "ConfigMap", "owner", propagation_policy="Orphan")
        await h.settle()
        assert h.get("v1", "ConfigMap", "owner") is None
        assert "ownerReferences" not in h.get("v1", "ConfigMap", "child")["metadata"]

    gc_only(scenario)


def test_deleting_a_deployment_removes_its_replicasets_and_pods():
    async def scenario(h: Harness):
        h.create(deployment())
        await h.settle()
        assert len(h.list("apps/v1", "ReplicaSet")) == 1 and len(pod_names(h)) == 3
        h.delete("apps/v1", "Deployment", "web")
        await h.settle()
        assert h.list("apps/v1", "ReplicaSet") == [] and h.list("v1", "Pod") == []

    with_workloads(scenario)


def test_foreground_deletion_of_a_deployment_waits_for_its_pods_to_stop():
    async def scenario(h: Harness):
        h.add_node("node-1")
        h.create(deployment(replicas=2))
        await h.settle()
        for name in pod_names(h):
            run_pod(h, name, node="node-1")
        await h.settle()
        h.delete("apps/v1", "Deployment", "web", propagation_policy="Foreground")
        await h.settle()
        pods = h.list("v1", "Pod")
        assert len(pods) == 2 and all(p["metadata"]["deletionTimestamp"] for p in pods)
        assert h.get("apps/v1", "Deployment", "web")["metadata"]["finalizers"] == ["foregroundDeletion"]
        (rs,) = h.list("apps/v1", "ReplicaSet")
        assert rs["metadata"]["finalizers"] == ["foregroundDeletion"]
        for pod in pods:  # the kubelet reports the containers stopped
            h.objects.finish_deletion(h.rtype("v1", "Pod"), "default", pod["metadata"]["name"])
        await h.settle()
        assert h.list("apps/v1", "ReplicaSet") == []
        assert h.get("apps/v1", "Deployment", "web") is None

    with_workloads(scenario)


def test_orphaned_replicasets_keep_their_pods_when_the_deployment_goes():
    async def scenario(h: Harness):
        h.create(deployment(replicas=2))
        await h.settle()
        h.delete("apps/v1", "Deployment", "web", propagation_policy="Orphan")
        await h.settle()
        (rs,) = h.list("apps/v1", "ReplicaSet")
        assert "ownerReferences" not in rs["metadata"]
        assert len(pod_names(h)) == 2

    with_workloads(scenario)


def test_custom_resources_own_and_are_collected_like_built_in_ones():
    async def scenario(h: Harness):
        h.create({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                         "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
        await h.settle()
        widget = h.create({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
        part = h.create({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "part"}})
        h.create(config_map("settings", widget))
        h.create(config_map("part-settings", part))
        await h.settle()
        h.delete("example.com/v1", "Widget", "w")
        await h.settle()
        assert h.get("v1", "ConfigMap", "settings") is None
        assert h.get("v1", "ConfigMap", "part-settings") is not None

    gc_only(scenario)
