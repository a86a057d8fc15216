"""Tiny image models and helpers for the kubelet's tests (not a test module itself)."""

from __future__ import annotations

from k8s_course.sim.images import base
from k8s_course.sim.kubelet import Kubelet
from k8s_course.sim.kubelet_network import PodNetwork
from tests.sim.harness import Harness


class Catalogue:
    """image -> model factory; unknown images run the default model, `bad:*` cannot be pulled."""

    def __init__(self, **models):
        self.models = {name.replace("_", "-"): factory for name, factory in models.items()}
        self.made: dict[str, list] = {}

    def model_for(self, container: dict) -> base.ImageModel:
        image = container.get("image", "")
        if image.startswith("bad"):
            raise base.PullError(f'failed to pull and unpack image "docker.io/library/{image}": not found')
        factory = self.models.get(image.split(":")[0])
        model = factory() if factory else base.ImageModel()
        self.made.setdefault(container["name"], []).append(model)
        return model


class Exits(base.ImageModel):
    """Logs a line, then exits with `code` after `after` seconds."""

    code = 1
    after = 0.0
    starts: list[float] = []

    async def run(self, ctx):
        self.starts.append(ctx.clock.now())
        ctx.log(f"starting at {ctx.clock.now()}")
        if self.after:
            await ctx.clock.sleep(self.after)
        return self.code


class Stubborn(base.ImageModel):
    """Ignores SIGTERM: only SIGKILL stops it."""

    async def run(self, ctx):
        for port in base.declared_ports(ctx.container):
            ctx.listen(port)
        await ctx.clock.sleep(10**9)
        return 0


def exiting(code: int, after: float = 0.0, record: list | None = None):
    record = record if record is not None else []

    def make():
        model = Exits()
        model.code, model.after = code, after
        model.starts = record
        return model

    return make, record


def pod(name: str = "web", node: str = "node-1", containers=None, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": containers or [{"name": "app", "image": "nginx:1.27"}],
                     **spec}}


def run(scenario, catalogue=None, nodes=(("node-1", "10.244.1.0/24"),), real_images: bool = False, **options):
    """Run `scenario(h, kubelets)` with one kubelet per (node, cidr).

    Images come from `catalogue` (default: tiny test models), or from the course's image
    registry with `real_images`.
    """
    if not real_images:
        catalogue = catalogue or Catalogue()
    network = PodNetwork()
    kubelets: dict[str, Kubelet] = {}

    def build(cluster):
        for node, cidr in nodes:
            kubelets[node] = Kubelet(cluster.objects, node, cidr, catalogue, network=network,
                                     **options)
        return list(kubelets.values())

    async def wrapped(h: Harness):
        h.event_log = []  # every Event write in order, repeats included

        def record(change):
            if change.resource == ("", "events") and change.type != "DELETED":
                e = change.object
                h.event_log.append((e["involvedObject"]["name"], e["reason"], e["message"],
                                    e["involvedObject"].get("fieldPath", ""), e["lastTimestamp"]))

        h.cluster.store.listen(record)
        for node, _ in nodes:
            h.add_node(node)
        await h.settle()
        return await scenario(h, kubelets)

    return Harness.run(wrapped, controllers=build)


def events_in_order(h: Harness, name: str) -> list[tuple[str, str, str]]:
    """(reason, message, fieldPath) of the pod's events as they were recorded, repeats included."""
    return [(reason, message, field) for pod_name, reason, message, field, _ in h.event_log if pod_name == name]


def status_of(h: Harness, name: str, container: str = "app", init: bool = False) -> dict:
    pod_status = h.get("v1", "Pod", name)["status"]
    key = "initContainerStatuses" if init else "containerStatuses"
    return next(s for s in pod_status[key] if s["name"] == container)


def condition(h: Harness, name: str, kind: str) -> dict:
    return next(c for c in h.get("v1", "Pod", name)["status"]["conditions"] if c["type"] == kind)
