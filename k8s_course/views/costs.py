"""What the patterns cost: a sidecar's requests in every pod, against a proxy per node or eBPF.

Pure functions of plain data, and figures drawn from them:

- `requests_by_room(pods)` / `usage_by_room(pod_metrics, pods)`: a namespace's CPU and memory,
  split into app containers and sidecars (the building's room kinds, `states.room_kind`), as
  the pods ask for it (requests) and as they use it (the metrics API's PodMetrics).
- `pods_that_fit(nodes, per_pod)`: how many pods of one shape the schedulable floors can take,
  and what runs out first (cpu, memory or the kubelet's pod limit).
- `mesh_overhead(pods, ...)` and `draw_overhead(pod_counts)`: the calculator. Three ways to give
  every pod mTLS and telemetry, with their published default requests (`FOOTPRINTS`, each with
  its source).
- `NATIVE_SIDECAR_RELEASES` and `draw_native_sidecar_releases()`: when Kubernetes fixed the
  sidecars' start order.

Amounts are plain numbers: CPU in cores, memory in MiB.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from matplotlib.figure import Figure

from . import states

MIB = 2**20


@dataclass(frozen=True)
class Footprint:
    """The requests of one proxy or agent, and where the figure comes from."""

    name: str
    cpu: float  # cores
    memory_mib: float
    per: str  # "pod" or "node"
    source: str


# the calculator's published figures (defaults of the projects' own charts)
SIDECAR = Footprint("sidecar per pod (Istio's istio-proxy)", 0.1, 128, "pod",
                    "Istio's default proxy requests: global.proxy.resources.requests 100m / 128Mi")
AMBIENT = Footprint("proxy per node (Istio ambient's ztunnel)", 0.2, 512, "node",
                    "the requests in Istio's ztunnel Helm chart: 200m / 512Mi, one pod per node (a DaemonSet)")
EBPF = Footprint("eBPF agent per node (Cilium)", 0.1, 512, "node",
                 "Cilium's chart sets no requests by default; 100m / 512Mi is the example its values file gives")
FOOTPRINTS = {"sidecar": SIDECAR, "ambient": AMBIENT, "ebpf": EBPF}
MODEL_COLOURS = {"sidecar": "#c1121f", "ambient": "#457b9d", "ebpf": "#2a9d8f"}
DEFAULT_PODS_PER_NODE = 30  # an assumption of the calculator, not a Kubernetes limit (that is 110)


# a namespace's requests and use, app against sidecar

def _room_of(container: dict, init: bool) -> str | None:
    """'sidecar' or 'app' for the containers that run beside each other; None for a plain init container."""
    kind = states.room_kind(container, init=init)
    if kind == "init":
        return None
    return "sidecar" if kind in ("sidecar", "ambassador") else "app"


def requests_by_room(pods: Iterable[dict]) -> dict[str, dict[str, float]]:
    """{"app": {"cpu": cores, "memory": MiB}, "sidecar": {...}}: what the pods ask the floors for."""
    totals = {"app": {"cpu": 0.0, "memory": 0.0}, "sidecar": {"cpu": 0.0, "memory": 0.0}}
    for pod in pods:
        spec = pod.get("spec") or {}
        for init, containers in ((True, spec.get("initContainers") or []), (False, spec.get("containers") or [])):
            for container in containers:
                room = _room_of(container, init)
                if room is None:
                    continue  # done before the others start: it holds no room for long
                requests = (container.get("resources") or {}).get("requests") or {}
                totals[room]["cpu"] += float(states.parse_quantity(requests.get("cpu")))
                totals[room]["memory"] += float(states.parse_quantity(requests.get("memory"))) / MIB
    return totals


def usage_by_room(pod_metrics: Iterable[dict], pods: Iterable[dict]) -> dict[str, dict[str, float]]:
    """The same split of what the containers use now, from metrics.k8s.io PodMetrics items."""
    rooms: dict[tuple[str, str], str] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        name = states.name_of(pod)
        for init, containers in ((True, spec.get("initContainers") or []), (False, spec.get("containers") or [])):
            for container in containers:
                room = _room_of(container, init)
                if room:
                    rooms[(name, container.get("name", ""))] = room
    totals = {"app": {"cpu": 0.0, "memory": 0.0}, "sidecar": {"cpu": 0.0, "memory": 0.0}}
    for item in pod_metrics:
        name = states.name_of(item)
        for container in item.get("containers") or []:
            room = rooms.get((name, container.get("name", "")))
            if room is None:
                continue  # a pod we were not asked about
            usage = container.get("usage") or {}
            totals[room]["cpu"] += float(states.parse_quantity(usage.get("cpu")))
            totals[room]["memory"] += float(states.parse_quantity(usage.get("memory"))) / MIB
    return totals


def sidecar_share(split: dict[str, dict[str, float]]) -> dict[str, float]:
    """The sidecars' fraction of each resource, 0..1 (0 when nothing is requested)."""
    shares = {}
    for resource in ("cpu", "memory"):
        total = split["app"][resource] + split["sidecar"][resource]
        shares[resource] = split["sidecar"][resource] / total if total else 0.0
    return shares


# how many apartments fit

def taken_on_nodes(pods: Iterable[dict]) -> dict[str, dict[str, float]]:
    """{node: {"cpu": cores, "memory": MiB, "pods": n}} that the live pods already hold there."""
    taken: dict[str, dict[str, float]] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or states.pod_state(pod) in ("Succeeded", "Failed"):
            continue  # finished pods give their room back
        requests = states.pod_requests(pod)
        held = taken.setdefault(node, {"cpu": 0.0, "memory": 0.0, "pods": 0})
        held["cpu"] += float(requests["cpu"])
        held["memory"] += float(requests["memory"]) / MIB
        held["pods"] += 1
    return taken


def pods_that_fit(nodes: Iterable[dict], per_pod: dict[str, float], taken: dict[str, dict[str, float]] | None = None
                  ) -> tuple[int, dict[str, str]]:
    """(pods of this shape the schedulable nodes can take, {node: what runs out first}).

    `per_pod` is {"cpu": cores, "memory": MiB}; `taken` what each node already gives to other
    pods ({node: {"cpu", "memory", "pods"}}). Nodes with a NoSchedule taint (the control plane)
    or cordoned take none.
    """
    total, limits = 0, {}
    for node in nodes:
        spec = node.get("spec") or {}
        if spec.get("unschedulable") or any(t.get("effect") in ("NoSchedule", "NoExecute") for t in spec.get("taints") or []):
            continue
        name = states.name_of(node)
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        used = (taken or {}).get(name, {})
        room = {"cpu": float(states.parse_quantity(allocatable.get("cpu"))) - used.get("cpu", 0.0),
                "memory": float(states.parse_quantity(allocatable.get("memory"))) / MIB - used.get("memory", 0.0),
                "pods": float(states.parse_quantity(allocatable.get("pods"))) - used.get("pods", 0)}
        fits = {"pods": int(room["pods"])}
        for resource in ("cpu", "memory"):
            if per_pod.get(resource):
                # a small epsilon: 4 cores / 0.1 is 40 pods, not 39.99999
                fits[resource] = int(room[resource] / per_pod[resource] + 1e-9)
        first = min(fits, key=lambda r: (fits[r], r != "pods"))
        total += max(fits[first], 0)
        limits[name] = first
    return total, limits


# the calculator

def nodes_for(pods: int, pods_per_node: int = DEFAULT_PODS_PER_NODE) -> int:
    return max(1, math.ceil(pods / pods_per_node)) if pods > 0 else 0


def mesh_overhead(pods: int, pods_per_node: int = DEFAULT_PODS_PER_NODE,
                  footprints: dict[str, Footprint] | None = None) -> dict[str, dict[str, float]]:
    """{model: {"cpu": cores, "memory_gib": GiB, "proxies": n}} reserved by the mesh for `pods` pods."""
    footprints = footprints or FOOTPRINTS
    nodes = nodes_for(pods, pods_per_node)
    overhead = {}
    for model, footprint in footprints.items():
        proxies = pods if footprint.per == "pod" else nodes
        overhead[model] = {"cpu": round(proxies * footprint.cpu, 6),
                           "memory_gib": round(proxies * footprint.memory_mib / 1024, 6), "proxies": proxies}
    return overhead


def pod_counts(low: int = 10, high: int = 10_000, per_decade: int = 12) -> list[int]:
    """Pod counts spread evenly on a log scale, `low` and `high` included."""
    steps = round(math.log10(high / low) * per_decade)
    return sorted({round(low * (high / low) ** (i / steps)) for i in range(steps + 1)})


def draw_overhead(counts: list[int] | None = None, pods_per_node: int = DEFAULT_PODS_PER_NODE,
                  footprints: dict[str, Footprint] | None = None, mark: int | None = 1000) -> Figure:
    """CPU cores and memory the mesh reserves, against the number of pods (log-log), per model.

    Lines are labelled with the model's key ("sidecar", "ambient", "ebpf"); the values at `mark`
    pods are written on the lines (gids `mark:<model>:cpu|memory`).
    """
    counts = counts or pod_counts()
    footprints = footprints or FOOTPRINTS
    fig = Figure(figsize=(11, 4.6))
    cpu_axes, memory_axes = fig.subplots(1, 2)
    table = [mesh_overhead(n, pods_per_node, footprints) for n in counts]
    handles = []
    for number, (model, footprint) in enumerate(footprints.items()):
        colour = MODEL_COLOURS.get(model, "#6c757d")
        for axes, key, unit in ((cpu_axes, "cpu", "cores"), (memory_axes, "memory_gib", "GiB")):
            # dashed from the third on: two per-node agents may reserve the same memory, one line on the other
            line, = axes.plot(counts, [row[model][key] for row in table], color=colour, linewidth=2.2, label=model,
                              linestyle="--" if number >= 2 else "-",
                              drawstyle="steps-post" if footprint.per == "node" else "default")
            if axes is cpu_axes:
                handles.append(line)
            if mark:
                value = mesh_overhead(mark, pods_per_node, footprints)[model][key]
                axes.plot([mark], [value], "o", color=colour)
                axes.annotate(f"{value:g} {unit}", (mark, value), xytext=(6, -12 if model == "ebpf" else 4),
                              textcoords="offset points", fontsize=8, color=colour,
                              gid=f"mark:{model}:{'cpu' if key == 'cpu' else 'memory'}")
    for axes, ylabel, heading in ((cpu_axes, "CPU cores requested", "CPU"), (memory_axes, "memory requested (GiB)", "Memory")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("pods in the cluster")
        axes.set_ylabel(ylabel)
        axes.set_title(heading, fontsize=10)
        axes.grid(alpha=0.3, which="both")
        if mark:
            axes.axvline(mark, color="#adb5bd", linestyle=":", linewidth=1)
    cpu_axes.legend(handles, [footprint.name for footprint in footprints.values()], loc="upper left", fontsize=8)
    fig.suptitle(f"What the mesh reserves, {counts[0]:,} to {counts[-1]:,} pods ({pods_per_node} pods per node)")
    fig.tight_layout()
    return fig


# the start-order fix, in Kubernetes releases

NATIVE_SIDECAR_RELEASES = [
    ("1.28", "2023-08-15", "alpha: off unless the\nSidecarContainers gate is on"),
    ("1.29", "2023-12-13", "beta: on by default"),
    ("1.33", "2025-04-23", "stable (GA): always on"),
]


def release_of(version: str) -> str:
    """'v1.36.0' or '1.36' -> '1.36'."""
    parts = version.lstrip("v").split(".")
    return ".".join(parts[:2])


def native_sidecars_in(version: str) -> str:
    """What a cluster of this version offers: 'none', 'alpha', 'beta, on by default' or 'stable'."""
    major, minor = (int("".join(ch for ch in part if ch.isdigit()) or 0) for part in release_of(version).split(".")[:2])
    if (major, minor) >= (1, 33):
        return "stable"
    if (major, minor) >= (1, 29):
        return "beta, on by default"
    if (major, minor) == (1, 28):
        return "alpha (off unless the SidecarContainers gate is on)"
    return "none"


def draw_native_sidecar_releases(cluster_version: str | None = None) -> Figure:
    """The three releases on a time line, and where the cluster's own version stands (gid `release:<v>`)."""
    from datetime import date

    fig = Figure(figsize=(10, 2.8))
    axes = fig.add_subplot()
    points = [(date.fromisoformat(day), version, text) for version, day, text in NATIVE_SIDECAR_RELEASES]
    axes.axhline(0, color="#495057", linewidth=1.5, zorder=1)
    for index, (day, version, text) in enumerate(points):
        axes.plot([day], [0], "o", markersize=11, color="#2b9348", zorder=2, gid=f"release:{version}")
        # 1.28 and 1.29 are four months apart: their labels lean away from each other
        align = "right" if index == 0 else "left" if index == 1 else "center"
        axes.annotate(f"Kubernetes {version}\n{day:%b %Y}", (day, 0), xytext=(0, 14), textcoords="offset points",
                      ha=align, fontsize=9, fontweight="bold")
        axes.annotate(text, (day, 0), xytext=(0, -16), textcoords="offset points",
                      ha=align, va="top", fontsize=8)
    if cluster_version:
        axes.annotate(f"your cluster: {release_of(cluster_version)} ({native_sidecars_in(cluster_version)})",
                      xy=(1.0, 0.95), xycoords="axes fraction", ha="right", va="top", fontsize=9, color="#457b9d",
                      gid="cluster-version")
    first, last = points[0][0], points[-1][0]
    pad = (last - first) / 2
    axes.set_xlim(first - pad, last + pad)
    axes.set_ylim(-1, 1)
    axes.axis("off")
    fig.suptitle("Native sidecars: the start-order fix, release by release")
    return fig
