"""OpenAPI v3 documents, as far as kubectl reads them.

kubectl 1.32 asks /openapi/v3 whether a resource's PATCH takes `fieldValidation` (to validate
on the server) and which patch types it accepts; `kubectl explain` reads the component
schemas. Strategic merge patch is not advertised here, so kubectl computes it from its own
compiled-in types, which are exact.
"""

from __future__ import annotations

import hashlib
import json

from ..resources import Registry, ResourceType

_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                "application/apply-patch+yaml")


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


_cache: dict[tuple[int, int, str, str], dict] = {}  # (registry id, its version, group, version)


def index(registry: Registry) -> dict:
    paths = {}
    for group, version in registry.group_versions():
        key = _gv_path(group, version)
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={_digest(registry, group, version)}"}
    return {"paths": paths}


_digests: dict[tuple[int, int, str, str], str] = {}


def _digest(registry: Registry, group: str, version: str) -> str:
    key = (id(registry), registry.version, group, version)
    if key not in _digests:
        if len(_digests) > 256:
            _digests.clear()
        text = json.dumps(_document_for(registry, group, version), sort_keys=True)
        _digests[key] = hashlib.sha512(text.encode()).hexdigest()[:64].upper()
    return _digests[key]


def _document_for(registry: Registry, group: str, version: str) -> dict:
    """The document for one group version, rebuilt only when the served resources change."""
    key = (id(registry), registry.version, group, version)
    if key not in _cache:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = _build(registry, group, version)
    return _cache[key]


def document(registry: Registry, path: str) -> dict | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) == 2 and parts[0] == "api":
        group, version = "", parts[1]
    elif len(parts) == 3 and parts[0] == "apis":
        group, version = parts[1], parts[2]
    else:
        return None
    if not registry.in_group_version(group, version):
        return None
    return _document_for(registry, group, version)


def _gvk(rtype: ResourceType) -> list[dict]:
    return [{"group": rtype.group, "version": rtype.version, "kind": rtype.kind}]


def _query(name: str) -> dict:
    return {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}


def _operations(rtype: ResourceType) -> dict:
    item_ops: dict = {}
    extensions = {"x-kubernetes-group-version-kind": _gvk(rtype)[0]}
    if "get" in rtype.verbs:
        item_ops["get"] = {"operationId": f"read{rtype.kind}", "x-kubernetes-action": "get", **extensions,
                           "responses": {"200": {"description": "OK"}}}
    if "update" in rtype.verbs:
        item_ops["put"] = {"operationId": f"replace{rtype.kind}", "x-kubernetes-action": "put", **extensions,
                           "parameters": [_query("dryRun"), _query("fieldManager"), _query("fieldValidation")],
                           "responses": {"200": {"description": "OK"}}}
    if "patch" in rtype.verbs:
        item_ops["patch"] = {
            "operationId": f"patch{rtype.kind}", "x-kubernetes-action": "patch", **extensions,
            "parameters": [_query("dryRun"), _query("fieldManager"), _query("fieldValidation"),
                           {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": True}}],
            "requestBody": {"content": {t: {"schema": {"type": "object"}} for t in _PATCH_TYPES},
                            "required": True},
            "responses": {"200": {"description": "OK"}},
        }
    if "delete" in rtype.verbs:
        item_ops["delete"] = {"operationId": f"delete{rtype.kind}", "x-kubernetes-action": "delete", **extensions,
                              "responses": {"200": {"description": "OK"}}}
    return item_ops


def _build(registry: Registry, group: str, version: str) -> dict:
    paths = {}
    schemas: dict = {}
    for rtype in registry.in_group_version(group, version):
        base = "/" + _gv_path(group, version)
        if rtype.namespaced:
            base += "/namespaces/{namespace}"
        collection = f"{base}/{rtype.plural}"
        extensions = {"x-kubernetes-group-version-kind": _gvk(rtype)[0]}
        if "create" in rtype.verbs or "list" in rtype.verbs:
            ops = {}
            if "list" in rtype.verbs:
                ops["get"] = {"operationId": f"list{rtype.kind}", "x-kubernetes-action": "list", **extensions,
                              "responses": {"200": {"description": "OK"}}}
            if "create" in rtype.verbs:
                ops["post"] = {"operationId": f"create{rtype.kind}", "x-kubernetes-action": "post", **extensions,
                               "parameters": [_query("dryRun"), _query("fieldManager"), _query("fieldValidation")],
                               "responses": {"201": {"description": "Created"}}}
            paths[collection] = ops
        if rtype.stored:
            paths[collection + "/{name}"] = _operations(rtype)
        if not rtype.custom:
            schemas.update(_components(rtype.api_version))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.36.2"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _components(api_version: str) -> dict:
    try:
        from ..schema import types
    except ImportError:  # the types table is optional for serving
        return {}
    producer = getattr(types, "openapi_components", None)
    return producer(api_version) if producer else {}
