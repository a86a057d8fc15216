"""The one clock of the simulated cluster.

Every timestamp the simulator writes and every timer it waits on reads this clock, so that a
demo can run 10x faster than life and a test can run a 5-minute eviction in milliseconds. Two
flavours: `Clock` follows the wall clock times a speed factor; `ManualClock` moves only when a
test calls `advance()`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import datetime, timezone


def format_time(seconds: float) -> str:
    """RFC 3339 with second precision, as Kubernetes writes metav1.Time."""
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(seconds: float) -> str:
    """RFC 3339 with microseconds, as Kubernetes writes metav1.MicroTime (leases, events)."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Clock:
    """Simulated time = wall time scaled by `speed` since the last change of speed."""

    def __init__(self, speed: float = 1.0, start: float | None = None):
        if speed <= 0:
            raise ValueError("the clock's speed must be greater than 0")
        self._speed = float(speed)
        self._base_sim = time.time() if start is None else float(start)
        self._base_real = time.monotonic()
        self._timers: list[tuple[float, int, asyncio.Future]] = []
        self._counter = itertools.count()
        self._changed: asyncio.Event | None = None

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError("the clock's speed must be greater than 0")
        self._base_sim = self.now()
        self._base_real = time.monotonic()
        self._speed = float(speed)
        self._poke()

    def now(self) -> float:
        return self._base_sim + (time.monotonic() - self._base_real) * self._speed

    def timestamp(self) -> str:
        return format_time(self.now())

    def micro_timestamp(self) -> str:
        return format_micro_time(self.now())

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of simulated time (0 still yields to the loop once)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        await self.sleep_until(self.now() + seconds)

    async def sleep_until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        heapq.heappush(self._timers, (deadline, next(self._counter), future))
        self._poke()
        await future

    def _poke(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def _due(self) -> None:
        now = self.now()
        while self._timers and self._timers[0][0] <= now:
            _, _, future = heapq.heappop(self._timers)
            if not future.done():
                future.set_result(None)
        # cancelled sleepers leave dead entries; drop them from the top
        while self._timers and self._timers[0][2].done():
            heapq.heappop(self._timers)

    def _real_wait(self) -> float | None:
        if not self._timers:
            return None
        return max(0.0, (self._timers[0][0] - self.now()) / self._speed)

    async def run(self) -> None:
        """Wakes sleepers when their simulated deadline passes; runs on the simulator's loop."""
        self._changed = asyncio.Event()
        while True:
            self._due()
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), self._real_wait())
            except asyncio.TimeoutError:
                pass


class ManualClock(Clock):
    """A clock that stands still until `advance()`: for tests that assert exact times."""

    def __init__(self, start: float = 1_800_000_000.0):
        super().__init__(1.0, start)
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def set_speed(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError("the clock's speed must be greater than 0")
        self._speed = float(speed)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not run backwards")
        self._now += seconds
        self._poke()

    def _real_wait(self) -> float | None:
        return None  # only advance() moves time
