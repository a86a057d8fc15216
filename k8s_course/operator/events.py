"""Events about a PostgresCluster, as `kubectl describe pgc` and `kubectl get events` show them.

One Event per action (reason + message). Like client-go's recorder, the same reason and
message for the same object again within a while raise the Event's `count` instead of adding
a new one, so a wait that repeats every reconcile does not flood the namespace.
"""

from __future__ import annotations

import logging
import time

from . import resources

log = logging.getLogger(__name__)

COMPONENT = resources.OPERATOR_NAME
REPEAT_WINDOW = 600.0  # seconds: a repeat later than this starts a new Event


def timestamp(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


def event_body(cr: dict, reason: str, message: str, warning: bool, instance: str, now: float) -> dict:
    meta = cr["metadata"]
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": meta["namespace"],
                     "labels": {resources.PART_OF: "k8s-course"}},
        "involvedObject": {"apiVersion": resources.API_VERSION, "kind": resources.KIND, "name": meta["name"],
                           "namespace": meta["namespace"], "uid": meta.get("uid", "")},
        "reason": reason, "message": message, "type": "Warning" if warning else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT, "reportingInstance": instance,
        "firstTimestamp": timestamp(now), "lastTimestamp": timestamp(now), "count": 1,
    }


class Recorder:
    def __init__(self, core_api, instance: str):
        self.core = core_api
        self.instance = instance
        self._recent: dict[tuple, tuple[str, int, float]] = {}  # (uid, reason, message) -> (name, count, when)

    def record(self, cr: dict, reason: str, message: str, warning: bool = False) -> None:
        """Post the Event; a failure to post is logged, never raised (events are best effort)."""
        from kubernetes.client import ApiException

        now = time.time()
        key = (cr["metadata"].get("uid"), reason, message)
        namespace = cr["metadata"]["namespace"]
        try:
            seen = self._recent.get(key)
            if seen is not None and now - seen[2] < REPEAT_WINDOW:
                name, count, _ = seen
                try:
                    self.core.patch_namespaced_event(name, namespace, {"count": count + 1,
                                                                       "lastTimestamp": timestamp(now)},
                                                     _content_type="application/merge-patch+json",
                                                     _preload_content=False)
                    self._recent[key] = (name, count + 1, now)
                    return
                except ApiException as error:
                    if error.status != 404:
                        raise
            body = event_body(cr, reason, message, warning, self.instance, now)
            self.core.create_namespaced_event(namespace, body, _preload_content=False)
            self._recent[key] = (body["metadata"]["name"], 1, now)
            if len(self._recent) > 1000:  # forget the oldest: a long-running operator stays small
                for old in sorted(self._recent, key=lambda k: self._recent[k][2])[:500]:
                    del self._recent[old]
        except Exception as error:  # an Event is a courtesy; the reconcile goes on without it
            log.warning("could not record event %s on %s: %s", reason, cr["metadata"]["name"], error)
