"""Chapter 0's scenario driven from code: scale with the slider, burn an apartment, lose a floor.

The same scenario runs on the simulator (fast clock) and, where one answers, on kind.
"""

from __future__ import annotations

import os
import uuid

import pytest

from k8s_course import backends, checks
from k8s_course.cluster import Cluster
from k8s_course.controls import NodeOutageToggle, PodDeleteButton, ScaleSlider
from k8s_course.sim import Simulator
from k8s_course.views import draw_building

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: nginx:1.27
          readinessProbe:
            httpGet: {path: /, port: 80}
            periodSeconds: 2
"""


def scenario(cluster: Cluster, worker: str, outage_timeout: float) -> None:
    cluster.apply(WEB)
    checks.pods_ready(cluster, "app=web", 3, timeout=60)

    slider = ScaleSlider(cluster, "web", min=0, max=10)
    slider.value = 6
    checks.pods_ready(cluster, "app=web", 6, timeout=60)
    slider.value = 11  # refused, with a message rather than an exception
    assert "outside this slider's range" in slider.message
    assert cluster.get("Deployment", "web")["spec"]["replicas"] == 6

    figure = draw_building(cluster.nodes(), cluster.pods("app=web"))
    gids = [artist.get_gid() or "" for artist in figure.findobj()]
    assert len([g for g in gids if g.startswith("floor:")]) == 3
    assert len([g for g in gids if g.startswith("apartment:")]) == 6

    burned = PodDeleteButton(cluster, "app=web").click()
    checks.pod_replaced(cluster, burned, "app=web", timeout=60)
    checks.pods_ready(cluster, "app=web", 6, timeout=60)

    outage = NodeOutageToggle(cluster, worker)
    outage.value = True
    try:
        checks.no_pods_on_node(cluster, worker, "app=web", timeout=outage_timeout)
        checks.pods_ready(cluster, "app=web", 6, timeout=120)
    finally:
        outage.value = False


def test_the_apartment_scenario_on_the_simulator():
    with Simulator(speed=50) as sim, sim.api_client() as api:
        backend = backends.Backend("simulator", str(sim.kubeconfig), backends.SIM_CONTEXT, "test simulator")
        cluster = Cluster(backend, api).use_namespace("apartment-test")
        scenario(cluster, "k8s-course-worker2", outage_timeout=60)
        cluster.cleanup(timeout=60)


@pytest.mark.kind
def test_the_apartment_scenario_on_kind():
    found = backends.kind_cluster()
    if found is None:
        pytest.skip("no kind cluster named k8s-course answers here")
    from kubernetes import config

    api = config.new_client_from_config(config_file=found.kubeconfig, context=found.context)
    cluster = Cluster(found, api).use_namespace(f"apartment-{uuid.uuid4().hex[:6]}")
    try:
        scenario(cluster, os.environ.get("K8S_COURSE_KIND_WORKER", "k8s-course-worker2"), outage_timeout=420)
    finally:
        cluster.cleanup(timeout=300)
        api.close()
