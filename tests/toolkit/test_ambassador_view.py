"""The ambassador's live timeline: the figure from plain data (its artists inspected), and the
live view on the session's simulator polling a reader pod's ambassador while a shard goes down
and comes back (the reader program and the ambassador running their real cores there)."""

from __future__ import annotations

from matplotlib.colors import to_hex

from k8s_course import checks
from k8s_course.controls import ShardOutageToggle
from k8s_course.views import AmbassadorView, draw_ambassador_timeline
from k8s_course.views.ambassador import STATE_COLOURS, breaker_lanes, first_opening, probes
from k8s_course.workloads import program_source

SHARDS = ["redis-0.redis:6379", "redis-1.redis:6379", "redis-2.redis:6379"]


def _sample(t: float, **states: str) -> dict:
    shards = {}
    for shard in SHARDS:
        state = states.get(shard.split(".")[0].replace("-", "_"), "closed")
        shards[shard] = {"state": state, "failures": 3 if state != "closed" else 0,
                         "opened": 1 if state != "closed" or t > 103 else 0, "half_opened": 0}
    return {"t": t, "shards": shards}


SAMPLES = {
    "breakers": [_sample(100.0), _sample(101.0, redis_2="open"), _sample(102.0, redis_2="open"),
                 _sample(103.0, redis_2="half-open"), _sample(104.0)],
    "seconds": [{"second": 100, "reads": 12, "errors": 0, "misses": 0, "mean_ms": 0.5, "max_ms": 1.0, "error": ""},
                {"second": 101, "reads": 12, "errors": 4, "misses": 0, "mean_ms": 0.4, "max_ms": 2.0,
                 "error": "ERR shard redis-2.redis:6379 unavailable (circuit open)"},
                {"second": 102, "reads": 12, "errors": 4, "misses": 0, "mean_ms": 0.3, "max_ms": 0.9, "error": ""}],
}


def _patches(fig, prefix: str) -> dict:
    return {p.get_gid(): p for axes in fig.axes for p in axes.patches if (p.get_gid() or "").startswith(prefix)}


def _lines(fig) -> dict:
    return {line.get_label(): line for axes in fig.axes for line in axes.lines}


def test_each_polled_state_holds_until_the_next_poll_and_repeats_merge():
    lanes = breaker_lanes(SAMPLES["breakers"], until=105.0)
    assert lanes["redis-0.redis:6379"] == [(100.0, 105.0, "closed")]
    assert lanes["redis-2.redis:6379"] == [(100.0, 101.0, "closed"), (101.0, 103.0, "open"),
                                           (103.0, 104.0, "half-open"), (104.0, 105.0, "closed")]


def test_the_first_opening_is_the_first_poll_that_counts_one():
    assert first_opening(SAMPLES["breakers"], "redis-2.redis:6379")["t"] == 101.0
    assert first_opening(SAMPLES["breakers"][:1], "redis-2.redis:6379") is None


def test_the_figure_has_a_lane_per_shard_coloured_by_state_and_the_apps_seconds_under_it():
    fig = draw_ambassador_timeline(SAMPLES, title="ambassador of pod reader")
    assert set(_patches(fig, "lane:")) == {f"lane:{shard}" for shard in SHARDS}
    segments = _patches(fig, "state:redis-2.redis:6379:")
    colours = [to_hex(segments[f"state:redis-2.redis:6379:{n}"].get_facecolor()) for n in range(4)]
    assert colours == [STATE_COLOURS[s] for s in ("closed", "open", "half-open", "closed")]
    opened = segments["state:redis-2.redis:6379:1"]
    assert (opened.get_x(), opened.get_width()) == (1.0, 2.0)  # seconds from the first poll
    lines = _lines(fig)
    assert list(lines["errors"].get_ydata()) == [0, 4, 4]
    assert list(lines["reads"].get_ydata()) == [12, 12, 12]
    assert list(lines["max latency"].get_ydata()) == [1.0, 2.0, 0.9]
    assert list(lines["mean latency"].get_xdata()) == [0, 1, 2]
    assert fig._suptitle.get_text() == "ambassador of pod reader: 36 reads, 8 errors"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["redis-0.redis", "redis-1.redis", "redis-2.redis"]


def _counters(t: float, state: str, half_opened: int, closed: int) -> dict:
    return {"t": t, "shards": {"redis-2.redis:6379": {"state": state, "opened": half_opened + 1 - closed,
                                                      "half_opened": half_opened, "closed": closed}}}


def test_probes_between_polls_are_found_from_the_counters_and_marked_on_the_lane():
    breakers = [_counters(10.0, "open", 0, 0), _counters(11.0, "open", 1, 0), _counters(12.0, "open", 1, 0),
                _counters(13.0, "closed", 3, 1)]
    assert probes(breakers) == {"redis-2.redis:6379": [(11.0, False), (13.0, False), (13.0, True)]}
    fig = draw_ambassador_timeline({"breakers": breakers, "seconds": []})
    marks = _lines(fig)
    assert list(marks["probe failed"].get_xdata()) == [1.0, 3.0]
    assert list(marks["probe succeeded"].get_xdata()) == [3.0]
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert legend == ["closed", "open", "probe failed", "probe succeeded"]


def test_without_data_the_figure_says_so():
    fig = draw_ambassador_timeline({})
    texts = {t.get_gid(): t.get_text() for axes in fig.axes for t in axes.texts}
    assert texts == {"empty": "no breaker seen yet", "no-reads": "no reads yet"}
    assert fig._suptitle.get_text() == "no reads yet"


def test_the_live_view_sees_a_breaker_open_and_close_around_a_shard_outage(cluster):
    cluster.apply("02-redis.yaml")
    for name, program in (("ambassador", "ambassador"), ("redis-reader", "redis_reader")):
        cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                       "data": {f"{program}.py": program_source(program)}})
    checks.pods_ready(cluster, "app=redis", 3, timeout=60)
    cluster.apply("02-reader.yaml")  # after the shards: before, their names do not resolve yet
    checks.pods_ready(cluster, "app=shop-reader", 1, timeout=60)
    view = AmbassadorView(cluster, "reader", start=False)
    first = view.poll()
    assert {name: fields["state"] for name, fields in first["shards"].items()} == dict.fromkeys(SHARDS, "closed")
    assert view.settings["breaker_failures"] == 3
    toggle = ShardOutageToggle(cluster, "redis-2")
    toggle.value = True
    cluster.wait_for(lambda: view.poll() and view.state_of("redis-2") in ("open", "half-open"), 60,
                     "the breaker of redis-2 to open")
    opening = view.first_opening("redis-2")
    assert opening["failures"] - opening["half_opened"] <= 3  # opened within 3 failed calls
    assert opening["rejected"] >= 0 and view.state_of("redis-0") == "closed"
    cluster.wait_for(lambda: view.poll() and any(s["errors"] for s in view.seconds), 60, "a second with errors")
    toggle.value = False
    cluster.wait_for(lambda: view.poll() and view.state_of("redis-2") == "closed", 120,
                     "the breaker of redis-2 to close")
    fig = view.redraw()
    assert view.error is None
    states = [p.get_gid() for p in _patches(fig, "state:redis-2.redis:6379:").values()]
    assert len(states) >= 3  # closed, open (and half-open), closed again
    times = [sample["t"] for sample in view.breakers]
    assert times == sorted(times) and times[-1] - times[0] > 3  # on the reader's (the cluster's) clock
    assert view.outputs[0]["data"]["text/plain"].startswith("<ambassador timeline: redis-0 closed")
