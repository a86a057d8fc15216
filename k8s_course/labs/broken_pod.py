"""Lab: diagnose two broken Deployments from their events, and fix them (chapter 0).

`menu` asks for an image tag that does not exist (ErrImagePull, then ImagePullBackOff);
`kitchen` asks for more memory than any floor has (Pending, FailedScheduling). The events say
both; the learner reads them and fixes the Deployments, not the pods.
"""

from __future__ import annotations

from ..views import states
from .lab import Lab, Step, failed, passed, settle

BROKEN_IMAGE = "nginx:1.27-alpnie"  # one transposed letter, as in real life
GOOD_IMAGE = "nginx:1.27-alpine"


def _deployment(name: str, container: dict, replicas: int) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


def prepare(cluster) -> None:
    """The two broken Deployments; left alone if the learner already changed them."""
    wanted = [
        _deployment("menu", {"name": "web", "image": BROKEN_IMAGE, "ports": [{"containerPort": 80}]}, 2),
        _deployment("kitchen", {"name": "cook", "image": "busybox:1.36", "command": ["sleep", "infinity"],
                                "resources": {"requests": {"cpu": "50m", "memory": "200Gi"}}}, 1),
    ]
    for deployment in wanted:
        if cluster.find("Deployment", deployment["metadata"]["name"]) is None:
            cluster.apply(deployment)


def _pods_ready(cluster, name: str, wanted: int, timeout: float) -> tuple[bool, list[dict]]:
    def look():
        pods = [p for p in cluster.pods(f"app={name}") if not states.is_terminating(p)]
        ready = [p for p in pods if states.is_ready(p)]
        return len(ready) >= wanted and len(pods) == len(ready)

    return settle(cluster, look, timeout, f"the {name} pods to be Ready"), [p for p in cluster.pods(f"app={name}") if not states.is_terminating(p)]


def menu_serves(cluster):
    deployment = cluster.find("Deployment", "menu")
    if deployment is None:
        raise failed("menu", "there is no Deployment `menu`", "run lab.prepare() to create the lab's start")
    image = deployment["spec"]["template"]["spec"]["containers"][0].get("image", "")
    fixed = image != BROKEN_IMAGE
    ok, pods = _pods_ready(cluster, "menu", 2, timeout=60 if fixed else 3)
    if ok:
        return passed("menu", f"menu: 2 pods Ready with image {image}")
    reasons = sorted({states.pod_reason(p) for p in pods}) or ["no pods"]
    raise failed("menu", f"menu is not serving: its pods are {', '.join(reasons)}",
                 "Ask the pods what went wrong: cluster.events() lists the namespace's events "
                 "(or: kubectl describe pod -l app=menu).",
                 "The events say the kubelet cannot pull the image. Read the image name in the "
                 "Deployment letter by letter.",
                 f"Fix the Deployment, not the pods: kubectl -n {cluster.namespace} set image "
                 f"deployment/menu web={GOOD_IMAGE}")


def kitchen_scheduled(cluster):
    deployment = cluster.find("Deployment", "kitchen")
    if deployment is None:
        raise failed("kitchen", "there is no Deployment `kitchen`", "run lab.prepare() to create the lab's start")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    asked = ((container.get("resources") or {}).get("requests") or {}).get("memory", "0")
    fits = states.parse_quantity(asked) <= max(
        states.parse_quantity((n.get("status") or {}).get("allocatable", {}).get("memory", "0"))
        for n in cluster.nodes())
    ok, pods = _pods_ready(cluster, "kitchen", 1, timeout=60 if fits else 3)
    if ok:
        return passed("kitchen", "kitchen: its pod found a floor and is Ready")
    waiting = [states.unscheduled_message(p) for p in pods if not p["spec"].get("nodeName")]
    detail = f": {waiting[0]}" if waiting and waiting[0] else ""
    raise failed("kitchen", f"kitchen's pod is not running{detail}",
                 "A Pending pod has not found a floor yet. Ask the scheduler why: cluster.events().",
                 "FailedScheduling says 'Insufficient memory': the pod asks for more memory than "
                 "any node has free. Look at resources.requests in the Deployment.",
                 f"Lower the request: kubectl -n {cluster.namespace} set resources deployment/kitchen "
                 "-c cook --requests=memory=64Mi")


LAB = Lab(
    name="broken-pod",
    title="Read the events: two broken Deployments",
    chapter="00_apartment_complex.ipynb",
    minutes=15,
    summary="diagnose ImagePullBackOff and FailedScheduling from events, fix the Deployments",
    prepare=prepare,
    steps=(Step("the menu is served", menu_serves), Step("the kitchen found a floor", kitchen_scheduled)),
)
