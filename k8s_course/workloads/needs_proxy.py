"""An app that needs its proxy the moment it starts: chapter 1's start-order lesson.

At start it connects once to its proxy on localhost (PROXY_PORT, default 15001). Refused, it
says so and exits with code 1, as many real apps do when a dependency is missing at start (the
kubelet then restarts it with its growing back-off: CrashLoopBackOff). Accepted, it says so and
serves `ok` over HTTP on APP_PORT (default 8080) until SIGTERM.

Runs as `python needs_proxy.py` in a stock python image; standard library only. The pure core
(`settings_from`, `first_words`) is shared with the simulator's model of this program.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Settings:
    proxy_port: int = 15001
    app_port: int = 8080


def settings_from(environ: Mapping[str, str]) -> Settings:
    return Settings(int(environ.get("PROXY_PORT", "15001")), int(environ.get("APP_PORT", "8080")))


def first_words(settings: Settings, refusal: str | None) -> tuple[int | None, str]:
    """What the app does after its one attempt: (exit code, or None to keep running; its log line)."""
    if refusal is not None:
        return 1, f"needs-proxy: cannot reach the proxy: dial tcp 127.0.0.1:{settings.proxy_port}: {refusal}"
    return None, f"needs-proxy: connected to the proxy on localhost:{settings.proxy_port}"


def try_proxy(port: int) -> str | None:
    """None if localhost:port accepts a connection, else what the socket said (Go's words)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return None
    except ConnectionRefusedError:
        return "connect: connection refused"
    except OSError as error:
        return f"connect: {error.strerror or error}"


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # the app's log is for the lesson's lines only
        pass


def main() -> int:
    settings = settings_from(os.environ)
    code, line = first_words(settings, try_proxy(settings.proxy_port))
    print(line, file=sys.stderr if code else sys.stdout, flush=True)
    if code is not None:
        return code
    server = ThreadingHTTPServer(("0.0.0.0", settings.app_port), _Ok)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
