"""What the API server adds to a built-in object on create, so answers match a real cluster.

`apply_defaults(kind_key, obj)` mutates a new or updated object the way a Kubernetes 1.36
server does before storing it: the scheme's defaults (per version), plus what the default
admission plugins add to Pods (service account and its token volume, default tolerations,
priority), PVCs (default storage class, protection finalizer) and what create strategies set
(a Job's generated selector, a Namespace's finalizer). It never overwrites a value the client
gave, so running it again on a stored object changes nothing.

`set_initial_status(kind_key, obj)` replaces the status with the one a create starts from
(clients cannot set status on create). `tracks_generation(kind_key)` says whether the kind
keeps `metadata.generation`. Quantities are rewritten in canonical form; an unparseable one
raises `quantities.QuantityError` (the server answers 400 "... cannot be handled as a ...").

Call order on create: set metadata.uid and namespace first (a Job's selector is made from the
uid), then `set_initial_status`, then `apply_defaults`.
"""

from __future__ import annotations

import base64
import copy
import random
from collections.abc import Callable

from .. import quantities
from . import webhook_configs

SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
# utilrand's alphabet: no vowels (no words) and no confusable characters.
_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
DEFAULT_STORAGE_CLASS = "standard"  # kind's default StorageClass (rancher local-path)
_BUILTIN_PRIORITY_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
_DEFAULT_TOLERATION_KEYS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")

JOB_CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
DAEMONSET_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"

# Kinds whose strategy sets metadata.generation (1 on create, +1 on each spec change).
_GENERATION_KINDS = frozenset(
    {
        "v1/Pod",
        "v1/ReplicationController",
        "apps/v1/Deployment",
        "apps/v1/ReplicaSet",
        "apps/v1/StatefulSet",
        "apps/v1/DaemonSet",
        "batch/v1/Job",
        "batch/v1/CronJob",
        "policy/v1/PodDisruptionBudget",
        "apiextensions.k8s.io/v1/CustomResourceDefinition",
        "autoscaling/v2/HorizontalPodAutoscaler",
        "networking.k8s.io/v1/Ingress",
        "networking.k8s.io/v1/NetworkPolicy",
        "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration",
        "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration",
    }
)


def tracks_generation(kind_key: str) -> bool:
    """Whether `metadata.generation` is kept for this kind (Services and ConfigMaps have none)."""
    return kind_key in _GENERATION_KINDS


def random_suffix(length: int = 5) -> str:
    """A generated-name suffix such as the `xk2p9` of `kube-api-access-xk2p9`."""
    return "".join(random.choice(_NAME_SUFFIX_ALPHABET) for _ in range(length))


# ---------------------------------------------------------------------------------------------
# Containers and pod specs (also used for the templates of workloads)


def _image_pull_policy(image: str) -> str:
    """Always for `:latest` or untagged images, IfNotPresent otherwise (digests included)."""
    name, _, digest = image.partition("@")
    last_part = name.rsplit("/", 1)[-1]
    if ":" in last_part:
        return "Always" if last_part.rsplit(":", 1)[1] == "latest" else "IfNotPresent"
    return "IfNotPresent" if digest else "Always"


def _canonical_resource_list(resources: dict | None) -> None:
    if not resources:
        return
    for name, amount in list(resources.items()):
        resources[name] = quantities.canonical_quantity(amount)


def _default_http_get(action: dict) -> None:
    action.setdefault("path", "/")
    action.setdefault("scheme", "HTTP")


def _default_probe(probe: dict | None) -> None:
    if probe is None:
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        _default_http_get(probe["httpGet"])
    if isinstance(probe.get("grpc"), dict):
        probe["grpc"].setdefault("service", "")


def _default_lifecycle(lifecycle: dict | None) -> None:
    for hook in (lifecycle or {}).values():
        if isinstance(hook, dict) and isinstance(hook.get("httpGet"), dict):
            _default_http_get(hook["httpGet"])


def _default_env(env: list | None) -> None:
    for var in env or []:
        field_ref = (var.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")


def _default_container(container: dict, host_network: bool) -> None:
    container.setdefault("resources", {})
    resources = container["resources"]
    _canonical_resource_list(resources.get("limits"))
    _canonical_resource_list(resources.get("requests"))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if "imagePullPolicy" not in container and isinstance(container.get("image"), str):
        container["imagePullPolicy"] = _image_pull_policy(container["image"])
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if host_network and "containerPort" in port:
            port.setdefault("hostPort", port["containerPort"])
    for probe_field in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(container.get(probe_field))
    _default_lifecycle(container.get("lifecycle"))
    _default_env(container.get("env"))


_VOLUME_SOURCES_WITH_MODE = ("secret", "configMap", "downwardAPI", "projected")
_VOLUME_SOURCE_FIELDS = frozenset(
    {
        "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
        "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
        "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
        "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume",
        "scaleIO", "storageos", "csi", "ephemeral", "image",
    }
)


def _default_volume(volume: dict) -> None:
    if not any(key in _VOLUME_SOURCE_FIELDS for key in volume):
        volume["emptyDir"] = {}
    for source in _VOLUME_SOURCES_WITH_MODE:
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", 420)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")
    if isinstance(volume.get("emptyDir"), dict) and "sizeLimit" in volume["emptyDir"]:
        volume["emptyDir"]["sizeLimit"] = quantities.canonical_quantity(volume["emptyDir"]["sizeLimit"])
    for item in (volume.get("downwardAPI") or {}).get("items") or []:
        if isinstance(item.get("fieldRef"), dict):
            item["fieldRef"].setdefault("apiVersion", "v1")
    for source in (volume.get("projected") or {}).get("sources") or []:
        if isinstance(source.get("serviceAccountToken"), dict):
            source["serviceAccountToken"].setdefault("expirationSeconds", 3600)
    claim_template = (volume.get("ephemeral") or {}).get("volumeClaimTemplate")
    if isinstance(claim_template, dict):
        _default_claim_spec(claim_template.setdefault("spec", {}))


def _all_containers(spec: dict) -> list[dict]:
    return [c for field in ("initContainers", "containers") for c in spec.get(field) or [] if isinstance(c, dict)]


def default_pod_spec(spec: dict) -> None:
    """SetDefaults_PodSpec and its parts: what a pod template gets as well as a Pod."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    host_network = bool(spec.get("hostNetwork"))
    for container in _all_containers(spec):
        _default_container(container, host_network)
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict):
            _default_volume(volume)
    overhead = spec.get("overhead")
    _canonical_resource_list(overhead)


def _default_pod_template(template: dict | None) -> None:
    if not isinstance(template, dict):
        return
    template.setdefault("metadata", {})
    default_pod_spec(template.setdefault("spec", {}))


def _copy_limits_to_requests(container: dict) -> None:
    """A resource with a limit and no request is requested at its limit (SetDefaults_Pod)."""
    resources = container.setdefault("resources", {})
    limits = resources.get("limits") or {}
    if not limits:
        return
    requests = resources.setdefault("requests", {})
    for name, amount in limits.items():
        requests.setdefault(name, amount)


def _service_account_volume(volume_name: str) -> dict:
    return {
        "name": volume_name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}
                        ]
                    }
                },
            ],
            "defaultMode": 420,
        },
    }


def _admit_service_account(spec: dict) -> None:
    """The ServiceAccount admission plugin: name "default" and the projected token volume."""
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = name
    spec["serviceAccount"] = name
    if spec.get("automountServiceAccountToken") is False:
        return
    containers = _all_containers(spec)
    needs_mount = [
        c for c in containers
        if not any(m.get("mountPath") == SERVICE_ACCOUNT_MOUNT_PATH for m in c.get("volumeMounts") or [])
    ]
    if not needs_mount:
        return
    volumes = spec.setdefault("volumes", [])
    existing = [v["name"] for v in volumes if str(v.get("name", "")).startswith("kube-api-access-")]
    if existing:
        volume_name = existing[0]
    else:
        volume_name = f"kube-api-access-{random_suffix()}"
        volumes.append(_service_account_volume(volume_name))
    for container in needs_mount:
        container.setdefault("volumeMounts", []).append(
            {"name": volume_name, "readOnly": True, "mountPath": SERVICE_ACCOUNT_MOUNT_PATH}
        )


def _tolerates(tolerations: list, key: str) -> bool:
    return any(
        (t.get("key") in (key, None, "")) and (t.get("effect") in ("NoExecute", None, ""))
        for t in tolerations
    )


def _admit_default_tolerations(spec: dict) -> None:
    """DefaultTolerationSeconds: stay 300 s on a not-ready or unreachable node."""
    tolerations = spec.get("tolerations") or []
    for key in _DEFAULT_TOLERATION_KEYS:
        if not _tolerates(tolerations, key):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    spec["tolerations"] = tolerations


def _admit_priority(spec: dict) -> None:
    """Priority admission; a user PriorityClass is resolved by the API layer, not here."""
    class_name = spec.get("priorityClassName")
    if not class_name:
        spec.setdefault("priority", 0)
    elif class_name in _BUILTIN_PRIORITY_CLASSES:
        spec.setdefault("priority", _BUILTIN_PRIORITY_CLASSES[class_name])
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def _effective_requests(container: dict) -> tuple[dict, dict]:
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    requests = dict(limits)
    requests.update(resources.get("requests") or {})
    return requests, limits


def qos_class(spec: dict) -> str:
    """Guaranteed, Burstable or BestEffort, from cpu and memory requests and limits."""
    requested: dict[str, object] = {}
    limited: dict[str, object] = {}
    guaranteed = True
    for container in _all_containers(spec):
        requests, limits = _effective_requests(container)
        for name in ("cpu", "memory"):
            if name in requests and quantities.parse_quantity(requests[name]) != 0:
                requested[name] = requested.get(name, 0) + quantities.parse_quantity(requests[name])
            if name in limits and quantities.parse_quantity(limits[name]) != 0:
                limited[name] = limited.get(name, 0) + quantities.parse_quantity(limits[name])
            else:
                guaranteed = False
    if not requested and not limited:
        return "BestEffort"
    if guaranteed and requested == limited:
        return "Guaranteed"
    return "Burstable"


def _default_pod(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    default_pod_spec(spec)
    for container in _all_containers(spec):
        _copy_limits_to_requests(container)
    spec.setdefault("enableServiceLinks", True)
    _admit_service_account(spec)
    _admit_default_tolerations(spec)
    _admit_priority(spec)


# ---------------------------------------------------------------------------------------------
# Workloads


def _default_deployment(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _default_pod_template(spec.setdefault("template", {}))
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)


def _default_replica_set(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _default_pod_template(spec.setdefault("template", {}))


def _default_claim_spec(spec: dict) -> None:
    spec.setdefault("volumeMode", "Filesystem")
    resources = spec.get("resources") or {}
    _canonical_resource_list(resources.get("requests"))
    _canonical_resource_list(resources.get("limits"))


def _default_stateful_set(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _default_pod_template(spec.setdefault("template", {}))
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    policy = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    policy.setdefault("whenDeleted", "Retain")
    policy.setdefault("whenScaled", "Retain")
    for claim in spec.get("volumeClaimTemplates") or []:
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        claim.setdefault("metadata", {})
        _default_claim_spec(claim.setdefault("spec", {}))
        claim.setdefault("status", {}).setdefault("phase", "Pending")


def _default_daemon_set(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    _default_pod_template(spec.setdefault("template", {}))
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    # Template generation 1 on create; the update path bumps it when the template changes.
    obj.setdefault("metadata", {}).setdefault("annotations", {}).setdefault(DAEMONSET_TEMPLATE_GENERATION, "1")


def _generate_job_selector(obj: dict, spec: dict) -> None:
    """What the Job strategy does on create unless `manualSelector: true`: select by uid."""
    if spec.get("manualSelector") is True:
        return
    metadata = obj.get("metadata") or {}
    uid = metadata.get("uid")
    if not uid:
        return
    template_metadata = spec["template"].setdefault("metadata", {})
    labels = template_metadata.get("labels") or {}
    labels.setdefault(JOB_CONTROLLER_UID_LABEL, uid)
    labels.setdefault(JOB_NAME_LABEL, metadata.get("name", ""))
    labels.setdefault(LEGACY_CONTROLLER_UID_LABEL, uid)
    labels.setdefault(LEGACY_JOB_NAME_LABEL, metadata.get("name", ""))
    template_metadata["labels"] = labels
    selector = spec.get("selector") or {}
    match_labels = selector.get("matchLabels") or {}
    match_labels.setdefault(JOB_CONTROLLER_UID_LABEL, uid)
    selector["matchLabels"] = match_labels
    spec["selector"] = selector


def _default_job_spec(spec: dict) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimitPerIndex") is None:
        spec.setdefault("backoffLimit", 6)
    else:
        spec.setdefault("backoffLimit", 2147483647)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    if spec.get("podFailurePolicy"):
        spec.setdefault("podReplacementPolicy", "Failed")
    else:
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    spec.setdefault("manualSelector", False)


def _default_job(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    _default_pod_template(spec.setdefault("template", {}))
    _default_job_spec(spec)
    _generate_job_selector(obj, spec)
    # A Job without labels of its own carries its pods' labels.
    metadata = obj.setdefault("metadata", {})
    template_labels = (spec["template"].get("metadata") or {}).get("labels")
    if template_labels and not metadata.get("labels"):
        metadata["labels"] = dict(template_labels)


def _default_cron_job(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.setdefault("jobTemplate", {})
    job_template.setdefault("metadata", {})
    _default_pod_template(job_template.setdefault("spec", {}).setdefault("template", {}))


def _default_pod_template_object(obj: dict) -> None:
    _default_pod_template(obj.setdefault("template", {}))


def _default_replication_controller(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    template = spec.get("template")
    if isinstance(template, dict):
        _default_pod_template(template)
        labels = (template.get("metadata") or {}).get("labels")
        if labels:
            spec.setdefault("selector", dict(labels))
            if not obj.setdefault("metadata", {}).get("labels"):
                obj["metadata"]["labels"] = dict(labels)


# ---------------------------------------------------------------------------------------------
# Networking, storage, configuration, cluster objects


def _default_service(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    service_type = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
        config.setdefault("timeoutSeconds", 10800)
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and "port" in port:
            port["targetPort"] = port["port"]
    if service_type in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if service_type == "ExternalName":
        return
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    headless_without_selector = spec.get("clusterIP") == "None" and not spec.get("selector")
    # A single-stack IPv4 cluster, as kind's default.
    spec.setdefault("ipFamilyPolicy", "RequireDualStack" if headless_without_selector else "SingleStack")
    spec.setdefault("ipFamilies", ["IPv4"])


def _default_pvc(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    # DefaultStorageClass admission fills only an absent class; "" asks for no class.
    if spec.get("storageClassName") is None and not spec.get("volumeName"):
        spec["storageClassName"] = DEFAULT_STORAGE_CLASS
    _default_claim_spec(spec)
    _ensure_finalizer(obj, "kubernetes.io/pvc-protection")


def _default_pv(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    _canonical_resource_list(spec.get("capacity"))
    if isinstance(spec.get("hostPath"), dict):
        spec["hostPath"].setdefault("type", "")
    _ensure_finalizer(obj, "kubernetes.io/pv-protection")


def _ensure_finalizer(obj: dict, finalizer: str) -> None:
    finalizers = obj.setdefault("metadata", {}).setdefault("finalizers", [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)


def _default_secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.get("data") or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def _default_namespace(obj: dict) -> None:
    metadata = obj.setdefault("metadata", {})
    if metadata.get("name"):
        metadata.setdefault("labels", {})["kubernetes.io/metadata.name"] = metadata["name"]
    finalizers = obj.setdefault("spec", {}).setdefault("finalizers", [])
    if "kubernetes" not in finalizers:
        finalizers.append("kubernetes")


def _default_node(obj: dict) -> None:
    status = obj.get("status")
    if not isinstance(status, dict):
        return
    _canonical_resource_list(status.get("capacity"))
    _canonical_resource_list(status.get("allocatable"))
    if status.get("capacity") and not status.get("allocatable"):
        status["allocatable"] = dict(status["capacity"])


def _default_endpoints(obj: dict) -> None:
    for subset in obj.get("subsets") or []:
        for port in subset.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _default_endpoint_slice(obj: dict) -> None:
    for port in obj.get("ports") or []:
        port.setdefault("name", "")
        port.setdefault("protocol", "TCP")


def _default_binding_subjects(obj: dict) -> None:
    for subject in obj.get("subjects") or []:
        if subject.get("kind") in ("User", "Group"):
            subject.setdefault("apiGroup", "rbac.authorization.k8s.io")
        elif subject.get("kind") == "ServiceAccount":
            subject.setdefault("apiGroup", "")


def _default_event(obj: dict) -> None:
    # Plain strings without omitempty in core/v1 Event: always written.
    obj.setdefault("reportingComponent", "")
    obj.setdefault("reportingInstance", "")


def _default_crd(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("conversion", {}).setdefault("strategy", "None")
    webhook = spec["conversion"].get("webhook") or {}
    service = (webhook.get("clientConfig") or {}).get("service")
    if isinstance(service, dict):
        service.setdefault("port", 443)
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")


def _nothing(obj: dict) -> None:
    """Kinds the server stores as sent (ConfigMap, ServiceAccount, Lease, Role, ...)."""


_DEFAULTERS: dict[str, Callable[[dict], None]] = {
    "v1/Pod": _default_pod,
    "v1/PodTemplate": _default_pod_template_object,
    "v1/ReplicationController": _default_replication_controller,
    "apps/v1/Deployment": _default_deployment,
    "apps/v1/ReplicaSet": _default_replica_set,
    "apps/v1/StatefulSet": _default_stateful_set,
    "apps/v1/DaemonSet": _default_daemon_set,
    "batch/v1/Job": _default_job,
    "batch/v1/CronJob": _default_cron_job,
    "v1/Service": _default_service,
    "v1/PersistentVolumeClaim": _default_pvc,
    "v1/PersistentVolume": _default_pv,
    "v1/Secret": _default_secret,
    "v1/ConfigMap": _nothing,
    "v1/Namespace": _default_namespace,
    "v1/ServiceAccount": _nothing,
    "v1/Node": _default_node,
    "v1/Endpoints": _default_endpoints,
    "v1/Event": _default_event,
    "discovery.k8s.io/v1/EndpointSlice": _default_endpoint_slice,
    "coordination.k8s.io/v1/Lease": _nothing,
    "rbac.authorization.k8s.io/v1/Role": _nothing,
    "rbac.authorization.k8s.io/v1/ClusterRole": _nothing,
    "rbac.authorization.k8s.io/v1/RoleBinding": _default_binding_subjects,
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding": _default_binding_subjects,
    "policy/v1/PodDisruptionBudget": _nothing,
    "apiextensions.k8s.io/v1/CustomResourceDefinition": _default_crd,
    webhook_configs.MUTATING: webhook_configs.default_mutating,
    webhook_configs.VALIDATING: webhook_configs.default_validating,
}


# ---------------------------------------------------------------------------------------------
# Status


def initial_status(kind_key: str, obj: dict) -> dict | None:
    """The status a created object starts with; None for kinds without status."""
    spec = obj.get("spec") or {}
    if kind_key == "v1/Pod":
        return {"phase": "Pending", "qosClass": qos_class(spec)}
    if kind_key == "apps/v1/StatefulSet":
        return {"replicas": 0, "availableReplicas": 0}
    if kind_key in ("apps/v1/ReplicaSet", "v1/ReplicationController"):
        return {"replicas": 0}
    if kind_key == "apps/v1/DaemonSet":
        return {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}
    if kind_key in ("v1/PersistentVolumeClaim", "v1/PersistentVolume"):
        return {"phase": "Pending"}
    if kind_key == "v1/Namespace":
        return {"phase": "Active"}
    if kind_key == "v1/Service":
        return {"loadBalancer": {}}
    if kind_key == "policy/v1/PodDisruptionBudget":
        return {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
    if kind_key == "apiextensions.k8s.io/v1/CustomResourceDefinition":
        storage = [v.get("name") for v in spec.get("versions") or [] if v.get("storage")]
        return {"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": storage}
    if kind_key in ("apps/v1/Deployment", "batch/v1/Job", "batch/v1/CronJob"):
        return {}
    return None


# Kinds whose create keeps the status the client sent (a node reports its own).
_STATUS_KEPT_ON_CREATE = frozenset({"v1/Node"})


def set_initial_status(kind_key: str, obj: dict) -> None:
    """Replace the client's status with the one a create starts from."""
    if kind_key in _STATUS_KEPT_ON_CREATE or kind_key not in _DEFAULTERS:
        return
    status = initial_status(kind_key, obj)
    if status is None:
        obj.pop("status", None)
    else:
        obj["status"] = status


def apply_defaults(kind_key: str, obj: dict) -> None:
    """Fill in what the API server adds to a built-in object; unknown kinds are left alone."""
    defaulter = _DEFAULTERS.get(kind_key)
    if defaulter is None:
        return
    defaulter(obj)
    fresh = initial_status(kind_key, obj)
    if fresh is not None:
        status = obj.get("status")
        if not isinstance(status, dict):
            obj["status"] = copy.deepcopy(fresh)
        else:
            for key, value in fresh.items():
                status.setdefault(key, value)
