"""A simulated control plane in the test's own event loop, on a manual clock, without HTTP.

    def test_something():
        async def scenario(h: Harness):
            h.create({...})
            await h.advance(10)
            assert ...
        Harness.run(scenario, controllers=lambda c: [ReplicaSetController(c.objects)])

Time moves only when the test says so, so assertions about seconds are exact.
"""

from __future__ import annotations

import asyncio
import copy

from k8s_course.sim.clock import ManualClock
from k8s_course.sim.controllers.namespaces import NamespaceController
from k8s_course.sim.objects import DeleteOptions
from k8s_course.sim.simulator import Cluster

SETTLE_TURNS = 30  # loop turns with no new write before the cluster counts as quiet
START = 1_800_000_000.0


class Harness:
    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.objects = cluster.objects
        self.clock: ManualClock = cluster.clock  # type: ignore[assignment]

    @staticmethod
    def run(scenario, controllers=None, start: float = START, node_specs=None):
        """Run `await scenario(harness)` with a fresh cluster; `controllers(cluster)` adds loops.

        No nodes unless `node_specs` are given: tests add bare Node objects with add_node()."""

        async def main():
            def build(cluster):
                extra = controllers(cluster) if controllers else []
                return [NamespaceController(cluster.objects, cluster.tls.ca_pem.decode()), *extra]

            cluster = Cluster(ManualClock(start), controllers=build, node_specs=node_specs or [])
            await cluster.start_control_plane()
            harness = Harness(cluster)
            try:
                await harness.settle()
                return await scenario(harness)
            finally:
                await cluster.stop()

        return asyncio.run(main())

    # time

    async def settle(self, limit: int = 20_000) -> None:
        """Let every controller react until nothing more is written."""
        quiet, last = 0, self.cluster.store.revision
        for _ in range(limit):
            await asyncio.sleep(0)
            if self.cluster.store.revision == last:
                quiet += 1
                if quiet >= SETTLE_TURNS:
                    return
            else:
                quiet, last = 0, self.cluster.store.revision
        raise AssertionError("the cluster never settled: something writes in a loop")

    async def advance(self, seconds: float, step: float = 1.0) -> None:
        """Move the clock `seconds` forward in steps, letting the cluster settle after each."""
        await self.settle()
        left = seconds
        while left > 1e-9:
            move = min(step, left)
            self.clock.advance(move)
            left -= move
            await self.settle()

    async def until(self, predicate, timeout: float = 600, step: float = 1.0) -> float:
        """Advance until `predicate()` holds; returns the simulated seconds it took."""
        began = self.clock.now()
        await self.settle()
        while not predicate():
            if self.clock.now() - began >= timeout:
                raise AssertionError(f"not true after {timeout} simulated seconds")
            await self.advance(step, step)
        return self.clock.now() - began

    # objects

    def rtype(self, api_version: str, kind: str):
        found = self.cluster.registry.by_kind(api_version, kind)
        assert found is not None, f"{api_version}/{kind} is not served"
        return found

    def create(self, body: dict, namespace: str = "default") -> dict:
        body = copy.deepcopy(body)
        rtype = self.rtype(body["apiVersion"], body["kind"])
        return self.objects.create(rtype, namespace if rtype.namespaced else None, body).object

    def get(self, api_version: str, kind: str, name: str, namespace: str = "default") -> dict | None:
        rtype = self.rtype(api_version, kind)
        return self.objects.find(rtype, namespace if rtype.namespaced else "", name)

    def list(self, api_version: str, kind: str, namespace: str | None = "default") -> list[dict]:
        rtype = self.rtype(api_version, kind)
        return self.objects.list(rtype, namespace if rtype.namespaced else None)

    def patch(self, api_version: str, kind: str, name: str, patch: dict, namespace: str = "default",
              subresource: str | None = None) -> dict:
        rtype = self.rtype(api_version, kind)
        return self.objects.patch(rtype, namespace if rtype.namespaced else None, name, patch,
                                  "application/merge-patch+json", subresource=subresource).object

    def delete(self, api_version: str, kind: str, name: str, namespace: str = "default", **options) -> None:
        rtype = self.rtype(api_version, kind)
        self.objects.delete(rtype, namespace if rtype.namespaced else None, name, DeleteOptions(**options))

    def events(self, namespace: str = "default", name: str | None = None) -> list[dict]:
        found = self.list("v1", "Event", namespace)
        if name is not None:
            found = [e for e in found if e["involvedObject"]["name"] == name]
        return sorted(found, key=lambda e: (e.get("lastTimestamp") or "", e["metadata"]["name"]))

    def add_node(self, name: str, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
                 labels: dict | None = None, taints: list | None = None, ready: bool = True) -> dict:
        """A Node object with no kubelet behind it (for scheduler and controller tests)."""
        now = self.clock.timestamp()
        allocatable = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"}
        return self.create({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  "kubernetes.io/arch": "amd64", **(labels or {})}},
            "spec": {"taints": taints or []} if taints else {},
            "status": {"capacity": dict(allocatable), "allocatable": allocatable,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "reason": "KubeletReady" if ready else "KubeletNotReady",
                                       "message": "kubelet is posting ready status",
                                       "lastHeartbeatTime": now, "lastTransitionTime": now}]},
        })
