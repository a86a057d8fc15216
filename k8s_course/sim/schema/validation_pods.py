"""Validation of pod specs (Pods and the pod templates of workloads) and of Pod updates.

Mirrors core/v1 ValidatePodSpec for the rules a learner can hit: containers and init
containers (native sidecars included), ports, env, volume mounts, resources, probes,
volumes, restart and DNS policies, tolerations. Messages use Kubernetes' exact wording.
"""

from __future__ import annotations

import copy
import json

from .. import quantities
from ..errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from . import validation_meta as meta

POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)
PORT_RANGE = "must be between 1 and 65535, inclusive"
NON_NEGATIVE = "must be greater than or equal to 0"
RELAXED_ENV_NAME_MSG = "a valid environment variable name must consist only of printable ASCII characters other than '='"
NOT_FOR_REGULAR_INIT = "may not be set for init containers without restartPolicy=Always"

_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
_PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
_TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
_TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
_STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_HANDLER_TYPES = ("exec", "httpGet", "tcpSocket", "grpc", "sleep")
_VOLUME_TYPES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
    "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs",
    "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte",
    "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos",
    "csi", "ephemeral", "image",
)
# The one field each common volume type cannot do without.
_VOLUME_REQUIRED_FIELD = {
    "configMap": "name", "secret": "secretName", "persistentVolumeClaim": "claimName", "hostPath": "path",
}


def is_valid_port_name(name: str) -> list[str]:
    errors = []
    if len(name) > 15:
        errors.append(meta.max_len_error(15))
    if not name or any(not (c.isascii() and (c.islower() or c.isdigit() or c == "-")) for c in name):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not any("a" <= c <= "z" for c in name):
        errors.append("must contain at least one letter (a-z)")
    if "--" in name:
        errors.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def _is_port_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def validate_port_num_or_name(port: object, path: str) -> list[FieldError]:
    if isinstance(port, str):
        if port.isdigit():  # an IntOrString given as "8080" is still a number
            port = int(port)
        else:
            return [invalid(path, port, msg) for msg in is_valid_port_name(port)]
    if not _is_port_number(port):
        return [invalid(path, port, PORT_RANGE)]
    return []


def _non_negative(obj: dict, key: str, path: str) -> list[FieldError]:
    value = obj.get(key)
    if isinstance(value, int) and value < 0:
        return [invalid(f"{path}.{key}", value, NON_NEGATIVE)]
    return []


def validate_handler(handler: dict, path: str) -> list[FieldError]:
    """Probe and lifecycle handlers: exactly one of exec, httpGet, tcpSocket, grpc, sleep."""
    errors: list[FieldError] = []
    present = [kind for kind in _HANDLER_TYPES if handler.get(kind) is not None]
    for extra in present[1:]:
        errors.append(forbidden(f"{path}.{extra}", "may not specify more than 1 handler type"))
    if not present:
        return [required(path, "must specify a handler type")]
    kind = present[0]
    action = handler[kind] or {}
    where = f"{path}.{kind}"
    if kind == "exec" and not action.get("command"):
        errors.append(required(f"{where}.command"))
    if kind == "httpGet":
        if not action.get("path"):
            errors.append(required(f"{where}.path"))
        errors.extend(validate_port_num_or_name(action.get("port"), f"{where}.port"))
        scheme = action.get("scheme", "HTTP")
        if scheme not in ("HTTP", "HTTPS"):
            errors.append(not_supported(f"{where}.scheme", scheme, ["HTTP", "HTTPS"]))
    if kind == "tcpSocket":
        errors.extend(validate_port_num_or_name(action.get("port"), f"{where}.port"))
    if kind == "grpc" and not _is_port_number(action.get("port")):
        errors.append(invalid(f"{where}.port", action.get("port"), PORT_RANGE))
    return errors


def validate_probe(probe: dict, path: str, *, single_success: bool) -> list[FieldError]:
    errors = validate_handler(probe, path)
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        errors.extend(_non_negative(probe, key, path))
    if single_success and probe.get("successThreshold", 1) != 1:
        errors.append(invalid(f"{path}.successThreshold", probe["successThreshold"], "must be 1"))
    return errors


def _validate_ports(ports: list, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    names: set[str] = set()
    for index, port in enumerate(ports):
        where = f"{path}[{index}]"
        name = port.get("name")
        if name:
            messages = is_valid_port_name(name)
            errors.extend(invalid(f"{where}.name", name, msg) for msg in messages)
            if not messages and name in names:
                errors.append(duplicate(f"{where}.name", name))
            names.add(name)
        container_port = port.get("containerPort")
        if not container_port:
            errors.append(required(f"{where}.containerPort"))
        elif not _is_port_number(container_port):
            errors.append(invalid(f"{where}.containerPort", container_port, PORT_RANGE))
        host_port = port.get("hostPort")
        if host_port and not _is_port_number(host_port):
            errors.append(invalid(f"{where}.hostPort", host_port, PORT_RANGE))
        protocol = port.get("protocol")
        if not protocol:
            errors.append(required(f"{where}.protocol"))
        elif protocol not in _PROTOCOLS:
            errors.append(not_supported(f"{where}.protocol", protocol, _PROTOCOLS))
    return errors


def _validate_env(env: list, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for index, var in enumerate(env):
        where = f"{path}[{index}]"
        name = var.get("name", "")
        if not name:
            errors.append(required(f"{where}.name"))
        elif any(not (32 <= ord(c) <= 126) or c == "=" for c in name):
            errors.append(invalid(f"{where}.name", name, RELAXED_ENV_NAME_MSG))
        value_from = var.get("valueFrom")
        if value_from is None:
            continue
        sources = [k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef") if value_from.get(k)]
        if not sources:
            errors.append(invalid(f"{where}.valueFrom", "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
        if var.get("value") and sources:
            errors.append(invalid(f"{where}.valueFrom", "", "may not be specified when `value` is not empty"))
        if len(sources) > 1:
            errors.append(invalid(f"{where}.valueFrom", "", "may not have more than one field specified at a time"))
        for ref in ("configMapKeyRef", "secretKeyRef"):
            if isinstance(value_from.get(ref), dict) and not value_from[ref].get("key"):
                errors.append(required(f"{where}.valueFrom.{ref}.key"))
    return errors


def _validate_volume_mounts(mounts: list, volume_names: set[str], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    mount_paths: set[str] = set()
    for index, mount in enumerate(mounts):
        where = f"{path}[{index}]"
        name = mount.get("name", "")
        if not name:
            errors.append(required(f"{where}.name"))
        if name not in volume_names:
            errors.append(FieldError("NotFound", f"{where}.name", "", name))
        mount_path = mount.get("mountPath", "")
        if not mount_path:
            errors.append(required(f"{where}.mountPath"))
        elif mount_path in mount_paths:
            errors.append(invalid(f"{where}.mountPath", mount_path, "must be unique"))
        mount_paths.add(mount_path)
    return errors


def _quantity(amount: object, path: str, errors: list[FieldError]):
    try:
        return quantities.parse_quantity(amount)
    except quantities.QuantityError as error:
        # Normally refused earlier, when the body is decoded (400); kept here for safety.
        errors.append(invalid(path, amount, str(error)))
        return None


def _validate_resource_name(name: str, path: str) -> list[FieldError]:
    errors = [invalid(path, name, msg) for msg in meta.is_qualified_name(name)]
    if "/" not in name and name not in _STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
        errors.append(invalid(path, name, "must be a standard resource for containers"))
    return errors


def validate_resources(resources: dict, path: str) -> list[FieldError]:
    """Names, non-negative amounts, and each request at most its limit."""
    errors: list[FieldError] = []
    limits = resources.get("limits") or {}
    parsed_limits = {}
    for name, amount in limits.items():
        where = f"{path}.limits[{name}]"
        errors.extend(_validate_resource_name(name, where))
        value = _quantity(amount, where, errors)
        if value is not None and value < 0:
            errors.append(invalid(where, quantities.canonical_quantity(amount), NON_NEGATIVE))
        parsed_limits[name] = value
    for name, amount in (resources.get("requests") or {}).items():
        where = f"{path}.requests[{name}]"
        errors.extend(_validate_resource_name(name, where))
        value = _quantity(amount, where, errors)
        if value is None:
            continue
        if value < 0:
            errors.append(invalid(where, quantities.canonical_quantity(amount), NON_NEGATIVE))
        limit = parsed_limits.get(name)
        if limit is not None and value > limit:
            errors.append(invalid(
                f"{path}.requests", quantities.canonical_quantity(amount),
                f"must be less than or equal to {name} limit of {quantities.canonical_quantity(limits[name])}",
            ))
    return errors


def _validate_container(container: dict, path: str, volume_names: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    image = container.get("image")
    if not image:
        errors.append(required(f"{path}.image"))
    elif image != image.strip():
        errors.append(invalid(f"{path}.image", image, "must not have leading or trailing whitespace"))
    errors.extend(_validate_ports(container.get("ports") or [], f"{path}.ports"))
    errors.extend(_validate_env(container.get("env") or [], f"{path}.env"))
    errors.extend(_validate_volume_mounts(container.get("volumeMounts") or [], volume_names, f"{path}.volumeMounts"))
    policy = container.get("imagePullPolicy")
    if policy is not None and policy not in _PULL_POLICIES:
        errors.append(not_supported(f"{path}.imagePullPolicy", policy, _PULL_POLICIES))
    errors.extend(validate_resources(container.get("resources") or {}, f"{path}.resources"))
    message_policy = container.get("terminationMessagePolicy")
    if message_policy is not None and message_policy not in _TERMINATION_MESSAGE_POLICIES:
        errors.append(not_supported(f"{path}.terminationMessagePolicy", message_policy, _TERMINATION_MESSAGE_POLICIES))
    for hook in ("postStart", "preStop"):
        handler = (container.get("lifecycle") or {}).get(hook)
        if handler is not None:
            errors.extend(validate_handler(handler, f"{path}.lifecycle.{hook}"))
    return errors


def _validate_probes(container: dict, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for key, single_success in (("livenessProbe", True), ("readinessProbe", False), ("startupProbe", True)):
        if container.get(key) is not None:
            errors.extend(validate_probe(container[key], f"{path}.{key}", single_success=single_success))
    return errors


def _validate_containers(spec: dict, path: str, volume_names: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    names: set[str] = set()

    def check_name(container: dict, where: str) -> None:
        name = container.get("name", "")
        if not name:
            errors.append(required(f"{where}.name"))
        else:
            errors.extend(invalid(f"{where}.name", name, msg) for msg in meta.is_dns1123_label(name))
        if name and name in names:
            errors.append(duplicate(f"{where}.name", name))
        names.add(name)

    for index, container in enumerate(spec.get("initContainers") or []):
        where = f"{path}.initContainers[{index}]"
        check_name(container, where)
        errors.extend(_validate_container(container, where, volume_names))
        restart_policy = container.get("restartPolicy")
        if restart_policy is not None and restart_policy != "Always":
            errors.append(not_supported(f"{where}.restartPolicy", restart_policy, ["Always"]))
        if restart_policy == "Always":  # a native sidecar may have probes and hooks
            errors.extend(_validate_probes(container, where))
        else:
            for key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if container.get(key) is not None:
                    errors.append(forbidden(f"{where}.{key}", NOT_FOR_REGULAR_INIT))
    containers = spec.get("containers") or []
    if not containers:
        errors.append(required(f"{path}.containers"))
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        check_name(container, where)
        errors.extend(_validate_container(container, where, volume_names))
        if container.get("restartPolicy") is not None:
            errors.append(forbidden(f"{where}.restartPolicy", "may not be set for non-init containers"))
        errors.extend(_validate_probes(container, where))
    return errors


def _validate_volumes(volumes: list, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    names: set[str] = set()
    for index, volume in enumerate(volumes):
        where = f"{path}[{index}]"
        sources = [kind for kind in _VOLUME_TYPES if volume.get(kind) is not None]
        if not sources:
            errors.append(required(where, "must specify a volume type"))
        for extra in sources[1:]:
            errors.append(forbidden(f"{where}.{extra}", "may not specify more than 1 volume type"))
        if sources and sources[0] in _VOLUME_REQUIRED_FIELD:
            needed = _VOLUME_REQUIRED_FIELD[sources[0]]
            if not (volume[sources[0]] or {}).get(needed):
                errors.append(required(f"{where}.{sources[0]}.{needed}"))
        name = volume.get("name", "")
        if not name:
            errors.append(required(f"{where}.name"))
        else:
            errors.extend(invalid(f"{where}.name", name, msg) for msg in meta.is_dns1123_label(name))
        if name in names:
            errors.append(duplicate(f"{where}.name", name))
        names.add(name)
    return errors


def _validate_tolerations(tolerations: list, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for index, toleration in enumerate(tolerations):
        where = f"{path}[{index}]"
        key = toleration.get("key", "")
        operator = toleration.get("operator", "")
        effect = toleration.get("effect", "")
        if key:
            errors.extend(invalid(f"{where}.key", key, msg) for msg in meta.is_qualified_name(key))
        elif operator != "Exists":
            errors.append(invalid(f"{where}.operator", operator,
                                  'operator must be Exists when `key` is empty, which means "match all values and all keys"'))
        if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
            errors.append(invalid(f"{where}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if operator in ("Equal", ""):
            value = str(toleration.get("value", ""))
            errors.extend(invalid(f"{where}.operator", value, msg) for msg in meta.is_valid_label_value(value))
        elif operator == "Exists":
            if toleration.get("value"):
                errors.append(invalid(f"{where}.operator", toleration, "value must be empty when `operator` is 'Exists'"))
        else:
            errors.append(not_supported(f"{where}.operator", operator, ["Equal", "Exists"]))
        if effect and effect not in _TAINT_EFFECTS:
            errors.append(not_supported(f"{where}.effect", effect, _TAINT_EFFECTS))
    return errors


def validate_pod_spec(spec: dict, path: str, *, extra_volume_names: frozenset[str] = frozenset()) -> list[FieldError]:
    """ValidatePodSpec: `path` is "spec" for a Pod, "spec.template.spec" for a Deployment."""
    errors: list[FieldError] = []
    volumes = spec.get("volumes") or []
    errors.extend(_validate_volumes(volumes, f"{path}.volumes"))
    volume_names = {v.get("name", "") for v in volumes} | set(extra_volume_names)
    errors.extend(_validate_containers(spec, path, volume_names))
    restart_policy = spec.get("restartPolicy", "")
    if not restart_policy:
        errors.append(required(f"{path}.restartPolicy"))
    elif restart_policy not in _RESTART_POLICIES:
        errors.append(not_supported(f"{path}.restartPolicy", restart_policy, _RESTART_POLICIES))
    dns_policy = spec.get("dnsPolicy", "")
    if not dns_policy:
        errors.append(required(f"{path}.dnsPolicy"))
    elif dns_policy not in _DNS_POLICIES:
        errors.append(not_supported(f"{path}.dnsPolicy", dns_policy, _DNS_POLICIES))
    errors.extend(meta.validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector"))
    account = spec.get("serviceAccountName")
    if account:
        errors.extend(invalid(f"{path}.serviceAccountName", account, msg) for msg in meta.is_dns1123_subdomain(account))
    for field_name in ("hostname", "subdomain"):
        if spec.get(field_name):
            errors.extend(invalid(f"{path}.{field_name}", spec[field_name], msg)
                          for msg in meta.is_dns1123_label(spec[field_name]))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not (1 <= deadline <= 2147483647):
        errors.append(invalid(f"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive"))
    errors.extend(_validate_tolerations(spec.get("tolerations") or [], f"{path}.tolerations"))
    return errors


def validate_pod_template(template: dict | None, path: str) -> list[FieldError]:
    """A workload's pod template: its labels and annotations, then its pod spec."""
    if not isinstance(template, dict):
        return [required(path)]
    template_meta = template.get("metadata") or {}
    errors = meta.validate_labels(template_meta.get("labels"), f"{path}.labels")
    errors += meta.validate_annotations(template_meta.get("annotations"), f"{path}.annotations")
    errors += validate_pod_spec(template.get("spec") or {}, f"{path}.spec")
    return errors


def _without_mutable_parts(spec: dict, old_spec: dict) -> dict:
    """The new spec with what a Pod update may change put back to the old values."""
    munged = copy.deepcopy(spec)
    for field_name in ("containers", "initContainers"):
        for new, old in zip(munged.get(field_name) or [], old_spec.get(field_name) or [], strict=False):
            if "image" in old:
                new["image"] = old["image"]
            else:
                new.pop("image", None)
    for field_name in ("activeDeadlineSeconds", "tolerations"):
        if field_name in old_spec:
            munged[field_name] = copy.deepcopy(old_spec[field_name])
        else:
            munged.pop(field_name, None)
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def validate_pod_update(spec: dict, old_spec: dict) -> list[FieldError]:
    """What a Pod update may change: images, activeDeadlineSeconds, added tolerations."""
    if len(spec.get("containers") or []) != len(old_spec.get("containers") or []):
        return [forbidden("spec.containers", "pod updates may not add or remove containers")]
    errors: list[FieldError] = []
    old_deadline, deadline = old_spec.get("activeDeadlineSeconds"), spec.get("activeDeadlineSeconds")
    if old_deadline is not None:
        if deadline is None:
            errors.append(invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"))
        elif deadline > old_deadline:
            errors.append(invalid("spec.activeDeadlineSeconds", deadline,
                                  "must be less than or equal to previous value"))
    old_tolerations = [_canonical(t) for t in old_spec.get("tolerations") or []]
    new_tolerations = [_canonical(t) for t in spec.get("tolerations") or []]
    if any(t not in new_tolerations for t in old_tolerations):
        errors.append(forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"))
    if _canonical(_without_mutable_parts(spec, old_spec)) != _canonical(old_spec):
        errors.append(forbidden("spec", POD_UPDATE_FORBIDDEN))
    return errors
