"""Validation of core kinds other than Pods: Service, PersistentVolumeClaim, ConfigMap, Secret.

Create rules and the immutable parts on update, with core/v1 validation's wording.
"""

from __future__ import annotations

import json

from .. import quantities
from ..errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from . import validation_meta as meta
from . import validation_pods as pods

NODE_PORT_RANGE = (30000, 32767)
_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
PVC_UPDATE_FORBIDDEN = (
    "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
)
CONFIG_KEY_MSG = meta.regex_error(
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
    "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name",
)


def _is_headless(spec: dict) -> bool:
    return spec.get("clusterIP") == "None"


def _validate_service_port(port: dict, path: str, name_required: bool, names: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    name = port.get("name", "")
    if name_required and not name:
        errors.append(required(f"{path}.name"))
    elif name:
        errors.extend(invalid(f"{path}.name", name, msg) for msg in meta.is_dns1123_label(name))
        if name in names:
            errors.append(duplicate(f"{path}.name", name))
        names.add(name)
    number = port.get("port")
    if not pods._is_port_number(number):
        errors.append(invalid(f"{path}.port", number if number is not None else 0, pods.PORT_RANGE))
    protocol = port.get("protocol", "")
    if not protocol:
        errors.append(required(f"{path}.protocol"))
    elif protocol not in ("SCTP", "TCP", "UDP"):
        errors.append(not_supported(f"{path}.protocol", protocol, ["SCTP", "TCP", "UDP"]))
    errors.extend(pods.validate_port_num_or_name(port.get("targetPort", 0), f"{path}.targetPort"))
    node_port = port.get("nodePort")
    if node_port and not pods._is_port_number(node_port):
        errors.append(invalid(f"{path}.nodePort", node_port, pods.PORT_RANGE))
    return errors


def validate_service(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    service_type = spec.get("type", "")
    errors: list[FieldError] = []
    ports = spec.get("ports") or []
    if not ports and not _is_headless(spec) and service_type != "ExternalName":
        errors.append(required("spec.ports"))
    if service_type == "ExternalName":
        external = spec.get("externalName", "")
        if not external:
            errors.append(required("spec.externalName"))
        else:
            errors.extend(invalid("spec.externalName", external, msg) for msg in meta.is_dns1123_subdomain(external))
    names: set[str] = set()
    for index, port in enumerate(ports):
        errors.extend(_validate_service_port(port, f"spec.ports[{index}]", len(ports) > 1, names))
    errors.extend(meta.validate_labels(spec.get("selector"), "spec.selector"))
    affinity = spec.get("sessionAffinity", "")
    if not affinity:
        errors.append(required("spec.sessionAffinity"))
    elif affinity not in ("ClientIP", "None"):
        errors.append(not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    if not service_type:
        errors.append(required("spec.type"))
    elif service_type not in _SERVICE_TYPES:
        errors.append(not_supported("spec.type", service_type, _SERVICE_TYPES))
    if service_type == "ClusterIP":
        for index, port in enumerate(ports):
            if port.get("nodePort"):
                errors.append(forbidden(f"spec.ports[{index}].nodePort", "may not be used when `type` is 'ClusterIP'"))
    seen_node_ports: set[tuple] = set()
    for index, port in enumerate(ports):
        key = (port.get("protocol"), port.get("nodePort"))
        if port.get("nodePort") and key in seen_node_ports:
            errors.append(duplicate(f"spec.ports[{index}].nodePort", port["nodePort"]))
        seen_node_ports.add(key)
    if spec.get("externalTrafficPolicy") and service_type not in ("NodePort", "LoadBalancer"):
        errors.append(invalid("spec.externalTrafficPolicy", spec["externalTrafficPolicy"],
                              "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))
    if not errors and service_type in ("NodePort", "LoadBalancer"):
        # The node port allocator answers after validation has passed.
        low, high = NODE_PORT_RANGE
        for index, port in enumerate(ports):
            node_port = port.get("nodePort")
            if node_port and not low <= node_port <= high:
                errors.append(invalid(
                    f"spec.ports[{index}].nodePort", node_port,
                    f"provided port is not in the valid range. The range of valid ports is {low}-{high}",
                ))
    return errors


def validate_service_update(obj: dict, old: dict) -> list[FieldError]:
    """A cluster IP never changes once allocated (the API layer carries it over when absent)."""
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return []
    if _is_headless(spec) and _is_headless(old_spec):
        return []
    new_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    old_ips = old_spec.get("clusterIPs") or ([old_spec["clusterIP"]] if old_spec.get("clusterIP") else [])
    if not new_ips:
        return []
    return [
        invalid(f"spec.clusterIPs[{index}]", new_ips, "may not change once set")
        for index, ip in enumerate(old_ips[: len(new_ips)])
        if ip != new_ips[index]
    ]


def validate_pvc(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    modes = spec.get("accessModes") or []
    if not modes and not spec.get("dataSourceRef"):
        errors.append(required("spec.accessModes", "at least 1 access mode is required"))
    for mode in modes:
        if mode not in _ACCESS_MODES:
            errors.append(not_supported("spec.accessModes", mode, _ACCESS_MODES))
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        errors.append(required("spec.resources[storage]"))
    else:
        try:
            if quantities.parse_quantity(storage) <= 0:
                errors.append(invalid("spec.resources[storage]", quantities.canonical_quantity(storage), "must be greater than zero"))
        except quantities.QuantityError as error:
            errors.append(invalid("spec.resources[storage]", storage, str(error)))
    mode = spec.get("volumeMode")
    if mode is not None and mode not in ("Block", "Filesystem"):
        errors.append(not_supported("spec.volumeMode", mode, ["Block", "Filesystem"]))
    if spec.get("storageClassName"):
        errors.extend(invalid("spec.storageClassName", spec["storageClassName"], msg)
                      for msg in meta.is_dns1123_subdomain(spec["storageClassName"]))
    return errors


def validate_pvc_update(obj: dict, old: dict) -> list[FieldError]:
    spec, old_spec = dict(obj.get("spec") or {}), dict(old.get("spec") or {})
    bound = (old.get("status") or {}).get("phase") == "Bound"
    for part in (spec, old_spec):
        part.pop("volumeAttributesClassName", None)
        # The binder writes volumeName; a bound claim may grow its request.
        if not old_spec.get("volumeName"):
            part.pop("volumeName", None)
        if bound:
            part["resources"] = {k: v for k, v in (part.get("resources") or {}).items() if k != "requests"}
    if json.dumps(spec, sort_keys=True) != json.dumps(old_spec, sort_keys=True):
        return [forbidden("spec", PVC_UPDATE_FORBIDDEN)]
    return []


def is_config_map_key(key: str) -> list[str]:
    errors = []
    if len(key) > 253:
        errors.append(meta.max_len_error(253))
    if not key or any(not (c.isascii() and (c.isalnum() or c in "-._")) for c in key):
        errors.append(CONFIG_KEY_MSG)
    if key == ".":
        errors.append("must not be '.'")
    elif key == "..":
        errors.append("must not be '..'")
    elif key.startswith(".."):
        errors.append("must not start with '..'")
    return errors


def _validate_keys(obj: dict) -> list[FieldError]:
    errors: list[FieldError] = []
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    for field_name, mapping in (("data", data), ("binaryData", binary)):
        for key in mapping:
            errors.extend(invalid(f"{field_name}[{key}]", key, msg) for msg in is_config_map_key(key))
    for key in binary:
        if key in data:
            errors.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    return errors


def validate_config_map(obj: dict) -> list[FieldError]:
    return _validate_keys(obj)


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
}


def validate_secret(obj: dict) -> list[FieldError]:
    errors = [
        invalid(f"data[{key}]", key, msg) for key in obj.get("data") or {} for msg in is_config_map_key(key)
    ]
    for key in _SECRET_REQUIRED_KEYS.get(obj.get("type", ""), ()):
        if key not in (obj.get("data") or {}):
            errors.append(required(f"data[{key}]"))
    if obj.get("type") == "kubernetes.io/service-account-token":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            errors.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    return errors


def validate_immutable_data_update(obj: dict, old: dict) -> list[FieldError]:
    """ConfigMaps and Secrets marked `immutable: true` stay as they are."""
    errors: list[FieldError] = []
    if old.get("type") is not None and obj.get("type") != old.get("type"):
        errors.append(invalid("type", obj.get("type"), "field is immutable"))
    if old.get("immutable") is True:
        if obj.get("immutable") is not True:
            errors.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        for field_name in ("data", "binaryData"):
            if (obj.get(field_name) or {}) != (old.get(field_name) or {}):
                errors.append(forbidden(field_name, "field is immutable when `immutable` is set"))
    return errors
