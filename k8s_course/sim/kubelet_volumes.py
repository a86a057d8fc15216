"""The kubelet's refresh of ConfigMap and Secret volumes after the object changes.

A real kubelet rewrites the files of a mounted ConfigMap or Secret (a new timestamped folder,
then the `..data` symlink swapped to it, so readers see the old set or the new one, never half)
at its next sync of the pod: within about a minute of the change. Environment variables are
never refreshed, and neither are subPath mounts (the volume's files here are refreshed; a
subPath mount of one file keeps resolving to it). One `VolumeRefresher` per kubelet watches
ConfigMaps and Secrets and, SYNC_DELAY simulated seconds after a change, re-projects the
volumes of its pods that use that object (`PodFilesystem.mount_files`, an atomic swap).
"""

from __future__ import annotations

import asyncio
import logging

from . import kubelet_config

log = logging.getLogger(__name__)

SYNC_DELAY = 10.0  # simulated seconds between a change and the files changing in the pods
SOURCES = {("", "configmaps"): "configMap", ("", "secrets"): "secret"}


def _names(volume: dict, kind: str) -> set[str]:
    """The ConfigMaps (kind "configMap") or Secrets ("secret") a volume projects."""
    if kind in volume:
        source = volume[kind]
        return {source.get("secretName" if kind == "secret" else "name", "")}
    return {source[kind].get("name", "") for source in (volume.get("projected") or {}).get("sources") or []
            if kind in source}


def uses(pod: dict, kind: str, name: str) -> list[dict]:
    """The volumes of `pod` that project the ConfigMap or Secret `name`."""
    return [volume for volume in (pod.get("spec") or {}).get("volumes") or [] if name in _names(volume, kind)]


class VolumeRefresher:
    """Re-projects changed ConfigMaps and Secrets into the running pods of one kubelet."""

    def __init__(self, kubelet):
        self.kubelet = kubelet
        self._scheduled: set[tuple] = set()  # (pod key, kind, name) waiting for their sync
        self.watchers: dict = {}  # resource -> the watch open now (tests end one to see it reopened)

    async def run(self) -> None:
        tasks = [asyncio.ensure_future(self._follow(resource)) for resource in SOURCES]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _follow(self, resource) -> None:
        """Watch one kind for good: a watch that ends (its queue overflowed) is opened again, and
        every volume of that kind is refreshed once, for what changed while nobody watched."""
        store, kind = self.kubelet.store, SOURCES[resource]
        reopened = False
        while True:
            watcher = store.watch(resource, None, lambda _obj: True, store.revision)
            self.watchers[resource] = watcher
            try:
                if reopened:
                    self._refresh_all(kind)
                while True:
                    item = await watcher.queue.get()
                    if item is None:
                        break
                    _, obj = item
                    meta = obj["metadata"]
                    try:
                        self.changed(kind, meta.get("namespace", "default"), meta["name"])
                    except Exception:
                        log.exception("kubelet %s: refreshing %s %s failed", self.kubelet.node_name, kind,
                                      meta["name"])
            finally:
                store.stop_watch(watcher)
            reopened = True

    def _refresh_all(self, kind: str) -> None:
        for key, worker in list(self.kubelet.workers.items()):
            for volume in (worker.pod.get("spec") or {}).get("volumes") or []:
                for name in _names(volume, kind):
                    self.changed(kind, key[0], name)

    def changed(self, kind: str, namespace: str, name: str) -> None:
        for key, worker in self.kubelet.workers.items():
            if key[0] != namespace or worker.files is None or not uses(worker.pod, kind, name):
                continue
            scheduled = (key, worker.uid, kind, name)
            if scheduled not in self._scheduled:
                self._scheduled.add(scheduled)
                asyncio.ensure_future(self._sync_later(scheduled, worker))

    async def _sync_later(self, scheduled: tuple, worker) -> None:
        try:
            await self.kubelet.clock.sleep(SYNC_DELAY)
        finally:
            self._scheduled.discard(scheduled)
        _, _, kind, name = scheduled
        if worker.finished or self.kubelet.workers.get(scheduled[0]) is not worker:
            return
        refresh(worker, kind, name)


def refresh(worker, kind: str, name: str) -> None:
    """Write the current files of the volumes of `worker`'s pod that project `name`."""
    for volume in uses(worker.pod, kind, name):
        existing = worker.files.volumes.get(volume["name"])
        # a projected token stays the one the pod was given
        token = ""
        if existing is not None:
            for source in (volume.get("projected") or {}).get("sources") or []:
                path = (source.get("serviceAccountToken") or {}).get("path")
                if path:
                    token = existing.files.get(path, "")
        try:
            files = kubelet_config.volume_files(worker.pod, volume, worker.kubelet.store, token)
        except kubelet_config.ConfigError:
            continue  # the object is gone: the kubelet keeps the files it last wrote
        if files is None or (existing is not None and existing.files == files):
            continue
        worker.files.mount_files(volume["name"], files, read_only=True)
