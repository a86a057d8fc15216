"""The failover, drawn: who was primary when, the writes that got through, and the outage.

`draw_failover(timeline)` takes plain data,

    {"lanes": {"pg-1": [(t0, t1, "primary"), (t1, t2, "gone")], ...},   # outages.lanes_of
     "attempts": [Attempt(...), ...],                                 # outages.parse_writer_log
     "result": FailoverResult(...) or None}                            # outages.measure

and returns a Figure: one lane per member (its role over time), below it the writes per second
(acknowledged and failed), the outage shaded on both and labelled with its length, and the
result in the title ("outage 3.2 s, 0 writes lost"). `draw_sync_vs_async(results)` puts two
runs side by side. `FailoverView` is the live widget: it polls the members' pods and the
writer's log every second and redraws from `draw_failover`.

Artists tests may look for (gids): `lane:<member>` (a lane's band), `role:<member>:<n>` (its
n-th segment, coloured by role), `outage` and `outage:lanes` (the shaded spans), `outage-label`;
lines labelled "acked" and "failed"; in the comparison `outage:<run>` and `lost:<run>` bars.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

import ipywidgets
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from . import live, outages

ROLE_COLOURS = {
    "primary": "#2b9348",
    "replica": "#8ecae6",
    "fenced": "#f4a261",
    "unlabelled": "#dee2e6",
    "gone": "#6c757d",
}
ROLE_HATCHES = {"fenced": "xx", "gone": "//"}
OUTAGE_COLOUR = "#e63946"
ACKED_COLOUR, FAILED_COLOUR = "#2b9348", "#c1121f"


def draw_failover(timeline: Mapping, title: str | None = None) -> Figure:
    """Roles per member (top), writes per second (bottom), the outage shaded; result in the title."""
    lanes = timeline.get("lanes") or {}
    attempts = list(timeline.get("attempts") or [])
    result = timeline.get("result")
    if result is None and attempts:
        result = outages.measure(attempts)
    origin = timeline.get("origin")
    if origin is None:
        origin = _origin(lanes, attempts)
    height = 2.2 + 0.45 * max(len(lanes), 1) + 2.4
    fig = Figure(figsize=(10, height))
    roles_axes, writes_axes = fig.subplots(2, 1, sharex=True,
                                           gridspec_kw={"height_ratios": [0.45 * max(len(lanes), 1) + 0.4, 2.4]})
    end = _end(lanes, attempts, origin)
    _draw_lanes(roles_axes, lanes, origin, end)
    _draw_writes(writes_axes, attempts, origin)
    if result is not None and result.first_failure is not None:
        _shade_outage(roles_axes, writes_axes, result, origin, end)
    writes_axes.set_xlim(0, max(end, 1.0))
    summary = result.summary() if result is not None else "no writes yet"
    fig.suptitle(f"{title}: {summary}" if title else summary)
    fig.subplots_adjust(left=0.1, right=0.86, top=1 - 0.55 / height, bottom=0.9 / height, hspace=0.15)
    return fig


def _origin(lanes: Mapping, attempts: list) -> float:
    starts = [lane[0][0] for lane in lanes.values() if lane] + [a.t for a in attempts]
    return min(starts, default=0.0)


def _end(lanes: Mapping, attempts: list, origin: float) -> float:
    ends = [segment[1] for lane in lanes.values() for segment in lane] + [a.t for a in attempts]
    return max(ends, default=origin) - origin


def _draw_lanes(axes, lanes: Mapping, origin: float, end: float) -> None:
    members = list(lanes)
    for row, member in enumerate(members):
        axes.add_patch(Rectangle((0, row - 0.4), max(end, 1.0), 0.8, facecolor="#f8f9fa", edgecolor="#ced4da",
                                 linewidth=0.6, gid=f"lane:{member}", zorder=1))
        for index, (start, stop, role) in enumerate(lanes[member]):
            axes.add_patch(Rectangle((start - origin, row - 0.32), stop - start, 0.64,
                                     facecolor=ROLE_COLOURS.get(role, ROLE_COLOURS["unlabelled"]),
                                     hatch=ROLE_HATCHES.get(role, ""), edgecolor="#343a40", linewidth=0.5,
                                     gid=f"role:{member}:{index}", zorder=2))
    axes.set_yticks(range(len(members)), members)
    axes.set_ylim(len(members) - 0.5 if members else 0.5, -0.5)  # the first member on top
    axes.set_ylabel("members")
    present = [role for role in outages.ROLES if any(s[2] == role for lane in lanes.values() for s in lane)]
    if present:
        handles = [Patch(facecolor=ROLE_COLOURS[r], hatch=ROLE_HATCHES.get(r, ""), edgecolor="#343a40", label=r)
                   for r in present]
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    if not members:
        axes.text(0.5, 0.5, "no members seen yet", transform=axes.transAxes, ha="center", va="center", gid="empty")


def _draw_writes(axes, attempts: list, origin: float) -> None:
    seconds, acked, failed = outages.writes_per_second(attempts, origin)
    if seconds:
        edges = seconds + [seconds[-1] + 1]
        axes.stairs(acked, edges, color=ACKED_COLOUR, linewidth=2, label="acked")
        axes.stairs(failed, edges, color=FAILED_COLOUR, linewidth=2, label="failed")
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    else:
        axes.text(0.5, 0.5, "no writes yet", transform=axes.transAxes, ha="center", va="center", gid="no-writes")
    axes.set_ylabel("writes per second")
    axes.set_xlabel("seconds")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)


def _shade_outage(roles_axes, writes_axes, result, origin: float, end: float) -> None:
    start = (result.last_ack_before if result.last_ack_before is not None else result.first_failure) - origin
    width = result.outage_seconds
    for axes, gid in ((writes_axes, "outage"), (roles_axes, "outage:lanes")):
        axes.add_patch(Rectangle((start, 0), width, 1, transform=axes.get_xaxis_transform(), facecolor=OUTAGE_COLOUR,
                                 alpha=0.18, edgecolor=OUTAGE_COLOUR, linewidth=1, gid=gid, zorder=3))
    text = f"outage {width:.1f} s" + (" and counting" if result.ongoing else "")
    writes_axes.text(start + width / 2, 0.96, text, transform=writes_axes.get_xaxis_transform(), ha="center",
                     va="top", fontsize=9, color=OUTAGE_COLOUR, fontweight="bold", gid="outage-label", zorder=4)


def draw_sync_vs_async(results: Mapping[str, outages.FailoverResult], title: str | None = None) -> Figure:
    """Runs side by side (e.g. {"synchronous": r1, "asynchronous": r2}): outage seconds, writes lost."""
    labels = list(results)
    fig = Figure(figsize=(9, 3.8))
    outage_axes, lost_axes = fig.subplots(1, 2)
    colours = ["#457b9d", "#e9c46a", "#2a9d8f", "#e76f51"]
    for index, label in enumerate(labels):
        result = results[label]
        colour = colours[index % len(colours)]
        bar = outage_axes.bar(index, result.outage_seconds, color=colour, edgecolor="#343a40")[0]
        bar.set_gid(f"outage:{label}")
        outage_axes.annotate(f"{result.outage_seconds:.1f} s", (index, result.outage_seconds), xytext=(0, 3),
                             textcoords="offset points", ha="center", fontsize=9)
        lost = result.writes_lost
        bar = lost_axes.bar(index, lost or 0, color=colour, edgecolor="#343a40")[0]
        bar.set_gid(f"lost:{label}")
        lost_axes.annotate("not counted" if lost is None else str(lost), (index, lost or 0), xytext=(0, 3),
                           textcoords="offset points", ha="center", fontsize=9)
    for axes, ylabel, heading in ((outage_axes, "seconds", "Outage"), (lost_axes, "acknowledged writes", "Writes lost")):
        axes.set_xticks(range(len(labels)), labels)
        axes.set_ylabel(ylabel)
        axes.set_title(heading, fontsize=10)
        axes.set_ylim(0, max([_height(axes)] + [1]) * 1.25)
        axes.grid(axis="y", alpha=0.3)
    lost_axes.yaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(title or "One failover, " + " vs ".join(labels))
    fig.tight_layout()
    return fig


def _height(axes) -> float:
    return max((patch.get_height() for patch in axes.patches), default=0.0)


def timeline_of(recorder: outages.RoleRecorder, attempts: list, present_ids=None, until: float | None = None) -> dict:
    """The plain data `draw_failover` draws, from a recorder's snapshots and the writer's attempts."""
    last = max((a.t for a in attempts), default=None)
    ends = [t for t in (until, last) if t is not None]
    return {"lanes": recorder.lanes(max(ends) if ends else None), "attempts": list(attempts),
            "result": outages.measure(attempts, present_ids) if attempts else None}


class FailoverView(live.Polling, ipywidgets.Output):
    """The failover timeline of a PostgresCluster, redrawn every `interval` seconds. `stop()` when done.

    It lists the pods labelled `k8s-course.dev/cluster=<cluster_name>` (their role labels) and
    reads the writer pod's log. The roles are placed on the writer's clock: each snapshot is
    stamped with the newest time in the log (on the simulator the cluster's clock runs faster
    than the wall's; before its first line no role is recorded), or with `clock()` if one is
    given. Set `present_ids` (the ids in the
    table, read after the failover) to count the writes lost.
    """

    def __init__(self, cluster, cluster_name: str, writer_pod: str, interval: float = 1.0,
                 namespace: str | None = None, container: str | None = None,
                 clock: Callable[[], float] | None = None, start: bool = True, **kwargs):
        super().__init__(**kwargs)
        self._cluster = cluster
        self.cluster_name = cluster_name
        self.writer_pod = writer_pod
        self.interval = interval
        self._namespace = namespace or cluster.namespace
        self._container = container
        self._clock = clock
        self.recorder = outages.RoleRecorder()
        self.attempts: list[outages.Attempt] = []
        self.present_ids: list[int] | None = None
        self.error: str | None = None
        self.redraws = 0
        self._figure: Figure | None = None
        self._lock = threading.Lock()
        self._polling_setup()
        if start:
            self.start()

    def figure(self) -> Figure | None:
        """The last figure drawn."""
        return self._figure

    def timeline(self) -> dict:
        return timeline_of(self.recorder, self.attempts, self.present_ids)

    def result(self) -> outages.FailoverResult:
        return outages.measure(self.attempts, self.present_ids)

    def refresh(self) -> Figure:
        """Read the members' roles and the writer's log once, and redraw now."""
        with self._lock:
            pods = self._cluster.pods(f"{outages.CLUSTER_LABEL}={self.cluster_name}", self._namespace)
            try:
                log = self._cluster.logs(self.writer_pod, container=self._container, namespace=self._namespace)
            except Exception as error:  # the writer may not have started yet: roles are still worth drawing
                log = None
                self.error = f"cannot read the writer's log yet: {getattr(error, 'message', error)}"
            if log is not None:
                self.attempts = outages.parse_writer_log(log)
            now = self._now()
            if now is not None:  # before the writer's first line there is no clock to place roles on
                self.recorder.record(now, outages.roles_of(pods))
            return self.redraw()

    def redraw(self) -> Figure:
        fig = draw_failover(self.timeline(), title=f"PostgresCluster {self.cluster_name}")
        self._figure = fig
        self.redraws += 1
        self.outputs = (live._png_output(fig, f"<failover of {self.cluster_name}: {self.result().summary()}>"),)
        return fig

    def _now(self) -> float | None:
        if self._clock is not None:
            return self._clock()
        return max((a.t for a in self.attempts), default=None)

