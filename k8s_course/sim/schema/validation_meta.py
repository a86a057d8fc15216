"""Names, labels, annotations and label selectors, checked with Kubernetes' own wording.

The building blocks of every kind's validation (apimachinery's util/validation and
ObjectMeta checks). Functions return plain message strings (`is_dns1123_label`) or
FieldErrors for a given field path (`validate_labels`).
"""

from __future__ import annotations

import json
import re

from ..errors import FieldError, forbidden, invalid, required


def regex_error(message: str, pattern: str, *examples: str) -> str:
    """apimachinery's RegexError, double space after the first example included."""
    if not examples:
        return f"{message} (regex used for validation is '{pattern}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"

DNS1123_LABEL_MSG = regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character",
    DNS1123_LABEL_FMT, "my-name", "123-abc",
)
DNS1123_SUBDOMAIN_MSG = regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character",
    DNS1123_SUBDOMAIN_FMT, "example.com",
)
DNS1035_LABEL_MSG = regex_error(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character",
    DNS1035_LABEL_FMT, "my-name", "abc-123",
)
_QUALIFIED_NAME_WORDS = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
QUALIFIED_NAME_MSG = regex_error(_QUALIFIED_NAME_WORDS, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
LABEL_VALUE_MSG = regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character",
    LABEL_VALUE_FMT, "MyValue", "my_value", "12345",
)

_DNS1123_LABEL = re.compile(f"^{DNS1123_LABEL_FMT}$")
_DNS1123_SUBDOMAIN = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}$")
_DNS1035_LABEL = re.compile(f"^{DNS1035_LABEL_FMT}$")
_QUALIFIED_NAME = re.compile(f"^{QUALIFIED_NAME_FMT}$")
_LABEL_VALUE = re.compile(f"^{LABEL_VALUE_FMT}$")

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def is_dns1123_label(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append(max_len_error(63))
    if not _DNS1123_LABEL.match(value):
        # A valid subdomain of the right length can only be wrong for its dots.
        errors.append("must not contain dots" if _DNS1123_SUBDOMAIN.match(value) else DNS1123_LABEL_MSG)
    return errors


def is_dns1123_subdomain(value: str) -> list[str]:
    errors = []
    if len(value) > 253:
        errors.append(max_len_error(253))
    if not _DNS1123_SUBDOMAIN.match(value):
        errors.append(DNS1123_SUBDOMAIN_MSG)
    return errors


def is_dns1035_label(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append(max_len_error(63))
    if not _DNS1035_LABEL.match(value):
        errors.append(DNS1035_LABEL_MSG)
    return errors


def is_path_segment_name(value: str) -> list[str]:
    """RBAC objects may have names such as `system:controller`: only '/', '%', '.', '..' are out."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{char}'" for char in ("/", "%") if char in value]


def is_qualified_name(value: str) -> list[str]:
    """A label or annotation key: `name` or `dns.prefix/name`."""
    errors = []
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name " + QUALIFIED_NAME_MSG
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend("prefix part " + msg for msg in is_dns1123_subdomain(prefix))
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part " + max_len_error(63))
    if not _QUALIFIED_NAME.match(name):
        errors.append("name part " + QUALIFIED_NAME_MSG)
    return errors


def is_valid_label_value(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append(max_len_error(63))
    if not _LABEL_VALUE.match(value):
        errors.append(LABEL_VALUE_MSG)
    return errors


def validate_labels(labels: object, path: str) -> list[FieldError]:
    """Keys and values; errors point at the map itself, as in Kubernetes."""
    errors: list[FieldError] = []
    if not isinstance(labels, dict):
        return errors
    for key, value in labels.items():
        errors.extend(invalid(path, key, msg) for msg in is_qualified_name(key))
        value = "" if value is None else str(value)
        errors.extend(invalid(path, value, msg) for msg in is_valid_label_value(value))
    return errors


def validate_annotations(annotations: object, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(annotations, dict):
        return errors
    total = 0
    for key, value in annotations.items():
        errors.extend(invalid(path, key, msg) for msg in is_qualified_name(key.lower()))
        total += len(key) + len(str(value or ""))
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errors.append(FieldError("TooLong", path, f"must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"))
    return errors


_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(selector: object, path: str) -> list[FieldError]:
    """A LabelSelector's matchLabels and matchExpressions."""
    errors: list[FieldError] = []
    if not isinstance(selector, dict):
        return errors
    for index, expression in enumerate(selector.get("matchExpressions") or []):
        where = f"{path}.matchExpressions[{index}]"
        operator = expression.get("operator")
        values = expression.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                errors.append(required(f"{where}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                errors.append(forbidden(f"{where}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            errors.append(invalid(f"{where}.operator", operator, "not a valid selector operator"))
        errors.extend(invalid(f"{where}.key", expression.get("key", ""), msg)
                      for msg in is_qualified_name(str(expression.get("key", ""))))
        for value_index, value in enumerate(values):
            errors.extend(invalid(f"{where}.values[{value_index}]", value, msg)
                          for msg in is_valid_label_value(str(value)))
    errors.extend(validate_labels(selector.get("matchLabels"), f"{path}.matchLabels"))
    return errors


def selector_is_empty(selector: dict | None) -> bool:
    return not selector or not (selector.get("matchLabels") or selector.get("matchExpressions"))


def selector_matches(selector: dict | None, labels: dict | None) -> bool:
    """Whether a LabelSelector selects these labels; an empty selector selects everything."""
    labels = labels or {}
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def selector_as_value(selector: dict) -> dict:
    """A LabelSelector as Go would print it in an error: matchLabels first, empty fields gone."""
    shown = {}
    for key in ("matchLabels", "matchExpressions"):
        if selector.get(key):
            shown[key] = selector[key]
    return shown


def immutable(path: str, new: object, old: object) -> list[FieldError]:
    """`field is immutable` when the value changed."""
    if json.dumps(new, sort_keys=True) == json.dumps(old, sort_keys=True):
        return []
    return [invalid(path, new, "field is immutable")]


def validate_object_meta(metadata: dict, name_check) -> list[FieldError]:
    """ObjectMeta on create: name (with the kind's rule), labels, annotations, owners."""
    errors: list[FieldError] = []
    name = metadata.get("name")
    if not name:
        if not metadata.get("generateName"):
            errors.append(required("metadata.name", "name or generateName is required"))
    else:
        errors.extend(invalid("metadata.name", name, msg) for msg in name_check(name))
    namespace = metadata.get("namespace")
    if namespace:
        errors.extend(invalid("metadata.namespace", namespace, msg) for msg in is_dns1123_label(namespace))
    errors.extend(validate_labels(metadata.get("labels"), "metadata.labels"))
    errors.extend(validate_annotations(metadata.get("annotations"), "metadata.annotations"))
    for reference in metadata.get("ownerReferences") or []:
        for field_name, words in (("apiVersion", "version"), ("kind", "kind"), ("name", "name"), ("uid", "uid")):
            if not reference.get(field_name):
                errors.append(invalid(f"metadata.ownerReferences.{field_name}", reference.get(field_name, ""),
                                      f"{words} must not be empty"))
    for index, finalizer in enumerate(metadata.get("finalizers") or []):
        errors.extend(invalid(f"metadata.finalizers[{index}]", finalizer, msg) for msg in is_qualified_name(finalizer))
    return errors


def validate_object_meta_update(metadata: dict, old_metadata: dict) -> list[FieldError]:
    errors: list[FieldError] = []
    for field_name in ("name", "namespace", "uid", "creationTimestamp"):
        new, old = metadata.get(field_name), old_metadata.get(field_name)
        if old is not None and new is not None and new != old:
            errors.append(invalid(f"metadata.{field_name}", new, "field is immutable"))
    errors.extend(validate_labels(metadata.get("labels"), "metadata.labels"))
    errors.extend(validate_annotations(metadata.get("annotations"), "metadata.annotations"))
    return errors
