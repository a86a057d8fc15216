"""The monitoring operator on the simulator, through the official client: monitors and Services
in, the ConfigMap prometheus-config out, following the cluster as it changes."""

from __future__ import annotations

import pytest
import yaml

from k8s_course import monitoring
from k8s_course.errors import ClusterError


def web(name: str, replicas: int = 2) -> list[dict]:
    """A Deployment of nginx and a Service for it with a port named `metrics`."""
    labels = {"app": name}
    return [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
             "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                      "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                          {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"scrape": "yes"}},
             "spec": {"selector": labels, "ports": [{"name": "metrics", "port": 9090, "targetPort": 80}]}}]


MONITOR = {"apiVersion": "monitoring.k8s-course.dev/v1", "kind": "ServiceMonitor", "metadata": {"name": "webs"},
           "spec": {"selector": {"matchLabels": {"scrape": "yes"}}, "port": "metrics", "interval": "15s"}}


def alert_rule(name: str, **spec) -> dict:
    return {"apiVersion": "monitoring.k8s-course.dev/v1", "kind": "AlertRule", "metadata": {"name": name},
            "spec": {"alert": "TargetDown", "expr": "up == 0", "severity": "critical", "for": "5m", **spec}}


@pytest.fixture
def crds(cluster):
    cluster.apply(monitoring.CRDS, namespace=None)
    cluster.wait_for(lambda: cluster.resource("ServiceMonitor") and cluster.resource("AlertRule"), 30, "the CRDs")
    return cluster


def pod_targets(cluster, app: str) -> list[str]:
    return sorted(f"{p['status']['podIP']}:80" for p in cluster.pods(f"app={app}"))


def scraped(cluster) -> dict[str, list[str]]:
    config_map = cluster.find("ConfigMap", monitoring.CONFIG_MAP)
    return monitoring.rendering.targets_by_job((config_map or {}).get("data", {}).get("prometheus.yml"))


def test_one_pass_writes_the_selected_services_targets_and_the_rules(crds):
    cluster = crds
    cluster.apply(web("web") + [MONITOR, alert_rule("target-down")])
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "quiet"},  # not labelled
                   "spec": {"selector": {"app": "web"}, "ports": [{"name": "metrics", "port": 9090}]}})
    cluster.rollout_status("web", timeout=60)
    operator = monitoring.MonitoringOperator(cluster.api_client, cluster.namespace)
    job = f"serviceMonitor/{cluster.namespace}/webs/0"
    cluster.wait_for(lambda: operator.reconcile() is not None and len(scraped(cluster).get(job, [])) == 2, 30,
                     "both pods behind web to be targets")  # the EndpointSlice may trail the rollout

    config = yaml.safe_load(cluster.get("ConfigMap", monitoring.CONFIG_MAP)["data"]["prometheus.yml"])
    (scrape_job,) = config["scrape_configs"]
    assert scrape_job["job_name"] == job and scrape_job["scrape_interval"] == "15s"
    assert sorted(t for group in scrape_job["static_configs"] for t in group["targets"]) == pod_targets(cluster, "web")
    assert {group["labels"]["service"] for group in scrape_job["static_configs"]} == {"web"}
    rules = yaml.safe_load(cluster.get("ConfigMap", monitoring.CONFIG_MAP)["data"]["rules.yml"])
    assert rules == {"groups": [{"name": cluster.namespace, "rules": [
        {"alert": "TargetDown", "expr": "up == 0", "for": "5m", "labels": {"severity": "critical"}}]}]}
    assert operator.reconcile() is False  # nothing changed: nothing written
    assert cluster.get("ServiceMonitor", "webs")["status"] == {"targets": 2, "observedGeneration": 1}
    reasons = {(e["reason"], e["involvedObject"]["kind"]) for e in cluster.events()}
    assert {("TargetsChanged", "ServiceMonitor"), ("RuleLoaded", "AlertRule")} <= reasons


def test_the_loop_follows_a_new_service_and_a_removed_one_without_being_asked(crds):
    cluster = crds
    cluster.apply(web("web", replicas=1) + [MONITOR])
    job = f"serviceMonitor/{cluster.namespace}/webs/0"
    with monitoring.MonitoringOperator(cluster.api_client, cluster.namespace, interval=0.1) as operator:
        cluster.wait_for(lambda: len(scraped(cluster).get(job, [])) == 1, 60, "the first target")
        cluster.apply(web("shop", replicas=2))
        cluster.wait_for(lambda: len(scraped(cluster).get(job, [])) == 3, 60, "the new Service's two pods")
        assert sorted(scraped(cluster)[job]) == sorted(pod_targets(cluster, "web") + pod_targets(cluster, "shop"))
        cluster.delete("Service", "shop")
        cluster.wait_for(lambda: scraped(cluster).get(job) == pod_targets(cluster, "web"), 60, "shop's targets to go")
        assert operator.last_error is None
    messages = [e["message"] for e in cluster.events("webs") if e["reason"] == "TargetsChanged"]
    # (events are ordered by the second they happened in: look for each rather than at the last)
    assert any(m.startswith(f"{job}: 3 targets on port metrics: added ") for m in messages), messages
    assert any(m.startswith(f"{job}: 1 target on port metrics: removed ") for m in messages), messages


def test_a_hand_edit_of_the_configmap_is_put_right_on_the_next_pass(crds):
    cluster = crds
    cluster.apply([MONITOR])
    operator = monitoring.MonitoringOperator(cluster.api_client, cluster.namespace)
    operator.reconcile()
    wanted = cluster.get("ConfigMap", monitoring.CONFIG_MAP)["data"]
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": monitoring.CONFIG_MAP},
                   "data": {"prometheus.yml": "scrape_configs: []\n"}})
    assert operator.reconcile() is True
    assert cluster.get("ConfigMap", monitoring.CONFIG_MAP)["data"] == wanted


@pytest.mark.parametrize(("spec", "field", "words"), [
    ({"severity": "urgent"}, "spec.severity",
     'Unsupported value: "urgent": supported values: "critical", "warning", "info"'),
    ({"for": "5 minutes"}, "spec.for", "should match"),
    ({"alert": "target-down"}, "spec.alert", "should match"),
])
def test_a_bad_alert_rule_is_refused_by_the_api_server_with_the_field_named(crds, spec, field, words):
    with pytest.raises(ClusterError) as refused:
        crds.apply(alert_rule("bad", **spec))
    assert refused.value.status == 422
    assert field in str(refused.value) and words in str(refused.value)
    assert crds.find("AlertRule", "bad") is None
