"""What the monitoring operator writes: Prometheus' configuration and rule file, from plain dicts.

Pure functions over the API's JSON (ServiceMonitors, AlertRules, Services, EndpointSlices): the
same objects always give the same text, byte for byte, so the operator can compare what is with
what should be and write only when they differ.

One scrape job per ServiceMonitor, named as the Prometheus operator names them
(`serviceMonitor/<namespace>/<name>/0`), with one static target per ready endpoint of each
selected Service on the monitor's named port, labelled with its namespace, service and pod. (The
Prometheus operator writes `kubernetes_sd_configs` and relabelling rules instead and lets
Prometheus discover the endpoints itself; writing the addresses out shows the same thing in a
form you can read.) Alerting rules go into one group per namespace.
"""

from __future__ import annotations

import yaml

DEFAULT_INTERVAL = "30s"
DEFAULT_PATH = "/metrics"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # how an EndpointSlice names its Service
CONFIG_KEY = "prometheus.yml"
RULES_KEY = "rules.yml"


def selects(selector: dict | None, labels: dict | None) -> bool:
    """A label selector (matchLabels and matchExpressions) against labels; an empty one selects all."""
    selector, labels = selector or {}, labels or {}
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def job_name(monitor: dict) -> str:
    meta = monitor["metadata"]
    return f"serviceMonitor/{meta.get('namespace', 'default')}/{meta['name']}/0"


def selected_services(monitor: dict, services: list[dict]) -> list[dict]:
    """The Services of the monitor's namespace that its selector picks, by name."""
    namespace = monitor["metadata"].get("namespace", "default")
    selector = (monitor.get("spec") or {}).get("selector")
    return sorted((s for s in services if s["metadata"].get("namespace", "default") == namespace
                   and selects(selector, s["metadata"].get("labels"))), key=lambda s: s["metadata"]["name"])


def targets(monitor: dict, services: list[dict], slices: list[dict]) -> list[dict]:
    """[{"address": "ip:port", "namespace", "service", "pod"}] for every ready endpoint of the
    selected Services on the monitor's port, sorted by service then address."""
    port_name = (monitor.get("spec") or {}).get("port")
    found = []
    for service in selected_services(monitor, services):
        name, namespace = service["metadata"]["name"], service["metadata"].get("namespace", "default")
        for endpoint_slice in slices:
            meta = endpoint_slice["metadata"]
            if meta.get("namespace", "default") != namespace or (meta.get("labels") or {}).get(SERVICE_NAME_LABEL) != name:
                continue
            numbers = [p["port"] for p in endpoint_slice.get("ports") or [] if p.get("name") == port_name and p.get("port")]
            if not numbers:
                continue  # this Service has no port of that name
            for endpoint in endpoint_slice.get("endpoints") or []:
                if (endpoint.get("conditions") or {}).get("ready") is False:
                    continue  # Prometheus would see it too, marked not ready; we leave it out
                pod = (endpoint.get("targetRef") or {}).get("name", "")
                for address in (endpoint.get("addresses") or [])[:1]:
                    found.append({"address": f"{address}:{numbers[0]}", "namespace": namespace,
                                  "service": name, "pod": pod})
    return sorted(found, key=lambda t: (t["service"], t["address"]))


def scrape_job(monitor: dict, services: list[dict], slices: list[dict]) -> dict:
    spec = monitor.get("spec") or {}
    return {
        "job_name": job_name(monitor),
        "scrape_interval": spec.get("interval") or DEFAULT_INTERVAL,
        "metrics_path": spec.get("path") or DEFAULT_PATH,
        "static_configs": [{"targets": [t["address"]],
                            "labels": {"namespace": t["namespace"], "service": t["service"], "pod": t["pod"]}}
                           for t in targets(monitor, services, slices)],
    }


def scrape_config(monitors: list[dict], services: list[dict], slices: list[dict]) -> dict:
    """Prometheus' configuration: global settings, the rule file, one job per monitor."""
    ordered = sorted(monitors, key=job_name)
    return {
        "global": {"scrape_interval": DEFAULT_INTERVAL, "evaluation_interval": DEFAULT_INTERVAL},
        "rule_files": [RULES_KEY],
        "scrape_configs": [scrape_job(m, services, slices) for m in ordered],
    }


def alerting_rule(rule: dict) -> dict:
    spec = rule.get("spec") or {}
    rendered = {"alert": spec["alert"], "expr": spec["expr"]}
    if spec.get("for") not in (None, "", "0"):
        rendered["for"] = spec["for"]
    rendered["labels"] = {"severity": spec["severity"]}
    if spec.get("summary"):
        rendered["annotations"] = {"summary": spec["summary"]}
    return rendered


def rule_groups(rules: list[dict]) -> dict:
    """Prometheus' rule file: one group per namespace, its rules sorted by alert then name."""
    by_namespace: dict[str, list[dict]] = {}
    for rule in rules:
        by_namespace.setdefault(rule["metadata"].get("namespace", "default"), []).append(rule)
    return {"groups": [
        {"name": namespace, "rules": [alerting_rule(r) for r in sorted(
            members, key=lambda r: (r["spec"]["alert"], r["metadata"]["name"]))]}
        for namespace, members in sorted(by_namespace.items())]}


def dump(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=120)


def config_map_data(monitors: list[dict], rules: list[dict], services: list[dict], slices: list[dict]) -> dict[str, str]:
    """The ConfigMap's data: {"prometheus.yml": ..., "rules.yml": ...}."""
    return {CONFIG_KEY: dump(scrape_config(monitors, services, slices)), RULES_KEY: dump(rule_groups(rules))}


def targets_by_job(config_text: str | None) -> dict[str, list[str]]:
    """{job name: [addresses]} read back from a rendered prometheus.yml ({} for none or junk)."""
    try:
        config = yaml.safe_load(config_text or "") or {}
    except yaml.YAMLError:
        return {}
    jobs = {}
    for job in config.get("scrape_configs") or [] if isinstance(config, dict) else []:
        jobs[job.get("job_name")] = [t for group in job.get("static_configs") or [] for t in group.get("targets") or []]
    return jobs


def alerts_in(rules_text: str | None) -> set[str]:
    """The alert names in a rendered rules.yml."""
    try:
        document = yaml.safe_load(rules_text or "") or {}
    except yaml.YAMLError:
        return set()
    return {r.get("alert") for g in document.get("groups") or [] for r in g.get("rules") or []} \
        if isinstance(document, dict) else set()


def target_changes(before: list[str], after: list[str]) -> str:
    """'added 10.244.1.7:15090; removed 10.244.2.3:15090' (or 'unchanged')."""
    added = [a for a in after if a not in before]
    removed = [a for a in before if a not in after]
    parts = ([f"added {', '.join(added)}"] if added else []) + ([f"removed {', '.join(removed)}"] if removed else [])
    return "; ".join(parts) or "unchanged"
