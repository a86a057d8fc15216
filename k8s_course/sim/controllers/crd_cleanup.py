"""A deleted CustomResourceDefinition takes its custom resources with it.

The CRD keeps the `customresourcecleanup.apiextensions.k8s.io` finalizer from its creation.
Once it is marked for deletion, its resources are deleted (their own finalizers still hold
them, so an operator can clean up); when none is left the finalizer goes, and with it the CRD
and the API it served.
"""

from __future__ import annotations

import asyncio
import copy

from .. import errors
from ..admission import CRD_FINALIZER
from ..objects import DeleteOptions
from .base import Controller

RETRY_SECONDS = 1.0


class CRDCleanupController(Controller):
    watches = (("apiextensions.k8s.io", "v1", "customresourcedefinitions"),)

    def __init__(self, objects):
        super().__init__(objects)
        self._cleaning: dict[str, asyncio.Task] = {}

    async def handle(self, resource, event, obj) -> None:
        meta = obj["metadata"]
        if event == "DELETED" or not meta.get("deletionTimestamp"):
            return
        if CRD_FINALIZER not in (meta.get("finalizers") or ()):
            return
        name = meta["name"]
        if name not in self._cleaning or self._cleaning[name].done():
            self._cleaning[name] = asyncio.ensure_future(self._clean(name))

    async def _clean(self, name: str) -> None:
        crds = self.rtype("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        while True:
            crd = self.objects.find(crds, "", name)
            if crd is None or not crd["metadata"].get("deletionTimestamp"):
                return
            served = self.objects.admission.resource_types_of(crd)
            remaining = 0
            if served:
                rtype = served[0]
                for item in self.objects.list(rtype, None):
                    remaining += 1
                    if item["metadata"].get("deletionTimestamp"):
                        continue
                    try:
                        self.objects.delete(rtype, item["metadata"].get("namespace"), item["metadata"]["name"],
                                            DeleteOptions(propagation_policy="Background"))
                    except errors.APIError as error:
                        if error.code != 404:
                            raise
                remaining = self.store.count((rtype.group, rtype.plural))
            if remaining == 0:
                released = copy.deepcopy(crd)
                released["metadata"]["finalizers"] = [f for f in crd["metadata"]["finalizers"] if f != CRD_FINALIZER]
                self.objects.update(crds, None, name, released)
                return
            await self.clock.sleep(RETRY_SECONDS)
