"""Objects, the resourceVersion counter, the watch history and its fan-out.

The store is what etcd plus the watch cache are to a real API server: it keeps the current
version of every object, numbers every change with one cluster-wide resourceVersion, remembers
recent changes so that a watch can resume from a resourceVersion (410 Gone past that), and
hands each change to the watchers it concerns. It knows nothing of kinds: defaulting,
validation and lifecycle rules live in the API layer. All calls happen on the simulator's event
loop, so there are no locks.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import errors

# (group, plural): objects of one resource, whatever version a client names
ResourceKey = tuple[str, str]
ObjectKey = tuple[str, str]  # (namespace or "", name)

HISTORY_LENGTH = 50_000
WATCH_QUEUE_LIMIT = 20_000  # a watcher this far behind is dropped, as a real server drops slow ones


@dataclass(frozen=True)
class Change:
    resource_version: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: ResourceKey
    object: dict
    previous: dict | None  # the object before a MODIFIED, to tell watchers of selector moves


class Watcher:
    """One open watch: a queue of (type, object) plus what it filters on."""

    def __init__(
        self,
        resource: ResourceKey,
        namespace: str | None,
        matches: Callable[[dict], bool],
    ):
        self.resource = resource
        self.namespace = namespace
        self.matches = matches
        self.queue: asyncio.Queue = asyncio.Queue()
        self.overflowed = False

    def offer(self, change: Change) -> None:
        if self.overflowed:
            return
        event = self._event_for(change)
        if event is None:
            return
        if self.queue.qsize() >= WATCH_QUEUE_LIMIT:
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(event)

    def _event_for(self, change: Change) -> tuple[str, dict] | None:
        obj = change.object
        if self.namespace is not None and obj["metadata"].get("namespace", "") != self.namespace:
            return None
        now = self.matches(obj)
        if change.type != "MODIFIED" or change.previous is None:
            return (change.type, obj) if now else None
        before = self.matches(change.previous)
        if now and before:
            return ("MODIFIED", obj)
        if now:
            return ("ADDED", obj)
        if before:
            return ("DELETED", obj)  # left the selection: the watcher sees it go
        return None


class Store:
    def __init__(self) -> None:
        self._objects: dict[ResourceKey, dict[ObjectKey, dict]] = collections.defaultdict(dict)
        self._revision = 1
        self._history: collections.deque[Change] = collections.deque(maxlen=HISTORY_LENGTH)  # read now: tests shrink it
        self._history_floor = 1  # the history holds every change after this revision
        self._watchers: dict[ResourceKey, set[Watcher]] = collections.defaultdict(set)
        self._listeners: list[Callable[[Change], None]] = []

    # reading

    @property
    def revision(self) -> int:
        return self._revision

    def get(self, resource: ResourceKey, namespace: str, name: str) -> dict | None:
        """The stored object itself: callers must not change it (copy first)."""
        return self._objects[resource].get((namespace or "", name))

    def list(self, resource: ResourceKey, namespace: str | None = None) -> list[dict]:
        """Objects sorted by namespace and name, as etcd's key order gives them."""
        items = self._objects[resource]
        keys = sorted(k for k in items if namespace is None or k[0] == namespace)
        return [items[k] for k in keys]

    def count(self, resource: ResourceKey) -> int:
        return len(self._objects[resource])

    def resources(self) -> Iterable[ResourceKey]:
        return list(self._objects)

    # writing: the caller has set everything but the resourceVersion

    def _next_revision(self) -> int:
        self._revision += 1
        return self._revision

    def create(self, resource: ResourceKey, obj: dict) -> dict:
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if key in self._objects[resource]:
            raise KeyError(key)
        revision = self._next_revision()
        meta["resourceVersion"] = str(revision)
        self._objects[resource][key] = obj
        self._record(Change(revision, "ADDED", resource, obj, None))
        return obj

    def replace(self, resource: ResourceKey, obj: dict, expected_version: str | None = None) -> dict:
        """Store a new version; `expected_version` is the optimistic-concurrency precondition."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        current = self._objects[resource].get(key)
        if current is None:
            raise LookupError(key)
        if expected_version is not None and current["metadata"]["resourceVersion"] != expected_version:
            raise errors.conflict(resource[1], resource[0], meta["name"], errors.STALE_OBJECT)
        revision = self._next_revision()
        meta["resourceVersion"] = str(revision)
        self._objects[resource][key] = obj
        self._record(Change(revision, "MODIFIED", resource, obj, current))
        return obj

    def remove(self, resource: ResourceKey, namespace: str, name: str) -> dict:
        current = self._objects[resource].pop((namespace or "", name))
        revision = self._next_revision()
        gone = dict(current)
        gone["metadata"] = dict(current["metadata"], resourceVersion=str(revision))
        self._record(Change(revision, "DELETED", resource, gone, None))
        return gone

    def _record(self, change: Change) -> None:
        if len(self._history) == self._history.maxlen:
            self._history_floor = self._history[0].resource_version
        self._history.append(change)
        for watcher in list(self._watchers.get(change.resource, ())):
            watcher.offer(change)
        for listener in self._listeners:
            listener(change)

    # watching

    def listen(self, listener: Callable[[Change], None]) -> None:
        """Call `listener` synchronously with every change (for in-process controllers)."""
        self._listeners.append(listener)

    def watch(
        self,
        resource: ResourceKey,
        namespace: str | None,
        matches: Callable[[dict], bool],
        since: int | None,
    ) -> Watcher:
        """A watcher of changes after revision `since`; None means the current state first.

        `since` older than what the history holds raises 410 Gone, as a compacted etcd does.
        """
        watcher = Watcher(resource, namespace, matches)
        if since is None:
            for obj in self.list(resource, namespace):
                if matches(obj):
                    watcher.queue.put_nowait(("ADDED", obj))
        else:
            if since < self._history_floor:
                raise errors.gone(f"too old resource version: {since} ({self._history_floor})")
            for change in self._changes_after(since):
                if change.resource == resource:
                    watcher.offer(change)
        self._watchers[resource].add(watcher)
        return watcher

    def _changes_after(self, since: int) -> Iterable[Change]:
        history = self._history
        if not history or history[-1].resource_version <= since:
            return ()
        # binary search: revisions in the history increase
        low, high = 0, len(history)
        while low < high:
            middle = (low + high) // 2
            if history[middle].resource_version <= since:
                low = middle + 1
            else:
                high = middle
        return [history[i] for i in range(low, len(history))]

    def stop_watch(self, watcher: Watcher) -> None:
        self._watchers[watcher.resource].discard(watcher)

    def watcher_count(self) -> int:
        return sum(len(w) for w in self._watchers.values())

    def end_watches(self) -> None:
        """End every open watch (the server is shutting down); clients reconnect elsewhere."""
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.queue.put_nowait(None)
        self._watchers.clear()

    def drop_resource(self, resource: ResourceKey) -> None:
        """Forget a whole resource (a deleted CRD's objects); watchers see their stream end."""
        self._objects.pop(resource, None)
        for watcher in self._watchers.pop(resource, set()):
            watcher.queue.put_nowait(None)


def encode(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
