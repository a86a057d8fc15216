"""Live views for notebooks: the building redrawn as the cluster changes, logs, events.

`BuildingView` is an ipywidgets Output. Two background threads watch pods and nodes with the
official client; any change marks the picture stale and a third thread redraws it at most
`max_rate` times a second, from the same `draw_building` the static pictures use. Without
Jupyter it still works: `refresh()` redraws now and `figure()` returns the last figure.
"""

from __future__ import annotations

import base64
import html
import io
import threading

import ipywidgets

from . import building

WATCH_SECONDS = 30  # a watch ends after this long and is started again: no connection is left forever


def _png_output(fig, text: str) -> dict:
    """A display_data output holding the figure, for an Output widget's `outputs`."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buffer.getvalue()).decode(), "text/plain": text}}


class Polling:
    """A live widget that calls its `refresh()` every `interval` seconds on a thread of its own
    (`start()`, `stop()`); a failed refresh is kept in `error` and the polling goes on."""

    interval: float = 1.0
    stop_grace: float = 10.0  # how long stop() waits for a refresh in flight
    error: str | None = None

    def _polling_setup(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self):
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._poll_forever, name=type(self).__name__, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + self.stop_grace)
            self._thread = None

    def _poll_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                self.refresh()
            except Exception as error:  # a thread must not die loudly; the notebook reads .error
                self.error = str(error)
            self._stopping.wait(self.interval)


class BuildingView(ipywidgets.Output):
    """The building, redrawn when pods or nodes change. `stop()` when done with it."""

    def __init__(self, cluster, namespace: str | None = None, selector: str | None = None,
                 watch: bool = True, max_rate: float = 4.0, **kwargs):
        super().__init__(**kwargs)
        self._cluster = cluster
        self._namespace = namespace or cluster.namespace
        self._selector = selector
        self._min_interval = 1.0 / max_rate
        self._figure = None
        self._stale = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # one redraw at a time
        self._watches: list = []
        self._threads: list[threading.Thread] = []
        self.redraws = 0
        self.error: str | None = None
        self.refresh()
        if watch:
            self._start()

    def figure(self):
        """The last figure drawn."""
        return self._figure

    def refresh(self):
        """Read the nodes and pods and redraw now; returns the figure."""
        with self._lock:
            nodes = self._cluster.nodes()
            pods = self._cluster.pods(self._selector, self._namespace)
            what = f" with {self._selector}" if self._selector else ""
            fig = building.draw_building(nodes, pods, title=None if not what else
                                         f"The building: pods{what} in {self._namespace}")
            self._figure = fig
            self.redraws += 1
            self.outputs = (_png_output(fig, f"<building: {len(nodes)} floors, {len(pods)} apartments>"),)
            return fig

    def stop(self) -> None:
        """End the watches and the redrawing thread."""
        self._stopping.set()
        self._stale.set()
        for watch in list(self._watches):
            watch.stop()
            response = getattr(watch, "_resp", None)  # unblock a watch waiting for its next event
            if response is not None:
                try:
                    response.close()
                except Exception:  # closing from another thread may race; the thread ends anyway
                    pass
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    # background work

    def _start(self) -> None:
        for what in ("pods", "nodes"):
            thread = threading.Thread(target=self._watch, args=(what,), name=f"building-watch-{what}", daemon=True)
            self._threads.append(thread)
        self._threads.append(threading.Thread(target=self._redraw_when_stale, name="building-redraw", daemon=True))
        for thread in self._threads:
            thread.start()

    def _listing(self, what: str):
        """The list call to watch, on the cluster's client of the moment (it changes on reconnect)."""
        from kubernetes import client

        core = client.CoreV1Api(self._cluster.api_client)
        if what == "nodes":
            return core.list_node, (), {}
        options = {"label_selector": self._selector} if self._selector else {}
        return core.list_namespaced_pod, (self._namespace,), options

    def _watch(self, what: str) -> None:
        """Watch, and after a break resume from the last resourceVersion seen (relist on 410 Gone)."""
        from kubernetes import watch
        from kubernetes.client import ApiException

        version = None
        while not self._stopping.is_set():
            function, args, options = self._listing(what)
            if version:
                options = {**options, "resource_version": version}
            stream = watch.Watch()
            self._watches.append(stream)
            try:
                for event in stream.stream(function, *args, timeout_seconds=WATCH_SECONDS,
                                           allow_watch_bookmarks=True, **options):
                    version = event["object"].metadata.resource_version or version
                    if event["type"] != "BOOKMARK":
                        self._stale.set()
                    if self._stopping.is_set():
                        break
                self.error = None
            except ApiException:  # 410 Gone, or a new cluster that never knew that version: start afresh
                version = None
                self._stale.set()
            except Exception as error:  # the cluster went away or the watch was closed under us
                if not self._stopping.is_set():
                    self.error = f"watch failed: {error}"
                    self._stale.set()
                    self._stopping.wait(1.0)  # then try again
            finally:
                self._watches.remove(stream)

    def _redraw_when_stale(self) -> None:
        while not self._stopping.is_set():
            self._stale.wait()
            if self._stopping.is_set():
                return
            self._stale.clear()
            try:
                self.refresh()
            except Exception as error:  # shown on the widget's `error`, never a dead thread's traceback
                self.error = str(error)
            self._stopping.wait(self._min_interval)  # at most max_rate redraws a second


class LogTail(ipywidgets.Output):
    """A pod's logs, followed into the widget as they are written (`stop()` to end)."""

    def __init__(self, cluster, pod: str, container: str | None = None, namespace: str | None = None,
                 max_lines: int = 200, follow: bool = True, **kwargs):
        super().__init__(**kwargs)
        self._cluster = cluster
        self.pod, self.container = pod, container
        self._namespace = namespace or cluster.namespace
        self.max_lines = max_lines
        self.lines: list[str] = []
        self._response = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if follow:
            self._thread = threading.Thread(target=self._follow, name=f"logs-{pod}", daemon=True)
            self._thread.start()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def feed(self, chunk: str) -> None:
        """Add text as it arrives; only the last `max_lines` lines are kept."""
        self.lines.extend(chunk.splitlines())
        del self.lines[: -self.max_lines]
        self.outputs = ({"output_type": "stream", "name": "stdout", "text": self.text + "\n"},)

    def stop(self) -> None:
        self._stopping.set()
        if self._response is not None:
            try:
                self._response.close()
            except Exception:  # racing the reading thread: it ends either way
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _follow(self) -> None:
        from kubernetes import client

        core = client.CoreV1Api(self._cluster.api_client)
        options = {"container": self.container} if self.container else {}
        try:
            self._response = core.read_namespaced_pod_log(self.pod, self._namespace, follow=True,
                                                          _preload_content=False, **options)
            for chunk in self._response.stream(1024):
                if self._stopping.is_set():
                    break
                self.feed(chunk.decode("utf-8", "replace"))
        except Exception as error:
            if not self._stopping.is_set():
                reason = getattr(error, "reason", None) or error
                self.feed(f"[cannot follow the logs of {self.pod}: {reason}]")


def events_html(events: list[dict], limit: int = 20) -> str:
    """The newest `limit` events as an HTML table, warnings in red."""
    rows = []
    for event in events[-limit:]:
        involved = event.get("involvedObject") or {}
        when = event.get("lastTimestamp") or event.get("eventTime") or ""
        warning = event.get("type") == "Warning"
        style = ' style="color:#c1121f"' if warning else ""
        cells = [when, event.get("type", ""), event.get("reason", ""),
                 f"{involved.get('kind', '')}/{involved.get('name', '')}", event.get("message", "")]
        rows.append(f"<tr{style}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    if not rows:
        return "<p><i>no events yet</i></p>"
    head = "".join(f"<th>{h}</th>" for h in ("last seen", "type", "reason", "object", "message"))
    return f'<table class="k8s-events"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def events_table(cluster, name: str | None = None, limit: int = 20):
    """Recent events in the lesson's namespace (about `name` only, if given), as an HTML table."""
    from IPython.display import HTML

    return HTML(events_html(cluster.events(name), limit))
