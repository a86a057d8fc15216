"""The endpoints controllers: Endpoints and EndpointSlices follow pods in and out of readiness."""

from __future__ import annotations

import re

from k8s_course.sim.controllers.endpoints import EndpointsController
from tests.sim.harness import Harness
from tests.sim.kubelet_stand_in import run_pod, set_ready


def run(scenario):
    Harness.run(scenario, controllers=lambda cluster: [EndpointsController(cluster.objects)])


def service(name: str = "web", headless: bool = False, ports: list | None = None) -> dict:
    spec: dict = {"selector": {"app": "web"},
                  "ports": ports if ports is not None else [{"name": "http", "port": 80, "targetPort": "http"}]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"team": "a"}}, "spec": spec}


def pod(name: str, app: str = "web", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                     "ports": [{"name": "http", "containerPort": 8080}]}], **spec}}


def slices(h: Harness, name: str = "web") -> list[dict]:
    return [s for s in h.list("discovery.k8s.io/v1", "EndpointSlice")
            if s["metadata"]["labels"].get("kubernetes.io/service-name") == name]


def test_endpoints_list_ready_pod_ips_and_keep_the_others_apart():
    async def scenario(h: Harness):
        h.add_node("node-1")
        h.create(service())
        for name in ("web-a", "web-b", "web-c"):
            h.create(pod(name))
        h.create(pod("other", app="db"))
        await h.settle()
        a = run_pod(h, "web-a", ip="10.244.0.12", node="node-1")
        run_pod(h, "web-b", ip="10.244.0.7", node="node-1")
        c = run_pod(h, "web-c", ready=False, ip="10.244.0.9", node="node-1")
        run_pod(h, "other", ip="10.244.0.2", node="node-1")
        await h.settle()
        endpoints = h.get("v1", "Endpoints", "web")
        assert endpoints["metadata"]["labels"] == {"team": "a"}
        (subset,) = endpoints["subsets"]
        assert [a["ip"] for a in subset["addresses"]] == ["10.244.0.7", "10.244.0.12"]
        assert subset["addresses"][1] == {"ip": "10.244.0.12", "nodeName": "node-1", "targetRef": {
            "kind": "Pod", "namespace": "default", "name": "web-a", "uid": a["metadata"]["uid"]}}
        assert subset["notReadyAddresses"] == [{"ip": "10.244.0.9", "nodeName": "node-1", "targetRef": {
            "kind": "Pod", "namespace": "default", "name": "web-c", "uid": c["metadata"]["uid"]}}]
        assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    run(scenario)


def test_endpoints_follow_readiness_and_pods_leaving():
    async def scenario(h: Harness):
        h.create(service(ports=[{"port": 80, "targetPort": 9000}]))
        h.create(pod("web-a"))
        h.create(pod("web-b"))
        await h.settle()
        assert "subsets" not in h.get("v1", "Endpoints", "web")
        run_pod(h, "web-a", ip="10.244.1.5")
        run_pod(h, "web-b", ip="10.244.1.6")
        await h.settle()
        (subset,) = h.get("v1", "Endpoints", "web")["subsets"]
        assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.5", "10.244.1.6"]
        assert subset["ports"] == [{"port": 9000, "protocol": "TCP"}]
        set_ready(h, "web-a", False)
        await h.settle()
        (subset,) = h.get("v1", "Endpoints", "web")["subsets"]
        assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.6"]
        assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.1.5"]
        h.delete("v1", "Pod", "web-b")
        await h.settle()
        (subset,) = h.get("v1", "Endpoints", "web")["subsets"]
        assert "addresses" not in subset
        h.delete("v1", "Service", "web")
        await h.settle()
        assert h.get("v1", "Endpoints", "web") is None and slices(h) == []

    run(scenario)


def test_an_endpointslice_carries_conditions_ports_and_its_service_labels():
    async def scenario(h: Harness):
        h.add_node("node-1")
        svc = h.create(service())
        h.create(pod("web-a"))
        h.create(pod("web-b"))
        await h.settle()
        a = run_pod(h, "web-a", ip="10.244.0.5", node="node-1")
        run_pod(h, "web-b", ready=False, ip="10.244.0.6", node="node-1")
        await h.settle()
        (found,) = slices(h)
        assert re.fullmatch("web-[bcdfghjklmnpqrstvwxz2456789]{5}", found["metadata"]["name"])
        assert found["metadata"]["labels"] == {
            "team": "a", "kubernetes.io/service-name": "web",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
        assert found["metadata"]["ownerReferences"] == [{
            "apiVersion": "v1", "kind": "Service", "name": "web", "uid": svc["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}]
        assert found["addressType"] == "IPv4"
        assert found["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
        assert found["endpoints"] == [
            {"addresses": ["10.244.0.5"], "conditions": {"ready": True, "serving": True, "terminating": False},
             "targetRef": {"kind": "Pod", "namespace": "default", "name": "web-a", "uid": a["metadata"]["uid"]},
             "nodeName": "node-1"},
            {"addresses": ["10.244.0.6"], "conditions": {"ready": False, "serving": False, "terminating": False},
             "targetRef": {"kind": "Pod", "namespace": "default", "name": "web-b",
                           "uid": h.get("v1", "Pod", "web-b")["metadata"]["uid"]},
             "nodeName": "node-1"}]
        h.delete("v1", "Pod", "web-a")  # bound, so it terminates gracefully
        await h.settle()
        (found,) = slices(h)
        assert found["endpoints"][0]["conditions"] == {"ready": False, "serving": True, "terminating": True}
        assert [a["ip"] for a in h.get("v1", "Endpoints", "web")["subsets"][0].get("addresses", [])] == []

    run(scenario)


def test_headless_service_endpoints_name_statefulset_pods_by_hostname():
    async def scenario(h: Harness):
        h.create(service("db", headless=True, ports=[{"port": 5432}]))
        h.create(pod("db-0", app="web", hostname="db-0", subdomain="db"))
        await h.settle()
        run_pod(h, "db-0", ip="10.244.2.3")
        await h.settle()
        endpoints = h.get("v1", "Endpoints", "db")
        assert endpoints["metadata"]["labels"] == {"team": "a", "service.kubernetes.io/headless": ""}
        assert endpoints["subsets"][0]["addresses"][0]["hostname"] == "db-0"
        assert endpoints["subsets"][0]["ports"] == [{"port": 5432, "protocol": "TCP"}]
        (found,) = slices(h, "db")
        assert found["endpoints"][0]["hostname"] == "db-0"
        assert found["metadata"]["labels"]["service.kubernetes.io/headless"] == ""

    run(scenario)


def test_a_service_without_a_selector_is_left_to_its_owner():
    async def scenario(h: Harness):
        h.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "external"},
                  "spec": {"ports": [{"port": 80}]}})
        await h.settle()
        assert h.get("v1", "Endpoints", "external") is None and slices(h, "external") == []

    run(scenario)
