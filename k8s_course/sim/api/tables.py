"""Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` asks for.

kubectl does not decide the columns of `kubectl get`: it asks the server for a Table
(`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) and prints it. So the columns, their
order, which ones `-o wide` adds (priority 1) and the text of every cell (`1/2`, `Running`,
`3 (2m ago)`, `80:30080/TCP`, `5m3s`) are the server's, and are reproduced here after
Kubernetes' printers (pkg/printers/internalversion). As on a real server, every row carries the
wide cells too; kubectl hides priority-1 columns unless asked.

Built-in kinds without a printer get the generic `Name`, `Created At` table; custom resources get
`Name` plus their `additionalPrinterColumns` (or `Age` when they declare none), evaluated with
`jsonpath`, as the apiextensions server does. The caller sets the Table's metadata.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from datetime import datetime, timezone

from k8s_course.sim import jsonpath, selectors

# --- time ---------------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """Kubernetes' duration.HumanDuration: `12s`, `5m3s`, `3h`, `2d`, `10d`, `3y125d`."""
    whole = int(seconds)  # Go truncates towards zero
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _since(text: str | None, now: datetime) -> str:
    moment = _parse_time(text)
    if moment is None:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


def _rfc3339(text: str | None) -> str:
    moment = _parse_time(text)
    if moment is None:
        return "0001-01-01T00:00:00Z"  # Go's zero time, which the generic table prints as is
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- small helpers ------------------------------------------------------------------------


def _get(obj: object, path: str, default: object = None) -> object:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return default
        obj = obj[part]
    return default if obj is None else obj


def _name(obj: dict) -> str:
    return _get(obj, "metadata.name", "")


def _age(obj: dict, now: datetime) -> str:
    return _since(_get(obj, "metadata.creationTimestamp"), now)


def _containers_and_images(pod_spec: dict | None) -> tuple[str, str]:
    containers = (pod_spec or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _condition_true(conditions: list | None, kind: str) -> bool:
    for condition in conditions or []:
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


def _join_host_port(host: str, port: object) -> str:
    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


def _list_with_more(items: list[str], total: int, limit: int = 3, empty: str = "<unset>") -> str:
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or empty


# --- column definitions -------------------------------------------------------------------


def _column(name: str, kind: str, doc: str, priority: int = 0, fmt: str = "") -> dict:
    return {"name": name, "type": kind, "format": fmt, "description": doc, "priority": priority}


def _doc(key: str) -> str:
    return _SWAGGER_DOCS.get(key) or ""


_AGE = ("Age", "string", "creationTimestamp")
_CONTAINERS_DOC = "Names of each container in the template."
_IMAGES_DOC = "Images referenced by each container in the template."


def _columns(*specs: tuple) -> list[dict]:
    """("Name"|(name, type, doc-key-or-text[, priority]) ...) -> column definitions."""
    result = []
    for spec in specs:
        if spec == "Name":
            result.append(_column("Name", "string", _doc("name"), fmt="name"))
            continue
        name, kind, doc, *rest = spec
        text = _SWAGGER_DOCS.get(doc, doc)
        result.append(_column(name, kind, text, rest[0] if rest else 0))
    return result


# --- printers: each returns (cells, row conditions or None) ----------------------------------

_POD_SUCCEEDED = [{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]
_POD_FAILED = [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]


def pod_status_reason(pod: dict) -> str:
    """The STATUS cell of `kubectl get pods` (Running, CrashLoopBackOff, Init:0/1, Terminating...)."""
    return _pod_summary(pod)[1]


def _pod_summary(pod: dict) -> tuple[int, str, int, str | None, int]:
    """(ready containers, status reason, restarts, last restart time, total containers)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    sidecars = {name for name, c in init_specs.items() if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = restarts = sidecar_restarts = 0
    last_restart = sidecar_last_restart = None

    def later(current: str | None, candidate: str | None) -> str | None:
        moment = _parse_time(candidate)
        if moment is not None and (current is None or moment > _parse_time(current)):
            return candidate
        return current

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for index, container in enumerate(init_statuses):
        restarts += container.get("restartCount") or 0
        finished = _get(container, "lastState.terminated.finishedAt")
        last_restart = later(last_restart, finished)
        is_sidecar = container.get("name") in sidecars
        if is_sidecar:
            sidecar_restarts += container.get("restartCount") or 0
            sidecar_last_restart = later(sidecar_last_restart, finished)
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and (terminated.get("exitCode") or 0) == 0:
            continue
        if is_sidecar and container.get("started"):
            if container.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            if terminated.get("reason"):
                reason = "Init:" + terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode') or 0}"
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(status.get("conditions"), "Initialized"):
        restarts, last_restart = sidecar_restarts, sidecar_last_restart
        has_running = False
        for container in reversed(status.get("containerStatuses") or []):
            restarts += container.get("restartCount") or 0
            last_restart = later(last_restart, _get(container, "lastState.terminated.finishedAt"))
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                if terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{terminated.get('exitCode') or 0}"
            elif container.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status.get("conditions"), "Ready") else "NotReady"

    deleting = _get(pod, "metadata.deletionTimestamp") is not None
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return ready, reason, restarts, last_restart, total


def _print_pod(pod: dict, now: datetime) -> tuple[list, list | None]:
    ready, reason, restarts, last_restart, total = _pod_summary(pod)
    restarts_text = str(restarts)
    if restarts and last_restart:
        restarts_text = f"{restarts} ({_since(last_restart, now)} ago)"
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_text = "<none>"
    if gates:
        conditions = {c.get("type"): c.get("status") for c in reversed(status.get("conditions") or [])}
        passed = sum(1 for gate in gates if conditions.get(gate.get("conditionType")) == "True")
        gates_text = f"{passed}/{len(gates)}"
    cells = [
        _name(pod), f"{ready}/{total}", reason, restarts_text, _age(pod, now),
        pod_ip, spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", gates_text,
    ]  # fmt: skip
    phase = status.get("phase")
    conditions = _POD_SUCCEEDED if phase == "Succeeded" else _POD_FAILED if phase == "Failed" else None
    return cells, conditions


def _print_deployment(obj: dict, now: datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_get(obj, "spec.template.spec"))
    try:
        selector = str(selectors.from_selector_object(spec.get("selector")))
    except ValueError:
        selector = "<invalid>"
    return [
        _name(obj), f"{status.get('readyReplicas') or 0}/{spec.get('replicas') or 0}",
        status.get("updatedReplicas") or 0, status.get("availableReplicas") or 0, _age(obj, now),
        names, images, selector,
    ]  # fmt: skip


def _print_replica_set(obj: dict, now: datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_get(obj, "spec.template.spec"))
    return [
        _name(obj), spec.get("replicas") or 0, status.get("replicas") or 0, status.get("readyReplicas") or 0,
        _age(obj, now), names, images, selectors.format_selector_object(spec.get("selector")),
    ]  # fmt: skip


def _print_replication_controller(obj: dict, now: datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_get(obj, "spec.template.spec"))
    return [
        _name(obj), spec.get("replicas") or 0, status.get("replicas") or 0, status.get("readyReplicas") or 0,
        _age(obj, now), names, images, selectors.format_labels(spec.get("selector")),
    ]  # fmt: skip


def _print_stateful_set(obj: dict, now: datetime) -> list:
    names, images = _containers_and_images(_get(obj, "spec.template.spec"))
    ready = f"{_get(obj, 'status.readyReplicas', 0)}/{_get(obj, 'spec.replicas', 0)}"
    return [_name(obj), ready, _age(obj, now), names, images]


def _print_daemon_set(obj: dict, now: datetime) -> list:
    status = obj.get("status") or {}
    names, images = _containers_and_images(_get(obj, "spec.template.spec"))
    return [
        _name(obj), status.get("desiredNumberScheduled") or 0, status.get("currentNumberScheduled") or 0,
        status.get("numberReady") or 0, status.get("updatedNumberScheduled") or 0, status.get("numberAvailable") or 0,
        selectors.format_labels(_get(obj, "spec.template.spec.nodeSelector")), _age(obj, now),
        names, images, selectors.format_selector_object(_get(obj, "spec.selector")),
    ]  # fmt: skip


def _print_job(obj: dict, now: datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = status.get("succeeded") or 0
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif (spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    started, finished = _parse_time(status.get("startTime")), _parse_time(status.get("completionTime"))
    duration = ""
    if started is not None:
        duration = human_duration(((finished or now) - started).total_seconds())
    conditions = status.get("conditions")
    if _condition_true(conditions, "Complete"):
        state = "Complete"
    elif _condition_true(conditions, "Failed"):
        state = "Failed"
    elif _get(obj, "metadata.deletionTimestamp") is not None:
        state = "Terminating"
    elif _condition_true(conditions, "Suspended"):
        state = "Suspended"
    elif _condition_true(conditions, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = _containers_and_images(_get(obj, "spec.template.spec"))
    return [
        _name(obj), state, completions, duration, _age(obj, now),
        names, images, selectors.format_selector_object(spec.get("selector")),
    ]  # fmt: skip


def _bool_pointer(value: object) -> str:
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def _print_cron_job(obj: dict, now: datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = status.get("lastScheduleTime")
    names, images = _containers_and_images(_get(obj, "spec.jobTemplate.spec.template.spec"))
    return [
        _name(obj), spec.get("schedule", ""), spec.get("timeZone") or "<none>", _bool_pointer(spec.get("suspend")),
        len(status.get("active") or []), _since(last, now) if last else "<none>", _age(obj, now),
        names, images, selectors.format_selector_object(_get(obj, "spec.jobTemplate.spec.selector")),
    ]  # fmt: skip


def _load_balancer_text(status: dict | None) -> str:
    addresses = {entry.get("ip") or entry.get("hostname") for entry in (status or {}).get("ingress") or []}
    return ",".join(sorted(address for address in addresses if address))


def _service_external_ip(service: dict) -> str:
    spec = service.get("spec") or {}
    external = spec.get("externalIPs") or []
    kind = spec.get("type") or ""
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        balancer = _load_balancer_text(_get(service, "status.loadBalancer"))
        if external:
            return ",".join(([*balancer.split(",")] if balancer else []) + external)
        return balancer or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def service_ports(ports: list | None) -> str:
    """The PORT(S) cell: `80/TCP,443:30443/TCP`."""
    pieces = []
    for port in ports or []:
        protocol = port.get("protocol") or "TCP"
        if port.get("nodePort"):
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces)


def _print_service(obj: dict, now: datetime) -> list:
    spec = obj.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        _name(obj), spec.get("type", ""), cluster_ips[0] if cluster_ips else "<none>", _service_external_ip(obj),
        service_ports(spec.get("ports")) or "<none>", _age(obj, now), selectors.format_labels(spec.get("selector")),
    ]  # fmt: skip


def _format_endpoints(endpoints: dict) -> str:
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [address.get("ip", "") for address in subset.get("addresses") or []]
        ports = subset.get("ports") or []
        if not ports:  # headless services may have no ports
            count += len(addresses)
            shown.extend(addresses[: max(0, 3 - len(shown))])
            continue
        for port in ports:
            count += len(addresses)
            for address in addresses:
                if len(shown) < 3:
                    shown.append(_join_host_port(address, port.get("port")))
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if count > 3 else text


def _print_endpoints(obj: dict, now: datetime) -> list:
    return [_name(obj), _format_endpoints(obj), _age(obj, now)]


def _print_endpoint_slice(obj: dict, now: datetime) -> list:
    ports = []
    for port in obj.get("ports") or []:
        if port.get("port") is not None:
            ports.append(str(port["port"]))
        elif port.get("name") is not None:
            ports.append(port["name"])
        else:
            ports.append("*")
    addresses = [address for endpoint in obj.get("endpoints") or [] for address in endpoint.get("addresses") or []]
    return [
        _name(obj), obj.get("addressType", ""), _list_with_more(ports, len(ports)),
        _list_with_more(addresses, len(addresses)), _age(obj, now),
    ]  # fmt: skip


def node_status(node: dict) -> str:
    """The STATUS cell of `kubectl get nodes`: Ready, NotReady, Unknown, plus SchedulingDisabled."""
    states = []
    for condition in _get(node, "status.conditions", []):
        if condition.get("type") == "Ready":
            states = ["Ready" if condition.get("status") == "True" else "NotReady"]
    states = states or ["Unknown"]
    if _get(node, "spec.unschedulable"):
        states.append("SchedulingDisabled")
    return ",".join(states)


def node_roles(node: dict) -> str:
    roles = set()
    for key, value in (_get(node, "metadata.labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key != "node-role.kubernetes.io/":
            roles.add(key[len("node-role.kubernetes.io/") :])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: dict, kind: str) -> str:
    for address in _get(node, "status.addresses", []):
        if address.get("type") == kind:
            return address.get("address", "")
    return "<none>"


def _print_node(obj: dict, now: datetime) -> list:
    info = _get(obj, "status.nodeInfo", {})
    return [
        _name(obj), node_status(obj), node_roles(obj), _age(obj, now), info.get("kubeletVersion", ""),
        _node_address(obj, "InternalIP"), _node_address(obj, "ExternalIP"), info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>",
    ]  # fmt: skip


def _print_namespace(obj: dict, now: datetime) -> list:
    return [_name(obj), _get(obj, "status.phase", ""), _age(obj, now)]


def _print_config_map(obj: dict, now: datetime) -> list:
    return [_name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj, now)]


def _print_secret(obj: dict, now: datetime) -> list:
    # stringData is folded into data on write; count both for objects not yet normalised.
    keys = set(obj.get("data") or {}) | set(obj.get("stringData") or {})
    return [_name(obj), obj.get("type", ""), len(keys), _age(obj, now)]


def _print_service_account(obj: dict, now: datetime) -> list:
    return [_name(obj), len(obj.get("secrets") or []), _age(obj, now)]


def _event_view(event: dict, kind_key: str) -> dict:
    """events.k8s.io/v1 Events printed through the core Event's fields, as the server does."""
    if not kind_key.startswith("events.k8s.io/"):
        return event
    return {
        "metadata": event.get("metadata") or {},
        "involvedObject": event.get("regarding") or {},
        "reason": event.get("reason"),
        "message": event.get("note"),
        "type": event.get("type"),
        "source": event.get("deprecatedSource") or {},
        "firstTimestamp": event.get("deprecatedFirstTimestamp"),
        "lastTimestamp": event.get("deprecatedLastTimestamp"),
        "count": event.get("deprecatedCount"),
        "eventTime": event.get("eventTime"),
        "series": event.get("series"),
        "reportingComponent": event.get("reportingController"),
        "reportingInstance": event.get("reportingInstance"),
    }


def _print_event(raw: dict, now: datetime, kind_key: str) -> list:
    event = _event_view(raw, kind_key)
    first = _since(event.get("firstTimestamp"), now)
    if not event.get("firstTimestamp"):
        first = _since(event.get("eventTime"), now)
    last = _since(event.get("lastTimestamp"), now) if event.get("lastTimestamp") else first
    count = event.get("count") or 0
    if event.get("series"):
        last = _since(_get(event, "series.lastObservedTime"), now)
        count = _get(event, "series.count", 0)
    elif count == 0:
        count = 1  # singleton events of the new API carry no count
    involved = event.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return [
        last, event.get("type") or "", event.get("reason") or "", target, involved.get("fieldPath") or "",
        f"{component}, {instance}" if instance else component, (event.get("message") or "").strip(),
        first, count, _name(event),
    ]  # fmt: skip


_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))


def _access_modes(modes: list | None) -> str:
    return ",".join(short for mode, short in _ACCESS_MODES if mode in (modes or []))


def _storage_class(obj: dict) -> str:
    return _get(obj, "spec.storageClassName") or _get(obj, "metadata.annotations", {}).get(
        "volume.beta.kubernetes.io/storage-class", ""
    )


def _print_pvc(obj: dict, now: datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if _get(obj, "metadata.deletionTimestamp") else status.get("phase", "")
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = _access_modes(status.get("accessModes"))
        capacity = _get(status, "capacity.storage", "")
    return [
        _name(obj), phase, spec.get("volumeName", ""), capacity, modes, _storage_class(obj),
        spec.get("volumeAttributesClassName") or "<unset>", _age(obj, now), spec.get("volumeMode") or "<unset>",
    ]  # fmt: skip


def _print_pv(obj: dict, now: datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    claim = spec.get("claimRef")
    phase = "Terminating" if _get(obj, "metadata.deletionTimestamp") else status.get("phase", "")
    return [
        _name(obj), _get(spec, "capacity.storage", "0"), _access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy", ""), phase,
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "", _storage_class(obj),
        spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""), _age(obj, now),
        spec.get("volumeMode") or "<unset>",
    ]  # fmt: skip


def _print_lease(obj: dict, now: datetime) -> list:
    return [_name(obj), _get(obj, "spec.holderIdentity", ""), _age(obj, now)]


def _print_role_binding(obj: dict, now: datetime) -> list:
    users, groups, accounts = [], [], []
    for subject in obj.get("subjects") or []:
        if subject.get("kind") == "User":
            users.append(subject.get("name", ""))
        elif subject.get("kind") == "Group":
            groups.append(subject.get("name", ""))
        elif subject.get("kind") == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}/{subject.get('name', '')}")
    role = f"{_get(obj, 'roleRef.kind', '')}/{_get(obj, 'roleRef.name', '')}"
    return [_name(obj), role, _age(obj, now), ", ".join(users), ", ".join(groups), ", ".join(accounts)]


def _int_or_string(value: object) -> str:
    return "N/A" if value is None else str(value)


def _print_pdb(obj: dict, now: datetime) -> list:
    spec = obj.get("spec") or {}
    return [
        _name(obj), _int_or_string(spec.get("minAvailable")), _int_or_string(spec.get("maxUnavailable")),
        _get(obj, "status.disruptionsAllowed", 0), _age(obj, now),
    ]  # fmt: skip


def _print_controller_revision(obj: dict, now: datetime) -> list:
    controller = "<none>"
    for owner in _get(obj, "metadata.ownerReferences", []):
        if owner.get("controller"):
            api_version = owner.get("apiVersion", "")
            group = api_version.split("/")[0] if "/" in api_version else ""
            kind = f"{owner.get('kind', '')}.{group}" if group else owner.get("kind", "")
            controller = f"{kind.lower()}/{owner.get('name', '')}"
            break
    return [_name(obj), controller, obj.get("revision", 0), _age(obj, now)]


def _print_ingress(obj: dict, now: datetime) -> list:
    spec = obj.get("spec") or {}
    rules = spec.get("rules") or []
    hosts = [rule["host"] for rule in rules[:3] if rule.get("host")]
    host_text = ",".join(hosts) or "*"
    if len(rules) > 3 and hosts:
        host_text += f" + {len(rules) - 3} more..."
    return [
        _name(obj), spec.get("ingressClassName") or "<none>", host_text,
        _load_balancer_text(_get(obj, "status.loadBalancer")), "80, 443" if spec.get("tls") else "80", _age(obj, now),
    ]  # fmt: skip


def _print_storage_class(obj: dict, now: datetime) -> list:
    annotations = _get(obj, "metadata.annotations", {})
    default = any(
        annotations.get(key) == "true"
        for key in ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")
    )
    return [
        _name(obj) + (" (default)" if default else ""), obj.get("provisioner", ""), obj.get("reclaimPolicy") or "Delete",
        obj.get("volumeBindingMode") or "Immediate", bool(obj.get("allowVolumeExpansion")), _age(obj, now),
    ]  # fmt: skip


def _print_network_policy(obj: dict, now: datetime) -> list:
    return [_name(obj), selectors.format_selector_object(_get(obj, "spec.podSelector", {})), _age(obj, now)]


def _print_priority_class(obj: dict, now: datetime) -> list:
    return [_name(obj), obj.get("value", 0), bool(obj.get("globalDefault")), _age(obj, now), obj.get("preemptionPolicy") or ""]


def _print_pod_template(obj: dict, now: datetime) -> list:
    names, images = _containers_and_images(_get(obj, "template.spec"))
    return [_name(obj), names, images, selectors.format_labels(_get(obj, "template.metadata.labels"))]


# kind key -> (column specs, printer). Column docs are keys of _SWAGGER_DOCS or literal text.
_WORKLOAD_WIDE = (("Containers", "string", _CONTAINERS_DOC, 1), ("Images", "string", _IMAGES_DOC, 1))
_PRINTERS: dict[str, tuple[tuple, Callable]] = {
    "v1/Pod": ((
        "Name",
        ("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        ("Status", "string", "The aggregate status of the containers in this pod."),
        ("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
        _AGE, ("IP", "string", "podIP", 1), ("Node", "string", "nodeName", 1),
        ("Nominated Node", "string", "nominatedNodeName", 1), ("Readiness Gates", "string", "readinessGates", 1),
    ), _print_pod),
    "apps/v1/Deployment": ((
        "Name", ("Ready", "string", "Number of the pod with ready state"),
        ("Up-to-date", "string", "deploy.updatedReplicas"), ("Available", "string", "deploy.availableReplicas"),
        _AGE, *_WORKLOAD_WIDE, ("Selector", "string", "deploy.selector", 1),
    ), _print_deployment),
    "apps/v1/ReplicaSet": ((
        "Name", ("Desired", "integer", "rs.spec.replicas"), ("Current", "integer", "rs.status.replicas"),
        ("Ready", "integer", "rs.status.readyReplicas"), _AGE, *_WORKLOAD_WIDE, ("Selector", "string", "rs.spec.selector", 1),
    ), _print_replica_set),
    "v1/ReplicationController": ((
        "Name", ("Desired", "integer", "rs.spec.replicas"), ("Current", "integer", "rs.status.replicas"),
        ("Ready", "integer", "rs.status.readyReplicas"), _AGE, *_WORKLOAD_WIDE, ("Selector", "string", "rs.spec.selector", 1),
    ), _print_replication_controller),
    "apps/v1/StatefulSet": ((
        "Name", ("Ready", "string", "Number of the pod with ready state"), _AGE, *_WORKLOAD_WIDE,
    ), _print_stateful_set),
    "apps/v1/DaemonSet": ((
        "Name", ("Desired", "integer", "ds.desiredNumberScheduled"), ("Current", "integer", "ds.currentNumberScheduled"),
        ("Ready", "integer", "ds.numberReady"), ("Up-to-date", "integer", "ds.updatedNumberScheduled"),
        ("Available", "integer", "ds.numberAvailable"), ("Node Selector", "string", "nodeSelector"), _AGE,
        *_WORKLOAD_WIDE, ("Selector", "string", "ds.selector", 1),
    ), _print_daemon_set),
    "batch/v1/Job": ((
        "Name", ("Status", "string", "Status of the job."), ("Completions", "string", "job.succeeded"),
        ("Duration", "string", "Time required to complete the job."), _AGE, *_WORKLOAD_WIDE,
        ("Selector", "string", "job.selector", 1),
    ), _print_job),
    "batch/v1/CronJob": ((
        "Name", ("Schedule", "string", "cj.schedule"), ("Timezone", "string", "cj.timeZone"),
        ("Suspend", "boolean", "cj.suspend"), ("Active", "integer", "cj.active"),
        ("Last Schedule", "string", "cj.lastScheduleTime"), _AGE, *_WORKLOAD_WIDE, ("Selector", "string", "job.selector", 1),
    ), _print_cron_job),
    "v1/Service": ((
        "Name", ("Type", "string", "svc.type"), ("Cluster-IP", "string", "svc.clusterIP"),
        ("External-IP", "string", "svc.externalIPs"), ("Port(s)", "string", "svc.ports"), _AGE,
        ("Selector", "string", "svc.selector", 1),
    ), _print_service),
    "v1/Endpoints": (("Name", ("Endpoints", "string", "ep.subsets"), _AGE), _print_endpoints),
    "discovery.k8s.io/v1/EndpointSlice": ((
        "Name", ("AddressType", "string", "eps.addressType"), ("Ports", "string", "eps.ports"),
        ("Endpoints", "string", "eps.endpoints"), _AGE,
    ), _print_endpoint_slice),
    "v1/Node": ((
        "Name", ("Status", "string", "The status of the node"), ("Roles", "string", "The roles of the node"), _AGE,
        ("Version", "string", "node.kubeletVersion"), ("Internal-IP", "string", "node.addresses", 1),
        ("External-IP", "string", "node.addresses", 1), ("OS-Image", "string", "node.osImage", 1),
        ("Kernel-Version", "string", "node.kernelVersion", 1), ("Container-Runtime", "string", "node.containerRuntimeVersion", 1),
    ), _print_node),
    "v1/Namespace": (("Name", ("Status", "string", "The status of the namespace"), _AGE), _print_namespace),
    "v1/ConfigMap": (("Name", ("Data", "string", "cm.data"), _AGE), _print_config_map),
    "v1/Secret": (("Name", ("Type", "string", "secret.type"), ("Data", "string", "secret.data"), _AGE), _print_secret),
    "v1/ServiceAccount": (("Name", ("Secrets", "string", "sa.secrets"), _AGE), _print_service_account),
    "v1/PersistentVolumeClaim": ((
        "Name", ("Status", "string", "pvc.phase"), ("Volume", "string", "pvc.volumeName"),
        ("Capacity", "string", "pvc.capacity"), ("Access Modes", "string", "pvc.accessModes"),
        ("StorageClass", "string", "StorageClass of the pvc"),
        ("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"), _AGE,
        ("VolumeMode", "string", "pvc.volumeMode", 1),
    ), _print_pvc),
    "v1/PersistentVolume": ((
        "Name", ("Capacity", "string", "pv.capacity"), ("Access Modes", "string", "pv.accessModes"),
        ("Reclaim Policy", "string", "pv.reclaim"), ("Status", "string", "pv.phase"), ("Claim", "string", "pv.claimRef"),
        ("StorageClass", "string", "StorageClass of the pv"),
        ("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"), ("Reason", "string", "pv.reason"), _AGE,
        ("VolumeMode", "string", "pv.volumeMode", 1),
    ), _print_pv),
    "coordination.k8s.io/v1/Lease": (("Name", ("Holder", "string", "lease.holderIdentity"), _AGE), _print_lease),
    "rbac.authorization.k8s.io/v1/RoleBinding": ((
        "Name", ("Role", "string", "rb.roleRef"), _AGE, ("Users", "string", "Users in the roleBinding", 1),
        ("Groups", "string", "Groups in the roleBinding", 1), ("ServiceAccounts", "string", "ServiceAccounts in the roleBinding", 1),
    ), _print_role_binding),
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ((
        "Name", ("Role", "string", "crb.roleRef"), _AGE, ("Users", "string", "Users in the clusterRoleBinding", 1),
        ("Groups", "string", "Groups in the clusterRoleBinding", 1),
        ("ServiceAccounts", "string", "ServiceAccounts in the clusterRoleBinding", 1),
    ), _print_role_binding),
    "policy/v1/PodDisruptionBudget": ((
        "Name", ("Min Available", "string", "The minimum number of pods that must be available."),
        ("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
        ("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."), _AGE,
    ), _print_pdb),
    "apps/v1/ControllerRevision": ((
        "Name", ("Controller", "string", "Controller of the object"), ("Revision", "string", "cr.revision"), _AGE,
    ), _print_controller_revision),
    "networking.k8s.io/v1/Ingress": ((
        "Name",
        ("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
        ("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
        ("Address", "string", "Address is a list containing ingress points for the load-balancer"),
        ("Ports", "string", "Ports of TLS configurations that open"), _AGE,
    ), _print_ingress),
    "storage.k8s.io/v1/StorageClass": ((
        "Name", ("Provisioner", "string", "sc.provisioner"), ("ReclaimPolicy", "string", "sc.reclaimPolicy"),
        ("VolumeBindingMode", "string", "sc.volumeBindingMode"),
        ("AllowVolumeExpansion", "string", "sc.allowVolumeExpansion"), _AGE,
    ), _print_storage_class),
    "networking.k8s.io/v1/NetworkPolicy": ((
        "Name", ("Pod-Selector", "string", "np.podSelector"), _AGE,
    ), _print_network_policy),
    "scheduling.k8s.io/v1/PriorityClass": ((
        "Name", ("Value", "integer", "pc.value"), ("Global-Default", "boolean", "pc.globalDefault"), _AGE,
        ("PreemptionPolicy", "string", "pc.preemptionPolicy"),
    ), _print_priority_class),
    "v1/PodTemplate": ((
        "Name", ("Containers", "string", _CONTAINERS_DOC), ("Images", "string", _IMAGES_DOC),
        ("Pod Labels", "string", "The labels for the pod template."),
    ), _print_pod_template),
}  # fmt: skip

_EVENT_COLUMNS = (
    ("Last Seen", "string", "ev.lastTimestamp"), ("Type", "string", "ev.type"), ("Reason", "string", "ev.reason"),
    ("Object", "string", "ev.involvedObject"), ("Subobject", "string", "ev.fieldPath", 1),
    ("Source", "string", "ev.source", 1), ("Message", "string", "ev.message"),
    ("First Seen", "string", "ev.firstTimestamp", 1), ("Count", "string", "ev.count", 1),
)  # fmt: skip

# API groups served by the API server itself: their kinds without a printer get the generic
# "Name, Created At" table. Any other group is a custom resource.
_BUILT_IN_GROUPS = {
    "", "apps", "batch", "autoscaling", "policy", "rbac.authorization.k8s.io", "networking.k8s.io",
    "storage.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "scheduling.k8s.io",
    "node.k8s.io", "certificates.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
    "apiregistration.k8s.io", "flowcontrol.apiserver.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io", "resource.k8s.io", "internal.apiserver.k8s.io", "storagemigration.k8s.io",
}  # fmt: skip


def _group_of(kind_key: str) -> str:
    parts = kind_key.split("/")
    return parts[0] if len(parts) == 3 else ""


def _wire_number(value: object) -> object:
    """Go marshals an integral float64 without a fraction; keep cells looking the same."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def _custom_cell(column: dict, obj: dict, now: datetime) -> object:
    try:
        results = jsonpath.evaluate(column.get("jsonPath", ""), obj)
    except jsonpath.JSONPathError:
        return None
    if not results:
        return None
    value = results[0]
    kind = column.get("type")
    if kind == "string":
        return jsonpath.format_value(value)
    if value is None:
        return None
    if kind == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _wire_number(float(value))
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        moment = _parse_time(value)
        return "<invalid>" if moment is None else human_duration((now - moment).total_seconds())
    return None


def _custom_columns(printer_columns: list[dict]) -> list[dict]:
    if not printer_columns:
        printer_columns = [{"name": "Age", "type": "date", "description": _doc("creationTimestamp"),
                            "jsonPath": ".metadata.creationTimestamp"}]  # fmt: skip
    return printer_columns


def _row_object(obj: dict, include_object: str) -> dict | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return copy.deepcopy(obj)
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": copy.deepcopy(obj.get("metadata") or {}),
    }


def render_table(
    kind_key: str,
    objects: list[dict],
    now: datetime,
    printer_columns: list[dict] | None = None,
    include_object: str = "Metadata",
    *,
    include_headers: bool = True,
) -> dict:
    """The Table a real API server answers `kubectl get` with (without its metadata).

    `printer_columns` are a custom resource version's `additionalPrinterColumns`; passing a list
    (even empty) marks the kind as a custom resource. `include_object` is the
    `includeObject` table option: "Metadata" (PartialObjectMetadata), "Object" or "None".
    `include_headers=False` is the `noHeaders` table option.
    """
    if include_object not in ("None", "Metadata", "Object"):
        raise ValueError(f"unknown includeObject {include_object!r}")
    rows: list[dict] = []
    if printer_columns is not None or _group_of(kind_key) not in _BUILT_IN_GROUPS:
        custom = _custom_columns(printer_columns or [])
        columns = [_column("Name", "string", _doc("name"), fmt="name")]
        for column in custom:
            description = column.get("description") or (
                "Custom resource definition column (in JSONPath format): " + column.get("jsonPath", "")
            )
            columns.append(_column(column.get("name", ""), column.get("type", ""), description,
                                   column.get("priority") or 0, column.get("format") or ""))  # fmt: skip
        for obj in objects:
            cells = [_name(obj)] + [_custom_cell(column, obj, now) for column in custom]
            rows.append({"cells": cells, "object": _row_object(obj, include_object)})
    elif kind_key in ("v1/Event", "events.k8s.io/v1/Event"):
        columns = _columns(*_EVENT_COLUMNS) + [_column("Name", "string", _doc("name"), 1, "name")]
        for obj in objects:
            rows.append({"cells": _print_event(obj, now, kind_key), "object": _row_object(obj, include_object)})
    elif kind_key in _PRINTERS:
        specs, printer = _PRINTERS[kind_key]
        columns = _columns(*specs)
        for obj in objects:
            printed = printer(obj, now)
            cells, conditions = printed if isinstance(printed, tuple) else (printed, None)
            row = {"cells": cells}
            if conditions:
                row["conditions"] = copy.deepcopy(conditions)
            row["object"] = _row_object(obj, include_object)
            rows.append(row)
    else:
        # rest.DefaultTableConvertor: Roles, ClusterRoles, CRDs and every other built-in kind
        # without a printer show their creation time as an RFC 3339 date.
        columns = [
            _column("Name", "string", _doc("name"), fmt="name"),
            _column("Created At", "date", _doc("creationTimestamp")),
        ]
        for obj in objects:
            cells = [_name(obj), _rfc3339(_get(obj, "metadata.creationTimestamp"))]
            rows.append({"cells": cells, "object": _row_object(obj, include_object)})
    table: dict = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}}
    if include_headers:
        table["columnDefinitions"] = columns
    table["rows"] = rows
    return table


# Column descriptions, in our own words (kubectl does not print them).
_SWAGGER_DOCS = {  # fmt: skip
    'name': "The object's name, unique in its namespace.",
    'creationTimestamp': 'When the object was created.',
    'podIP': "The pod's IP address in the cluster.",
    'nodeName': 'The node the pod runs on.',
    'nominatedNodeName': 'The node the scheduler has set aside for the pod while it preempts others.',
    'readinessGates': 'Extra conditions that must hold before the pod counts as ready.',
    'rs.spec.replicas': 'How many pods are wanted.',
    'rs.status.replicas': 'How many pods exist (not terminating).',
    'rs.status.readyReplicas': 'How many of the pods are ready.',
    'rs.spec.selector': 'The labels that pick the pods.',
    'ds.desiredNumberScheduled': 'On how many nodes a daemon pod should run.',
    'ds.currentNumberScheduled': 'On how many of those nodes a daemon pod runs.',
    'ds.numberReady': 'On how many of those nodes a daemon pod is ready.',
    'ds.updatedNumberScheduled': 'On how many nodes the daemon pod runs the current template.',
    'ds.numberAvailable': 'On how many nodes the daemon pod is available.',
    'nodeSelector': 'Node labels the pod requires.',
    'ds.selector': 'The labels that pick the daemon pods.',
    'job.succeeded': 'How many pods finished successfully.',
    'job.selector': "The labels that pick the job's pods.",
    'cj.schedule': 'When the job runs, in cron format.',
    'cj.timeZone': 'The time zone of the schedule.',
    'cj.suspend': 'Whether new runs are held back.',
    'cj.active': 'The jobs running now.',
    'cj.lastScheduleTime': 'When a job was last started.',
    'svc.type': 'How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.',
    'svc.clusterIP': "The service's virtual IP inside the cluster, or None for a headless service.",
    'svc.externalIPs': 'Addresses outside the cluster that also reach the service.',
    'svc.ports': 'The ports the service exposes.',
    'svc.selector': "The labels of the pods that receive the service's traffic.",
    'ep.subsets': 'The addresses and ports behind the service.',
    'node.kubeletVersion': "The kubelet's version.",
    'node.addresses': "The node's addresses.",
    'node.osImage': "The node's operating system.",
    'node.kernelVersion': "The node's kernel version.",
    'node.containerRuntimeVersion': "The node's container runtime and its version.",
    'ev.lastTimestamp': 'When the event was last seen.',
    'ev.type': 'Normal or Warning.',
    'ev.reason': 'A short word for what happened.',
    'ev.involvedObject': 'The object the event is about.',
    'ev.fieldPath': 'The part of the object the event is about (a container, say).',
    'ev.source': 'The component that reported the event.',
    'ev.message': 'What happened, in words.',
    'ev.firstTimestamp': 'When the event was first seen.',
    'ev.count': 'How many times it happened.',
    'secret.type': 'What kind of secret it is.',
    'secret.data': "The secret's keys and values.",
    'sa.secrets': 'Secrets the service account refers to.',
    'pv.capacity': "The volume's size.",
    'pv.accessModes': 'How the volume may be mounted.',
    'pv.reclaim': 'What happens to the volume when its claim goes.',
    'pv.phase': "The volume's phase.",
    'pv.claimRef': 'The claim bound to the volume.',
    'pv.reason': 'Why the volume is in its phase.',
    'pv.volumeMode': 'Filesystem or Block.',
    'pvc.phase': "The claim's phase.",
    'pvc.volumeName': 'The volume bound to the claim.',
    'pvc.capacity': 'The size the claim got.',
    'pvc.accessModes': 'How the claimed volume may be mounted.',
    'pvc.volumeMode': 'Filesystem or Block.',
    'deploy.updatedReplicas': 'How many pods run the current template.',
    'deploy.availableReplicas': 'How many pods are available.',
    'deploy.selector': 'The labels that pick the pods.',
    'cm.data': "The configuration's keys and values.",
    'np.podSelector': 'The pods the policy applies to.',
    'rb.roleRef': 'The role the binding grants.',
    'crb.roleRef': 'The cluster role the binding grants.',
    'lease.holderIdentity': 'Who holds the lease.',
    'sc.provisioner': 'What makes volumes of this class.',
    'sc.reclaimPolicy': 'What happens to a volume when its claim goes.',
    'sc.volumeBindingMode': 'When a claim is bound: at once or when a pod needs it.',
    'sc.allowVolumeExpansion': 'Whether volumes of this class can grow.',
    'cr.revision': 'The revision this object records.',
    'eps.addressType': 'IPv4, IPv6 or FQDN.',
    'eps.ports': 'The ports of the endpoints.',
    'eps.endpoints': 'The addresses of the endpoints.',
    'pc.value': 'The priority pods of this class get.',
    'pc.globalDefault': 'Whether pods without a class get this one.',
    'pc.preemptionPolicy': 'Whether pods of this class may preempt others.',
}
