"""A proxy that takes its time to start: the other half of chapter 1's start-order lesson.

It says it is starting, waits START_DELAY seconds (its warm-up: loading certificates, fetching
configuration), then listens on PORT (default 15001) and answers `ok` over HTTP until SIGTERM. A
SIGTERM during the warm-up ends it at once with code 0.

Runs as `python slow_proxy.py` in a stock python image; standard library only. The pure core
(`settings_from`, the log lines) is shared with the simulator's model of this program.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Settings:
    port: int = 15001
    start_delay: float = 0.0


def settings_from(environ: Mapping[str, str]) -> Settings:
    return Settings(int(environ.get("PORT", "15001")), float(environ.get("START_DELAY", "0")))


STARTING = "proxy: starting"


def listening(settings: Settings) -> str:
    return f"proxy: listening on :{settings.port}"


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main() -> int:
    settings = settings_from(os.environ)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print(STARTING, flush=True)
    if stopping.wait(settings.start_delay):
        return 0  # stopped during the warm-up
    server = ThreadingHTTPServer(("0.0.0.0", settings.port), _Ok)
    print(listening(settings), flush=True)
    threading.Thread(target=lambda: (stopping.wait(), server.shutdown()), daemon=True).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
