"""Errors the simulated API server answers with, shaped as Kubernetes `Status` objects.

Every failure a client can cause ends up here, so that the official client, kubectl and kopf
see the same codes, reasons and wording as on a real cluster. Field errors follow
k8s.io/apimachinery's `field.Error`: one per field at fault, each becoming a `cause`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_OMIT = object()

# field.ErrorType: (cause reason, the words that open the message)
_FIELD_ERROR_TYPES = {
    "NotFound": ("FieldValueNotFound", "Not found"),
    "Required": ("FieldValueRequired", "Required value"),
    "Duplicate": ("FieldValueDuplicate", "Duplicate value"),
    "Invalid": ("FieldValueInvalid", "Invalid value"),
    "NotSupported": ("FieldValueNotSupported", "Unsupported value"),
    "Forbidden": ("FieldValueForbidden", "Forbidden"),
    "TooLong": ("FieldValueTooLong", "Too long"),
    "TooMany": ("FieldValueTooMany", "Too many"),
    "TypeInvalid": ("FieldValueTypeInvalid", "Invalid value"),
}
# These never print the bad value, as in apimachinery.
_VALUELESS = {"Required", "Forbidden", "TooLong"}


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # Go's %q for the strings we meet
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass
class FieldError:
    """One field at fault: `FieldError("Invalid", "spec.replicas", "must be ...", -1)`."""

    type: str
    field: str
    detail: str = ""
    value: Any = field(default=_OMIT)

    def __post_init__(self) -> None:
        if self.type not in _FIELD_ERROR_TYPES:
            raise ValueError(f"unknown field error type {self.type!r}")

    @property
    def reason(self) -> str:
        return _FIELD_ERROR_TYPES[self.type][0]

    def body(self) -> str:
        """The message without the field path, as in a Status cause."""
        words = _FIELD_ERROR_TYPES[self.type][1]
        if self.type in _VALUELESS or self.value is _OMIT:
            text = words
        else:
            text = f"{words}: {_format_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def cause(self) -> dict:
        return {"reason": self.reason, "message": self.body(), "field": self.field}


def required(path: str, detail: str = "") -> FieldError:
    return FieldError("Required", path, detail)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError("Invalid", path, detail, value)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(json.dumps(s) for s in supported)
    return FieldError("NotSupported", path, detail, value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError("Forbidden", path, detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError("Duplicate", path, "", value)


class APIError(Exception):
    """An answer other than success; `status()` is the body the server sends."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> APIError:
    return APIError(
        404,
        "NotFound",
        f'{_qualified(resource, group)} "{name}" not found',
        {"name": name, "group": group, "kind": resource} if group else {"name": name, "kind": resource},
    )


def already_exists(resource: str, group: str, name: str) -> APIError:
    details = {"name": name, "group": group, "kind": resource} if group else {"name": name, "kind": resource}
    return APIError(409, "AlreadyExists", f'{_qualified(resource, group)} "{name}" already exists', details)


def conflict(resource: str, group: str, name: str, why: str) -> APIError:
    details = {"name": name, "group": group, "kind": resource} if group else {"name": name, "kind": resource}
    return APIError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}',
        details,
    )


def conflict_apply(message: str, causes: list[dict] | None = None) -> APIError:
    """409 from server-side apply when another field manager owns a field."""
    return APIError(409, "Conflict", message, {"causes": causes} if causes else None)


STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again"


def invalid_object(kind: str, group: str, name: str, errors: list[FieldError]) -> APIError:
    """422 Invalid: `Deployment.apps "web" is invalid: spec.replicas: Invalid value: ...`."""
    text = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(str(e) for e in errors) + "]"
    details: dict = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [e.cause() for e in errors]
    return APIError(422, "Invalid", f'{_qualified(kind, group)} "{name}" is invalid: {text}', details)


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def forbidden_request(message: str, details: dict | None = None) -> APIError:
    return APIError(403, "Forbidden", message, details)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> APIError:
    return APIError(405, "MethodNotAllowed", message)


def gone(message: str) -> APIError:
    return APIError(410, "Expired", message)


def unsupported_media_type(message: str) -> APIError:
    return APIError(415, "UnsupportedMediaType", message)


def too_large(limit: int) -> APIError:
    return APIError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def unauthorized() -> APIError:
    return APIError(401, "Unauthorized", "Unauthorized")


def too_many_requests(message: str, retry_after: int, causes: list[dict] | None = None) -> APIError:
    details: dict = {"retryAfterSeconds": retry_after} if retry_after else {}
    if causes:
        details["causes"] = causes
    return APIError(429, "TooManyRequests", message, details,
                    headers={"Retry-After": str(retry_after)} if retry_after else None)


def page_not_found(path: str) -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource", {})
