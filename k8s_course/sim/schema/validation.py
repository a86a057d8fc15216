"""Validation of built-in kinds, answering with the field errors a real API server gives.

`validate(kind_key, obj, old=None)` runs on the defaulted object: on create (old is None)
the kind's name rule, metadata and spec rules; on update the metadata update rules, the spec
rules again and what may not change. The rules live in `validation_meta` (names, labels,
selectors), `validation_pods`, `validation_workloads` and `validation_core`. CRDs and custom
resources are validated elsewhere; their metadata is still checked here.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import FieldError
from . import validation_core as core
from . import validation_meta as meta
from . import validation_pods as pods
from . import validation_workloads as workloads
from . import webhook_configs

__all__ = ["validate", "validate_name"]

_NAME_RULES: dict[str, Callable[[str], list[str]]] = {
    "v1/Namespace": meta.is_dns1123_label,
    "apps/v1/StatefulSet": meta.is_dns1123_label,
    "v1/Service": meta.is_dns1035_label,
    "rbac.authorization.k8s.io/v1/Role": meta.is_path_segment_name,
    "rbac.authorization.k8s.io/v1/ClusterRole": meta.is_path_segment_name,
    "rbac.authorization.k8s.io/v1/RoleBinding": meta.is_path_segment_name,
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding": meta.is_path_segment_name,
}


def validate_name(kind_key: str, name: str) -> list[str]:
    """The messages for a bad `metadata.name` of this kind; most kinds take a DNS-1123 subdomain."""
    return _NAME_RULES.get(kind_key, meta.is_dns1123_subdomain)(name)


def _pod(obj: dict) -> list[FieldError]:
    return pods.validate_pod_spec(obj.get("spec") or {}, "spec")


def _pod_template(obj: dict) -> list[FieldError]:
    return pods.validate_pod_template(obj.get("template"), "template")


def _pod_update(obj: dict, old: dict) -> list[FieldError]:
    return pods.validate_pod_update(obj.get("spec") or {}, old.get("spec") or {})


_CREATE_RULES: dict[str, Callable[[dict], list[FieldError]]] = {
    "v1/Pod": _pod,
    "v1/PodTemplate": _pod_template,
    "apps/v1/Deployment": workloads.validate_deployment,
    "apps/v1/ReplicaSet": workloads.validate_replica_set,
    "apps/v1/StatefulSet": workloads.validate_stateful_set,
    "apps/v1/DaemonSet": workloads.validate_daemon_set,
    "batch/v1/Job": workloads.validate_job,
    "batch/v1/CronJob": workloads.validate_cron_job,
    "v1/Service": core.validate_service,
    "v1/PersistentVolumeClaim": core.validate_pvc,
    "v1/ConfigMap": core.validate_config_map,
    "v1/Secret": core.validate_secret,
    webhook_configs.MUTATING: webhook_configs.validate_mutating,
    webhook_configs.VALIDATING: webhook_configs.validate_validating,
}

_UPDATE_RULES: dict[str, Callable[[dict, dict], list[FieldError]]] = {
    "v1/Pod": _pod_update,
    "apps/v1/Deployment": workloads.selector_immutable,
    "apps/v1/ReplicaSet": workloads.selector_immutable,
    "apps/v1/DaemonSet": workloads.selector_immutable,
    "apps/v1/StatefulSet": workloads.validate_stateful_set_update,
    "batch/v1/Job": workloads.validate_job_update,
    "v1/Service": core.validate_service_update,
    "v1/PersistentVolumeClaim": core.validate_pvc_update,
    "v1/ConfigMap": core.validate_immutable_data_update,
    "v1/Secret": core.validate_immutable_data_update,
}


def validate(kind_key: str, obj: dict, old: dict | None = None) -> list[FieldError]:
    """All field errors of a (defaulted) object; empty when the server would accept it."""
    metadata = obj.get("metadata") or {}
    if old is None:
        errors = meta.validate_object_meta(metadata, lambda name: validate_name(kind_key, name))
    else:
        errors = meta.validate_object_meta_update(metadata, old.get("metadata") or {})
    create_rule = _CREATE_RULES.get(kind_key)
    if create_rule is not None:
        errors.extend(create_rule(obj))
    update_rule = _UPDATE_RULES.get(kind_key)
    if old is not None and update_rule is not None:
        errors.extend(update_rule(obj, old))
    return errors
