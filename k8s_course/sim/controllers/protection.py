"""Storage-object-in-use protection: a claim in use by a pod, or a bound volume, is not removed.

PersistentVolumeClaims carry `kubernetes.io/pvc-protection` and PersistentVolumes
`kubernetes.io/pv-protection` from their creation. Deleting one only marks it; this controller
removes the finalizer once no pod uses the claim (or the volume is no longer bound), and the
object goes.
"""

from __future__ import annotations

import copy

from .base import Controller

PVC_FINALIZER = "kubernetes.io/pvc-protection"
PV_FINALIZER = "kubernetes.io/pv-protection"


def _claims_of(pod: dict) -> set[str]:
    return {v["persistentVolumeClaim"]["claimName"] for v in pod.get("spec", {}).get("volumes") or []
            if isinstance(v.get("persistentVolumeClaim"), dict)}


class ProtectionController(Controller):
    watches = (("", "v1", "persistentvolumeclaims"), ("", "v1", "persistentvolumes"), ("", "v1", "pods"))

    async def handle(self, resource, event, obj) -> None:
        plural = resource[2]
        if plural == "pods":
            if event == "DELETED" or obj.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                namespace = obj["metadata"].get("namespace", "")
                for claim in _claims_of(obj):
                    current = self.store.get(("", "persistentvolumeclaims"), namespace, claim)
                    if current is not None:
                        self._release_claim(current)
        elif plural == "persistentvolumeclaims" and event != "DELETED":
            self._release_claim(obj)
        elif plural == "persistentvolumes" and event != "DELETED":
            self._release_volume(obj)

    def _release_claim(self, claim: dict) -> None:
        meta = claim["metadata"]
        if not meta.get("deletionTimestamp") or PVC_FINALIZER not in (meta.get("finalizers") or ()):
            return
        namespace = meta.get("namespace", "")
        for pod in self.store.list(("", "pods"), namespace):
            if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            if meta["name"] in _claims_of(pod):
                return  # still in use
        self._drop_finalizer(("", "v1", "persistentvolumeclaims"), claim, PVC_FINALIZER)

    def _release_volume(self, volume: dict) -> None:
        meta = volume["metadata"]
        if not meta.get("deletionTimestamp") or PV_FINALIZER not in (meta.get("finalizers") or ()):
            return
        if volume.get("status", {}).get("phase") == "Bound":
            return
        self._drop_finalizer(("", "v1", "persistentvolumes"), volume, PV_FINALIZER)

    def _drop_finalizer(self, resource: tuple[str, str, str], obj: dict, finalizer: str) -> None:
        released = copy.deepcopy(obj)
        released["metadata"]["finalizers"] = [f for f in obj["metadata"]["finalizers"] if f != finalizer]
        self.objects.update(self.rtype(*resource), obj["metadata"].get("namespace"), obj["metadata"]["name"],
                            released)
