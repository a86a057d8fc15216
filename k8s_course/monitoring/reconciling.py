"""The monitoring operator's loop: read what is, render what should be, write the difference.

Level-triggered: every pass lists the ServiceMonitors, AlertRules, Services and EndpointSlices of
its namespace and renders the whole configuration again; it does not react to events one by one,
so a missed change, a restart or a hand-edited ConfigMap is put right on the next pass. It is
idempotent: when the ConfigMap already holds the rendered text, a pass writes nothing. What it
changes it reports as Events on the objects concerned (TargetsChanged on a ServiceMonitor,
RuleLoaded on an AlertRule) and as `status.targets` on each ServiceMonitor.

Plain Python on the official client, in a background thread: `start()`, `stop()`,
`reconcile()` for one pass by hand.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from . import rendering

GROUP, VERSION = "monitoring.k8s-course.dev", "v1"
COMPONENT = "k8s-course-monitoring"
CONFIG_MAP = "prometheus-config"


class MonitoringOperator:
    """Keeps the ConfigMap `config_map` of `namespace` equal to what its monitors and rules say."""

    def __init__(self, api_client, namespace: str, config_map: str = CONFIG_MAP, interval: float = 1.0):
        from kubernetes import client

        self.namespace = namespace
        self.config_map = config_map
        self.interval = interval
        self.passes = 0  # completed passes
        self.writes = 0  # passes that changed the ConfigMap
        self.last_error: Exception | None = None
        self._core = client.CoreV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)
        self._discovery = client.DiscoveryV1Api(api_client)
        self._serialize = api_client.sanitize_for_serialization
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # the loop

    def start(self) -> MonitoringOperator:
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=f"monitoring-{self.namespace}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> MonitoringOperator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.reconcile()
                self.last_error = None
            except Exception as error:  # noqa: BLE001 (a loop that dies silently helps no one)
                self.last_error = error
            self.passes += 1
            self._stopping.wait(self.interval)

    # one pass

    def reconcile(self) -> bool:
        """One pass; True when it changed the ConfigMap."""
        monitors = self._list_custom("servicemonitors")
        rules = self._list_custom("alertrules")
        services = self._items(self._core.list_namespaced_service(self.namespace))
        slices = self._items(self._discovery.list_namespaced_endpoint_slice(self.namespace))
        wanted = rendering.config_map_data(monitors, rules, services, slices)
        current = self._read_config_map()
        old = (current or {}).get("data") or {}
        changed = current is None or old != wanted
        if current is None:
            self._core.create_namespaced_config_map(self.namespace, self._config_map_body(wanted))
        elif changed:
            self._core.patch_namespaced_config_map(self.config_map, self.namespace, {"data": wanted})
        if changed:
            self.writes += 1
            self._report(monitors, rules, old, wanted)
        self._update_status(monitors, rendering.targets_by_job(wanted[rendering.CONFIG_KEY]))
        return changed

    def _report(self, monitors: list[dict], rules: list[dict], old: dict, new: dict) -> None:
        before = rendering.targets_by_job(old.get(rendering.CONFIG_KEY))
        after = rendering.targets_by_job(new[rendering.CONFIG_KEY])
        for monitor in monitors:
            job = rendering.job_name(monitor)
            if job in before and before[job] == after.get(job):
                continue
            now = after.get(job, [])
            change = rendering.target_changes(before.get(job, []), now) if now or job in before \
                else "no Service matches its selector yet"
            message = (f"{job}: {len(now)} target{'s' if len(now) != 1 else ''} on port "
                       f"{monitor['spec']['port']}: {change}")
            self._event(monitor, "TargetsChanged", message)
        loaded = rendering.alerts_in(old.get(rendering.RULES_KEY))
        for rule in rules:
            if rule["spec"]["alert"] not in loaded:
                self._event(rule, "RuleLoaded", f"alert {rule['spec']['alert']} is in {self.config_map}/"
                                                f"{rendering.RULES_KEY}: {rule['spec']['expr']}")

    def _update_status(self, monitors: list[dict], jobs: dict[str, list[str]]) -> None:
        for monitor in monitors:
            status = {"targets": len(jobs.get(rendering.job_name(monitor), [])),
                      "observedGeneration": monitor["metadata"].get("generation", 1)}
            if (monitor.get("status") or {}) != status:
                self._custom.patch_namespaced_custom_object_status(
                    GROUP, VERSION, self.namespace, "servicemonitors", monitor["metadata"]["name"], {"status": status})

    # the API

    def _list_custom(self, plural: str) -> list[dict]:
        return self._custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural).get("items") or []

    def _items(self, answer) -> list[dict]:
        return self._serialize(answer).get("items") or []

    def _read_config_map(self) -> dict | None:
        from kubernetes.client import ApiException

        try:
            return self._serialize(self._core.read_namespaced_config_map(self.config_map, self.namespace))
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def _config_map_body(self, data: dict) -> dict:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": self.config_map, "namespace": self.namespace,
                             "labels": {"app.kubernetes.io/part-of": "k8s-course",
                                        "app.kubernetes.io/managed-by": COMPONENT}},
                "data": data}

    def _event(self, subject: dict, reason: str, message: str) -> None:
        meta = subject["metadata"]
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._core.create_namespaced_event(self.namespace, {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": self.namespace},
            "involvedObject": {"apiVersion": subject["apiVersion"], "kind": subject["kind"], "name": meta["name"],
                               "namespace": self.namespace, "uid": meta.get("uid")},
            "reason": reason, "message": message, "type": "Normal", "count": 1,
            "firstTimestamp": now, "lastTimestamp": now,
            "source": {"component": COMPONENT}, "reportingComponent": COMPONENT,
        })
