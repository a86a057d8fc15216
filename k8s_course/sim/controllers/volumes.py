"""Persistent volumes: kind's `standard` class, its local-path provisioner and claim binding.

Plays the persistentvolume controller and rancher's local-path provisioner together. A claim
of a WaitForFirstConsumer class waits ("waiting for first consumer to be created before
binding") until the scheduler has placed a pod that uses it and marked the claim with
`volume.kubernetes.io/selected-node`; then a hostPath volume `pvc-<claim uid>` is made on that
node and bound both ways. A claim without a class binds to the smallest Available volume that
fits. When a claim goes, its volume is Released, and deleted if its reclaim policy is Delete.
The `standard` StorageClass is served from the start, as kind installs it.
"""

from __future__ import annotations

import copy
import uuid

from .. import errors, quantities
from ..events import Recorder
from ..objects import DeleteOptions
from ..scheduler import SELECTED_NODE_ANNOTATION
from .base import Controller

PROVISIONER = "rancher.io/local-path"
CONTROLLER = "persistentvolume-controller"
DEFAULT_CLASS = {
    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
    "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
}
HOST_PATH_ROOT = "/var/local-path-provisioner"
WAITING_MESSAGE = "waiting for first consumer to be created before binding"
NO_VOLUME_MESSAGE = "no persistent volumes available for this claim and no storage class is set"
_CLAIMS, _VOLUMES, _CLASSES = ("", "persistentvolumeclaims"), ("", "persistentvolumes"), (
    "storage.k8s.io", "storageclasses")


def _storage(resources: dict | None) -> int:
    try:
        return int(quantities.parse_quantity(((resources or {}).get("requests") or {}).get("storage", "0")))
    except quantities.QuantityError:
        return 0


def volume_fits(volume: dict, claim: dict) -> bool:
    """An Available volume of the claim's class, big enough, offering every access mode asked."""
    spec, wants = volume.get("spec") or {}, claim.get("spec") or {}
    if (volume.get("status") or {}).get("phase", "Available") != "Available" or volume["metadata"].get(
            "deletionTimestamp"):
        return False
    reference = spec.get("claimRef")
    if reference and reference.get("uid") not in (None, claim["metadata"]["uid"]):
        return False
    if (spec.get("storageClassName") or "") != (wants.get("storageClassName") or ""):
        return False
    if not set(wants.get("accessModes") or []) <= set(spec.get("accessModes") or []):
        return False
    size = _storage({"requests": spec.get("capacity") or {}})
    return size >= _storage(wants.get("resources"))


class VolumeBinder(Controller):
    watches = (("", "v1", "persistentvolumeclaims"), ("", "v1", "persistentvolumes"), ("", "v1", "pods"))

    def __init__(self, objects):
        super().__init__(objects)
        self.controller_events = Recorder(objects, CONTROLLER)
        # the provisioner's identity: <provisioner>_<its pod>_<a uuid>, as local-path reports it
        self.provisioner_events = Recorder(
            objects, f"{PROVISIONER}_local-path-provisioner-7dc846544d-x9ml2_{uuid.uuid4()}")
        self._claims = self.rtype("", "v1", "persistentvolumeclaims")
        self._volumes = self.rtype("", "v1", "persistentvolumes")

    async def run(self) -> None:
        classes = self.rtype("storage.k8s.io", "v1", "storageclasses")
        if self.objects.find(classes, "", DEFAULT_CLASS["metadata"]["name"]) is None:
            try:
                self.objects.create(classes, None, copy.deepcopy(DEFAULT_CLASS))
            except errors.APIError as error:
                if error.code != 409:
                    raise
        await super().run()

    async def handle(self, resource, event, obj) -> None:
        plural = resource[2]
        if plural == "persistentvolumeclaims":
            if event == "DELETED":
                self._release(obj)
            else:
                self._sync_claim(obj, announce=event == "ADDED")
        elif plural == "pods":
            if event != "DELETED" and (obj.get("spec") or {}).get("nodeName"):
                self._select_node_for_claims(obj)
        elif event != "DELETED" and (obj.get("status") or {}).get("phase", "Pending") == "Pending" and \
                not (obj.get("spec") or {}).get("claimRef"):
            available = copy.deepcopy(obj)
            available["status"] = {"phase": "Available", "lastPhaseTransitionTime": self.clock.timestamp()}
            self.objects.update(self._volumes, None, obj["metadata"]["name"], available, subresource="status")
        elif event != "DELETED" and (obj.get("status") or {}).get("phase") == "Available":
            # a new volume may be what a class-less claim waits for
            for claim in self.store.list(_CLAIMS):
                if not (claim.get("spec") or {}).get("volumeName") and \
                        (claim["spec"].get("storageClassName") or "") == (obj["spec"].get("storageClassName") or ""):
                    self._sync_claim(claim, announce=False)

    # claims

    def _sync_claim(self, claim: dict, announce: bool) -> None:
        meta, spec = claim["metadata"], claim.get("spec") or {}
        if meta.get("deletionTimestamp") or (claim.get("status") or {}).get("phase") == "Bound":
            return
        if spec.get("volumeName"):
            volume = self.store.get(_VOLUMES, "", spec["volumeName"])
            if volume is not None:
                self._bind(claim, volume)
            return
        class_name = spec.get("storageClassName") or ""
        storage_class = self.store.get(_CLASSES, "", class_name) if class_name else None
        static = [v for v in self.store.list(_VOLUMES) if volume_fits(v, claim)]
        if static and (storage_class is None or storage_class.get("volumeBindingMode") != "WaitForFirstConsumer"):
            self._bind(claim, min(static, key=lambda v: _storage({"requests": v["spec"].get("capacity")})))
            return
        if storage_class is None:
            if announce:
                self.controller_events.event(claim, "FailedBinding", NO_VOLUME_MESSAGE if not class_name else
                                             f'storageclass.storage.k8s.io "{class_name}" not found', "Warning"
                                             if class_name else "Normal")
            return
        if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer":
            node = (meta.get("annotations") or {}).get(SELECTED_NODE_ANNOTATION)
            if not node:
                if announce:
                    self.controller_events.event(claim, "WaitForFirstConsumer", WAITING_MESSAGE)
                return
            if storage_class.get("provisioner") == PROVISIONER:
                self._provision(claim, storage_class, node)

    def _select_node_for_claims(self, pod: dict) -> None:
        """A pod placed with an unmarked waiting claim: mark it (the scheduler normally has)."""
        namespace = pod["metadata"].get("namespace", "")
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            source = volume.get("persistentVolumeClaim")
            if not isinstance(source, dict):
                continue
            claim = self.store.get(_CLAIMS, namespace, source.get("claimName", ""))
            if claim is None or (claim.get("spec") or {}).get("volumeName") or \
                    (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE_ANNOTATION):
                continue
            storage_class = self.store.get(_CLASSES, "", claim["spec"].get("storageClassName") or "")
            if storage_class is None or storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
                continue
            marked = copy.deepcopy(claim)
            marked["metadata"].setdefault("annotations", {})[SELECTED_NODE_ANNOTATION] = pod["spec"]["nodeName"]
            self.objects.update(self._claims, namespace, claim["metadata"]["name"], marked)

    def _provision(self, claim: dict, storage_class: dict, node: str) -> None:
        meta = claim["metadata"]
        namespace, name, uid = meta.get("namespace", ""), meta["name"], meta["uid"]
        volume_name = f"pvc-{uid}"
        existing = self.store.get(_VOLUMES, "", volume_name)
        if existing is None:
            self.controller_events.event(claim, "ExternalProvisioning", (
                f"Waiting for a volume to be created either by the external provisioner '{PROVISIONER}' or "
                "manually by the system administrator. If volume creation is delayed, please verify that the "
                "provisioner is running and correctly registered."))
            self.provisioner_events.event(claim, "Provisioning",
                                          f'External provisioner is provisioning volume for claim "{namespace}/{name}"')
            existing = self.objects.create(self._volumes, None, {
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": volume_name, "annotations": {
                    "local.path.provisioner/selected-node": node, "pv.kubernetes.io/provisioned-by": PROVISIONER}},
                "spec": {
                    "accessModes": list(claim["spec"].get("accessModes") or ["ReadWriteOnce"]),
                    "capacity": {"storage": ((claim["spec"].get("resources") or {}).get("requests") or {}).get(
                        "storage", "0")},
                    "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name,
                                 "namespace": namespace, "resourceVersion": meta.get("resourceVersion"), "uid": uid},
                    "hostPath": {"path": f"{HOST_PATH_ROOT}/{volume_name}_{namespace}_{name}",
                                 "type": "DirectoryOrCreate"},
                    "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                        {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}},
                    "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
                    "storageClassName": storage_class["metadata"]["name"],
                    "volumeMode": claim["spec"].get("volumeMode", "Filesystem"),
                },
            }).object
            self.provisioner_events.event(claim, "ProvisioningSucceeded", f"Successfully provisioned volume {volume_name}")
        self._bind(claim, existing, provisioner=storage_class.get("provisioner"))

    def _bind(self, claim: dict, volume: dict, provisioner: str | None = None) -> None:
        meta = claim["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        if (volume.get("status") or {}).get("phase") != "Bound" or not (volume["spec"].get("claimRef") or {}).get("uid"):
            bound_volume = copy.deepcopy(volume)
            bound_volume["spec"]["claimRef"] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name,
                                                "namespace": namespace, "resourceVersion": meta.get("resourceVersion"),
                                                "uid": meta["uid"]}
            if not volume["spec"].get("claimRef"):
                bound_volume["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bound-by-controller"] = "yes"
            volume = self.objects.update(self._volumes, None, volume["metadata"]["name"], bound_volume).object
            volume = copy.deepcopy(volume)
            volume["status"] = {"phase": "Bound", "lastPhaseTransitionTime": self.clock.timestamp()}
            volume = self.objects.update(self._volumes, None, volume["metadata"]["name"], volume,
                                         subresource="status").object
        fresh = self.store.get(_CLAIMS, namespace, name)
        if fresh is None:
            return
        bound_claim = copy.deepcopy(fresh)
        annotations = bound_claim["metadata"].setdefault("annotations", {})
        annotations["pv.kubernetes.io/bind-completed"] = "yes"
        if not fresh["spec"].get("volumeName"):
            annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
        if provisioner:
            annotations["volume.beta.kubernetes.io/storage-provisioner"] = provisioner
            annotations["volume.kubernetes.io/storage-provisioner"] = provisioner
        bound_claim["spec"]["volumeName"] = volume["metadata"]["name"]
        bound_claim = self.objects.update(self._claims, namespace, name, bound_claim).object
        bound_claim = copy.deepcopy(bound_claim)
        bound_claim["status"] = {"phase": "Bound", "accessModes": list(volume["spec"].get("accessModes") or []),
                                 "capacity": dict(volume["spec"].get("capacity") or {})}
        self.objects.update(self._claims, namespace, name, bound_claim, subresource="status")

    # a claim gone

    def _release(self, claim: dict) -> None:
        volume_name = (claim.get("spec") or {}).get("volumeName")
        volume = self.store.get(_VOLUMES, "", volume_name) if volume_name else None
        if volume is None or (volume["spec"].get("claimRef") or {}).get("uid") != claim["metadata"]["uid"]:
            return
        released = copy.deepcopy(volume)
        released["status"] = {"phase": "Released", "lastPhaseTransitionTime": self.clock.timestamp()}
        self.objects.update(self._volumes, None, volume_name, released, subresource="status")
        if volume["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
            try:
                self.objects.delete(self._volumes, None, volume_name, DeleteOptions())
            except errors.APIError as error:
                if error.code != 404:
                    raise
