"""Who controls what, and how far along a pod is: what the workload controllers share.

A controller owns the objects whose controller ownerReference carries its uid; it adopts
orphans its selector matches and releases objects whose labels no longer match, as client-go's
ControllerRefManager does. `OwnedIndex` keeps, from watch events, the objects of one resource by
controlling owner, so a sync reads its own pods without scanning every pod of the cluster.
"""

from __future__ import annotations

import collections
import copy

from ..clock import parse_time
from ..objects import Objects
from ..resources import ResourceType

ObjectKey = tuple[str, str]  # (namespace, name)


def key_of(obj: dict) -> ObjectKey:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def controller_ref(obj: dict) -> dict | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def owner_reference(owner: dict) -> dict:
    """The controller reference a controller puts on what it creates or adopts."""
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}


def is_terminating(obj: dict) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def is_pod_active(pod: dict) -> bool:
    """Counts as a replica: not finished and not on its way out."""
    return (pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")
            and not is_terminating(pod))


def ready_condition(pod: dict) -> dict | None:
    for condition in pod.get("status", {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return condition
    return None


def is_pod_ready(pod: dict) -> bool:
    condition = ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def ready_since(pod: dict) -> float | None:
    """When the pod last became ready (None if it is not ready)."""
    condition = ready_condition(pod)
    if condition is None or condition.get("status") != "True":
        return None
    stamp = condition.get("lastTransitionTime")
    return parse_time(stamp) if stamp else None


def available_at(pod: dict, min_ready_seconds: int) -> float | None:
    """The simulated time from which the pod counts as available; None while it is not ready."""
    if not is_pod_ready(pod):
        return None
    since = ready_since(pod)
    if since is None or min_ready_seconds <= 0:
        return float("-inf")
    return since + min_ready_seconds


class OwnedIndex:
    """Objects of one resource seen on a watch, by the uid of their controller."""

    def __init__(self) -> None:
        self.items: dict[ObjectKey, dict] = {}
        self._by_owner: dict[str, set[ObjectKey]] = collections.defaultdict(set)
        self._orphans: dict[str, set[ObjectKey]] = collections.defaultdict(set)

    def observe(self, event: str, obj: dict) -> dict | None:
        """Record a watch event; returns the version of the object seen before it."""
        key = key_of(obj)
        old = self.items.pop(key, None)
        if old is not None:
            self._unlink(key, old)
        if event != "DELETED":
            self.items[key] = obj
            self._link(key, obj)
        return old

    def owned(self, uid: str) -> list[dict]:
        return [self.items[k] for k in sorted(self._by_owner.get(uid, ()))]

    def orphans(self, namespace: str) -> list[dict]:
        return [self.items[k] for k in sorted(self._orphans.get(namespace, ()))]

    def _link(self, key: ObjectKey, obj: dict) -> None:
        ref = controller_ref(obj)
        if ref is None:
            self._orphans[key[0]].add(key)
        else:
            self._by_owner[ref["uid"]].add(key)

    def _unlink(self, key: ObjectKey, obj: dict) -> None:
        ref = controller_ref(obj)
        bucket = self._orphans if ref is None else self._by_owner
        index = key[0] if ref is None else ref["uid"]
        keys = bucket.get(index)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del bucket[index]


def claim(objects: Objects, rtype: ResourceType, owner: dict, selector, owned: list[dict],
          orphans: list[dict]) -> list[dict]:
    """Adopt matching orphans, release owned objects that no longer match; returns what is ours.

    An owner being deleted neither adopts nor releases (it keeps what it has), as in client-go.
    """
    deleting = is_terminating(owner)
    ours = []
    for obj in owned:
        if selector.matches(obj["metadata"].get("labels")) or deleting:
            ours.append(obj)
        else:
            _release(objects, rtype, obj, owner["metadata"]["uid"])
    if deleting:
        return ours
    for obj in orphans:
        if is_terminating(obj) or not selector.matches(obj["metadata"].get("labels")):
            continue
        adopted = copy.deepcopy(obj)
        adopted["metadata"].setdefault("ownerReferences", []).append(owner_reference(owner))
        meta = adopted["metadata"]
        ours.append(objects.update(rtype, meta.get("namespace"), meta["name"], adopted).object)
    return ours


def _release(objects: Objects, rtype: ResourceType, obj: dict, owner_uid: str) -> None:
    released = copy.deepcopy(obj)
    meta = released["metadata"]
    meta["ownerReferences"] = [r for r in meta.get("ownerReferences") or () if r.get("uid") != owner_uid]
    if not meta["ownerReferences"]:
        del meta["ownerReferences"]
    objects.update(rtype, meta.get("namespace"), meta["name"], released)
