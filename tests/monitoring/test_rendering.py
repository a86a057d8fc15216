"""The monitoring operator's pure part: Prometheus' configuration rendered from plain dicts."""

from __future__ import annotations

from k8s_course.monitoring import rendering


def service(name: str, labels: dict, namespace: str = "shop") -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels}}


def endpoint_slice(service_name: str, port_name: str, port: int, pods: dict[str, str], ready: bool = True,
                   namespace: str = "shop") -> dict:
    return {"metadata": {"name": f"{service_name}-abcde", "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready},
                           "targetRef": {"kind": "Pod", "name": pod}} for pod, ip in pods.items()]}


def monitor(name: str, selector: dict, port: str = "metrics", **spec) -> dict:
    return {"apiVersion": "monitoring.k8s-course.dev/v1", "kind": "ServiceMonitor",
            "metadata": {"name": name, "namespace": "shop"}, "spec": {"selector": selector, "port": port, **spec}}


def rule(name: str, alert: str, expr: str, severity: str, **spec) -> dict:
    return {"metadata": {"name": name, "namespace": "shop"},
            "spec": {"alert": alert, "expr": expr, "severity": severity, **spec}}


SERVICES = [service("backend", {"scrape": "yes", "tier": "back"}), service("frontend", {"scrape": "yes"}),
            service("database", {"tier": "back"}), service("backend", {"scrape": "yes"}, namespace="other")]
SLICES = [endpoint_slice("backend", "metrics", 15090, {"backend-1": "10.244.1.4", "backend-0": "10.244.2.9"}),
          endpoint_slice("frontend", "metrics", 15090, {"frontend-0": "10.244.1.5"}),
          endpoint_slice("frontend", "metrics", 15090, {"frontend-1": "10.244.2.6"}, ready=False),
          endpoint_slice("database", "pg", 5432, {"database-0": "10.244.2.7"}),
          endpoint_slice("backend", "metrics", 15090, {"elsewhere": "10.244.1.99"}, namespace="other")]


def test_selectors_match_labels_and_expressions_as_kubernetes_does():
    labels = {"scrape": "yes", "tier": "back"}
    assert rendering.selects({"matchLabels": {"scrape": "yes"}}, labels)
    assert not rendering.selects({"matchLabels": {"scrape": "no"}}, labels)
    assert rendering.selects({}, labels)  # an empty selector selects everything
    assert rendering.selects({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["back", "x"]}]}, labels)
    assert not rendering.selects({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["back"]}]},
                                 labels)
    assert rendering.selects({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, labels)
    assert not rendering.selects({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, labels)


def test_the_targets_are_the_ready_endpoints_of_the_selected_services_on_the_named_port():
    found = rendering.targets(monitor("mesh", {"matchLabels": {"scrape": "yes"}}), SERVICES, SLICES)

    assert found == [
        {"address": "10.244.1.4:15090", "namespace": "shop", "service": "backend", "pod": "backend-1"},
        {"address": "10.244.2.9:15090", "namespace": "shop", "service": "backend", "pod": "backend-0"},
        {"address": "10.244.1.5:15090", "namespace": "shop", "service": "frontend", "pod": "frontend-0"},
    ]


def test_a_service_without_the_named_port_gives_no_target():
    assert rendering.targets(monitor("db", {"matchLabels": {"tier": "back"}}), SERVICES, SLICES) == [
        {"address": "10.244.1.4:15090", "namespace": "shop", "service": "backend", "pod": "backend-1"},
        {"address": "10.244.2.9:15090", "namespace": "shop", "service": "backend", "pod": "backend-0"}]
    assert rendering.targets(monitor("db", {"matchLabels": {"tier": "back"}}, port="pg"), SERVICES, SLICES) == [
        {"address": "10.244.2.7:5432", "namespace": "shop", "service": "database", "pod": "database-0"}]


def test_the_scrape_configuration_has_one_job_per_monitor_in_prometheus_yaml():
    monitors = [monitor("mesh", {"matchLabels": {"scrape": "yes"}}, interval="15s"),
                monitor("db", {"matchLabels": {"tier": "back"}}, port="pg", path="/probe")]
    data = rendering.config_map_data(monitors, [], SERVICES, SLICES)

    assert data["prometheus.yml"] == """\
global:
  scrape_interval: 30s
  evaluation_interval: 30s
rule_files:
- rules.yml
scrape_configs:
- job_name: serviceMonitor/shop/db/0
  scrape_interval: 30s
  metrics_path: /probe
  static_configs:
  - targets:
    - 10.244.2.7:5432
    labels:
      namespace: shop
      service: database
      pod: database-0
- job_name: serviceMonitor/shop/mesh/0
  scrape_interval: 15s
  metrics_path: /metrics
  static_configs:
  - targets:
    - 10.244.1.4:15090
    labels:
      namespace: shop
      service: backend
      pod: backend-1
  - targets:
    - 10.244.2.9:15090
    labels:
      namespace: shop
      service: backend
      pod: backend-0
  - targets:
    - 10.244.1.5:15090
    labels:
      namespace: shop
      service: frontend
      pod: frontend-0
"""
    assert data["rules.yml"] == "groups: []\n"


def test_alerting_rules_become_one_group_per_namespace():
    rules = [rule("errors", "HighErrorRate", 'sum(rate(mesh_requests_total{code=~"5.."}[5m])) > 0.1', "critical",
                  **{"for": "5m", "summary": "more than 10% of requests fail"}),
             rule("slow", "SlowRequests", "histogram_quantile(0.99, mesh_request_duration_milliseconds_bucket) > 500",
                  "warning", **{"for": "0"})]

    assert rendering.dump(rendering.rule_groups(rules)) == """\
groups:
- name: shop
  rules:
  - alert: HighErrorRate
    expr: sum(rate(mesh_requests_total{code=~"5.."}[5m])) > 0.1
    for: 5m
    labels:
      severity: critical
    annotations:
      summary: more than 10% of requests fail
  - alert: SlowRequests
    expr: histogram_quantile(0.99, mesh_request_duration_milliseconds_bucket) > 500
    labels:
      severity: warning
"""


def test_the_same_objects_always_render_the_same_text():
    monitors = [monitor("b", {"matchLabels": {"scrape": "yes"}}), monitor("a", {})]
    once = rendering.config_map_data(monitors, [], SERVICES, SLICES)
    again = rendering.config_map_data(list(reversed(monitors)), [], list(reversed(SERVICES)), list(reversed(SLICES)))
    assert once == again


def test_the_targets_are_read_back_from_the_text_and_their_changes_said_in_words():
    data = rendering.config_map_data([monitor("mesh", {"matchLabels": {"scrape": "yes"}})], [], SERVICES, SLICES)
    jobs = rendering.targets_by_job(data["prometheus.yml"])

    assert jobs == {"serviceMonitor/shop/mesh/0": ["10.244.1.4:15090", "10.244.2.9:15090", "10.244.1.5:15090"]}
    assert rendering.targets_by_job("not: [valid") == {}
    assert rendering.target_changes(["a:1", "b:1"], ["b:1", "c:1"]) == "added c:1; removed a:1"
    assert rendering.target_changes(["a:1"], ["a:1"]) == "unchanged"
    assert rendering.alerts_in("groups:\n- name: shop\n  rules:\n  - alert: X\n    expr: up == 0\n") == {"X"}
