"""The simulated cluster's machines: what each node is, and the agent that keeps it alive.

A `NodeSpec` says what a node is (name, role, size, labels, taints); `default_nodes()` gives the
shape of the course's kind cluster (kind-config.yaml): `k8s-course-control-plane`, tainted
NoSchedule, and the workers `k8s-course-worker`, `k8s-course-worker2`, ...

A `NodeAgent` is the part of a kubelet that speaks for the node itself, not for its pods: it
registers the Node object, renews the node's Lease in `kube-node-lease` every 10 s (the
heartbeat the node lifecycle controller watches) and reports the node's status. Like current
kubelets, it writes the Node's status only when something changed or every 5 minutes
(`nodeStatusReportFrequency`): the Lease is the heartbeat, so a Node's `lastHeartbeatTime` may
be up to 5 minutes old on a healthy node. `stop()` is an outage (the heartbeats and the
kubelet stop); `start()` brings the node back and reports it Ready at once.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from . import errors, quantities
from .clock import format_micro_time, format_time
from .events import Recorder
from .objects import Objects

CLUSTER_NAME = "k8s-course"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
KUBELET_VERSION = "v1.36.2"
CONTAINER_RUNTIME_VERSION = "containerd://2.1.1"
OS_IMAGE = "Debian GNU/Linux 12 (bookworm)"  # what kindest/node images run
KERNEL_VERSION = "6.8.0-60-generic"
ARCHITECTURE = "amd64"
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40
LEASE_RENEW_SECONDS = 10  # a quarter of the lease duration, as the kubelet renews
STATUS_REPORT_SECONDS = 300  # nodeStatusReportFrequency: a status write at least this often
KUBELET_PORT = 10250
# what the kubelet keeps back from pods by default (evictionHard): memory.available<100Mi,
# nodefs.available<10%
EVICTION_MEMORY = Decimal(100 * 1024 * 1024)
EVICTION_NODEFS_FRACTION = Decimal("0.1")

# the kubelet's healthy node conditions: (type, status, reason, message, event reason)
HEALTHY_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
     "NodeHasSufficientMemory"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
     "NodeHasNoDiskPressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
     "NodeHasSufficientPID"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status", "NodeReady"),
)

NODES = ("", "nodes")


@dataclass
class NodeSpec:
    """What one simulated machine is; sizes are Kubernetes quantities."""

    name: str
    role: str = "worker"  # "control-plane" or "worker"
    cpu: str = "4"
    memory: str = "8Gi"
    pods: str = "110"
    ephemeral_storage: str = "100Gi"
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict] = field(default_factory=list)


def default_nodes(workers: int = 2, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
                  ephemeral_storage: str = "100Gi", cluster: str = CLUSTER_NAME) -> list[NodeSpec]:
    """The kind cluster of kind-config.yaml: one control plane, then `workers` workers."""
    if workers < 0:
        raise ValueError("the number of workers cannot be negative")
    sizes = dict(cpu=cpu, memory=memory, pods=pods, ephemeral_storage=ephemeral_storage)
    nodes = [NodeSpec(
        f"{cluster}-control-plane", "control-plane", **sizes,
        labels={CONTROL_PLANE_LABEL: "", "node.kubernetes.io/exclude-from-external-load-balancers": ""},
        taints=[{"key": CONTROL_PLANE_LABEL, "effect": "NoSchedule"}])]
    for number in range(1, workers + 1):
        # kind names them worker, worker2, worker3, ...
        nodes.append(NodeSpec(f"{cluster}-worker{number if number > 1 else ''}", "worker", **sizes))
    return nodes


# what a Node looks like

def pod_cidr(index: int) -> str:
    """kind gives node N the pod range 10.244.N.0/24 (the control plane is N=0)."""
    return f"10.244.{index}.0/24"


def internal_ip(index: int) -> str:
    """Addresses on kind's docker network 172.18.0.0/16; .1 is the gateway."""
    return f"172.18.0.{index + 2}"


def capacity(spec: NodeSpec) -> dict[str, str]:
    memory = quantities.parse_quantity(spec.memory)
    storage = quantities.parse_quantity(spec.ephemeral_storage)
    return {"cpu": spec.cpu, "ephemeral-storage": _kibibytes(storage), "hugepages-1Gi": "0",
            "hugepages-2Mi": "0", "memory": _kibibytes(memory), "pods": spec.pods}


def allocatable(spec: NodeSpec) -> dict[str, str]:
    """Capacity less the kubelet's default hard-eviction reserves (100Mi, 10% of the disk)."""
    memory = quantities.parse_quantity(spec.memory)
    storage = quantities.parse_quantity(spec.ephemeral_storage)
    return dict(capacity(spec),
                memory=_kibibytes(max(memory - EVICTION_MEMORY, Decimal(0))),
                **{"ephemeral-storage": quantities.format_quantity(
                    (storage * (1 - EVICTION_NODEFS_FRACTION)).to_integral_value())})


def _kibibytes(value: Decimal) -> str:
    return f"{int(value) // 1024}Ki"


def _stable_id(name: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{name}".encode()).hexdigest()[:32]


def node_labels(spec: NodeSpec) -> dict[str, str]:
    labels = {"beta.kubernetes.io/arch": ARCHITECTURE, "beta.kubernetes.io/os": "linux",
              "kubernetes.io/arch": ARCHITECTURE, "kubernetes.io/hostname": spec.name,
              "kubernetes.io/os": "linux"}
    if spec.role == "control-plane":
        labels[CONTROL_PLANE_LABEL] = ""
    labels.update(spec.labels)
    return labels


def node_object(spec: NodeSpec, index: int, now: float) -> dict:
    """The Node a kubelet registers (kind's, with the course's sizes)."""
    cidr = pod_cidr(index)
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": spec.name, "labels": node_labels(spec),
            "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                            "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr], "providerID": f"kind://docker/{CLUSTER_NAME}/{spec.name}",
                 **({"taints": copy.deepcopy(spec.taints)} if spec.taints else {})},
        "status": node_status(spec, index, [], now),
    }


def node_status(spec: NodeSpec, index: int, previous_conditions: list[dict], now: float) -> dict:
    machine = _stable_id(spec.name, "machine")
    return {
        "capacity": capacity(spec),
        "allocatable": allocatable(spec),
        "conditions": healthy_conditions(previous_conditions, now),
        "addresses": [{"type": "InternalIP", "address": internal_ip(index)},
                      {"type": "Hostname", "address": spec.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": machine, "systemUUID": str(uuid.UUID(_stable_id(spec.name, "system"))),
            "bootID": str(uuid.UUID(_stable_id(spec.name, "boot"))), "kernelVersion": KERNEL_VERSION,
            "osImage": OS_IMAGE, "containerRuntimeVersion": CONTAINER_RUNTIME_VERSION,
            "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": "", "operatingSystem": "linux",
            "architecture": ARCHITECTURE,
        },
        "runtimeHandlers": [
            {"name": "runc", "features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}},
            {"name": "", "features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}},
        ],
        "features": {"supplementalGroupsPolicy": True},
    }


def healthy_conditions(previous: list[dict], now: float) -> list[dict]:
    """The kubelet's conditions on a healthy node; a transition time moves only on a change."""
    before = {c.get("type"): c for c in previous or []}
    stamp = format_time(now)
    conditions = []
    for kind, status, reason, message, _event in HEALTHY_CONDITIONS:
        old = before.get(kind)
        changed = old is None or old.get("status") != status
        conditions.append({"type": kind, "status": status, "lastHeartbeatTime": stamp,
                           "lastTransitionTime": stamp if changed else old.get("lastTransitionTime", stamp),
                           "reason": reason, "message": message})
    # conditions other components own (NetworkUnavailable from a CNI) are kept
    conditions += [c for kind, c in before.items() if kind not in {h[0] for h in HEALTHY_CONDITIONS}]
    return conditions


class NodeAgent:
    """One node's heartbeat: registers the Node, renews its Lease, reports its status.

    `run()` is its loop (start it as a task, like a controller's); `stop()` and `start()` are an
    outage and a recovery, and stop and start the node's kubelet with it, if it has one.
    """

    def __init__(self, objects: Objects, spec: NodeSpec, index: int, kubelet=None):
        self.objects = objects
        self.spec = spec
        self.index = index
        self.kubelet = kubelet
        self.clock = objects.clock
        self.running = True
        self.registered = False
        self.last_renewal: float | None = None
        self.last_report: float | None = None
        self._nodes = objects.registry.lookup("", "v1", "nodes")
        self._leases = objects.registry.lookup("coordination.k8s.io", "v1", "leases")
        self._events = Recorder(objects, "kubelet", spec.name)
        self._resumed = asyncio.Event()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pod_cidr(self) -> str:
        return pod_cidr(self.index)

    @property
    def internal_ip(self) -> str:
        return internal_ip(self.index)

    # the loop

    async def run(self) -> None:
        self.register()
        while True:
            if not self.running:
                self._resumed.clear()
                await self._resumed.wait()
                continue
            now = self.clock.now()
            if self.last_renewal is None or now >= self.last_renewal + LEASE_RENEW_SECONDS:
                self.renew_lease()
            if self.last_report is None or now >= self.last_report + STATUS_REPORT_SECONDS:
                self.report_status()
            await self.clock.sleep_until(min(self.last_renewal + LEASE_RENEW_SECONDS,
                                             self.last_report + STATUS_REPORT_SECONDS))

    # faults

    def stop(self) -> None:
        """An outage: no more heartbeats or status; the kubelet stops too."""
        if not self.running:
            return
        self.running = False
        if self.kubelet is not None:
            _call_soon(self.kubelet.stop)

    def start(self) -> None:
        """Recovery: the node reports Ready and renews its Lease now, then keeps beating."""
        if self.running:
            return
        self.running = True
        if self.kubelet is not None:
            _call_soon(self.kubelet.start)
        if self.registered:
            self.renew_lease()
            self.report_status()
        self._resumed.set()

    def state(self) -> dict:
        """What the admin API shows about this node."""
        return {
            "name": self.name, "role": self.spec.role, "running": self.running,
            "podCIDR": self.pod_cidr, "internalIP": self.internal_ip,
            "lastLeaseRenewal": format_micro_time(self.last_renewal) if self.last_renewal else None,
            "lastStatusReport": format_time(self.last_report) if self.last_report else None,
            "kubelet": None if self.kubelet is None else bool(getattr(self.kubelet, "running", True)),
        }

    # the writes

    def register(self) -> None:
        """Create the Node (or take over an existing one, as a restarted kubelet does)."""
        now = self.clock.now()
        body = node_object(self.spec, self.index, now)
        current = self.objects.find(self._nodes, "", self.name)
        if current is None:
            try:
                self.objects.create(self._nodes, None, body)
                self._record_transitions([], body["status"]["conditions"])
            except errors.APIError as error:
                if error.code != 409:
                    raise
        else:
            updated = copy.deepcopy(current)
            updated["metadata"].setdefault("labels", {}).update(body["metadata"]["labels"])
            for key in ("podCIDR", "podCIDRs", "providerID"):
                updated.setdefault("spec", {}).setdefault(key, body["spec"][key])
            self.objects.update(self._nodes, None, self.name, updated)
        self.registered = True
        self.report_status()
        self.renew_lease()

    def renew_lease(self) -> None:
        now = self.clock.now()
        self.last_renewal = now
        current = self.objects.find(self._leases, LEASE_NAMESPACE, self.name)
        if current is None:
            node = self.objects.find(self._nodes, "", self.name)
            owner = [{"apiVersion": "v1", "kind": "Node", "name": self.name, "uid": node["metadata"]["uid"]}] \
                if node else []
            try:
                self.objects.create(self._leases, LEASE_NAMESPACE, {
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": LEASE_NAMESPACE,
                                 **({"ownerReferences": owner} if owner else {})},
                    "spec": {"holderIdentity": self.name, "leaseDurationSeconds": LEASE_DURATION_SECONDS,
                             "renewTime": format_micro_time(now)}})
            except errors.APIError as error:
                if error.code not in (404, 409):  # kube-node-lease missing, or a race
                    raise
            return
        renewed = copy.deepcopy(current)
        renewed["spec"]["renewTime"] = format_micro_time(now)
        renewed["spec"]["holderIdentity"] = self.name
        renewed["spec"]["leaseDurationSeconds"] = LEASE_DURATION_SECONDS
        self.objects.update(self._leases, LEASE_NAMESPACE, self.name, renewed)

    def report_status(self) -> None:
        now = self.clock.now()
        self.last_report = now
        current = self.objects.find(self._nodes, "", self.name)
        if current is None:
            return  # deleted: a real kubelet keeps failing to update it until restarted
        updated = copy.deepcopy(current)
        previous = (current.get("status") or {}).get("conditions") or []
        fresh = node_status(self.spec, self.index, previous, now)
        status = updated.setdefault("status", {})
        for key in ("capacity", "allocatable", "conditions", "addresses", "daemonEndpoints", "nodeInfo"):
            status[key] = fresh[key]
        for key in ("runtimeHandlers", "features"):
            status.setdefault(key, fresh[key])
        self.objects.update(self._nodes, None, self.name, updated, subresource="status")
        self._record_transitions(previous, fresh["conditions"])

    def _record_transitions(self, previous: list[dict], current: list[dict]) -> None:
        """The kubelet's events when a condition changes: "Node x status is now: NodeReady"."""
        before = {c.get("type"): c.get("status") for c in previous}
        after = {c.get("type"): c.get("status") for c in current}
        # the kubelet refers to its node by name, and uses the name as the uid too
        reference = {"kind": "Node", "metadata": {"name": self.name, "uid": self.name}}
        for kind, status, _reason, _message, event in HEALTHY_CONDITIONS:
            if after.get(kind) == status and before.get(kind) != status:
                self._events.event(reference, event, f"Node {self.name} status is now: {event}")


def _call_soon(method) -> None:
    """Call a kubelet's stop/start, whether it is a plain method or a coroutine function."""
    result = method()
    if asyncio.iscoroutine(result):
        asyncio.ensure_future(result)
