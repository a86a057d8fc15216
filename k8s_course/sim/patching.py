"""Patching: JSON patch, merge patch, strategic merge patch, and server-side apply.

Pure functions over plain dicts. Strategic merge patch and apply learn merge keys and list types
from `schema.types`; for kinds it does not know (custom resources), apply treats every list as
atomic and every map as granular, as the API server does for schemaless CRD fields.

Messages follow the Go libraries the API server uses (evanphx/json-patch v4 for JSON patch,
structured-merge-diff for apply), so clients see the same reasons.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from k8s_course.sim.schema import types


class PatchError(Exception):
    """A patch that cannot be applied; the message is the inner reason the server wraps."""


@dataclass(frozen=True)
class Conflict:
    manager: str  # as printed: '"kubectl-client-side-apply" using apps/v1'
    path: str  # as printed: '.spec.replicas'

    def cause(self) -> dict:
        return {"reason": "FieldManagerConflict", "message": f"conflict with {self.manager}", "field": self.path}


class ApplyConflict(PatchError):
    """An apply that would change fields owned by other managers (409 Conflict)."""

    def __init__(self, conflicts: list[Conflict]):
        self.conflicts = conflicts
        super().__init__(_conflict_message(conflicts))


def _conflict_message(conflicts: list[Conflict]) -> str:
    if len(conflicts) == 1:
        return f"Apply failed with 1 conflict: conflict with {conflicts[0].manager}: {conflicts[0].path}"
    lines = []
    for manager in sorted({c.manager for c in conflicts}):
        lines.append(f"conflicts with {manager}:")
        lines.extend(f"- {c.path}" for c in conflicts if c.manager == manager)
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# JSON patch (RFC 6902)


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"JSON pointer must be empty or start with a \"/\": {path!r}")
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(container: list, token: str, path: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"Unable to access invalid index: {token}: invalid index referenced")
    index = int(token)
    if index > len(container) or (index == len(container) and not allow_end):
        raise PatchError(f"Unable to access invalid index: {index}: invalid index referenced")
    return index


def _parent(doc: Any, tokens: list[str]) -> Any:
    """The container that holds the last token, or None if the path to it is missing."""
    current = doc
    for token in tokens[:-1]:
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return None
    return current if isinstance(current, (dict, list)) else None


def _get(doc: Any, path: str) -> tuple[bool, Any]:
    current = doc
    for token in _pointer(path):
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return False, None
    return True, current


def _add(doc: Any, path: str, value: Any, op: str = "add") -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    if parent is None:
        raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        parent.insert(_index(parent, tokens[-1], path, allow_end=True), value)
    return doc


def _remove(doc: Any, path: str, op: str = "remove") -> Any:
    tokens = _pointer(path)
    parent = _parent(doc, tokens) if tokens else None
    if parent is None:
        raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise PatchError(f"Unable to remove nonexistent key: {tokens[-1]}: missing value")
        del parent[tokens[-1]]
    else:
        del parent[_index(parent, tokens[-1], path, allow_end=False)]
    return doc


def json_patch(doc: dict, ops: list) -> dict:
    """Apply an RFC 6902 JSON patch to a copy of `doc`."""
    if not isinstance(ops, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    result = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError("json: cannot unmarshal non-object into Go value of type jsonpatch.Operation")
        kind, path = op.get("op"), op.get("path")
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"{kind} operation does not apply: missing value")
        if kind == "add":
            result = _add(result, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            result = _remove(result, path)
        elif kind == "replace":
            found, _ = _get(result, path)
            if not found:
                raise PatchError(f"replace operation does not apply: doc is missing key: {path}: missing value")
            tokens = _pointer(path)
            if not tokens:
                result = copy.deepcopy(op["value"])
            else:
                parent = _parent(result, tokens)
                key = tokens[-1] if isinstance(parent, dict) else int(tokens[-1])
                parent[key] = copy.deepcopy(op["value"])
        elif kind in ("move", "copy"):
            source = op.get("from")
            found, value = _get(result, source)
            if not found:
                raise PatchError(f"{kind} operation does not apply: doc is missing from path: {source}: missing value")
            if kind == "move":
                result = _remove(result, source, "move")
            result = _add(result, path, copy.deepcopy(value), kind)
        elif kind == "test":
            found, value = _get(result, path)
            if not (found and _json_equal(value, op["value"])) and not (not found and op["value"] is None):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return result


def _json_equal(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# ---------------------------------------------------------------------------------------------
# JSON merge patch (RFC 7386)


def merge_patch(doc: dict, patch: dict) -> dict:
    """Apply an RFC 7386 merge patch: objects merge, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result


# ---------------------------------------------------------------------------------------------
# Strategic merge patch

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_PRIMITIVES = "$deleteFromPrimitiveList/"
_SET_ORDER = "$setElementOrder/"
_DELETED = object()  # a map's `$patch: delete`


def strategic_merge_patch(doc: dict, patch: dict, kind_key: str) -> dict:
    """Apply a Kubernetes strategic merge patch to a copy of `doc` (a built-in kind)."""
    if not types.is_known(kind_key):
        raise PatchError(f"strategic merge patch is not supported for {kind_key}")
    if not isinstance(patch, dict):
        raise PatchError("json: cannot unmarshal array into Go value of type map[string]interface {}")
    result = _merge_map(copy.deepcopy(doc), patch, types.node(kind_key))
    return {} if result is _DELETED else result


def _merge_map(original: Any, patch: dict, node: types.Node | None) -> Any:
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return _DELETED
    if directive == "replace":
        return {k: _strip_directives(v) for k, v in patch.items() if not k.startswith("$")}
    if directive not in (None, "merge"):
        raise PatchError(f"Unknown patch type: {directive} in map: {patch}")
    result = dict(original) if isinstance(original, dict) else {}
    retain = patch.get(_RETAIN_KEYS)
    for key, value in patch.items():
        if key.startswith(_DELETE_PRIMITIVES):
            field = key[len(_DELETE_PRIMITIVES):]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if key.startswith("$"):
            continue
        child = node.child(key) if node is not None else None
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and (child is None or child.shape != "list"):
            merged = _merge_map(result.get(key), value, child)
            if merged is _DELETED:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            order = patch.get(_SET_ORDER + key)
            result[key] = _merge_list(result.get(key), value, child, order)
        else:
            result[key] = copy.deepcopy(value)
    if retain is not None:
        # retainKeys: fields of the struct that the patch does not list are cleared
        result = {k: v for k, v in result.items() if k in retain}
    for key, order in patch.items():
        if key.startswith(_SET_ORDER) and key[len(_SET_ORDER):] not in patch:
            field = key[len(_SET_ORDER):]
            if isinstance(result.get(field), list):
                result[field] = _reorder(result[field], order, node.child(field) if node else None)
    return result


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _merge_list(original: Any, patch: list, node: types.Node | None, order: list | None) -> list:
    strategy = node.list_strategy() if node is not None and node.shape == "list" else None
    if strategy is None or not strategy.merges:
        return [_strip_directives(v) for v in patch]
    for item in patch:
        if isinstance(item, dict) and item.get(_DIRECTIVE) == "replace" and len(item) == 1:
            return [_strip_directives(v) for v in patch if v is not item]
    current = list(original) if isinstance(original, list) else []
    if not strategy.merge_key:  # a set of primitives, like finalizers
        for item in patch:
            if item not in current:
                current.append(copy.deepcopy(item))
        return _reorder(current, order, node) if order is not None else current
    key = strategy.merge_key
    item_node = node.item()
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"map: {item!r} does not contain declared merge key: {key}")
        if key not in item:
            raise PatchError(f"map: {_go_map(item)} does not contain declared merge key: {key}")
        position = next((i for i, v in enumerate(current) if isinstance(v, dict) and v.get(key) == item[key]), None)
        if item.get(_DIRECTIVE) == "delete":
            if position is not None:
                del current[position]
            continue
        if position is None:
            current.append(_strip_directives(item))
        else:
            current[position] = _merge_map(current[position], item, item_node)
    return _reorder(current, order, node) if order is not None else current


def _go_map(item: dict) -> str:
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(item.items())) + "]"


def _reorder(items: list, order: list, node: types.Node | None) -> list:
    """Follow `$setElementOrder`: listed elements in that order, the others after them."""
    key = node.list_strategy().merge_key if node is not None and node.shape == "list" else ""

    def identity(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [identity(o) for o in order]
    listed = sorted((i for i in items if identity(i) in wanted), key=lambda i: wanted.index(identity(i)))
    return listed + [i for i in items if identity(i) not in wanted]


# ---------------------------------------------------------------------------------------------
# Field sets (the FieldsV1 format)

Path = tuple[str, ...]  # ("f:spec", "f:containers", 'k:{"name":"app"}', "f:image")

# Fields the API server never records as managed.
_STRIPPED: set[Path] = {
    ("f:apiVersion",), ("f:kind",), ("f:metadata", "f:name"), ("f:metadata", "f:namespace"),
    ("f:metadata", "f:uid"), ("f:metadata", "f:resourceVersion"), ("f:metadata", "f:generation"),
    ("f:metadata", "f:creationTimestamp"), ("f:metadata", "f:selfLink"),
    ("f:metadata", "f:managedFields"), ("f:metadata", "f:deletionTimestamp"),
    ("f:metadata", "f:deletionGracePeriodSeconds"),
}
# Defaults structured-merge-diff assumes for list-map keys a client may leave out.
_MAP_KEY_DEFAULTS = {"protocol": "TCP"}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _item_key(item: dict, keys: tuple[str, ...]) -> str:
    fields = {}
    for key in keys:
        if key in item:
            fields[key] = item[key]
        elif key in _MAP_KEY_DEFAULTS:
            fields[key] = _MAP_KEY_DEFAULTS[key]
    return "k:" + _compact(fields)


def _collect(value: Any, node: types.Node | None, prefix: Path, out: set[Path]) -> None:
    """Add to `out` the paths of every field set in `value`."""
    shape = node.shape if node is not None else "free"
    if isinstance(value, dict) and shape in ("struct", "map", "free") and not (node and node.atomic):
        if not value and prefix:
            out.add(prefix)
        for key, item in value.items():
            if item is None:
                continue
            child = node.child(key) if node is not None else None
            if child is None and node is not None and node.shape == "struct":
                continue  # unknown field: pruned by the server
            path = prefix + (f"f:{key}",)
            if path not in _STRIPPED:
                _collect(item, child, path, out)
        return
    if isinstance(value, list) and shape == "list" and not node.atomic:
        strategy = node.list_strategy()
        for item in value:
            if strategy.list_type == "set" or not isinstance(item, dict):
                out.add(prefix + ("v:" + _compact(item),))
            else:
                path = prefix + (_item_key(item, strategy.list_map_keys),)
                out.add(path)
                _collect(item, node.item(), path, out)
        return
    out.add(prefix)


def field_set(obj: dict, kind_key: str) -> set[Path]:
    """The managed-field paths of every field set in `obj`."""
    out: set[Path] = set()
    _collect(obj, _root_node(kind_key), (), out)
    return out


def _root_node(kind_key: str) -> types.Node | None:
    return types.node(kind_key) if types.is_known(kind_key) else None


def to_fields_v1(paths: set[Path]) -> dict:
    """The FieldsV1 JSON of a set of paths; a path with children is marked by ".": {}."""
    tree: dict = {}
    for path in sorted(paths):
        current = tree
        for element in path:
            current = current.setdefault(element, {})
    members = set(paths)

    def render(node: dict, prefix: Path) -> dict:
        out: dict = {".": {}} if node and prefix in members else {}
        for element, child in node.items():
            out[element] = render(child, prefix + (element,))
        return out

    return render(tree, ())


def from_fields_v1(tree: dict, prefix: Path = ()) -> set[Path]:
    """The set of paths a FieldsV1 JSON holds."""
    out: set[Path] = set()
    if not isinstance(tree, dict):
        return out
    if prefix and (not tree or "." in tree):
        out.add(prefix)
    for element, child in tree.items():
        if element != ".":
            out |= from_fields_v1(child, prefix + (element,))
    return out


def _print_path(path: Path) -> str:
    """A path as structured-merge-diff prints it: `.spec.containers[name="app"].image`."""
    text = ""
    for element in path:
        kind, body = element[:2], element[2:]
        if kind == "f:":
            text += "." + body
        elif kind == "k:":
            fields = json.loads(body)
            text += "[" + ",".join(f"{k}={_compact(v)}" for k, v in fields.items()) + "]"
        elif kind == "v:":
            text += "[=" + body + "]"
        elif kind == "i:":
            text += f"[{body}]"
    return text


def _lookup(obj: Any, path: Path) -> tuple[bool, Any]:
    current = obj
    for element in path:
        kind, body = element[:2], element[2:]
        if kind == "f:" and isinstance(current, dict) and body in current:
            current = current[body]
        elif kind == "k:" and isinstance(current, list):
            wanted = json.loads(body)
            match = [
                i for i in current
                if isinstance(i, dict)
                and all(i.get(k, _MAP_KEY_DEFAULTS.get(k)) == v for k, v in wanted.items())
            ]
            if not match:
                return False, None
            current = match[0]
        elif kind == "v:" and isinstance(current, list):
            wanted = json.loads(body)
            if wanted not in current:
                return False, None
            current = wanted
        else:
            return False, None
    return True, current


def _remove_path(obj: Any, path: Path) -> None:
    found, parent = _lookup(obj, path[:-1])
    if not found:
        return
    kind, body = path[-1][:2], path[-1][2:]
    if kind == "f:" and isinstance(parent, dict):
        parent.pop(body, None)
    elif kind == "k:" and isinstance(parent, list):
        wanted = json.loads(body)
        parent[:] = [
            i for i in parent
            if not (isinstance(i, dict) and all(i.get(k, _MAP_KEY_DEFAULTS.get(k)) == v for k, v in wanted.items()))
        ]
    elif kind == "v:" and isinstance(parent, list):
        wanted = json.loads(body)
        parent[:] = [i for i in parent if i != wanted]


# ---------------------------------------------------------------------------------------------
# managedFields entries


@dataclass
class _Entry:
    manager: str
    operation: str
    api_version: str
    time: str
    subresource: str
    paths: set[Path]

    def same_owner(self, manager: str, operation: str, subresource: str) -> bool:
        return (self.manager, self.operation, self.subresource) == (manager, operation, subresource)

    def printed(self) -> str:
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def to_json(self) -> dict:
        entry = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.paths),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def _entries(obj: dict | None) -> list[_Entry]:
    raw = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    return [
        _Entry(
            e.get("manager", ""), e.get("operation", ""), e.get("apiVersion", ""), e.get("time", ""),
            e.get("subresource", ""), from_fields_v1(e.get("fieldsV1") or {}),
        )
        for e in raw
        if isinstance(e, dict) and e.get("fieldsV1") is not None
    ]


def _store_entries(obj: dict, entries: list[_Entry]) -> None:
    kept = [e.to_json() for e in entries if e.paths]
    metadata = obj.setdefault("metadata", {})
    if kept:
        metadata["managedFields"] = kept
    else:
        metadata.pop("managedFields", None)


def _owner_entry(entries: list[_Entry], manager: str, operation: str, subresource: str,
                 api_version: str, now: str) -> _Entry:
    for entry in entries:
        if entry.same_owner(manager, operation, subresource):
            return entry
    entry = _Entry(manager, operation, api_version, now, subresource, set())
    entries.append(entry)
    return entry


def _covers(paths: set[Path], path: Path) -> bool:
    """True when `path` or something under it is in `paths`."""
    return any(p[: len(path)] == path for p in paths)


# ---------------------------------------------------------------------------------------------
# Server-side apply


def _apply_merge(live: Any, applied: Any, node: types.Node | None) -> Any:
    """Merge an applied configuration into the live value: granular maps and structs merge,
    map lists merge by their keys, sets union, everything else is replaced."""
    shape = node.shape if node is not None else "free"
    if isinstance(applied, dict) and isinstance(live, dict) and shape in ("struct", "map", "free") \
            and not (node and node.atomic):
        result = dict(live)
        for key, value in applied.items():
            if value is None:
                continue
            child = node.child(key) if node is not None else None
            if child is None and node is not None and node.shape == "struct":
                continue
            result[key] = _apply_merge(live.get(key), value, child)
        return result
    if isinstance(applied, list) and isinstance(live, list) and shape == "list" and not node.atomic:
        strategy = node.list_strategy()
        if strategy.list_type == "set":
            return list(live) + [copy.deepcopy(v) for v in applied if v not in live]
        keys = strategy.list_map_keys
        result = list(live)
        for item in applied:
            if not isinstance(item, dict):
                continue
            key = _item_key(item, keys)
            position = next((i for i, v in enumerate(result) if isinstance(v, dict) and _item_key(v, keys) == key), None)
            if position is None:
                result.append(_apply_merge(None, item, node.item()))
            else:
                result[position] = _apply_merge(result[position], item, node.item())
        return result
    return _without_nulls(applied)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return copy.deepcopy(value)


def _reset_paths(kind_key: str, subresource: str) -> tuple[str, ...]:
    """Top-level fields an apply to this endpoint does not own (status on the main resource)."""
    if subresource == "status":
        return ("spec", "metadata")
    if types.is_known(kind_key) and types.node(kind_key, ("status",)) is not None:
        return ("status",)
    return ()


def server_side_apply(
    live: dict | None,
    applied: dict,
    manager: str,
    force: bool,
    kind_key: str,
    now: str,
    subresource: str = "",
) -> dict:
    """The object after `manager` applies `applied` to `live` (None: the object is new), with
    `metadata.managedFields` updated. Raises ApplyConflict when another manager owns a field the
    configuration changes, unless `force`."""
    if not isinstance(applied, dict):
        raise PatchError("json: cannot unmarshal array into Go value of type map[string]interface {}")
    root = _root_node(kind_key)
    reset = _reset_paths(kind_key, subresource)
    config = {k: v for k, v in applied.items() if k not in reset}
    if isinstance(config.get("metadata"), dict):
        config["metadata"] = {k: v for k, v in config["metadata"].items() if k != "managedFields"}
    current = copy.deepcopy(live) if live is not None else {}
    entries = _entries(live)
    applied_paths = field_set(config, kind_key)
    mine = _owner_entry(entries, manager, "Apply", subresource, applied.get("apiVersion", ""), now)
    others = [e for e in entries if e is not mine]

    conflicts: list[tuple[_Entry, Path]] = []
    for entry in others:
        for path in sorted(entry.paths & applied_paths):
            if _changes(current, config, path, applied_paths):
                conflicts.append((entry, path))
    if conflicts and not force:
        raise ApplyConflict([Conflict(e.printed(), _print_path(p)) for e, p in conflicts])
    for entry, path in conflicts:
        entry.paths.discard(path)

    # Fields this manager applied before, no longer applies, and nobody else owns are removed.
    owned_by_others = set().union(*(e.paths for e in others)) if others else set()
    removed: list[Path] = []
    for path in sorted(mine.paths - applied_paths, key=len):
        if any(path[: len(r)] == r for r in removed):
            continue  # already gone with its parent (a list item and its fields)
        if not _covers(owned_by_others, path) and not _covers(applied_paths, path):
            _remove_path(current, path)
            removed.append(path)

    result = _apply_merge(current, config, root)
    result.setdefault("apiVersion", applied.get("apiVersion"))
    result.setdefault("kind", applied.get("kind"))
    mine.paths = applied_paths
    mine.api_version = applied.get("apiVersion", mine.api_version)
    mine.time = now
    _store_entries(result, entries)
    return result


def _changes(live: dict, config: dict, path: Path, applied_paths: set[Path]) -> bool:
    """True when applying `config` changes the value at `path` of `live`."""
    in_live, live_value = _lookup(live, path)
    _, applied_value = _lookup(config, path)
    if any(p[: len(path)] == path and len(p) > len(path) for p in applied_paths):
        return not in_live  # a list item or map with fields of its own: only its presence counts
    return not in_live or not _json_equal(live_value, applied_value)


# ---------------------------------------------------------------------------------------------
# Ownership of non-apply writes


def _changed_paths(old: dict | None, new: dict, kind_key: str) -> tuple[set[Path], set[Path]]:
    """(paths set or changed by the write, paths the write removed)."""
    new_paths = field_set(new, kind_key)
    old_paths = field_set(old, kind_key) if old else set()
    changed = set()
    for path in new_paths:
        found, before = _lookup(old or {}, path)
        _, after = _lookup(new, path)
        if not found or not _json_equal(before, after):
            changed.add(path)
    return changed, old_paths - new_paths


def record_update(
    old: dict | None,
    new: dict,
    manager: str,
    kind_key: str,
    now: str,
    operation: str = "Update",
    subresource: str = "",
) -> None:
    """Update `new["metadata"]["managedFields"]` for a create/update/patch by `manager`: the
    fields the write set or changed become its own (and no longer anyone else's)."""
    old_entries = _entries(old)
    sent = (new.get("metadata") or {}).get("managedFields")
    if sent is not None and old is not None and sent != (old.get("metadata") or {}).get("managedFields"):
        entries = _entries(new)  # the client rewrote managedFields on purpose
    else:
        entries = old_entries
    reset = _reset_paths(kind_key, subresource)
    visible_new = {k: v for k, v in new.items() if k not in reset}
    visible_old = {k: v for k, v in old.items() if k not in reset} if old else None
    changed, removed = _changed_paths(visible_old, visible_new, kind_key)
    for entry in entries:
        entry.paths -= changed
        entry.paths -= removed
    if changed:
        entry = _owner_entry(entries, manager, operation, subresource, new.get("apiVersion", ""), now)
        entry.paths |= changed
        entry.api_version = new.get("apiVersion", entry.api_version)
        entry.time = now
    _store_entries(new, entries)
