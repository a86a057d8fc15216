"""Defaulting and validation of MutatingWebhookConfiguration and ValidatingWebhookConfiguration.

What the admissionregistration.k8s.io/v1 defaulters and the registry's validation do to a webhook
configuration before it is stored: every webhook gets failurePolicy Fail, matchPolicy
Equivalent, empty selectors, a 10 s timeout and port 443 (and reinvocationPolicy Never when it
mutates); names, side effects, review versions, client configs, timeouts and rules are checked
with the API server's wording. Not checked: matchConditions' CEL, the label selectors' syntax.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .. import errors
from ..errors import FieldError
from . import validation_meta

MUTATING = "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration"
VALIDATING = "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration"
OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"]
SIDE_EFFECTS = ["None", "NoneOnDryRun"]
REVIEW_VERSIONS = ["v1", "v1beta1"]
FAILURE_POLICIES = ["Fail", "Ignore"]
MATCH_POLICIES = ["Equivalent", "Exact"]
REINVOCATION_POLICIES = ["IfNeeded", "Never"]
SCOPES = ["*", "Cluster", "Namespaced"]
DEFAULT_TIMEOUT_SECONDS = 10


# ---------------------------------------------------------------- defaulting


def default_webhooks(obj: dict, mutating: bool) -> None:
    for webhook in obj.get("webhooks") or []:
        if not isinstance(webhook, dict):
            continue
        webhook.setdefault("failurePolicy", "Fail")
        webhook.setdefault("matchPolicy", "Equivalent")
        webhook.setdefault("namespaceSelector", {})
        webhook.setdefault("objectSelector", {})
        webhook.setdefault("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
        if mutating:
            webhook.setdefault("reinvocationPolicy", "Never")
        for rule in webhook.get("rules") or []:
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")
        service = (webhook.get("clientConfig") or {}).get("service")
        if isinstance(service, dict):
            service.setdefault("port", 443)


def default_mutating(obj: dict) -> None:
    default_webhooks(obj, mutating=True)


def default_validating(obj: dict) -> None:
    default_webhooks(obj, mutating=False)


# ---------------------------------------------------------------- validation


def validate_mutating(obj: dict) -> list[FieldError]:
    return _validate(obj, mutating=True)


def validate_validating(obj: dict) -> list[FieldError]:
    return _validate(obj, mutating=False)


def _validate(obj: dict, mutating: bool) -> list[FieldError]:
    found: list[FieldError] = []
    seen: set[str] = set()
    side_effects = SIDE_EFFECTS  # (an update may keep the old "Some"/"Unknown": not modelled)
    for index, webhook in enumerate(obj.get("webhooks") or []):
        path = f"webhooks[{index}]"
        name = webhook.get("name") or ""
        if not name:
            found.append(errors.required(f"{path}.name"))
        else:
            problems = validation_meta.is_dns1123_subdomain(name)
            if problems:
                found.append(errors.invalid(f"{path}.name", name, ",".join(problems)))
            elif len(name.split(".")) < 3:
                found.append(errors.invalid(f"{path}.name", name,
                                            "should be a domain with at least three segments separated by dots"))
            elif name in seen:
                found.append(errors.duplicate(f"{path}.name", name))
            seen.add(name)
        found += _rules(webhook.get("rules") or [], f"{path}.rules")
        found += _choice(webhook, "failurePolicy", FAILURE_POLICIES, path)
        found += _choice(webhook, "matchPolicy", MATCH_POLICIES, path)
        if mutating:
            found += _choice(webhook, "reinvocationPolicy", REINVOCATION_POLICIES, path)
        effects = webhook.get("sideEffects")
        if not effects:
            found.append(errors.required(f"{path}.sideEffects", f"must specify one of {', '.join(side_effects)}"))
        elif effects not in side_effects:
            found.append(errors.not_supported(f"{path}.sideEffects", effects, side_effects))
        timeout = webhook.get("timeoutSeconds")
        if isinstance(timeout, int) and not 1 <= timeout <= 30:
            found.append(errors.invalid(f"{path}.timeoutSeconds", timeout,
                                        "the timeout value must be between 1 and 30 seconds"))
        found += _review_versions(webhook.get("admissionReviewVersions"), f"{path}.admissionReviewVersions")
        found += _client_config(webhook.get("clientConfig") or {}, f"{path}.clientConfig")
    return found


def _choice(webhook: dict, field: str, allowed: list[str], path: str) -> list[FieldError]:
    value = webhook.get(field)
    if value is not None and value not in allowed:
        return [errors.not_supported(f"{path}.{field}", value, allowed)]
    return []


def _rules(rules: list, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for index, rule in enumerate(rules):
        here = f"{path}[{index}]"
        operations = rule.get("operations") or []
        if not operations:
            found.append(errors.required(f"{here}.operations"))
        for position, operation in enumerate(operations):
            if operation not in OPERATIONS:
                found.append(errors.not_supported(f"{here}.operations[{position}]", operation, OPERATIONS))
        for field in ("apiGroups", "apiVersions", "resources"):
            if not rule.get(field):
                found.append(errors.required(f"{here}.{field}"))
        scope = rule.get("scope")
        if scope is not None and scope not in SCOPES:
            found.append(errors.not_supported(f"{here}.scope", scope, SCOPES))
    return found


def _review_versions(versions, path: str) -> list[FieldError]:
    if not versions:
        return [errors.required(path, f"must specify one of {', '.join(REVIEW_VERSIONS)}")]
    found: list[FieldError] = []
    seen: set[str] = set()
    for index, version in enumerate(versions):
        if version in seen:
            found.append(errors.invalid(f"{path}[{index}]", version, "duplicate version"))
        seen.add(version)
    if not seen & set(REVIEW_VERSIONS):
        found.append(errors.invalid(path, versions, f"must include at least one of {', '.join(REVIEW_VERSIONS)}"))
    return found


def _client_config(config: dict, path: str) -> list[FieldError]:
    url, service = config.get("url"), config.get("service")
    if bool(url) == bool(service):
        return [errors.required(path, "exactly one of url or service is required")]
    if url:
        parts = urlsplit(url)
        if parts.scheme != "https":
            return [errors.invalid(f"{path}.url", url, "'https' is the only allowed URL scheme")]
        if not parts.hostname:
            return [errors.invalid(f"{path}.url", url, "host must be specified")]
        return []
    found: list[FieldError] = []
    for field in ("name", "namespace"):
        if not service.get(field):
            found.append(errors.required(f"{path}.service.{field}", f"service {field} is required"))
    port = service.get("port")
    if isinstance(port, int) and not 1 <= port <= 65535:
        found.append(errors.invalid(f"{path}.service.port", port, "port is not valid: must be between 1 and 65535, inclusive"))
    service_path = service.get("path")
    if service_path and not service_path.startswith("/"):
        found.append(errors.invalid(f"{path}.service.path", service_path, "must start with a '/'"))
    return found
