"""One container of a pod across its restarts: its state, its running instance and its logs.

A `ContainerSlot` is what `status.containerStatuses[]` describes: the current state (waiting,
running or terminated, with reason and times), the last termination, the restart count,
readiness, and the container's log lines, the current instance's and the previous one's.
An `Instance` is one start of the container: the image model's `run(ctx)` as an asyncio task,
whose return (or cancellation, for a kill) becomes the terminated state at once.
"""

from __future__ import annotations

import asyncio
import logging

from . import kubelet_formats
from .clock import format_time
from .images import base

log = logging.getLogger(__name__)

KILLED_EXIT_CODE = 137  # 128 + SIGKILL
KEPT_INSTANCE_LOGS = 3
MAX_LOG_LINES = 50_000  # per instance: a chatty model must not eat the machine


class Instance:
    """One start of a container: the model's task and what it was given."""

    def __init__(self, slot: ContainerSlot, model: base.ImageModel, ctx: base.ContainerContext,
                 started_at: float):
        self.slot = slot
        self.model = model
        self.ctx = ctx
        self.started_at = started_at
        self.container_id = kubelet_formats.new_container_id()
        self.exited = asyncio.Event()
        self.exit_code: int | None = None
        self.reason = ""
        self.killed = False  # the kubelet sent SIGKILL
        self.crashed_with: int | None = None  # the admin API made the process exit with this code
        self.helpers: list[asyncio.Task] = []  # probes and hooks that live as long as it runs
        self.task = asyncio.ensure_future(self._run())
        self.task.add_done_callback(self._finished)

    async def _run(self) -> int:
        code = await self.model.run(self.ctx)
        return int(code or 0)

    def _finished(self, task: asyncio.Task) -> None:
        if self.crashed_with is not None:
            code = self.crashed_with
            reason = "Completed" if code == 0 else "Error"
        elif task.cancelled():
            code, reason = KILLED_EXIT_CODE, "Error"
        elif isinstance(task.exception(), MemoryError):
            code, reason = KILLED_EXIT_CODE, "OOMKilled"  # a model says OOM by raising MemoryError
        elif task.exception() is not None:
            error = task.exception()
            log.warning("the model of container %s failed: %r", self.slot.name, error)
            self.slot.append_log(f"{type(error).__name__}: {error}")
            code, reason = 1, "Error"
        else:
            code = task.result()
            reason = "Completed" if code == 0 else "Error"
        self.exit_code, self.reason = code, reason
        for helper in self.helpers:
            helper.cancel()
        self.slot.instance_exited(self)
        self.exited.set()

    @property
    def running(self) -> bool:
        return not self.task.done()

    def kill(self) -> None:
        if not self.task.done():
            self.killed = True
            self.task.cancel()

    def crash(self, exit_code: int) -> None:
        """The process exits now with `exit_code` (a fault injected through the admin API)."""
        if not self.task.done():
            self.crashed_with = exit_code
            self.slot.append_log(f"k8s-course simulator: container crashed on request (exit code {exit_code})")
            self.task.cancel()


class ContainerSlot:
    """What the kubelet knows of one container name in one pod."""

    def __init__(self, spec: dict, kind: str, clock, on_change):
        self.spec = spec
        self.name = spec["name"]
        self.kind = kind  # "init", "sidecar" or "main"
        self.clock = clock
        self._on_change = on_change  # () -> None: the pod's status should be written
        self.state: dict = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state: dict = {}
        self.restart_count = 0
        self.starts = 0
        self.ready = False
        self.started = False
        self.started_once = asyncio.Event()  # first time `started` turned true (sidecar ordering)
        self.instance: Instance | None = None
        self.image_id = ""
        self.exits_in_row = 0
        # container ID -> (time, line), for the last few instances: `kubectl logs` reads the
        # one the status names, `--previous` the one lastState names
        self.log_book: dict[str, list[tuple[float, str]]] = {}
        self._followers: list[asyncio.Queue] = []

    # state changes

    def wait(self, reason: str, message: str | None = None) -> None:
        waiting = {"reason": reason}
        if message:
            waiting["message"] = message
        self.state = {"waiting": waiting}
        self.ready = self.started = False
        self._on_change()

    def start(self, model: base.ImageModel, ctx: base.ContainerContext) -> Instance:
        now = self.clock.now()
        if self.starts:
            self.restart_count += 1
        self.starts += 1
        ctx.log = self.append_log
        self.image_id = kubelet_formats.image_id(self.spec.get("image", ""))
        instance = Instance(self, model, ctx, now)
        self.instance = instance
        self.log_book[instance.container_id] = []
        while len(self.log_book) > KEPT_INSTANCE_LOGS:
            del self.log_book[next(iter(self.log_book))]
        self.state = {"running": {"startedAt": format_time(now)}}
        self.ready = False
        self.started = False
        self._on_change()
        return instance

    def set_started(self) -> None:
        if not self.started and self.running:
            self.started = True
            self.started_once.set()
            if not self.has_probe("readinessProbe") and self.kind != "init":
                self.ready = True
            self._on_change()

    def set_ready(self, ready: bool) -> None:
        if ready != self.ready and self.running:
            self.ready = ready
            self._on_change()

    def instance_exited(self, instance: Instance) -> None:
        if instance is not self.instance:
            return
        now = self.clock.now()
        terminated = {"containerID": instance.container_id, "exitCode": instance.exit_code,
                      "finishedAt": format_time(now), "reason": instance.reason,
                      "startedAt": format_time(instance.started_at)}
        self.state = {"terminated": terminated}
        self.ready = self.started = False
        for queue in self._followers:
            queue.put_nowait(None)
        self._followers.clear()
        self._on_change()

    def back_off(self, delay: float, pod_reference: str) -> None:
        """Waiting out a crash loop: the last run becomes lastState."""
        self.retire_last_run()
        self.wait("CrashLoopBackOff", f"back-off {kubelet_formats.go_duration(delay)} restarting failed "
                                      f"container={self.name} pod={pod_reference}")

    def retire_last_run(self) -> None:
        if "terminated" in self.state:
            self.last_state = {"terminated": self.state["terminated"]}

    # reading

    @property
    def running(self) -> bool:
        return self.instance is not None and self.instance.running

    def has_probe(self, kind: str) -> bool:
        return bool(self.spec.get(kind))

    def ran_for(self) -> float:
        instance = self.instance
        if instance is None:
            return 0.0
        return self.clock.now() - instance.started_at

    def status(self) -> dict:
        """This container's entry in status.containerStatuses / initContainerStatuses."""
        image = self.spec.get("image", "")
        ran = self.instance is not None
        entry = {
            "image": kubelet_formats.full_image(image) if ran else image,
            "imageID": self.image_id,
            "lastState": self.last_state,
            "name": self.name,
            "ready": self.ready,
            "restartCount": self.restart_count,
            "started": self.started,
            "state": self.state,
        }
        if ran:
            entry["containerID"] = self._container_id()
            resources = self.spec.get("resources") or {}
            if resources.get("requests") or resources.get("limits"):
                entry["resources"] = resources
            mounts = [{"mountPath": m.get("mountPath"), "name": m.get("name"),
                       **({"readOnly": True} if m.get("readOnly") else {}),
                       "recursiveReadOnly": "Disabled"} for m in self.spec.get("volumeMounts") or []]
            if mounts:
                entry["volumeMounts"] = mounts
        if self.kind == "init" and (self.state.get("terminated") or {}).get("exitCode") == 0:
            entry["ready"] = True  # a completed init container counts as ready
        return entry

    def _container_id(self) -> str:
        if "terminated" in self.state:
            return self.state["terminated"]["containerID"]
        if self.instance is not None and "waiting" not in self.state:
            return self.instance.container_id
        return (self.last_state.get("terminated") or {}).get("containerID") or self.instance.container_id

    # logs

    def _state_id(self, state: dict) -> str | None:
        for key in ("running", "terminated"):
            if key in state:
                return state[key].get("containerID") if key == "terminated" else self.instance.container_id
        return None

    def current_log_id(self) -> str | None:
        """The instance `kubectl logs` shows: running, else just terminated, else lastState's."""
        return self._state_id(self.state) or (self.last_state.get("terminated") or {}).get("containerID")

    def previous_log_id(self) -> str | None:
        """The instance `--previous` shows: lastState's, else a terminated current one."""
        last = (self.last_state.get("terminated") or {}).get("containerID")
        return last or (self.state.get("terminated") or {}).get("containerID")

    def lines(self, container_id: str | None) -> list[tuple[float, str]]:
        return list(self.log_book.get(container_id or "", []))

    def append_log(self, line: str, stream: str = "stdout") -> None:
        instance = self.instance
        if instance is None:
            return
        lines = self.log_book.setdefault(instance.container_id, [])
        entry = (self.clock.now(), line.rstrip("\n"))
        if len(lines) >= MAX_LOG_LINES:
            del lines[: MAX_LOG_LINES // 10]
        lines.append(entry)
        for queue in self._followers:
            queue.put_nowait(entry)

    def follow(self) -> asyncio.Queue:
        """A queue of the current instance's lines from now on; None when it ends."""
        queue: asyncio.Queue = asyncio.Queue()
        if self.running:
            self._followers.append(queue)
        else:
            queue.put_nowait(None)
        return queue

    def unfollow(self, queue: asyncio.Queue) -> None:
        if queue in self._followers:
            self._followers.remove(queue)
