"""The CronJob controller: a Job at each scheduled time, on the simulator's clock.

The schedule is the standard 5-field cron line (or `@hourly`, `@daily`, ...), read in
`spec.timeZone` (UTC by default). At each due time the controller creates the Job
`<cronjob>-<scheduled time in minutes since the epoch>` from `jobTemplate`, unless the CronJob
is suspended, the time is older than `startingDeadlineSeconds`, or `concurrencyPolicy` says
otherwise (Forbid: skip while a Job runs; Replace: delete the running one first). Finished Jobs
beyond `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` are deleted, oldest first.
Between times the controller sleeps until the next one: no polling.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import errors
from ..clock import format_time, parse_time
from ..events import Recorder
from ..objects import DeleteOptions
from .base import Controller
from .job import finished_condition
from .ownership import owner_reference
from .timers import Alarms, Pending

COMPONENT = "cronjob-controller"
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
MISSED_TIMES_LIMIT = 100

CRONJOBS = ("batch", "cronjobs")
JOBS = ("batch", "jobs")

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = ((0, 59, None), (0, 23, None), (1, 31, None),
           (1, 12, {n: i for i, n in enumerate(_MONTHS, start=1)}), (0, 6, {n: i for i, n in enumerate(_DAYS)}))
_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                "@hourly": "0 * * * *"}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    """A parsed cron schedule: the allowed values of each field, or a fixed interval."""

    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    any_day: bool = False  # day of month given as "*" or "?": only the weekday decides
    any_weekday: bool = False
    every: float | None = None  # "@every 90s"

    def _day_matches(self, moment: datetime) -> bool:
        day_ok = moment.day in self.days
        weekday_ok = (moment.weekday() + 1) % 7 in self.weekdays  # cron counts from Sunday
        if self.any_day or self.any_weekday:
            return day_ok and weekday_ok
        return day_ok or weekday_ok  # both restricted: either will do, as in cron

    def next_after(self, after: float, zone) -> float:
        """The first scheduled time strictly after `after` (seconds since the epoch)."""
        if self.every is not None:
            return float(int(after)) + self.every
        moment = datetime.fromtimestamp(after, zone).replace(second=0, microsecond=0, tzinfo=None)
        moment += timedelta(minutes=1)
        limit = moment + timedelta(days=366 * 5)
        while moment < limit:
            if moment.month not in self.months:
                year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
                moment = datetime(year, month, 1)
                continue
            if not self._day_matches(moment):
                moment = datetime(moment.year, moment.month, moment.day) + timedelta(days=1)
                continue
            if moment.hour not in self.hours:
                moment = moment.replace(minute=0) + timedelta(hours=1)
                continue
            if moment.minute not in self.minutes:
                moment += timedelta(minutes=1)
                continue
            when = moment.replace(tzinfo=zone).timestamp()
            if when > after:
                return when
            moment += timedelta(minutes=1)  # a wall time repeated by a clock change
        raise ScheduleError("no time in the next five years matches the schedule")


def _value(text: str, names: dict | None) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise ScheduleError(f"failed to parse int from {text}")
    return int(text)


def _field(text: str, minimum: int, maximum: int, names: dict | None) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = _value(step_text, None) if step_text else 1
        if step <= 0:
            raise ScheduleError(f"step of range should be a positive number: {part}")
        if span in ("*", "?"):
            low, high = minimum, maximum
            star = star or step == 1
        else:
            low_text, _, high_text = span.partition("-")
            low = _value(low_text, names)
            high = _value(high_text, names) if high_text else (maximum if step_text else low)
        if low < minimum or high > maximum or low > high:
            raise ScheduleError(f"range out of bounds: {part}")
        values.update(range(low, high + 1, step))
    return frozenset(values), star


def parse_schedule(text: str) -> Schedule:
    """Parse a CronJob schedule; raises ScheduleError on one Kubernetes would refuse."""
    line = text.strip()
    if line.startswith("@every "):
        duration = line[len("@every "):].strip()
        parts = _DURATION_PART.findall(duration)
        if not parts or "".join(n + u for n, u in parts) != duration:
            raise ScheduleError(f"failed to parse duration {line}")
        return Schedule(every=max(1.0, float(int(sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)))))
    line = _DESCRIPTORS.get(line, line)
    fields = line.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    parsed = [_field(f, lo, hi, names) for f, (lo, hi, names) in zip(fields, _FIELDS, strict=True)]
    return Schedule(minutes=parsed[0][0], hours=parsed[1][0], days=parsed[2][0], months=parsed[3][0],
                    weekdays=parsed[4][0], any_day=parsed[2][1], any_weekday=parsed[4][1])


def job_name(cronjob_name: str, scheduled: float) -> str:
    """`hello-29123456`: the scheduled time in minutes since the epoch makes the name unique."""
    return f"{cronjob_name}-{int(scheduled // 60)}"


def _rfc3339(when: float, zone) -> str:
    text = datetime.fromtimestamp(when, zone).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")


def _job_reference(job: dict) -> dict:
    meta = job["metadata"]
    return {"kind": "Job", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
            "apiVersion": "batch/v1", "resourceVersion": meta.get("resourceVersion", "")}


def _controller_uid(obj: dict, kind: str) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller") and ref.get("kind") == kind:
            return ref.get("uid")
    return None


class CronJobController(Controller):
    watches = (("batch", "v1", "cronjobs"), ("batch", "v1", "jobs"))

    def __init__(self, objects):
        super().__init__(objects)
        self.events = Recorder(objects, COMPONENT)
        self.alarms = Alarms(self.clock, self._ring)
        self.pending = Pending(self.sync)
        self._cronjobs = self.rtype("batch", "v1", "cronjobs")
        self._jobs_type = self.rtype("batch", "v1", "jobs")
        self._jobs: dict[str, dict[str, dict]] = {}  # cronjob uid -> job name -> job
        self._schedules: dict[str, Schedule] = {}

    def stopped(self) -> None:
        self.alarms.cancel_all()
        self.pending.cancel()

    async def handle(self, resource, event, obj) -> None:
        namespace = obj["metadata"].get("namespace", "")
        if resource[2] == "cronjobs":
            if event == "DELETED":
                self._jobs.pop(obj["metadata"]["uid"], None)
                self.alarms.clear((namespace, obj["metadata"]["name"]))
                return
            self.pending.add((namespace, obj["metadata"]["name"]))
            return
        uid = _controller_uid(obj, "CronJob")
        if uid is None:
            return
        owned = self._jobs.setdefault(uid, {})
        if event == "DELETED":
            owned.pop(obj["metadata"]["name"], None)
        else:
            owned[obj["metadata"]["name"]] = obj
        for ref in obj["metadata"]["ownerReferences"]:
            if ref.get("uid") == uid:
                self.pending.add((namespace, ref["name"]))

    def _ring(self, key) -> None:
        self.sync(*key)

    def _schedule(self, text: str) -> Schedule:
        if text not in self._schedules:
            self._schedules[text] = parse_schedule(text)
        return self._schedules[text]

    # the sync

    def sync(self, namespace: str, name: str) -> None:
        cronjob = self.store.get(CRONJOBS, namespace, name)
        if cronjob is None or cronjob["metadata"].get("deletionTimestamp"):
            return
        spec = cronjob["spec"]
        status = copy.deepcopy(cronjob.get("status") or {})
        key = (namespace, name)
        jobs = self._jobs.get(cronjob["metadata"]["uid"], {})
        # references keep the resourceVersion they were made with, as the real list does
        was_active = {ref.get("uid"): ref for ref in status.get("active") or ()}
        active = []
        for job in sorted(jobs.values(), key=lambda j: j["metadata"]["name"]):
            condition = finished_condition(job)
            if condition is None:
                active.append(was_active.get(job["metadata"]["uid"]) or _job_reference(job))
                continue
            if job["metadata"]["uid"] in was_active:
                self.events.event(cronjob, "SawCompletedJob",
                                  f"Saw completed job: {job['metadata']['name']}, condition: {condition['type']}")
            completion = (job.get("status") or {}).get("completionTime")
            if condition["type"] == "Complete" and completion and (
                    not status.get("lastSuccessfulTime")
                    or parse_time(completion) > parse_time(status["lastSuccessfulTime"])):
                status["lastSuccessfulTime"] = completion
        status["active"] = active
        self._clean_up(cronjob, jobs)

        if not spec.get("suspend"):
            self._maybe_start(cronjob, status, key)
        self._write_status(cronjob, status)

    def _maybe_start(self, cronjob: dict, status: dict, key: tuple[str, str]) -> None:
        spec = cronjob["spec"]
        try:
            schedule = self._schedule(spec["schedule"])
        except (ScheduleError, KeyError) as error:
            self.events.event(cronjob, "UnparseableSchedule",
                              f"unparseable schedule: {spec.get('schedule')!r} : {error}", "Warning")
            return
        zone_name = spec.get("timeZone") or "UTC"
        try:
            zone = timezone.utc if zone_name in ("UTC", "Etc/UTC") else ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError) as error:
            self.events.event(cronjob, "UnknownTimeZone", f"invalid timeZone: {zone_name!r}: {error}", "Warning")
            return
        now = self.clock.now()
        earliest = parse_time(status.get("lastScheduleTime") or cronjob["metadata"]["creationTimestamp"])
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, now - deadline)
        scheduled, missed = None, 0
        moment = earliest
        while True:
            moment = schedule.next_after(moment, zone)
            if moment > now:
                break
            scheduled, missed = moment, missed + 1
            if missed == MISSED_TIMES_LIMIT + 1:
                self.events.event(cronjob, "TooManyMissedTimes",
                                  f"too many missed start times: {missed}. Set or decrease "
                                  ".spec.startingDeadlineSeconds or check clock skew", "Warning")
                moment = max(moment, now - 2 * 86400)  # only the latest matters from here
        self.alarms.set(key, moment)  # the next time, strictly after now
        if scheduled is None:
            return
        if deadline is not None and scheduled + deadline < now:
            self.events.event(cronjob, "MissSchedule", "Missed scheduled time to start a job: "
                              + format_datetime(datetime.fromtimestamp(scheduled, timezone.utc)), "Warning")
            return
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and status["active"]:
            # not recorded as scheduled: the Job starts when the running one ends, if still in time
            self.events.event(cronjob, "JobAlreadyActive",
                              "Not starting job because prior execution is running and concurrency policy is Forbid")
            return
        if policy == "Replace":
            for ref in status["active"]:
                self._delete_job(cronjob, ref["name"])
            status["active"] = []
        self._create_job(cronjob, status, scheduled, zone)

    def _create_job(self, cronjob: dict, status: dict, scheduled: float, zone) -> None:
        template = copy.deepcopy(cronjob["spec"].get("jobTemplate") or {})
        template_meta = template.get("metadata") or {}
        name = job_name(cronjob["metadata"]["name"], scheduled)
        meta = {"name": name, "namespace": cronjob["metadata"]["namespace"],
                "annotations": {**(template_meta.get("annotations") or {}),
                                SCHEDULED_TIMESTAMP: _rfc3339(scheduled, zone)},
                "ownerReferences": [owner_reference(cronjob)]}
        if template_meta.get("labels"):
            meta["labels"] = dict(template_meta["labels"])
        try:
            created = self.objects.create(self._jobs_type, cronjob["metadata"]["namespace"], {
                "apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                "spec": template.get("spec") or {}}).object
        except errors.APIError as error:
            if error.code == 409:
                status["lastScheduleTime"] = format_time(scheduled)  # made already, by us
                return
            self.events.event(cronjob, "FailedCreate", f"Error creating job: {error.message}", "Warning")
            return
        self._jobs.setdefault(cronjob["metadata"]["uid"], {})[name] = created
        self.events.event(cronjob, "SuccessfulCreate", f"Created job {name}")
        status["active"].append(_job_reference(created))
        status["lastScheduleTime"] = format_time(scheduled)

    def _clean_up(self, cronjob: dict, jobs: dict[str, dict]) -> None:
        spec = cronjob["spec"]
        for wanted, limit in (("Complete", spec.get("successfulJobsHistoryLimit")),
                              ("Failed", spec.get("failedJobsHistoryLimit"))):
            if limit is None:
                continue
            finished = [j for j in jobs.values()
                        if (finished_condition(j) or {}).get("type") == wanted
                        and not j["metadata"].get("deletionTimestamp")]
            finished.sort(key=lambda j: ((j.get("status") or {}).get("startTime") or "", j["metadata"]["name"]))
            for job in finished[:max(0, len(finished) - limit)]:
                self._delete_job(cronjob, job["metadata"]["name"])

    def _delete_job(self, cronjob: dict, name: str) -> None:
        try:
            self.objects.delete(self._jobs_type, cronjob["metadata"]["namespace"], name,
                                DeleteOptions(propagation_policy="Background"))
        except errors.APIError as error:
            if error.code != 404:
                raise
            return
        self.events.event(cronjob, "SuccessfulDelete", f"Deleted job {name}")

    def _write_status(self, cronjob: dict, status: dict) -> None:
        namespace, name = cronjob["metadata"]["namespace"], cronjob["metadata"]["name"]
        current = self.store.get(CRONJOBS, namespace, name)
        if current is None or current["metadata"]["uid"] != cronjob["metadata"]["uid"]:
            return
        if not status.get("active"):
            status.pop("active", None)
        if status == (current.get("status") or {}):
            return
        self.objects.update(self._cronjobs, namespace, name, dict(current, status=status), subresource="status")
