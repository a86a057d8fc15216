"""The controls: driven from code as a notebook run headless drives them."""

from __future__ import annotations

import uuid

import pytest

from k8s_course.controls import NodeOutageToggle, PodDeleteButton, ScaleSlider

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: nginx:1.27}]
"""


def replicas(cluster) -> int:
    return cluster.get("Deployment", "web")["spec"]["replicas"]


def test_setting_the_slider_scales_the_deployment_at_once(cluster):
    cluster.apply(DEPLOYMENT)
    slider = ScaleSlider(cluster, "web", min=0, max=10)
    assert slider.value == 2
    slider.value = 6
    assert replicas(cluster) == 6
    assert slider.message.startswith("✔ Deployment web asked for 6 replicas")


def test_moving_the_slider_by_hand_scales_too(cluster):
    cluster.apply(DEPLOYMENT)
    slider = ScaleSlider(cluster, "web")
    slider.slider.value = 0  # what dragging it does
    assert replicas(cluster) == 0


@pytest.mark.parametrize("bad, says", [
    (11, "✘ 11 is outside this slider's range: choose from 0 to 10"),
    (-1, "✘ -1 is outside this slider's range: choose from 0 to 10"),
    ("six", "✘ 'six' is not a whole number of replicas: choose one from 0 to 10"),
    (2.5, "✘ 2.5 is not a whole number of replicas: choose one from 0 to 10"),
    (True, "✘ True is not a whole number of replicas: choose one from 0 to 10"),
])
def test_bad_values_are_refused_in_the_widget_not_raised(cluster, bad, says):
    cluster.apply(DEPLOYMENT)
    slider = ScaleSlider(cluster, "web")
    slider.value = bad
    assert slider.message == says
    assert slider.value == 2 and replicas(cluster) == 2


def test_a_failed_scale_is_reported_and_the_slider_goes_back(cluster):
    slider = ScaleSlider(cluster, "web")  # no such Deployment
    assert slider.value == 0
    slider.value = 3
    assert slider.message.startswith('✘ could not scale web: deployments.apps "web" not found')
    assert slider.value == 0


@pytest.fixture
def core(cluster):
    from kubernetes import client

    return client.CoreV1Api(cluster.api_client)


@pytest.fixture
def floor(core):
    from kubernetes import client

    name = f"floor-{uuid.uuid4().hex[:6]}"
    core.create_node({"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    yield name
    try:
        core.delete_node(name)
    except client.ApiException:
        pass


def make_pod(core, namespace: str, name: str, node: str, ready: bool = False) -> None:
    core.create_namespaced_pod(namespace, {"metadata": {"name": name, "labels": {"app": "shop"}},
                                           "spec": {"nodeName": node,
                                                    "containers": [{"name": "app", "image": "nginx"}]}})
    if ready:
        core.patch_namespaced_pod_status(name, namespace, {"status": {
            "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})


def test_the_delete_button_burns_down_one_apartment_and_says_which(cluster, core, floor):
    make_pod(core, cluster.namespace, "shop-a", floor)
    make_pod(core, cluster.namespace, "shop-b", floor, ready=True)
    button = PodDeleteButton(cluster, "app=shop")
    assert button.click() == "shop-b"  # a ready apartment first: that is the one people notice
    assert button.message == "✔ apartment shop-b burnt down (pod deleted): watch the manager build a new one"
    pods = {p["metadata"]["name"]: p for p in cluster.pods("app=shop")}
    assert pods["shop-b"]["metadata"].get("deletionTimestamp")  # still terminating: its kubelet must confirm
    assert not pods["shop-a"]["metadata"].get("deletionTimestamp")


def test_the_delete_button_skips_pods_already_going_and_says_when_none_is_left(cluster, core, floor):
    make_pod(core, cluster.namespace, "shop-a", floor)
    button = PodDeleteButton(cluster, "app=shop")
    button.button.click()  # the ipywidgets button, as a learner clicks it
    assert button.deleted == ["shop-a"]
    assert button.click() is None
    assert button.message == "✘ no standing apartment (pod) matches app=shop: nothing to burn"


def test_the_outage_toggle_takes_a_floor_offline_and_back(cluster, monkeypatch):
    calls = []
    monkeypatch.setattr(cluster, "node_offline", lambda node: calls.append(("offline", node)))
    monkeypatch.setattr(cluster, "node_online", lambda node: calls.append(("online", node)))
    toggle = NodeOutageToggle(cluster, "worker-2")
    toggle.value = True
    assert toggle.toggle.description == "floor worker-2: OFFLINE"
    assert toggle.message.startswith("✔ floor worker-2 went dark (node offline)")
    toggle.value = False
    assert calls == [("offline", "worker-2"), ("online", "worker-2")]
    assert toggle.message == "✔ floor worker-2 is back online (node Ready again)"


def test_an_outage_that_fails_is_reported_and_the_toggle_goes_back(cluster, monkeypatch):
    def refuse(node):
        raise RuntimeError(f"the simulator refused POST /sim/v1/nodes/{node}/stop: nodes \"{node}\" not found")

    monkeypatch.setattr(cluster, "node_offline", refuse)
    toggle = NodeOutageToggle(cluster, "nowhere")
    toggle.value = True
    assert toggle.value is False
    assert toggle.message == ('✘ could not take floor nowhere offline: the simulator refused '
                              'POST /sim/v1/nodes/nowhere/stop: nodes "nowhere" not found')
