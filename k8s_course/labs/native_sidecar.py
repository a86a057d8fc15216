"""Lab: turn a crash-looping classic sidecar into a native one (chapter 1).

The start: a Deployment `gateway` whose app needs its proxy at start, but the proxy takes 20 s
to listen; as two ordinary containers they start together and the app crash-loops. The fix has
two parts, and the check insists on both: the proxy becomes an init container with
`restartPolicy: Always` (a native sidecar), and it gets a startupProbe, because the kubelet
starts the next container as soon as a native sidecar has *started*, which without a probe
means as soon as its process runs.

Both programs are the course's (k8s_course/workloads/needs_proxy.py and slow_proxy.py), run by
the stock python image from the ConfigMap `sidecar-programs`, as in chapter 1.
"""

from __future__ import annotations

from ..views import states
from ..workloads import program_source
from .lab import Lab, Step, failed, passed, settle

PROXY_PORT = "15001"
PROGRAMS = {"name": "programs", "mountPath": "/app", "readOnly": True}
APP = {"name": "app", "image": "python:3.11-slim", "command": ["python", "/app/needs_proxy.py"],
       "env": [{"name": "PROXY_PORT", "value": PROXY_PORT}], "volumeMounts": [PROGRAMS]}
PROXY = {"name": "proxy", "image": "python:3.11-slim", "command": ["python", "/app/slow_proxy.py"],
         "env": [{"name": "PORT", "value": PROXY_PORT}, {"name": "START_DELAY", "value": "20"}],
         "volumeMounts": [PROGRAMS]}


def gateway_deployment() -> dict:
    labels = {"app": "gateway"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gateway"},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [APP, PROXY],
                                           "volumes": [{"name": "programs",
                                                        "configMap": {"name": "sidecar-programs"}}]}}}}


def prepare(cluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sidecar-programs"},
                   "data": {f"{name}.py": program_source(name) for name in ("needs_proxy", "slow_proxy")}})
    if cluster.find("Deployment", "gateway") is None:
        cluster.apply(gateway_deployment())


def _spec(cluster) -> dict:
    deployment = cluster.find("Deployment", "gateway")
    if deployment is None:
        raise failed("native", "there is no Deployment `gateway`", "run lab.prepare() to create the lab's start")
    return deployment["spec"]["template"]["spec"]


def _native_proxy(spec: dict) -> dict | None:
    return next((c for c in spec.get("initContainers") or []
                 if c.get("name") == "proxy" and c.get("restartPolicy") == "Always"), None)


def proxy_is_native(cluster):
    spec = _spec(cluster)
    if _native_proxy(spec) is not None:
        return passed("native", "the proxy is an init container with restartPolicy: Always")
    in_containers = any(c.get("name") == "proxy" for c in spec.get("containers") or [])
    where = "still an ordinary container" if in_containers else "not a native sidecar"
    raise failed("native", f"the proxy is {where}, so it races the app at start",
                 "Kubernetes 1.29+ has a way to say 'start this helper first and keep it running': "
                 "look at the start-order section of chapter 1.",
                 "Move the proxy from spec.template.spec.containers to initContainers and give it "
                 "restartPolicy: Always.",
                 "initContainers: [{name: proxy, image: python:3.11-slim, command: [python, "
                 "/app/slow_proxy.py], restartPolicy: Always, env and volumeMounts as before}] and "
                 "containers: [the app only].")


def proxy_has_startup_probe(cluster):
    proxy = _native_proxy(_spec(cluster)) or {}
    probe = proxy.get("startupProbe") or {}
    if probe.get("tcpSocket") or probe.get("httpGet") or probe.get("exec"):
        return passed("startup", "the proxy has a startupProbe: the app starts after it answers")
    raise failed("startup", "the proxy has no startupProbe, so the app starts the moment the proxy's "
                 "process starts, 20 s before it listens",
                 "When is a native sidecar 'started', for the kubelet? Look at what the native pod in "
                 "k8s_course/manifests/01-start-order.yaml has that yours lacks.",
                 f"Give the proxy a startupProbe that succeeds once port {PROXY_PORT} accepts connections.",
                 f"startupProbe: {{tcpSocket: {{port: {PROXY_PORT}}}, periodSeconds: 1, failureThreshold: 60}}")


def app_never_restarts(cluster):
    def steady():
        pods = [p for p in cluster.pods("app=gateway") if not states.is_terminating(p)]
        if len(pods) != 1 or not states.is_ready(pods[0]) or _native_proxy(pods[0]["spec"]) is None:
            return None
        return pods[0]

    if not settle(cluster, steady, 120, "the new gateway pod to be Ready"):
        raise failed("restarts", "the gateway's new pod is not Ready yet",
                     "Give the rollout time; cluster.events() shows what the new pod does.",
                     "cluster.logs(<gateway pod>, container='app', previous=True) says why the app stopped.",
                     "Check the startupProbe's port: it must be the proxy's PORT.")
    pod = steady()
    app = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "app")
    if app.get("restartCount", 0):
        raise failed("restarts", f"the app of {pod['metadata']['name']} restarted {app['restartCount']} times",
                     "The app still starts before its proxy listens.",
                     "Is the proxy's startupProbe probing the right port?",
                     f"startupProbe: {{tcpSocket: {{port: {PROXY_PORT}}}, periodSeconds: 1, failureThreshold: 60}}")
    return passed("restarts", f"{pod['metadata']['name']} is Ready and its app never restarted")


LAB = Lab(
    name="native-sidecar",
    title="From a crash-looping classic sidecar to a native one",
    chapter="01_sidecar.ipynb",
    minutes=15,
    summary="make the proxy a native sidecar with a startupProbe so the app stops crash-looping",
    prepare=prepare,
    steps=(Step("the proxy is a native sidecar", proxy_is_native),
           Step("the proxy says when it is started", proxy_has_startup_probe),
           Step("the app starts once and stays up", app_never_restarts)),
)
