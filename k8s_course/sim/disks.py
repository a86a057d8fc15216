"""The cluster's persistent disks: what a PersistentVolume holds, outliving every pod.

On kind, a claim of the `standard` class is a directory on a node (local-path's hostPath): a
pod that mounts the claim sees the files the previous pod left there, until the volume is
deleted. Here a PersistentVolume's disk is one `images.files.Volume`, made the first time a
pod mounts a claim bound to it and handed to every later pod that mounts that claim (the
kubelet asks `claimed_volume`). The disk goes when its PersistentVolume is deleted (a store
listener); a new volume of the same name (another uid) gets a new, empty disk.
"""

from __future__ import annotations

from k8s_course.sim.images.files import Volume

CLAIMS = ("", "persistentvolumeclaims")
VOLUMES = ("", "persistentvolumes")


class Disks:
    """One per cluster, shared by its kubelets: PersistentVolume name -> (uid, its disk)."""

    def __init__(self, store=None):
        self._disks: dict[str, tuple[str, Volume]] = {}
        if store is not None:
            store.listen(self._changed)

    def disk(self, volume: dict) -> Volume:
        """The disk of the PersistentVolume object `volume` (made empty the first time)."""
        meta = volume["metadata"]
        name, uid = meta["name"], meta.get("uid", "")
        found = self._disks.get(name)
        if found is None or found[0] != uid:
            found = self._disks[name] = (uid, Volume())
        return found[1]

    def forget(self, name: str) -> None:
        self._disks.pop(name, None)

    def __contains__(self, name: str) -> bool:
        return name in self._disks

    def _changed(self, change) -> None:
        if change.type == "DELETED" and change.resource == VOLUMES:
            self.forget(change.object["metadata"]["name"])


def bound_volume(store, namespace: str, claim_name: str) -> dict | None:
    """The PersistentVolume the claim is bound to (spec.volumeName), or None while it is not."""
    claim = store.get(CLAIMS, namespace, claim_name)
    name = ((claim or {}).get("spec") or {}).get("volumeName")
    return store.get(VOLUMES, "", name) if name else None


async def claimed_volume(store, disks: Disks, namespace: str, claim_name: str) -> Volume:
    """The disk of the claim's PersistentVolume; waits (as the kubelet's volume manager does)
    until the claim is bound."""
    watcher = store.watch(CLAIMS, namespace, lambda claim: claim["metadata"]["name"] == claim_name,
                          store.revision)
    try:
        while True:
            volume = bound_volume(store, namespace, claim_name)
            if volume is not None:
                return disks.disk(volume)
            if await watcher.queue.get() is None:  # the store is shutting down
                watcher = store.watch(CLAIMS, namespace,
                                      lambda claim: claim["metadata"]["name"] == claim_name, store.revision)
    finally:
        store.stop_watch(watcher)
