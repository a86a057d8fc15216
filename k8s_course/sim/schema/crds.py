"""CustomResourceDefinitions: accepting them, and serving the resources they define.

`validate_crd` says what a real API server says about an apiextensions.k8s.io/v1 CRD on create
and update; `default_crd` and `crd_status` give what it stores and what its controllers write
back (names accepted, established). The rest reads a CRD for the serving side: which versions
are served and stored, each version's schema, subresources and printer columns, the scale
subresource. Checking custom resources themselves (prune, default, validate) lives in
`structural`; its public functions are re-exported here.

Like the real server, CRD validation runs on the internal form of the CRD: when every version
carries the same schema (always so with one version) it is checked as the top-level
`spec.validation`, so errors read `spec.validation.openAPIV3Schema.properties[spec]...`;
different per-version schemas are checked under `spec.versions[i].schema.openAPIV3Schema`.
The same goes for subresources and additionalPrinterColumns.

Not modelled: x-kubernetes-validations (CEL; accepted, not compiled), selectableFields, name
conflicts between CRDs of a group (every CRD's names are accepted), conversion webhooks beyond
the shape of `spec.conversion`.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import urlsplit

from k8s_course.sim.errors import (
    APIError,
    FieldError,
    duplicate,
    forbidden,
    invalid,
    invalid_object,
    not_supported,
    required,
)
from k8s_course.sim.schema import structural

__all__ = [
    "API_APPROVED_ANNOTATION",
    "apply_defaults",
    "apply_scale",
    "crd_status",
    "default_crd",
    "printer_columns",
    "prune",
    "scale_of",
    "served_versions",
    "storage_version",
    "subresources",
    "validate",
    "validate_crd",
    "validate_custom_resource",
    "version_schema",
]

apply_defaults = structural.apply_defaults
prune = structural.prune
validate = structural.validate

API_APPROVED_ANNOTATION = "api-approved.kubernetes.io"
_APPROVAL_PR = "https://github.com/kubernetes/enhancements/pull/1111"
_PRINTER_TYPES = "boolean,date,integer,number,string"
_PRINTER_FORMATS = "byte,date,date-time,double,float,int32,int64,password"
_OPENAPI_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_IMMUTABLE = "field is immutable"

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)  # the two spaces before "or" are apimachinery's
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def _dns1035_errors(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _DNS1035.match(value):
        errors.append(_DNS1035_MESSAGE)
    return errors


def _dns1123_subdomain_errors(value: str) -> list[str]:
    errors = []
    if len(value) > 253:
        errors.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.match(value):
        errors.append(_DNS1123_SUBDOMAIN_MESSAGE)
    return errors


# --------------------------------------------------------------------------- reading a CRD


def _versions(crd: dict) -> list[dict]:
    return list((crd.get("spec") or {}).get("versions") or [])


def _version(crd: dict, version: str) -> dict | None:
    return next((v for v in _versions(crd) if v.get("name") == version), None)


def version_schema(crd: dict, version: str) -> dict | None:
    """The openAPIV3Schema of one version, or None if the version or its schema is absent."""
    found = _version(crd, version)
    return ((found or {}).get("schema") or {}).get("openAPIV3Schema")


def storage_version(crd: dict) -> str:
    """The name of the version objects are stored in (exactly one after validation)."""
    for v in _versions(crd):
        if v.get("storage"):
            return v["name"]
    raise ValueError(f"CustomResourceDefinition {crd.get('metadata', {}).get('name')!r} has no storage version")


def served_versions(crd: dict) -> list[str]:
    """Names of the versions the API serves, in the CRD's order."""
    return [v["name"] for v in _versions(crd) if v.get("served")]


def subresources(crd: dict, version: str) -> dict:
    """The version's subresources: {} or with "status": {} and/or "scale": {...paths}."""
    return copy.deepcopy((_version(crd, version) or {}).get("subresources") or {})


def printer_columns(crd: dict, version: str) -> list[dict]:
    """The version's additionalPrinterColumns as declared (the table adds Name and Age)."""
    return copy.deepcopy((_version(crd, version) or {}).get("additionalPrinterColumns") or [])


# --------------------------------------------------------------------------- defaults and status


def default_crd(crd: dict) -> dict:
    """A copy of the CRD with apiextensions/v1 defaults: singular, listKind, conversion."""
    out = copy.deepcopy(crd)
    spec = out.setdefault("spec", {})
    names = spec.setdefault("names", {})
    if not names.get("singular"):
        names["singular"] = (names.get("kind") or "").lower()
    if not names.get("listKind") and names.get("kind"):
        names["listKind"] = names["kind"] + "List"
    if spec.get("conversion") is None:
        spec["conversion"] = {"strategy": "None"}
    service = (((spec.get("conversion") or {}).get("webhook") or {}).get("clientConfig") or {}).get("service")
    if isinstance(service, dict) and service.get("port") is None:
        service["port"] = 443
    return out


def _stored_versions(crd: dict, previous: list[str] | None) -> list[str]:
    # The storage version joins status.storedVersions and never leaves by itself.
    stored = list(previous or [])
    for v in _versions(crd):
        if v.get("storage"):
            if v.get("name") not in stored:
                stored.append(v.get("name"))
            break
    return stored


def _condition(previous: dict, kind: str, status: str, reason: str, message: str, now: str) -> dict:
    old = next((c for c in previous.get("conditions") or [] if c.get("type") == kind), None)
    since = old["lastTransitionTime"] if old and old.get("status") == status and old.get("lastTransitionTime") else now
    return {"type": kind, "status": status, "lastTransitionTime": since, "reason": reason, "message": message}


def crd_status(crd: dict, now: str) -> dict:
    """The status the naming, establishing and API-approval controllers write.

    Conditions come in the order a real server writes them (NamesAccepted, then
    Established, then KubernetesAPIApprovalPolicyConformant for k8s.io groups); a condition
    whose status did not change keeps its lastTransitionTime.
    """
    crd = default_crd(crd)
    previous = crd.get("status") or {}
    names = crd["spec"].get("names") or {}
    accepted: dict[str, Any] = {"plural": names.get("plural", ""), "singular": names.get("singular", "")}
    if names.get("shortNames"):
        accepted["shortNames"] = list(names["shortNames"])
    accepted["kind"] = names.get("kind", "")
    accepted["listKind"] = names.get("listKind", "")
    if names.get("categories"):
        accepted["categories"] = list(names["categories"])
    conditions = [
        _condition(previous, "NamesAccepted", "True", "NoConflicts", "no conflicts found", now),
        _condition(previous, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted", now),
    ]
    approval = _approval_condition(crd)
    if approval is not None:
        conditions.append(_condition(previous, "KubernetesAPIApprovalPolicyConformant", *approval, now))
    return {
        "conditions": conditions,
        "acceptedNames": accepted,
        "storedVersions": _stored_versions(crd, previous.get("storedVersions")),
    }


def _is_established(crd: dict | None) -> bool:
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


# --------------------------------------------------------------------------- API approval


def _protected_group(group: str) -> bool:
    return group in ("k8s.io", "kubernetes.io") or group.endswith((".k8s.io", ".kubernetes.io"))


def _approval_state(crd: dict) -> tuple[str, str, str]:
    """(state, reason, annotation value) of the api-approved.kubernetes.io annotation."""
    value = ((crd.get("metadata") or {}).get("annotations") or {}).get(API_APPROVED_ANNOTATION, "")
    if not value:
        return "missing", f'protected groups must have approval annotation "{API_APPROVED_ANNOTATION}", see {_APPROVAL_PR}', value
    if value.startswith("unapproved"):
        return "bypassed", f'not approved: "{value}"', value
    parts = urlsplit(value)
    if parts.scheme and parts.netloc and " " not in value:
        return "approved", f"approved in {value}", value
    return "invalid", (
        f'protected groups must have approval annotation "{API_APPROVED_ANNOTATION}" with either a URL '
        f'or a reason starting with "unapproved", see {_APPROVAL_PR}'
    ), value


def _approval_condition(crd: dict) -> tuple[str, str, str] | None:
    if not _protected_group((crd.get("spec") or {}).get("group") or ""):
        return None
    state, reason, _ = _approval_state(crd)
    status, why = {
        "invalid": ("False", "InvalidAnnotation"),
        "missing": ("False", "MissingAnnotation"),
        "approved": ("True", "ApprovedAnnotation"),
        "bypassed": ("False", "UnapprovedAnnotation"),
    }[state]
    return status, why, reason


def _approval_errors(crd: dict, old: dict | None) -> list[FieldError]:
    if not _protected_group((crd.get("spec") or {}).get("group") or ""):
        return []
    state, reason, value = _approval_state(crd)
    if old is not None and _approval_state(old)[0] == state:
        return []  # an unchanged approval state never fails an update
    path = f"metadata.annotations[{API_APPROVED_ANNOTATION}]"
    if state == "missing":
        return [required(path, reason)]
    if state == "invalid":
        return [invalid(path, value, reason)]
    return []


# --------------------------------------------------------------------------- validating a CRD


def _internal_versions(versions: list[dict], hoisted: dict[str, bool]) -> list[dict]:
    # The error value for spec.versions is the internal Go struct, marshalled with its field
    # names; hoisted per-version fields are nil there.
    out = []
    for v in versions:
        out.append(
            {
                "Name": v.get("name", ""),
                "Served": bool(v.get("served")),
                "Storage": bool(v.get("storage")),
                "Deprecated": bool(v.get("deprecated")),
                "DeprecationWarning": v.get("deprecationWarning"),
                "Schema": None if hoisted["schema"] else v.get("schema"),
                "Subresources": None if hoisted["subresources"] else v.get("subresources"),
                "AdditionalPrinterColumns": None if hoisted["additionalPrinterColumns"] else v.get("additionalPrinterColumns"),
                "SelectableFields": v.get("selectableFields"),
            }
        )
    return out


def _hoisting(versions: list[dict]) -> dict[str, bool]:
    """Which per-version fields the v1->internal conversion moves to the top level."""
    if not versions:
        return {"schema": False, "subresources": False, "additionalPrinterColumns": False}

    def identical(key: str, empty: Any) -> bool:
        first = versions[0].get(key) or empty
        return all((v.get(key) or empty) == first for v in versions)

    return {
        "schema": identical("schema", None),
        "subresources": identical("subresources", None),
        "additionalPrinterColumns": identical("additionalPrinterColumns", []),
    }


def validate_crd(crd: dict, old: dict | None = None) -> list[FieldError]:
    """Field errors a real API server reports for this CRD (create, or update from `old`).

    The CRD is defaulted first, as the server does before validating.
    """
    crd = default_crd(crd)
    spec = crd.get("spec") or {}
    old_spec = (old or {}).get("spec") or {}
    versions = _versions(crd)
    hoisted = _hoisting(versions)
    errors = _metadata_errors(crd) if old is None else []
    errors += _spec_errors(spec, versions, hoisted, old_spec if old is not None else None)
    if old is not None:
        if _is_established(old):
            errors += _immutable(spec.get("scope"), old_spec.get("scope"), "spec.scope")
            errors += _immutable((spec.get("names") or {}).get("kind"), (old_spec.get("names") or {}).get("kind"), "spec.names.kind")
        errors += _immutable(spec.get("group"), old_spec.get("group"), "spec.group")
        errors += _immutable((spec.get("names") or {}).get("plural"), (old_spec.get("names") or {}).get("plural"), "spec.names.plural")
    stored = _stored_versions(crd, None if old is None else ((old.get("status") or {}).get("storedVersions")))
    errors += _stored_version_errors(stored, versions)
    errors += _approval_errors(crd, old)
    if spec.get("preserveUnknownFields") and not (old_spec.get("preserveUnknownFields") if old is not None else False):
        errors.append(
            invalid(
                "spec.preserveUnknownFields",
                True,
                "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
            )
        )
    return errors


def _immutable(new: Any, old: Any, path: str) -> list[FieldError]:
    return [] if new == old else [invalid(path, "" if new is None else new, _IMMUTABLE)]


def _metadata_errors(crd: dict) -> list[FieldError]:
    metadata = crd.get("metadata") or {}
    spec = crd.get("spec") or {}
    wanted = f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}"

    def name_messages(name: str) -> list[str]:
        messages = _dns1123_subdomain_errors(name)
        if name != wanted:
            messages.append('must be spec.names.plural+"."+spec.group')
        return messages

    errors: list[FieldError] = []
    generate = metadata.get("generateName") or ""
    if generate:
        errors += [invalid("metadata.generateName", generate, m) for m in name_messages(generate.rstrip("-") or generate)]
    name = metadata.get("name") or ""
    if not name:
        if not generate:
            errors.append(required("metadata.name", "name or generateName is required"))
    else:
        errors += [invalid("metadata.name", name, m) for m in name_messages(name)]
    return errors


def _stored_version_errors(stored: list[str], versions: list[dict]) -> list[FieldError]:
    if not stored:
        return [invalid("status.storedVersions", None, "must have at least one stored version")]
    errors: list[FieldError] = []
    remaining = {v: i for i, v in enumerate(stored)}
    for v in versions:
        present = v.get("name") in remaining
        if v.get("storage") and not present:
            errors.append(invalid("status.storedVersions", stored, f"must have the storage version {v.get('name')}"))
        if present:
            del remaining[v.get("name")]
    for name, i in remaining.items():
        errors.append(
            invalid(
                f"status.storedVersions[{i}]",
                name,
                f"missing from spec.versions; {name} was previously a storage version, and must remain in "
                f"spec.versions until a storage migration ensures no data remains persisted in {name} and "
                f"removes {name} from status.storedVersions",
            )
        )
    return errors


def _spec_errors(spec: dict, versions: list[dict], hoisted: dict[str, bool], old_spec: dict | None) -> list[FieldError]:
    errors: list[FieldError] = []
    group = spec.get("group") or ""
    if not group:
        errors.append(required("spec.group"))
    elif messages := _dns1123_subdomain_errors(group):
        errors.append(invalid("spec.group", group, ",".join(messages)))
    elif "." not in group:
        errors.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = spec.get("scope") or ""
    if not scope:
        errors.append(required("spec.scope"))
    elif scope not in ("Cluster", "Namespaced"):
        errors.append(not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))

    top_schema = versions[0].get("schema") if versions and hoisted["schema"] else None
    top_subresources = versions[0].get("subresources") if versions and hoisted["subresources"] else None
    top_columns = (versions[0].get("additionalPrinterColumns") or []) if versions and hoisted["additionalPrinterColumns"] else []

    # On update an older CRD without schemas keeps being accepted ("don't tighten validation").
    require_schema = old_spec is None or _all_versions_have_schema(old_spec)
    if top_schema is None or top_schema.get("openAPIV3Schema") is None:
        for i, v in enumerate(versions):
            has_schema = (v.get("schema") or {}).get("openAPIV3Schema") is not None
            if require_schema and not has_schema:
                errors.append(required(f"spec.versions[{i}].schema.openAPIV3Schema"))
            elif not require_schema and v.get("served") and not has_schema:
                errors.append(required(f"spec.versions[{i}].schema.openAPIV3Schema", "because otherwise all fields are pruned"))
    if spec.get("preserveUnknownFields") and any(_schema_has_default(_schema_of(v)) for v in versions):
        errors.append(invalid("spec.preserveUnknownFields", True, "must be false in order to use defaults in the schema"))

    any_status = "status" in (top_subresources or {}) or any("status" in (v.get("subresources") or {}) for v in versions)
    seen: set[str] = set()
    unique = True
    storage_count = 0
    for i, v in enumerate(versions):
        path = f"spec.versions[{i}]"
        storage_count += bool(v.get("storage"))
        unique = unique and v.get("name") not in seen
        seen.add(v.get("name"))
        if messages := _dns1035_errors(v.get("name") or ""):
            errors.append(invalid(f"{path}.name", v.get("name") or "", ",".join(messages)))
        errors += _deprecation_errors(v, path)
        version_subresources = top_subresources if hoisted["subresources"] else v.get("subresources")
        if not hoisted["schema"]:
            errors += _schema_errors(v.get("schema"), "status" in (version_subresources or {}), f"{path}.schema")
        if not hoisted["subresources"]:
            errors += _subresource_errors(v.get("subresources"), f"{path}.subresources")
        if not hoisted["additionalPrinterColumns"]:
            for j, column in enumerate(v.get("additionalPrinterColumns") or []):
                errors += _column_errors(column, f"{path}.additionalPrinterColumns[{j}]")
    if not unique:
        errors.append(invalid("spec.versions", _internal_versions(versions, hoisted), "must contain unique version names"))
    if storage_count != 1:
        errors.append(invalid("spec.versions", _internal_versions(versions, hoisted), "must have exactly one version marked as storage version"))
    if versions and (messages := _dns1035_errors(versions[0].get("name") or "")):
        # the internal form repeats versions[0].name as spec.version, and checks it again
        errors.append(invalid("spec.version", versions[0].get("name") or "", ",".join(messages)))

    names = spec.get("names") or {}
    for key in ("plural", "singular", "kind", "listKind"):
        if not names.get(key):
            errors.append(required(f"spec.names.{key}"))
    errors += _names_errors(names, "spec.names")
    errors += _schema_errors(top_schema, any_status, "spec.validation")
    errors += _subresource_errors(top_subresources, "spec.subresources")
    for j, column in enumerate(top_columns):
        errors += _column_errors(column, f"spec.additionalPrinterColumns[{j}]")
    errors += _conversion_errors(spec.get("conversion"), bool(spec.get("preserveUnknownFields")))
    return errors


def _schema_of(version: dict) -> dict | None:
    return (version.get("schema") or {}).get("openAPIV3Schema")


def _all_versions_have_schema(spec: dict) -> bool:
    return all(_schema_of(v) is not None for v in spec.get("versions") or [])


def _schema_has_default(schema: Any) -> bool:
    if isinstance(schema, dict):
        return schema.get("default") is not None or any(_schema_has_default(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_schema_has_default(v) for v in schema)
    return False


def _deprecation_errors(version: dict, path: str) -> list[FieldError]:
    warning = version.get("deprecationWarning")
    if warning is None:
        return []
    messages = []
    if not version.get("deprecated"):
        messages.append("can only be set for deprecated versions")
    else:
        if len(warning.encode()) > 256:
            messages.append("must be <= 256 characters long")
        if not warning:
            messages.append("must not be an empty string")
        for i, ch in enumerate(warning):
            if not ch.isprintable():
                messages.append(f"must only contain printable UTF-8 characters; non-printable character found at index {i}")
                break
    return [invalid(f"{path}.deprecationWarning", warning, m) for m in messages]


def _names_errors(names: dict, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for key in ("plural", "singular"):
        value = names.get(key) or ""
        if value and (messages := _dns1035_errors(value)):
            errors.append(invalid(f"{path}.{key}", value, ",".join(messages)))
    for key in ("kind", "listKind"):
        value = names.get(key) or ""
        if value and (messages := _dns1035_errors(value.lower())):
            errors.append(invalid(f"{path}.{key}", value, "may have mixed case, but should otherwise match: " + ",".join(messages)))
    for i, short in enumerate(names.get("shortNames") or []):
        if messages := _dns1035_errors(short):
            errors.append(invalid(f"{path}.shortNames[{i}]", short, ",".join(messages)))
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        errors.append(invalid(f"{path}.listKind", names["listKind"], "kind and listKind may not be the same"))
    for i, category in enumerate(names.get("categories") or []):
        if messages := _dns1035_errors(category):
            errors.append(invalid(f"{path}.categories[{i}]", category, ",".join(messages)))
    return errors


def _simple_json_path_errors(value: str, path: str) -> list[FieldError]:
    if not value:
        return [invalid(path, value, "must not be empty")]
    if not value.startswith("."):
        return [invalid(path, value, "must be a simple json path starting with .")]
    return []


def _subresource_errors(sub: dict | None, path: str) -> list[FieldError]:
    scale = (sub or {}).get("scale")
    if scale is None:
        return []
    errors: list[FieldError] = []
    for key, prefix, words in (
        ("specReplicasPath", ".spec.", "should be a json path under .spec"),
        ("statusReplicasPath", ".status.", "should be a json path under .status"),
    ):
        value = scale.get(key) or ""
        where = f"{path}.scale.{key}"
        if not value:
            errors.append(required(where))
        elif bad := _simple_json_path_errors(value, where):
            errors += bad
        elif not value.startswith(prefix):
            errors.append(invalid(where, value, words))
    selector = scale.get("labelSelectorPath")
    if selector:
        where = f"{path}.scale.labelSelectorPath"
        if bad := _simple_json_path_errors(selector, where):
            errors += bad
        elif not selector.startswith((".spec.", ".status.")):
            errors.append(invalid(where, selector, "should be a json path under either .spec or .status"))
    return errors


def _column_errors(column: dict, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not column.get("name"):
        errors.append(required(f"{path}.name"))
    kind = column.get("type") or ""
    if not kind:
        errors.append(required(f"{path}.type", f"must be one of {_PRINTER_TYPES}"))
    elif kind not in _PRINTER_TYPES.split(","):
        errors.append(invalid(f"{path}.type", kind, f"must be one of {_PRINTER_TYPES}"))
    fmt = column.get("format") or ""
    if fmt and fmt not in _PRINTER_FORMATS.split(","):
        errors.append(invalid(f"{path}.format", fmt, f"must be one of {_PRINTER_FORMATS}"))
    json_path = column.get("jsonPath") or ""
    if not json_path:
        errors.append(required(f"{path}.JSONPath"))
    else:
        errors += _simple_json_path_errors(json_path, f"{path}.JSONPath")
    return errors


def _conversion_errors(conversion: dict | None, preserve_unknown: bool) -> list[FieldError]:
    if conversion is None:
        return []
    errors: list[FieldError] = []
    strategy = conversion.get("strategy") or ""
    if strategy != "None" and preserve_unknown:
        errors.append(invalid("spec.conversion.strategy", strategy, "must be None if spec.preserveUnknownFields is true"))
    if not strategy:
        errors.append(required("spec.conversion.strategy"))
    elif strategy not in ("None", "Webhook"):
        errors.append(not_supported("spec.conversion.strategy", strategy, ["None", "Webhook"]))
    webhook = conversion.get("webhook") or {}
    if strategy == "Webhook":
        config = webhook.get("clientConfig")
        if config is None:
            errors.append(required("spec.conversion.webhookClientConfig", "required when strategy is set to Webhook"))
        elif ("url" in config) == ("service" in config):
            errors.append(required("spec.conversion.webhookClientConfig", "exactly one of url or service is required"))
        review = webhook.get("conversionReviewVersions") or []
        if not review:
            errors.append(required("spec.conversion.conversionReviewVersions"))
        elif not {"v1", "v1beta1"} & set(review):
            errors.append(invalid("spec.conversion.conversionReviewVersions", review, "must include at least one of v1, v1beta1"))
    elif webhook.get("clientConfig") is not None:
        errors.append(forbidden("spec.conversion.webhookClientConfig", "should not be set when strategy is not set to Webhook"))
    return errors


# JSONSchemaProps fields in Go struct order, with whether they may be set at the root of a
# schema whose version has the status subresource.
_ROOT_FIELDS_WITH_STATUS = [
    ("id", False), ("$schema", False), ("$ref", False), ("description", True), ("type", True),
    ("format", True), ("title", True), ("default", False), ("maximum", True),
    ("exclusiveMaximum", True), ("minimum", True), ("exclusiveMinimum", True),
    ("maxLength", True), ("minLength", True), ("pattern", True), ("maxItems", True),
    ("minItems", True), ("uniqueItems", True), ("multipleOf", True), ("enum", False),
    ("maxProperties", False), ("minProperties", False), ("required", True), ("items", True),
    ("allOf", False), ("oneOf", False), ("anyOf", False), ("not", False), ("properties", True),
    ("additionalProperties", False), ("patternProperties", False), ("dependencies", False),
    ("additionalItems", False), ("definitions", False), ("externalDocs", True),
    ("example", True), ("nullable", False), ("x-kubernetes-preserve-unknown-fields", True),
    ("x-kubernetes-embedded-resource", False), ("x-kubernetes-int-or-string", False),
    ("x-kubernetes-list-map-keys", False), ("x-kubernetes-list-type", False),
    ("x-kubernetes-map-type", False), ("x-kubernetes-validations", True),
]  # fmt: skip
_ALLOWED_AT_ROOT = (
    "[Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength "
    "MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties "
    "ExternalDocs Example XPreserveUnknownFields XValidations]"
)


def _status_root_errors(schema: dict, path: str) -> list[FieldError]:
    # The status subresource validates properties.status on its own, so the root may only
    # hold what still means the same there; the server reports the first offender only.
    for key, allowed in _ROOT_FIELDS_WITH_STATUS:
        value = schema.get(key)
        if value is None or value is False or value == "" or value == [] or value == {}:
            continue
        if key == "type":
            if value != "object":
                return [invalid(f"{path}.openAPIV3Schema.type", value, 'only "object" is allowed as the type at the root of the schema if the status subresource is enabled')]
            continue
        if not allowed:
            return [invalid(f"{path}.openAPIV3Schema", schema, f"only {_ALLOWED_AT_ROOT} fields are allowed at the root of the schema if the status subresource is enabled")]
    return []


def _schema_errors(wrapper: dict | None, status_enabled: bool, path: str) -> list[FieldError]:
    schema = (wrapper or {}).get("openAPIV3Schema")
    if not isinstance(schema, dict):
        return []
    errors: list[FieldError] = []
    if status_enabled:
        errors += _status_root_errors(schema, path)
    if schema.get("nullable"):
        errors.append(forbidden(f"{path}.openAPIV3Schema.nullable", "nullable cannot be true at the root"))
    at = f"{path}.openAPIV3Schema"
    errors += structural.structural_errors(schema, at) or structural.default_errors(schema, at)
    errors += _openapi_errors(schema, at, _Context(), is_root=True)
    return errors


class _Context:
    """What the schema walk knows about where it is (defaults allowed, inside ObjectMeta)."""

    def __init__(self, defaults_forbidden: str | None = None, inside_meta: bool = False):
        self.defaults_forbidden = defaults_forbidden
        self.inside_meta = inside_meta

    def forbid_defaults(self, reason: str) -> _Context:
        return _Context(reason, self.inside_meta)

    def in_meta(self) -> _Context:
        return _Context(self.defaults_forbidden, True)


def _openapi_errors(s: Any, path: str, ctx: _Context, is_root: bool = False) -> list[FieldError]:
    """The JSON-schema features a CRD schema may not use, and the x-kubernetes-* rules."""
    if not isinstance(s, dict):
        return []
    errors: list[FieldError] = []
    kind = s.get("type") or ""
    if kind and kind not in _OPENAPI_TYPES:
        errors.append(not_supported(f"{path}.type", kind, _OPENAPI_TYPES))
    if s.get("default") is not None and ctx.defaults_forbidden is not None:
        errors.append(forbidden(f"{path}.default", f"must not be set {ctx.defaults_forbidden}".rstrip()))
    for key, json_key, detail in (
        ("id", "id", "id is not supported"),
        ("additionalItems", "additionalItems", "additionalItems is not supported"),
        ("patternProperties", "patternProperties", "patternProperties is not supported"),
        ("definitions", "definitions", "definitions is not supported"),
        ("dependencies", "dependencies", "dependencies is not supported"),
        ("$ref", "$ref", "$ref is not supported"),
    ):
        if s.get(key):
            errors.append(forbidden(f"{path}.{json_key}", detail))
    if kind == "null":
        errors.append(forbidden(f"{path}.type", "type cannot be set to null, use nullable as an alternative"))
    if isinstance(s.get("items"), list):
        errors.append(forbidden(f"{path}.items", "items must be a schema object and not an array"))
    if ctx.inside_meta and s.get("x-kubernetes-embedded-resource"):
        errors.append(forbidden(f"{path}.x-kubernetes-embedded-resource", "must not be used inside of resource meta"))
    if s.get("uniqueItems"):
        errors.append(forbidden(f"{path}.uniqueItems", "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))

    properties = s.get("properties") or {}
    additional = s.get("additionalProperties")
    if additional is not None:
        if properties and (additional is False or isinstance(additional, dict)):
            errors.append(forbidden(f"{path}.additionalProperties", "additionalProperties and properties are mutual exclusive"))
        sub_ctx = ctx.forbid_defaults("inside additionalProperties applying to object metadata") if ctx.inside_meta else ctx
        errors += _openapi_errors(additional, f"{path}.additionalProperties", sub_ctx)
    for key, sub in properties.items():
        sub_ctx = ctx
        if (is_root or s.get("x-kubernetes-embedded-resource")) and key in structural.META_FIELDS:
            sub_ctx = sub_ctx.in_meta()
            if is_root:
                sub_ctx = sub_ctx.forbid_defaults(f"in top-level {key}")
        errors += _openapi_errors(sub, f"{path}.properties[{key}]", sub_ctx)
    errors += _openapi_errors(s.get("not"), f"{path}.not", ctx)
    for junctor in ("allOf", "oneOf", "anyOf"):
        for i, sub in enumerate(s.get(junctor) or []):
            errors += _openapi_errors(sub, f"{path}.{junctor}[{i}]", ctx)
    if isinstance(s.get("items"), dict):
        errors += _openapi_errors(s["items"], f"{path}.items", ctx)
    errors += _list_and_map_type_errors(s, path)
    errors += _rule_shape_errors(s, path)
    return errors


def _list_and_map_type_errors(s: dict, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    kind = s.get("type") or ""
    if s.get("x-kubernetes-preserve-unknown-fields") is False:
        errors.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False, "must be true or undefined"))
    map_type = s.get("x-kubernetes-map-type")
    if map_type is not None:
        if kind != "object":
            detail = "must be object if x-kubernetes-map-type is specified"
            errors.append(required(f"{path}.type", detail) if not kind else invalid(f"{path}.type", kind, detail))
        if map_type not in ("atomic", "granular"):
            errors.append(not_supported(f"{path}.x-kubernetes-map-type", map_type, ["atomic", "granular"]))
    list_type = s.get("x-kubernetes-list-type")
    items = s.get("items") if isinstance(s.get("items"), dict) else None
    if list_type is not None and kind != "array":
        detail = "must be array if x-kubernetes-list-type is specified"
        errors.append(required(f"{path}.type", detail) if not kind else invalid(f"{path}.type", kind, detail))
    elif list_type == "set" and items is not None:
        item_kind = items.get("type")
        if item_kind == "array" and items.get("x-kubernetes-list-type") not in (None, "atomic"):
            errors.append(invalid(f"{path}.items.x-kubernetes-list-type", items.get("x-kubernetes-list-type"), "must be atomic as item of a list with x-kubernetes-list-type=set"))
        if item_kind == "object" and items.get("x-kubernetes-map-type") != "atomic":
            errors.append(invalid(f"{path}.items.x-kubernetes-map-type", items.get("x-kubernetes-list-type"), "must be atomic as item of a list with x-kubernetes-list-type=set"))
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        errors.append(not_supported(f"{path}.x-kubernetes-list-type", list_type, ["atomic", "set", "map"]))
    keys = s.get("x-kubernetes-list-map-keys") or []
    if keys and list_type is None:
        errors.append(required(f"{path}.x-kubernetes-list-type", "must be map if x-kubernetes-list-map-keys is non-empty"))
    elif keys and list_type != "map":
        errors.append(invalid(f"{path}.x-kubernetes-list-type", list_type, "must be map if x-kubernetes-list-map-keys is non-empty"))
    if list_type == "map":
        if not keys:
            errors.append(required(f"{path}.x-kubernetes-list-map-keys", "must not be empty if x-kubernetes-list-type is map"))
        if s.get("items") is None:
            errors.append(required(f"{path}.items", "must have a schema if x-kubernetes-list-type is map"))
        elif items is not None and items.get("type") != "object":
            errors.append(invalid(f"{path}.items.type", items.get("type", ""), "must be object if parent array's x-kubernetes-list-type is map"))
        elif items is not None:
            item_properties = items.get("properties") or {}
            item_required = set(items.get("required") or [])
            for key in keys:
                if key not in item_properties:
                    errors.append(invalid(f"{path}.x-kubernetes-list-map-keys", keys, "entries must all be names of item properties"))
                    continue
                prop = item_properties[key]
                if prop.get("type") in ("array", "object"):
                    errors.append(invalid(f"{path}.items.properties[{key}].type", items.get("type"), "must be a scalar type if parent array's x-kubernetes-list-type is map"))
                if key not in item_required and prop.get("default") is None:
                    errors.append(required(f"{path}.items.properties[{key}].default", "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"))
                if prop.get("nullable"):
                    errors.append(forbidden(f"{path}.items.properties[{key}].nullable", "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"))
            if len(set(keys)) != len(keys):
                errors.append(invalid(f"{path}.x-kubernetes-list-map-keys", keys, "must not contain duplicate entries"))
    if list_type in ("set", "map") and items is not None and items.get("nullable"):
        errors.append(forbidden(f"{path}.items.nullable", f"cannot be nullable when x-kubernetes-list-type is {list_type}"))
    return errors


def _rule_shape_errors(s: dict, path: str) -> list[FieldError]:
    # CEL rules are not compiled; only their shape is checked.
    errors: list[FieldError] = []
    for i, rule in enumerate(s.get("x-kubernetes-validations") or []):
        where = f"{path}.x-kubernetes-validations[{i}]"
        text = (rule.get("rule") or "").strip()
        message = rule.get("message") or ""
        if not text:
            errors.append(required(f"{where}.rule", "rule is not specified"))
        elif message and not message.strip():
            errors.append(invalid(f"{where}.message", message, "must be non-empty if specified"))
        elif "\n" in message.strip() or "\r" in message.strip():
            errors.append(invalid(f"{where}.message", message, "must not contain line breaks"))
        elif ("\n" in text or "\r" in text) and not message.strip():
            errors.append(required(f"{where}.message", "message must be specified if rule contains line breaks"))
        reason = rule.get("reason")
        supported = ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"]
        if reason is not None and reason not in supported:
            errors.append(not_supported(f"{where}.reason", reason, supported))
    return errors


# --------------------------------------------------------------------------- custom resources


def validate_custom_resource(crd: dict, version: str, obj: dict) -> list[FieldError]:
    """All the schema-side checks the server runs on a custom resource write.

    apiVersion/kind must name this CRD's kind; then the version's schema, the scale
    subresource's replica fields, embedded resources' apiVersion/kind, and list-type
    set/map uniqueness. ObjectMeta rules (name format, labels) are left to the caller.
    """
    spec = crd.get("spec") or {}
    kind = (spec.get("names") or {}).get("kind", "")
    api_version = f"{spec.get('group', '')}/{version}"
    errors: list[FieldError] = []
    if obj.get("kind") != kind:
        errors.append(invalid("kind", obj.get("kind", ""), f"must be {kind}"))
    if obj.get("apiVersion") != api_version:
        errors.append(invalid("apiVersion", obj.get("apiVersion", ""), f"must be {api_version}"))
    if errors:
        return errors
    schema = version_schema(crd, version)
    errors += structural.validate(schema, obj)
    scale = subresources(crd, version).get("scale")
    if scale is not None:
        errors += _replicas_errors(obj, scale.get("specReplicasPath", ""))
        errors += _replicas_errors(obj, scale.get("statusReplicasPath", ""))
        selector_path = scale.get("labelSelectorPath")
        if selector_path:
            found, value = _lookup(obj, selector_path)
            if found and not isinstance(value, str):
                errors.append(invalid(selector_path, "", _accessor_error(selector_path, value, "string")))
    errors += _embedded_errors(obj, schema or {}, "", is_root=True)
    errors += _list_type_errors(obj, schema or {}, "")
    return errors


def _accessor_error(path: str, value: Any, wanted: str) -> str:
    # unstructured.NestedInt64/NestedString's wording, "%v ... %T"
    shown = structural.go_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if isinstance(value, bool):
        shown = "true" if value else "false"
    return f"{path} accessor error: {shown} is of the type {_go_type(value)}, expected {wanted}"


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    return {int: "int64", float: "float64", str: "string", list: "[]interface {}", dict: "map[string]interface {}"}.get(type(value), "<nil>")


def _replicas_errors(obj: dict, path: str) -> list[FieldError]:
    found, value = _lookup(obj, path)
    if not found:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        return [invalid(path, 0, _accessor_error(path, value, "int64"))]
    if value < 0:
        return [invalid(path, value, "should be a non-negative integer")]
    if value > 2**31 - 1:
        return [invalid(path, value, "should be less than or equal to 2147483647")]
    return []


def _embedded_errors(x: Any, s: dict, path: str, is_root: bool = False) -> list[FieldError]:
    # Embedded resources (x-kubernetes-embedded-resource) need apiVersion and kind strings.
    errors: list[FieldError] = []
    if isinstance(x, dict):
        if s.get("x-kubernetes-embedded-resource") and not is_root:
            for key in ("apiVersion", "kind"):
                if key not in x:
                    errors.append(required(f"{path}.{key}"))
                elif not isinstance(x[key], str):
                    errors.append(invalid(f"{path}.{key}", x[key], "must be a string"))
                elif not x[key]:
                    errors.append(invalid(f"{path}.{key}", x[key], "must not be empty"))
        properties = s.get("properties") or {}
        additional = s.get("additionalProperties")
        for key, value in x.items():
            if key in properties:
                errors += _embedded_errors(value, properties[key] or {}, f"{path}.{key}" if path else key)
            elif isinstance(additional, dict):
                errors += _embedded_errors(value, additional, f"{path}[{key}]")
    elif isinstance(x, list) and isinstance(s.get("items"), dict):
        for i, item in enumerate(x):
            errors += _embedded_errors(item, s["items"], f"{path}[{i}]")
    return errors


def _list_type_errors(x: Any, s: dict, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(x, dict):
        properties = s.get("properties") or {}
        additional = s.get("additionalProperties")
        for key, value in x.items():
            if key in properties:
                errors += _list_type_errors(value, properties[key] or {}, f"{path}.{key}" if path else key)
            elif isinstance(additional, dict):
                errors += _list_type_errors(value, additional, f"{path}[{key}]")
    elif isinstance(x, list):
        list_type = s.get("x-kubernetes-list-type")
        if list_type == "set":
            errors += _duplicates(x, x, path)
        elif list_type == "map":
            if any(item is not None and not isinstance(item, dict) for item in x):
                bad = next(i for i, item in enumerate(x) if item is not None and not isinstance(item, dict))
                return [invalid(f"{path}[{bad}]", x[bad], "must be an object for an array of list-type map")]
            keys = s.get("x-kubernetes-list-map-keys") or []
            identities = [{k: item[k] for k in keys if k in item} if isinstance(item, dict) else {} for item in x]
            errors += _duplicates(identities, identities, path)
        if isinstance(s.get("items"), dict):
            for i, item in enumerate(x):
                errors += _list_type_errors(item, s["items"], f"{path}[{i}]")
    return errors


def _duplicates(identities: list[Any], shown: list[Any], path: str) -> list[FieldError]:
    # Each repeated value is reported once, at its second appearance; scalars compare with
    # their JSON type (1 and 1.0 differ, as int64 and float64 do in Go).
    counts: dict[str, int] = {}
    errors = []
    for i, identity in enumerate(identities):
        if isinstance(identity, (dict, list)):
            key = json.dumps(identity, sort_keys=True)
        else:
            key = f"{type(identity).__name__}:{identity!r}"
        counts[key] = counts.get(key, 0) + 1
        if counts[key] == 2:
            errors.append(duplicate(f"{path}[{i}]", shown[i]))
    return errors


# --------------------------------------------------------------------------- scale subresource


def _lookup(obj: dict, json_path: str) -> tuple[bool, Any]:
    current: Any = obj
    for part in json_path.lstrip(".").split("."):
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _scale_paths(crd: dict, version: str) -> dict:
    scale = subresources(crd, version).get("scale")
    if scale is None:
        raise APIError(404, "NotFound", "the server could not find the requested resource", {})
    return scale


def scale_of(crd: dict, version: str, obj: dict) -> dict:
    """The autoscaling/v1 Scale the /scale subresource serves for a custom resource."""
    paths = _scale_paths(crd, version)
    spec_path = paths.get("specReplicasPath", "")
    found, spec_replicas = _lookup(obj, spec_path)
    if not found:
        # a real server answers a GET of /scale with 500 when spec replicas are missing
        message = f'the spec replicas field "{spec_path}" does not exist'
        raise APIError(500, "InternalError", f"Internal error occurred: {message}", {"causes": [{"message": message}]})
    _, status_replicas = _lookup(obj, paths.get("statusReplicasPath", ""))
    selector = ""
    if paths.get("labelSelectorPath"):
        _, selector = _lookup(obj, paths["labelSelectorPath"])
    metadata = obj.get("metadata") or {}
    scale_meta = {key: metadata[key] for key in ("name", "namespace", "uid", "resourceVersion") if metadata.get(key)}
    scale_meta["creationTimestamp"] = metadata.get("creationTimestamp")
    spec = {"replicas": int(spec_replicas)} if spec_replicas else {}
    status: dict[str, Any] = {"replicas": int(status_replicas or 0)}
    if selector:
        status["selector"] = selector
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta, "spec": spec, "status": status}


def apply_scale(crd: dict, version: str, obj: dict, replicas: int) -> dict:
    """A copy of the custom resource with spec replicas set through the scale subresource."""
    paths = _scale_paths(crd, version)
    name = (obj.get("metadata") or {}).get("name", "")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise invalid_object("Scale", "autoscaling", name, [invalid("spec.replicas", replicas, "must be greater than or equal to 0")])
    out = copy.deepcopy(obj)
    parts = paths.get("specReplicasPath", "").lstrip(".").split(".")
    current = out
    for part in parts[:-1]:
        if not isinstance(current.get(part), dict):
            current[part] = {}
        current = current[part]
    current[parts[-1]] = replicas
    return out
