"""Reading a request: which resource a path names, and the options in its query string."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from .. import errors

NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass
class Target:
    """A resource path split as Kubernetes' RequestInfo splits it."""

    group: str
    version: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_resource_path(path: str) -> Target | None:
    """`/apis/apps/v1/namespaces/ns/deployments/web/scale` -> Target; None if not a resource path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    target = Target(group, version, rest[0], namespace)
    if len(rest) >= 2:
        target.name = rest[1]
    if len(rest) >= 3:
        target.subresource = rest[2]
    if len(rest) > 3:
        return None
    return target


def flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes", "")


def integer(query, name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(f"invalid value for {name}: {raw!r} is not an integer") from None


def dry_run(query) -> bool:
    values = query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


# DeleteOptions' fields as a body may carry them: (JSON types allowed, Go type named in errors)
_DELETE_OPTION_FIELDS = {
    "gracePeriodSeconds": ((int,), "int64"),
    "preconditions": ((dict,), "v1.Preconditions"),
    "orphanDependents": ((bool,), "bool"),
    "propagationPolicy": ((str,), "v1.DeletionPropagation"),
    "dryRun": ((list,), "[]string"),
}
_PRECONDITION_FIELDS = ("uid", "resourceVersion")


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")


def _cannot_unmarshal(value, where: str, go_type: str) -> errors.APIError:
    return errors.bad_request(f"json: cannot unmarshal {_json_type(value)} into Go {where} of type {go_type}")


def delete_options_body(body) -> dict:
    """A decoded DeleteOptions body, its fields' types checked as Go's decoder checks them."""
    if not isinstance(body, dict):
        raise _cannot_unmarshal(body, "value", "v1.DeleteOptions")
    for name, (types, go_type) in _DELETE_OPTION_FIELDS.items():
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise _cannot_unmarshal(value, f"struct field DeleteOptions.{name}", go_type)
    for name in _PRECONDITION_FIELDS:
        value = (body.get("preconditions") or {}).get(name)
        if value is not None and not isinstance(value, str):
            raise _cannot_unmarshal(value, f"struct field Preconditions.preconditions.{name}", "string")
    if any(not isinstance(v, str) for v in body.get("dryRun") or ()):
        raise errors.bad_request("json: cannot unmarshal non-string into Go struct field DeleteOptions.dryRun "
                                 "of type string")
    return body


def encode_continue(revision: int, after: tuple[str, str]) -> str:
    token = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": list(after)})
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, TypeError, IndexError):
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                 "(version meta.k8s.io/v1)") from None


def accept_choices(accept: str) -> list[tuple[str, dict[str, str]]]:
    """`application/json;as=Table;v=v1;g=meta.k8s.io, application/json` -> [(type, params)]."""
    choices = []
    for raw in accept.split(","):
        if not raw.strip():
            continue
        pieces = raw.split(";")
        params = {}
        for piece in pieces[1:]:
            if "=" in piece:
                key, value = piece.split("=", 1)
                params[key.strip()] = value.strip()
        choices.append((pieces[0].strip().lower(), params))
    return choices or [("application/json", {})]
