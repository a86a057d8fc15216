"""The DaemonSet controller: one pod per eligible node, status counts, rolling updates."""

from __future__ import annotations

from k8s_course.sim.controllers.daemonset import DaemonSetController, placement
from k8s_course.sim.scheduler import Scheduler
from tests.sim.harness import Harness

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
CONTROL_PLANE_TOLERATION = {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                            "effect": "NoSchedule"}


def kind_nodes(h: Harness) -> None:
    h.add_node("k8s-course-control-plane", taints=[CONTROL_PLANE_TAINT])
    h.add_node("k8s-course-worker")
    h.add_node("k8s-course-worker2")


def daemonset(name: str = "agent", image: str = "busybox:1.36", **pod_spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "agent", "image": image}], **pod_spec}}}}


def run(scenario):
    return Harness.run(scenario, controllers=lambda c: [Scheduler(c.objects), DaemonSetController(c.objects)])


def pods_by_node(h: Harness) -> dict[str, dict]:
    return {p["spec"].get("nodeName"): p for p in h.list("v1", "Pod") if not p["metadata"].get("deletionTimestamp")}


def make_ready(h: Harness) -> None:
    now = h.clock.timestamp()
    for pod in h.list("v1", "Pod"):
        if pod["metadata"].get("deletionTimestamp") or not pod["spec"].get("nodeName"):
            continue
        conditions = [c for c in pod["status"].get("conditions", []) if c["type"] != "Ready"]
        if any(c["type"] == "Ready" for c in pod["status"].get("conditions", [])):
            continue
        conditions.append({"type": "Ready", "status": "True", "lastTransitionTime": now})
        h.patch("v1", "Pod", pod["metadata"]["name"], {"status": {"phase": "Running", "conditions": conditions}},
                subresource="status")


def finish_deleted_pods(h: Harness) -> None:
    for pod in h.list("v1", "Pod"):
        if pod["metadata"].get("deletionTimestamp"):
            h.delete("v1", "Pod", pod["metadata"]["name"], grace_period_seconds=0)


def test_a_daemonset_runs_one_pod_per_worker_and_not_on_the_tainted_control_plane():
    async def scenario(h: Harness):
        kind_nodes(h)
        h.create(daemonset())
        await h.settle()
        placed = pods_by_node(h)
        assert sorted(placed) == ["k8s-course-worker", "k8s-course-worker2"]
        pod = placed["k8s-course-worker"]
        assert pod["metadata"]["name"].startswith("agent-")
        assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
        terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms["nodeSelectorTerms"] == [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["k8s-course-worker"]}]}]
        keys = [(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]]
        assert keys == [("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
                        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                        ("node.kubernetes.io/unschedulable", "NoSchedule")]
        status = h.get("apps/v1", "DaemonSet", "agent")["status"]
        assert status == {"currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberMisscheduled": 0,
                          "numberReady": 0, "numberUnavailable": 2, "observedGeneration": 1,
                          "updatedNumberScheduled": 2}

    run(scenario)


def test_a_daemonset_tolerating_the_control_plane_taint_runs_there_too_and_counts_ready_pods():
    async def scenario(h: Harness):
        kind_nodes(h)
        h.create(daemonset(tolerations=[CONTROL_PLANE_TOLERATION]))
        await h.settle()
        assert sorted(pods_by_node(h)) == ["k8s-course-control-plane", "k8s-course-worker", "k8s-course-worker2"]
        make_ready(h)
        await h.settle()
        status = h.get("apps/v1", "DaemonSet", "agent")["status"]
        assert (status["desiredNumberScheduled"], status["numberReady"], status["numberAvailable"]) == (3, 3, 3)
        assert "numberUnavailable" not in status

    run(scenario)


def test_a_new_node_gets_a_pod_and_a_node_selector_limits_the_nodes():
    async def scenario(h: Harness):
        kind_nodes(h)
        h.create(daemonset("ssd-agent", nodeSelector={"disk": "ssd"}))
        await h.settle()
        assert pods_by_node(h) == {}
        h.add_node("k8s-course-worker3", labels={"disk": "ssd"})
        await h.settle()
        assert sorted(pods_by_node(h)) == ["k8s-course-worker3"]
        h.patch("v1", "Node", "k8s-course-worker3", {"metadata": {"labels": {"disk": None}}})
        await h.settle()
        assert pods_by_node(h) == {}  # no longer eligible: its pod goes

    run(scenario)


def test_a_rolling_update_replaces_one_node_at_a_time_and_keeps_a_revision_per_template():
    async def scenario(h: Harness):
        kind_nodes(h)
        h.create(daemonset())
        await h.settle()
        make_ready(h)
        await h.settle()
        first_hash = next(iter(pods_by_node(h).values()))["metadata"]["labels"]["controller-revision-hash"]
        h.patch("apps/v1", "DaemonSet", "agent", {"spec": {"template": {"spec": {"containers": [
            {"name": "agent", "image": "busybox:1.37"}]}}}})
        await h.settle()
        terminating = [p for p in h.list("v1", "Pod") if p["metadata"].get("deletionTimestamp")]
        assert len(terminating) == 1  # maxUnavailable 1
        finish_deleted_pods(h)
        await h.settle()
        make_ready(h)
        await h.settle()
        finish_deleted_pods(h)
        await h.settle()
        make_ready(h)
        await h.settle()
        images = {p["spec"]["containers"][0]["image"] for p in pods_by_node(h).values()}
        assert images == {"busybox:1.37"}
        revisions = sorted(h.list("apps/v1", "ControllerRevision"), key=lambda r: r["revision"])
        assert [r["revision"] for r in revisions] == [1, 2]
        assert revisions[0]["metadata"]["name"] == f"agent-{first_hash}"
        status = h.get("apps/v1", "DaemonSet", "agent")["status"]
        assert (status["updatedNumberScheduled"], status["numberAvailable"], status["observedGeneration"]) == (2, 2, 2)

    run(scenario)


def test_placement_follows_taints_and_tolerations():
    node = {"metadata": {"name": "n", "labels": {}},
            "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}}
    assert placement({}, node) == (False, True)  # not started there, but one already running may stay
    node["spec"]["taints"][0]["effect"] = "NoExecute"
    assert placement({}, node) == (False, False)
    assert placement({"tolerations": [{"key": "dedicated", "operator": "Exists"}]}, node) == (True, True)
    node["spec"]["taints"] = [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]
    assert placement({}, node) == (True, True)  # daemon pods run on cordoned nodes
