"""The "app" of the logging sidecar lesson: appends numbered lines to a log file.

Each line reads `<iso time> <pod> line <n>`; numbers start at 1 and never repeat, so the
aggregator's totals can be checked against the writer's. Settings come from the environment:
LOG_FILE (default /var/log/app/app.log), RATE (lines per second, default 5), POD_NAME
(default the host name) and LINES (stop after this many; default 0, run forever).

Runs as `python log_writer.py`; standard library only.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone

# ---------------------------------------------------------------- pure core


def log_line(when: datetime, pod: str, number: int) -> str:
    """One line of the log, without its newline."""
    return f"{when.isoformat(timespec='milliseconds')} {pod} line {number}"


def line_number(line: str) -> int:
    """The number at the end of a line written by `log_line`."""
    return int(line.rsplit(" ", 1)[1])


def interval(rate: float) -> float:
    """Seconds between two lines at `rate` lines per second."""
    if rate <= 0:
        raise ValueError(f"RATE must be a positive number of lines per second, not {rate}")
    return 1.0 / rate


# ---------------------------------------------------------------- I/O shell


def write_lines(
    path: str,
    pod: str,
    rate: float,
    count: int = 0,
    first: int = 1,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> int:
    """Append `count` lines (0: forever) to `path`; returns the number of the last line.

    The file is reopened for every line, so a rotated or truncated file is simply continued,
    as an app writing through a logging library would.
    """
    pause = interval(rate)
    number = first - 1
    while count == 0 or number < first - 1 + count:
        number += 1
        with open(path, "a", encoding="utf-8") as log:
            log.write(log_line(now(), pod, number) + "\n")
        if count == 0 or number < first - 1 + count:
            sleep(pause)
    return number


def main(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    path = env.get("LOG_FILE", "/var/log/app/app.log")
    pod = env.get("POD_NAME") or socket.gethostname()
    rate = float(env.get("RATE", "5"))
    count = int(env.get("LINES", "0"))
    # as PID 1 in a container, SIGTERM is ignored unless handled
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    print(f"log-writer: {pod} writing {rate:g} lines/s to {path}", flush=True)
    try:
        last = write_lines(path, pod, rate, count)
    except KeyboardInterrupt:
        return 0
    print(f"log-writer: wrote {last} lines", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
