"""Recording Events the way Kubernetes components do.

A kubelet, the scheduler or a controller reports what it did as a core/v1 Event about an
object (`Scheduled`, `Pulled`, `BackOff`, `ScalingReplicaSet`, ...). Repeats of the same
event within the series are folded into one object whose `count` and `lastTimestamp` grow, as
the client-go event recorder does, so `kubectl describe` shows "x5 over 2m".
"""

from __future__ import annotations

import hashlib

from . import errors
from .objects import Objects


class Recorder:
    """Events from one component (`kubelet` on a host, `default-scheduler`, a controller)."""

    def __init__(self, objects: Objects, component: str, host: str | None = None):
        self.objects = objects
        self.component = component
        self.host = host
        self._rtype = objects.registry.lookup("", "v1", "events")

    def event(self, involved: dict, reason: str, message: str, type_: str = "Normal",
              field_path: str | None = None) -> None:
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        reference = {
            "kind": involved.get("kind"),
            "namespace": meta.get("namespace"),
            "name": meta["name"],
            "uid": meta.get("uid"),
            "apiVersion": involved.get("apiVersion"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        if field_path:
            reference["fieldPath"] = field_path
        reference = {k: v for k, v in reference.items() if v is not None}
        # one Event object per (object, reason, message, source): repeats bump its count
        key = "|".join([meta.get("uid", meta["name"]), reason, message, self.component, self.host or "",
                        field_path or ""])
        name = f"{meta['name']}.{hashlib.sha1(key.encode()).hexdigest()[:16]}"
        now = self.objects.clock.timestamp()
        existing = self.objects.find(self._rtype, namespace, name)
        try:
            if existing is None:
                source = {"component": self.component}
                if self.host:
                    source["host"] = self.host
                self.objects.create(self._rtype, namespace, {
                    "apiVersion": "v1", "kind": "Event",
                    "metadata": {"name": name, "namespace": namespace},
                    "involvedObject": reference, "reason": reason, "message": message, "type": type_,
                    "source": source, "count": 1, "firstTimestamp": now, "lastTimestamp": now,
                    "reportingComponent": self.component, "reportingInstance": self.host or "",
                })
            else:
                updated = dict(existing, count=existing.get("count", 1) + 1, lastTimestamp=now)
                updated["metadata"] = dict(existing["metadata"])
                self.objects.update(self._rtype, namespace, name, updated)
        except errors.APIError as error:
            if error.code not in (403, 404, 409):  # namespace going away, or a lost race
                raise
