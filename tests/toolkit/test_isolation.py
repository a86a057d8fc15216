"""Two lessons on one simulator at once: each `Cluster` (its own client, its own namespace) sees,
draws, checks and cleans up only its own objects, even where both made objects of the same
names.

Two notebooks themselves cannot run at once on one cluster: each works in a fixed namespace
(00_apartment_complex in `apartment`), so a second run shares the first's objects and its
cleanup deletes them; and 00 takes a whole floor offline, which every namespace feels. In a
class, each learner has a namespace of their own instead (k8s_course.classroom).
"""

from __future__ import annotations

import uuid

import pytest

from k8s_course import backends, labs
from k8s_course.cluster import Cluster

from ..operator.support import until


def web(replicas: int) -> dict:
    labels = {"app": "web"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27-alpine"}]}}}}


def settings(colour: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"colour": colour}}


@pytest.fixture
def lessons(simulator):
    """Two lessons as two notebooks would hold them: a client each, a namespace each."""
    backend = backends.Backend("simulator", str(simulator.kubeconfig), backends.SIM_CONTEXT, "test simulator")
    made = []
    for _ in range(2):
        client = simulator.api_client()
        made.append((Cluster(backend, client, "default").use_namespace(f"lesson-{uuid.uuid4().hex[:8]}"), client))
    yield [cluster for cluster, _ in made]
    for cluster, client in made:
        if cluster.find("Namespace", cluster.namespace, namespace=None) is not None:
            cluster.delete("Namespace", cluster.namespace, namespace=None)
        client.close()


def ready(cluster: Cluster, count: int) -> bool:
    pods = [p for p in cluster.pods("app=web") if not p["metadata"].get("deletionTimestamp")]
    return len(pods) == count and all(any(c["type"] == "Ready" and c["status"] == "True"
                                          for c in p["status"].get("conditions") or []) for p in pods)


def names(objects: list[dict]) -> set[str]:
    return {obj["metadata"]["name"] for obj in objects}


@pytest.fixture
def both_running(lessons):
    first, second = lessons
    first.apply([web(2), settings("red")])
    second.apply([web(3), settings("blue")])
    until(lambda: ready(first, 2) and ready(second, 3), "both lessons' web pods to be Ready", timeout=30)
    return first, second


def test_each_lesson_sees_only_its_own_objects_of_the_same_names(both_running):
    first, second = both_running
    for cluster, replicas, colour in ((first, 2, "red"), (second, 3, "blue")):
        pods = cluster.pods()
        assert len(pods) == replicas and {p["metadata"]["namespace"] for p in pods} == {cluster.namespace}
        assert [d["spec"]["replicas"] for d in cluster.list("Deployment")] == [replicas]
        maps = {m["metadata"]["name"]: m for m in cluster.list("ConfigMap")}
        assert maps["settings"]["data"] == {"colour": colour}
        assert cluster.get("ConfigMap", "settings")["data"]["colour"] == colour
        events = cluster.events()
        assert events, "the controllers wrote events about the lesson's objects"
        assert {e["metadata"]["namespace"] for e in events} == {cluster.namespace}
        assert {e["involvedObject"]["namespace"] for e in events} == {cluster.namespace}
    assert names(first.pods()).isdisjoint(names(second.pods()))
    assert len(first.events("web")) >= 1 and all(e["involvedObject"]["namespace"] == first.namespace
                                                 for e in first.events("web"))


def test_a_building_view_draws_only_its_own_lessons_pods(both_running):
    from k8s_course.views import BuildingView

    first, second = both_running
    view = BuildingView(first, watch=True)
    try:
        def drawn() -> set[str]:
            return {patch.get_gid().split(":", 1)[1] for ax in view.figure().axes for patch in ax.patches
                    if (patch.get_gid() or "").startswith("apartment:")}

        assert drawn() == {f"{first.namespace}/{name}" for name in names(first.pods())}
        second.scale("web", 4)  # the other lesson changes: this view must not pick up its pods
        first.scale("web", 1)
        until(lambda: ready(second, 4) and ready(first, 1), "the scaling to finish", timeout=30)
        # the picture is drawn, then rendered to PNG for the widget: wait for both
        until(lambda: len(drawn()) == 1 and "1 apartments" in view.outputs[0]["data"]["text/plain"],
              "the view to redraw one apartment")
        assert drawn() == {f"{first.namespace}/{name}" for name in names(first.pods())}
    finally:
        view.stop()


def test_cleanup_of_one_lesson_leaves_the_other_untouched(both_running):
    first, second = both_running
    before = {(kind, obj["metadata"]["name"]): obj["metadata"]["uid"]
              for kind in ("Deployment", "ConfigMap", "Pod") for obj in second.list(kind)}
    first.cleanup(timeout=30)
    assert first.find("Namespace", first.namespace, namespace=None) is None
    after = {(kind, obj["metadata"]["name"]): obj["metadata"]["uid"]
             for kind in ("Deployment", "ConfigMap", "Pod") for obj in second.list(kind)}
    assert after == before
    assert not any(p["metadata"].get("deletionTimestamp") for p in second.pods())
    assert ready(second, 3)


def test_a_labs_checks_look_only_at_their_own_namespace(lessons):
    first, second = lessons
    fixed, broken = labs.start("broken-pod", first), labs.start("broken-pod", second)
    first.patch("Deployment", "menu", {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.27-alpine"}]}}}})
    first.patch("Deployment", "kitchen", {"spec": {"template": {"spec": {"containers": [
        {"name": "cook", "image": "busybox:1.36", "command": ["sleep", "infinity"],
         "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}]}}}})
    report = fixed.check()  # waits for the fixed Deployments' pods, while the other lesson's stay broken
    assert report.passed, str(report)
    other = broken.lab.check(second, wait=False)  # the first lesson's Ready pods must not count here
    assert not other.passed and other.status == "step 1 of 2 to do: the menu is served"
    assert second.get("Deployment", "menu")["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27-alpnie"
