"""What the toolkit does when the cluster stops answering in the middle of a lesson.

Three cases, told apart by asking the backend rather than guessing from the error:

- the same API server answers again within a minute (kind's API server restarting, a laptop
  waking up): wait for it with a progress bar, then the call is tried again;
- the simulator's process is gone: start a new one and say plainly that it is empty (the
  simulator keeps nothing on disk), so the notebook must be run again from the top;
- it was restarted elsewhere (a new address, a new token): reconnect to it, and say the same.

`recover()` returns when the call may be retried, and raises a `CourseError` otherwise.
"""

from __future__ import annotations

import threading
import time

from . import backends, progress
from .errors import CourseError

WAIT_SECONDS = 60.0  # how long a restarting API server is given before the learner is told
# one recovery at a time: a live view's thread and the notebook may find the cluster gone at
# once, and two of them must not start two simulators
_recovering = threading.Lock()


def connection_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean 'nobody answered' (not 'the server said no')."""
    import urllib3

    return (ConnectionError, OSError, urllib3.exceptions.HTTPError)


def recover(cluster, error: BaseException) -> None:
    """Return if the same cluster answers again (retry the call); else reconnect and raise."""
    with _recovering:
        _recover(cluster, error)


def _recover(cluster, error: BaseException) -> None:
    backend = cluster.backend
    if backend.name == "simulator":
        from .sim import daemon

        record = daemon.read_state(backends._state_dir())
        if record is not None and record["url"] == cluster.api_client.configuration.host:
            return  # it answers again (a hiccup, or another thread has reconnected already)
        replacement = backends.simulator()
        cluster.rebind(replacement)
        what = "had stopped (its process is gone)" if record is None else "was restarted at a new address"
        raise CourseError(
            f"The simulated cluster {what}; a new one is running at {replacement.description.split(' at ')[1].split(' ')[0]}. "
            f"It starts empty: the simulator keeps nothing on disk.",
            "run this notebook again from the top; its first cells recreate what the lesson needs") from None
    if _wait_until_it_answers(backend):
        return
    raise CourseError(f"{backend.description} does not answer ({_short(error)})",
                      "is Docker running? `kind get clusters` and `docker ps` show whether the cluster's "
                      "node containers are up; `k8s_course.connect()` reconnects once they are") from None


def _wait_until_it_answers(backend) -> bool:
    bar = progress.Bar(f"{backend.name} does not answer; waiting for it", WAIT_SECONDS)
    began = time.monotonic()
    try:
        while time.monotonic() - began < WAIT_SECONDS:
            if backends._answers(backend.kubeconfig, backend.context):
                bar.done("the cluster answers again")
                return True
            bar.update(time.monotonic() - began)
            time.sleep(1.0)  # client side: waiting for another process
        bar.fail("the cluster still does not answer")
        return False
    finally:
        bar.close()


def _short(error: BaseException) -> str:
    text = str(error)
    return text if len(text) < 160 else text[:157] + "..."
