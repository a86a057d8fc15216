"""The endpoints and EndpointSlice controllers: which pods stand behind each Service.

For every Service with a selector, the `Endpoints` object of the same name lists the IPs of the
matching pods (ready ones under `addresses`, the others under `notReadyAddresses`, with their
node and a reference to the pod), and EndpointSlices `<service>-<5 chars>` carry the same pods
with ready/serving/terminating conditions. Ports come from each service port's targetPort: a
number as it is, a name looked up among the pod's container ports. Headless Services get the
same, plus each pod's hostname when its subdomain names the Service (StatefulSet pods).
"""

from __future__ import annotations

import collections
import copy

from .. import errors
from . import ownership
from .base import Controller
from .queueing import KeyQueue

SERVICES = ("", "services")
ENDPOINTS = ("", "endpoints")
SLICES = ("discovery.k8s.io", "endpointslices")
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
HEADLESS = "service.kubernetes.io/headless"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
MAX_ENDPOINTS_PER_SLICE = 100


def pod_ports(service: dict, pod: dict) -> list[dict]:
    """The service's ports as this pod serves them; a named targetPort the pod lacks is left out."""
    found = []
    for port in service["spec"].get("ports") or ():
        target = port.get("targetPort", port.get("port"))
        protocol = port.get("protocol", "TCP")
        number = None
        if isinstance(target, int):
            number = target
        elif isinstance(target, str) and target.isdigit():
            number = int(target)
        else:
            for container in pod["spec"].get("containers") or ():
                for container_port in container.get("ports") or ():
                    if container_port.get("name") == target and container_port.get("protocol", "TCP") == protocol:
                        number = container_port["containerPort"]
                        break
                if number is not None:
                    break
        if number is None:
            continue
        resolved = {"name": port.get("name", ""), "port": number, "protocol": protocol}
        if port.get("appProtocol"):
            resolved["appProtocol"] = port["appProtocol"]
        found.append(resolved)
    return found


def _target_ref(pod: dict) -> dict:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}


def _hostname(service: dict, pod: dict) -> str | None:
    spec = pod["spec"]
    if spec.get("hostname") and spec.get("subdomain") == service["metadata"]["name"]:
        return spec["hostname"]
    return None


def _serves(pod: dict) -> bool:
    return bool(pod.get("status", {}).get("podIP")) and \
        pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def endpoint_subsets(service: dict, pods: list[dict]) -> list[dict]:
    """Endpoints.subsets: pods grouped by the ports they resolve, addresses sorted by IP."""
    publish = bool(service["spec"].get("publishNotReadyAddresses"))
    headless = service["spec"].get("clusterIP") == "None"
    groups: dict[tuple, dict] = {}
    for pod in pods:
        if not _serves(pod) or ownership.is_terminating(pod):
            continue
        ports = pod_ports(service, pod)
        if not ports and not (headless and not service["spec"].get("ports")):
            continue
        address = {"ip": pod["status"]["podIP"]}
        hostname = _hostname(service, pod)
        if hostname:
            address["hostname"] = hostname
        if pod["spec"].get("nodeName"):
            address["nodeName"] = pod["spec"]["nodeName"]
        address["targetRef"] = _target_ref(pod)
        key = tuple(sorted((p["name"], p["port"], p["protocol"]) for p in ports))
        subset = groups.setdefault(key, {"ports": ports})
        part = "addresses" if publish or ownership.is_pod_ready(pod) else "notReadyAddresses"
        subset.setdefault(part, []).append(address)
    subsets = []
    for subset in groups.values():
        ordered: dict = {}
        for part in ("addresses", "notReadyAddresses"):
            if subset.get(part):
                ordered[part] = sorted(subset[part], key=lambda a: (_ip_key(a["ip"]), a["targetRef"]["uid"]))
        ports = [{k: v for k, v in p.items() if k != "name" or v} for p in subset["ports"]]
        if ports:
            ordered["ports"] = sorted(ports, key=lambda p: (p.get("name", ""), p["port"], p["protocol"]))
        subsets.append(ordered)
    return sorted(subsets, key=lambda s: str(s.get("ports")))


def slice_endpoints(service: dict, pods: list[dict]) -> list[tuple[tuple, dict]]:
    """(ports key, endpoint) for every pod an EndpointSlice lists, terminating ones included."""
    publish = bool(service["spec"].get("publishNotReadyAddresses"))
    headless = service["spec"].get("clusterIP") == "None"
    found = []
    for pod in pods:
        if not _serves(pod):
            continue
        ports = pod_ports(service, pod)
        if not ports and not (headless and not service["spec"].get("ports")):
            continue
        terminating = ownership.is_terminating(pod)
        serving = ownership.is_pod_ready(pod)
        endpoint: dict = {"addresses": [pod["status"]["podIP"]],
                          "conditions": {"ready": publish or (serving and not terminating),
                                         "serving": serving or publish, "terminating": terminating}}
        hostname = _hostname(service, pod)
        if hostname:
            endpoint["hostname"] = hostname
        endpoint["targetRef"] = _target_ref(pod)
        if pod["spec"].get("nodeName"):
            endpoint["nodeName"] = pod["spec"]["nodeName"]
        found.append((tuple(sorted((p["name"], p["port"], p["protocol"]) for p in ports)), endpoint, ports))
    return found


def _ip_key(ip: str) -> tuple:
    try:
        return tuple(int(part) for part in ip.split("."))
    except ValueError:
        return (ip,)


class EndpointsController(Controller):
    """Keeps Endpoints and EndpointSlices of selector Services in step with their pods."""

    watches = (("", "v1", "services"), ("", "v1", "pods"), ("", "v1", "endpoints"),
               ("discovery.k8s.io", "v1", "endpointslices"))

    def __init__(self, objects):
        super().__init__(objects)
        self.queue = KeyQueue(self.clock, self._sync, "endpoint-controller")
        self.pods: dict[str, dict[str, dict]] = collections.defaultdict(dict)  # namespace -> name -> pod
        self.last_change: dict[tuple[str, str], str] = {}
        self._endpoints_rtype = self.rtype("", "v1", "endpoints")
        self._slices_rtype = self.rtype("discovery.k8s.io", "v1", "endpointslices")

    def stopped(self) -> None:
        self.queue.close()

    async def handle(self, resource, event, obj) -> None:
        plural = resource[2]
        namespace = obj["metadata"].get("namespace", "")
        if plural == "services":
            self.queue.add(ownership.key_of(obj))
        elif plural == "pods":
            old = self.pods[namespace].pop(obj["metadata"]["name"], None)
            if event != "DELETED":
                self.pods[namespace][obj["metadata"]["name"]] = obj
            labels = [(old or {}).get("metadata", {}).get("labels"), obj["metadata"].get("labels")]
            for service in self.store.list(SERVICES, namespace):
                selector = service["spec"].get("selector")
                if selector and any(_matches(selector, lbl) for lbl in labels if lbl is not None):
                    key = ownership.key_of(service)
                    self.last_change[key] = self.clock.timestamp()
                    self.queue.add(key)
        elif plural == "endpoints":
            if event == "DELETED":  # someone deleted it: put it back
                self.queue.add(ownership.key_of(obj))
        else:
            name = (obj["metadata"].get("labels") or {}).get(SERVICE_NAME)
            if name and (obj["metadata"].get("labels") or {}).get(MANAGED_BY) == SLICE_CONTROLLER:
                self.queue.add((namespace, name))

    def _sync(self, key) -> None:
        namespace, name = key
        service = self.store.get(SERVICES, namespace, name)
        selector = (service or {}).get("spec", {}).get("selector")
        if service is None or not selector:
            if service is None:
                self._remove_all(namespace, name)
            return
        pods = [p for p in self.pods.get(namespace, {}).values() if _matches(selector, p["metadata"].get("labels"))]
        pods.sort(key=lambda p: p["metadata"]["name"])
        self._sync_endpoints(service, pods)
        self._sync_slices(service, pods)

    # Endpoints

    def _labels(self, service: dict) -> dict:
        labels = dict(service["metadata"].get("labels") or {})
        if service["spec"].get("clusterIP") == "None":
            labels[HEADLESS] = ""
        return labels

    def _sync_endpoints(self, service: dict, pods: list[dict]) -> None:
        namespace, name = ownership.key_of(service)
        subsets = endpoint_subsets(service, pods)
        current = self.store.get(ENDPOINTS, namespace, name)
        labels = self._labels(service)
        if current is not None and current.get("subsets", []) == subsets and \
                (current["metadata"].get("labels") or {}) == labels:
            return
        body = copy.deepcopy(current) if current is not None else {
            "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": namespace}}
        body["metadata"]["labels"] = labels
        if not labels:
            del body["metadata"]["labels"]
        trigger = self.last_change.get((namespace, name))
        if trigger:
            body["metadata"].setdefault("annotations", {})[TRIGGER_TIME] = trigger
        if subsets:
            body["subsets"] = subsets
        else:
            body.pop("subsets", None)
        if current is None:
            self.objects.create(self._endpoints_rtype, namespace, body)
        else:
            self.objects.update(self._endpoints_rtype, namespace, name, body)

    # EndpointSlices

    def _owned_slices(self, namespace: str, name: str) -> list[dict]:
        return [s for s in self.store.list(SLICES, namespace)
                if (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == name
                and (s["metadata"].get("labels") or {}).get(MANAGED_BY) == SLICE_CONTROLLER]

    def _sync_slices(self, service: dict, pods: list[dict]) -> None:
        namespace, name = ownership.key_of(service)
        by_ports: dict[tuple, tuple[list, list]] = {}
        for key, endpoint, ports in slice_endpoints(service, pods):
            by_ports.setdefault(key, (ports, []))[1].append(endpoint)
        wanted = []
        for ports, endpoints in by_ports.values():
            for start in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE):
                wanted.append((ports, endpoints[start:start + MAX_ENDPOINTS_PER_SLICE]))
        if not wanted:
            wanted = [(None, [])]  # an empty slice says the Service has no endpoints
        existing = sorted(self._owned_slices(namespace, name), key=lambda s: s["metadata"]["name"])
        labels = {**self._labels(service), SERVICE_NAME: name, MANAGED_BY: SLICE_CONTROLLER}
        for index, (ports, endpoints) in enumerate(wanted):
            body = {"addressType": "IPv4", "endpoints": endpoints or None,
                    "ports": [dict(p) for p in ports] if ports else None}
            if index < len(existing):
                current = existing[index]
                if all(current.get(k) == v for k, v in body.items()) and current["metadata"].get("labels") == labels:
                    continue
                updated = copy.deepcopy(current)
                updated.update(body)
                updated["metadata"]["labels"] = labels
                self._stamp(updated, namespace, name)
                self.objects.update(self._slices_rtype, namespace, current["metadata"]["name"], updated)
            else:
                created = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                           "metadata": {"generateName": f"{name}-", "namespace": namespace, "labels": labels,
                                        "ownerReferences": [ownership.owner_reference(service)]},
                           **body}
                self._stamp(created, namespace, name)
                self.objects.create(self._slices_rtype, namespace, created)
        for extra in existing[len(wanted):]:
            self._delete(self._slices_rtype, namespace, extra["metadata"]["name"])

    def _stamp(self, obj: dict, namespace: str, name: str) -> None:
        trigger = self.last_change.get((namespace, name))
        if trigger:
            obj["metadata"].setdefault("annotations", {})[TRIGGER_TIME] = trigger

    def _remove_all(self, namespace: str, name: str) -> None:
        self.last_change.pop((namespace, name), None)
        if self.store.get(ENDPOINTS, namespace, name) is not None:
            self._delete(self._endpoints_rtype, namespace, name)
        for extra in self._owned_slices(namespace, name):
            self._delete(self._slices_rtype, namespace, extra["metadata"]["name"])

    def _delete(self, rtype, namespace: str, name: str) -> None:
        try:
            self.objects.delete(rtype, namespace, name)
        except errors.APIError as error:
            if error.code != 404:
                raise


def _matches(selector: dict, labels: dict | None) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())
