"""How fast the simulated control plane brings pods up: prints figures, asserts nothing.

    python bench/cluster_scale.py                 # 1 000 pods (app + sidecar) on 20 nodes
    python bench/cluster_scale.py --pods 10000 --nodes 100

A Deployment is scaled from 0 to N replicas, each pod with an app and a sidecar container, the
clock at 1x and no image pull delay; the figure is the wall time until the Deployment reports
N ready replicas. The whole control plane runs (scheduler, controllers, kubelets); nothing
goes over HTTP, so the figure is the simulator's own speed. Aims: 1 000 pods in under 10 s,
10 000 in under 2 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from k8s_course.sim import nodes
from k8s_course.sim.clock import Clock
from k8s_course.sim.simulator import Cluster


def deployment(replicas: int) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "scale"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "scale"}},
            "template": {"metadata": {"labels": {"app": "scale"}}, "spec": {"containers": [
                {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]},
                {"name": "log-shipper", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 3600"]},
            ]}},
        },
    }


async def scale_up(pods: int, node_count: int) -> None:
    specs = nodes.default_nodes(node_count - 1, pods=str(max(110, pods // (node_count - 1) + 10)))
    cluster = Cluster(Clock(1.0), node_specs=specs)
    await cluster.start_control_plane()
    await asyncio.sleep(0.5)  # nodes register and heartbeat
    apps = cluster.registry.lookup("apps", "v1", "deployments")
    cluster.objects.create(apps, "default", deployment(0))
    began = time.perf_counter()
    current = cluster.objects.get(apps, "default", "scale")
    scaled = dict(current, spec=dict(current["spec"], replicas=pods))
    cluster.objects.update(apps, "default", "scale", scaled)
    ready, last_report = 0, began
    while ready < pods:
        await asyncio.sleep(0.1)
        status = cluster.objects.get(apps, "default", "scale").get("status", {})
        ready = status.get("readyReplicas", 0)
        now = time.perf_counter()
        if now - last_report >= 5:
            print(f"  ... {ready} ready after {now - began:.0f} s", flush=True)
            last_report = now
        if now - began > 900:
            print("  gave up after 15 minutes")
            break
    elapsed = time.perf_counter() - began
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{pods} pods ({2 * pods} containers) on {node_count} nodes: all Ready in {elapsed:.1f} s of wall time"
          f" ({pods / elapsed:.0f} pods/s); peak RSS {rss:.0f} MiB; {cluster.store.revision} writes")
    await cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(scale_up(args.pods, args.nodes))


if __name__ == "__main__":
    main()
