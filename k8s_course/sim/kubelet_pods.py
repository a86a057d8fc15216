"""One pod on one node, from its sandbox to its removal: the kubelet's pod worker.

The order of things is Kubernetes': a sandbox (the pod's IP), volumes, then the init containers
one by one, each to exit 0 (restarted per restartPolicy on failure); a native sidecar (an init
container with restartPolicy Always) is started and the next init container waits until it has
*started* (its startupProbe passed). Then every regular container at once, each restarted per
restartPolicy with the CrashLoopBackOff delays (0, 10, 20, 40 ... 300 s after each exit, reset
after 10 minutes of running). When the regular containers are done for good (a Job's pod),
the sidecars are stopped in reverse order and the pod Succeeds or Fails. A deletionTimestamp
stops the regular containers (preStop, SIGTERM, SIGKILL at the grace period's end), then the
sidecars in reverse order, and removes the pod.
"""

from __future__ import annotations

import asyncio
import logging

from . import disks, errors, kubelet_config, kubelet_formats, kubelet_images, kubelet_status
from .kubelet_containers import ContainerSlot
from .kubelet_network import PodEndpoint, PodView
from .kubelet_probes import KINDS
from .kubelet_starting import run_hook, run_instance

log = logging.getLogger(__name__)

MOUNT_RETRY_SECONDS = 10.0
PODS = ("", "pods")


class PodWorker:
    def __init__(self, kubelet, pod: dict):
        self.kubelet = kubelet
        self.clock = kubelet.clock
        self.pod = pod
        meta, spec = pod["metadata"], pod["spec"]
        self.namespace = meta.get("namespace", "default")
        self.name = meta["name"]
        self.uid = meta.get("uid")
        self.hostname = spec.get("hostname") or self.name[:63]
        self.init_slots = [ContainerSlot(c, "sidecar" if kubelet_formats.is_sidecar(c) else "init",
                                         self.clock, self.changed) for c in spec.get("initContainers") or []]
        self.main_slots = [ContainerSlot(c, "main", self.clock, self.changed) for c in spec.get("containers") or []]
        self.slots = {slot.name: slot for slot in [*self.init_slots, *self.main_slots]}
        if self.init_slots:
            for slot in self.slots.values():
                slot.state = {"waiting": {"reason": "PodInitializing"}}
        self.ip: str | None = None
        self.host_ip: str | None = None
        self.start_time: str | None = None
        self.sandbox_ready = False
        self.initialized = not self.init_slots
        self.terminal_phase: str | None = None
        self.terminating = False
        self.finished = False  # everything stopped and cleaned up
        self.deadline = 0.0  # when a deleted pod's containers get SIGKILL
        self._deleting = False
        self._deadline_moved = asyncio.Event()
        self.files = None
        self.endpoint: PodEndpoint | None = None
        self.view: PodView | None = None
        self._tasks: set[asyncio.Task] = set()
        self._flow: asyncio.Task | None = None
        self._write_scheduled = False

    # lifecycle

    def begin(self) -> None:
        self._flow = self._spawn(self._live())

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("pod %s/%s: %r", self.namespace, self.name, task.exception(),
                      exc_info=task.exception())

    async def _live(self) -> None:
        self._create_sandbox()
        await self._mount_volumes()
        for slot in self.init_slots:
            if slot.kind == "sidecar":
                self._spawn(self._keep_running(slot))
                await slot.started_once.wait()
            elif not await self._run_to_completion(slot):
                await self._complete("Failed")
                return
        self.initialized = True
        self.changed()
        mains = [self._spawn(self._keep_running(slot)) for slot in self.main_slots]
        if mains:
            await asyncio.wait(mains)
        if not self.terminating:
            await self._complete(None)

    def _create_sandbox(self) -> None:
        spec = self.pod["spec"]
        self.host_ip = self.kubelet.host_ip
        self.ip = self.host_ip if spec.get("hostNetwork") else self.kubelet.addresses.allocate()
        self.start_time = self.clock.timestamp()
        self.files = kubelet_images.pod_files(self.pod, self.ip)
        self.endpoint = PodEndpoint(self.namespace, self.name)
        if not spec.get("hostNetwork"):
            self.kubelet.network.register(self.ip, self.endpoint)
        self.view = PodView(self.kubelet.network, self.kubelet.store, self.pod, self.endpoint, self.ip)
        self.sandbox_ready = True
        self.changed()

    def _release_sandbox(self) -> None:
        if not self.sandbox_ready:
            return  # released already: the address may be another pod's by now
        if self.ip and not self.pod["spec"].get("hostNetwork"):
            self.kubelet.network.unregister(self.ip, self.endpoint)
            self.kubelet.addresses.release(self.ip)
        self.sandbox_ready = False

    async def _mount_volumes(self) -> None:
        token = kubelet_config.service_account_token(self.pod, getattr(self.kubelet, "token_issuer", None))
        while True:
            try:
                for volume in self.pod["spec"].get("volumes") or []:
                    claim = volume.get("persistentVolumeClaim")
                    if isinstance(claim, dict) and hasattr(self.files, "attach"):
                        # the claim's disk: the same files for every pod that mounts the claim
                        self.files.attach(volume["name"], await disks.claimed_volume(
                            self.kubelet.store, self.kubelet.disks, self.namespace, claim.get("claimName", "")))
                        continue
                    files = kubelet_config.volume_files(self.pod, volume, self.kubelet.store, token)
                    if files is not None:
                        self.files.mount_files(volume["name"], files, read_only=True)
                return
            except kubelet_config.ConfigError as error:
                self.event(None, "FailedMount", str(error), "Warning")
                await self.clock.sleep(MOUNT_RETRY_SECONDS)

    # containers

    async def _run_to_completion(self, slot: ContainerSlot) -> bool:
        """An init container: run until it exits 0; False if it failed under restartPolicy Never."""
        while True:
            code = await run_instance(self, slot)
            if code == 0:
                return True
            if self.pod["spec"].get("restartPolicy", "Always") == "Never":
                return False
            await self._back_off(slot)

    async def _keep_running(self, slot: ContainerSlot) -> None:
        while True:
            code = await run_instance(self, slot)
            if self.terminating or not self._restarts(slot, code):
                return
            await self._back_off(slot)

    def _restarts(self, slot: ContainerSlot, code: int) -> bool:
        if slot.kind == "sidecar":
            return True
        policy = self.pod["spec"].get("restartPolicy", "Always")
        return policy == "Always" or (policy == "OnFailure" and code != 0)

    async def _back_off(self, slot: ContainerSlot) -> None:
        if slot.ran_for() >= kubelet_formats.BACKOFF_RESET_AFTER:
            slot.exits_in_row = 0
        slot.exits_in_row += 1
        delay = kubelet_formats.restart_delay(slot.exits_in_row)
        if delay <= 0:
            slot.retire_last_run()
            return
        reference = kubelet_formats.pod_reference(self.pod)
        slot.back_off(delay, reference)
        self.event(slot, "BackOff", f"Back-off restarting failed container {slot.name} in pod {reference}",
                   "Warning")
        await self.clock.sleep(delay)

    def container_started(self, slot: ContainerSlot, instance) -> None:
        self.endpoint.containers[slot.name] = (instance.ctx, instance.model)

        def gone(_task, name=slot.name, ctx=instance.ctx):
            held = self.endpoint.containers.get(name)
            if held is not None and held[0] is ctx:
                del self.endpoint.containers[name]

        instance.task.add_done_callback(gone)

    def grace_seconds(self) -> float:
        value = self.pod["spec"].get("terminationGracePeriodSeconds")
        return kubelet_formats.DEFAULT_GRACE_SECONDS if value is None else value

    # probes call these

    def probe_failed(self, slot: ContainerSlot, kind: str, message: str) -> None:
        self.event(slot, "Unhealthy", f"{KINDS[kind]} probe failed: {message}", "Warning")

    async def kill_for_probe(self, slot: ContainerSlot, instance, kind: str, probe: dict) -> None:
        grace = probe.get("terminationGracePeriodSeconds")
        grace = self.grace_seconds() if grace is None else grace
        await self.stop_instance(slot, instance, self.clock.now() + grace,
                                 f"Container {slot.name} failed {kind} probe, will be restarted")

    # stopping

    async def stop_instance(self, slot: ContainerSlot, instance, deadline: float | None, message: str) -> None:
        """Killing event, preStop, SIGTERM, then SIGKILL at the deadline (None: the pod's)."""
        if not instance.running:
            return
        self.event(slot, "Killing", message)

        def until() -> float:
            return self.deadline if deadline is None else deadline

        hook = (slot.spec.get("lifecycle") or {}).get("preStop")
        if hook:
            hook_task = asyncio.ensure_future(run_hook(self, slot, instance, hook, "PreStop"))
            await self._wait(hook_task, until)
            if not hook_task.done():
                hook_task.cancel()
            elif not hook_task.cancelled() and hook_task.exception() is None and hook_task.result():
                self.event(slot, "FailedPreStopHook", hook_task.result(), "Warning")
        instance.ctx.stopping.set()
        await self._wait(instance.task, until)
        if instance.running:
            instance.kill()
        await instance.exited.wait()

    async def _wait(self, task: asyncio.Future, until) -> None:
        """Wait for `task` until the deadline `until()` (which a shorter grace period can move)."""
        while not task.done():
            deadline = until()
            if self.clock.now() >= deadline:
                return
            timer = asyncio.ensure_future(self.clock.sleep_until(deadline))
            moved = asyncio.ensure_future(self._deadline_moved.wait())
            try:
                await asyncio.wait({task, timer, moved}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
                moved.cancel()
            if self._deadline_moved.is_set():
                await asyncio.sleep(0)  # let every waiter see the move before it is cleared
                self._deadline_moved.clear()

    async def _stop_sidecars(self, deadline: float | None) -> None:
        """Sidecars go last, in reverse order; their keepers must not restart them."""
        for slot in reversed([s for s in self.init_slots if s.kind == "sidecar"]):
            if slot.running:
                await self.stop_instance(slot, slot.instance, deadline, f"Stopping container {slot.name}")

    def _cancel_keepers(self) -> None:
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()

    async def _complete(self, phase: str | None) -> None:
        """The regular containers are done for good (or an init container failed for good)."""
        self.terminating = True  # nothing restarts from here on
        self._cancel_keepers()
        await self._stop_sidecars(self.clock.now() + self.grace_seconds())
        self.terminal_phase = phase or self._final_phase()
        self._release_sandbox()
        self.changed()

    def _final_phase(self) -> str:
        codes = [(slot.state.get("terminated") or {}).get("exitCode") for slot in self.main_slots]
        return "Succeeded" if codes and all(code == 0 for code in codes) else "Failed"

    def update(self, pod: dict) -> None:
        """A newer version of the pod from the watch."""
        if pod["metadata"].get("uid") != self.uid:
            return
        self.pod = pod
        meta = pod["metadata"]
        if not meta.get("deletionTimestamp"):
            return
        if self.finished:
            self.kubelet.finish_deletion(self)  # finalizers may have gone since
            return
        deadline = self.clock.now() + (meta.get("deletionGracePeriodSeconds") or 0)
        if not self._deleting:
            self._deleting = True
            self.deadline = deadline
            self._spawn(self._terminate())
        elif deadline < self.deadline:
            self.deadline = deadline
            self._deadline_moved.set()

    async def _terminate(self) -> None:
        self.terminating = True
        self._cancel_keepers()
        regular = [s for s in [*self.init_slots, *self.main_slots] if s.kind != "sidecar" and s.running]
        await asyncio.gather(*(self.stop_instance(s, s.instance, None, f"Stopping container {s.name}")
                               for s in regular))
        await self._stop_sidecars(None)
        if self.terminal_phase is None:
            self.terminal_phase = self._final_phase()
        self._release_sandbox()
        await self.kubelet.wait_until_running()
        self.write_status()
        self.finished = True
        self.kubelet.finish_deletion(self)

    def abandon(self) -> None:
        """The pod is gone from the API (deleted outright): stop everything now."""
        self.terminating = True
        self.finished = True
        for task in list(self._tasks):
            task.cancel()
        for slot in self.slots.values():
            if slot.instance is not None:
                slot.instance.kill()
        self._release_sandbox()

    # status and events

    def changed(self) -> None:
        """Something the status shows changed: write it once this loop turn is over."""
        if self._write_scheduled:
            return
        self._write_scheduled = True
        loop = asyncio.get_running_loop()
        # two hops: tasks spawned in this turn (the containers' keepers) take their first step
        # before the write, so that one write tells what they did
        loop.call_soon(loop.call_soon, self._scheduled_write)

    def _scheduled_write(self) -> None:
        self._write_scheduled = False
        self.write_status()

    def write_status(self) -> None:
        if not self.kubelet.running:
            return
        current = self.kubelet.store.get(PODS, self.namespace, self.name)
        if current is None or current["metadata"].get("uid") != self.uid:
            return
        self.pod = current
        status = kubelet_status.pod_status(self, current.get("status") or {}, self.clock.timestamp())
        if status == current.get("status"):
            return
        body = {"apiVersion": "v1", "kind": "Pod", "status": status,
                "metadata": {"name": self.name, "namespace": self.namespace, "uid": self.uid}}
        try:
            self.kubelet.objects.update(self.kubelet.pods, self.namespace, self.name, body,
                                        subresource="status")
        except errors.APIError as error:
            if error.code not in (404, 409):
                log.warning("pod %s/%s: status not written: %s", self.namespace, self.name, error.message)

    def event(self, slot: ContainerSlot | None, reason: str, message: str, type_: str = "Normal") -> None:
        if not self.kubelet.running:
            return
        field = None
        if slot is not None:
            field = f"spec.containers{{{slot.name}}}" if slot.kind == "main" else f"spec.initContainers{{{slot.name}}}"
        self.kubelet.recorder.event(self.pod, reason, message, type_, field_path=field)
