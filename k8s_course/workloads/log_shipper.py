"""The logging sidecar: follows the app's log file and ships its lines to the aggregator.

New lines go out in batches (at most MAX_LINES lines, or whatever arrived within MAX_WAIT
seconds) as JSON POSTs to AGGREGATOR_URL (e.g. http://log-aggregator:8080/ingest). Delivery
is at least once: every line gets a sequence number when it is read, a batch keeps its numbers
when it is resent, and the aggregator drops a (pod, sequence) it already has. While the
aggregator is down the same batch is retried after 1, 2, 4 ... seconds (BACKOFF_BASE, capped at
BACKOFF_CAP, full jitter unless BACKOFF_JITTER=0). After every acknowledged batch the position
in the file and the next sequence number are saved to STATE_FILE, so a restarted shipper
resumes where it stopped. A rotated file (new inode) is read to its end before the new one is
followed; a truncated file (shorter than the position) is read again from its start.

Other settings: LOG_FILE, POD_NAME, POLL_INTERVAL. Runs as `python log_shipper.py`; standard
library only.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------- pure core


@dataclass(frozen=True)
class Batch:
    """Lines numbered first_sequence, first_sequence + 1, ...; `cursor` is where the last ends."""

    pod: str
    first_sequence: int
    lines: tuple[str, ...]
    cursor: Any

    @property
    def next_sequence(self) -> int:
        return self.first_sequence + len(self.lines)

    def payload(self) -> dict:
        """The JSON body POSTed to the aggregator."""
        return {
            "pod": self.pod,
            "entries": [{"seq": self.first_sequence + i, "line": line} for i, line in enumerate(self.lines)],
        }


class Batcher:
    """Lines in, batches out; one batch in flight until it is acked.

    A nacked batch stays in flight and comes out again unchanged (same sequence numbers), so a
    retry can only ever duplicate, never renumber; the receiver's dedup makes that harmless.
    `cursor` is opaque here: whatever the caller needs to resume after the line (the shell
    uses (inode, offset)).
    """

    def __init__(self, pod: str, max_lines: int = 100, max_wait: float = 1.0, next_sequence: int = 0):
        if max_lines < 1:
            raise ValueError(f"max_lines must be at least 1, not {max_lines}")
        self.pod = pod
        self.max_lines = max_lines
        self.max_wait = max_wait
        self.next_sequence = next_sequence  # of the next line added
        self.in_flight: Batch | None = None
        self._pending: list[tuple[str, Any]] = []
        self._oldest_at: float | None = None  # when the oldest pending line arrived

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def add(self, line: str, cursor: Any, now: float) -> None:
        if not self._pending:
            self._oldest_at = now
        self._pending.append((line, cursor))

    def due(self, now: float) -> bool:
        """Whether `next_batch(now)` would return a batch."""
        if self.in_flight is not None:
            return True
        if not self._pending:
            return False
        return len(self._pending) >= self.max_lines or now - self._oldest_at >= self.max_wait

    def next_batch(self, now: float) -> Batch | None:
        """The batch to send now: the one in flight again, or a new one once full or old enough."""
        if not self.due(now):
            return None
        if self.in_flight is None:
            taken, self._pending = self._pending[: self.max_lines], self._pending[self.max_lines :]
            self.in_flight = Batch(self.pod, self.next_sequence, tuple(line for line, _ in taken), taken[-1][1])
            self.next_sequence += len(taken)
            # the lines left behind have waited since `now` at the latest; never longer than the batch
            self._oldest_at = now if self._pending else None
        return self.in_flight

    def ack(self, batch: Batch) -> Any:
        """The receiver has the batch: returns its cursor, the position now safe to save."""
        self._check_in_flight(batch)
        self.in_flight = None
        return batch.cursor

    def nack(self, batch: Batch) -> None:
        """The batch did not arrive; it stays in flight for the next try."""
        self._check_in_flight(batch)

    def _check_in_flight(self, batch: Batch) -> None:
        if batch is not self.in_flight:
            raise ValueError(f"batch {batch.first_sequence}..{batch.next_sequence - 1} is not the one in flight")


class Backoff:
    """Delays between retries: base, base*2, base*4 ... up to cap; reset after a success.

    With jitter ("full jitter") each delay is drawn uniformly from [0, delay], so that many
    shippers that failed together do not all retry together.
    """

    def __init__(
        self,
        base: float = 1.0,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: bool = True,
        uniform: Callable[[], float] = random.random,
    ):
        self.base, self.cap, self.factor, self.jitter = base, cap, factor, jitter
        self._uniform = uniform
        self.failures = 0  # since the last success

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * self.factor**self.failures)
        self.failures += 1
        return delay * self._uniform() if self.jitter else delay

    def reset(self) -> None:
        self.failures = 0


def split_lines(data: bytes, start: int) -> tuple[list[tuple[str, int]], bytes]:
    """Complete lines of `data` (read from offset `start`) with the offset after each, and the
    incomplete tail, which must be read again later rather than shipped half-written."""
    lines = []
    offset = start
    for raw in data.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            return lines, raw
        offset += len(raw)
        lines.append((raw.rstrip(b"\r\n").decode("utf-8", errors="replace"), offset))
    return lines, b""


def follow_decision(inode: int | None, offset: int, current_inode: int | None, current_size: int) -> str:
    """What to do with the file at the path, given where we are reading.

    "wait": the path has no file (between a rotation and the next write); "resume": same file,
    read on from `offset`; "rotated": a new file is at the path (finish the old one, then read
    the new one from 0); "truncated": same file but shorter than `offset`, read again from 0.
    """
    if current_inode is None:
        return "wait"
    if inode is not None and current_inode != inode:
        return "rotated"
    if current_size < offset:
        return "truncated"
    return "resume"


def start_position(saved: dict | None, current_inode: int | None, current_size: int) -> tuple[int, int]:
    """(offset, next sequence) to start from, given the saved state and the file as it is now."""
    if not saved:
        return 0, 0
    sequence = int(saved.get("next_sequence", 0))
    if follow_decision(saved.get("inode"), int(saved.get("offset", 0)), current_inode, current_size) == "resume":
        return int(saved["offset"]), sequence
    return 0, sequence


# ---------------------------------------------------------------- I/O shell


class ShipError(Exception):
    """The aggregator did not take the batch."""


def post_batch(url: str, payload: dict, timeout: float = 5.0) -> dict:
    """POST a batch; returns the aggregator's answer, or raises ShipError."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ShipError(str(error)) from error


def load_state(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def save_state(path: str, state: dict) -> None:
    # written aside and renamed, so a crash leaves the old state or the new, never half of one
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(state, file)
    os.replace(temporary, path)


def _stat(path: str) -> tuple[int | None, int]:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None, 0
    return status.st_ino, status.st_size


class Shipper:
    """Follows one log file and ships it; `step()` does one round, `run()` loops until stopped.

    `clock`, `sleep` and `send` are injectable so that a test (or the simulator) can run hours
    of back-off in no time.
    """

    def __init__(
        self,
        log_path: str,
        url: str,
        pod: str,
        state_path: str,
        max_lines: int = 100,
        max_wait: float = 1.0,
        backoff: Backoff | None = None,
        poll_interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        send: Callable[[str, dict], dict] = post_batch,
        log: Callable[[str], None] = lambda message: print(message, flush=True),
    ):
        self.log_path, self.url, self.state_path = log_path, url, state_path
        self.backoff = backoff or Backoff()
        self.poll_interval = poll_interval
        self.clock, self.sleep, self.send, self.log = clock, sleep, send, log
        self.shipped = 0  # lines acked by the aggregator since start
        self.failures = 0  # failed sends since start
        inode, size = _stat(log_path)
        offset, sequence = start_position(load_state(state_path), inode, size)
        self.batcher = Batcher(pod, max_lines, max_wait, sequence)
        self._file = None
        self._inode: int | None = None
        self._offset = offset  # where the next read starts in the open file
        self._tail = b""  # an incomplete last line, read again later
        if inode is not None:
            self._open(offset)

    def _open(self, offset: int) -> None:
        self.close()
        # held open between reads: after a rotation it still reads the old file to its end
        self._file = open(self.log_path, "rb")
        self._inode = os.fstat(self._file.fileno()).st_ino
        self._file.seek(offset)
        self._offset, self._tail = offset, b""

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def read_new_lines(self) -> int:
        """Read what was appended (following rotation and truncation); returns lines read."""
        inode, size = _stat(self.log_path)
        if self._file is None:
            if inode is None:
                return 0
            self._open(0)
        decision = follow_decision(self._inode, self._offset + len(self._tail), inode, size)
        count = self._read_to_end()
        if decision == "rotated":
            self.log(f"log-shipper: {self.log_path} was rotated; following the new file")
            self._open(0)
            count += self._read_to_end()
        elif decision == "truncated":
            self.log(f"log-shipper: {self.log_path} was truncated; reading it from the start")
            self._open(0)
            count += self._read_to_end()
        return count

    def _read_to_end(self) -> int:
        data = self._tail + self._file.read()
        lines, self._tail = split_lines(data, self._offset)
        now = self.clock()
        for line, end in lines:
            self.batcher.add(line, (self._inode, end), now)
        if lines:
            self._offset = lines[-1][1]
        return len(lines)

    def step(self) -> None:
        """Read new lines; send a batch if one is due; else wait a poll interval."""
        self.read_new_lines()
        batch = self.batcher.next_batch(self.clock())
        if batch is None:
            self.sleep(self.poll_interval)
            return
        try:
            self.send(self.url, batch.payload())
        except ShipError as error:
            self.batcher.nack(batch)
            self.failures += 1
            delay = self.backoff.next_delay()
            self.log(f"log-shipper: aggregator unreachable ({error}); retry {self.backoff.failures} in {delay:.1f}s")
            self.sleep(delay)
            return
        inode, offset = self.batcher.ack(batch)
        self.backoff.reset()
        self.shipped += len(batch.lines)
        save_state(self.state_path, {"inode": inode, "offset": offset, "next_sequence": batch.next_sequence})

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()


def main(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log_path = env.get("LOG_FILE", "/var/log/app/app.log")
    shipper = Shipper(
        log_path=log_path,
        url=env.get("AGGREGATOR_URL", "http://log-aggregator:8080/ingest"),
        pod=env.get("POD_NAME") or socket.gethostname(),
        state_path=env.get("STATE_FILE", log_path + ".shipper-state"),
        max_lines=int(env.get("MAX_LINES", "100")),
        max_wait=float(env.get("MAX_WAIT", "1.0")),
        backoff=Backoff(
            base=float(env.get("BACKOFF_BASE", "1")),
            cap=float(env.get("BACKOFF_CAP", "30")),
            jitter=env.get("BACKOFF_JITTER", "1") not in ("0", "false", "no"),
        ),
        poll_interval=float(env.get("POLL_INTERVAL", "0.2")),
        # a stop request cuts a back-off wait short
        sleep=stop.wait,
    )
    print(f"log-shipper: following {log_path} as {shipper.batcher.pod}, shipping to {shipper.url}", flush=True)
    try:
        shipper.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        shipper.close()
    print(f"log-shipper: stopped after shipping {shipper.shipped} lines", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
