"""The StatefulSet controller: pods with a stable name, a stable claim and an order.

Pods are `<set>-<ordinal>` with `hostname` = their name and `subdomain` = `serviceName`, so the
headless Service gives each a stable DNS name. Claims `<claim>-<set>-<ordinal>` are made from
`volumeClaimTemplates` before the pod, and kept when the set shrinks or is deleted unless the
`persistentVolumeClaimRetentionPolicy` says Delete (then the set, or the condemned pod, owns the
claim and the garbage collector removes it). With `OrderedReady` the controller creates
`<set>-0`, waits until it is Running and Ready (and available for `minReadySeconds`), then
`<set>-1` ...; it removes pods from the highest ordinal down, one at a time, waiting for each to
be gone. `Parallel` does both without waiting. Updates roll from the highest ordinal down to the
partition, one pod at a time (`OnDelete`: only when someone deletes a pod). Each template is a
ControllerRevision `<set>-<hash>`; pods carry `controller-revision-hash`.

A pod is identity: while `<set>-N` exists in the API, even stuck terminating on an unreachable
node, no second `<set>-N` is made. Only its removal (a force delete) lets the controller
create it again.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from .. import errors
from ..clock import parse_time
from ..events import Recorder
from ..objects import DeleteOptions
from .base import Controller
from .ownership import owner_reference
from .timers import Alarms, Pending

COMPONENT = "statefulset-controller"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
HASH_LABEL = "controller.kubernetes.io/hash"

SETS = ("apps", "statefulsets")
PODS = ("", "pods")
CLAIMS = ("", "persistentvolumeclaims")
REVISIONS = ("apps", "controllerrevisions")

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: dict, collision_count: int) -> str:
    """A short, safe-to-name hash of a pod template (FNV-1a 32, encoded as Kubernetes does)."""
    value = 0x811C9DC5
    text = json.dumps(template, sort_keys=True, separators=(",", ":"))
    if collision_count:
        text += str(collision_count)
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in str(value))


@dataclass(frozen=True, slots=True)
class _Member:
    """What the controller needs of one of its pods, read once per pod version."""

    pod: dict
    name: str
    phase: str
    terminating: bool
    ready_since: float | None  # when Ready turned True; None while not Ready
    revision: str | None

    @property
    def running_and_ready(self) -> bool:
        return self.phase == "Running" and self.ready_since is not None

    def available_at(self, min_ready_seconds: int) -> float | None:
        """When the pod is (or will be) available; None while it is not Running and Ready."""
        return self.ready_since + min_ready_seconds if self.running_and_ready else None

    def available(self, min_ready_seconds: int, now: float) -> bool:
        at = self.available_at(min_ready_seconds)
        return at is not None and at <= now


def _member(pod: dict) -> _Member:
    status = pod.get("status") or {}
    ready_since = None
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Ready":
            if condition.get("status") == "True":
                stamp = condition.get("lastTransitionTime")
                ready_since = parse_time(stamp) if stamp else 0.0
            break
    return _Member(pod, pod["metadata"]["name"], status.get("phase", ""),
                   bool(pod["metadata"].get("deletionTimestamp")), ready_since,
                   (pod["metadata"].get("labels") or {}).get(REVISION_LABEL))


def _ordinal(set_name: str, pod_name: str) -> int | None:
    prefix = set_name + "-"
    if not pod_name.startswith(prefix):
        return None
    suffix = pod_name[len(prefix):]
    return int(suffix) if suffix.isdigit() else None


def _controller_uid(obj: dict, kind: str) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller") and ref.get("kind") == kind:
            return ref.get("uid")
    return None


def _revision_template(revision: dict) -> dict:
    template = copy.deepcopy(revision["data"]["spec"]["template"])
    template.pop("$patch", None)
    return template


class StatefulSetController(Controller):
    watches = (("apps", "v1", "statefulsets"), ("", "v1", "pods"))

    def __init__(self, objects):
        super().__init__(objects)
        self.events = Recorder(objects, COMPONENT)
        self.alarms = Alarms(self.clock, self._ring)
        self.pending = Pending(self.sync)
        self._sets = self.rtype("apps", "v1", "statefulsets")
        self._pods_type = self.rtype("", "v1", "pods")
        self._claims = self.rtype("", "v1", "persistentvolumeclaims")
        self._revisions = self.rtype("apps", "v1", "controllerrevisions")
        self._pods: dict[str, dict[int, _Member]] = {}  # set uid -> ordinal -> pod
        self._revision_cache: dict[str, tuple] = {}  # set uid -> (generation, current, update, collisions)

    def stopped(self) -> None:
        self.alarms.cancel_all()
        self.pending.cancel()

    async def handle(self, resource, event, obj) -> None:
        namespace = obj["metadata"].get("namespace", "")
        if resource[2] == "statefulsets":
            if event == "DELETED":
                self._pods.pop(obj["metadata"]["uid"], None)
                self._revision_cache.pop(obj["metadata"]["uid"], None)
                self.alarms.clear((namespace, obj["metadata"]["name"]))
                return
            self.pending.add((namespace, obj["metadata"]["name"]))
            return
        ref = next((r for r in obj["metadata"].get("ownerReferences") or ()
                    if r.get("controller") and r.get("kind") == "StatefulSet"), None)
        if ref is None:
            return
        ordinal = _ordinal(ref["name"], obj["metadata"]["name"])
        if ordinal is None:
            return
        self._remember(ref["uid"], ordinal, None if event == "DELETED" else obj)
        self.pending.add((namespace, ref["name"]))

    def _remember(self, set_uid: str, ordinal: int, pod: dict | None) -> None:
        owned = self._pods.setdefault(set_uid, {})
        if pod is None:
            owned.pop(ordinal, None)
        else:
            owned[ordinal] = _member(pod)

    def _ring(self, key) -> None:
        self.sync(*key)

    # the sync

    def sync(self, namespace: str, name: str) -> None:
        sts = self.store.get(SETS, namespace, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        current, update, collisions = self._sync_revisions(sts)
        self._act(sts, current, update)
        self._write_status(sts, current, update, collisions)

    def _act(self, sts: dict, current: dict, update: dict) -> None:
        spec = sts["spec"]
        start = (spec.get("ordinals") or {}).get("start", 0)
        replicas = spec.get("replicas", 1)
        wanted = range(start, start + replicas)
        monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        min_ready = spec.get("minReadySeconds", 0)
        pods = dict(self._pods.get(sts["metadata"]["uid"], {}))
        now = self.clock.now()
        key = (sts["metadata"]["namespace"], sts["metadata"]["name"])
        has_claims = bool(spec.get("volumeClaimTemplates"))

        def available(member: _Member) -> bool:
            at = member.available_at(min_ready)
            if at is not None and at > now:
                self.alarms.set(key, at)  # look again when it becomes available
            return at is not None and at <= now

        # the replicas that should exist, lowest ordinal first
        for ordinal in wanted:
            member = pods.get(ordinal)
            if member is None:
                self._create_pod(sts, ordinal, self._revision_for(sts, ordinal, current, update))
                if monotonic:
                    return
                continue
            if member.phase in ("Failed", "Succeeded") and not member.terminating:
                self.events.event(sts, "RecreatingFailedPod",
                                  f"StatefulSet {key[0]}/{key[1]} is recreating failed Pod {member.name}",
                                  "Warning")
                self._delete_pod(sts, ordinal, member)
                if monotonic:
                    return
                continue
            if member.terminating:
                if monotonic:
                    return  # its identity is still taken: wait for it to be gone
                continue
            if has_claims:
                self._create_claims(sts, ordinal, member.name, condemned=False)
            if monotonic and not available(member):
                return

        # the condemned, highest ordinal first
        condemned = sorted((o for o in pods if o not in wanted), reverse=True)
        unhealthy = [o for o in sorted(pods) if pods[o].terminating or not pods[o].running_and_ready]
        first_unhealthy = unhealthy[0] if unhealthy else None
        for ordinal in condemned:
            member = pods[ordinal]
            if member.terminating:
                if monotonic:
                    return
                continue
            if monotonic and not member.running_and_ready and ordinal != first_unhealthy:
                return
            self._claim_for_condemned(sts, ordinal, member.pod)
            self._delete_pod(sts, ordinal, member)
            if monotonic:
                return

        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type") == "OnDelete":
            return
        partition = (strategy.get("rollingUpdate") or {}).get("partition", 0)
        for ordinal in reversed(wanted):
            if ordinal < start + partition:
                break
            member = pods.get(ordinal)
            if member is None:
                return
            if member.revision != update["metadata"]["name"] and not member.terminating:
                self._delete_pod(sts, ordinal, member)
                return
            if member.terminating or not available(member):
                return

    def _revision_for(self, sts: dict, ordinal: int, current: dict, update: dict) -> dict:
        strategy = sts["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            start = (sts["spec"].get("ordinals") or {}).get("start", 0)
            partition = (strategy.get("rollingUpdate") or {}).get("partition", 0)
            if ordinal < start + partition:
                return current
        return update

    # revisions

    def _sync_revisions(self, sts: dict) -> tuple[dict, dict, int]:
        """The current and update ControllerRevisions (made if missing) and the collision count."""
        namespace = sts["metadata"]["namespace"]
        uid = sts["metadata"]["uid"]
        status = sts.get("status") or {}
        # the template only changes with the generation: skip the comparison in between
        cache_key = (sts["metadata"].get("generation"), status.get("currentRevision"),
                     status.get("collisionCount", 0))
        cached = self._revision_cache.get(uid)
        if cached is not None and cached[0] == cache_key:
            current = self.store.get(REVISIONS, namespace, cached[1])
            update = self.store.get(REVISIONS, namespace, cached[2])
            if current is not None and update is not None:
                return current, update, cached[3]
        current, update, collisions = self._make_revisions(sts)
        self._revision_cache[uid] = (cache_key, current["metadata"]["name"], update["metadata"]["name"],
                                     collisions)
        return current, update, collisions

    def _make_revisions(self, sts: dict) -> tuple[dict, dict, int]:
        namespace, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        uid = sts["metadata"]["uid"]
        owned = [r for r in self.store.list(REVISIONS, namespace)
                 if _controller_uid(r, "StatefulSet") == uid]
        template = copy.deepcopy(sts["spec"]["template"])
        template["$patch"] = "replace"
        data = {"spec": {"template": template}}
        status = sts.get("status") or {}
        collisions = status.get("collisionCount", 0)
        latest = max((r.get("revision", 0) for r in owned), default=0)
        equal = sorted((r for r in owned if r.get("data") == data), key=lambda r: r.get("revision", 0))
        if equal:
            update = equal[-1]
            if update.get("revision", 0) < latest:
                # back to an older template: it becomes the newest revision again
                bumped = dict(copy.deepcopy(update), revision=latest + 1)
                update = self.objects.update(self._revisions, namespace, update["metadata"]["name"],
                                             bumped).object
        else:
            while True:
                revision_name = f"{name}-{template_hash(sts['spec']['template'], collisions)}"
                clash = self.store.get(REVISIONS, namespace, revision_name)
                if clash is None:
                    break
                collisions += 1
            labels = dict((sts["spec"]["template"].get("metadata") or {}).get("labels") or {})
            labels[HASH_LABEL] = revision_name[len(name) + 1:]
            update = self.objects.create(self._revisions, namespace, {
                "apiVersion": "apps/v1", "kind": "ControllerRevision",
                "metadata": {"name": revision_name, "namespace": namespace, "labels": labels,
                             "ownerReferences": [owner_reference(sts)]},
                "data": data, "revision": latest + 1}).object
            owned.append(update)
        current = next((r for r in owned if r["metadata"]["name"] == status.get("currentRevision")), update)
        self._truncate_history(sts, owned, {current["metadata"]["name"], update["metadata"]["name"]})
        return current, update, collisions

    def _truncate_history(self, sts: dict, owned: list[dict], live: set[str]) -> None:
        limit = sts["spec"].get("revisionHistoryLimit", 10)
        in_use = live | {m.revision for m in self._pods.get(sts["metadata"]["uid"], {}).values()}
        history = sorted((r for r in owned if r["metadata"]["name"] not in in_use),
                         key=lambda r: r.get("revision", 0))
        for revision in history[:max(0, len(history) - limit)]:
            try:
                self.objects.delete(self._revisions, revision["metadata"]["namespace"],
                                    revision["metadata"]["name"])
            except errors.APIError as error:
                if error.code != 404:
                    raise

    # pods and claims

    def _claim_name(self, sts: dict, template: dict, ordinal: int) -> str:
        return f"{template['metadata']['name']}-{sts['metadata']['name']}-{ordinal}"

    def _create_pod(self, sts: dict, ordinal: int, revision: dict) -> None:
        namespace, set_name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        name = f"{set_name}-{ordinal}"
        template = _revision_template(revision)
        meta = template.get("metadata") or {}
        labels = dict(meta.get("labels") or {})
        labels.update({POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal),
                       REVISION_LABEL: revision["metadata"]["name"]})
        spec = template.get("spec") or {}
        spec["hostname"] = name
        if sts["spec"].get("serviceName"):
            spec["subdomain"] = sts["spec"]["serviceName"]
        volumes = [v for v in spec.get("volumes") or []
                   if v.get("name") not in {t["metadata"]["name"] for t in sts["spec"].get("volumeClaimTemplates") or []}]
        for claim in sts["spec"].get("volumeClaimTemplates") or []:
            volumes.append({"name": claim["metadata"]["name"],
                            "persistentVolumeClaim": {"claimName": self._claim_name(sts, claim, ordinal)}})
        if volumes:
            spec["volumes"] = volumes
        pod_meta = {"name": name, "namespace": namespace, "labels": labels,
                    "ownerReferences": [owner_reference(sts)]}
        if meta.get("annotations"):
            pod_meta["annotations"] = dict(meta["annotations"])
        if not self._create_claims(sts, ordinal, name, condemned=False):
            return
        try:
            created = self.objects.create(self._pods_type, namespace, {
                "apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}).object
        except errors.APIError as error:
            if error.code == 409:
                return  # the old one is still there: its identity is taken
            self.events.event(sts, "FailedCreate",
                              f"create Pod {name} in StatefulSet {set_name} failed error: {error.message}",
                              "Warning")
            return
        self._remember(sts["metadata"]["uid"], ordinal, created)
        self.events.event(sts, "SuccessfulCreate", f"create Pod {name} in StatefulSet {set_name} successful")

    def _claim_owners(self, sts: dict, pod: dict | None, condemned: bool) -> list[dict]:
        policy = sts["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
        owners = []
        if policy.get("whenDeleted") == "Delete":
            owners.append(owner_reference(sts))
        if condemned and policy.get("whenScaled") == "Delete" and pod is not None:
            owners.append({"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"],
                           "uid": pod["metadata"]["uid"], "controller": False, "blockOwnerDeletion": True})
        return owners

    def _create_claims(self, sts: dict, ordinal: int, pod_name: str, condemned: bool) -> bool:
        """Make the pod's missing claims; False if one could not be made."""
        namespace, set_name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        selector_labels = (sts["spec"].get("selector") or {}).get("matchLabels") or {}
        for template in sts["spec"].get("volumeClaimTemplates") or []:
            claim_name = self._claim_name(sts, template, ordinal)
            if self.store.get(CLAIMS, namespace, claim_name) is not None:
                continue
            meta = template.get("metadata") or {}
            labels = {**(meta.get("labels") or {}), **selector_labels}
            claim_meta = {"name": claim_name, "namespace": namespace, "labels": labels}
            if meta.get("annotations"):
                claim_meta["annotations"] = dict(meta["annotations"])
            owners = self._claim_owners(sts, None, condemned)
            if owners:
                claim_meta["ownerReferences"] = owners
            try:
                self.objects.create(self._claims, namespace, {
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": claim_meta,
                    "spec": copy.deepcopy(template.get("spec") or {})})
            except errors.APIError as error:
                if error.code == 409:
                    continue
                self.events.event(sts, "FailedCreate",
                                  f"create Claim {claim_name} for Pod {pod_name} in StatefulSet {set_name} "
                                  f"failed error: {error.message}", "Warning")
                return False
            self.events.event(sts, "SuccessfulCreate",
                              f"create Claim {claim_name} Pod {pod_name} in StatefulSet {set_name} success")
        return True

    def _claim_for_condemned(self, sts: dict, ordinal: int, pod: dict) -> None:
        """whenScaled: Delete: the condemned pod owns its claims, so they go with it."""
        policy = sts["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
        if policy.get("whenScaled") != "Delete":
            return
        namespace = sts["metadata"]["namespace"]
        for template in sts["spec"].get("volumeClaimTemplates") or []:
            claim = self.store.get(CLAIMS, namespace, self._claim_name(sts, template, ordinal))
            if claim is None:
                continue
            refs = claim["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == pod["metadata"]["uid"] for r in refs):
                continue
            updated = copy.deepcopy(claim)
            updated["metadata"]["ownerReferences"] = [*refs, *self._claim_owners(sts, pod, True)[-1:]]
            self.objects.update(self._claims, namespace, claim["metadata"]["name"], updated)

    def _delete_pod(self, sts: dict, ordinal: int, member: _Member) -> None:
        name = member.name
        try:
            result = self.objects.delete(self._pods_type, sts["metadata"]["namespace"], name,
                                         DeleteOptions(precondition_uid=member.pod["metadata"]["uid"]))
        except errors.APIError as error:
            if error.code in (404, 409):
                return
            self.events.event(sts, "FailedDelete",
                              f"delete Pod {name} in StatefulSet {sts['metadata']['name']} failed error: "
                              f"{error.message}", "Warning")
            return
        self._remember(sts["metadata"]["uid"], ordinal, None if result.removed else result.object)
        self.events.event(sts, "SuccessfulDelete",
                          f"delete Pod {name} in StatefulSet {sts['metadata']['name']} successful")

    # status

    def _write_status(self, sts: dict, current: dict, update: dict, collisions: int) -> None:
        namespace, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        latest = self.store.get(SETS, namespace, name)
        if latest is None or latest["metadata"]["uid"] != sts["metadata"]["uid"]:
            return
        min_ready = sts["spec"].get("minReadySeconds", 0)
        now = self.clock.now()
        created = [m for m in self._pods.get(sts["metadata"]["uid"], {}).values() if m.phase]
        current_name, update_name = current["metadata"]["name"], update["metadata"]["name"]
        status = {
            "observedGeneration": latest["metadata"].get("generation", 1),
            "replicas": len(created),
            "readyReplicas": sum(1 for m in created if m.running_and_ready),
            "currentReplicas": sum(1 for m in created if not m.terminating and m.revision == current_name),
            "updatedReplicas": sum(1 for m in created if not m.terminating and m.revision == update_name),
            "currentRevision": current_name,
            "updateRevision": update_name,
            "collisionCount": collisions,
            "availableReplicas": sum(1 for m in created if m.available(min_ready, now)),
        }
        strategy = (sts["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate")
        if (strategy == "RollingUpdate" and status["updatedReplicas"] == status["replicas"]
                and status["readyReplicas"] == status["replicas"]):
            status["currentReplicas"] = status["updatedReplicas"]
            status["currentRevision"] = update_name
        for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not status[key]:
                status.pop(key)  # omitempty, as the Go type writes them
        if status == (latest.get("status") or {}):
            return
        self.objects.update(self._sets, namespace, name, dict(latest, status=status), subresource="status")
