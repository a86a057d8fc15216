"""The kubelet of one simulated node: runs the pods bound to it and reports what they do.

    network = PodNetwork()  # one per cluster, shared by every kubelet
    kubelet = Kubelet(cluster.objects, "worker-1", "10.244.1.0/24", network=network)
    asyncio.ensure_future(kubelet.run())

It watches the pods whose spec.nodeName is its node (and only those), runs each in a
`kubelet_pods.PodWorker`, writes their status through the status subresource and records
Events as `kubelet` on its node. For the API side it answers `log_lines`, `follow`, `exec`
and `usage` (kubectl logs / exec / top).

`stop()` is a node outage seen from the control plane: the kubelet stops writing (no status,
no events, no deletions finished) and its pods become unreachable on the pod network, while the
containers themselves keep running. `start()` brings it back: it re-reads its pods, forgets the
ones deleted meanwhile and writes every status afresh. The node's heartbeats belong to whoever
owns Node objects: they read `kubelet.running`, or register `add_listener(callback)` to be told
(`callback(kubelet)`) when it stops or starts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable

from . import disks as disks_module
from . import events, quantities
from .controllers.base import Controller
from .images import base
from .kubelet_images import NodeImages
from .kubelet_network import PodAddresses, PodNetwork
from .kubelet_pods import PodWorker
from .kubelet_volumes import VolumeRefresher

log = logging.getLogger(__name__)

PODS = ("", "pods")
NODES = ("", "nodes")
MIB = 1024 * 1024


class PodLookupError(LookupError):
    """What the API answers when logs or exec cannot be had; `code` is the HTTP status."""

    def __init__(self, message: str, code: int = 400):
        super().__init__(message)
        self.message = message
        self.code = code


class Kubelet(Controller):
    def __init__(self, objects, node_name: str, pod_cidr: str, images=None, *,
                 network: PodNetwork | None = None,
                 pull_delay: float | dict | Callable[[str], float] = 0.0,
                 host_ip: str | None = None, disks: disks_module.Disks | None = None):
        """`images`: anything with `model_for(container)` (default: images.registry);
        `pull_delay`: simulated seconds per pull, a number, {image: seconds} or a function;
        `disks`: the cluster's persistent disks (shared by its kubelets; default: this one's own)."""
        super().__init__(objects)
        self.node_name = node_name
        self.pod_cidr = pod_cidr
        self.addresses = PodAddresses(pod_cidr)
        self.network = network if network is not None else PodNetwork()
        self.images = NodeImages(images, pull_delay)
        self.recorder = events.Recorder(objects, "kubelet", node_name)
        self.pods = self.rtype("", "v1", "pods")
        self.workers: dict[tuple[str, str], PodWorker] = {}
        self.running = True
        self._up = asyncio.Event()
        self._up.set()
        self._watcher = None
        self._host_ip = host_ip
        self._listeners: list[Callable[[Kubelet], None]] = []
        self.disks = disks if disks is not None else disks_module.Disks(objects.store)
        self.volume_refresher = VolumeRefresher(self)  # ConfigMap/Secret volumes follow their objects

    # the node

    @property
    def host_ip(self) -> str:
        if self._host_ip is None:
            node = self.store.get(NODES, "", self.node_name) or {}
            for address in (node.get("status") or {}).get("addresses") or []:
                if address.get("type") == "InternalIP":
                    self._host_ip = address.get("address")
                    return self._host_ip
            # kind's nodes sit on 172.18.0.0/16; derive one from the pod CIDR's third octet
            third = int(str(self.addresses.network.network_address).split(".")[2])
            return f"172.18.0.{third + 2}"
        return self._host_ip

    def add_listener(self, callback: Callable[[Kubelet], None]) -> None:
        """`callback(kubelet)` after every stop() and start() (for the node's heartbeats)."""
        self._listeners.append(callback)

    def stop(self) -> None:
        """The node is cut off: no more writes, its pods unreachable."""
        if not self.running:
            return
        self.running = False
        self._up.clear()
        if self._watcher is not None:
            self._watcher.queue.put_nowait(None)
        for worker in self.workers.values():
            if worker.endpoint is not None:
                worker.endpoint.reachable = False
        self._tell()

    def start(self) -> None:
        """The node is back: catch up with the API and report every pod's status again."""
        if self.running:
            return
        self.running = True
        self._up.set()
        for worker in self.workers.values():
            if worker.endpoint is not None:
                worker.endpoint.reachable = True
            worker.changed()
        self._tell()

    def _tell(self) -> None:
        for callback in list(self._listeners):
            try:
                callback(self)
            except Exception:
                log.exception("a kubelet listener failed")

    async def wait_until_running(self) -> None:
        await self._up.wait()

    # the watch

    def _on_this_node(self, pod: dict) -> bool:
        return (pod.get("spec") or {}).get("nodeName") == self.node_name

    async def run(self) -> None:
        refreshing = asyncio.ensure_future(self.volume_refresher.run())
        try:
            while True:
                await self._up.wait()
                watcher = self.store.watch(PODS, None, self._on_this_node, None)
                self._watcher = watcher
                self._forget_vanished()
                try:
                    while True:
                        item = await watcher.queue.get()
                        if item is None:
                            break
                        try:
                            self._handle(*item)
                        except Exception:
                            log.exception("kubelet %s failed on pod %s", self.node_name,
                                          item[1]["metadata"].get("name"))
                finally:
                    self.store.stop_watch(watcher)
                    self._watcher = None
                if self.running and not watcher.overflowed:
                    return  # the cluster is shutting down
        finally:
            refreshing.cancel()
            for worker in list(self.workers.values()):
                worker.abandon()

    def _forget_vanished(self) -> None:
        """Pods deleted while the kubelet was away are stopped at once."""
        for key, worker in list(self.workers.items()):
            current = self.store.get(PODS, *key)
            if current is None or current["metadata"].get("uid") != worker.uid:
                worker.abandon()
                del self.workers[key]

    def _handle(self, kind: str, pod: dict) -> None:
        meta = pod["metadata"]
        key = (meta.get("namespace", "default"), meta["name"])
        worker = self.workers.get(key)
        if worker is not None and (kind == "DELETED" or worker.uid != meta.get("uid")):
            worker.abandon()
            del self.workers[key]
            worker = None
        if kind == "DELETED":
            return
        if worker is not None:
            worker.update(pod)
            return
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed") or meta.get("deletionTimestamp"):
            # nothing of it runs here: a deleted one can go
            if meta.get("deletionTimestamp"):
                self.objects.finish_deletion(self.pods, key[0], key[1])
            return
        worker = PodWorker(self, pod)
        self.workers[key] = worker
        worker.begin()

    def finish_deletion(self, worker: PodWorker) -> None:
        if not self.running:
            return
        current = self.store.get(PODS, worker.namespace, worker.name)
        if current is not None and current["metadata"].get("uid") == worker.uid:
            self.objects.finish_deletion(self.pods, worker.namespace, worker.name)

    # for the API: logs, exec, metrics

    def has_pod(self, namespace: str, pod: str) -> bool:
        return (namespace, pod) in self.workers

    def _slot(self, namespace: str, pod: str, container: str | None):
        worker = self.workers.get((namespace, pod))
        if worker is None:
            raise PodLookupError(f'pods "{pod}" not found', 404)
        if container is None:
            if len(worker.main_slots) == 1:
                return worker, worker.main_slots[0]
            choices = " ".join(slot.name for slot in worker.main_slots)
            message = f"a container name must be specified for pod {pod}, choose one of: [{choices}]"
            if worker.init_slots:
                message += f" or one of the init containers: [{' '.join(s.name for s in worker.init_slots)}]"
            raise PodLookupError(message)
        slot = worker.slots.get(container)
        if slot is None:
            raise PodLookupError(f"container {container} is not valid for pod {pod}")
        return worker, slot

    def log_lines(self, namespace: str, pod: str, container: str | None = None,
                  previous: bool = False) -> list[tuple[float, str]]:
        """(simulated time, line) of the container's current instance, or of the previous one."""
        _, slot = self._slot(namespace, pod, container)
        if previous:
            found = slot.previous_log_id()
            if found is None:
                raise PodLookupError(f'previous terminated container "{slot.name}" in pod "{pod}" not found')
            return slot.lines(found)
        found = slot.current_log_id()
        if found is None:
            reason = (slot.state.get("waiting") or {}).get("reason", "ContainerCreating")
            words = {"ErrImagePull": "image can't be pulled",
                     "ImagePullBackOff": "trying and failing to pull image"}.get(reason, reason)
            raise PodLookupError(f'container "{slot.name}" in pod "{pod}" is waiting to start: {words}')
        return slot.lines(found)

    def follow(self, namespace: str, pod: str, container: str | None = None) -> AsyncIterator[tuple[float, str]]:
        """The lines so far, then each new one until the container stops (kubectl logs -f).

        Errors (unknown pod, waiting container) are raised here, before iterating.
        """
        existing = self.log_lines(namespace, pod, container)
        _, slot = self._slot(namespace, pod, container)
        queue = slot.follow()  # registered now, so no line falls between the two

        async def lines():
            try:
                for entry in existing:
                    yield entry
                while True:
                    entry = await queue.get()
                    if entry is None:
                        return
                    yield entry
            finally:
                slot.unfollow(queue)

        return lines()

    async def exec(self, namespace: str, pod: str, container: str | None,
                   command: list[str]) -> base.ExecResult:
        worker, slot = (self._slot(namespace, pod, container) if container is not None
                        else self._default_container(namespace, pod))
        if not slot.running:
            raise PodLookupError(f'unable to upgrade connection: container not found ("{slot.name}")')
        instance = slot.instance
        return await instance.model.exec(list(command), instance.ctx)

    def crash(self, namespace: str, pod: str, container: str | None, exit_code: int) -> None:
        """Make a running container exit now (the admin API's fault); restartPolicy decides what next."""
        worker, slot = (self._slot(namespace, pod, container) if container is not None
                        else self._default_container(namespace, pod))
        if not slot.running:
            raise PodLookupError(f'container "{slot.name}" in pod "{pod}" is not running', 409)
        slot.instance.crash(exit_code)

    def _default_container(self, namespace: str, pod: str):
        worker = self.workers.get((namespace, pod))
        if worker is None:
            raise PodLookupError(f'pods "{pod}" not found', 404)
        return worker, worker.main_slots[0]

    def usage(self, namespace: str, pod: str) -> dict[str, tuple[int, int]]:
        """{container: (cpu nanocores, memory bytes)} of the running containers (metrics)."""
        worker = self.workers.get((namespace, pod))
        if worker is None:
            raise PodLookupError(f'pods "{pod}" not found', 404)
        found = {}
        for slot in worker.slots.values():
            if not slot.running:
                continue
            instance = slot.instance
            measure = getattr(instance.model, "usage", None)
            if measure is not None:
                found[slot.name] = tuple(int(v) for v in measure(instance.ctx))
            else:
                found[slot.name] = _idle_usage(slot.spec, instance.container_id, self.clock.now())
        return found


def _idle_usage(container: dict, container_id: str, now: float) -> tuple[int, int]:
    """A few millicores and MiB, steady per container with a little drift, within its limits."""
    seed = int(hashlib.sha256(container_id.encode()).hexdigest()[:8], 16)
    drift = int(now // 15) % 3  # metrics-server scrapes every 15 s
    cpu = (1 + seed % 4 + drift) * 1_000_000 + seed % 997_000
    memory = (4 + seed % 28) * MIB + drift * 64 * 1024
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    if "cpu" in limits:
        cpu = min(cpu, int(quantities.parse_quantity(str(limits["cpu"])) * 1_000_000_000))
    if "memory" in limits:
        memory = min(memory, int(quantities.parse_quantity(str(limits["memory"]))))
    return cpu, memory
