"""The Job controller: pods to completion, counted through the tracking finalizer, and the end."""

from __future__ import annotations

from k8s_course.sim.controllers.job import (
    TRACKING_FINALIZER,
    JobController,
    backoff_delay,
    format_indexes,
    parse_indexes,
)
from tests.sim.harness import Harness


def _job(name="pi", **spec) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                            "containers": [{"name": "main", "image": "busybox"}]}},
                     **spec}}


def _run(scenario):
    return Harness.run(scenario, controllers=lambda cluster: [JobController(cluster.objects)])


def _pods(h: Harness, job: str = "pi") -> list[dict]:
    return sorted((p for p in h.list("v1", "Pod") if p["metadata"]["labels"].get("job-name") == job),
                  key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))


def _live(h: Harness, job: str = "pi") -> list[dict]:
    return [p for p in _pods(h, job) if p["status"].get("phase") not in ("Succeeded", "Failed")]


def _finish(h: Harness, pod: dict, exit_code: int, sidecar_running: bool = False) -> None:
    now = h.clock.timestamp()
    statuses = [{"name": "main", "ready": False, "restartCount": 0, "image": "busybox", "imageID": "",
                 "state": {"terminated": {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                                          "startedAt": now, "finishedAt": now}}}]
    if sidecar_running:
        statuses.append({"name": "proxy", "ready": True, "restartCount": 0, "image": "envoy", "imageID": "",
                         "state": {"running": {"startedAt": now}}})
    h.patch("v1", "Pod", pod["metadata"]["name"], {"status": {
        "phase": "Succeeded" if exit_code == 0 else "Failed", "containerStatuses": statuses}},
        subresource="status")


def _run_and_ready(h: Harness, pod: dict) -> None:
    now = h.clock.timestamp()
    h.patch("v1", "Pod", pod["metadata"]["name"], {"status": {
        "phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}]}},
        subresource="status")


def _conditions(job: dict) -> list[tuple[str, str, str, str]]:
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in job["status"].get("conditions", [])]


def test_a_job_of_three_completions_runs_two_pods_at_a_time():
    async def scenario(h: Harness):
        h.create(_job(completions=3, parallelism=2))
        await h.settle()
        first = _pods(h)
        assert len(first) == 2
        pod = first[0]
        assert pod["metadata"]["name"].startswith("pi-") and len(pod["metadata"]["name"]) == len("pi-") + 5
        assert pod["metadata"]["finalizers"] == [TRACKING_FINALIZER]
        job = h.get("batch/v1", "Job", "pi")
        labels = pod["metadata"]["labels"]
        assert labels["batch.kubernetes.io/job-name"] == "pi"
        assert labels["batch.kubernetes.io/controller-uid"] == job["metadata"]["uid"]
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
        assert job["status"]["active"] == 2 and job["status"]["ready"] == 0
        assert job["status"]["startTime"] == h.clock.timestamp()
        assert job["status"]["uncountedTerminatedPods"] == {}

        _run_and_ready(h, first[0])
        await h.settle()
        assert h.get("batch/v1", "Job", "pi")["status"]["ready"] == 1

        _finish(h, first[0], 0)
        await h.settle()
        job = h.get("batch/v1", "Job", "pi")
        assert job["status"]["succeeded"] == 1 and job["status"]["active"] == 2
        assert len(_pods(h)) == 3
        # counted, so the tracking finalizer is gone from the finished pod
        assert not h.get("v1", "Pod", first[0]["metadata"]["name"])["metadata"].get("finalizers")

        await h.advance(30)
        for pod in _live(h):
            _finish(h, pod, 0)
        await h.settle()
        job = h.get("batch/v1", "Job", "pi")
        assert len(_pods(h)) == 3  # never more pods than completions when all succeed
        assert job["status"]["succeeded"] == 3
        assert "active" not in job["status"]
        assert _conditions(job) == [
            ("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
            ("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods")]
        assert job["status"]["completionTime"] == h.clock.timestamp()
        reasons = [(e["reason"], e["message"]) for e in h.events(name="pi")]
        assert ("Completed", "Job completed") in reasons
        assert sum(1 for r, _ in reasons if r == "SuccessfulCreate") == 3
        assert (("SuccessfulCreate", f"Created pod: {first[0]['metadata']['name']}") in reasons)

    _run(scenario)


def test_a_failing_job_backs_off_10_20_40_seconds_and_fails_past_its_backoff_limit():
    async def scenario(h: Harness):
        h.create(_job(backoffLimit=3))
        await h.settle()
        created_at = []
        for attempt in range(4):
            live = _live(h)
            assert len(live) == 1, attempt
            created_at.append(h.clock.now())
            _finish(h, live[0], 1)
            await h.settle()
            if attempt == 3:
                break
            waited = await h.until(lambda: len(_live(h)) == 1, timeout=400)
            assert waited == backoff_delay(attempt + 1)
        assert [backoff_delay(n) for n in (1, 2, 3)] == [10, 20, 40]
        job = h.get("batch/v1", "Job", "pi")
        assert job["status"]["failed"] == 4
        assert _conditions(job) == [
            ("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
            ("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]
        assert "completionTime" not in job["status"]
        warnings = [(e["type"], e["reason"], e["message"]) for e in h.events(name="pi")]
        assert ("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit") in warnings
        await h.advance(600, step=60)
        assert len(_pods(h)) == 4  # no pod after the end

    _run(scenario)


def test_the_back_off_is_capped_at_six_minutes():
    assert [backoff_delay(n) for n in range(1, 8)] == [10, 20, 40, 80, 160, 320, 360]
    assert backoff_delay(0) == 0


def test_an_active_deadline_fails_the_job_and_deletes_its_pods():
    async def scenario(h: Harness):
        h.create(_job(activeDeadlineSeconds=30))
        await h.settle()
        pod = _pods(h)[0]
        await h.advance(29)
        assert "conditions" not in h.get("batch/v1", "Job", "pi")["status"]
        await h.advance(1)
        job = h.get("batch/v1", "Job", "pi")
        assert _conditions(job)[-1] == ("Failed", "True", "DeadlineExceeded",
                                        "Job was active longer than specified deadline")
        assert job["status"]["failed"] == 1
        assert h.get("v1", "Pod", pod["metadata"]["name"]) is None  # unbound: gone at once
        assert ("SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}") in [
            (e["reason"], e["message"]) for e in h.events(name="pi")]

    _run(scenario)


def test_a_pod_with_a_sidecar_still_stopping_counts_as_succeeded_by_its_phase():
    async def scenario(h: Harness):
        h.create(_job())
        await h.settle()
        _finish(h, _pods(h)[0], 0, sidecar_running=True)
        await h.settle()
        job = h.get("batch/v1", "Job", "pi")
        assert job["status"]["succeeded"] == 1
        assert _conditions(job)[-1][0] == "Complete"

    _run(scenario)


def test_an_indexed_job_gives_each_pod_its_index_and_reports_completed_indexes():
    async def scenario(h: Harness):
        h.create(_job(completions=3, parallelism=3, completionMode="Indexed"))
        await h.settle()
        pods = _pods(h)
        indexes = sorted(p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] for p in pods)
        assert indexes == ["0", "1", "2"]
        by_index = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p for p in pods}
        assert by_index["1"]["metadata"]["name"].startswith("pi-1-")
        assert by_index["1"]["spec"]["hostname"] == "pi-1"
        env = by_index["1"]["spec"]["containers"][0]["env"][0]
        assert env["name"] == "JOB_COMPLETION_INDEX"
        _finish(h, by_index["0"], 0)
        _finish(h, by_index["2"], 0)
        await h.settle()
        job = h.get("batch/v1", "Job", "pi")
        assert job["status"]["completedIndexes"] == "0,2" and job["status"]["succeeded"] == 2
        _finish(h, by_index["1"], 1)
        await h.advance(10)
        again = [p for p in _live(h)]
        assert [p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] for p in again] == ["1"]

    _run(scenario)


def test_a_suspended_job_creates_nothing_until_resumed():
    async def scenario(h: Harness):
        h.create(_job(suspend=True))
        await h.settle()
        assert _pods(h) == []
        job = h.get("batch/v1", "Job", "pi")
        assert _conditions(job) == [("Suspended", "True", "JobSuspended", "Job suspended")]
        await h.advance(5)
        h.patch("batch/v1", "Job", "pi", {"spec": {"suspend": False}})
        await h.settle()
        job = h.get("batch/v1", "Job", "pi")
        assert len(_pods(h)) == 1
        assert _conditions(job) == [("Suspended", "False", "JobResumed", "Job resumed")]
        assert job["status"]["startTime"] == h.clock.timestamp()

    _run(scenario)


def test_a_finished_job_is_deleted_after_its_ttl():
    async def scenario(h: Harness):
        h.create(_job(ttlSecondsAfterFinished=100))
        await h.settle()
        _finish(h, _pods(h)[0], 0)
        await h.settle()
        await h.advance(99)
        assert not h.get("batch/v1", "Job", "pi")["metadata"].get("deletionTimestamp")
        await h.advance(1)
        job = h.get("batch/v1", "Job", "pi")
        # foreground deletion: the garbage collector removes the pods, then the Job
        assert job is None or job["metadata"]["finalizers"] == ["foregroundDeletion"]

    _run(scenario)


def test_completed_indexes_are_written_as_ranges():
    assert format_indexes({0, 1, 2, 4, 6, 7}) == "0-2,4,6-7"
    assert parse_indexes("0-2,4,6-7") == {0, 1, 2, 4, 6, 7}
    assert format_indexes(set()) == ""


def test_deleting_a_job_releases_its_pods_from_the_tracking_finalizer():
    async def scenario(h: Harness):
        h.create(_job(completions=2, parallelism=2))
        await h.settle()
        names = [p["metadata"]["name"] for p in _pods(h)]
        h.delete("batch/v1", "Job", "pi", propagation_policy="Orphan")
        await h.settle()
        for name in names:
            assert not h.get("v1", "Pod", name)["metadata"].get("finalizers")

    _run(scenario)
