"""A rolling version upgrade, decided step by step from what is observed: pure.

When spec.version differs from what the members run: first a logical backup (a Job running
pg_dumpall against the primary, to the `<cluster>-backups` PVC); then the replicas one at a
time (mark the PVC, delete the pod, recreate it with the new image on the same PVC, wait until
it streams again); then a switchover: the old primary is fenced and its pod deleted, so the
ordinary failover promotes the most advanced replica, and the old primary comes back re-cloned
on the new version. Nothing here runs while the cluster is not healthy.
"""

from __future__ import annotations

from . import actions, resources
from .members import Member, Observed


def needed(seen: Observed, version: str) -> bool:
    return any(m.version != version for m in seen.live() if m.pod is not None) or \
        any(m.upgrading_to for m in seen.live())


def backup_state(job: dict | None) -> str:
    """'missing', 'running', 'succeeded' or 'failed', from a Job's status."""
    if job is None:
        return "missing"
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return "succeeded" if condition["type"] == "Complete" else "failed"
    if status.get("succeeded"):
        return "succeeded"
    return "running"


def plan(seen: Observed, version: str, primary: Member, storage: str, backup_command) -> list[actions.Action]:
    """The next step of the upgrade to `version` (possibly none: waiting for one to finish).

    `backup_command(host, path)` gives the backup Job's argv (the database module's)."""
    cr, cluster = seen.cr, seen.name
    midway = [m for m in seen.live() if m.upgrading_to]
    for member in midway:
        if member.pod is None:
            return [actions.RecreatePod(member.name, resources.REPLICA, member.upgrading_to, bootstrap=False,
                                        cloned_from=member.cloned_from or "upgrade")]
        if member.gone or member.name not in seen.streaming():
            return []  # still coming back: wait for it to stream
        return [actions.FinishUpgrade(member.name, member.upgrading_to)]
    state = backup_state(seen.backup_job)
    if state == "missing":
        steps: list[actions.Action] = []
        if f"PersistentVolumeClaim/{resources.backups_claim(cluster)}" not in seen.existing:
            steps.append(actions.CreateObject(resources.backup_claim(cr, storage)))
        path = resources.backup_path(cluster, primary.version, version)
        command = list(backup_command(resources.rw_service(cluster), path))
        steps.append(actions.CreateObject(resources.backup_job(cr, primary.version, version, command)))
        return steps
    if state == "running":
        return []
    if state == "failed":
        return [actions.Notice("UpgradeBlocked", f"the backup Job {resources.backup_job_name(cluster, version)} "
                                                 "failed: the upgrade waits (delete the Job to try again)")]
    behind = [m for m in seen.live() if m.version != version and m.name != primary.name]
    if behind:
        return [actions.RestartWithVersion(behind[0].name, version)]
    if primary.version != version:
        why = f"switchover for the upgrade to {version}"
        return [actions.Fence(primary.name, why), actions.DeletePod(primary.name, why)]
    return []
