"""The Job controller: run pods to completion, count them, and say how the Job ended.

A Job creates pods `<job>-<5 chars>` (Indexed: `<job>-<index>-<5 chars>`) from its template up
to `parallelism` at a time until `completions` have succeeded. Every pod carries the
`batch.kubernetes.io/job-tracking` finalizer from its creation; a finished pod is first listed
in `status.uncountedTerminatedPods`, then loses the finalizer, then is added to
`status.succeeded` or `status.failed`, as the real controller tracks pods. Failed pods are
replaced after a back-off of 10 s doubling to 6 minutes; past `backoffLimit` (or past
`activeDeadlineSeconds`) the Job gets `FailureTarget` and, once no pod is still terminating,
`Failed`. Success is `SuccessCriteriaMet` then `Complete`. `ttlSecondsAfterFinished` deletes a
finished Job (the ttl-after-finished controller's work, done here).

"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

from .. import errors
from ..clock import format_time, parse_time
from ..events import Recorder
from ..objects import DeleteOptions
from .base import Controller
from .ownership import owner_reference
from .timers import Alarms, Pending

log = logging.getLogger(__name__)

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
BACKOFF_BASE_SECONDS = 10
BACKOFF_MAX_SECONDS = 360
COMPONENT = "job-controller"

BACKOFF_LIMIT_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")
COMPLETIONS_REACHED = ("CompletionsReached", "Reached expected number of succeeded pods")

JOBS = ("batch", "jobs")
PODS = ("", "pods")



# pods, as the Job controller reads them


def _has_tracking(pod: dict) -> bool:
    return TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or ())


def _phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase", "")


def _is_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


@dataclass(frozen=True, slots=True)
class _Tracked:
    """One pod of a Job and what the controller counts of it, read once per pod version."""

    pod: dict
    active: bool
    terminating: bool
    ready: bool
    waiting: bool  # finished or being deleted, and still holding our finalizer: to be counted

    @classmethod
    def of(cls, pod: dict) -> _Tracked:
        deleting = bool(pod["metadata"].get("deletionTimestamp"))
        finished = _phase(pod) in ("Succeeded", "Failed")
        return cls(pod, not deleting and not finished, deleting and not finished,
                   not deleting and not finished and _is_ready(pod),
                   _has_tracking(pod) and (finished or deleting))


def _is_failed(pod: dict, job: dict) -> bool:
    """Failed phase; with podReplacementPolicy TerminatingOrFailed a deleted pod counts too."""
    if _phase(pod) == "Failed":
        return True
    spec = job["spec"]
    if spec.get("podFailurePolicy") or spec.get("podReplacementPolicy") == "Failed":
        return False
    return bool(pod["metadata"].get("deletionTimestamp")) and _phase(pod) != "Succeeded"


def _finish_time(pod: dict, default: float) -> float:
    status = pod.get("status") or {}
    times = [parse_time(s["state"]["terminated"]["finishedAt"])
             for s in status.get("containerStatuses") or ()
             if ((s.get("state") or {}).get("terminated") or {}).get("finishedAt")]
    return max(times) if times else default


def _index_of(pod: dict) -> int | None:
    text = (pod["metadata"].get("annotations") or {}).get(COMPLETION_INDEX) \
        or (pod["metadata"].get("labels") or {}).get(COMPLETION_INDEX)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _controller_ref(obj: dict, kind: str) -> dict | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller") and ref.get("kind") == kind:
            return ref
    return None


# Jobs, as everyone reads them


def finished_condition(job: dict) -> dict | None:
    """The Job's `Complete` or `Failed` condition if it is True, else None."""
    for condition in (job.get("status") or {}).get("conditions") or ():
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return condition
    return None


def _condition(status: dict, type_: str) -> dict | None:
    for condition in status.get("conditions") or ():
        if condition.get("type") == type_:
            return condition
    return None


def _set_condition(status: dict, type_: str, value: str, reason: str, message: str, now: str) -> bool:
    """Set a Job condition; True if anything changed (the transition time moves on a change)."""
    conditions = status.setdefault("conditions", [])
    for condition in conditions:
        if condition.get("type") == type_:
            if condition.get("status") == value and condition.get("reason") == reason:
                return False
            condition.update(status=value, reason=reason, message=message, lastProbeTime=now,
                             lastTransitionTime=now)
            return True
    conditions.append({"type": type_, "status": value, "lastProbeTime": now, "lastTransitionTime": now,
                       "reason": reason, "message": message})
    return True


def format_indexes(indexes: set[int]) -> str:
    """{0, 1, 2, 4} -> "0-2,4", as status.completedIndexes writes them."""
    parts: list[str] = []
    ordered = sorted(indexes)
    start = previous = None
    for index in ordered + [None]:
        if start is not None and (index is None or index != previous + 1):
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = None
        if index is not None and start is None:
            start = index
        previous = index
    return ",".join(parts)


def parse_indexes(text: str | None) -> set[int]:
    found: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return found


def backoff_delay(failures: int) -> float:
    """Seconds before re-creating pods after `failures` failures in a row: 10, 20, 40 ... 360."""
    if failures <= 0:
        return 0
    return min(BACKOFF_BASE_SECONDS * 2 ** (failures - 1), BACKOFF_MAX_SECONDS)


class JobController(Controller):
    watches = (("batch", "v1", "jobs"), ("", "v1", "pods"))

    def __init__(self, objects):
        super().__init__(objects)
        self.events = Recorder(objects, COMPONENT)
        self.alarms = Alarms(self.clock, self._ring)
        self.pending = Pending(self.sync)
        self._jobs = self.rtype("batch", "v1", "jobs")
        self._pods_type = self.rtype("", "v1", "pods")
        self._pods: dict[str, dict[str, _Tracked]] = {}  # job uid -> pod name -> pod
        self._waiting: dict[str, set[str]] = {}  # job uid -> pods to count
        self._failures: dict[str, tuple[int, float]] = {}  # job uid -> (failures in a row, last at)

    def stopped(self) -> None:
        self.alarms.cancel_all()
        self.pending.cancel()

    async def handle(self, resource, event, obj) -> None:
        namespace = obj["metadata"].get("namespace", "")
        if resource[2] == "jobs":
            uid = obj["metadata"]["uid"]
            if event == "DELETED" or obj["metadata"].get("deletionTimestamp"):
                self._release_pods(uid)
                if event == "DELETED":
                    self._pods.pop(uid, None)
                    self._waiting.pop(uid, None)
                    self._failures.pop(uid, None)
                    self.alarms.clear((namespace, obj["metadata"]["name"]))
                return
            self.pending.add((namespace, obj["metadata"]["name"]))
            return
        ref = _controller_ref(obj, "Job")
        if ref is None:
            return
        self._remember(ref["uid"], obj["metadata"]["name"], None if event == "DELETED" else obj)
        job = self.store.get(JOBS, namespace, ref["name"])
        if job is None or job["metadata"]["uid"] != ref["uid"] or job["metadata"].get("deletionTimestamp"):
            # an orphan keeps no finalizer of ours: nothing will ever count it
            self._release_pods(ref["uid"])
            return
        self.pending.add((namespace, ref["name"]))

    def _ring(self, key) -> None:
        self.sync(*key)

    def _remember(self, job_uid: str, name: str, pod: dict | None) -> None:
        owned = self._pods.setdefault(job_uid, {})
        waiting = self._waiting.setdefault(job_uid, set())
        if pod is None:
            owned.pop(name, None)
            waiting.discard(name)
            return
        tracked = owned[name] = _Tracked.of(pod)
        if tracked.waiting:
            waiting.add(name)
        else:
            waiting.discard(name)

    # the sync

    def sync(self, namespace: str, name: str) -> None:
        job = self.store.get(JOBS, namespace, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        uid = job["metadata"]["uid"]
        if finished_condition(job) is not None:
            self._release_pods(uid)
            self._expire(job)
            return
        spec = job["spec"]
        now = self.clock.now()
        stamp = format_time(now)
        status = copy.deepcopy(job.get("status") or {})
        indexed = spec.get("completionMode") == "Indexed"

        status = self._count_finished(job, status, now)
        members = list(self._pods.get(uid, {}).values())
        active = [m.pod for m in members if m.active]
        terminating = [m.pod for m in members if m.terminating]

        suspended = bool(spec.get("suspend"))
        self._suspension(job, status, suspended, stamp, now)
        if not suspended and not status.get("startTime"):
            status["startTime"] = stamp

        completed = parse_indexes(status.get("completedIndexes")) if indexed else set()
        succeeded = status.get("succeeded", 0)
        failed = status.get("failed", 0)
        completions = spec.get("completions")

        failure = self._failure(job, status, active, failed, now)
        success = None
        if indexed:
            if completions is not None and len(completed) >= completions:
                success = COMPLETIONS_REACHED
        elif completions is not None and succeeded >= completions:
            success = COMPLETIONS_REACHED
        elif completions is None and succeeded > 0 and not active:
            success = COMPLETIONS_REACHED

        if failure is not None or success is not None:
            target = "FailureTarget" if failure is not None else "SuccessCriteriaMet"
            reason, message = failure or success
            _set_condition(status, target, "True", reason, message, stamp)
            for pod in active:
                self._delete_pod(job, pod)
            remaining = [m for m in self._pods.get(uid, {}).values() if m.active or m.terminating]
            if not remaining:
                final = "Failed" if failure is not None else "Complete"
                _set_condition(status, final, "True", reason, message, stamp)
                if failure is None:
                    status["completionTime"] = stamp
                    self.events.event(job, "Completed", "Job completed")
                else:
                    self.events.event(job, reason, message, "Warning")
                self._alarm_expiry(job, now)
        elif suspended:
            for pod in active:
                self._delete_pod(job, pod)
        else:
            self._scale(job, status, active, terminating, completed, now)
            deadline = spec.get("activeDeadlineSeconds")
            if deadline is not None and status.get("startTime"):
                self.alarms.set((namespace, name), parse_time(status["startTime"]) + deadline)

        self._write_status(job, status)

    def _count_finished(self, job: dict, status: dict, now: float) -> dict:
        """Finished pods: listed as uncounted, their finalizer removed, then counted."""
        uid = job["metadata"]["uid"]
        members = self._pods.get(uid, {})
        pods = [members[name].pod for name in self._waiting.get(uid, ())]
        uncounted = status.setdefault("uncountedTerminatedPods", {})
        listed = set(uncounted.get("succeeded") or ()) | set(uncounted.get("failed") or ())
        newly_succeeded = [p for p in pods if _has_tracking(p) and _phase(p) == "Succeeded"
                           and p["metadata"]["uid"] not in listed]
        newly_failed = [p for p in pods if _has_tracking(p) and _phase(p) != "Succeeded" and _is_failed(p, job)
                        and p["metadata"]["uid"] not in listed]
        if not newly_succeeded and not newly_failed and not listed:
            return status
        if newly_succeeded or newly_failed:
            uncounted.setdefault("succeeded", []).extend(p["metadata"]["uid"] for p in newly_succeeded)
            uncounted.setdefault("failed", []).extend(p["metadata"]["uid"] for p in newly_failed)
            for key in ("succeeded", "failed"):
                if not uncounted[key]:
                    uncounted.pop(key)
            job = self._write_status(job, status)
            status = copy.deepcopy(job.get("status") or {})
            uncounted = status.setdefault("uncountedTerminatedPods", {})
        by_uid = {p["metadata"]["uid"]: p for p in pods}  # the uncounted are among the waiting
        indexed = job["spec"].get("completionMode") == "Indexed"
        completed = parse_indexes(status.get("completedIndexes"))
        failures, last_failure = self._failures.get(uid, (0, 0.0))
        for key in ("succeeded", "failed"):
            for pod_uid in uncounted.get(key) or ():
                pod = by_uid.get(pod_uid)
                if pod is not None and _has_tracking(pod):
                    self._drop_finalizer(pod)
                if key == "succeeded":
                    index = _index_of(pod) if (indexed and pod is not None) else None
                    if indexed:
                        if index is not None:
                            completed.add(index)
                    else:
                        status["succeeded"] = status.get("succeeded", 0) + 1
                    failures = 0
                else:
                    status["failed"] = status.get("failed", 0) + 1
                    failures += 1
                    last_failure = max(last_failure, _finish_time(pod, now) if pod is not None else now)
        self._failures[uid] = (failures, last_failure)
        if indexed:
            status["succeeded"] = len(completed)
            if completed:
                status["completedIndexes"] = format_indexes(completed)
        status["uncountedTerminatedPods"] = {}
        return status

    def _failure(self, job: dict, status: dict, active: list[dict], failed: int, now: float):
        spec = job["spec"]
        if _condition(status, "FailureTarget") is not None:
            condition = _condition(status, "FailureTarget")
            return condition["reason"], condition["message"]
        limit = spec.get("backoffLimit", 6)
        if failed > limit:
            return BACKOFF_LIMIT_EXCEEDED
        if (spec["template"].get("spec") or {}).get("restartPolicy") == "OnFailure":
            restarts = sum(s.get("restartCount", 0)
                           for p in active
                           for s in ((p.get("status") or {}).get("initContainerStatuses") or [])
                           + ((p.get("status") or {}).get("containerStatuses") or []))
            if (restarts > 0) if limit == 0 else (restarts >= limit):
                return BACKOFF_LIMIT_EXCEEDED
        deadline = spec.get("activeDeadlineSeconds")
        if deadline is not None and status.get("startTime") and not spec.get("suspend"):
            if now - parse_time(status["startTime"]) >= deadline:
                return DEADLINE_EXCEEDED
        return None

    def _suspension(self, job: dict, status: dict, suspended: bool, stamp: str, now: float) -> None:
        condition = _condition(status, "Suspended")
        if suspended:
            if _set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", stamp):
                self.events.event(job, "Suspended", "Job suspended")
        elif condition is not None and condition.get("status") == "True":
            _set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", stamp)
            status["startTime"] = stamp  # the deadline counts from the resume
            self.events.event(job, "Resumed", "Job resumed")

    def _scale(self, job: dict, status: dict, active: list[dict], terminating: list[dict],
               completed: set[int], now: float) -> None:
        spec = job["spec"]
        uid = job["metadata"]["uid"]
        parallelism = spec.get("parallelism", 1)
        completions = spec.get("completions")
        busy = len(active) + (len(terminating) if spec.get("podReplacementPolicy") == "Failed" else 0)
        if spec.get("completionMode") == "Indexed":
            running = {_index_of(p) for p in active}
            if spec.get("podReplacementPolicy") == "Failed":
                running |= {_index_of(p) for p in terminating}
            pending = [i for i in range(completions or 0) if i not in completed and i not in running]
            wanted = min(parallelism, len(pending) + len(active))
        else:
            pending = []
            if completions is None:
                wanted = parallelism if status.get("succeeded", 0) == 0 else 0
            else:
                wanted = min(parallelism, completions - status.get("succeeded", 0))
        if busy > wanted:
            # parallelism went down: the newest pods, not-ready first, go
            extra = sorted(active, key=lambda p: (_is_ready(p), p["metadata"].get("creationTimestamp", "")),)
            for pod in extra[:busy - wanted]:
                self._delete_pod(job, pod)
            return
        missing = wanted - busy
        if missing <= 0:
            return
        failures, last_failure = self._failures.get(uid, (0, 0.0))
        ready_at = last_failure + backoff_delay(failures)
        if failures and ready_at > now:
            self.alarms.set((job["metadata"]["namespace"], job["metadata"]["name"]), ready_at)
            return
        for i in range(missing):
            self._create_pod(job, pending[i] if pending else None)

    # writes

    def _create_pod(self, job: dict, index: int | None) -> None:
        name = job["metadata"]["name"]
        template = copy.deepcopy(job["spec"]["template"])
        meta = template.get("metadata") or {}
        labels = dict(meta.get("labels") or {})
        annotations = dict(meta.get("annotations") or {})
        spec = template.get("spec") or {}
        generate_name = f"{name}-"
        if index is not None:
            labels[COMPLETION_INDEX] = str(index)
            annotations[COMPLETION_INDEX] = str(index)
            generate_name = f"{name}-{index}-"
            spec["hostname"] = f"{name}-{index}"
            for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
                env = container.setdefault("env", [])
                if not any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                    env.insert(0, {"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
                        "apiVersion": "v1",
                        "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}})
        pod_meta = {"generateName": generate_name, "namespace": job["metadata"]["namespace"],
                    "labels": labels, "finalizers": [TRACKING_FINALIZER],
                    "ownerReferences": [owner_reference(job)]}
        if annotations:
            pod_meta["annotations"] = annotations
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}
        try:
            created = self.objects.create(self._pods_type, job["metadata"]["namespace"], body).object
        except errors.APIError as error:
            self.events.event(job, "FailedCreate", f"Error creating: {error.message}", "Warning")
            return
        self._remember(job["metadata"]["uid"], created["metadata"]["name"], created)
        self.events.event(job, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

    def _delete_pod(self, job: dict, pod: dict) -> None:
        try:
            result = self.objects.delete(self._pods_type, pod["metadata"]["namespace"], pod["metadata"]["name"])
        except errors.APIError as error:
            if error.code == 404:
                return
            raise
        self._remember(job["metadata"]["uid"], pod["metadata"]["name"], None if result.removed else result.object)
        self.events.event(job, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

    def _drop_finalizer(self, pod: dict) -> None:
        current = self.store.get(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        if current is None or not _has_tracking(current):
            return
        released = copy.deepcopy(current)
        released["metadata"]["finalizers"] = [f for f in current["metadata"]["finalizers"]
                                              if f != TRACKING_FINALIZER]
        if not released["metadata"]["finalizers"]:
            released["metadata"].pop("finalizers")
        result = self.objects.update(self._pods_type, current["metadata"]["namespace"],
                                     current["metadata"]["name"], released)
        ref = _controller_ref(current, "Job")
        if ref is not None:
            self._remember(ref["uid"], current["metadata"]["name"], None if result.removed else result.object)

    def _release_pods(self, job_uid: str) -> None:
        for pod in [m.pod for m in self._pods.get(job_uid, {}).values()]:
            if _has_tracking(pod):
                try:
                    self._drop_finalizer(pod)
                except errors.APIError as error:
                    if error.code not in (404, 409):
                        raise

    def _write_status(self, job: dict, status: dict) -> dict:
        """Write `status` (with the pod counts refreshed) if it differs from the stored one."""
        namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
        current = self.store.get(JOBS, namespace, name)
        if current is None or current["metadata"]["uid"] != job["metadata"]["uid"]:
            return job
        status.setdefault("uncountedTerminatedPods", {})
        members = self._pods.get(job["metadata"]["uid"], {}).values()
        status["active"] = sum(1 for m in members if m.active)
        status["ready"] = sum(1 for m in members if m.ready)
        status["terminating"] = sum(1 for m in members if m.terminating)
        for key in ("active", "succeeded", "failed"):
            if not status.get(key):
                status.pop(key, None)  # omitempty, as the Go type writes them
        if not status.get("conditions"):
            status.pop("conditions", None)
        if status == (current.get("status") or {}):
            return current
        return self.objects.update(self._jobs, namespace, name, dict(current, status=status),
                                   subresource="status").object

    # after the end

    def _finished_at(self, job: dict) -> float | None:
        condition = finished_condition(job)
        if condition is None:
            return None
        when = (job.get("status") or {}).get("completionTime") or condition.get("lastTransitionTime")
        return parse_time(when) if when else None

    def _alarm_expiry(self, job: dict, finished: float) -> None:
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is not None:
            self.alarms.set((job["metadata"]["namespace"], job["metadata"]["name"]), finished + ttl)

    def _expire(self, job: dict) -> None:
        """ttlSecondsAfterFinished: delete the Job (and, in the foreground, its pods) when due."""
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        finished = self._finished_at(job)
        if ttl is None or finished is None:
            return
        if self.clock.now() < finished + ttl:
            self._alarm_expiry(job, finished)
            return
        self.objects.delete(self._jobs, job["metadata"]["namespace"], job["metadata"]["name"],
                            DeleteOptions(propagation_policy="Foreground",
                                          precondition_uid=job["metadata"]["uid"]))
