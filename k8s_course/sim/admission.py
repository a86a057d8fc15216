"""Kind-specific rules on the write path: what a real API server's admission plugins and
registry strategies do for particular kinds.

Services get cluster IPs and node ports, CustomResourceDefinitions are checked and served,
pods get their grace period, namespaces and CRDs are held until their contents are gone.
"""

from __future__ import annotations

import ipaddress
import random
from typing import TYPE_CHECKING

from . import errors
from .resources import STATUS_VERBS, ResourceType, Subresource
from .schema import crds

if TYPE_CHECKING:
    from .objects import Objects

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORT_RANGE = (30000, 32767)
CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
_CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


class Admission:
    def __init__(self, objects: Objects):
        self.objects = objects
        self._schemas: dict[tuple[str, str, str], dict | None] = {}

    # deletion policy

    def default_propagation(self, rtype: ResourceType) -> str:
        return "Background"

    def grace_period(self, rtype: ResourceType, obj: dict, requested: int | None) -> int | None:
        """Seconds a pod gets to stop; other kinds go at once."""
        if rtype.kind_key != "v1/Pod":
            return None
        if requested is not None and requested < 0:
            requested = 0
        spec, status = obj.get("spec", {}), obj.get("status", {})
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0  # nothing runs it, so nothing needs to stop gracefully
        if requested is not None:
            return requested
        current = obj["metadata"].get("deletionGracePeriodSeconds")
        if current is not None:
            return current
        return spec.get("terminationGracePeriodSeconds", 30)

    def deletion_finalizers(self, rtype: ResourceType, obj: dict) -> list[str]:
        return []

    def blocks_removal(self, rtype: ResourceType, obj: dict) -> bool:
        """Namespaces wait for their spec.finalizers as well as their metadata.finalizers."""
        if rtype.kind_key == "v1/Namespace":
            return bool((obj.get("spec") or {}).get("finalizers"))
        return False

    def before_graceful_delete(self, rtype: ResourceType, obj: dict) -> None:
        if rtype.kind_key == "v1/Namespace":
            obj.setdefault("status", {})["phase"] = "Terminating"
        elif rtype.kind == "CustomResourceDefinition":
            conditions = obj.setdefault("status", {}).setdefault("conditions", [])
            conditions[:] = [c for c in conditions if c.get("type") != "Terminating"]
            conditions.append({
                "type": "Terminating", "status": "True", "reason": "InstanceDeletionInProgress",
                "message": "CustomResource deletion is in progress",
                "lastTransitionTime": self.objects.clock.timestamp()})

    # writes

    def before_create(self, rtype: ResourceType, obj: dict, dry_run: bool) -> None:
        if rtype.kind_key == "v1/Service":
            self._allocate_service_addresses(obj, None)
        elif rtype.kind_key == "apiextensions.k8s.io/v1/CustomResourceDefinition":
            self._check_crd(obj, None)
            finalizers = obj["metadata"].setdefault("finalizers", [])
            if CRD_FINALIZER not in finalizers:
                finalizers.append(CRD_FINALIZER)

    def before_update(self, rtype: ResourceType, old: dict, new: dict) -> None:
        if rtype.kind_key == "v1/Service":
            self._allocate_service_addresses(new, old)
        elif rtype.kind_key == "apiextensions.k8s.io/v1/CustomResourceDefinition":
            self._check_crd(new, old)

    def after_write(self, rtype: ResourceType, old: dict | None, new: dict) -> None:
        if rtype.kind_key == "apiextensions.k8s.io/v1/CustomResourceDefinition":
            self._serve_crd(new)

    def after_remove(self, rtype: ResourceType, gone: dict) -> None:
        if rtype.kind_key == "apiextensions.k8s.io/v1/CustomResourceDefinition":
            self._unserve_crd(gone)

    # services

    def _allocate_service_addresses(self, obj: dict, old: dict | None) -> None:
        spec = obj.setdefault("spec", {})
        old_spec = (old or {}).get("spec", {})
        if spec.get("type") == "ExternalName":
            return
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
            spec["clusterIPs"] = old_spec.get("clusterIPs", [old_spec["clusterIP"]])
        if not spec.get("clusterIP"):
            spec["clusterIP"] = self._free_cluster_ip()
        if not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            used = self._used_node_ports()
            old_ports = {(p.get("port"), p.get("protocol")): p.get("nodePort")
                         for p in old_spec.get("ports", [])}
            for port in spec.get("ports", []):
                if not port.get("nodePort"):
                    port["nodePort"] = old_ports.get((port.get("port"), port.get("protocol"))) or \
                        self._free_node_port(used)
                used.add(port["nodePort"])

    def _services(self) -> list[dict]:
        return self.objects.store.list(("", "services"))

    def _free_cluster_ip(self) -> str:
        used = {s.get("spec", {}).get("clusterIP") for s in self._services()}
        size = SERVICE_CIDR.num_addresses
        while True:
            candidate = str(SERVICE_CIDR[random.randrange(11, size - 1)])
            if candidate not in used:
                return candidate

    def _used_node_ports(self) -> set[int]:
        return {p.get("nodePort") for s in self._services() for p in s.get("spec", {}).get("ports", [])
                if p.get("nodePort")}

    @staticmethod
    def _free_node_port(used: set[int]) -> int:
        low, high = NODE_PORT_RANGE
        if len(used) > high - low:
            raise errors.APIError(422, "Invalid", "range is full: no free node port")
        while True:
            candidate = random.randint(low, high)
            if candidate not in used:
                return candidate

    # custom resource definitions

    def _check_crd(self, crd: dict, old: dict | None) -> None:
        crd.update(crds.default_crd(crd))
        found = crds.validate_crd(crd, old)
        if found:
            raise errors.invalid_object("CustomResourceDefinition", "apiextensions.k8s.io",
                                        crd["metadata"].get("name", ""), found)
        names = crd["spec"]["names"]
        for other in self.objects.store.list(_CRD_KEY):
            if other["metadata"]["name"] == crd["metadata"]["name"]:
                continue
            other_names = other["spec"]["names"]
            if other["spec"]["group"] == crd["spec"]["group"] and (
                    other_names["plural"] == names["plural"] or other_names["kind"] == names["kind"]):
                raise errors.invalid_object("CustomResourceDefinition", "apiextensions.k8s.io",
                                            crd["metadata"]["name"], [errors.invalid(
                                                "spec.names", names, "the names are already in use")])
        status = crds.crd_status(crd, self.objects.clock.timestamp())
        if old is not None and old.get("status"):
            kept = {c["type"]: c for c in old["status"].get("conditions", [])}
            for condition in status.get("conditions", []):
                before = kept.get(condition["type"])
                if before and before.get("status") == condition.get("status"):
                    condition["lastTransitionTime"] = before.get("lastTransitionTime",
                                                                 condition.get("lastTransitionTime"))
            stored = list(old["status"].get("storedVersions", []))
            for version in status.get("storedVersions", []):
                if version not in stored:
                    stored.append(version)
            status["storedVersions"] = stored
            for condition in old["status"].get("conditions", []):
                if condition["type"] == "Terminating":
                    status.setdefault("conditions", []).append(condition)
        crd["status"] = status

    def resource_types_of(self, crd: dict) -> list[ResourceType]:
        spec = crd["spec"]
        names = spec["names"]
        found = []
        for version in spec.get("versions", []):
            if not version.get("served", True):
                continue
            subresources = {}
            declared = crds.subresources(crd, version["name"]) or {}
            if "status" in declared:
                subresources["status"] = Subresource(names["kind"], STATUS_VERBS)
            if "scale" in declared:
                subresources["scale"] = Subresource("Scale", STATUS_VERBS, "autoscaling", "v1")
            found.append(ResourceType(
                spec["group"], version["name"], names["plural"], names["kind"],
                spec.get("scope", "Namespaced") == "Namespaced",
                tuple(names.get("shortNames", ())), subresources=subresources,
                categories=tuple(names.get("categories", ())),
                singular=names.get("singular", names["kind"].lower()), custom=True))
        return found

    def _serve_crd(self, crd: dict) -> None:
        registry = self.objects.registry
        spec = crd["spec"]
        for known in registry.all():
            if known.custom and known.group == spec["group"] and known.plural == spec["names"]["plural"]:
                registry.remove(known.group, known.version, known.plural)
        self._schemas = {k: v for k, v in self._schemas.items()
                         if not (k[0] == spec["group"] and k[2] == spec["names"]["plural"])}
        if crd["metadata"].get("deletionTimestamp") and not crd["metadata"].get("finalizers"):
            return
        for rtype in self.resource_types_of(crd):
            registry.add(rtype)

    def _unserve_crd(self, crd: dict) -> None:
        spec = crd["spec"]
        for known in self.objects.registry.all():
            if known.custom and known.group == spec["group"] and known.plural == spec["names"]["plural"]:
                self.objects.registry.remove(known.group, known.version, known.plural)
        self.objects.store.drop_resource((spec["group"], spec["names"]["plural"]))

    def custom_schema(self, rtype: ResourceType) -> dict | None:
        key = (rtype.group, rtype.version, rtype.plural)
        if key not in self._schemas:
            self._schemas[key] = None
            for crd in self.objects.store.list(_CRD_KEY):
                if crd["spec"]["group"] == rtype.group and crd["spec"]["names"]["plural"] == rtype.plural:
                    self._schemas[key] = crds.version_schema(crd, rtype.version)
        return self._schemas[key]

    def crd_of(self, rtype: ResourceType) -> dict | None:
        return self.objects.store.get(_CRD_KEY, "", f"{rtype.plural}.{rtype.group}")
