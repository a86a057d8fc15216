"""The CronJob controller: Jobs at the scheduled minutes of the simulated clock, and their history."""

from __future__ import annotations

from datetime import timezone

import pytest

from k8s_course.sim.controllers.cronjob import (
    CronJobController,
    ScheduleError,
    job_name,
    parse_schedule,
)
from tests.sim.harness import START, Harness

# START (1_800_000_000) is 2027-01-15T08:00:00Z, a Friday, on a minute boundary.
MINUTE = int(START // 60)


def _cronjob(schedule="*/5 * * * *", **spec) -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello"},
            "spec": {"schedule": schedule, "jobTemplate": {"metadata": {"labels": {"app": "hello"}}, "spec": {
                "template": {"spec": {"restartPolicy": "OnFailure",
                                      "containers": [{"name": "hello", "image": "busybox"}]}}}},
                     **spec}}


def _run(scenario):
    return Harness.run(scenario, controllers=lambda cluster: [CronJobController(cluster.objects)])


def _jobs(h: Harness) -> list[str]:
    return sorted(j["metadata"]["name"] for j in h.list("batch/v1", "Job"))


def _finish(h: Harness, name: str, how: str = "Complete") -> None:
    """What the Job controller would write when the Job ends."""
    job = h.get("batch/v1", "Job", name)
    now = h.clock.timestamp()
    started = job["metadata"]["creationTimestamp"]
    status = {"startTime": started, "conditions": [
        {"type": "SuccessCriteriaMet" if how == "Complete" else "FailureTarget", "status": "True",
         "lastProbeTime": now, "lastTransitionTime": now, "reason": "CompletionsReached",
         "message": "Reached expected number of succeeded pods"},
        {"type": how, "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
         "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}]}
    if how == "Complete":
        status.update(succeeded=1, completionTime=now)
    else:
        status.update(failed=1)
    h.patch("batch/v1", "Job", name, {"status": status}, subresource="status")


def test_every_five_minutes_makes_a_job_at_each_fifth_minute_and_keeps_three_successful():
    async def scenario(h: Harness):
        h.create(_cronjob())
        await h.advance(299, step=60)
        assert _jobs(h) == []
        await h.advance(1)
        first = job_name("hello", START + 300)
        assert first == f"hello-{MINUTE + 5}"
        assert _jobs(h) == [first]
        job = h.get("batch/v1", "Job", first)
        assert job["metadata"]["labels"] == {"app": "hello"}
        assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == \
            "2027-01-15T08:05:00Z"
        assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
        cronjob = h.get("batch/v1", "CronJob", "hello")
        assert cronjob["status"]["lastScheduleTime"] == "2027-01-15T08:05:00Z"
        assert [r["name"] for r in cronjob["status"]["active"]] == [first]
        assert ("SuccessfulCreate", f"Created job {first}") in [
            (e["reason"], e["message"]) for e in h.events(name="hello")]

        for step in range(1, 6):
            name = job_name("hello", START + 300 * step)
            await h.advance(30)
            _finish(h, name)
            await h.advance(270, step=30)
        names = _jobs(h)
        # five finished (the oldest two deleted) and the sixth just started
        assert names == [f"hello-{MINUTE + 5 * n}" for n in (3, 4, 5, 6)]
        cronjob = h.get("batch/v1", "CronJob", "hello")
        assert [r["name"] for r in cronjob["status"]["active"]] == [f"hello-{MINUTE + 30}"]
        assert cronjob["status"]["lastSuccessfulTime"] == "2027-01-15T08:25:30Z"
        events = [(e["reason"], e["message"]) for e in h.events(name="hello")]
        assert ("SawCompletedJob", f"Saw completed job: {first}, condition: Complete") in events
        assert ("SuccessfulDelete", f"Deleted job {first}") in events

    _run(scenario)


def test_forbid_skips_while_a_job_runs_and_starts_the_missed_one_when_it_ends():
    async def scenario(h: Harness):
        h.create(_cronjob(concurrencyPolicy="Forbid"))
        await h.advance(300, step=60)
        assert _jobs(h) == [f"hello-{MINUTE + 5}"]
        await h.advance(300, step=60)
        assert _jobs(h) == [f"hello-{MINUTE + 5}"]
        assert "JobAlreadyActive" in [e["reason"] for e in h.events(name="hello")]
        await h.advance(30)
        _finish(h, f"hello-{MINUTE + 5}")
        await h.settle()
        assert _jobs(h) == [f"hello-{MINUTE + 5}", f"hello-{MINUTE + 10}"]

    _run(scenario)


def test_replace_deletes_the_running_job_before_starting_the_next():
    async def scenario(h: Harness):
        h.create(_cronjob(concurrencyPolicy="Replace"))
        await h.advance(600, step=60)
        assert _jobs(h) == [f"hello-{MINUTE + 10}"]
        assert ("SuccessfulDelete", f"Deleted job hello-{MINUTE + 5}") in [
            (e["reason"], e["message"]) for e in h.events(name="hello")]

    _run(scenario)


def test_a_suspended_cronjob_makes_no_jobs_and_a_late_resume_respects_the_starting_deadline():
    async def scenario(h: Harness):
        h.create(_cronjob(suspend=True, startingDeadlineSeconds=60))
        await h.advance(400, step=60)
        assert _jobs(h) == []
        h.patch("batch/v1", "CronJob", "hello", {"spec": {"suspend": False}})
        await h.settle()
        assert _jobs(h) == []  # 08:05 is 100 s ago, past the 60 s deadline
        await h.advance(199, step=60)
        assert _jobs(h) == []
        await h.advance(1)
        assert _jobs(h) == [f"hello-{MINUTE + 10}"]

    _run(scenario)


def test_the_failed_history_keeps_one_job():
    async def scenario(h: Harness):
        h.create(_cronjob())
        for step in (1, 2):
            await h.advance(300, step=60)
            _finish(h, job_name("hello", START + 300 * step), "Failed")
        await h.settle()
        assert _jobs(h) == [f"hello-{MINUTE + 10}"]

    _run(scenario)


def test_a_time_zone_moves_the_schedule():
    async def scenario(h: Harness):
        h.create(_cronjob("0 9 * * *", timeZone="Europe/Berlin"))  # 09:00 in Berlin is 08:00 UTC
        await h.advance(86399, step=3600)
        assert _jobs(h) == []
        await h.advance(1)
        job = h.get("batch/v1", "Job", job_name("hello", START + 86400))
        assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == \
            "2027-01-16T09:00:00+01:00"

    _run(scenario)


@pytest.mark.parametrize(("schedule", "after", "expected"), [
    ("*/5 * * * *", START, START + 300),
    ("0 9 * * 1-5", START, START + 3600),  # Friday 09:00
    ("0 9 * * 1-5", START + 3600, START + 3 * 86400 + 3600),  # then Monday
    ("@hourly", START + 1, START + 3600),
    ("@daily", START, START + 16 * 3600),
    ("30 8 1 * *", START, 1_801_470_600.0),  # 2027-02-01T08:30:00Z
    # day and weekday both restricted: either will do, so Friday 2027-01-22 comes before the 13th
    ("0 0 13 * 5", START, START + 6 * 86400 + 16 * 3600),
    ("0 0 13 * *", START, 1_802_476_800.0),  # 2027-02-13T00:00:00Z
])
def test_next_times_follow_cron(schedule, after, expected):
    assert parse_schedule(schedule).next_after(after, timezone.utc) == expected


def test_a_bad_schedule_is_refused():
    with pytest.raises(ScheduleError):
        parse_schedule("61 * * * *")
    with pytest.raises(ScheduleError):
        parse_schedule("* * * *")
