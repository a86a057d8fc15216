"""Lab: add a log-shipping sidecar to a running Deployment without touching the app (chapter 1).

The start: an aggregator (the stand-in for Splunk or Datadog), and a Deployment `orders` whose
only container writes its log to a file on an emptyDir. The learner adds a second container to
the pod template that ships that file to the aggregator; the app's container must stay exactly
as it was (that is the point of a sidecar).
"""

from __future__ import annotations

import json
from importlib.resources import files

import yaml

from ..views import states
from ..workloads import program_source
from .lab import Lab, Step, failed, passed, settle

PROGRAMS = ("log_writer", "log_shipper", "log_aggregator")
APP = {
    "name": "app",
    "image": "python:3.11-slim",
    "command": ["python", "/app/log_writer.py"],
    "env": [{"name": "RATE", "value": "2"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
    "volumeMounts": [{"name": "programs", "mountPath": "/app"}, {"name": "logs", "mountPath": "/var/log/app"}],
}
LOG_DIR = "/var/log/app"


def _lesson_objects() -> list[dict]:
    """The aggregator, its Service and the toolbox pod, as chapter 1 deploys them."""
    text = (files("k8s_course") / "manifests" / "01-logging.yaml").read_text()
    wanted = {("Deployment", "log-aggregator"), ("Service", "log-aggregator"), ("Pod", "toolbox")}
    return [d for d in yaml.safe_load_all(text) if d and (d["kind"], d["metadata"]["name"]) in wanted]


def orders_deployment() -> dict:
    labels = {"app": "orders"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "orders"},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [APP],
                                           "volumes": [{"name": "programs", "configMap": {"name": "sidecar-programs"}},
                                                       {"name": "logs", "emptyDir": {}}]}}}}


def prepare(cluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sidecar-programs"},
                   "data": {f"{name}.py": program_source(name) for name in PROGRAMS}})
    cluster.apply(_lesson_objects())
    if cluster.find("Deployment", "orders") is None:
        cluster.apply(orders_deployment())


def _template(cluster) -> dict:
    deployment = cluster.find("Deployment", "orders")
    if deployment is None:
        raise failed("orders", "there is no Deployment `orders`", "run lab.prepare() to create the lab's start")
    return deployment["spec"]["template"]["spec"]


def _log_volume(spec: dict) -> str | None:
    app = next((c for c in spec.get("containers") or [] if c.get("name") == "app"), {})
    return next((m["name"] for m in app.get("volumeMounts") or [] if m.get("mountPath") == LOG_DIR), None)


def sidecar_added(cluster):
    spec = _template(cluster)
    volume = _log_volume(spec)
    helpers = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
               if c.get("name") != "app"]
    sharing = [c for c in helpers if any(m.get("name") == volume for m in c.get("volumeMounts") or [])]
    if sharing:
        return passed("sidecar", f"container {sharing[0]['name']} shares the app's log volume {volume!r}")
    if helpers:
        message = (f"container {helpers[0]['name']} is in the pod, but it does not mount the volume "
                   f"{volume!r} where the app writes its log")
    else:
        message = "the orders pods still have only the app container"
    raise failed("sidecar", message,
                 "A sidecar is a second container in the same pod template: add one to "
                 "spec.template.spec.containers of the Deployment (cluster.apply or kubectl edit).",
                 f"It must see the app's log file: mount the volume `{volume}` at {LOG_DIR} in the new "
                 "container, and run `python /app/log_shipper.py` from the `programs` volume.",
                 "The `shipper` container of the `chatty` Deployment in k8s_course/manifests/"
                 "01-logging.yaml is what is needed: copy it (env and volumeMounts too) under "
                 "`containers:` of orders.")


def app_untouched(cluster):
    spec = _template(cluster)
    app = next((c for c in spec.get("containers") or [] if c.get("name") == "app"), None)
    if app is None:
        raise failed("app", "the `app` container is gone from the orders pods",
                     "The sidecar goes beside the app, not instead of it.",
                     "Put the original `app` container back (lab.prepare() shows it in orders_deployment()).",
                     "Apply the Deployment with both containers: app first, then your shipper.")
    changed = [key for key in ("image", "command", "env", "volumeMounts")
               if _normalised(app.get(key)) != _normalised(APP.get(key))]
    if changed:
        raise failed("app", f"the app container was changed: {', '.join(changed)} differ from the start",
                     "The point of a sidecar is that the app does not change.",
                     f"Restore the app container's {', '.join(changed)} and put what the shipper needs in "
                     "the shipper's container.",
                     "Compare with orders_deployment() in k8s_course/labs/logging_sidecar.py.")
    return passed("app", "the app container is exactly as it was")


def _normalised(value):
    """JSON text to compare, without what the API server fills in (fieldRef's apiVersion)."""
    def strip(item):
        if isinstance(item, dict):
            return {k: strip(v) for k, v in item.items() if not (k == "apiVersion" and "fieldPath" in item)}
        if isinstance(item, list):
            return [strip(v) for v in item]
        return item
    return json.dumps(strip(value or []), sort_keys=True)


def lines_arrive(cluster):
    def shipped() -> list[str]:
        pods = [p for p in cluster.pods("app=orders") if not states.is_terminating(p)]
        if not pods or not all(states.is_ready(p) and len(p["spec"]["containers"]) > 1 for p in pods):
            return []
        arrived = json.loads(cluster.exec("toolbox", "wget -qO- http://log-aggregator:8080/stats"))["pods"]
        names = [p["metadata"]["name"] for p in pods]
        return names if all(arrived.get(n, {}).get("lines", 0) > 0 for n in names) else []

    if settle(cluster, shipped, 90, "lines from every orders pod at the aggregator"):
        return passed("lines", f"the aggregator has lines from {', '.join(shipped())}")
    raise failed("lines", "the aggregator has no lines yet from every orders pod",
                 "Look at the shipper's log: cluster.logs(<an orders pod>, container=<your sidecar>).",
                 "The shipper needs AGGREGATOR_URL=http://log-aggregator:8080/ingest and POD_NAME "
                 "(from the downward API) in its env.",
                 "Copy the env of chatty's shipper container from k8s_course/manifests/01-logging.yaml.")


LAB = Lab(
    name="logging-sidecar",
    title="Add a log-shipping sidecar without touching the app",
    chapter="01_sidecar.ipynb",
    minutes=20,
    summary="give a running Deployment a shipper container that sends its log to the aggregator",
    prepare=prepare,
    steps=(Step("a sidecar shares the app's log volume", sidecar_added),
           Step("the app container is untouched", app_untouched),
           Step("lines from every pod reach the aggregator", lines_arrive)),
)
