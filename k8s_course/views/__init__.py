"""Views: pictures of the cluster, for notebooks and for the course's pages.

A figure is a function of plain data (the API's JSON for nodes and pods) that returns a
matplotlib Figure (`building.draw_building`, `timeline.draw_timeline`); the live widgets in
`live` redraw from those same functions. Chapter 3's failover is measured in `outages` and
drawn in `failover` (with its live `FailoverView`); what the patterns cost is in `costs`.
Views read the cluster; they never change it (that is what `k8s_course.controls` are for, and
neither package imports the other).
"""

from __future__ import annotations

from . import costs, outages
from .ambassador import AmbassadorView, draw_ambassador_timeline
from .building import draw_building, render_png
from .failover import FailoverView, draw_failover, draw_sync_vs_async
from .live import BuildingView, LogTail, events_html, events_table
from .timeline import Recorder, draw_timeline

__all__ = ["AmbassadorView", "BuildingView", "FailoverView", "LogTail", "Recorder", "costs", "draw_ambassador_timeline",
           "draw_building", "draw_failover",
           "draw_sync_vs_async", "draw_timeline", "events_html", "events_table", "outages", "render_png"]
