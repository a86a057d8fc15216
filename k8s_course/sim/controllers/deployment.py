"""The Deployment controller: roll a pod template out through ReplicaSets, and report progress.

Each template gets a ReplicaSet `<deployment>-<pod-template-hash>`; a rolling update grows the
new one and shrinks the old ones within maxSurge and maxUnavailable, Recreate empties the old
ones first. Revisions are numbered on the ReplicaSets (a rollback re-uses the old ReplicaSet and
gives it the next number), old ReplicaSets beyond revisionHistoryLimit are deleted, a paused
Deployment only scales, and the status carries the counts and the Available and Progressing
conditions that `kubectl rollout status` reads. The arithmetic lives in `rollout.py`.
"""

from __future__ import annotations

import copy

from .. import errors, selectors
from ..events import Recorder
from . import ownership, rollout
from .base import Controller
from .queueing import KeyQueue

DEPLOYMENTS = ("apps", "deployments")
REPLICA_SETS = ("apps", "replicasets")


class DeploymentController(Controller):
    watches = (("apps", "v1", "deployments"), ("apps", "v1", "replicasets"), ("", "v1", "pods"))

    def __init__(self, objects):
        super().__init__(objects)
        self.recorder = Recorder(objects, "deployment-controller")
        self.queue = KeyQueue(self.clock, self._sync, "deployment-controller")
        self.replica_sets = ownership.OwnedIndex()
        self.pods = ownership.OwnedIndex()  # by ReplicaSet: Recreate waits for old pods to go
        self._rs_rtype = self.rtype("apps", "v1", "replicasets")
        self._deploy_rtype = self.rtype("apps", "v1", "deployments")

    def stopped(self) -> None:
        self.queue.close()

    # reacting to watch events

    async def handle(self, resource, event, obj) -> None:
        plural = resource[2]
        if plural == "deployments":
            self.queue.add(ownership.key_of(obj))
        elif plural == "replicasets":
            self._replica_set_changed(event, obj)
        else:
            self._pod_changed(event, obj)

    def _replica_set_changed(self, event: str, rs: dict) -> None:
        old = self.replica_sets.observe(event, rs)
        namespace = rs["metadata"]["namespace"]
        ref = ownership.controller_ref(rs)
        if ref is not None and ref.get("kind") == "Deployment":
            self.queue.add((namespace, ref["name"]))
        old_ref = ownership.controller_ref(old) if old is not None else None
        if old_ref is not None and old_ref.get("kind") == "Deployment" and old_ref != ref:
            self.queue.add((namespace, old_ref["name"]))
        if ref is None and event != "DELETED":
            for deploy in self.store.list(DEPLOYMENTS, namespace):
                if _selector(deploy).matches(rs["metadata"].get("labels")):
                    self.queue.add(ownership.key_of(deploy))

    def _pod_changed(self, event: str, pod: dict) -> None:
        self.pods.observe(event, pod)
        if event != "DELETED" and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
            return
        ref = ownership.controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.store.get(REPLICA_SETS, pod["metadata"]["namespace"], ref["name"])
        owner = ownership.controller_ref(rs) if rs is not None else None
        if owner is None or owner.get("kind") != "Deployment":
            return
        deploy = self.store.get(DEPLOYMENTS, pod["metadata"]["namespace"], owner["name"])
        if deploy is not None and not rollout.is_rolling(deploy):
            self.queue.add(ownership.key_of(deploy))

    # syncing one Deployment

    def _sync(self, key) -> None:
        namespace, name = key
        stored = self.store.get(DEPLOYMENTS, namespace, name)
        if stored is None:
            return
        deploy = copy.deepcopy(stored)
        rses = ownership.claim(self.objects, self._rs_rtype, deploy, _selector(deploy),
                               self.replica_sets.owned(deploy["metadata"]["uid"]),
                               self.replica_sets.orphans(namespace))
        if ownership.is_terminating(deploy):
            deploy, new_rs, old_rses = self._sync_revision(deploy, rses, create=False)
            self._sync_status(deploy, old_rses + [new_rs], new_rs)
            return
        deploy = self._check_paused(deploy)
        if deploy["spec"].get("paused") or self._is_scaling_event(deploy, rses):
            self._sync_scale(deploy, rses)
        elif rollout.is_rolling(deploy):
            self._roll(deploy, rses)
        else:
            self._recreate(deploy, rses)

    # the new ReplicaSet and revisions

    def _sync_revision(self, deploy: dict, rses: list[dict], create: bool):
        """(deployment, new ReplicaSet or None, old ReplicaSets), creating the new one if asked."""
        new_rs = rollout.find_new(deploy, rses)
        old_rses = [rs for rs in rses if rs is not new_rs]
        new_revision = max((rollout.revision(rs) for rs in old_rses), default=0) + 1
        if new_rs is not None:
            return self._sync_existing_new(deploy, new_rs, old_rses, new_revision)
        if not create:
            return deploy, None, old_rses
        return self._create_new(deploy, old_rses, new_revision)

    def _sync_existing_new(self, deploy: dict, new_rs: dict, old_rses: list[dict], new_revision: int):
        updated = copy.deepcopy(new_rs)
        annotated = rollout.set_new_rs_annotations(deploy, updated, new_revision, exists=True)
        min_ready = deploy["spec"].get("minReadySeconds", 0)
        if annotated or updated["spec"].get("minReadySeconds", 0) != min_ready:
            updated["spec"]["minReadySeconds"] = min_ready
            new_rs = self._update_rs(updated)
            return deploy, new_rs, old_rses  # the next sync brings the Deployment's revision along
        deploy = self._set_revision(deploy, (new_rs["metadata"].get("annotations") or {}).get(rollout.REVISION))
        status = copy.deepcopy(deploy.get("status") or {})
        if rollout.has_deadline(deploy) and rollout.condition(status, rollout.PROGRESSING) is None:
            rollout.set_condition(status, rollout.new_condition(
                rollout.PROGRESSING, "True", "FoundNewReplicaSet",
                f'Found new replica set "{new_rs["metadata"]["name"]}"', self.clock.timestamp()))
            deploy = self._write_status(deploy, status)
        return deploy, new_rs, old_rses

    def _create_new(self, deploy: dict, old_rses: list[dict], new_revision: int):
        status = deploy.get("status") or {}
        template_hash = rollout.template_hash(deploy["spec"]["template"], status.get("collisionCount"))
        template = copy.deepcopy(deploy["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[rollout.HASH_LABEL] = template_hash
        selector = copy.deepcopy(deploy["spec"]["selector"])
        selector.setdefault("matchLabels", {})[rollout.HASH_LABEL] = template_hash
        name = f"{deploy['metadata']['name']}-{template_hash}"
        body = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": deploy["metadata"]["namespace"],
                         "labels": copy.deepcopy(template["metadata"]["labels"]),
                         "ownerReferences": [ownership.owner_reference(deploy)]},
            "spec": {"replicas": 0, "minReadySeconds": deploy["spec"].get("minReadySeconds", 0),
                     "selector": selector, "template": template},
        }
        body["spec"]["replicas"] = rollout.new_replicas_for_new_rs(deploy, old_rses + [body], body)
        rollout.set_new_rs_annotations(deploy, body, new_revision, exists=False)
        try:
            new_rs = self.objects.create(self._rs_rtype, deploy["metadata"]["namespace"], body).object
        except errors.APIError as error:
            if error.code != 409:
                raise
            existing = self.store.get(REPLICA_SETS, deploy["metadata"]["namespace"], name)
            ref = ownership.controller_ref(existing) if existing is not None else None
            if (ref is not None and ref["uid"] == deploy["metadata"]["uid"]
                    and rollout.same_template(existing["spec"]["template"], deploy["spec"]["template"])):
                return deploy, existing, old_rses  # ours already: seen before the watch showed it
            # a hash collision: another template took the name; the next hash adds the count
            collided = copy.deepcopy(status)
            collided["collisionCount"] = collided.get("collisionCount", 0) + 1
            self._write_status(deploy, collided)
            return deploy, None, old_rses
        size = rollout.replicas(new_rs)
        if size > 0:
            self.recorder.event(deploy, "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {size}")
        deploy = self._set_revision(deploy, str(new_revision))
        if rollout.has_deadline(deploy):
            conditions = copy.deepcopy(deploy.get("status") or {})
            rollout.set_condition(conditions, rollout.new_condition(
                rollout.PROGRESSING, "True", "NewReplicaSetCreated", f'Created new replica set "{name}"',
                self.clock.timestamp()))
            deploy = self._write_status(deploy, conditions)
        return deploy, new_rs, old_rses

    def _set_revision(self, deploy: dict, revision: str | None) -> dict:
        annotations = deploy["metadata"].get("annotations") or {}
        if revision is None or annotations.get(rollout.REVISION) == revision:
            return deploy
        updated = copy.deepcopy(deploy)
        updated["metadata"].setdefault("annotations", {})[rollout.REVISION] = revision
        return copy.deepcopy(self.objects.update(self._deploy_rtype, deploy["metadata"]["namespace"],
                                                 deploy["metadata"]["name"], updated).object)

    # pausing and scaling

    def _check_paused(self, deploy: dict) -> dict:
        if not rollout.has_deadline(deploy):
            return deploy
        status = copy.deepcopy(deploy.get("status") or {})
        current = rollout.condition(status, rollout.PROGRESSING)
        if current is not None and current.get("reason") == "ProgressDeadlineExceeded":
            return deploy
        paused_noted = current is not None and current.get("reason") == "DeploymentPaused"
        stamp = self.clock.timestamp()
        if deploy["spec"].get("paused") and not paused_noted:
            rollout.set_condition(status, rollout.new_condition(
                rollout.PROGRESSING, "Unknown", "DeploymentPaused", "Deployment is paused", stamp))
        elif not deploy["spec"].get("paused") and paused_noted:
            rollout.set_condition(status, rollout.new_condition(
                rollout.PROGRESSING, "Unknown", "DeploymentResumed", "Deployment is resumed", stamp))
        else:
            return deploy
        return self._write_status(deploy, status)

    def _is_scaling_event(self, deploy: dict, rses: list[dict]) -> bool:
        new_rs = rollout.find_new(deploy, rses)
        candidates = [rs for rs in rses if rs is not new_rs] + ([new_rs] if new_rs is not None else [])
        for rs in rollout.active(candidates):
            desired = rollout.annotation_int(rs, rollout.DESIRED_REPLICAS)
            if desired is not None and desired != rollout.replicas(deploy):
                return True
        return False

    def _sync_scale(self, deploy: dict, rses: list[dict]) -> None:
        deploy, new_rs, old_rses = self._sync_revision(deploy, rses, create=False)
        self._scale(deploy, new_rs, old_rses)
        old_rses = self._fresh(old_rses)
        if deploy["spec"].get("paused"):
            self._cleanup(deploy, old_rses)
        self._sync_status(deploy, old_rses + [self._fresh_one(new_rs)], self._fresh_one(new_rs))

    def _scale(self, deploy: dict, new_rs: dict | None, old_rses: list[dict]) -> None:
        desired = rollout.replicas(deploy)
        everything = rollout.active([new_rs, *old_rses])
        if new_rs is not None or old_rses:
            if len(everything) == 1:
                only = everything[0]
            elif not everything:
                only = new_rs or sorted(old_rses, key=lambda rs: rs["metadata"]["creationTimestamp"])[-1]
            else:
                only = None
            if only is not None:
                self._scale_and_record(deploy, only, desired)
                return
        if new_rs is not None and _saturated(deploy, new_rs):
            for rs in rollout.active(old_rses):
                self._scale_and_record(deploy, rs, 0)
            return
        if not rollout.is_rolling(deploy):
            return
        sizes = rollout.proportions(deploy, everything, (deploy.get("status") or {}).get("replicas", 0))
        to_add = sum(sizes.values()) - rollout.spec_total(everything)
        operation = "up" if to_add > 0 else "down"
        for rs in everything:
            self._scale_rs(deploy, rs, sizes[rs["metadata"]["name"]], operation)

    def _scale_and_record(self, deploy: dict, rs: dict, size: int) -> bool:
        if rollout.replicas(rs) == size:
            return False
        operation = "up" if rollout.replicas(rs) < size else "down"
        return self._scale_rs(deploy, rs, size, operation)

    def _scale_rs(self, deploy: dict, rs: dict, size: int, operation: str) -> bool:
        updated = copy.deepcopy(rs)
        resized = rollout.replicas(rs) != size
        annotated = rollout.set_replica_annotations(updated, rollout.replicas(deploy),
                                                    rollout.replicas(deploy) + rollout.max_surge(deploy))
        if not resized and not annotated:
            return False
        updated["spec"]["replicas"] = size
        self._update_rs(updated)
        if resized:
            self.recorder.event(deploy, "ScalingReplicaSet", f"Scaled {operation} replica set "
                                f"{rs['metadata']['name']} from {rollout.replicas(rs)} to {size}")
        return resized

    # strategies

    def _roll(self, deploy: dict, rses: list[dict]) -> None:
        deploy, new_rs, old_rses = self._sync_revision(deploy, rses, create=True)
        if new_rs is None:
            return  # a name collision: the status update brings another sync
        scaled = self._reconcile_new(deploy, old_rses + [new_rs], new_rs)
        if not scaled:
            scaled = self._reconcile_old(deploy, self._fresh(old_rses), self._fresh_one(new_rs))
        old_rses, new_rs = self._fresh(old_rses), self._fresh_one(new_rs)
        if not scaled and rollout.complete(deploy, deploy.get("status") or {}):
            self._cleanup(deploy, old_rses)
        self._sync_rollout_status(deploy, old_rses + [new_rs], new_rs)

    def _reconcile_new(self, deploy: dict, all_rses: list[dict], new_rs: dict) -> bool:
        desired = rollout.replicas(deploy)
        if rollout.replicas(new_rs) == desired:
            return False
        if rollout.replicas(new_rs) > desired:
            return self._scale_and_record(deploy, new_rs, desired)
        return self._scale_and_record(deploy, new_rs, rollout.new_replicas_for_new_rs(deploy, all_rses, new_rs))

    def _reconcile_old(self, deploy: dict, old_rses: list[dict], new_rs: dict) -> bool:
        if rollout.spec_total(old_rses) == 0:
            return False
        all_rses = old_rses + [new_rs]
        min_available = rollout.replicas(deploy) - rollout.max_unavailable(deploy)
        new_unavailable = rollout.replicas(new_rs) - (new_rs.get("status") or {}).get("availableReplicas", 0)
        max_scaled_down = rollout.spec_total(all_rses) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = self._cleanup_unhealthy(deploy, rollout.active(old_rses), max_scaled_down)
        old_rses = self._fresh(old_rses)
        scaled = self._scale_down_old(deploy, old_rses + [new_rs], rollout.active(old_rses))
        return cleaned + scaled > 0

    def _cleanup_unhealthy(self, deploy: dict, old_rses: list[dict], limit: int) -> int:
        """Old pods that are not available go first: they serve nobody."""
        total = 0
        for rs in rollout.by_creation(old_rses):
            if total >= limit:
                break
            size = rollout.replicas(rs)
            available = (rs.get("status") or {}).get("availableReplicas", 0)
            if size == 0 or size == available:
                continue
            count = min(limit - total, size - available)
            self._scale_and_record(deploy, rs, size - count)
            total += count
        return total

    def _scale_down_old(self, deploy: dict, all_rses: list[dict], old_rses: list[dict]) -> int:
        min_available = rollout.replicas(deploy) - rollout.max_unavailable(deploy)
        available = rollout.status_total(all_rses, "availableReplicas")
        if available <= min_available:
            return 0
        budget = available - min_available
        total = 0
        for rs in rollout.by_creation(old_rses):
            if total >= budget:
                break
            size = rollout.replicas(rs)
            if size == 0:
                continue
            count = min(size, budget - total)
            self._scale_and_record(deploy, rs, size - count)
            total += count
        return total

    def _recreate(self, deploy: dict, rses: list[dict]) -> None:
        deploy, new_rs, old_rses = self._sync_revision(deploy, rses, create=False)
        scaled = False
        for rs in rollout.active(old_rses):
            scaled = self._scale_and_record(deploy, rs, 0) or scaled
        if scaled or self._old_pods_running(new_rs, self._fresh(old_rses)):
            self._sync_rollout_status(deploy, self._fresh(old_rses) + [self._fresh_one(new_rs)],
                                      self._fresh_one(new_rs))
            return
        if new_rs is None:
            deploy, new_rs, old_rses = self._sync_revision(deploy, rses, create=True)
            if new_rs is None:
                return
        self._scale_and_record(deploy, new_rs, rollout.replicas(deploy))
        old_rses, new_rs = self._fresh(old_rses), self._fresh_one(new_rs)
        if rollout.complete(deploy, deploy.get("status") or {}):
            self._cleanup(deploy, old_rses)
        self._sync_rollout_status(deploy, old_rses + [new_rs], new_rs)

    def _old_pods_running(self, new_rs: dict | None, old_rses: list[dict]) -> bool:
        if rollout.status_total(old_rses, "replicas") > 0:
            return True
        for rs in old_rses:
            for pod in self.pods.owned(rs["metadata"]["uid"]):
                if pod.get("status", {}).get("phase") not in ("Failed", "Succeeded"):
                    return True
        return False

    # history and status

    def _cleanup(self, deploy: dict, old_rses: list[dict]) -> None:
        """Delete the oldest empty ReplicaSets beyond revisionHistoryLimit."""
        limit = deploy["spec"].get("revisionHistoryLimit")
        if limit is None or limit == rollout.NO_DEADLINE:
            return
        alive = [rs for rs in old_rses if rs is not None and not ownership.is_terminating(rs)]
        excess = len(alive) - limit
        for rs in rollout.by_revision(alive)[:max(0, excess)]:
            status = rs.get("status") or {}
            if (status.get("replicas", 0) != 0 or rollout.replicas(rs) != 0
                    or rs["metadata"].get("generation", 0) > status.get("observedGeneration", 0)):
                continue
            try:
                self.objects.delete(self._rs_rtype, rs["metadata"]["namespace"], rs["metadata"]["name"])
            except errors.APIError as error:
                if error.code != 404:
                    raise

    def _sync_status(self, deploy: dict, all_rses: list[dict], new_rs: dict | None) -> None:
        status = rollout.calculate_status(deploy, all_rses, new_rs, self.clock.timestamp())
        self._write_status(deploy, status)

    def _sync_rollout_status(self, deploy: dict, all_rses: list[dict], new_rs: dict | None) -> None:
        status = rollout.rollout_status(deploy, all_rses, new_rs, self.clock.now(), self.clock.timestamp())
        self._write_status(deploy, status)
        recheck = rollout.stuck_recheck_at(deploy, status)
        if recheck is not None:
            self.queue.add_at(ownership.key_of(deploy), recheck)

    def _write_status(self, deploy: dict, status: dict) -> dict:
        current = self.store.get(DEPLOYMENTS, *ownership.key_of(deploy))
        if current is None or current.get("status") == status:
            return deploy
        updated = copy.deepcopy(current)
        updated["status"] = status
        return copy.deepcopy(self.objects.update(self._deploy_rtype, current["metadata"]["namespace"],
                                                 current["metadata"]["name"], updated,
                                                 subresource="status").object)

    # reading back what was just written

    def _update_rs(self, rs: dict) -> dict:
        meta = rs["metadata"]
        return self.objects.update(self._rs_rtype, meta["namespace"], meta["name"], rs).object

    def _fresh_one(self, rs: dict | None) -> dict | None:
        if rs is None:
            return None
        return self.store.get(REPLICA_SETS, *ownership.key_of(rs)) or rs

    def _fresh(self, rses: list[dict]) -> list[dict]:
        return [self._fresh_one(rs) for rs in rses if rs is not None]


def _saturated(deploy: dict, rs: dict) -> bool:
    desired = rollout.replicas(deploy)
    return (rollout.replicas(rs) == desired
            and rollout.annotation_int(rs, rollout.DESIRED_REPLICAS) == desired
            and (rs.get("status") or {}).get("availableReplicas", 0) == desired)


def _selector(deploy: dict):
    try:
        return selectors.from_selector_object(deploy["spec"].get("selector"))
    except ValueError:
        return selectors.LabelSelector(nothing=True)
