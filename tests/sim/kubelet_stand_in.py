"""What a kubelet and the scheduler would write, done by hand in controller tests.

Controller tests run without a scheduler or kubelets: these helpers bind pods and patch their
status the way those components would, so a test decides exactly when each pod runs or is ready.
"""

from __future__ import annotations

from k8s_course.sim import binding
from tests.sim.harness import Harness


def run_pod(h: Harness, name: str, ready: bool = True, ip: str | None = None, node: str | None = None,
            namespace: str = "default") -> dict:
    """Mark a pod Running (bound to `node` if given) with its Ready condition as asked."""
    pod = h.get("v1", "Pod", name, namespace)
    if node and not pod["spec"].get("nodeName"):
        binding.bind(h.objects, namespace, name, node)
        pod = h.get("v1", "Pod", name, namespace)
    now = h.clock.timestamp()
    ready_text = "True" if ready else "False"
    conditions = [
        {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
        {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
        {"type": "Ready", "status": ready_text, "lastProbeTime": None, "lastTransitionTime": now},
        {"type": "ContainersReady", "status": ready_text, "lastProbeTime": None, "lastTransitionTime": now},
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
    ]
    containers = [{"name": c["name"], "image": c["image"], "ready": ready, "restartCount": 0,
                   "started": True, "state": {"running": {"startedAt": now}}}
                  for c in pod["spec"]["containers"]]
    status = {"phase": "Running", "conditions": conditions, "containerStatuses": containers,
              "startTime": now}
    if ip:
        status.update(podIP=ip, podIPs=[{"ip": ip}])
    return h.patch("v1", "Pod", name, {"status": status}, namespace, subresource="status")


def set_ready(h: Harness, name: str, ready: bool, namespace: str = "default") -> dict:
    """Flip a running pod's readiness (a readiness probe passing or failing)."""
    pod = h.get("v1", "Pod", name, namespace)
    now = h.clock.timestamp()
    text = "True" if ready else "False"
    conditions = [dict(c, status=text, lastTransitionTime=now) if c["type"] in ("Ready", "ContainersReady")
                  else c for c in pod["status"]["conditions"]]
    containers = [dict(c, ready=ready) for c in pod["status"].get("containerStatuses", [])]
    return h.patch("v1", "Pod", name, {"status": {"conditions": conditions, "containerStatuses": containers}},
                   namespace, subresource="status")


def fail_pod(h: Harness, name: str, namespace: str = "default") -> dict:
    return h.patch("v1", "Pod", name, {"status": {"phase": "Failed", "reason": "Evicted"}}, namespace,
                   subresource="status")


def pod_names(h: Harness, namespace: str = "default", alive: bool = True) -> list[str]:
    """Names of the pods; `alive` leaves out terminating ones."""
    return sorted(p["metadata"]["name"] for p in h.list("v1", "Pod", namespace)
                  if not (alive and p["metadata"].get("deletionTimestamp")))
