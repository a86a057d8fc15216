"""Simulated nodes: kind's shape, the Node a NodeAgent registers, its heartbeats and outages."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from k8s_course.sim.api import admin_nodes
from k8s_course.sim.clock import parse_time
from k8s_course.sim.controllers.node_lifecycle import NodeLifecycleController
from k8s_course.sim.nodes import NodeAgent, NodeSpec, default_nodes
from tests.sim.harness import Harness


class FakeKubelet:
    def __init__(self):
        self.running = True
        self.calls: list[str] = []

    def stop(self):
        self.running = False
        self.calls.append("stop")

    async def start(self):  # a coroutine on purpose: the agent accepts both
        self.running = True
        self.calls.append("start")

    def crash(self, namespace, pod, container, exit_code):
        self.calls.append(f"crash {namespace}/{pod}/{container} {exit_code}")


def with_agents(specs, kubelets=None, lifecycle=False):
    """Controllers for the harness: the node agents (and the lifecycle controller)."""
    agents: dict[str, NodeAgent] = {}

    def build(cluster):
        loops = []
        for index, spec in enumerate(specs):
            agents[spec.name] = NodeAgent(cluster.objects, spec, index, (kubelets or {}).get(spec.name))
            loops.append(agents[spec.name])
        if lifecycle:
            loops.append(NodeLifecycleController(cluster.objects))
        return loops

    return agents, build


def lease_renewed(h: Harness, name: str) -> float:
    lease = h.get("coordination.k8s.io/v1", "Lease", name, "kube-node-lease")
    return parse_time(lease["spec"]["renewTime"])


def ready_of(node: dict) -> dict:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


def test_default_nodes_are_shaped_like_the_kind_cluster():
    nodes = default_nodes()
    assert [(n.name, n.role) for n in nodes] == [
        ("k8s-course-control-plane", "control-plane"), ("k8s-course-worker", "worker"),
        ("k8s-course-worker2", "worker")]
    assert nodes[0].taints == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    assert nodes[0].labels["node-role.kubernetes.io/control-plane"] == ""
    assert nodes[1].taints == [] and nodes[1].cpu == "4" and nodes[1].memory == "8Gi"
    assert [n.name for n in default_nodes(workers=4, cpu="2")][-1] == "k8s-course-worker4"
    assert default_nodes(workers=0, memory="4Gi")[0].memory == "4Gi"
    with pytest.raises(ValueError):
        default_nodes(workers=-1)


def test_an_agent_registers_a_node_like_kinds():
    agents, build = with_agents(default_nodes(workers=2))

    async def scenario(h: Harness):
        control, worker2 = h.get("v1", "Node", "k8s-course-control-plane"), h.get("v1", "Node", "k8s-course-worker2")
        assert control["spec"]["taints"] == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
        assert control["spec"]["podCIDR"] == "10.244.0.0/24"
        assert worker2["spec"]["podCIDRs"] == ["10.244.2.0/24"]
        assert "taints" not in worker2["spec"]
        labels = worker2["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == "k8s-course-worker2"
        assert (labels["kubernetes.io/os"], labels["kubernetes.io/arch"]) == ("linux", "amd64")
        assert "node-role.kubernetes.io/control-plane" not in labels
        assert control["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == ""
        status = worker2["status"]
        assert status["capacity"] == {"cpu": "4", "ephemeral-storage": "100Gi", "hugepages-1Gi": "0",
                                      "hugepages-2Mi": "0", "memory": "8Gi", "pods": "110"}
        # less the kubelet's hard-eviction reserves: 100Mi of memory, 10% of the disk
        assert status["allocatable"]["memory"] == "8092Mi"
        assert status["allocatable"]["ephemeral-storage"] == "96636764160"
        assert status["allocatable"]["cpu"] == "4"
        assert status["addresses"] == [{"type": "InternalIP", "address": "172.18.0.4"},
                                       {"type": "Hostname", "address": "k8s-course-worker2"}]
        info = status["nodeInfo"]
        assert (info["kubeletVersion"], info["containerRuntimeVersion"], info["architecture"],
                info["operatingSystem"]) == ("v1.36.2", "containerd://2.1.1", "amd64", "linux")
        assert info["osImage"] and info["kernelVersion"]
        conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
        assert conditions == {"MemoryPressure": ("False", "KubeletHasSufficientMemory"),
                              "DiskPressure": ("False", "KubeletHasNoDiskPressure"),
                              "PIDPressure": ("False", "KubeletHasSufficientPID"),
                              "Ready": ("True", "KubeletReady")}
        assert ready_of(worker2)["message"] == "kubelet is posting ready status"
        lease = h.get("coordination.k8s.io/v1", "Lease", "k8s-course-worker2", "kube-node-lease")
        assert lease["spec"]["holderIdentity"] == "k8s-course-worker2"
        assert lease["spec"]["leaseDurationSeconds"] == 40
        assert lease["metadata"]["ownerReferences"][0]["uid"] == worker2["metadata"]["uid"]
        events = [(e["reason"], e["message"], e["source"]) for e in h.events(name="k8s-course-worker2")]
        assert ("NodeReady", "Node k8s-course-worker2 status is now: NodeReady",
                {"component": "kubelet", "host": "k8s-course-worker2"}) in events

    Harness.run(scenario, controllers=build)


def test_the_lease_is_renewed_every_ten_seconds_with_microseconds():
    agents, build = with_agents([NodeSpec("n1")])

    async def scenario(h: Harness):
        start = h.clock.now()
        assert lease_renewed(h, "n1") == start
        lease = h.get("coordination.k8s.io/v1", "Lease", "n1", "kube-node-lease")
        assert lease["spec"]["renewTime"].endswith(".000000Z")
        await h.advance(9)
        assert lease_renewed(h, "n1") == start
        await h.advance(1)
        assert lease_renewed(h, "n1") == start + 10
        await h.advance(25)
        assert lease_renewed(h, "n1") == start + 30

    Harness.run(scenario, controllers=build)


def test_node_status_is_reported_every_five_minutes():
    agents, build = with_agents([NodeSpec("n1")])

    async def scenario(h: Harness):
        start = h.clock.now()
        first = ready_of(h.get("v1", "Node", "n1"))
        await h.advance(299, step=10)
        assert ready_of(h.get("v1", "Node", "n1"))["lastHeartbeatTime"] == first["lastHeartbeatTime"]
        await h.advance(1)
        ready = ready_of(h.get("v1", "Node", "n1"))
        assert parse_time(ready["lastHeartbeatTime"]) == start + 300
        assert ready["lastTransitionTime"] == first["lastTransitionTime"]  # no change, no transition

    Harness.run(scenario, controllers=build)


def test_an_outage_makes_the_node_unknown_and_recovery_makes_it_ready_again():
    kubelet = FakeKubelet()
    agents, build = with_agents([NodeSpec("n1"), NodeSpec("n2")], {"n1": kubelet}, lifecycle=True)

    async def scenario(h: Harness):
        await h.advance(5)
        stopped_at = h.clock.now()
        agents["n1"].stop()
        assert kubelet.calls == ["stop"] and not kubelet.running
        assert agents["n1"].state()["running"] is False
        await h.advance(40)
        assert lease_renewed(h, "n1") == stopped_at - 5  # no renewal since
        node = h.get("v1", "Node", "n1")
        assert ready_of(node)["status"] == "Unknown"
        # 40 s after the last renewal, which was 5 s before the outage
        assert parse_time(ready_of(node)["lastTransitionTime"]) == stopped_at - 5 + 40
        assert [t["key"] for t in node["spec"]["taints"]] == ["node.kubernetes.io/unreachable"] * 2
        assert ready_of(h.get("v1", "Node", "n2"))["status"] == "True"
        await h.advance(60)
        agents["n1"].start()
        await h.settle()
        assert kubelet.calls == ["stop", "start"] and kubelet.running
        node = h.get("v1", "Node", "n1")
        assert ready_of(node)["status"] == "True"
        assert ready_of(node)["lastTransitionTime"] == h.clock.timestamp()
        assert "taints" not in node["spec"]
        assert lease_renewed(h, "n1") == h.clock.now()
        await h.advance(100, step=5)
        assert ready_of(h.get("v1", "Node", "n1"))["status"] == "True"
        ready_events = [e for e in h.events(name="n1") if e["reason"] == "NodeReady"]
        assert ready_events[0]["count"] == 2  # registered, then back from the outage

    Harness.run(scenario, controllers=build)


def test_a_restarted_agent_takes_over_an_existing_node():
    specs = [NodeSpec("n1", labels={"disk": "ssd"})]
    agents, build = with_agents(specs)

    async def scenario(h: Harness):
        uid = h.get("v1", "Node", "n1")["metadata"]["uid"]
        again = NodeAgent(h.objects, specs[0], 0)
        again.register()
        node = h.get("v1", "Node", "n1")
        assert node["metadata"]["uid"] == uid
        assert node["metadata"]["labels"]["disk"] == "ssd"

    Harness.run(scenario, controllers=build)


def test_the_admin_api_stops_and_starts_nodes_and_crashes_containers():
    kubelet = FakeKubelet()
    agents, build = with_agents([NodeSpec("n1"), NodeSpec("n2")], {"n1": kubelet})

    async def scenario(h: Harness):
        admin_nodes.install(h.cluster, agents)
        http = TestClient(TestServer(h.cluster.server.app()))
        await http.start_server()
        auth = {"Authorization": f"Bearer {h.cluster.token}"}
        try:
            listed = await (await http.get("/sim/v1/nodes", headers=auth)).json()
            assert [(n["name"], n["running"]) for n in listed["items"]] == [("n1", True), ("n2", True)]
            stopped = await http.post("/sim/v1/nodes/n1/stop", headers=auth)
            assert stopped.status == 200 and (await stopped.json())["running"] is False
            assert not agents["n1"].running and kubelet.calls == ["stop"]
            started = await http.post("/sim/v1/nodes/n1/start", headers=auth)
            assert (await started.json())["running"] is True
            missing = await http.post("/sim/v1/nodes/n9/stop", headers=auth)
            assert missing.status == 404
            assert (await missing.json())["message"] == 'nodes "n9" not found'
            unauthenticated = await http.get("/sim/v1/nodes")
            assert unauthenticated.status == 401

            h.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                      "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "nginx"}]}})
            crashed = await http.post("/sim/v1/namespaces/default/pods/web/crash", headers=auth,
                                      json={"container": "app", "exitCode": 2})
            assert crashed.status == 200, await crashed.text()
            assert kubelet.calls[-1] == "crash default/web/app 2"
            wrong = await http.post("/sim/v1/namespaces/default/pods/web/crash", headers=auth,
                                    json={"container": "db", "exitCode": 300})
            body = await wrong.json()
            assert (wrong.status, body["reason"]) == (422, "Invalid")
            assert [c["field"] for c in body["details"]["causes"]] == ["container", "exitCode"]
            absent = await http.post("/sim/v1/namespaces/default/pods/nope/crash", headers=auth, json={})
            assert absent.status == 404
            not_json = await http.post("/sim/v1/namespaces/default/pods/web/crash", headers=auth, data=b"[1")
            assert not_json.status == 400
            h.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other"},
                      "spec": {"nodeName": "n2", "containers": [{"name": "app", "image": "nginx"}]}})
            no_kubelet = await http.post("/sim/v1/namespaces/default/pods/other/crash", headers=auth, json={})
            assert no_kubelet.status == 409
        finally:
            await http.close()

    Harness.run(scenario, controllers=build)
