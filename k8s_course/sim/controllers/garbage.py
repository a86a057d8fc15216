"""The garbage collector: dependents follow their owners out, as ownerReferences say.

Every stored resource type is watched (built-in ones and those of CRDs, as they come and go), and
an index owner-uid -> dependents is kept from the watch events, so each event costs work in
proportion to its own references. When an owner is gone, its dependents are deleted
(background). An owner deleted in the foreground (finalizer `foregroundDeletion`) has its
dependents deleted first and keeps the finalizer while any dependent with blockOwnerDeletion
remains. An owner deleted with the `orphan` finalizer has its references removed from its
dependents, then loses the finalizer. Before deleting anything the collector checks the
owner's absence against the store, as the real one checks with a live read.
"""

from __future__ import annotations

import asyncio
import collections
import copy
from dataclasses import dataclass

from .. import errors
from ..objects import DeleteOptions
from .base import Controller, _always

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")


@dataclass
class Node:
    """What the collector remembers of one object."""

    resource: tuple[str, str]  # (group, plural)
    namespace: str
    name: str
    owners: tuple  # the uids in its ownerReferences


class GarbageCollector(Controller):
    def __init__(self, objects):
        super().__init__(objects)
        self.nodes: dict[str, Node] = {}
        self.dependents: dict[str, set[str]] = collections.defaultdict(set)
        self._watchers: dict[tuple[str, str], object] = {}
        self._forwarders: dict[tuple[str, str], asyncio.Task] = {}
        self._events: asyncio.Queue = asyncio.Queue()

    # watching every stored resource

    async def run(self) -> None:
        self._watch_served()
        try:
            while True:
                resource, (event, obj) = await self._events.get()
                try:
                    self.observe(resource, event, obj)
                    if resource == CRDS:
                        self._watch_served()
                except errors.APIError as error:
                    if error.code not in (404, 409):
                        raise
        finally:
            for task in self._forwarders.values():
                task.cancel()
            for watcher in self._watchers.values():
                self.store.stop_watch(watcher)

    def _watch_served(self) -> None:
        served = {(t.group, t.plural) for t in self.objects.registry.all() if t.stored}
        for resource in served - set(self._watchers):
            watcher = self.store.watch(resource, None, _always, None)
            self._watchers[resource] = watcher
            self._forwarders[resource] = asyncio.ensure_future(self._forward(resource, watcher))
        for resource in set(self._watchers) - served:
            self.store.stop_watch(self._watchers.pop(resource))
            self._forwarders.pop(resource).cancel()

    async def _forward(self, resource, watcher) -> None:
        while True:
            item = await watcher.queue.get()
            if item is None:
                return
            await self._events.put((resource, item))

    # the index

    def observe(self, resource: tuple[str, str], event: str, obj: dict) -> None:
        meta = obj["metadata"]
        uid = meta.get("uid")
        if uid is None:
            return
        old = self.nodes.pop(uid, None)
        if old is not None:
            for owner in old.owners:
                self._unlink(owner, uid)
        if event == "DELETED":
            self._owner_gone(uid)
            if old is not None:
                self._recheck_owners(old.owners)
            return
        refs = meta.get("ownerReferences") or ()
        node = Node(resource, meta.get("namespace", ""), meta["name"], tuple(r["uid"] for r in refs))
        self.nodes[uid] = node
        for owner in node.owners:
            self.dependents[owner].add(uid)
        if old is not None:
            self._recheck_owners(set(old.owners) - set(node.owners))
        # a reference to an owner that is gone, or is waiting for its dependents, needs action
        if any(not self._alive_and_plain(ref, node) for ref in refs):
            self._attempt_to_delete(uid)
        if meta.get("deletionTimestamp"):
            finalizers = meta.get("finalizers") or ()
            if ORPHAN in finalizers:
                self._orphan_dependents(uid, obj)
            elif FOREGROUND in finalizers:
                self._delete_dependents_first(uid, obj)
        elif self._recheck_wanted(refs):
            self._recheck_owners(node.owners)

    def _unlink(self, owner: str, uid: str) -> None:
        found = self.dependents.get(owner)
        if found is not None:
            found.discard(uid)
            if not found:
                del self.dependents[owner]

    def _recheck_wanted(self, refs) -> bool:
        return any(ref.get("blockOwnerDeletion") for ref in refs)

    def _recheck_owners(self, owners) -> None:
        """An owner deleting in the foreground may have lost its last blocking dependent."""
        for owner_uid in owners:
            node = self.nodes.get(owner_uid)
            if node is None:
                continue
            owner = self.store.get(node.resource, node.namespace, node.name)
            if owner is not None and owner["metadata"].get("deletionTimestamp") and \
                    FOREGROUND in (owner["metadata"].get("finalizers") or ()):
                self._delete_dependents_first(owner_uid, owner)

    def _owner_gone(self, uid: str) -> None:
        for dependent in sorted(self.dependents.get(uid, ())):
            self._attempt_to_delete(dependent)

    # looking owners up

    def _owner_state(self, ref: dict, dependent: Node) -> str:
        """"solid", "waiting" (foreground deletion under way) or "dangling" (gone)."""
        api_version, kind = ref.get("apiVersion", ""), ref.get("kind", "")
        rtype = self.objects.registry.by_kind(api_version, kind)
        if rtype is None:
            group = api_version.rpartition("/")[0]
            rtype = next((t for t in self.objects.registry.all() if t.group == group and t.kind == kind), None)
        if rtype is None:
            return "solid"  # a kind we cannot resolve: never delete on a guess
        namespace = dependent.namespace if rtype.namespaced else ""
        owner = self.store.get((rtype.group, rtype.plural), namespace, ref.get("name", ""))
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return "dangling"
        meta = owner["metadata"]
        if meta.get("deletionTimestamp") and FOREGROUND in (meta.get("finalizers") or ()):
            return "waiting"
        return "solid"

    def _alive_and_plain(self, ref: dict, node: Node) -> bool:
        if ref.get("uid") in self.nodes:
            known = self.nodes[ref["uid"]]
            owner = self.store.get(known.resource, known.namespace, known.name)
            if owner is not None and not owner["metadata"].get("deletionTimestamp"):
                return True
        return self._owner_state(ref, node) == "solid"

    # acting

    def _attempt_to_delete(self, uid: str) -> None:
        node = self.nodes.get(uid)
        if node is None:
            return
        current = self.store.get(node.resource, node.namespace, node.name)
        if current is None or current["metadata"].get("uid") != uid:
            return
        meta = current["metadata"]
        if meta.get("deletionTimestamp") and FOREGROUND not in (meta.get("finalizers") or ()):
            return  # already on its way out
        refs = meta.get("ownerReferences") or ()
        if not refs:
            return
        states = {ref["uid"]: self._owner_state(ref, node) for ref in refs}
        if "solid" in states.values():
            gone = {u for u, s in states.items() if s != "solid"}
            if gone:
                kept = copy.deepcopy(current)
                kept["metadata"]["ownerReferences"] = [r for r in refs if r["uid"] not in gone]
                self._update(node, kept)
            return
        if meta.get("deletionTimestamp"):
            return
        finalizers = meta.get("finalizers") or ()
        if "waiting" in states.values() and self.dependents.get(uid):
            policy = "Foreground"
        elif ORPHAN in finalizers:
            policy = "Orphan"
        elif FOREGROUND in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        self._delete(node, uid, policy)

    def _delete_dependents_first(self, uid: str, owner: dict) -> None:
        blocking = False
        for dependent in sorted(self.dependents.get(uid, ())):
            node = self.nodes.get(dependent)
            if node is None:
                continue
            current = self.store.get(node.resource, node.namespace, node.name)
            if current is None:
                continue
            self._attempt_to_delete(dependent)
            after = self.store.get(node.resource, node.namespace, node.name)
            if after is not None and any(r.get("uid") == uid and r.get("blockOwnerDeletion")
                                         for r in after["metadata"].get("ownerReferences") or ()):
                blocking = True
        if not blocking:
            self._drop_finalizer(owner, FOREGROUND)

    def _orphan_dependents(self, uid: str, owner: dict) -> None:
        for dependent in sorted(self.dependents.get(uid, ())):
            node = self.nodes.get(dependent)
            current = self.store.get(node.resource, node.namespace, node.name) if node else None
            if current is None:
                continue
            released = copy.deepcopy(current)
            refs = [r for r in released["metadata"].get("ownerReferences") or () if r.get("uid") != uid]
            if refs:
                released["metadata"]["ownerReferences"] = refs
            else:
                released["metadata"].pop("ownerReferences", None)
            self._update(node, released)
        self._drop_finalizer(owner, ORPHAN)

    def _drop_finalizer(self, obj: dict, finalizer: str) -> None:
        meta = obj["metadata"]
        node = self.nodes.get(meta["uid"])
        if node is None:
            return
        current = self.store.get(node.resource, node.namespace, node.name)
        if current is None or finalizer not in (current["metadata"].get("finalizers") or ()):
            return
        released = copy.deepcopy(current)
        released["metadata"]["finalizers"] = [f for f in current["metadata"]["finalizers"] if f != finalizer]
        self._update(node, released)

    # writing

    def _rtype_for(self, node: Node, obj: dict | None = None):
        if obj is not None:
            found = self.objects.registry.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
            if found is not None:
                return found
        return next((t for t in self.objects.registry.all()
                     if (t.group, t.plural) == node.resource and t.stored), None)

    def _update(self, node: Node, obj: dict) -> None:
        rtype = self._rtype_for(node, obj)
        if rtype is None:
            return
        try:
            self.objects.update(rtype, node.namespace or None, node.name, obj)
        except errors.APIError as error:
            if error.code not in (404, 409):
                raise

    def _delete(self, node: Node, uid: str, policy: str) -> None:
        rtype = self._rtype_for(node)
        if rtype is None:
            return
        try:
            self.objects.delete(rtype, node.namespace or None, node.name,
                                DeleteOptions(propagation_policy=policy, precondition_uid=uid))
        except errors.APIError as error:
            if error.code not in (404, 409):
                raise
