"""The pod network as the containers' models see it: addresses, names and who listens where.

`PodAddresses` hands out a node's pod IPs from its pod CIDR (10.244.1.0/24: .2, .3, ...,
the lowest free one first, so a gone pod's address is reused). `PodNetwork` is the one
registry shared by every kubelet of a cluster (whoever builds the kubelets creates it): pod IP
-> the pod's running containers, so that a model on one node can reach a model on another.
`PodView` is one pod's `images.base.Network`: localhost is the pod itself, Services resolve
by their DNS names to the clusterIP (headless ones to their ready pods' IPs), and
`<pod>.<service>` names reach StatefulSet pods.
"""

from __future__ import annotations

import ipaddress
import socket

from .images import base

PODS = ("", "pods")
SERVICES = ("", "services")
CLUSTER_DOMAIN = "cluster.local"
LOCALHOST = ("localhost", "127.0.0.1", "::1")


class PodAddresses:
    """The free and used addresses of one node's pod CIDR."""

    def __init__(self, cidr: str):
        self.network = ipaddress.ip_network(cidr, strict=False)
        self._used: set[int] = set()
        self._first = int(self.network.network_address) + 2  # .1 is the bridge's
        self._last = int(self.network.broadcast_address) - 1

    def allocate(self) -> str:
        for candidate in range(self._first, self._last + 1):
            if candidate not in self._used:
                self._used.add(candidate)
                return str(ipaddress.ip_address(candidate))
        raise RuntimeError(f"no pod IP left in {self.network}")

    def release(self, ip: str) -> None:
        self._used.discard(int(ipaddress.ip_address(ip)))


class PodEndpoint:
    """What the network knows of one running pod: its containers' contexts and models."""

    def __init__(self, namespace: str, name: str):
        self.namespace = namespace
        self.name = name
        self.containers: dict[str, tuple[base.ContainerContext, base.ImageModel]] = {}
        self.reachable = True  # False while its node is cut off

    def listening(self, port: int) -> tuple[base.ContainerContext, base.ImageModel] | None:
        for ctx, model in self.containers.values():
            if port in ctx.listening:
                return ctx, model
        return None

    def ports(self) -> set[int]:
        found: set[int] = set()
        for ctx, _ in self.containers.values():
            found |= ctx.listening
        return found


class PodNetwork:
    """The cluster's pod IPs -> endpoints, shared by all kubelets (one per cluster)."""

    def __init__(self) -> None:
        self._endpoints: dict[str, PodEndpoint] = {}

    def register(self, ip: str, endpoint: PodEndpoint) -> None:
        self._endpoints[ip] = endpoint

    def unregister(self, ip: str, endpoint: PodEndpoint | None = None) -> None:
        if endpoint is None or self._endpoints.get(ip) is endpoint:
            self._endpoints.pop(ip, None)

    def endpoint(self, ip: str) -> PodEndpoint | None:
        found = self._endpoints.get(ip)
        return found if found is not None and found.reachable else None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _selects(selector: dict | None, labels: dict | None) -> bool:
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(key) == value for key, value in selector.items())


def _is_ready(pod: dict) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


class PodView:
    """One pod's view of the network (implements images.base.Network)."""

    def __init__(self, network: PodNetwork, store, pod: dict, own: PodEndpoint, ip: str):
        self.network = network
        self.store = store
        self.namespace = pod["metadata"].get("namespace", "default")
        self.hostname = pod["spec"].get("hostname") or pod["metadata"]["name"]
        self.own = own
        self.ip = ip

    # names

    def resolve(self, name: str) -> list[str]:
        name = name.rstrip(".").lower()
        if name in LOCALHOST:
            return ["127.0.0.1"]
        if _is_ip(name):
            return [name]
        if name == self.hostname:
            return [self.ip]
        suffix = f".svc.{CLUSTER_DOMAIN}"
        # resolv.conf's search list, then the name as given (ndots:5 tries the list first)
        for fqdn in (f"{name}.{self.namespace}{suffix}", f"{name}{suffix}", f"{name}.{CLUSTER_DOMAIN}", name):
            if not fqdn.endswith(suffix):
                continue
            parts = fqdn[: -len(suffix)].split(".")
            if len(parts) == 2:
                found = self._service_addresses(parts[1], parts[0])
            elif len(parts) == 3:
                found = self._pod_by_hostname(parts[2], parts[1], parts[0])
            else:
                continue
            if found:
                return found
        return []

    def _service(self, namespace: str, name: str) -> dict | None:
        return self.store.get(SERVICES, namespace, name)

    def _service_addresses(self, namespace: str, name: str) -> list[str]:
        service = self._service(namespace, name)
        if service is None:
            return []
        cluster_ip = service.get("spec", {}).get("clusterIP")
        if cluster_ip and cluster_ip != "None":
            return [cluster_ip]
        return [ip for _, ip in self._backends(service)]

    def _backends(self, service: dict) -> list[tuple[dict, str]]:
        """The pods behind a Service that DNS and kube-proxy would use (ready ones)."""
        spec = service.get("spec", {})
        namespace = service["metadata"].get("namespace", "default")
        publish_all = spec.get("publishNotReadyAddresses")
        found = []
        for pod in self.store.list(PODS, namespace):
            ip = (pod.get("status") or {}).get("podIP")
            if ip and _selects(spec.get("selector"), pod["metadata"].get("labels")) and (
                    publish_all or _is_ready(pod)) and not pod["metadata"].get("deletionTimestamp"):
                found.append((pod, ip))
        return found

    def _pod_by_hostname(self, namespace: str, service_name: str, hostname: str) -> list[str]:
        service = self._service(namespace, service_name)
        if service is None or service.get("spec", {}).get("clusterIP") != "None":
            return []
        publish_all = service["spec"].get("publishNotReadyAddresses")
        candidates = [self.store.get(PODS, namespace, hostname)]  # a StatefulSet pod's name is its hostname
        if candidates[0] is None:
            candidates = self.store.list(PODS, namespace)
        for pod in candidates:
            if pod is None:
                continue
            spec = pod.get("spec", {})
            ip = (pod.get("status") or {}).get("podIP")
            if (spec.get("hostname") or pod["metadata"]["name"]) == hostname and \
                    spec.get("subdomain") == service_name and ip and (publish_all or _is_ready(pod)):
                return [ip]
        return []

    # connections

    def _target(self, host: str, port: int) -> tuple[base.ContainerContext, base.ImageModel] | None:
        addresses = self.resolve(host)
        if not addresses:
            return None
        address = addresses[0]
        if address in ("127.0.0.1", "::1") or address == self.ip:
            return self.own.listening(port)
        endpoint = self.network.endpoint(address)
        if endpoint is not None:
            return endpoint.listening(port)
        return self._through_service(address, port)

    def _through_service(self, cluster_ip: str, port: int):
        """kube-proxy's part: a clusterIP:port goes to a ready backend's targetPort."""
        for service in self.store.list(SERVICES, None):
            if service.get("spec", {}).get("clusterIP") != cluster_ip:
                continue
            for service_port in service["spec"].get("ports") or []:
                if service_port.get("port") != port:
                    continue
                target = service_port.get("targetPort", port)
                for pod, ip in self._backends(service):
                    endpoint = self.network.endpoint(ip)
                    number = _target_port(target, pod)
                    if endpoint is not None and number is not None:
                        found = endpoint.listening(number)
                        if found is not None:
                            return found
            return None
        return None

    def is_listening(self, host: str, port: int) -> bool:
        return self._target(host, port) is not None

    async def http_get(self, host: str, port: int, path: str) -> tuple[int, str]:
        target = self._target(host, port)
        if target is None:
            raise ConnectionRefusedError(f"dial tcp {host}:{port}: connect: connection refused")
        ctx, model = target
        serve = getattr(model, "serve_http", None)
        if serve is None:
            return 200, ""  # something listens and answers, but says nothing the course reads
        return await serve(port, path, ctx, client=self.ip)


    async def http_request(self, method: str, host: str, port: int, path: str, body: bytes = b"",
                           client_cert: str | None = None) -> tuple[int, str]:
        """Any HTTP request (GET, POST with `body`, ...) to host:port; `client_cert` is the PEM
        the caller presents (mTLS), None for a plain caller.

        Raises socket.gaierror for a name DNS does not know, ConnectionRefusedError when nothing
        listens there (a Service without ready backends included), as a real client sees them.
        """
        if not self.resolve(host):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        target = self._target(host, port)
        if target is None:
            raise ConnectionRefusedError(111, "Connection refused")
        ctx, model = target
        serve = getattr(model, "serve_request", None)
        if serve is not None:
            return await serve(port, method, path, body, ctx, client=self.ip, client_cert=client_cert)
        if method in ("GET", "HEAD") and getattr(model, "serve_http", None) is not None:
            return await model.serve_http(port, path, ctx, client=self.ip)
        return 200, ""  # something listens and answers, but says nothing the course reads


def _target_port(target, pod: dict) -> int | None:
    if isinstance(target, int):
        return target
    for container in pod.get("spec", {}).get("containers") or []:
        for declared in container.get("ports") or []:
            if declared.get("name") == target:
                return declared.get("containerPort")
    try:
        return int(target)
    except (TypeError, ValueError):
        return None
