"""Carrying out a reconcile's actions: Kubernetes API calls and database steps, one Event each.

`Executor.run(steps)` performs the actions in order and stops at the first that fails (a
Warning Event `<Reason>Failed` says why): the next reconcile plans again from what is then
observed. Before every action it checks that this operator still holds the leader Lease, so
an operator that has lost it stops acting at once. It returns what the actions add to the
status (the new primary, the last failover, ...).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from . import actions, resources

log = logging.getLogger(__name__)


class Executor:
    def __init__(self, kube, database, recorder, cr: dict, still_leader: Callable[[], bool] = lambda: True,
                 listener: Callable[[dict, actions.Action, str], None] | None = None):
        self.kube = kube
        self.database = database
        self.recorder = recorder
        self.cr = cr
        self.still_leader = still_leader
        self.listener = listener
        self.namespace = cr["metadata"]["namespace"]
        self.cluster = cr["metadata"]["name"]

    def run(self, steps: list[actions.Action]) -> tuple[dict, bool]:
        """(status updates, whether every step succeeded)."""
        updates: dict = {}
        for step in steps:
            if not self.still_leader():
                log.info("lost the leader lease: %s not taken", step.reason)
                return updates, False
            self._tell(step, "started")
            try:
                extra = getattr(self, "_" + type(step).__name__)(step)
            except Exception as error:
                self._tell(step, "failed")
                log.warning("%s/%s: %s failed: %s", self.namespace, self.cluster, step.reason, _short(error))
                self.recorder.record(self.cr, f"{step.reason}Failed", f"{step.message}: failed: {_short(error)}",
                                     warning=True)
                return updates, False
            updates.update(step.status)
            updates.update(extra or {})
            self.recorder.record(self.cr, step.reason, step.message, warning=step.warning)
            self._tell(step, "done")
        return updates, True

    def _tell(self, step: actions.Action, stage: str) -> None:
        if self.listener is not None:
            try:
                self.listener(self.cr, step, stage)
            except Exception:  # a listener's bug must not stop a failover
                log.exception("the action listener failed")

    # the resource itself

    def _AddFinalizer(self, step):
        meta = self.cr["metadata"]
        finalizers = [*(meta.get("finalizers") or []), resources.FINALIZER]
        self.kube.patch_cluster(self.namespace, self.cluster,
                                {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}})

    def _RemoveFinalizer(self, step):
        meta = self.cr["metadata"]
        finalizers = [f for f in meta.get("finalizers") or [] if f != resources.FINALIZER]
        self.kube.patch_cluster(self.namespace, self.cluster,
                                {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}})

    # objects

    def _CreateObject(self, step):
        self.kube.create(step.body)

    def _CreateMember(self, step):
        spec = self.cr.get("spec") or {}
        self.kube.create(resources.member_claim(self.cr, step.member, spec.get("storage", "1Gi")))
        self.kube.create(resources.member_pod(self.cr, step.member, step.role, step.version, step.bootstrap,
                                              cloned_from="initdb" if step.bootstrap else None))

    def _RecreatePod(self, step):
        self.kube.create(resources.member_pod(self.cr, step.member, step.role, step.version, step.bootstrap,
                                              cloned_from=step.cloned_from))

    def _RemoveMember(self, step):
        self.kube.delete("Pod", self.namespace, step.member)
        self.kube.delete("PersistentVolumeClaim", self.namespace, resources.claim_name(step.member))

    def _DeletePod(self, step):
        self.kube.delete("Pod", self.namespace, step.member)

    def _RestartWithVersion(self, step):
        self.kube.patch("PersistentVolumeClaim", self.namespace, resources.claim_name(step.member),
                        {"metadata": {"annotations": {resources.UPGRADING_TO: step.version}}})
        self.kube.delete("Pod", self.namespace, step.member)

    def _FinishUpgrade(self, step):
        self.kube.patch("PersistentVolumeClaim", self.namespace, resources.claim_name(step.member),
                        {"metadata": {"annotations": {resources.UPGRADING_TO: None}}})

    def _relabel(self, member: str, role: str) -> None:
        self.kube.patch("Pod", self.namespace, member, {"metadata": {"labels": {resources.ROLE_LABEL: role}}})

    def _Fence(self, step):
        from kubernetes.client import ApiException

        try:
            self._relabel(step.member, resources.FENCED)
        except ApiException as error:
            if error.status != 404:  # a pod that is gone serves no one: fenced enough
                raise

    def _Relabel(self, step):
        self._relabel(step.member, step.role)

    # database steps

    def _Clone(self, step):
        try:
            self.database.clone(step.member, step.host)
        except Exception:
            # a half-copied data directory cannot be cloned into again: mark it, so that the
            # next reconcile replaces the member with a fresh one
            self._annotate_clone(step.member, resources.CLONE_FAILED)
            raise
        self._annotate_clone(step.member, step.source)

    def _annotate_clone(self, member: str, value: str) -> None:
        from kubernetes.client import ApiException

        try:
            self.kube.patch("Pod", self.namespace, member, {"metadata": {"annotations": {resources.CLONED_FROM: value}}})
        except ApiException as error:
            if error.status != 404:
                raise

    def _Promote(self, step):
        self.database.promote(step.member)

    def _Follow(self, step):
        self.database.follow(step.member, step.host)

    def _SetSynchronous(self, step):
        self.database.set_synchronous(step.primary, list(step.names))

    def _RecordFailover(self, step):
        now = time.time()
        return {"lastFailover": {"at": _timestamp(now), "from": step.former, "to": step.primary,
                                 "reason": step.why, "outageSeconds": round(max(0.0, now - step.detected_at), 3),
                                 "writesLost": None}}

    def _Notice(self, step):
        return None


def _timestamp(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


def _short(error: Exception) -> str:
    text = getattr(error, "reason", None) if type(error).__name__ == "ApiException" else None
    return (text or str(error) or type(error).__name__).strip().splitlines()[0][:300]
