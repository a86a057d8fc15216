"""Namespaces: what a new one is given, and how a deleted one is emptied.

A new namespace gets its `default` ServiceAccount (the serviceaccount controller) and the
`kube-root-ca.crt` ConfigMap (the root-ca-cert publisher). A namespace being deleted has its
contents deleted first; once nothing is left, its `kubernetes` finalizer is removed and it goes.
"""

from __future__ import annotations

import asyncio
import copy

from .. import errors
from ..objects import DeleteOptions
from .base import Controller

ROOT_CA = "kube-root-ca.crt"
RETRY_SECONDS = 1.0


class NamespaceController(Controller):
    watches = (("", "v1", "namespaces"), ("", "v1", "serviceaccounts"), ("", "v1", "configmaps"))

    def __init__(self, objects, ca_pem: str):
        super().__init__(objects)
        self.ca_pem = ca_pem
        self._emptying: dict[str, asyncio.Task] = {}

    async def handle(self, resource, event, obj) -> None:
        plural = resource[2]
        if plural == "namespaces":
            name = obj["metadata"]["name"]
            if obj["metadata"].get("deletionTimestamp") and event != "DELETED":
                if name not in self._emptying or self._emptying[name].done():
                    self._emptying[name] = asyncio.ensure_future(self._empty(name))
            elif event != "DELETED":
                self._furnish(obj["metadata"]["name"])
        elif event == "DELETED":
            # someone deleted the default account or the CA bundle: put it back
            namespace = obj["metadata"].get("namespace", "")
            name = obj["metadata"]["name"]
            if (plural, name) in (("serviceaccounts", "default"), ("configmaps", ROOT_CA)):
                ns = self.store.get(("", "namespaces"), "", namespace)
                if ns is not None and not ns["metadata"].get("deletionTimestamp"):
                    self._furnish(namespace)

    def _furnish(self, namespace: str) -> None:
        accounts = self.rtype("", "v1", "serviceaccounts")
        if self.objects.find(accounts, namespace, "default") is None:
            self._create_quietly(accounts, namespace, {
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": namespace}})
        config_maps = self.rtype("", "v1", "configmaps")
        if self.objects.find(config_maps, namespace, ROOT_CA) is None:
            self._create_quietly(config_maps, namespace, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": ROOT_CA, "namespace": namespace,
                             "annotations": {"kubernetes.io/description": (
                                 "The CA bundle that verifies the API server at its in-cluster "
                                 "addresses, such as kubernetes.default.svc.")}},
                "data": {"ca.crt": self.ca_pem}})

    def _create_quietly(self, rtype, namespace: str, body: dict) -> None:
        try:
            self.objects.create(rtype, namespace, body)
        except errors.APIError as error:
            if error.code not in (403, 404, 409):  # terminating, gone, or already there
                raise

    async def _empty(self, namespace: str) -> None:
        """Delete everything in the namespace, then release it; retried until done."""
        while True:
            ns = self.store.get(("", "namespaces"), "", namespace)
            if ns is None or not ns["metadata"].get("deletionTimestamp"):
                return
            remaining = 0
            for rtype in self.objects.registry.all():
                if not rtype.namespaced or not rtype.stored or "delete" not in rtype.verbs:
                    continue
                for item in self.objects.list(rtype, namespace):
                    remaining += 1
                    if item["metadata"].get("deletionTimestamp"):
                        continue
                    try:
                        self.objects.delete(rtype, namespace, item["metadata"]["name"],
                                            DeleteOptions(propagation_policy="Background"))
                    except errors.APIError as error:
                        if error.code != 404:
                            raise
            if remaining == 0:
                self._release(ns)
                return
            await self.clock.sleep(RETRY_SECONDS)
            # the next pass sees what is left: pods still stopping, finalizers still held

    def _release(self, ns: dict) -> None:
        released = copy.deepcopy(ns)
        conditions = released.setdefault("status", {}).setdefault("conditions", [])
        conditions[:] = [c for c in conditions if c.get("type") != "NamespaceContentRemaining"]
        released["spec"]["finalizers"] = [f for f in released.get("spec", {}).get("finalizers", [])
                                          if f != "kubernetes"]
        if not released["spec"]["finalizers"]:
            released["spec"].pop("finalizers")
        self.objects.update(self.rtype("", "v1", "namespaces"), None, ns["metadata"]["name"], released,
                            subresource="finalize")
