"""A work queue of object keys, as client-go's workqueue gives kube-controller-manager.

Watch events mark keys dirty; one worker syncs each dirty key once, however many events arrived
for it meanwhile (so a burst of 100 pod changes costs one ReplicaSet sync, not 100). Keys can
also come back after a delay on the simulated clock (minReadySeconds, progress deadlines).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable

from .. import errors
from ..clock import Clock

log = logging.getLogger(__name__)

COALESCE_TURNS = 10


class KeyQueue:
    """Calls `sync(key)` for every key added, once per batch of additions."""

    def __init__(self, clock: Clock, sync: Callable[[Hashable], None], name: str):
        self.clock = clock
        self.sync = sync
        self.name = name
        self._dirty: dict[Hashable, None] = {}  # insertion-ordered set
        self._worker: asyncio.Task | None = None
        self._timers: dict[Hashable, tuple[float, asyncio.Task]] = {}

    def add(self, key: Hashable) -> None:
        self._dirty[key] = None
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._drain())

    def add_at(self, key: Hashable, deadline: float) -> None:
        """Sync `key` again once the simulated clock reaches `deadline` (the earliest one wins)."""
        known = self._timers.get(key)
        if known is not None and known[0] <= deadline and not known[1].done():
            return
        if known is not None:
            known[1].cancel()
        self._timers[key] = (deadline, asyncio.ensure_future(self._wake(key, deadline)))

    def add_after(self, key: Hashable, seconds: float) -> None:
        self.add_at(key, self.clock.now() + max(0.0, seconds))

    async def _wake(self, key: Hashable, deadline: float) -> None:
        await self.clock.sleep_until(deadline)
        if self._timers.get(key, (None, None))[1] is asyncio.current_task():
            del self._timers[key]
        self.add(key)

    async def _drain(self) -> None:
        # let the watch deliver the rest of a burst first: a few loop turns gather the status
        # writes of many kubelets into one sync (fewer than the test harness's quiet turns)
        for _ in range(COALESCE_TURNS):
            await asyncio.sleep(0)
        while self._dirty:
            key = next(iter(self._dirty))
            del self._dirty[key]
            try:
                self.sync(key)
            except errors.APIError as error:
                if error.code == 409:
                    self._dirty[key] = None  # lost a race: look again with fresh state
                    await asyncio.sleep(0)
                elif error.code not in (403, 404):  # namespace terminating, object gone
                    log.warning("%s %s: %s", self.name, key, error.message)
            except Exception:
                log.exception("%s failed to sync %s", self.name, key)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        for _, task in self._timers.values():
            task.cancel()
        self._timers.clear()
