"""Chapter 3's measurement and pictures: the writer's log read, the outage measured, the failover drawn."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

from k8s_course import CourseError  # noqa: E402
from k8s_course.views import failover, outages  # noqa: E402
from k8s_course.views.outages import Attempt, FailoverResult  # noqa: E402

# 20 writes a second from t=1000.0; the primary dies after id 20 (acked at 1000.95); writes fail
# from 1001.0 until the new primary acknowledges id 41 at 1004.15: 3.2 s without a write taking.
WRITER_LOG = "\n".join(
    ["writer: target pg-rw:5432, 20 writes/s"]
    + [f"ack {i} {1000 + (i - 1) * 0.05:.3f}" for i in range(1, 21)]
    + [f"fail {i} {1001.0 + (i - 21) * 0.15:.3f} connection refused" for i in range(21, 41)]
    + [f"ack {i} {1004.15 + (i - 41) * 0.05:.3f}" for i in range(41, 61)])
ACKED_IDS = [*range(1, 21), *range(41, 61)]


def gids(fig, prefix: str) -> list[str]:
    return sorted(a.get_gid() for a in fig.findobj() if (a.get_gid() or "").startswith(prefix))


def artist(fig, gid: str):
    return next(a for a in fig.findobj() if a.get_gid() == gid)


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


# reading the writer's log

def test_the_writers_ack_and_fail_lines_become_attempts_and_other_lines_are_skipped():
    attempts = outages.parse_writer_log(WRITER_LOG)
    assert len(attempts) == 60
    assert attempts[0] == Attempt(1, 1000.0, True, "")
    assert attempts[20] == Attempt(21, 1001.0, False, "connection refused")
    assert attempts[-1] == Attempt(60, 1005.1, True, "")


def test_a_failure_reason_keeps_its_words_and_a_line_cut_short_is_skipped():
    attempts = outages.parse_writer_log("fail 7 12.5 ERROR:  cannot execute INSERT in a read-only transaction\n"
                                        "ack 8\nack 9 13.000\n")
    assert attempts == [Attempt(7, 12.5, False, "ERROR:  cannot execute INSERT in a read-only transaction"),
                        Attempt(9, 13.0, True, "")]


# measuring

def test_a_log_with_a_3_2_second_gap_gives_an_outage_of_3_2_seconds():
    result = outages.measure(outages.parse_writer_log(WRITER_LOG))
    assert result.outage_seconds == 3.2
    assert (result.last_ack_before, result.first_failure, result.first_ack_after) == (1000.95, 1001.0, 1004.15)
    assert (result.acked, result.failed) == (40, 20)
    assert result.writes_lost is None  # the table was not read
    assert result.summary() == "outage 3.2 s, writes lost not counted yet"


def test_acknowledged_ids_missing_from_the_table_are_the_lost_writes_and_failed_ones_are_not():
    attempts = outages.parse_writer_log(WRITER_LOG)
    present = [i for i in range(1, 61) if i not in (18, 19, 20)]  # the async tail, and every failed id
    present = [i for i in present if not 21 <= i <= 40]
    result = outages.measure(attempts, present)
    assert result.writes_lost == 3
    assert result.lost_ids == (18, 19, 20)
    assert result.summary() == "outage 3.2 s, 3 writes lost"


def test_writes_acknowledged_after_the_table_was_read_are_not_counted_lost():
    attempts = outages.parse_writer_log(WRITER_LOG)
    read_at_50 = [i for i in ACKED_IDS if i <= 50]  # the writer went on to 60 after the read
    result = outages.measure(attempts, read_at_50)
    assert result.writes_lost == 0 and result.lost_ids == ()
    missing_17 = [i for i in read_at_50 if i != 17]
    assert outages.measure(attempts, missing_17).lost_ids == (17,)


def test_with_every_acknowledged_write_present_nothing_is_lost():
    result = outages.measure(outages.parse_writer_log(WRITER_LOG), ACKED_IDS)
    assert result.writes_lost == 0
    assert result.lost_ids == ()
    assert result.summary() == "outage 3.2 s, 0 writes lost"


def test_the_longest_failing_stretch_is_the_outage_when_there_were_two():
    attempts = [Attempt(1, 10.0, True), Attempt(2, 10.5, False), Attempt(3, 11.0, True),
                Attempt(4, 11.1, False), Attempt(5, 14.0, False), Attempt(6, 15.5, True)]
    result = outages.measure(attempts, [1, 3, 6])
    assert (result.outage_seconds, result.first_failure, result.first_ack_after) == (4.5, 11.1, 15.5)
    assert result.writes_lost == 0


def test_an_outage_that_has_not_ended_runs_to_the_newest_failure():
    attempts = [Attempt(1, 10.0, True), Attempt(2, 10.25, False), Attempt(3, 12.0, False)]
    result = outages.measure(attempts)
    assert result.ongoing
    assert (result.outage_seconds, result.first_ack_after) == (2.0, None)
    assert result.summary() == "outage 2.0 s and counting, writes lost not counted yet"


def test_a_log_without_failures_has_no_outage():
    result = outages.measure([Attempt(1, 1.0, True), Attempt(2, 9.0, True)], [1, 2])
    assert (result.outage_seconds, result.first_failure, result.writes_lost) == (0.0, None, 0)
    assert result.summary() == "no outage, 0 writes lost"


def test_writes_are_counted_per_whole_second_from_the_origin():
    seconds, acked, failed = outages.writes_per_second(outages.parse_writer_log(WRITER_LOG), 1000.0)
    assert seconds == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert acked == [20, 0, 0, 0, 17, 3]
    assert failed == [0, 7, 7, 6, 0, 0]


# roles over time

def member_pod(member: str, role: str | None, deleting: bool = False) -> dict:
    labels = {"k8s-course.dev/cluster": "pg", "k8s-course.dev/member": member}
    if role:
        labels["k8s-course.dev/role"] = role
    meta = {"name": member, "labels": labels}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


def test_a_snapshot_reads_each_members_role_label_and_a_pod_being_deleted_is_gone():
    pods = [member_pod("pg-1", "primary", deleting=True), member_pod("pg-2", "replica"), member_pod("pg-3", None)]
    assert outages.roles_of(pods) == {"pg-1": "gone", "pg-2": "replica", "pg-3": "unlabelled"}


def test_snapshots_become_one_lane_per_member_with_a_segment_per_role():
    recorder = outages.RoleRecorder()
    recorder.record(0.0, {"pg-1": "primary", "pg-2": "replica", "pg-10": "replica"})
    recorder.record(1.0, {"pg-1": "primary", "pg-2": "replica", "pg-10": "replica"})
    recorder.record(2.0, {"pg-2": "replica", "pg-10": "replica"})  # pg-1's pod is gone
    recorder.record(4.0, {"pg-2": "primary", "pg-10": "replica"})
    recorder.record(6.0, {"pg-1": "fenced", "pg-2": "primary", "pg-10": "replica"})
    lanes = recorder.lanes(until=8.0)
    assert list(lanes) == ["pg-1", "pg-2", "pg-10"]  # pg-2 before pg-10
    assert lanes["pg-1"] == [(0.0, 2.0, "primary"), (2.0, 6.0, "gone"), (6.0, 8.0, "fenced")]
    assert lanes["pg-2"] == [(0.0, 4.0, "replica"), (4.0, 8.0, "primary")]
    assert lanes["pg-10"] == [(0.0, 8.0, "replica")]


def test_a_member_that_joins_later_has_no_segment_before_it_was_seen():
    lanes = outages.lanes_of([(0.0, {"pg-1": "primary"}), (3.0, {"pg-1": "primary", "pg-2": "unlabelled"}),
                              (5.0, {"pg-1": "primary", "pg-2": "replica"})])
    assert lanes["pg-2"] == [(3.0, 5.0, "unlabelled"), (5.0, 5.0, "replica")]


# the failover picture

def failover_timeline(present=None) -> dict:
    attempts = outages.parse_writer_log(WRITER_LOG)
    lanes = outages.lanes_of([(1000.0, {"pg-1": "primary", "pg-2": "replica", "pg-3": "replica"}),
                              (1001.0, {"pg-2": "replica", "pg-3": "replica"}),
                              (1004.0, {"pg-2": "primary", "pg-3": "replica"}),
                              (1005.0, {"pg-1": "fenced", "pg-2": "primary", "pg-3": "replica"})], until=1005.1)
    return {"lanes": lanes, "attempts": attempts, "result": outages.measure(attempts, present)}


def test_the_failover_figure_has_one_lane_per_member_and_its_role_segments():
    fig = failover.draw_failover(failover_timeline())
    assert gids(fig, "lane:") == ["lane:pg-1", "lane:pg-2", "lane:pg-3"]
    assert gids(fig, "role:pg-1:") == ["role:pg-1:0", "role:pg-1:1", "role:pg-1:2"]
    first, gone, fenced = (artist(fig, f"role:pg-1:{i}") for i in range(3))
    assert (first.get_x(), first.get_width()) == (0.0, 1.0)
    assert matplotlib.colors.to_hex(first.get_facecolor()) == failover.ROLE_COLOURS["primary"]
    assert matplotlib.colors.to_hex(gone.get_facecolor()) == failover.ROLE_COLOURS["gone"]
    assert matplotlib.colors.to_hex(fenced.get_facecolor()) == failover.ROLE_COLOURS["fenced"]
    promoted = artist(fig, "role:pg-2:1")
    assert promoted.get_x() == pytest.approx(4.0)
    assert matplotlib.colors.to_hex(promoted.get_facecolor()) == failover.ROLE_COLOURS["primary"]


def test_the_shaded_outage_spans_the_outage_and_the_title_gives_the_result():
    fig = failover.draw_failover(failover_timeline(present=ACKED_IDS))
    for gid in ("outage", "outage:lanes"):
        span = artist(fig, gid)
        assert span.get_x() == pytest.approx(0.95)
        assert span.get_width() == pytest.approx(3.2)
    assert artist(fig, "outage-label").get_text() == "outage 3.2 s"
    assert fig._suptitle.get_text() == "outage 3.2 s, 0 writes lost"


def test_the_writes_panel_draws_acked_and_failed_writes_per_second():
    fig = failover.draw_failover(failover_timeline())
    writes_axes = fig.axes[1]
    drawn = {a.get_label(): a for a in writes_axes.get_children() if a.get_label() in ("acked", "failed")}
    assert set(drawn) == {"acked", "failed"}
    assert list(drawn["acked"].get_data().values) == [20, 0, 0, 0, 17, 3]
    assert list(drawn["failed"].get_data().values) == [0, 7, 7, 6, 0, 0]


def test_a_failover_without_failures_draws_no_outage():
    attempts = [Attempt(1, 5.0, True), Attempt(2, 6.0, True)]
    fig = failover.draw_failover({"lanes": {"pg-1": [(5.0, 6.0, "primary")]}, "attempts": attempts})
    assert gids(fig, "outage") == []
    assert fig._suptitle.get_text() == "no outage, writes lost not counted yet"


def test_an_empty_timeline_still_draws():
    fig = failover.draw_failover({"lanes": {}, "attempts": []})
    assert "no members seen yet" in texts(fig) and "no writes yet" in texts(fig)


def test_sync_and_async_runs_stand_side_by_side():
    sync = FailoverResult(3.2, 0, 400, 20, 1001.0, 1004.2, 1001.0)
    asynchronous = FailoverResult(2.9, 7, 410, 18, 1001.0, 1003.9, 1001.0)
    fig = failover.draw_sync_vs_async({"synchronous": sync, "asynchronous": asynchronous})
    assert artist(fig, "outage:synchronous").get_height() == 3.2
    assert artist(fig, "outage:asynchronous").get_height() == 2.9
    assert artist(fig, "lost:synchronous").get_height() == 0
    assert artist(fig, "lost:asynchronous").get_height() == 7
    assert {"3.2 s", "2.9 s", "0", "7"} <= set(texts(fig))


# the live widget, against the simulator

def busybox_pod(name: str, labels: dict, command: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", command]}]}}


def member(name: str, role: str) -> dict:
    return busybox_pod(name, {"k8s-course.dev/cluster": "pg", "k8s-course.dev/member": name,
                              "k8s-course.dev/role": role}, "sleep 3600")


WRITER_SCRIPT = ("echo 'writer: target pg-rw:5432'; echo 'ack 1 1000.000'; echo 'ack 2 1000.950'; "
                 "echo 'fail 3 1001.000 connection refused'; echo 'ack 4 1004.150'; sleep 3600")


@pytest.fixture
def members_and_writer(cluster):
    cluster.apply([member("pg-1", "primary"), member("pg-2", "replica"),
                   busybox_pod("writer", {"app": "writer"}, WRITER_SCRIPT)])
    def written():
        try:
            return "ack 4" in cluster.logs("writer")
        except CourseError:  # its container has not started yet
            return False

    cluster.wait_for(written, timeout=30, description="the writer's lines")
    return cluster


def test_the_live_view_draws_the_members_roles_and_the_writers_outage(members_and_writer):
    cluster = members_and_writer
    times = iter([1000.0, 1002.0])
    view = failover.FailoverView(cluster, "pg", "writer", clock=lambda: next(times), start=False)
    view.refresh()
    cluster.apply(member("pg-2", "primary"))  # the operator's relabel, by hand
    cluster.apply(member("pg-1", "fenced"))
    fig = view.refresh()
    assert [a.id for a in view.attempts] == [1, 2, 3, 4]
    assert view.recorder.lanes(1004.15) == {"pg-1": [(1000.0, 1002.0, "primary"), (1002.0, 1004.15, "fenced")],
                                            "pg-2": [(1000.0, 1002.0, "replica"), (1002.0, 1004.15, "primary")]}
    assert gids(fig, "lane:") == ["lane:pg-1", "lane:pg-2"]
    assert artist(fig, "outage").get_width() == pytest.approx(3.2)
    assert view.result().outage_seconds == 3.2
    view.present_ids = [1, 4]  # acknowledged 2 is missing
    assert view.redraw()._suptitle.get_text() == "PostgresCluster pg: outage 3.2 s, 1 write lost"
    assert len(view.outputs) == 1 and "image/png" in view.outputs[0]["data"]


def test_the_live_view_places_roles_on_the_writers_clock_and_polls_until_stopped(members_and_writer):
    cluster = members_and_writer
    view = failover.FailoverView(cluster, "pg", "writer", interval=0.05)
    try:
        cluster.wait_for(lambda: view.redraws >= 3, timeout=30, description="three redraws", poll=0.05)
    finally:
        view.stop()
    assert view.error is None
    assert {t for t, _ in view.recorder.snapshots} == {1004.15}  # the newest line of the log
    assert view.recorder.snapshots[0][1] == {"pg-1": "primary", "pg-2": "replica"}
    redraws = view.redraws
    assert view._thread is None and view.redraws == redraws
