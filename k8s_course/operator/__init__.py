"""The PostgresCluster operator: the robot crew that knows how to run the building's database.

    operator = Operator(cluster.api_client, namespace="operator").start()   # in a notebook
    python -m k8s_course.operator --namespace operator                       # in a terminal

A level-triggered reconcile loop on the official client: `planning` decides from what it
observes (pure), `acting` does it and records an Event per action, `leadership` makes sure only
one copy acts. The database steps (who is primary, WAL positions, promote, follow, clone) are
`database.Database` over a transport: exec into the member's pod (`PodExec`), or local
processes (`LocalProcesses`, for the tests against real PostgreSQL). Its CRD and RBAC are in
`manifests/`.
"""

from __future__ import annotations

from .database import Database, DatabaseError, choose_candidate
from .running import Operator, Timings
from .transports import LocalProcesses, PodExec

__all__ = ["Database", "DatabaseError", "LocalProcesses", "Operator", "PodExec", "Timings", "choose_candidate"]
