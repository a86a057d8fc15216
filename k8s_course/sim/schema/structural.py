"""How a custom resource's JSON meets its structural openAPIV3Schema.

Three steps, in the order the apiextensions server runs them on every write: `prune` (drop the
fields the schema does not know, reporting their paths for fieldValidation Strict/Warn),
`apply_defaults` (drop non-nullable nulls that have no default, then fill defaults), and
`validate` (kube-openapi's checks, with its exact wording as the API server reports them).

`x-kubernetes-validations` (CEL rules) are out of scope: they are accepted in schemas and
ignored here. Formats are checked for the common ones (date-time, date, byte, uuid, ipv4/ipv6,
cidr, mac, hostname, email, uri, duration, k8s-short-name, k8s-long-name); the exotic rest
(isbn, creditcard, ssn, rgbcolor, bsonobjectid) is accepted as is.
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from k8s_course.sim.errors import FieldError, forbidden, invalid, not_supported, required

META_FIELDS = ("apiVersion", "kind", "metadata")

# ObjectMeta's JSON fields: anything else under metadata is dropped (and reported) on decode.
OBJECT_META_FIELDS = frozenset(
    {
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
        "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
        "labels", "annotations", "ownerReferences", "finalizers", "managedFields",
    }
)  # fmt: skip


# --------------------------------------------------------------------------- pruning


def prune(schema: dict | None, obj: dict) -> list[str]:
    """Drop, in place, the fields of a custom resource its schema does not specify.

    The root is a resource: apiVersion and kind are kept, metadata keeps ObjectMeta's fields.
    Returns the dotted paths of what was dropped (`spec.foo`, `spec.items[0].bar`), in the
    order the server reports them in `unknown field "..."` messages.
    """
    unknown: list[str] = []
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        unknown += _drop_unknown_meta(metadata, "metadata")
    pruned: list[str] = []
    _prune(obj, _as_resource_root(schema), [], pruned)
    embedded: list[str] = []
    _coerce_embedded_meta(obj, _as_resource_root(schema), "", embedded, is_root=True)
    return unknown + sorted(pruned) + sorted(embedded)


def prune_value(value: Any, schema: dict | None, is_resource_root: bool = False) -> list[str]:
    """Prune any value (a default, a nested object) by its schema; returns dropped paths."""
    pruned: list[str] = []
    _prune(value, _as_resource_root(schema) if is_resource_root else schema, [], pruned)
    return sorted(pruned)


def _as_resource_root(schema: dict | None) -> dict:
    # The resource root is pruned like an embedded resource: its TypeMeta/ObjectMeta stay.
    root = dict(schema or {})
    root["x-kubernetes-embedded-resource"] = True
    return root


def _key_path(parts: list[str], key: str) -> list[str]:
    return parts + (["." + key] if parts else [key])


def _prune(x: Any, s: dict | None, parts: list[str], dropped: list[str]) -> None:
    if s is not None and s.get("x-kubernetes-preserve-unknown-fields"):
        _skip_prune(x, s, parts, dropped)
        return
    if isinstance(x, dict):
        if s is None:
            for key in list(x):
                dropped.append("".join(_key_path(parts, key)))
                del x[key]
            return
        embedded = bool(s.get("x-kubernetes-embedded-resource"))
        properties = s.get("properties") or {}
        additional = s.get("additionalProperties")
        for key in list(x):
            if embedded and key in META_FIELDS:
                continue
            if key in properties:
                _prune(x[key], properties[key], _key_path(parts, key), dropped)
            elif additional is not None and additional is not False:
                _prune(x[key], additional if isinstance(additional, dict) else None, _key_path(parts, key), dropped)
            else:
                # an unknown apiVersion/kind/metadata at the root is dropped silently
                if key not in META_FIELDS or parts:
                    dropped.append("".join(_key_path(parts, key)))
                del x[key]
    elif isinstance(x, list):
        items = s.get("items") if s is not None else None
        for i, item in enumerate(x):
            _prune(item, items if isinstance(items, dict) else None, parts + [f"[{i}]"], dropped)


def _skip_prune(x: Any, s: dict | None, parts: list[str], dropped: list[str]) -> None:
    # x-kubernetes-preserve-unknown-fields: unknown keys stay, known ones are still pruned inside.
    if s is None:
        return
    if isinstance(x, dict):
        embedded = bool(s.get("x-kubernetes-embedded-resource"))
        properties = s.get("properties") or {}
        additional = s.get("additionalProperties")
        for key in list(x):
            if embedded and key in META_FIELDS:
                continue
            if key in properties:
                _prune(x[key], properties[key], _key_path(parts, key), dropped)
            elif additional is not None and additional is not False:
                _prune(x[key], additional if isinstance(additional, dict) else None, _key_path(parts, key), dropped)
    elif isinstance(x, list):
        items = s.get("items")
        for i, item in enumerate(x):
            _skip_prune(item, items if isinstance(items, dict) else None, parts + [f"[{i}]"], dropped)


def _drop_unknown_meta(metadata: dict, prefix: str) -> list[str]:
    unknown = sorted(key for key in metadata if key not in OBJECT_META_FIELDS)
    for key in unknown:
        del metadata[key]
    return [f"{prefix}.{key}" for key in unknown]


def _coerce_embedded_meta(x: Any, s: dict | None, path: str, unknown: list[str], is_root: bool = False) -> None:
    # Embedded resources (x-kubernetes-embedded-resource) get their metadata decoded as
    # ObjectMeta, which drops unknown fields; the root's metadata was handled by the caller.
    if s is None:
        return
    if isinstance(x, dict):
        if s.get("x-kubernetes-embedded-resource") and not is_root and isinstance(x.get("metadata"), dict):
            unknown += _drop_unknown_meta(x["metadata"], f"{path}.metadata" if path else "metadata")
        properties = s.get("properties") or {}
        additional = s.get("additionalProperties")
        for key, value in x.items():
            if key in properties:
                _coerce_embedded_meta(value, properties[key], f"{path}.{key}" if path else key, unknown)
            elif isinstance(additional, dict):
                _coerce_embedded_meta(value, additional, f"{path}[{key}]", unknown)
    elif isinstance(x, list):
        items = s.get("items")
        for i, item in enumerate(x):
            _coerce_embedded_meta(item, items if isinstance(items, dict) else None, f"{path}[{i}]", unknown)


# --------------------------------------------------------------------------- defaulting


def apply_defaults(schema: dict | None, obj: Any) -> None:
    """Default a custom resource in place, as the apiextensions server does after pruning.

    First drops nulls the schema neither allows (`nullable`) nor defaults; then, wherever a
    property is missing (or a non-nullable null), sets a deep copy of its `default`, and
    recurses into objects, array items and additionalProperties, including freshly defaulted
    values (so `spec: {default: {}}` gets its own properties' defaults).
    """
    _drop_undefaultable_nulls(obj, schema)
    _default(obj, schema)


def _non_nullable_null(x: Any, s: dict | None) -> bool:
    return x is None and s is not None and not s.get("nullable", False)


def _schema_for_key(key: str, s: dict | None) -> dict | None:
    if s is None:
        return None
    properties = s.get("properties") or {}
    if key in properties:
        return properties[key]
    additional = s.get("additionalProperties")
    return additional if isinstance(additional, dict) else None


def _drop_undefaultable_nulls(x: Any, s: dict | None) -> None:
    if isinstance(x, dict):
        for key in list(x):
            sub = _schema_for_key(key, s)
            if _non_nullable_null(x[key], sub) and "default" not in sub:
                del x[key]
            else:
                _drop_undefaultable_nulls(x[key], sub)
    elif isinstance(x, list):
        items = s.get("items") if s is not None else None
        for item in x:
            _drop_undefaultable_nulls(item, items if isinstance(items, dict) else None)


def _has_default(s: dict | None) -> bool:
    return s is not None and s.get("default") is not None


def _default(x: Any, s: dict | None) -> None:
    if s is None:
        return
    if isinstance(x, dict):
        properties = s.get("properties") or {}
        for key, prop in properties.items():
            if _has_default(prop) and (key not in x or _non_nullable_null(x[key], prop)):
                x[key] = copy.deepcopy(prop["default"])
        additional = s.get("additionalProperties")
        for key in list(x):
            if key in properties:
                _default(x[key], properties[key])
            elif isinstance(additional, dict):
                if _non_nullable_null(x[key], additional) and _has_default(additional):
                    x[key] = copy.deepcopy(additional["default"])
                _default(x[key], additional)
    elif isinstance(x, list):
        items = s.get("items")
        if not isinstance(items, dict):
            return
        for i in range(len(x)):
            if _non_nullable_null(x[i], items) and _has_default(items):
                x[i] = copy.deepcopy(items["default"])
            _default(x[i], items)


# --------------------------------------------------------------------------- validation
#
# kube-openapi validates a value with a chain of validators (type, allOf/anyOf/oneOf/not,
# string, format, number, array, enum, object) that each add errors named by a dotted path
# relative to the validated value. The apiextensions server then turns each into a field
# error: most become `Invalid` with kube-openapi's sentence as the detail ("spec.replicas in
# body should be less than or equal to 9"); a few get their own field error type. Errors that
# are not tied to a field (allOf/anyOf/oneOf/not, numeric range) land on the prefix path,
# which for a whole custom resource is Go's nil path, printed "<nil>".

_IN = "body"


@dataclass
class _Failure:
    code: str  # type | required | enum | too_long | max_items | max_properties | invalid | plain
    name: str
    message: str
    value: Any = None
    valid: Any = None
    values: list | None = None


def validate(schema: dict | None, obj: Any, path: str = "") -> list[FieldError]:
    """Validate a value against an openAPIV3Schema, worded as the API server words it.

    `path` prefixes the field paths (the server validates a status update under "status";
    a whole custom resource with no prefix). x-kubernetes-validations (CEL) are ignored.
    """
    if schema is None:
        return []
    return [_field_error(f, path) for f in _check(schema, obj, "")]


def _field_error(f: _Failure, prefix: str) -> FieldError:
    if f.code == "plain":
        return invalid(prefix or "<nil>", "", f.message)
    name = f.name[1:] if f.name.startswith(".") else f.name
    where = prefix
    if name and f.name != ".":
        where = f"{prefix}.{name}" if prefix else name
    where = where or "<nil>"
    value = "" if f.value is None else f.value
    if f.code == "required":
        return required(where)
    if f.code == "enum":
        supported = [v if isinstance(v, str) else json.dumps(v) for v in f.values or []]
        return not_supported(where, f.value, supported)
    if f.code == "too_long":
        limit = f.valid
        return FieldError("TooLong", where, f"may not be more than {limit} {'byte' if limit == 1 else 'bytes'}")
    if f.code in ("max_items", "max_properties"):
        limit = f.valid
        return FieldError("TooMany", where, f"must have at most {limit} {'item' if limit == 1 else 'items'}", f.value)
    if f.code == "type":
        return FieldError("TypeInvalid", where, f.message, value)
    return invalid(where, value, f.message)


def _add(results: list[_Failure], more: list[_Failure]) -> None:
    # kube-openapi keeps each message once, however many paths led to it.
    seen = {f.message for f in results}
    for failure in more:
        if failure.message not in seen:
            results.append(failure)
            seen.add(failure.message)


def _json_type(data: Any) -> tuple[str, str]:
    if isinstance(data, bool):
        return "boolean", ""
    if isinstance(data, int):
        return "integer", "int64"
    if isinstance(data, float):
        return "number", "float64"
    if isinstance(data, str):
        return "string", ""
    if isinstance(data, list):
        return "array", ""
    if isinstance(data, dict):
        return "object", ""
    return "", ""


def _types_of(s: dict) -> list[str]:
    if s.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    t = s.get("type")
    return [t] if t else []


_STRING_FORMATS = {
    "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3",
    "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor",
    "byte", "password", "date", "duration", "datetime", "k8sshortname", "k8slongname",
}  # fmt: skip


def _effective_format(s: dict) -> str:
    # The server strips formats it does not support before validating.
    fmt = s.get("format") or ""
    if not fmt:
        return ""
    types = [s["type"]] if s.get("type") else []
    kind = types[0] if len(types) == 1 else ""
    if kind in ("", "string"):
        return fmt if fmt.replace("-", "") in _STRING_FORMATS else ""
    if kind == "integer":
        return fmt if fmt in ("int32", "int64") else ""
    if kind == "number":
        return fmt if fmt in ("float", "double") else ""
    return ""


def _check(s: dict, data: Any, path: str) -> list[_Failure]:
    results: list[_Failure] = []
    types = _types_of(s)
    fmt = _effective_format(s)
    if data is None:
        _add(results, _check_type(types, bool(s.get("nullable")), fmt, data, path))
        _add(results, _check_enum(s, data, path))
        return results
    if types or fmt:
        _add(results, _check_type(types, bool(s.get("nullable")), fmt, data, path))
    _add(results, _check_junctors(s, data, path))
    if isinstance(data, str):
        _add(results, _check_string(s, data, path))
        if fmt and fmt.replace("-", "") in _STRING_FORMATS:
            _add(results, _check_format(fmt, data, path))
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        _add(results, _check_number(s, types, fmt, data, path))
    if isinstance(data, list):
        _add(results, _check_array(s, data, path))
    _add(results, _check_enum(s, data, path))
    if isinstance(data, dict):
        _add(results, _check_object(s, data, path))
    return results


def _type_failure(path: str, type_name: str, value: Any) -> _Failure:
    if isinstance(value, str):
        message = f"{path} in {_IN} must be of type {type_name}: {json.dumps(value)}"
    else:
        message = f"{path} in {_IN} must be of type {type_name}"
    return _Failure("type", path, message, value)


def _check_type(types: list[str], nullable: bool, fmt: str, data: Any, path: str) -> list[_Failure]:
    if data is None:
        if types and "null" not in types and not nullable:
            return [_type_failure(path, ",".join(types), "null")]
        return []
    kind, data_format = _json_type(data)
    is_float_int = kind == "number" and float(data).is_integer() and "integer" in types
    is_int_float = kind == "integer" and "number" in types
    is_lower_int = fmt == "int64" and data_format == "int32"
    is_textual = isinstance(data, (str, list))
    if not is_textual and fmt and not (kind in types or data_format == fmt or is_float_int or is_int_float or is_lower_int):
        return [_type_failure(path, fmt, data_format)]
    if not ("number" in types or "integer" in types) and fmt and is_textual:
        return []
    if not (kind in types or is_float_int or is_int_float):
        return [_type_failure(path, ",".join(types), kind)]
    return []


def _check_junctors(s: dict, data: Any, path: str) -> list[_Failure]:
    results: list[_Failure] = []
    any_of = s.get("anyOf") or []
    if any_of:
        outcomes = [_check(sub, data, path) for sub in any_of]
        if not any(not o for o in outcomes):
            results.append(_Failure("plain", path, f"{json.dumps(path)} must validate at least one schema (anyOf)"))
            # kube-openapi reports the alternative that got furthest; we take the first.
            _add(results, outcomes[0])
    one_of = s.get("oneOf") or []
    if one_of:
        outcomes = [_check(sub, data, path) for sub in one_of]
        valid = sum(1 for o in outcomes if not o)
        if valid != 1:
            detail = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            results.append(_Failure("plain", path, f"{json.dumps(path)} must validate one and only one schema (oneOf). {detail}"))
            if valid == 0:
                _add(results, outcomes[0])
    all_of = s.get("allOf") or []
    if all_of:
        validated = 0
        for sub in all_of:
            outcome = _check(sub, data, path)
            validated += not outcome
            _add(results, outcome)
        if validated != len(all_of):
            extra = ". None validated" if validated == 0 else ""
            results.append(_Failure("plain", path, f"{json.dumps(path)} must validate all the schemas (allOf){extra}"))
    not_schema = s.get("not")
    if isinstance(not_schema, dict) and not _check(not_schema, data, path):
        results.append(_Failure("plain", path, f"{json.dumps(path)} must not validate the schema (not)"))
    return results


def _check_string(s: dict, data: str, path: str) -> list[_Failure]:
    length = len(data)  # runes, as kube-openapi counts them
    if s.get("maxLength") is not None and length > s["maxLength"]:
        limit = s["maxLength"]
        return [_Failure("too_long", path, f"{path} in {_IN} should be at most {limit} chars long", data, limit)]
    if s.get("minLength") is not None and length < s["minLength"]:
        limit = s["minLength"]
        return [_Failure("invalid", path, f"{path} in {_IN} should be at least {limit} chars long", data, limit)]
    pattern = s.get("pattern")
    if pattern:
        try:
            matched = re.search(pattern, data) is not None
        except re.error as exc:
            shown = f"{pattern}, but pattern is invalid: {exc}"
            return [_Failure("invalid", path, f"{path} in {_IN} should match '{shown}'", data)]
        if not matched:
            return [_Failure("invalid", path, f"{path} in {_IN} should match '{pattern}'", data)]
    return []


def go_number(value: int | float) -> str:
    """A number as Go's %v prints it: int64 plainly, float64 shortest with e+06 above 1e5."""
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return {"inf": "+Inf", "-inf": "-Inf"}.get(str(value), "NaN")
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(str(d) for d in digits)
    point = len(text) + int(exponent)  # position of the decimal point
    exp = point - 1
    minus = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{minus}{text}{'0' * (point - len(text))}"
    return f"{minus}{text[:point]}.{text[point:]}"


_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _check_number(s: dict, types: list[str], fmt: str, data: int | float, path: str) -> list[_Failure]:
    results: list[_Failure] = []
    single = s.get("type") if len(types) == 1 else ""
    if single == "integer" and fmt in _INT_RANGES:
        low, high = _INT_RANGES[fmt]
        if not float(data).is_integer() or not low <= data <= high:
            results.append(_Failure("plain", path, f"Checked value must be of type integer with format {fmt} in {path}"))
    elif single == "number" and fmt == "float" and abs(data) > 3.4028234663852886e38:
        results.append(_Failure("plain", path, f"Checked value must be of type number with format float in {path}"))
    is_int = isinstance(data, int)
    factor = s.get("multipleOf")
    if factor is not None:
        if factor <= 0:
            results.append(_Failure("invalid", path, f"factor MultipleOf declared for {path} must be positive: {go_number(factor)}", factor))
        elif is_int:
            whole = int(factor)  # an integer is checked against the truncated factor
            if whole <= 0:
                results.append(_Failure("invalid", path, f"factor MultipleOf declared for {path} must be positive: {whole}", whole))
            elif data % whole:
                results.append(_Failure("invalid", path, f"{path} in {_IN} should be a multiple of {whole}", data))
        else:
            ratio = data * (1 / factor) if factor < 1 else data / factor
            if not float(ratio).is_integer():
                results.append(_Failure("invalid", path, f"{path} in {_IN} should be a multiple of {go_number(float(factor))}", data))
    for bound, exclusive_key, below in (("minimum", "exclusiveMinimum", True), ("maximum", "exclusiveMaximum", False)):
        limit = s.get(bound)
        if limit is None:
            continue
        exclusive = bool(s.get(exclusive_key))
        # integers are compared against the bound truncated to an integer, as kube-openapi does
        shown_limit = int(limit) if is_int else float(limit)
        value = data if is_int else float(data)
        if below:
            failed = value <= shown_limit if exclusive else value < shown_limit
            words = "greater than" if exclusive else "greater than or equal to"
        else:
            failed = value >= shown_limit if exclusive else value > shown_limit
            words = "less than" if exclusive else "less than or equal to"
        if failed:
            results.append(_Failure("invalid", path, f"{path} in {_IN} should be {words} {go_number(shown_limit)}", data))
    return results


def _check_array(s: dict, data: list, path: str) -> list[_Failure]:
    results: list[_Failure] = []
    items = s.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(data):
            _add(results, _check(items, item, f"{path}[{i}]"))
    size = len(data)
    if s.get("minItems") is not None and size < s["minItems"]:
        results.append(_Failure("invalid", path, f"{path} in {_IN} should have at least {s['minItems']} items", size))
    if s.get("maxItems") is not None and size > s["maxItems"]:
        results.append(_Failure("max_items", path, f"{path} in {_IN} should have at most {s['maxItems']} items", size, s["maxItems"]))
    if s.get("uniqueItems"):
        seen: list[Any] = []
        for item in data:
            if any(_same_json(item, other) for other in seen):
                results.append(_Failure("invalid", path, f"{path} in {_IN} shouldn't contain duplicates"))
                break
            seen.append(item)
    return results


def _same_json(a: Any, b: Any) -> bool:
    # Go's DeepEqual: 1 and 1.0 differ (int64 vs float64), true and 1 differ.
    return type(a) is type(b) and a == b


def _enum_matches(data: Any, candidate: Any) -> bool:
    if data is None:
        return False
    if isinstance(data, bool) or isinstance(candidate, bool):
        return isinstance(data, bool) and isinstance(candidate, bool) and data == candidate
    if isinstance(data, (int, float)) and isinstance(candidate, (int, float)):
        return data == candidate  # numbers convert to the enum value's type first
    return data == candidate and type(data) is type(candidate)


def _check_enum(s: dict, data: Any, path: str) -> list[_Failure]:
    enum = s.get("enum")
    if not enum:
        return []
    if any(_enum_matches(data, candidate) for candidate in enum):
        return []
    shown = "[" + " ".join(_go_plain(v) for v in enum) + "]"
    return [_Failure("enum", path, f"{path} in {_IN} should be one of {shown}", data, values=list(enum))]


def _go_plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return go_number(value)
    if value is None:
        return "<nil>"
    return str(value)


def _check_object(s: dict, data: dict, path: str) -> list[_Failure]:
    results: list[_Failure] = []
    count = len(data)
    if s.get("minProperties") is not None and count < s["minProperties"]:
        results.append(_Failure("invalid", path, f"{path} in {_IN} should have at least {s['minProperties']} properties", count))
    if s.get("maxProperties") is not None and count > s["maxProperties"]:
        limit = s["maxProperties"]
        results.append(_Failure("max_properties", path, f"{path} in {_IN} should have at most {limit} properties", count, limit))
    properties = s.get("properties") or {}
    additional = s.get("additionalProperties")
    if additional is False:
        for key in data:
            if key not in properties:
                results.append(_Failure("invalid", path, f"{path}.{key} in {_IN} is a forbidden property", key))
    elif isinstance(additional, dict):
        for key, value in data.items():
            if key not in properties:
                _add(results, _check(additional, value, f"{path}.{key}"))
    for name, sub in properties.items():
        if name in data:
            _add(results, _check(sub, data[name], f"{path}.{name}" if path else name))
    for name in s.get("required") or []:
        if name not in data:
            results.append(_Failure("required", f"{path}.{name}", f"{path}.{name} in {_IN} is required"))
    return results


# --------------------------------------------------------------------------- formats

_UUID = r"[0-9a-f]{8}-?[0-9a-f]{4}-?%s[0-9a-f]{3}-?%s[0-9a-f]{3}-?[0-9a-f]{12}"
_FORMAT_PATTERNS = {
    "uuid": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"),
    "uuid3": re.compile("(?i)^" + _UUID % ("3", "[0-9a-f]") + "$"),
    "uuid4": re.compile("(?i)^" + _UUID % ("4", "[89ab]") + "$"),
    "uuid5": re.compile("(?i)^" + _UUID % ("5", "[89ab]") + "$"),
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "mac": re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$"),
    "hexcolor": re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"),
    "hostname": re.compile(
        r"^([a-zA-Z0-9]((-?[a-zA-Z0-9]{0,62})?)|([a-zA-Z0-9](([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.)){1,}([a-zA-Z]){2,63})$"
    ),
    "email": re.compile(r"^[^@\s]+@[^@\s]+$"),
    "k8sshortname": re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
    "k8slongname": re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
    "duration": re.compile(
        r"^(([+-]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+|0|\d+\s*(ns|us|ms|s|m|h|d|w|"
        r"nanos?|micros?|millis?|seconds?|minutes?|hours?|days?|weeks?))$"
    ),
}
_DATE_TIME_CLOCK = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")


def _is_date(text: str) -> bool:
    if not _FORMAT_PATTERNS["date"].match(text):
        return False
    year, month, day = (int(p) for p in text.split("-"))
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return 1 <= day <= days


def _is_date_time(text: str) -> bool:
    parts = text.lower().split("t")
    if len(text) < 4 or len(parts) < 2 or not _is_date(parts[0]):
        return False
    clock = _DATE_TIME_CLOCK.match(parts[1])
    return bool(clock) and clock.group(1) <= "23" and clock.group(2) <= "59" and clock.group(3) <= "59"


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return "/" in text
    except ValueError:
        return False


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _is_uri(text: str) -> bool:
    parts = urlsplit(text)
    return bool(parts.scheme) or text.startswith("/")


def _format_ok(name: str, text: str) -> bool:
    if name == "datetime":
        return _is_date_time(text)
    if name == "date":
        return _is_date(text)
    if name == "ipv4":
        return _is_ip(text, 4)
    if name == "ipv6":
        return _is_ip(text, 6)
    if name == "cidr":
        return _is_cidr(text)
    if name == "byte":
        return _is_base64(text)
    if name == "uri":
        return _is_uri(text)
    if name == "k8sshortname":
        return len(text) <= 63 and bool(_FORMAT_PATTERNS[name].match(text))
    pattern = _FORMAT_PATTERNS.get(name)
    return pattern is None or bool(pattern.match(text))


def _check_format(fmt: str, data: str, path: str) -> list[_Failure]:
    if _format_ok(fmt.replace("-", ""), data):
        return []
    return [_type_failure(path, fmt, data)]


# --------------------------------------------------------------------------- structural schemas
#
# A CRD's schema must be "structural": a type at every level, value validations (allOf, anyOf,
# oneOf, not) that only restrict what the plain part already specifies, metadata left alone.
# These checks report under the schema's own path, e.g.
# `spec.validation.openAPIV3Schema.properties[spec].type: Required value: ...`.

_ROOT, _ITEM, _FIELD = "root", "item", "field"
_MISSING_TYPE = {
    _ROOT: "must not be empty at the root",
    _ITEM: "must not be empty for specified array items",
    _FIELD: "must not be empty for specified object fields",
}
# The JSONSchemaProps fields a structural schema is made of (others are dropped before checks).
_STRUCTURAL_KEYS = frozenset(
    {
        "description", "type", "title", "default", "nullable", "format", "maximum",
        "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
        "maxItems", "minItems", "uniqueItems", "multipleOf", "enum", "maxProperties",
        "minProperties", "required", "allOf", "oneOf", "anyOf", "not", "items", "properties",
        "additionalProperties", "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string",
        "x-kubernetes-list-map-keys", "x-kubernetes-list-type", "x-kubernetes-map-type",
        "x-kubernetes-validations",
    }
)  # fmt: skip
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]


def structural_errors(schema: dict, path: str) -> list[FieldError]:
    """Why `schema` (at `path`) is not structural; sorted by message, as the server sorts."""
    errors = _invariants(schema, _ROOT, path) + _completeness(schema, schema, path, path)
    return sorted(errors, key=str)


def _zero(value: Any) -> bool:
    return value in (None, False, "", 0, [], {})


def _invariants(s: Any, level: str, path: str) -> list[FieldError]:
    if not isinstance(s, dict):
        return []
    errors: list[FieldError] = []
    kind = s.get("type") or ""
    if kind == "array" and s.get("items") is None:
        errors.append(required(f"{path}.items", "must be specified"))
    if isinstance(s.get("items"), dict):
        errors += _invariants(s["items"], _ITEM, f"{path}.items")
    properties = s.get("properties") or {}
    for key, sub in properties.items():
        errors += _invariants(sub, _FIELD, f"{path}.properties[{key}]")
    additional = s.get("additionalProperties")
    if additional is not None:
        if level == _ROOT:
            errors.append(forbidden(f"{path}.additionalProperties", "must not be used at the root"))
        if isinstance(additional, dict):
            errors += _invariants(additional, _FIELD, f"{path}.additionalProperties")
    int_or_string = bool(s.get("x-kubernetes-int-or-string"))
    preserve = bool(s.get("x-kubernetes-preserve-unknown-fields"))
    embedded = bool(s.get("x-kubernetes-embedded-resource"))
    if int_or_string and preserve:
        errors.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", True, "must be false if x-kubernetes-int-or-string is true"))
    if int_or_string and embedded:
        errors.append(invalid(f"{path}.x-kubernetes-embedded-resource", True, "must be false if x-kubernetes-int-or-string is true"))
    all_of = s.get("allOf") or []
    skip_any_of = s.get("anyOf") == _INT_OR_STRING_ANY_OF
    skip_first_all_of = bool(all_of) and isinstance(all_of[0], dict) and all_of[0].get("anyOf") == _INT_OR_STRING_ANY_OF
    errors += _value_validation(s, skip_any_of, skip_first_all_of, level, path)
    check_metadata = level == _ROOT or embedded
    if embedded and kind != "object":
        detail = "must be object if x-kubernetes-embedded-resource is true"
        errors.append(required(f"{path}.type", detail) if not kind else invalid(f"{path}.type", kind, detail))
    elif not kind and not int_or_string and not preserve:
        errors.append(required(f"{path}.type", _MISSING_TYPE[level]))
    if embedded and additional is not None:
        errors.append(forbidden(f"{path}.additionalProperties", "must not be used if x-kubernetes-embedded-resource is set"))
    if level == _ROOT and kind and kind != "object":
        errors.append(invalid(f"{path}.type", kind, "must be object at the root"))
    for meta in ("kind", "apiVersion"):
        if meta in properties and check_metadata and (properties[meta] or {}).get("type", "") != "string":
            errors.append(invalid(f"{path}.properties[{meta}].type", (properties[meta] or {}).get("type", ""), "must be string"))
    if "metadata" in properties:
        errors += _metadata_invariants(properties["metadata"] or {}, check_metadata, level, f"{path}.properties[metadata]")
    if embedded and not preserve and not properties:
        errors.append(required(f"{path}.properties", "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"))
    return errors


def _metadata_invariants(m: dict, check_metadata: bool, level: str, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if check_metadata and m.get("type", "") != "object":
        errors.append(invalid(f"{path}.type", m.get("type", ""), "must be object"))
    if level == _ROOT:
        rest = {k: v for k, v in m.items() if k in _STRUCTURAL_KEYS and k not in ("type", "default")}
        if set(m.get("properties") or {}) in ({"name", "generateName"}, {"name"}, {"generateName"}):
            rest.pop("properties", None)
        if not all(_zero(v) for v in rest.values()):
            errors.append(forbidden(path, "must not specify anything other than name and generateName, but metadata is implicitly specified"))
    return errors


def _value_validation(v: dict, skip_any_of: bool, skip_first_all_of: bool, level: str, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not skip_any_of:
        for i, sub in enumerate(v.get("anyOf") or []):
            errors += _nested(sub, False, level, f"{path}.anyOf[{i}]")
    for i, sub in enumerate(v.get("allOf") or []):
        errors += _nested(sub, skip_first_all_of and i == 0, level, f"{path}.allOf[{i}]")
    for i, sub in enumerate(v.get("oneOf") or []):
        errors += _nested(sub, False, level, f"{path}.oneOf[{i}]")
    if isinstance(v.get("not"), dict):
        errors += _nested(v["not"], False, level, f"{path}.not")
    pattern = v.get("pattern")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            errors.append(invalid(f"{path}.pattern", pattern, f"must be a valid regular expression, but isn't: {exc}"))
    return errors


_NESTED_FORBIDDEN = (
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
)


def _nested(v: Any, skip_any_of: bool, level: str, path: str) -> list[FieldError]:
    # Inside allOf/anyOf/oneOf/not only value validations may appear, nothing that shapes data.
    if not isinstance(v, dict):
        return []
    errors = _value_validation(v, skip_any_of, False, level, path)
    if isinstance(v.get("items"), dict):
        errors += _nested(v["items"], False, level, f"{path}.items")
    for key, sub in (v.get("properties") or {}).items():
        errors += _nested(sub, False, _FIELD, f"{path}.properties[{key}]")
    if v.get("type"):
        errors.append(forbidden(f"{path}.type", "must be empty to be structural"))
    if "additionalProperties" in v:
        errors.append(forbidden(f"{path}.additionalProperties", "must be undefined to be structural"))
    if v.get("default") is not None:
        errors.append(forbidden(f"{path}.default", "must be undefined to be structural"))
    errors += [forbidden(f"{path}.{key}", detail) for key, detail in _NESTED_FORBIDDEN if not _zero(v.get(key))]
    for key in ("x-kubernetes-list-type", "x-kubernetes-map-type"):
        if v.get(key) is not None:
            errors.append(forbidden(f"{path}.{key}", "must be undefined to be structural"))
    if v.get("x-kubernetes-validations"):
        errors.append(forbidden(f"{path}.x-kubernetes-validations", "must be empty to be structural"))
    if "metadata" in (v.get("properties") or {}):
        errors.append(forbidden(f"{path}.properties[metadata]", "must not be specified in a nested context"))
    return errors


def _completeness(v: dict, s: dict | None, s_path: str, v_path: str) -> list[FieldError]:
    # Every property a value validation talks about must be specified in the plain schema.
    if s is None:
        return [required(s_path, f"because it is defined in {v_path}")]
    errors: list[FieldError] = []
    if isinstance(v.get("not"), dict):
        errors += _nested_completeness(v["not"], s, s_path, f"{v_path}.not")
    for junctor in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(v.get(junctor) or []):
            errors += _nested_completeness(sub, s, s_path, f"{v_path}.{junctor}[{i}]")
    return errors


def _nested_completeness(v: Any, s: dict | None, s_path: str, v_path: str) -> list[FieldError]:
    if not isinstance(v, dict):
        return []
    if s is None:
        return [required(s_path, f"because it is defined in {v_path}")]
    errors = _completeness(v, s, s_path, v_path)
    items = s.get("items") if isinstance(s.get("items"), dict) else None
    if isinstance(v.get("items"), dict):
        errors += _nested_completeness(v["items"], items, f"{s_path}.items", f"{v_path}.items")
    s_properties = s.get("properties") or {}
    for key, sub in (v.get("properties") or {}).items():
        if key not in s_properties:
            errors.append(required(f"{s_path}.properties[{key}]", f"because it is defined in {v_path}.properties[{key}]"))
        else:
            errors += _nested_completeness(sub, s_properties[key], f"{s_path}.properties[{key}]", f"{v_path}.properties[{key}]")
    return errors


def default_errors(schema: dict, path: str) -> list[FieldError]:
    """Defaults that are invalid by their own schema or carry fields it would prune."""
    root = _as_resource_root(schema)
    return _default_errors(root, path, inside_meta=False)


def _default_errors(s: Any, path: str, inside_meta: bool) -> list[FieldError]:
    if not isinstance(s, dict):
        return []
    embedded = bool(s.get("x-kubernetes-embedded-resource"))
    if embedded:
        inside_meta = False
    errors: list[FieldError] = []
    default = s.get("default")
    # Defaults inside TypeMeta/ObjectMeta are forbidden at the root and rare in embedded
    # resources; their metadata checks are not modelled.
    if default is not None and not inside_meta:
        pruned = copy.deepcopy(default)
        _prune(pruned, _as_resource_root(s) if embedded else s, [], [])
        if pruned != default:
            errors.append(invalid(f"{path}.default", default, "must not have unknown fields"))
        errors += validate(s, default, f"{path}.default")
    if isinstance(s.get("items"), dict):
        errors += _default_errors(s["items"], f"{path}.items", inside_meta)
    for key, sub in (s.get("properties") or {}).items():
        sub_inside = inside_meta or (embedded and key in META_FIELDS)
        errors += _default_errors(sub, f"{path}.properties[{key}]", sub_inside)
    return errors
