"""Chapter 2's live timeline: each shard's circuit breaker, and what the app lives through.

`draw_ambassador_timeline(samples)` takes plain data,

    {"breakers": [{"t": 1767225600.4,                                  # INFO ambassador, polled
                   "shards": {"redis-0.redis:6379": {"state": "closed", "failures": 0, ...}}}, ...],
     "seconds": [{"second": 1767225600, "reads": 12, "errors": 4,      # the app's read loop
                  "misses": 0, "mean_ms": 0.4, "max_ms": 1.3, "error": "..."}, ...]}

and returns a Figure: on top one lane per shard, coloured by its breaker's state over time
(closed, open, half-open), with a mark for each half-open probe (failed or succeeded); under it
the app's reads and errors per second; at the bottom its mean and longest read per second. `AmbassadorView` is the live widget: every `interval` seconds
it asks the ambassador for `INFO ambassador` through exec in the app's pod and reads the app
loop's log (k8s_course/workloads/redis_reader.py), and redraws from the same function.

Artists tests may look for (gids): `lane:<shard>` (a lane's band), `state:<shard>:<n>` (its n-th
segment, coloured by state); lines labelled "probe failed" and "probe succeeded" (the marks),
"reads", "errors", "max latency", "mean latency".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

import ipywidgets
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from k8s_course.workloads import ambassador as ambassador_program
from k8s_course.workloads import redis_reader

from . import live

STATE_COLOURS = {"closed": "#2b9348", "half-open": "#e9c46a", "open": "#c1121f", "unknown": "#dee2e6"}
STATE_HATCHES = {"open": "//", "half-open": ".."}
READS_COLOUR, ERRORS_COLOUR = "#457b9d", "#c1121f"
MAX_COLOUR, MEAN_COLOUR = "#6d597a", "#b56576"
# how the reader's info mode is run in its container; for an app image with redis-cli:
# "redis-cli INFO ambassador"
READER_INFO = ["python", "/app/redis_reader.py", "info"]


# ---------------------------------------------------------------------------------------------
# Plain data
# ---------------------------------------------------------------------------------------------


def breaker_lanes(breakers: Sequence[Mapping], until: float | None = None) -> dict[str, list[tuple[float, float, str]]]:
    """Per shard, (start, end, state) segments: each polled state holds until the next poll."""
    ordered = sorted(breakers, key=lambda sample: sample["t"])
    lanes: dict[str, list[tuple[float, float, str]]] = {}
    for index, sample in enumerate(ordered):
        end = ordered[index + 1]["t"] if index + 1 < len(ordered) else max(until or sample["t"], sample["t"])
        for shard, fields in sample["shards"].items():
            state = str(fields.get("state", "unknown"))
            lane = lanes.setdefault(shard, [])
            if lane and lane[-1][2] == state and lane[-1][1] == sample["t"]:
                lane[-1] = (lane[-1][0], end, state)  # the same state goes on
            else:
                lane.append((sample["t"], end, state))
    return lanes


def probes(breakers: Sequence[Mapping]) -> dict[str, list[tuple[float, bool]]]:
    """Per shard, the half-open probes between polls: (time of the poll that saw it, succeeded).

    Half-open lasts from the end of the cool-down to the next call, milliseconds under load, so a
    poll once a second rarely sees it; the breaker's counters (half_opened, closed) tell anyway."""
    ordered = sorted(breakers, key=lambda sample: sample["t"])
    found: dict[str, list[tuple[float, bool]]] = {}
    for before, after in zip(ordered, ordered[1:], strict=False):
        for shard, fields in after["shards"].items():
            previous = before["shards"].get(shard)
            if previous is None:
                continue
            tried = int(fields.get("half_opened", 0)) - int(previous.get("half_opened", 0))
            succeeded = int(fields.get("closed", 0)) - int(previous.get("closed", 0))
            for index in range(max(tried, 0)):  # a success ends the half-opening: it came last
                found.setdefault(shard, []).append((after["t"], index >= tried - succeeded))
    return found


def first_opening(breakers: Sequence[Mapping], shard: str) -> dict | None:
    """The shard's INFO fields at the first poll that saw its breaker opened (or None)."""
    for sample in sorted(breakers, key=lambda s: s["t"]):
        fields = sample["shards"].get(shard)
        if fields and int(fields.get("opened", 0)) >= 1:
            return dict(fields, t=sample["t"])
    return None


def _origin(samples: Mapping) -> float:
    starts = [s["t"] for s in samples.get("breakers") or []] + [s["second"] for s in samples.get("seconds") or []]
    return min(starts, default=0.0)


def _end(samples: Mapping) -> float:
    ends = [s["t"] for s in samples.get("breakers") or []] + [s["second"] + 1 for s in samples.get("seconds") or []]
    return max(ends, default=0.0)


# ---------------------------------------------------------------------------------------------
# The figure
# ---------------------------------------------------------------------------------------------


def draw_ambassador_timeline(samples: Mapping, title: str | None = None) -> Figure:
    """Breaker states per shard (top), reads and errors per second, latency per second (bottom)."""
    breakers = list(samples.get("breakers") or [])
    seconds = sorted(samples.get("seconds") or [], key=lambda s: s["second"])
    origin, end = _origin(samples), _end(samples)
    lanes = breaker_lanes(breakers, until=end)
    tries = probes(breakers)
    rows = max(len(lanes), 1)
    fig = Figure(figsize=(10, 2.0 + 0.4 * rows + 4.2))
    lanes_axes, reads_axes, latency_axes = fig.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [0.4 * rows + 0.4, 2.0, 2.0]})
    _draw_lanes(lanes_axes, lanes, origin, end)
    _draw_probes(lanes_axes, list(lanes), tries, origin)
    _legend_states(lanes_axes, lanes)
    _draw_reads(reads_axes, latency_axes, seconds, origin)
    latency_axes.set_xlim(0, max(end - origin, 1.0))
    errors = sum(s["errors"] for s in seconds)
    reads = sum(s["reads"] for s in seconds)
    summary = f"{reads} reads, {errors} errors" if seconds else "no reads yet"
    fig.suptitle(f"{title}: {summary}" if title else summary)
    fig.subplots_adjust(left=0.17, right=0.84, top=0.93, bottom=0.08, hspace=0.18)
    return fig


def _draw_lanes(axes, lanes: Mapping, origin: float, end: float) -> None:
    shards = list(lanes)
    for row, shard in enumerate(shards):
        axes.add_patch(Rectangle((0, row - 0.4), max(end - origin, 1.0), 0.8, facecolor="#f8f9fa",
                                 edgecolor="#ced4da", linewidth=0.6, gid=f"lane:{shard}", zorder=1))
        for index, (start, stop, state) in enumerate(lanes[shard]):
            axes.add_patch(Rectangle((start - origin, row - 0.32), max(stop - start, 0.05), 0.64,
                                     facecolor=STATE_COLOURS.get(state, STATE_COLOURS["unknown"]),
                                     hatch=STATE_HATCHES.get(state, ""), edgecolor="#343a40", linewidth=0.5,
                                     gid=f"state:{shard}:{index}", zorder=2))
    axes.set_yticks(range(len(shards)), [shard.split(":")[0] for shard in shards])
    axes.set_ylim(len(shards) - 0.5 if shards else 0.5, -0.5)  # the first shard on top
    axes.set_ylabel("breakers")
    if not shards:
        axes.text(0.5, 0.5, "no breaker seen yet", transform=axes.transAxes, ha="center", va="center", gid="empty")


def _legend_states(axes, lanes: Mapping) -> None:
    present = [s for s in STATE_COLOURS if s != "unknown" and any(seg[2] == s for lane in lanes.values() for seg in lane)]
    handles = [Patch(facecolor=STATE_COLOURS[s], hatch=STATE_HATCHES.get(s, ""), edgecolor="#343a40", label=s)
               for s in present]
    handles += axes.get_legend_handles_labels()[0]  # the probes' marks
    if handles:
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)


def _draw_probes(axes, shards: list[str], tries: Mapping, origin: float) -> None:
    """A tick per half-open probe on its shard's lane: a cross if it failed, a dot if it closed."""
    for outcome, marker, colour, label in ((False, "X", "#343a40", "probe failed"),
                                           (True, "o", "#ffffff", "probe succeeded")):
        xs, ys = [], []
        for row, shard in enumerate(shards):
            for t, succeeded in tries.get(shard, []):
                if succeeded is outcome:
                    xs.append(t - origin)
                    ys.append(row)
        if xs:
            axes.plot(xs, ys, linestyle="none", marker=marker, markersize=7, markerfacecolor=colour,
                      markeredgecolor="#343a40", label=label, zorder=3)


def _draw_reads(reads_axes, latency_axes, seconds: list, origin: float) -> None:
    if seconds:
        starts = [s["second"] - origin for s in seconds]
        reads_axes.step(starts, [s["reads"] for s in seconds], where="post", color=READS_COLOUR, linewidth=2,
                        label="reads")
        reads_axes.step(starts, [s["errors"] for s in seconds], where="post", color=ERRORS_COLOUR, linewidth=2,
                        label="errors")
        latency_axes.step(starts, [s["max_ms"] for s in seconds], where="post", color=MAX_COLOUR, linewidth=2,
                          label="max latency")
        latency_axes.step(starts, [s["mean_ms"] for s in seconds], where="post", color=MEAN_COLOUR,
                          linewidth=1.5, linestyle="--", label="mean latency")
        for axes in (reads_axes, latency_axes):
            axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    else:
        reads_axes.text(0.5, 0.5, "no reads yet", transform=reads_axes.transAxes, ha="center", va="center",
                        gid="no-reads")
    reads_axes.set_ylabel("app reads / s")
    latency_axes.set_ylabel("read latency (ms)")
    latency_axes.set_xlabel("seconds")
    for axes in (reads_axes, latency_axes):
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)


# ---------------------------------------------------------------------------------------------
# The live widget
# ---------------------------------------------------------------------------------------------


class AmbassadorView(live.Polling, ipywidgets.Output):
    """The breakers of a pod's ambassador and its app's reads, redrawn every `interval` seconds.

    Each refresh runs `info_command` in the pod's `container` (default: the reader's own
    `python /app/redis_reader.py info`; `"redis-cli INFO ambassador"` where the app has redis-cli)
    and reads that container's log of `reads ...` lines. Polls are placed on the reader's clock
    (the `clock:` line of its info mode), else on `clock()` if given, else just after the newest
    second in the log. `stop()` when done.
    """

    stop_grace = 70.0  # an exec in flight may take its time

    def __init__(self, cluster, pod: str, container: str = "app", info_command: str | list[str] | None = None,
                 interval: float = 1.0, namespace: str | None = None, clock: Callable[[], float] | None = None,
                 start: bool = True, **kwargs):
        super().__init__(**kwargs)
        self._cluster = cluster
        self.pod = pod
        self.container = container
        self.info_command = list(READER_INFO) if info_command is None else info_command
        self.interval = interval
        self._namespace = namespace or cluster.namespace
        self._clock = clock
        self.breakers: list[dict] = []
        self.seconds: list[dict] = []
        self.settings: dict = {}  # the ambassador's own lines of INFO (breaker_failures, ...)
        self.error: str | None = None
        self.redraws = 0
        self._figure: Figure | None = None
        self._lock = threading.Lock()
        self._polling_setup()
        if start:
            self.start()

    # the data

    def samples(self) -> dict:
        return {"breakers": list(self.breakers), "seconds": list(self.seconds)}

    def state_of(self, shard: str) -> str | None:
        """The breaker state of `shard` (a name, or its prefix such as "redis-2") at the last poll."""
        for sample in reversed(self.breakers):
            for name, fields in sample["shards"].items():
                if name == shard or name.split(".")[0] == shard or name.split(":")[0] == shard:
                    return str(fields.get("state"))
        return None

    def shard_named(self, shard: str) -> str | None:
        """The ambassador's full name of a shard given by prefix ("redis-2" -> "redis-2.redis:6379")."""
        for sample in reversed(self.breakers):
            for name in sample["shards"]:
                if name == shard or name.split(".")[0] == shard or name.split(":")[0] == shard:
                    return name
        return None

    def first_opening(self, shard: str) -> dict | None:
        name = self.shard_named(shard)
        return first_opening(self.breakers, name) if name else None

    # reading and drawing

    def figure(self) -> Figure | None:
        """The last figure drawn."""
        return self._figure

    def poll(self) -> dict | None:
        """Ask the ambassador for its INFO and read the app's log once; the new breaker sample."""
        with self._lock:
            try:
                log = self._cluster.logs(self.pod, container=self.container, namespace=self._namespace)
            except Exception as error:  # the app may not have started yet: the breakers still count
                log = ""
                self.error = f"cannot read the app's log yet: {getattr(error, 'message', error)}"
            parsed = [redis_reader.parse_line(line) for line in log.splitlines()]
            self.seconds = [entry for entry in parsed if entry is not None]
            try:
                text = self._cluster.exec(self.pod, self.info_command, container=self.container,
                                          namespace=self._namespace)
            except Exception as error:
                self.error = f"cannot ask the ambassador: {getattr(error, 'message', error)}"
                return None
            info = ambassador_program.parse_info(text.replace("\r\n", "\n"))
            if not info["shards"]:
                self.error = f"no shards in the ambassador's answer: {text.strip()[:200]}"
                return None
            self.settings = {k: v for k, v in info["ambassador"].items() if k != "clock"}
            sample = {"t": self._now(info["ambassador"].get("clock")), "shards": info["shards"]}
            self.breakers.append(sample)
            return sample

    def refresh(self) -> Figure:
        """Poll once and redraw now."""
        self.poll()
        return self.redraw()

    def redraw(self) -> Figure:
        fig = draw_ambassador_timeline(self.samples(), title=f"ambassador of pod {self.pod}")
        self._figure = fig
        self.redraws += 1
        states = ", ".join(f"{name.split('.')[0]} {fields.get('state')}"
                           for name, fields in (self.breakers[-1]["shards"].items() if self.breakers else []))
        self.outputs = (live._png_output(fig, f"<ambassador timeline: {states or 'no poll yet'}>"),)
        return fig

    def _now(self, reported) -> float:
        if isinstance(reported, (int, float)):
            return float(reported)
        if self._clock is not None:
            return self._clock()
        newest = max((s["second"] for s in self.seconds), default=None)
        last = self.breakers[-1]["t"] if self.breakers else None
        guess = newest + 1.0 if newest is not None else (last + self.interval if last is not None else 0.0)
        return max(guess, last + 0.001) if last is not None else guess

