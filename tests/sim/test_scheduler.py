"""The default scheduler: filters, scoring, FailedScheduling wording, retries and back-off."""

from __future__ import annotations

from k8s_course.sim import scheduler as scheduling
from k8s_course.sim.scheduler import Scheduler
from tests.sim.harness import Harness

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def kind_nodes(h: Harness, cpu: str = "4") -> None:
    """The shape of a 3-node kind cluster: a tainted control plane and two workers."""
    h.add_node("k8s-course-control-plane", cpu=cpu, taints=[CONTROL_PLANE_TAINT],
               labels={"node-role.kubernetes.io/control-plane": ""})
    h.add_node("k8s-course-worker", cpu=cpu)
    h.add_node("k8s-course-worker2", cpu=cpu)


def pod(name: str, cpu: str | None = None, labels: dict | None = None, owner: str | None = None, **spec) -> dict:
    container = {"name": "app", "image": "nginx"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    meta = {"name": name, "labels": labels or {"app": name}}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                    "uid": owner, "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [container], **spec}}


def run(scenario):
    return Harness.run(scenario, controllers=lambda cluster: [Scheduler(cluster.objects)])


def node_of(h: Harness, name: str) -> str | None:
    return h.get("v1", "Pod", name)["spec"].get("nodeName")


def scheduled_condition(h: Harness, name: str) -> dict:
    conditions = h.get("v1", "Pod", name)["status"].get("conditions") or []
    return next(c for c in conditions if c["type"] == "PodScheduled")


def test_a_pod_is_bound_to_a_worker_and_the_scheduled_event_says_where():
    async def scenario(h: Harness):
        kind_nodes(h)
        h.create(pod("web-1"))
        await h.settle()
        assert node_of(h, "web-1") == "k8s-course-worker"
        assert scheduled_condition(h, "web-1")["status"] == "True"
        [event] = h.events(name="web-1")
        assert (event["reason"], event["type"], event["source"]["component"]) == (
            "Scheduled", "Normal", "default-scheduler")
        assert event["message"] == "Successfully assigned default/web-1 to k8s-course-worker"

    run(scenario)


def test_a_pod_asking_for_100_cpus_stays_pending_with_the_kubernetes_message():
    async def scenario(h: Harness):
        kind_nodes(h)
        h.create(pod("huge", cpu="100"))
        await h.settle()
        expected = (
            "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu. "
            "no new claims to deallocate, preemption: 0/3 nodes are available: "
            "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
        assert node_of(h, "huge") is None
        condition = scheduled_condition(h, "huge")
        assert (condition["status"], condition["reason"], condition["message"]) == (
            "False", "Unschedulable", expected)
        [event] = h.events(name="huge")
        assert (event["reason"], event["type"], event["message"]) == ("FailedScheduling", "Warning", expected)
        assert h.get("v1", "Pod", "huge")["status"]["phase"] == "Pending"

    run(scenario)


def test_reasons_are_sorted_as_strings_with_their_counts():
    async def scenario(h: Harness):
        kind_nodes(h)
        h.add_node("small", cpu="1", labels={"disk": "ssd"})
        h.create(pod("picky", cpu="2", nodeSelector={"disk": "ssd"}))
        await h.settle()
        assert scheduled_condition(h, "picky")["message"] == (
            "0/4 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint(s), "
            "2 node(s) didn't match Pod's node affinity/selector. no new claims to deallocate, preemption: "
            "0/4 nodes are available: 1 No preemption victims found for incoming pod, "
            "3 Preemption is not helpful for scheduling.")

    run(scenario)


def test_the_control_plane_taint_keeps_pods_off_unless_they_tolerate_it():
    async def scenario(h: Harness):
        h.add_node("k8s-course-control-plane", taints=[CONTROL_PLANE_TAINT])
        h.create(pod("plain"))
        h.create(pod("tolerant", tolerations=[{"key": "node-role.kubernetes.io/control-plane",
                                                "operator": "Exists", "effect": "NoSchedule"}]))
        await h.settle()
        assert node_of(h, "plain") is None
        assert scheduled_condition(h, "plain")["message"].startswith(
            "0/1 nodes are available: 1 node(s) had untolerated taint(s).")
        assert node_of(h, "tolerant") == "k8s-course-control-plane"

    run(scenario)


def test_node_selector_and_required_node_affinity_choose_the_node():
    async def scenario(h: Harness):
        kind_nodes(h)
        h.add_node("gpu-1", labels={"accelerator": "gpu", "rank": "7"})
        h.create(pod("selected", nodeSelector={"accelerator": "gpu"}))
        h.create(pod("ranked", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "rank", "operator": "Gt", "values": ["5"]}]}]}}}))
        h.create(pod("by-name", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                    "values": ["k8s-course-worker2"]}]}]}}}))
        await h.settle()
        assert node_of(h, "selected") == "gpu-1"
        assert node_of(h, "ranked") == "gpu-1"
        assert node_of(h, "by-name") == "k8s-course-worker2"

    run(scenario)


def test_six_replicas_of_one_owner_spread_three_and_three():
    async def scenario(h: Harness):
        kind_nodes(h)
        for index in range(6):
            h.create(pod(f"web-{index}", cpu="100m", labels={"app": "web"}, owner="rs-uid"))
        await h.settle()
        placed = [node_of(h, f"web-{index}") for index in range(6)]
        assert placed.count("k8s-course-worker") == 3
        assert placed.count("k8s-course-worker2") == 3

    run(scenario)


def test_hostname_anti_affinity_leaves_the_third_replica_pending():
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}

    async def scenario(h: Harness):
        kind_nodes(h)
        for index in range(3):
            h.create(pod(f"db-{index}", labels={"app": "db"}, affinity=anti))
            await h.settle()
        assert {node_of(h, "db-0"), node_of(h, "db-1")} == {"k8s-course-worker", "k8s-course-worker2"}
        assert node_of(h, "db-2") is None
        assert scheduled_condition(h, "db-2")["message"] == (
            "0/3 nodes are available: 1 node(s) had untolerated taint(s), "
            "2 node(s) didn't match pod anti-affinity rules. no new claims to deallocate, preemption: "
            "0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
            "2 No preemption victims found for incoming pod.")

    run(scenario)


def test_a_pod_with_pod_affinity_follows_its_partner():
    async def scenario(h: Harness):
        kind_nodes(h)
        h.create(pod("cache", labels={"app": "cache"}, nodeSelector={"kubernetes.io/hostname": "k8s-course-worker2"}))
        await h.settle()
        h.create(pod("web", affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname"}]}}))
        await h.settle()
        assert node_of(h, "web") == "k8s-course-worker2"

    run(scenario)


def test_topology_spread_with_do_not_schedule_refuses_a_skew_beyond_max_skew():
    spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "spread"}}}]

    async def scenario(h: Harness):
        kind_nodes(h)
        for name in ("pinned", "pinned-b"):
            h.create(pod(name, labels={"app": "spread"}, nodeSelector={"kubernetes.io/hostname": "k8s-course-worker"}))
        await h.settle()
        h.create(pod("free", labels={"app": "spread"}, topologySpreadConstraints=spread))
        await h.settle()
        assert node_of(h, "free") == "k8s-course-worker2"
        # the tainted control plane still counts as an empty domain (nodeTaintsPolicy Ignore)
        h.create(pod("free-2", labels={"app": "spread"}, topologySpreadConstraints=spread))
        await h.settle()
        assert node_of(h, "free-2") is None
        assert scheduled_condition(h, "free-2")["message"].startswith(
            "0/3 nodes are available: 1 node(s) had untolerated taint(s), "
            "2 node(s) didn't match pod topology spread constraints. ")

    run(scenario)


def test_a_pending_pod_is_placed_when_a_pod_frees_room_after_its_back_off():
    async def scenario(h: Harness):
        h.add_node("only", cpu="2")
        h.create(pod("first", cpu="1500m"))
        await h.settle()
        h.create(pod("second", cpu="1"))
        await h.settle()
        assert node_of(h, "second") is None
        h.delete("v1", "Pod", "first", grace_period_seconds=0)
        await h.settle()
        assert node_of(h, "second") is None  # still in its 1 s back-off
        await h.advance(1)
        assert node_of(h, "second") == "only"

    run(scenario)


def test_a_new_node_and_an_untainted_node_let_pending_pods_in():
    async def scenario(h: Harness):
        h.add_node("tainted", taints=[{"key": "maintenance", "effect": "NoSchedule"}])
        h.create(pod("waiting"))
        h.create(pod("also-waiting", cpu="6"))
        await h.settle()
        await h.advance(10)
        h.patch("v1", "Node", "tainted", {"spec": {"taints": None}})
        await h.advance(10)
        assert node_of(h, "waiting") == "tainted"
        assert node_of(h, "also-waiting") is None
        h.add_node("big", cpu="8")
        await h.advance(10)
        assert node_of(h, "also-waiting") == "big"

    run(scenario)


def test_an_unschedulable_pod_is_not_retried_in_a_busy_loop():
    async def scenario(h: Harness):
        kind_nodes(h)
        h.create(pod("huge", cpu="100"))
        await h.advance(60)
        [event] = h.events(name="huge")
        assert event["count"] == 1  # nothing changed in the cluster: no new attempt before the 5 min flush
        h.add_node("k8s-course-worker3")  # a change: retried once, after the back-off
        await h.advance(30)
        first, second = h.events(name="huge")
        assert first["message"].startswith("0/3 nodes") and first["count"] == 1
        assert second["message"].startswith("0/4 nodes") and second["count"] == 1
        await h.advance(300)
        assert [e["count"] for e in h.events(name="huge")] == [1, 2]

    run(scenario)


def test_unready_and_cordoned_nodes_are_skipped():
    async def scenario(h: Harness):
        h.add_node("down", ready=False)
        h.add_node("cordoned")
        h.patch("v1", "Node", "cordoned", {"spec": {"unschedulable": True}})
        h.create(pod("nowhere"))
        await h.settle()
        assert scheduled_condition(h, "nowhere")["message"].startswith(
            "0/2 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable.")

    run(scenario)


def test_effective_requests_count_sidecars_and_the_largest_init_container():
    spec = {
        "initContainers": [
            {"name": "migrate", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}},
            {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m",
                                                                                      "memory": "128Mi"}}},
            {"name": "warm", "resources": {"requests": {"cpu": "500m"}}},
        ],
        "containers": [{"name": "app", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}],
    }
    requests = scheduling.pod_requests(spec)
    assert requests["cpu"] == 2000  # the migration alone outweighs app + proxy (350m) and warm + proxy
    assert requests["memory"] == 1024 ** 3
    spec["initContainers"][0]["resources"]["requests"] = {"cpu": "10m"}
    requests = scheduling.pod_requests(spec)
    assert requests["cpu"] == 600  # warm (500m) beside the proxy (100m) beats app + proxy (350m)
    assert requests["memory"] == 384 * 1024 ** 2


def test_tolerations_match_as_kubernetes_matches_them():
    taint = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    assert scheduling.tolerates({"key": "dedicated", "operator": "Equal", "value": "db"}, taint)
    assert not scheduling.tolerates({"key": "dedicated", "value": "web"}, taint)
    assert scheduling.tolerates({"operator": "Exists"}, taint)
    assert not scheduling.tolerates({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}, taint)
