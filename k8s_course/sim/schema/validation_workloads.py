"""Validation of workload kinds: Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob.

Spec rules on create and update, and the immutable parts on update, in the words of
apps/v1 and batch/v1 validation. Pod templates are checked by `validation_pods`.
"""

from __future__ import annotations

import re

from ..errors import FieldError, forbidden, invalid, not_supported, required
from . import validation_cron as cron
from . import validation_meta as meta
from . import validation_pods as pods

NON_NEGATIVE = pods.NON_NEGATIVE
SELECTOR_MISMATCH = "`selector` does not match template `labels`"
STATEFULSET_UPDATE_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
    "'minReadySeconds' are forbidden"
)
PERCENT_MSG = meta.regex_error(
    "a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%"
)
_PERCENT = re.compile(r"^[0-9]+%$")


def _non_negative(spec: dict, key: str, path: str) -> list[FieldError]:
    value = spec.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [invalid(f"{path}.{key}", value, NON_NEGATIVE)]
    return []


def _selector_and_template(spec: dict, kind_word: str, *, validate_template_spec: bool = True) -> list[FieldError]:
    """Selector present, not empty, well formed and matching the template's labels."""
    errors: list[FieldError] = []
    selector = spec.get("selector")
    if selector is None:
        errors.append(required("spec.selector"))
    else:
        errors.extend(meta.validate_label_selector(selector, "spec.selector"))
        if meta.selector_is_empty(selector):
            errors.append(invalid("spec.selector", meta.selector_as_value(selector), f"empty selector is invalid for {kind_word}"))
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels")
    if not meta.selector_is_empty(selector) and not meta.selector_matches(selector, labels):
        errors.append(invalid("spec.template.metadata.labels", labels, SELECTOR_MISMATCH))
    if validate_template_spec:
        errors.extend(pods.validate_pod_template(template, "spec.template"))
    return errors


def _always_restarting_template(spec: dict, kind_word: str) -> list[FieldError]:
    template_spec = (spec.get("template") or {}).get("spec") or {}
    errors: list[FieldError] = []
    policy = template_spec.get("restartPolicy", "")
    if policy != "Always":
        errors.append(not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))
    if template_spec.get("activeDeadlineSeconds") is not None:
        errors.append(forbidden("spec.template.spec.activeDeadlineSeconds", f"activeDeadlineSeconds in {kind_word} is not Supported"))
    return errors


def _int_or_percent(value: object, path: str) -> list[FieldError]:
    if isinstance(value, str):
        return [] if _PERCENT.match(value) else [invalid(path, value, PERCENT_MSG)]
    if isinstance(value, int) and not isinstance(value, bool):
        return [invalid(path, value, NON_NEGATIVE)] if value < 0 else []
    return [invalid(path, value, "must be an integer or percentage (e.g '5%')")]


def _int_or_percent_value(value: object) -> int:
    if isinstance(value, str) and _PERCENT.match(value):
        return int(value[:-1])
    return value if isinstance(value, int) else 0


def _over_100_percent(value: object, path: str) -> list[FieldError]:
    if isinstance(value, str) and _PERCENT.match(value) and int(value[:-1]) > 100:
        return [invalid(path, value, "must not be greater than 100%")]
    return []


def _deployment_strategy(strategy: dict) -> list[FieldError]:
    path = "spec.strategy"
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        return [forbidden(f"{path}.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")] if rolling else []
    if kind != "RollingUpdate":
        return [not_supported(path, strategy, ["Recreate", "RollingUpdate"])]
    if rolling is None:
        return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
    where = f"{path}.rollingUpdate"
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errors = _int_or_percent(unavailable, f"{where}.maxUnavailable") + _int_or_percent(surge, f"{where}.maxSurge")
    if _int_or_percent_value(unavailable) == 0 and _int_or_percent_value(surge) == 0:
        errors.append(invalid(f"{where}.maxUnavailable", unavailable, "may not be 0 when `maxSurge` is 0"))
    errors.extend(_over_100_percent(unavailable, f"{where}.maxUnavailable"))
    return errors


def validate_deployment(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors = _non_negative(spec, "replicas", "spec")
    errors += _selector_and_template(spec, "deployment")
    errors += _always_restarting_template(spec, "ReplicaSet")
    errors += _deployment_strategy(spec.get("strategy") or {})
    errors += _non_negative(spec, "minReadySeconds", "spec")
    errors += _non_negative(spec, "revisionHistoryLimit", "spec")
    deadline = spec.get("progressDeadlineSeconds")
    if isinstance(deadline, int):
        errors += _non_negative(spec, "progressDeadlineSeconds", "spec")
        if deadline <= spec.get("minReadySeconds", 0):
            errors.append(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))
    return errors


def validate_replica_set(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors = _non_negative(spec, "replicas", "spec") + _non_negative(spec, "minReadySeconds", "spec")
    # Kubernetes says "deployment" here too.
    errors += _selector_and_template(spec, "deployment")
    errors += _always_restarting_template(spec, "ReplicaSet")
    return errors


def validate_stateful_set(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    policy = spec.get("podManagementPolicy", "")
    if not policy:
        errors.append(required("spec.podManagementPolicy"))
    elif policy not in ("OrderedReady", "Parallel"):
        errors.append(invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"))
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type", "")
    if not kind:
        errors.append(required("spec.updateStrategy"))
    elif kind == "OnDelete" and strategy.get("rollingUpdate") is not None:
        errors.append(invalid("spec.updateStrategy.rollingUpdate", strategy["rollingUpdate"], "only allowed for updateStrategy 'RollingUpdate'"))
    elif kind == "RollingUpdate":
        rolling = strategy.get("rollingUpdate") or {}
        errors += _non_negative(rolling, "partition", "spec.updateStrategy.rollingUpdate")
        if rolling.get("maxUnavailable") is not None:
            where = "spec.updateStrategy.rollingUpdate.maxUnavailable"
            errors += _int_or_percent(rolling["maxUnavailable"], where)
            if _int_or_percent_value(rolling["maxUnavailable"]) == 0:
                errors.append(invalid(where, rolling["maxUnavailable"], "cannot be 0"))
            errors += _over_100_percent(rolling["maxUnavailable"], where)
    elif kind != "OnDelete":
        errors.append(invalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'"))
    retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    for key in ("whenDeleted", "whenScaled"):
        if key in retention and retention[key] not in ("Retain", "Delete"):
            errors.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}", retention[key], ["Retain", "Delete"]))
    errors += _non_negative(spec, "replicas", "spec") + _non_negative(spec, "minReadySeconds", "spec")
    start = (spec.get("ordinals") or {}).get("start")
    if isinstance(start, int) and start < 0:
        errors.append(invalid("spec.ordinals.start", start, NON_NEGATIVE))
    # Kubernetes does not validate a StatefulSet's pod spec here (claim templates would not
    # count as volumes); only labels, annotations and the restart policy.
    errors += _selector_and_template(spec, "statefulset", validate_template_spec=False)
    template_meta = (spec.get("template") or {}).get("metadata") or {}
    errors += meta.validate_labels(template_meta.get("labels"), "spec.template.labels")
    errors += meta.validate_annotations(template_meta.get("annotations"), "spec.template.annotations")
    errors += _always_restarting_template(spec, "StatefulSet")
    return errors


def validate_stateful_set_update(obj: dict, old: dict) -> list[FieldError]:
    mutable = ("replicas", "template", "updateStrategy", "minReadySeconds", "ordinals",
               "persistentVolumeClaimRetentionPolicy", "revisionHistoryLimit")
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    rest = {k: v for k, v in spec.items() if k not in mutable}
    old_rest = {k: v for k, v in old_spec.items() if k not in mutable}
    if meta.immutable("spec", rest, old_rest):
        return [forbidden("spec", STATEFULSET_UPDATE_FORBIDDEN)]
    return []


def validate_daemon_set(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors = meta.validate_label_selector(spec.get("selector"), "spec.selector")
    selector = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    if not meta.selector_matches(selector, labels):
        errors.append(invalid("spec.template.metadata.labels", labels, SELECTOR_MISMATCH))
    if selector is not None and meta.selector_is_empty(selector):
        errors.append(invalid("spec.selector", meta.selector_as_value(selector), "empty selector is invalid for daemonset"))
    errors += pods.validate_pod_template(spec.get("template"), "spec.template")
    errors += _always_restarting_template(spec, "DaemonSet")
    errors += _non_negative(spec, "minReadySeconds", "spec")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if rolling is None:
            errors.append(required("spec.updateStrategy.rollingUpdate"))
        else:
            where = "spec.updateStrategy.rollingUpdate"
            unavailable, surge = rolling.get("maxUnavailable", 0), rolling.get("maxSurge", 0)
            errors += _int_or_percent(unavailable, f"{where}.maxUnavailable") + _int_or_percent(surge, f"{where}.maxSurge")
            errors += _over_100_percent(unavailable, f"{where}.maxUnavailable") + _over_100_percent(surge, f"{where}.maxSurge")
            has_unavailable, has_surge = _int_or_percent_value(unavailable) != 0, _int_or_percent_value(surge) != 0
            if has_unavailable and has_surge:
                errors.append(invalid(f"{where}.maxSurge", surge, "may not be set when maxUnavailable is non-zero"))
            elif not has_unavailable and not has_surge:
                errors.append(required(f"{where}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
    elif strategy.get("type") != "OnDelete":
        errors.append(not_supported("spec.updateStrategy", strategy, ["RollingUpdate", "OnDelete"]))
    errors += _non_negative(spec, "revisionHistoryLimit", "spec")
    return errors


def selector_immutable(obj: dict, old: dict) -> list[FieldError]:
    """apps/v1: a workload's selector never changes after create."""
    new_selector = (obj.get("spec") or {}).get("selector")
    old_selector = (old.get("spec") or {}).get("selector")
    if meta.immutable("spec.selector", new_selector, old_selector):
        return [invalid("spec.selector", meta.selector_as_value(new_selector or {}), "field is immutable")]
    return []


# ---------------------------------------------------------------------------------------------
# Jobs


def _job_spec(spec: dict, path: str) -> list[FieldError]:
    """validateJobSpec: counts, completion mode, the pod template and its restart policy."""
    errors: list[FieldError] = []
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"):
        errors += _non_negative(spec, key, path)
    mode = spec.get("completionMode")
    if mode is not None:
        if mode not in ("NonIndexed", "Indexed"):
            errors.append(not_supported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"]))
        if mode == "Indexed" and spec.get("completions") is None:
            errors.append(required(f"{path}.completions", "when completion mode is Indexed"))
    errors += pods.validate_pod_template(spec.get("template"), f"{path}.template")
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy", "")
    where = f"{path}.template.spec.restartPolicy"
    if policy in ("Always", ""):
        errors.append(required(where, 'valid values: "OnFailure", "Never"'))
    elif policy not in ("OnFailure", "Never"):
        errors.append(not_supported(where, policy, ["OnFailure", "Never"]))
    return errors


def validate_job(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    selector = spec.get("selector")
    if spec.get("manualSelector") is not True and selector is not None:
        uid = (obj.get("metadata") or {}).get("uid")
        generated = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        if uid and meta.selector_as_value(selector) != generated:
            errors.append(invalid("spec.selector", meta.selector_as_value(selector), "`selector` not auto-generated"))
    errors += _job_spec(spec, "spec")
    if selector is None:
        errors.append(required("spec.selector"))
    else:
        errors += meta.validate_label_selector(selector, "spec.selector")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
        if not meta.selector_matches(selector, labels):
            errors.append(invalid("spec.template.metadata.labels", labels, SELECTOR_MISMATCH))
    return errors


def validate_job_update(obj: dict, old: dict) -> list[FieldError]:
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    errors: list[FieldError] = []
    for key in ("completions", "selector", "completionMode", "podFailurePolicy", "backoffLimitPerIndex"):
        if key == "selector":
            errors += selector_immutable(obj, old)
        else:
            errors += meta.immutable(f"spec.{key}", spec.get(key), old_spec.get(key))
    template, old_template = spec.get("template") or {}, old_spec.get("template") or {}
    # A suspended Job that never started may change its pods' scheduling and metadata.
    if old_spec.get("suspend") and not (old.get("status") or {}).get("startTime"):
        schedulable = ("nodeSelector", "tolerations", "affinity", "schedulingGates")
        template = {"spec": {k: v for k, v in (template.get("spec") or {}).items() if k not in schedulable}}
        old_template = {"spec": {k: v for k, v in (old_template.get("spec") or {}).items() if k not in schedulable}}
    errors += meta.immutable("spec.template", template, old_template)
    return errors


def validate_cron_job(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    name = (obj.get("metadata") or {}).get("name") or ""
    if len(name) > 52:
        # Jobs are named `<cronjob>-<minutes>`: 11 characters kept for the suffix.
        errors.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    schedule = spec.get("schedule", "")
    if not schedule:
        errors.append(required("spec.schedule"))
    else:
        error = cron.schedule_error(schedule)
        if error:
            errors.append(invalid("spec.schedule", schedule, error))
        if "TZ" in schedule:
            errors.append(invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    policy = spec.get("concurrencyPolicy", "")
    if not policy:
        errors.append(required("spec.concurrencyPolicy"))
    elif policy not in ("Allow", "Forbid", "Replace"):
        errors.append(not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"]))
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        errors += _non_negative(spec, key, "spec")
    job_template = spec.get("jobTemplate") or {}
    job_spec = job_template.get("spec") or {}
    errors += meta.validate_labels((job_template.get("metadata") or {}).get("labels"), "spec.jobTemplate.metadata.labels")
    if job_spec.get("selector") is not None:
        errors.append(invalid("spec.jobTemplate.spec.selector", meta.selector_as_value(job_spec["selector"]), "`selector` will be auto-generated"))
    if job_spec.get("manualSelector") is True:
        errors.append(not_supported("spec.jobTemplate.spec.manualSelector", True, ["nil", "false"]))
    errors += _job_spec(job_spec, "spec.jobTemplate.spec")
    return errors
