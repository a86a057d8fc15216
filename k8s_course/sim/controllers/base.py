"""What every in-process controller shares: watch some resources, react to each change.

Controllers see the cluster the way kube-controller-manager does, through watches on the store
(the same watch a client gets over HTTP) and writes through `Objects` (the same path as a
client's write). None of them reaches into another's state.
"""

from __future__ import annotations

import asyncio
import logging

from .. import errors
from ..objects import Objects
from ..resources import ResourceType

log = logging.getLogger(__name__)


def _always(obj: dict) -> bool:
    return True


class Controller:
    """Subclasses name the resources they watch and implement `handle`."""

    watches: tuple[tuple[str, str, str], ...] = ()  # (group, version, plural)

    def __init__(self, objects: Objects):
        self.objects = objects
        self.store = objects.store
        self.clock = objects.clock

    def rtype(self, group: str, version: str, plural: str) -> ResourceType:
        found = self.objects.registry.lookup(group, version, plural)
        assert found is not None, f"{plural}.{group}/{version} is not served"
        return found

    async def run(self) -> None:
        merged: asyncio.Queue = asyncio.Queue()
        watchers = []
        for group, version, plural in self.watches:
            watcher = self.store.watch((group, plural), None, _always, None)
            watchers.append(((group, version, plural), watcher))

        async def forward(resource, watcher):
            while True:
                item = await watcher.queue.get()
                if item is None:
                    return
                await merged.put((resource, item))

        forwarders = [asyncio.ensure_future(forward(r, w)) for r, w in watchers]
        try:
            while True:
                resource, (kind, obj) = await merged.get()
                try:
                    await self.handle(resource, kind, obj)
                except errors.APIError as error:
                    # a lost race with another writer: the next event brings the object back
                    if error.code not in (404, 409):
                        log.warning("%s: %s", type(self).__name__, error.message)
                except Exception:
                    log.exception("%s failed on %s %s", type(self).__name__, kind,
                                  obj.get("metadata", {}).get("name"))
        finally:
            for task in forwarders:
                task.cancel()
            for _, watcher in watchers:
                self.store.stop_watch(watcher)
            self.stopped()

    def stopped(self) -> None:
        """Called when the loop ends: cancel timers and queues the controller started."""

    async def handle(self, resource: tuple[str, str, str], event: str, obj: dict) -> None:
        raise NotImplementedError
