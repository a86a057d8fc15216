"""The views: the building, the timeline and the live widgets, inspected through their artists."""

from __future__ import annotations

import threading
import time
import uuid

import matplotlib
import pytest

matplotlib.use("Agg")

from k8s_course.views import building, live, states, timeline  # noqa: E402


def gids(fig, prefix: str) -> list[str]:
    return sorted(a.get_gid() for a in fig.findobj() if (a.get_gid() or "").startswith(prefix))


def artist(fig, gid: str):
    return next(a for a in fig.findobj() if a.get_gid() == gid)


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def node(name: str, control_plane: bool = False, ready: str = "True", cpu: str = "4", memory: str = "8Gi") -> dict:
    labels = {"node-role.kubernetes.io/control-plane": ""} if control_plane else {}
    return {"metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                       "conditions": [{"type": "Ready", "status": ready}]}}


def pod(name: str, node_name: str | None = "w1", phase: str = "Running", ready: bool = True, ip: str = "10.244.1.7",
        containers=("app",), init=(), **status) -> dict:
    spec = {"containers": [{"name": c, "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}
                           for c in containers],
            "initContainers": list(init)}
    if node_name:
        spec["nodeName"] = node_name
    return {"metadata": {"name": name, "namespace": "lesson"}, "spec": spec,
            "status": {"phase": phase, "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}], **status}}


THREE_FLOORS = [node("w2"), node("cp", control_plane=True), node("w1")]
SIX_PODS = [pod(f"web-{i}", ["cp", "w1", "w2"][i % 3]) for i in range(6)]


# the building, from plain data

def test_a_three_node_cluster_with_six_pods_has_three_floors_and_six_apartments():
    fig = building.draw_building(THREE_FLOORS, SIX_PODS)
    assert gids(fig, "floor:") == ["floor:cp", "floor:w1", "floor:w2"]
    assert gids(fig, "apartment:") == [f"apartment:lesson/web-{i}" for i in range(6)]
    assert gids(fig, "lobby") == []
    assert "The building: 3 floors (nodes), 6 apartments (pods), 6 ready" in texts(fig)


def test_the_control_plane_is_the_top_floor_and_workers_follow_by_name():
    fig = building.draw_building(THREE_FLOORS, SIX_PODS)
    tops = {name: artist(fig, f"floor:{name}").get_y() for name in ("cp", "w1", "w2")}
    assert sorted(tops, key=tops.get) == ["cp", "w1", "w2"]  # y grows downwards
    apartment_y = artist(fig, "apartment:lesson/web-1").get_y()
    assert tops["w1"] < apartment_y < tops["w2"]  # web-1 lives on w1


def test_each_apartment_is_painted_by_its_state():
    pods = [
        pod("ready"),
        pod("starting", ready=False),
        pod("waiting", phase="Pending", ready=False, ip=None),
        pod("done", phase="Succeeded", ready=False),
        pod("broken", phase="Failed", ready=False),
        dict(pod("leaving"), metadata={"name": "leaving", "namespace": "lesson",
                                      "deletionTimestamp": "2026-01-01T00:00:00Z"}),
        pod("crashing", ready=False, containerStatuses=[
            {"name": "app", "ready": False, "restartCount": 4,
             "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]),
    ]
    fig = building.draw_building([node("w1")], pods)
    expected = {"ready": "Ready", "starting": "Running", "waiting": "Pending", "done": "Succeeded",
                "broken": "Failed", "leaving": "Terminating", "crashing": "Trouble"}
    for name, state in expected.items():
        colour = matplotlib.colors.to_hex(artist(fig, f"apartment:lesson/{name}").get_facecolor())
        assert colour == states.STATES[state][1], name
    assert artist(fig, "apartment:lesson/leaving").get_linestyle() == "--"
    assert {"CrashLoopBackOff", "Terminating", "Completed", "no address yet"} <= set(texts(fig))


def test_pods_without_a_floor_wait_in_the_lobby_with_the_schedulers_reason():
    lost = pod("big", node_name=None, phase="Pending", ready=False, ip=None)
    lost["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                     "message": "0/3 nodes are available: 3 Insufficient cpu."}]
    fig = building.draw_building(THREE_FLOORS, SIX_PODS + [lost])
    lobby, apartment = artist(fig, "lobby"), artist(fig, "apartment:lesson/big")
    assert lobby.get_y() < apartment.get_y() < lobby.get_y() + lobby.get_height()
    assert artist(fig, "floor:w2").get_y() < lobby.get_y()  # the lobby is the ground floor
    assert states.pod_reason(lost) == "Pending: 0/3 nodes are available: 3 Insufficient cpu."


def test_floors_that_are_not_ready_are_greyed_and_say_why():
    nodes = [node("cp", control_plane=True), node("w1", ready="False"), node("w2", ready="Unknown")]
    fig = building.draw_building(nodes, [])
    colours = {n: matplotlib.colors.to_hex(artist(fig, f"floor:{n}").get_facecolor()) for n in ("cp", "w1", "w2")}
    assert colours == {"cp": building.FLOOR_COLOURS["Ready"], "w1": building.FLOOR_COLOURS["NotReady"],
                       "w2": building.FLOOR_COLOURS["Unreachable"]}
    assert gids(fig, "floor-status:") == ["floor-status:w1", "floor-status:w2"]
    assert artist(fig, "floor-status:w1").get_text() == "NotReady"
    assert artist(fig, "floor-status:w2").get_text() == "Unreachable"


def test_a_pod_on_a_node_that_is_not_listed_gets_an_unreachable_floor():
    fig = building.draw_building([node("w1")], [pod("orphan", node_name="gone")])
    assert gids(fig, "floor:") == ["floor:gone", "floor:w1"]
    assert artist(fig, "floor-status:gone").get_text() == "Unreachable"


def test_the_load_bar_shows_requests_against_allocatable():
    pods = [pod("a"), pod("b"), pod("finished", phase="Succeeded", ready=False)]  # 2 x 500m of 4 CPUs
    fig = building.draw_building([node("w1", cpu="4", memory="1Gi")], pods)
    full = 12.0  # the bar's whole width
    assert artist(fig, "usage:w1:cpu").get_width() == pytest.approx(full * 0.25)
    assert artist(fig, "usage:w1:memory").get_width() == pytest.approx(full * 0.5)  # 2 x 256Mi of 1Gi


def test_containers_are_rooms_and_sidecars_are_utility_rooms():
    native_sidecar = {"name": "log-agent", "restartPolicy": "Always"}
    waiting_for_db = {"name": "wait-for-db"}
    finished_setup = {"name": "setup"}
    p = pod("shop", containers=("app", "istio-proxy", "db-ambassador"), init=(native_sidecar, waiting_for_db,
                                                                              finished_setup),
            phase="Pending", ready=False,
            initContainerStatuses=[{"name": "setup", "state": {"terminated": {"exitCode": 0}}},
                                   {"name": "wait-for-db", "state": {"running": {}}}])
    fig = building.draw_building([node("w1")], [p])
    assert gids(fig, "room:") == ["room:ambassador:shop/db-ambassador", "room:init:shop/wait-for-db",
                                  "room:main:shop/app", "room:sidecar:shop/istio-proxy",
                                  "room:sidecar:shop/log-agent"]
    assert states.pod_reason(p) == "Init:1/2"


def test_the_legend_explains_every_colour():
    fig = building.draw_building(THREE_FLOORS, SIX_PODS)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:7] == [text for text, _ in states.STATES.values()]
    assert "utility room (sidecar)" in labels and "lobby (unscheduled)" in labels


def test_sixty_pods_stay_readable_with_shortened_names(tmp_path):
    pods = [pod(f"web-deployment-7d9f8c6b5-{i:05d}", ["cp", "w1", "w2"][i % 3]) for i in range(60)]
    fig = building.draw_building(THREE_FLOORS, pods)
    assert len(gids(fig, "apartment:")) == 60
    width, height = fig.get_size_inches()
    assert width == 12 and height < 14
    names = [t for t in texts(fig) if t.startswith("web-")]
    assert len(names) == 60 and all("…" in n and len(n) < 20 for n in names)
    assert "web-dep…-00042" in names  # the tail that tells replicas apart is kept
    path = building.render_png(fig, tmp_path / "building.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_empty_cluster_is_an_empty_lot():
    fig = building.draw_building([], [])
    assert gids(fig, "floor:") == [] and gids(fig, "empty") == ["empty"]


def test_quantities_read_like_kubernetes():
    assert [float(states.parse_quantity(q)) for q in ("250m", "2", "1Gi", "128Mi", "1k", "")] == [
        0.25, 2.0, 2**30, 128 * 2**20, 1000.0, 0.0]


# the timeline

SAMPLES = [{"t": 0, "desired": 3, "ready": 0, "phases": {"Pending": 3}},
           {"t": 1, "desired": 3, "ready": 1, "phases": {"Pending": 2, "Ready": 1}},
           {"t": 2, "desired": 6, "ready": 3, "phases": {"Ready": 3, "Pending": 3}}]


def test_the_timeline_draws_desired_and_ready_and_the_pod_states():
    fig = timeline.draw_timeline(SAMPLES)
    top, bottom = fig.axes
    lines = {line.get_label(): list(line.get_ydata()) for line in top.get_lines()}
    assert lines == {"desired": [3, 3, 6], "ready": [0, 1, 3]}
    assert [c.get_label() for c in bottom.collections] == ["Pending", "Ready"]


def test_a_sample_counts_pods_by_state():
    deployment = {"spec": {"replicas": 3}, "status": {"readyReplicas": 1}}
    sample = timeline.sample_of(deployment, [pod("a"), pod("b", ready=False), pod("c", phase="Pending")], 4.5)
    assert sample == {"t": 4.5, "desired": 3, "ready": 1, "phases": {"Ready": 1, "Running": 1, "Pending": 1}}
    assert timeline.sample_of(None, [], 5)["desired"] == 0


def test_a_deployments_selector_becomes_a_label_selector():
    deployment = {"spec": {"selector": {"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["front", "edge"]},
        {"key": "canary", "operator": "DoesNotExist"}]}}}
    assert timeline.selector_of(deployment) == "app=web,tier in (front,edge),!canary"


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: nginx:1.27}]
"""


@pytest.fixture
def core(cluster):
    from kubernetes import client

    return client.CoreV1Api(cluster.api_client)


@pytest.fixture
def floors(core):
    """Two worker nodes of this test's own (nodes belong to the whole cluster), removed after."""
    from kubernetes import client

    names = [f"floor-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for name in names:
        core.create_node(node(name))
    yield names
    for name in names:
        try:
            core.delete_node(name)
        except client.ApiException:
            pass


def make_pod(core, namespace: str, name: str, node_name: str, labels=None, ready: bool = False) -> None:
    core.create_namespaced_pod(namespace, {"metadata": {"name": name, "labels": labels or {"app": "web"}},
                                           "spec": {"nodeName": node_name,
                                                    "containers": [{"name": "app", "image": "nginx"}]}})
    if ready:
        core.patch_namespaced_pod_status(name, namespace, {"status": {
            "phase": "Running", "podIP": "10.244.0.9", "conditions": [{"type": "Ready", "status": "True"}]}})


class StubCluster:
    """Just what a Recorder reads, with answers fixed in advance."""

    def __init__(self, deployment, pods):
        self.deployment, self.all_pods, self.asked = deployment, pods, []

    def find(self, kind, name, namespace=""):
        return self.deployment if (kind, name) == ("Deployment", "web") else None

    def pods(self, selector=None, namespace=""):
        self.asked.append(selector)
        return self.all_pods


def test_the_recorder_samples_a_deployment_and_the_pods_it_selects():
    import yaml

    deployment = dict(yaml.safe_load(DEPLOYMENT), status={"readyReplicas": 1})
    stub = StubCluster(deployment, [pod("web-a"), pod("web-b", phase="Pending", ready=False)])
    ticks = iter([100.0, 102.5])
    recorder = timeline.Recorder(stub, "web", clock=lambda: next(ticks))
    assert recorder.sample() == {"t": 2.5, "desired": 3, "ready": 1, "phases": {"Ready": 1, "Pending": 1}}
    assert stub.asked == ["app=web"]
    assert "deployment web: desired and ready" in texts(recorder.figure())


def test_the_recorder_records_on_its_own_thread_until_stopped(cluster):
    cluster.apply(DEPLOYMENT)
    recorder = timeline.Recorder(cluster, "web", interval=0.05).start()
    cluster.wait_for(lambda: len(recorder.samples) >= 3, 10, "three samples")
    samples = recorder.stop()
    count = len(samples)
    assert all(s["desired"] == 3 for s in samples) and recorder.error is None
    assert not any(t.name == "recorder-web" for t in threading.enumerate())
    assert len(recorder.samples) == count


# live views

def test_the_building_view_draws_the_cluster_it_watches(cluster, core, floors):
    make_pod(core, cluster.namespace, "web-a", floors[0], ready=True)
    make_pod(core, cluster.namespace, "web-b", floors[1])
    view = live.BuildingView(cluster, watch=False)
    fig = view.figure()
    assert {f"floor:{n}" for n in floors} <= set(gids(fig, "floor:"))
    assert gids(fig, "apartment:") == [f"apartment:{cluster.namespace}/web-a", f"apartment:{cluster.namespace}/web-b"]
    assert view.outputs[0]["data"]["image/png"]  # what Jupyter shows
    make_pod(core, cluster.namespace, "web-c", floors[1])
    assert len(gids(view.refresh(), "apartment:")) == 3 and view.figure() is not fig


def test_the_building_view_follows_changes_and_redraws_at_most_four_times_a_second(cluster, core, floors):
    view = live.BuildingView(cluster, selector="app=web")
    try:
        began, before = time.monotonic(), view.redraws
        for i in range(12):
            make_pod(core, cluster.namespace, f"web-{i}", floors[i % 2])
        make_pod(core, cluster.namespace, "not-web", floors[0], labels={"app": "db"})
        cluster.wait_for(lambda: len(gids(view.figure(), "apartment:")) == 12, 10, "the view to show 12 pods")
        elapsed = time.monotonic() - began
        assert view.redraws - before <= elapsed * 4 + 2
    finally:
        view.stop()
    assert view.error is None
    assert not any(t.name.startswith("building-") and t.is_alive() for t in threading.enumerate())


def test_events_become_an_html_table_with_warnings_in_red():
    events = [{"type": "Normal", "reason": "Scheduled", "message": "assigned web-a to w1",
               "involvedObject": {"kind": "Pod", "name": "web-a"}, "lastTimestamp": "2026-01-01T00:00:01Z"},
              {"type": "Warning", "reason": "BackOff", "message": "Back-off <restarting> container",
               "involvedObject": {"kind": "Pod", "name": "web-b"}, "lastTimestamp": "2026-01-01T00:00:02Z"}]
    table = live.events_html(events)
    assert table.count("<tr") == 3 and "<td>Pod/web-a</td>" in table
    assert '<tr style="color:#c1121f"><td>2026-01-01T00:00:02Z</td><td>Warning</td><td>BackOff</td>' in table
    assert "Back-off &lt;restarting&gt; container" in table
    assert live.events_html(events, limit=1).count("<tr") == 2
    assert "no events yet" in live.events_html([])


def test_the_events_table_reads_the_lessons_events(cluster, core):
    core.create_namespaced_event(cluster.namespace, {
        "metadata": {"name": "web-a.1"}, "involvedObject": {"kind": "Pod", "name": "web-a",
                                                           "namespace": cluster.namespace},
        "reason": "Pulled", "message": "image pulled", "type": "Normal", "lastTimestamp": "2026-01-01T00:00:00Z"})
    assert "<td>Pulled</td>" in live.events_table(cluster, "web-a").data
    assert "no events yet" in live.events_table(cluster, "web-z").data


def test_a_log_tail_keeps_the_last_lines():
    tail = live.LogTail(cluster=type("Nowhere", (), {"namespace": "x"})(), pod="web-a", follow=False, max_lines=3)
    tail.feed("one\ntwo\n")
    tail.feed("three\nfour\n")
    assert tail.lines == ["two", "three", "four"]
    assert tail.outputs[0]["text"] == "two\nthree\nfour\n"


def test_a_log_tail_that_cannot_follow_says_why(cluster):
    tail = live.LogTail(cluster, pod="no-such-pod")
    cluster.wait_for(lambda: tail.lines, 10, "the log tail to answer")
    tail.stop()
    assert tail.lines[0].startswith("[cannot follow the logs of no-such-pod:")
