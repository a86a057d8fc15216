"""Looking at one cluster: its objects through the API, its members' databases through exec.

`observe(...)` lists what the cluster owns (by its label), asks every running member's
postgres for its status (recovery, WAL position, timeline) and the primary for its
replication, and hands `members.Observed` to planning. A database that does not answer is
simply "no answer" (None): that is information, not an error.
"""

from __future__ import annotations

import logging
import time

from . import members, resources

log = logging.getLogger(__name__)


def ask(step, *args):
    """A database step's answer, or None when it failed (no server, exec refused, timeout)."""
    try:
        answer = step(*args)
    except Exception as error:
        log.debug("%s%s did not answer: %s", getattr(step, "__name__", step), args, error)
        return None
    if getattr(answer, "code", 0):
        return None
    return answer


def observe(kube, database, cr: dict, failed_checks: int = 0, failing_since: float | None = None
            ) -> members.Observed:
    meta = cr["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    pods, claims, existing, jobs = kube.owned(namespace, name)
    statuses = {}
    for pod in pods:
        member = pod["metadata"].get("labels", {}).get(resources.MEMBER_LABEL)
        if member and pod.get("status", {}).get("phase") == "Running":
            statuses[member] = ask(database.status, member)
    primary = (cr.get("status") or {}).get("primary")
    if not primary:
        primary = next((m for m, f in statuses.items() if f is not None and not f.in_recovery), None)
    replication = None
    if primary and statuses.get(primary) is not None:
        rows = ask(database.replication, primary)
        replication = rows
    version = (cr.get("spec") or {}).get("version", "")
    return members.observed(cr, pods, claims, statuses, existing, replication, failed_checks=failed_checks,
                            failing_since=failing_since,
                            backup_job=jobs.get(resources.backup_job_name(name, str(version))), now=time.time())
