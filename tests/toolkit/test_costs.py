"""What the patterns cost: the namespace's split, how many pods fit, the calculator and its figures."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

from k8s_course.views import costs  # noqa: E402


def container(name: str, cpu: str, memory: str, **extra) -> dict:
    return {"name": name, "resources": {"requests": {"cpu": cpu, "memory": memory}}, **extra}


def meshed_pod(name: str) -> dict:
    return {"metadata": {"name": name},
            "spec": {"initContainers": [container("istio-init", "10m", "10Mi")],
                     "containers": [container("app", "50m", "64Mi"), container("istio-proxy", "100m", "128Mi")]}}


def node(name: str, cpu="4", memory="8092Mi", pods="110", taints=(), unschedulable=False) -> dict:
    return {"metadata": {"name": name}, "spec": {"taints": list(taints), "unschedulable": unschedulable},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}


KIND_SHAPE = [node("cp", taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
              node("w1"), node("w2")]


def test_a_namespaces_requests_split_into_app_and_sidecar_rooms_without_the_plain_init_container():
    split = costs.requests_by_room([meshed_pod("shop-1"), meshed_pod("shop-2")])
    assert split == {"app": {"cpu": 0.1, "memory": 128.0}, "sidecar": {"cpu": 0.2, "memory": 256.0}}
    assert costs.sidecar_share(split) == {"cpu": pytest.approx(2 / 3), "memory": pytest.approx(2 / 3)}


def test_a_native_sidecar_counts_as_a_sidecar():
    pod = {"metadata": {"name": "p"},
           "spec": {"initContainers": [container("proxy", "100m", "128Mi", restartPolicy="Always")],
                    "containers": [container("web", "200m", "256Mi")]}}
    assert costs.requests_by_room([pod]) == {"app": {"cpu": 0.2, "memory": 256.0},
                                            "sidecar": {"cpu": 0.1, "memory": 128.0}}


def test_usage_from_pod_metrics_is_split_the_same_way_and_other_pods_are_ignored():
    metrics = [{"metadata": {"name": "shop-1"},
                "containers": [{"name": "app", "usage": {"cpu": "3000000n", "memory": "10Mi"}},
                               {"name": "istio-proxy", "usage": {"cpu": "2m", "memory": "20Mi"}}]},
               {"metadata": {"name": "stranger"}, "containers": [{"name": "app", "usage": {"cpu": "1", "memory": "1Gi"}}]}]
    assert costs.usage_by_room(metrics, [meshed_pod("shop-1")]) == {
        "app": {"cpu": pytest.approx(0.003), "memory": 10.0}, "sidecar": {"cpu": pytest.approx(0.002), "memory": 20.0}}


def test_with_the_sidecar_52_pods_fit_on_two_kind_workers_and_cpu_runs_out_first():
    fits, limits = costs.pods_that_fit(KIND_SHAPE, {"cpu": 0.15, "memory": 192})
    assert fits == 52  # 4 cores / 150m = 26 per worker; the tainted control plane takes none
    assert limits == {"w1": "cpu", "w2": "cpu"}


def test_without_the_sidecar_160_fit_and_tiny_pods_hit_the_kubelets_pod_limit():
    assert costs.pods_that_fit(KIND_SHAPE, {"cpu": 0.05, "memory": 64}) == (160, {"w1": "cpu", "w2": "cpu"})
    assert costs.pods_that_fit(KIND_SHAPE, {"cpu": 0.01, "memory": 16}) == (220, {"w1": "pods", "w2": "pods"})


def test_pods_already_on_a_node_and_cordoned_nodes_leave_less_room():
    fits, _ = costs.pods_that_fit([node("w1"), node("w2", unschedulable=True)], {"cpu": 0.1, "memory": 128},
                                  taken={"w1": {"cpu": 1.0, "memory": 0.0, "pods": 5}})
    assert fits == 30


def test_the_calculator_gives_istios_figures_for_a_thousand_pods():
    overhead = costs.mesh_overhead(1000, pods_per_node=30)
    assert overhead["sidecar"] == {"cpu": 100.0, "memory_gib": 125.0, "proxies": 1000}
    assert overhead["ambient"] == {"cpu": 6.8, "memory_gib": 17.0, "proxies": 34}
    assert overhead["ebpf"] == {"cpu": 3.4, "memory_gib": 17.0, "proxies": 34}


def test_the_calculator_counts_nodes_by_rounding_up():
    assert [costs.nodes_for(n, 30) for n in (0, 1, 30, 31, 10_000)] == [0, 1, 1, 2, 334]


def test_pod_counts_run_from_10_to_10_000_on_a_log_scale():
    counts = costs.pod_counts()
    assert counts[0] == 10 and counts[-1] == 10_000 and 1000 in counts
    assert counts == sorted(set(counts))


def test_the_overhead_figure_draws_one_line_per_model_on_log_axes_and_marks_1000_pods():
    fig = costs.draw_overhead(costs.pod_counts())
    cpu_axes, memory_axes = fig.axes
    lines = {line.get_label(): line for line in cpu_axes.get_lines() if line.get_label() in costs.FOOTPRINTS}
    assert set(lines) == {"sidecar", "ambient", "ebpf"}
    assert list(lines["sidecar"].get_ydata())[0] == pytest.approx(1.0)  # 10 pods x 100m
    assert list(lines["sidecar"].get_ydata())[-1] == pytest.approx(1000.0)
    assert cpu_axes.get_xscale() == "log" and memory_axes.get_yscale() == "log"
    marks = {a.get_gid(): a.get_text() for a in fig.findobj() if (a.get_gid() or "").startswith("mark:")}
    assert marks["mark:sidecar:cpu"] == "100 cores" and marks["mark:sidecar:memory"] == "125 GiB"
    assert marks["mark:ambient:cpu"] == "6.8 cores"
    assert [t.get_text() for t in cpu_axes.get_legend().get_texts()] == [f.name for f in costs.FOOTPRINTS.values()]


def test_native_sidecars_by_release():
    assert costs.native_sidecars_in("v1.27.3") == "none"
    assert costs.native_sidecars_in("1.28") == "alpha (off unless the SidecarContainers gate is on)"
    assert costs.native_sidecars_in("v1.29.0") == "beta, on by default"
    assert costs.native_sidecars_in("v1.36.0") == "stable"
    assert costs.release_of("v1.36.0+k3s1") == "1.36"


def test_the_release_figure_marks_the_three_releases_and_the_clusters_version():
    fig = costs.draw_native_sidecar_releases("v1.36.0")
    gids = sorted(a.get_gid() for a in fig.findobj() if (a.get_gid() or "").startswith("release:"))
    assert gids == ["release:1.28", "release:1.29", "release:1.33"]
    assert next(a for a in fig.findobj() if a.get_gid() == "cluster-version").get_text() == "your cluster: 1.36 (stable)"


def test_what_running_pods_hold_is_summed_per_node_and_finished_or_unplaced_pods_hold_nothing():
    placed = dict(meshed_pod("a"), spec=dict(meshed_pod("a")["spec"], nodeName="w1"), status={"phase": "Running"})
    done = dict(placed, status={"phase": "Succeeded"})
    waiting = meshed_pod("b")
    assert costs.taken_on_nodes([placed, placed, done, waiting]) == {
        "w1": {"cpu": pytest.approx(0.3), "memory": 384.0, "pods": 2}}
