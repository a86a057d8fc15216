"""The node lifecycle and taint eviction controllers, on a manual clock with hand-made nodes."""

from __future__ import annotations

from k8s_course.sim.binding import bind
from k8s_course.sim.clock import format_micro_time
from k8s_course.sim.controllers.node_lifecycle import (
    NEVER,
    NodeLifecycleController,
    eviction_delay,
    reconcile_taints,
    tolerates,
)
from tests.sim.harness import Harness

NODE = "worker-1"


def lifecycle(cluster):
    return [NodeLifecycleController(cluster.objects)]


def make_lease(h: Harness, name: str = NODE) -> dict:
    return h.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": name, "namespace": "kube-node-lease"},
                     "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                              "renewTime": format_micro_time(h.clock.now())}}, "kube-node-lease")


def renew(h: Harness, name: str = NODE) -> None:
    h.patch("coordination.k8s.io/v1", "Lease", name, {"spec": {"renewTime": format_micro_time(h.clock.now())}},
            "kube-node-lease")


def make_pod(h: Harness, name: str, node: str = NODE, tolerations: list | None = None) -> dict:
    spec = {"containers": [{"name": "app", "image": "nginx"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    h.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
    bind(h.objects, "default", name, node)
    now = h.clock.timestamp()
    return h.patch("v1", "Pod", name, {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now, "lastProbeTime": None}]}},
        subresource="status")


def node_of(h: Harness, name: str = NODE) -> dict:
    return h.get("v1", "Node", name)


def ready_of(obj: dict) -> dict:
    return next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")


def taint_keys(node: dict) -> list[tuple[str, str]]:
    return [(t["key"], t["effect"]) for t in node["spec"].get("taints") or []]


def come_back(h: Harness, name: str = NODE) -> None:
    """What a returning kubelet does: renew the lease and report Ready."""
    renew(h, name)
    now = h.clock.timestamp()
    h.patch("v1", "Node", name, {"status": {"conditions": [
        {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
         "lastHeartbeatTime": now, "lastTransitionTime": now}]}}, subresource="status")


def test_a_silent_node_goes_unknown_exactly_after_the_grace_period():
    async def scenario(h: Harness):
        h.add_node(NODE)
        make_lease(h)
        await h.advance(39)
        assert ready_of(node_of(h))["status"] == "True"
        assert taint_keys(node_of(h)) == []
        await h.advance(1)
        node = node_of(h)
        ready = ready_of(node)
        assert (ready["status"], ready["reason"], ready["message"]) == (
            "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
        assert ready["lastTransitionTime"] == h.clock.timestamp()
        never = {c["type"]: c for c in node["status"]["conditions"]}["MemoryPressure"]
        assert (never["status"], never["reason"], never["message"]) == (
            "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.")
        assert taint_keys(node) == [("node.kubernetes.io/unreachable", "NoExecute"),
                                    ("node.kubernetes.io/unreachable", "NoSchedule")]
        assert all(t["timeAdded"] == h.clock.timestamp() for t in node["spec"]["taints"])
        messages = [(e["reason"], e["message"], e["source"]["component"]) for e in h.events(name=NODE)]
        assert ("NodeNotReady", f"Node {NODE} status is now: NodeNotReady", "node-controller") in messages
        assert ("RegisteredNode", f"Node {NODE} event: Registered Node {NODE} in Controller",
                "node-controller") in messages

    Harness.run(scenario, controllers=lifecycle)


def test_a_renewed_lease_keeps_the_node_ready():
    async def scenario(h: Harness):
        h.add_node(NODE)
        make_lease(h)
        for _ in range(12):
            await h.advance(10)
            renew(h)
        assert ready_of(node_of(h))["status"] == "True"
        await h.advance(39)
        assert ready_of(node_of(h))["status"] == "True"
        await h.advance(1)
        assert ready_of(node_of(h))["status"] == "Unknown"

    Harness.run(scenario, controllers=lifecycle)


def test_pods_on_an_unreachable_node_stop_being_ready():
    async def scenario(h: Harness):
        h.add_node(NODE)
        h.add_node("worker-2")
        make_lease(h)
        make_lease(h, "worker-2")
        make_pod(h, "here")
        make_pod(h, "there", node="worker-2")
        await h.advance(20)
        renew(h, "worker-2")
        await h.advance(20)
        here = h.get("v1", "Pod", "here")
        assert ready_of(here)["status"] == "False"
        assert ready_of(here)["lastTransitionTime"] == h.clock.timestamp()
        assert ready_of(h.get("v1", "Pod", "there"))["status"] == "True"
        warning = [e for e in h.events(name="here") if e["reason"] == "NodeNotReady"]
        assert [(e["type"], e["message"]) for e in warning] == [("Warning", "Node is not ready")]

    Harness.run(scenario, controllers=lifecycle)


def test_default_tolerations_keep_a_pod_300_seconds_then_it_is_evicted():
    async def scenario(h: Harness):
        h.add_node(NODE)
        make_lease(h)
        make_pod(h, "web")
        await h.advance(40)  # unreachable from now on
        await h.advance(299)
        assert not h.get("v1", "Pod", "web")["metadata"].get("deletionTimestamp")
        await h.advance(1)
        pod = h.get("v1", "Pod", "web")
        assert pod["metadata"]["deletionTimestamp"]  # Terminating: no kubelet answers to finish it
        disruption = next(c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget")
        assert (disruption["status"], disruption["reason"], disruption["message"]) == (
            "True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")
        evictions = [e for e in h.events(name="web") if e["reason"] == "TaintManagerEviction"]
        assert [(e["message"], e["source"]["component"]) for e in evictions] == [
            ("Marking for deletion Pod default/web", "taint-eviction-controller")]

    Harness.run(scenario, controllers=lifecycle)


def test_a_shorter_toleration_evicts_sooner_and_one_without_seconds_never():
    async def scenario(h: Harness):
        h.add_node(NODE)
        make_lease(h)
        make_pod(h, "quick", tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                           "effect": "NoExecute", "tolerationSeconds": 30}])
        make_pod(h, "forever", tolerations=[{"operator": "Exists"}])
        await h.advance(40 + 29)
        assert not h.get("v1", "Pod", "quick")["metadata"].get("deletionTimestamp")
        await h.advance(1)
        assert h.get("v1", "Pod", "quick")["metadata"]["deletionTimestamp"]
        await h.advance(600, step=10)
        assert not h.get("v1", "Pod", "forever")["metadata"].get("deletionTimestamp")

    Harness.run(scenario, controllers=lifecycle)


def test_an_untolerated_no_execute_taint_evicts_at_once():
    async def scenario(h: Harness):
        h.add_node(NODE)
        make_lease(h)
        make_pod(h, "web")
        make_pod(h, "tolerant", tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db",
                                              "effect": "NoExecute"}])
        h.patch("v1", "Node", NODE, {"spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]}})
        await h.settle()
        assert h.get("v1", "Pod", "web")["metadata"]["deletionTimestamp"]
        assert not h.get("v1", "Pod", "tolerant")["metadata"].get("deletionTimestamp")
        assert ready_of(node_of(h))["status"] == "True"  # a user's taint, not a sick node

    Harness.run(scenario, controllers=lifecycle)


def test_a_node_that_comes_back_loses_its_taints_and_evictions_are_cancelled():
    async def scenario(h: Harness):
        h.add_node(NODE)
        make_lease(h)
        make_pod(h, "web")
        await h.advance(100)
        assert ready_of(node_of(h))["status"] == "Unknown"
        come_back(h)
        await h.settle()
        node = node_of(h)
        assert ready_of(node)["status"] == "True"
        assert taint_keys(node) == []
        cancelled = [e["message"] for e in h.events(name="web") if e["reason"] == "TaintManagerEviction"]
        assert cancelled == ["Cancelling deletion of Pod default/web"]
        for _ in range(40):
            await h.advance(10)
            renew(h)
        assert not h.get("v1", "Pod", "web")["metadata"].get("deletionTimestamp")

    Harness.run(scenario, controllers=lifecycle)


def test_a_node_reporting_not_ready_gets_the_not_ready_taints():
    async def scenario(h: Harness):
        h.add_node(NODE, ready=False)
        make_lease(h)
        await h.settle()
        assert taint_keys(node_of(h)) == [("node.kubernetes.io/not-ready", "NoExecute"),
                                          ("node.kubernetes.io/not-ready", "NoSchedule")]

    Harness.run(scenario, controllers=lifecycle)


def test_a_cordoned_node_is_tainted_unschedulable_and_uncordoned_not():
    async def scenario(h: Harness):
        h.add_node(NODE, taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
        make_lease(h)
        h.patch("v1", "Node", NODE, {"spec": {"unschedulable": True}})
        await h.settle()
        assert taint_keys(node_of(h)) == [("dedicated", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule")]
        h.patch("v1", "Node", NODE, {"spec": {"unschedulable": None}})
        await h.settle()
        assert taint_keys(node_of(h)) == [("dedicated", "NoSchedule")]

    Harness.run(scenario, controllers=lifecycle)


def test_a_pod_bound_to_an_already_tainted_node_counts_from_its_arrival():
    async def scenario(h: Harness):
        h.add_node(NODE)
        make_lease(h)
        await h.advance(100)  # unreachable since t=40
        make_pod(h, "late")
        await h.settle()
        assert ready_of(h.get("v1", "Pod", "late"))["status"] == "False"
        await h.advance(299)
        assert not h.get("v1", "Pod", "late")["metadata"].get("deletionTimestamp")
        await h.advance(1)
        assert h.get("v1", "Pod", "late")["metadata"]["deletionTimestamp"]

    Harness.run(scenario, controllers=lifecycle)


# the rules, as pure functions

def test_tolerations_match_by_key_effect_and_value():
    taint = {"key": "dedicated", "value": "db", "effect": "NoExecute"}
    assert tolerates({"key": "dedicated", "operator": "Equal", "value": "db"}, taint)
    assert tolerates({"key": "dedicated", "value": "db", "effect": "NoExecute"}, taint)  # Equal by default
    assert not tolerates({"key": "dedicated", "operator": "Equal", "value": "web"}, taint)
    assert not tolerates({"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}, taint)
    assert tolerates({"operator": "Exists"}, taint)
    assert not tolerates({"key": "other", "operator": "Exists"}, taint)


def test_the_shortest_toleration_decides_and_a_missing_one_means_now():
    unreachable = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
    custom = {"key": "dedicated", "value": "db", "effect": "NoExecute"}
    default = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
               "tolerationSeconds": 300}
    assert eviction_delay([default], []) is None
    assert eviction_delay([default], [unreachable]) == 300
    assert eviction_delay([default], [unreachable, custom]) == 0
    assert eviction_delay([{"operator": "Exists"}], [unreachable, custom]) == NEVER
    assert eviction_delay([{"key": "dedicated", "operator": "Exists", "tolerationSeconds": 60}, default],
                          [unreachable, custom]) == 60
    assert eviction_delay([{**default, "tolerationSeconds": -5}], [unreachable]) == 0


def test_taint_reconciliation_keeps_other_taints_and_their_times():
    node = {"spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"},
                                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
                                 "timeAdded": "2027-01-01T00:00:00Z"}]},
            "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}
    taints = reconcile_taints(node, "2027-01-01T00:05:00Z")
    assert taints == [{"key": "dedicated", "value": "db", "effect": "NoSchedule"},
                      {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
                       "timeAdded": "2027-01-01T00:00:00Z"},
                      {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule",
                       "timeAdded": "2027-01-01T00:05:00Z"}]
    assert reconcile_taints(dict(node, spec={"taints": taints}), "2027-01-01T00:06:00Z") is None
