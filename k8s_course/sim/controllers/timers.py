"""Acting at a time, and once per burst: two small helpers for controllers.

`Alarms` keeps at most one wake-up per key on the simulated clock; `Pending` runs a sync once
the current burst of watch events has been read. Neither polls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable

from .. import errors
from ..clock import Clock

log = logging.getLogger(__name__)


class Alarms:
    """At most one pending wake-up per key on the simulated clock; the earliest one wins.

    When a key's time comes, `ring(key)` is called (a plain function that may write through
    `Objects`). Nothing polls: each alarm is one `clock.sleep_until`.
    """

    def __init__(self, clock: Clock, ring: Callable[[Hashable], None]):
        self._clock = clock
        self._ring = ring
        self._pending: dict[Hashable, tuple[float, asyncio.Task]] = {}

    def set(self, key: Hashable, when: float) -> None:
        current = self._pending.get(key)
        if current is not None and not current[1].done():
            if current[0] <= when:
                return
            current[1].cancel()
        self._pending[key] = (when, asyncio.ensure_future(self._wait(key, when)))

    def clear(self, key: Hashable) -> None:
        current = self._pending.pop(key, None)
        if current is not None:
            current[1].cancel()

    def cancel_all(self) -> None:
        for _, task in self._pending.values():
            task.cancel()
        self._pending.clear()

    async def _wait(self, key: Hashable, when: float) -> None:
        await self._clock.sleep_until(when)
        self._pending.pop(key, None)
        try:
            self._ring(key)
        except errors.APIError as error:
            if error.code not in (404, 409):
                log.warning("alarm %s: %s", key, error.message)
        except Exception:
            log.exception("alarm %s failed", key)


class Pending:
    """Keys waiting for a sync, run once the current burst of watch events has been read.

    A controller reads its queued events without yielding to the loop, so a sync scheduled
    with `call_soon` runs after the burst: a thousand pod updates of one set cost one sync,
    not a thousand.
    """

    def __init__(self, sync: Callable[..., None]):
        self._sync = sync
        self._keys: dict[tuple, None] = {}
        self._handle: asyncio.Handle | None = None

    def add(self, key: tuple) -> None:
        self._keys[key] = None
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_soon(self._flush)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _flush(self) -> None:
        self._handle = None
        keys, self._keys = list(self._keys), {}
        for key in keys:
            try:
                self._sync(*key)
            except errors.APIError as error:
                # a lost race with another writer: the next event brings the object back
                if error.code not in (404, 409):
                    log.warning("sync %s: %s", key, error.message)
            except Exception:
                log.exception("sync %s failed", key)
