"""An app that picks up a changed ConfigMap without restarting.

It serves its current configuration over HTTP (GET /config, and /healthz) and polls the
mounted file (CONFIG_FILE, default /etc/app/config.json) every POLL_INTERVAL seconds. A change
is seen whichever way it comes: an edit in place, or the kubelet's update of a ConfigMap
volume, which writes a new timestamped folder and swaps the `..data` symlink to it. Each poll
follows the symlinks afresh and hashes the content (a config file is small, and mtimes are too
coarse to tell two quick edits apart); only a change of content counts. New content is parsed
and, if valid, becomes the config (`reloads` goes up by one); if invalid the old config stays
and `errors` goes up, as a careful server does.

The file is JSON, or `key = value` lines (# comments). Settings: CONFIG_FILE, HOST (0.0.0.0),
PORT (8080; 0 picks a free one), POLL_INTERVAL (1). Prints `listening on HOST:PORT` when ready.
Runs as `python config_reloader.py`; standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ---------------------------------------------------------------- pure core


def parse_config(text: str) -> dict:
    """A JSON object, or `key = value` lines; raises ValueError saying what is wrong."""
    if text.lstrip().startswith("{"):
        config = json.loads(text)
        if not isinstance(config, dict):
            raise ValueError("the JSON config must be an object")
        return config
    config = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"line {number} is not `key = value`: {raw!r}")
        config[key.strip()] = value.strip()
    return config



@dataclass
class ConfigState:
    """The config in force and how it got there; the decisions, without any I/O."""

    config: dict = field(default_factory=dict)
    digest: str | None = None  # sha256 of the content in force
    source: str | None = None  # the file it came from, through the ..data symlink
    reloads: int = 0  # config changes after the first load
    errors: int = 0
    last_error: str | None = None
    _rejected: str | None = None  # sha256 of the invalid content seen last

    def offer(self, source: str, content: bytes) -> bool:
        """The content read from `source` at one poll; returns whether the config in force changed."""
        digest = hashlib.sha256(content).hexdigest()
        if digest in (self.digest, self._rejected):
            return False  # unchanged since the last poll (or touched, or rewritten the same)
        try:
            config = parse_config(content.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            self._rejected = digest  # counted once, not at every poll until it is fixed
            self.errors += 1
            self.last_error = str(error)
            return False
        first = self.digest is None
        self.config, self.digest, self.source, self.last_error = config, digest, source, None
        if not first:
            self.reloads += 1
        return True

    def report(self, pid: int) -> dict:
        """The body of GET /config."""
        return {
            "config": self.config,
            "version": self.digest[:12] if self.digest else None,
            "reloads": self.reloads,
            "errors": self.errors,
            "last_error": self.last_error,
            "source": self.source,
            "pid": pid,
        }


def respond(path: str, report) -> tuple[int, dict]:
    """Answer one GET: (status, JSON answer); `report()` gives the body of /config."""
    if path == "/config":
        return 200, report()
    if path == "/healthz":
        return 200, {"status": "ok"}
    return 404, {"error": f"no route {path}; try /config or /healthz"}


# ---------------------------------------------------------------- I/O shell


def read_config_file(path: str) -> tuple[str, bytes] | None:
    """(resolved path, content) of the file as it is now, or None if it is not there."""
    try:
        # resolved once, then read: during a ..data swap both come from the same side of it
        resolved = os.path.realpath(path)
        with open(resolved, "rb") as file:
            return resolved, file.read()
    except OSError:
        return None  # not mounted yet, or the old folder went away mid-swap: next poll


class ConfigReloader:
    """Polls one file into a ConfigState and serves it; `check()` is one poll."""

    def __init__(self, path: str, host: str = "127.0.0.1", port: int = 0, poll_interval: float = 1.0,
                 log=lambda message: print(message, flush=True)):
        self.path, self.poll_interval, self.log = path, poll_interval, log
        self.state = ConfigState()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.check()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def check(self) -> bool:
        """Look at the file once; returns whether the config changed."""
        found = read_config_file(self.path)
        if found is None:
            return False
        with self._lock:
            errors = self.state.errors
            changed = self.state.offer(*found)
            if changed:
                self.log(f"config-reloader: config version {self.state.digest[:12]} in force (reloads: {self.state.reloads})")
            elif self.state.errors > errors:
                self.log(f"config-reloader: kept the old config; the new one is invalid: {self.state.last_error}")
        return changed

    def report(self) -> dict:
        with self._lock:
            return self.state.report(os.getpid())

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        reloader = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, answer = respond(self.path, reloader.report)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_interval):
            self.check()

    def start(self) -> ConfigReloader:
        for target, kwargs in ((self._httpd.serve_forever, {"poll_interval": 0.05}), (self._poll, {})):
            thread = threading.Thread(target=target, kwargs=kwargs, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._threads:
            self._httpd.shutdown()
        for thread in self._threads:
            thread.join()
        self._httpd.server_close()

    def __enter__(self) -> ConfigReloader:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    # before anything else: as PID 1 in a container, an unhandled SIGTERM would be ignored
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    host = env.get("HOST", "0.0.0.0")
    reloader = ConfigReloader(
        env.get("CONFIG_FILE", "/etc/app/config.json"),
        host=host,
        port=int(env.get("PORT", "8080")),
        poll_interval=float(env.get("POLL_INTERVAL", "1")),
    ).start()
    print(f"config-reloader: listening on {host}:{reloader.port}", flush=True)
    try:
        while not stop.wait(1.0):  # woken now and then, so that signals are handled promptly
            pass
    except KeyboardInterrupt:
        pass
    reloader.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
