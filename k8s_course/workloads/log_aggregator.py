"""The log aggregator: the in-cluster stand-in for Splunk or Datadog.

Shippers POST batches to /ingest as {"pod": ..., "entries": [{"seq": n, "line": ...}, ...]};
the aggregator keeps one line per (pod, sequence), so a batch sent twice is stored once, and
counts what it dropped as duplicates. It answers GET /stats (counts per pod), GET
/lines?pod=<pod> (that pod's lines in sequence order) and GET /healthz.

Settings: HOST (default 0.0.0.0), PORT (default 8080; 0 picks a free port) and JOURNAL (a file
the accepted lines are appended to and reloaded from, so a restart keeps them; default none).
Runs as `python log_aggregator.py`; standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# ---------------------------------------------------------------- pure core


class LineStore:
    """Lines per pod, keyed by sequence number; the second copy of a line is dropped."""

    def __init__(self) -> None:
        self._lines: dict[str, dict[int, str]] = {}
        self._duplicates: dict[str, int] = {}
        self._batches: dict[str, int] = {}

    def accept(self, pod: str, entries: list[dict]) -> tuple[list[dict], int]:
        """Store a batch; returns the entries that were new, and how many were duplicates."""
        lines = self._lines.setdefault(pod, {})
        self._batches[pod] = self._batches.get(pod, 0) + 1
        new = []
        for entry in entries:
            sequence = int(entry["seq"])
            if sequence in lines:
                continue
            lines[sequence] = str(entry["line"])
            new.append({"seq": sequence, "line": lines[sequence]})
        duplicates = len(entries) - len(new)
        self._duplicates[pod] = self._duplicates.get(pod, 0) + duplicates
        return new, duplicates

    def restore(self, pod: str, sequence: int, line: str) -> None:
        """Put back a line from the journal (not counted as a batch)."""
        self._lines.setdefault(pod, {})[sequence] = line

    def lines(self, pod: str) -> list[str]:
        stored = self._lines.get(pod, {})
        return [stored[sequence] for sequence in sorted(stored)]

    def stats(self) -> dict:
        pods = {
            pod: {
                "lines": len(lines),
                "duplicates": self._duplicates.get(pod, 0),
                "batches": self._batches.get(pod, 0),
                # a gap means lines lost on the way (or still on their way)
                "missing": (max(lines) + 1 - len(lines)) if lines else 0,
            }
            for pod, lines in sorted(self._lines.items())
        }
        return {"pods": pods, "total_lines": sum(p["lines"] for p in pods.values())}


def check_batch(body: object) -> str | None:
    """Why a POSTed body is not a batch, or None if it is one."""
    if not isinstance(body, dict) or not isinstance(body.get("pod"), str) or not body["pod"]:
        return 'a batch is {"pod": "<name>", "entries": [{"seq": <int>, "line": "<text>"}, ...]}'
    entries = body.get("entries")
    if not isinstance(entries, list):
        return "entries must be a list"
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int) or "line" not in entry:
            return 'every entry needs an integer "seq" and a "line"'
    return None


def respond(store: LineStore, method: str, target: str, body: bytes = b"") -> tuple[int, dict, list[dict]]:
    """Answer one request: (status, JSON answer, entries newly stored, for the journal)."""
    url = urlsplit(target)
    if method == "GET" and url.path == "/healthz":
        return 200, {"status": "ok"}, []
    if method == "GET" and url.path == "/stats":
        return 200, store.stats(), []
    if method == "GET" and url.path == "/lines":
        pods = parse_qs(url.query).get("pod")
        if not pods:
            return 400, {"error": "say which pod: /lines?pod=<name>"}, []
        return 200, {"pod": pods[0], "lines": store.lines(pods[0])}, []
    if method == "POST" and url.path == "/ingest":
        try:
            batch = json.loads(body or b"null")
        except ValueError as error:
            return 400, {"error": f"the body is not JSON: {error}"}, []
        problem = check_batch(batch)
        if problem:
            return 400, {"error": problem}, []
        new, duplicates = store.accept(batch["pod"], batch["entries"])
        return 200, {"accepted": len(new), "duplicates": duplicates}, new
    return 404, {"error": f"no route {method} {url.path}; try /ingest, /stats, /lines?pod=, /healthz"}, []


# ---------------------------------------------------------------- I/O shell


def load_journal(store: LineStore, path: str) -> None:
    try:
        with open(path, encoding="utf-8") as journal:
            for row in journal:
                if row.strip():
                    entry = json.loads(row)
                    store.restore(entry["pod"], entry["seq"], entry["line"])
    except FileNotFoundError:
        pass


class AggregatorServer:
    """The HTTP server around a LineStore; `start()` serves on a thread, `stop()` ends it.

    A store passed in outlives the server, so a test can stop and restart the aggregator
    (an outage) without losing what it already holds.
    """

    def __init__(self, store: LineStore | None = None, host: str = "127.0.0.1", port: int = 0, journal: str | None = None):
        self.store = store if store is not None else LineStore()
        self.journal = journal
        if journal:
            load_journal(self.store, journal)
        self._lock = threading.Lock()  # one request at a time touches the store
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(b"")

            def do_POST(self) -> None:
                self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _answer(self, body: bytes) -> None:
                with server._lock:
                    status, answer, new = respond(server.store, self.command, self.path, body)
                    if new and server.journal:
                        pod = json.loads(body)["pod"]
                        with open(server.journal, "a", encoding="utf-8") as journal:
                            journal.writelines(json.dumps({"pod": pod, **entry}) + "\n" for entry in new)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass  # one line per batch would drown the pod's log

        return Handler

    def start(self) -> AggregatorServer:
        # a short poll interval, so that stop() returns at once rather than within half a second
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="log-aggregator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> AggregatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM (the kubelet stopping the pod) ends serve_forever as Ctrl-C does
    raise KeyboardInterrupt


def main(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    server = AggregatorServer(
        host=env.get("HOST", "0.0.0.0"), port=int(env.get("PORT", "8080")), journal=env.get("JOURNAL") or None
    )
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"log-aggregator: listening on {env.get('HOST', '0.0.0.0')}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
