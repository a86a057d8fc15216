"""The built-in API types: what Go's JSON decoding of a built-in kind accepts, and how it merges.

Reads the compact struct table of `builtin_types` once, at import, into frozen descriptions,
and answers four questions about a kind's JSON:

- `inspect`: which values have the wrong JSON type (worded as Go's `encoding/json` words them,
  since the API server decodes into Go structs) and which fields are unknown (for
  fieldValidation Strict/Warn);
- `prune`: the object as a built-in kind is stored, unknown fields dropped;
- `list_strategy` / `node`: patch strategies and merge keys, for strategic merge patch and
  server-side apply;
- `openapi_components`: OpenAPI v3 component schemas, as kubectl reads them for `apply` and
  `explain`.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from k8s_course.sim.schema import builtin_types

# package key of the table -> (OpenAPI name prefix, apiVersion served)
_PACKAGES = {
    "core.v1": ("io.k8s.api.core.v1", "v1"),
    "apps.v1": ("io.k8s.api.apps.v1", "apps/v1"),
    "batch.v1": ("io.k8s.api.batch.v1", "batch/v1"),
    "discovery.v1": ("io.k8s.api.discovery.v1", "discovery.k8s.io/v1"),
    "coordination.v1": ("io.k8s.api.coordination.v1", "coordination.k8s.io/v1"),
    "rbac.v1": ("io.k8s.api.rbac.v1", "rbac.authorization.k8s.io/v1"),
    "policy.v1": ("io.k8s.api.policy.v1", "policy/v1"),
    "events.v1": ("io.k8s.api.events.v1", "events.k8s.io/v1"),
    "authorization.v1": ("io.k8s.api.authorization.v1", "authorization.k8s.io/v1"),
    "autoscaling.v1": ("io.k8s.api.autoscaling.v1", "autoscaling/v1"),
    "storage.v1": ("io.k8s.api.storage.v1", "storage.k8s.io/v1"),
    "admissionregistration.v1": ("io.k8s.api.admissionregistration.v1", "admissionregistration.k8s.io/v1"),
    "apiextensions.v1": (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1",
        "apiextensions.k8s.io/v1",
    ),
    "meta.v1": ("io.k8s.apimachinery.pkg.apis.meta.v1", None),
}

# kind key -> (package, struct)
KINDS: dict[str, tuple[str, str]] = {
    f"{_PACKAGES[pkg][1]}/{kind}": (pkg, kind)
    for pkg, kinds in {
        "core.v1": "Namespace Pod Service Endpoints ConfigMap Secret ServiceAccount Event Node "
        "PersistentVolumeClaim PersistentVolume Binding",
        "apps.v1": "Deployment ReplicaSet StatefulSet DaemonSet ControllerRevision",
        "batch.v1": "Job CronJob",
        "discovery.v1": "EndpointSlice",
        "coordination.v1": "Lease",
        "rbac.v1": "Role RoleBinding ClusterRole ClusterRoleBinding",
        "policy.v1": "PodDisruptionBudget Eviction",
        "events.v1": "Event",
        "authorization.v1": "SelfSubjectAccessReview SubjectAccessReview",
        "autoscaling.v1": "Scale",
        "storage.v1": "StorageClass",
        "admissionregistration.v1": "MutatingWebhookConfiguration ValidatingWebhookConfiguration",
        "apiextensions.v1": "CustomResourceDefinition",
    }.items()
    for kind in kinds.split()
}

_SCALARS = {
    "string", "int32", "int64", "bool", "float64", "quantity", "intstr", "time", "microtime",
    "bytes", "any", "object",
}


# ---------------------------------------------------------------------------------------------
# The parsed table


@dataclass(frozen=True)
class GoType:
    """A field's type: `shape` is scalar, list, map or struct."""

    shape: str
    scalar: str = ""  # for scalars: one of _SCALARS
    elem: GoType | None = None  # for lists and maps
    struct: str = ""  # for structs: "core.v1.Container"
    go_name: str = ""  # a named type's Go name ("RestartPolicy"), else ""

    def go_string(self) -> str:
        """The type as Go's reflect prints it in decoding errors: `[]v1.Container`."""
        if self.go_name:
            return self.go_name if "." in self.go_name else f"v1.{self.go_name}"
        if self.shape == "list":
            return "[]" + self.elem.go_string()
        if self.shape == "map":
            return "map[string]" + self.elem.go_string()
        if self.shape == "struct":
            return "v1." + self.struct.rsplit(".", 1)[1]
        return {
            "quantity": "resource.Quantity", "intstr": "intstr.IntOrString", "time": "v1.Time",
            "microtime": "v1.MicroTime", "bytes": "[]uint8", "any": "interface {}",
            "object": "map[string]interface {}",
        }.get(self.scalar, self.scalar)


@dataclass(frozen=True)
class Field:
    name: str
    type: GoType
    patch_strategy: str = ""  # "merge", "merge,retainKeys", "retainKeys", "replace"
    merge_key: str = ""
    list_type: str = ""  # "atomic", "set", "map"
    list_map_keys: tuple[str, ...] = ()
    map_type: str = ""  # "atomic" for maps that change as a whole
    required: bool = False


@dataclass(frozen=True)
class Struct:
    package: str
    name: str
    fields: dict[str, Field]
    atomic: bool = False  # +structType=atomic
    free: bool = False  # decoded as free JSON

    @property
    def qualified(self) -> str:
        return f"{self.package}.{self.name}"


def _parse_type(text: str, package: str, structs: set[str]) -> GoType:
    if text.startswith("[]"):
        return GoType("list", elem=_parse_type(text[2:], package, structs))
    if text.startswith("map["):
        inner, _, go_name = text[4:].rpartition("]")
        return GoType("map", elem=_parse_type(inner, package, structs), go_name=go_name.lstrip(":"))
    base, _, go_name = text.partition(":")
    if base in _SCALARS:
        return GoType("scalar", scalar=base, go_name=go_name)
    name, _, in_package = base.partition("@")
    for candidate in (in_package or package, "core.v1", "meta.v1"):
        if f"{candidate}.{name}" in structs:
            return GoType("struct", struct=f"{candidate}.{name}")
    raise ValueError(f"types table: unknown type {text!r} in {package}")


def _parse_table(text: str) -> dict[str, Struct]:
    blocks: list[tuple[str, str, list[str], list[str]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            package, name, *flags = line.split()
            blocks.append((package, name, flags, []))
        else:
            blocks[-1][3].append(line.strip())
    names = {f"{package}.{name}" for package, name, _, _ in blocks}
    raw: dict[str, tuple[Struct, list[str]]] = {}
    for package, name, flags, lines in blocks:
        fields: dict[str, Field] = {}
        inlined: list[str] = []
        for line in lines:
            json_name, type_text, *options = line.split()
            if json_name == "...":
                inlined.append(_parse_type(type_text, package, names).struct)
                fields[f"...{len(inlined)}"] = None  # keeps the promoted fields' position
                continue
            fields[json_name] = _parse_field(json_name, _parse_type(type_text, package, names), options)
        raw[f"{package}.{name}"] = (
            Struct(package, name, fields, "structType=atomic" in flags, "free" in flags),
            inlined,
        )

    def flattened(qualified: str) -> dict[str, Field]:
        struct, inlined = raw[qualified]
        out: dict[str, Field] = {}
        for key, value in struct.fields.items():
            if value is None:
                out.update(flattened(inlined[int(key[3:]) - 1]))
            else:
                out[key] = value
        return out

    return {
        qualified: Struct(s.package, s.name, flattened(qualified), s.atomic, s.free)
        for qualified, (s, _) in raw.items()
    }


def _parse_field(name: str, go_type: GoType, options: list[str]) -> Field:
    values = dict(option.split("=", 1) if "=" in option else (option, "") for option in options)
    list_type, keys = values.get("list", ""), ()
    if "(" in list_type:
        list_type, _, key_text = list_type.partition("(")
        keys = tuple(key_text.rstrip(")").split(","))
    return Field(
        name,
        go_type,
        patch_strategy=values.get("patch", ""),
        merge_key=values.get("key", ""),
        list_type=list_type,
        list_map_keys=keys,
        map_type=values.get("mapType", ""),
        required="req" in values,
    )


STRUCTS: dict[str, Struct] = _parse_table(builtin_types.STRUCTS)


def is_known(kind_key: str) -> bool:
    """True for the built-in kinds this table describes."""
    return kind_key in KINDS


def _root(kind_key: str) -> Struct:
    if kind_key not in KINDS:
        raise LookupError(f"no built-in type for {kind_key!r}")
    package, name = KINDS[kind_key]
    return STRUCTS[f"{package}.{name}"]


# ---------------------------------------------------------------------------------------------
# Walking a kind's schema (for patching and apply)


@dataclass(frozen=True)
class ListStrategy:
    """How a list field merges: its patch tags (strategic merge) and list type (apply)."""

    patch_strategy: str  # "" when the list is replaced as a whole by strategic merge patch
    merge_key: str
    list_type: str  # "atomic", "set", "map" ("" when undeclared: atomic for apply)
    list_map_keys: tuple[str, ...]

    @property
    def merges(self) -> bool:
        return "merge" in self.patch_strategy.split(",")

    @property
    def retains_keys(self) -> bool:
        return "retainKeys" in self.patch_strategy.split(",")


@dataclass(frozen=True)
class Node:
    """A position in a kind's schema: the type there and the field that leads to it."""

    type: GoType | None  # None: free JSON, anything goes
    field: Field | None = None

    @property
    def shape(self) -> str:
        """"struct", "map", "list", "scalar" or "free"."""
        if self.type is None or (self.type.shape == "struct" and STRUCTS[self.type.struct].free):
            return "free"
        if self.type.shape == "scalar" and self.type.scalar in ("any", "object"):
            return "free"
        return self.type.shape

    @property
    def atomic(self) -> bool:
        """True when apply owns the value as a whole (atomic struct, map or list)."""
        if self.type is None:
            return False
        if self.type.shape == "struct":
            return STRUCTS[self.type.struct].atomic
        if self.type.shape == "map":
            return bool(self.field and self.field.map_type == "atomic")
        if self.type.shape == "list":
            return self.list_strategy().list_type not in ("set", "map")
        return False

    @property
    def retains_keys(self) -> bool:
        return bool(self.field and "retainKeys" in self.field.patch_strategy.split(","))

    def child(self, key: str) -> Node | None:
        """The node of a struct's field or a map's value; None for an unknown field."""
        shape = self.shape
        if shape == "free":
            return Node(None)
        if shape == "map":
            return Node(self.type.elem)
        if shape == "struct":
            found = STRUCTS[self.type.struct].fields.get(key)
            return Node(found.type, found) if found else None
        return None

    def item(self) -> Node:
        """The node of a list's elements."""
        if self.shape == "list":
            return Node(self.type.elem)
        return Node(None)

    def list_strategy(self) -> ListStrategy:
        f = self.field or Field("", self.type)
        list_type = f.list_type
        if not list_type and f.merge_key:
            list_type = "map"
        return ListStrategy(f.patch_strategy, f.merge_key, list_type, f.list_map_keys or ((f.merge_key,) if f.merge_key else ()))


def node(kind_key: str, path: tuple[str, ...] = ()) -> Node | None:
    """The schema node at a field path (list indices omitted); None if it is no known field."""
    root = _root(kind_key)
    current: Node | None = Node(GoType("struct", struct=root.qualified))
    for key in path:
        if current is None:
            return None
        if current.shape == "list":
            current = current.item()
        current = current.child(key)
    return current


def list_strategy(kind_key: str, path: tuple[str, ...]) -> ListStrategy | None:
    """Patch strategy and merge key of the list at `path`, e.g. ("spec", "template", "spec",
    "containers") -> merge by "name"; None when `path` is not a list field of the kind."""
    found = node(kind_key, path)
    if found is None or found.shape != "list":
        return None
    return found.list_strategy()


def retains_keys(kind_key: str, path: tuple[str, ...]) -> bool:
    """True when the struct field at `path` is tagged retainKeys (e.g. a Deployment's strategy)."""
    found = node(kind_key, path)
    return bool(found and found.retains_keys)


# ---------------------------------------------------------------------------------------------
# Decoding: type errors, unknown fields, pruning


@dataclass
class Inspection:
    type_errors: list[str] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)


_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
QUANTITY_FORMAT_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _base64_error(text: str) -> str | None:
    """Go's StdEncoding wording for text that is not padded base64, else None."""
    try:
        base64.b64decode(text, validate=True)
        return None
    except (binascii.Error, ValueError):
        pass
    alphabet = re.compile(r"[A-Za-z0-9+/=]")
    for index, char in enumerate(text):
        if not alphabet.match(char) or (char == "=" and text[index:].strip("=")):
            return f"illegal base64 data at input byte {index}"
    return f"illegal base64 data at input byte {len(text) - len(text) % 4}"


class _Inspector:
    """Walks a value against its type, the way Go's decoder would, collecting what it finds."""

    def __init__(self) -> None:
        self.result = Inspection()

    def type_error(self, value: Any, struct: str, go_path: str, go_type: str, number: bool = False) -> None:
        kind = _json_kind(value)
        if number:  # Go quotes the literal for numbers that do not fit
            kind = f"number {value!r}"
        where = f"Go struct field {struct}.{go_path}" if struct else "Go value"
        self.result.type_errors.append(f"json: cannot unmarshal {kind} into {where} of type {go_type}")

    def value(self, value: Any, go_type: GoType, struct: str, go_path: str, path: str) -> None:
        if value is None:
            return  # null leaves the zero value, as in Go
        shape = go_type.shape
        if shape == "struct":
            self.struct(value, STRUCTS[go_type.struct], go_path, path, struct)
        elif shape == "list":
            if not isinstance(value, list):
                self.type_error(value, struct, go_path, go_type.go_string())
                return
            for index, item in enumerate(value):
                self.value(item, go_type.elem, struct, go_path, f"{path}[{index}]")
        elif shape == "map":
            if not isinstance(value, dict):
                self.type_error(value, struct, go_path, go_type.go_string())
                return
            for key, item in value.items():
                self.value(item, go_type.elem, struct, go_path, f"{path}.{key}" if path else key)
        else:
            self.scalar(value, go_type, struct, go_path)

    def scalar(self, value: Any, go_type: GoType, struct: str, go_path: str) -> None:
        scalar, errors = go_type.scalar, self.result.type_errors
        if scalar == "any":
            return
        if scalar == "object":
            if not isinstance(value, dict):
                self.type_error(value, struct, go_path, go_type.go_string())
        elif scalar in ("string", "time", "microtime"):
            if not isinstance(value, str):
                # Time decodes through a string of its own, and says so without the field
                if scalar == "string":
                    self.type_error(value, struct, go_path, go_type.go_string())
                else:
                    self.type_error(value, "", "", "string")
        elif scalar == "bytes":
            if not isinstance(value, str):
                self.type_error(value, struct, go_path, go_type.go_string())
            elif (problem := _base64_error(value)) is not None:
                errors.append(problem)
        elif scalar == "bool":
            if not isinstance(value, bool):
                self.type_error(value, struct, go_path, go_type.go_string())
        elif scalar in _INT_RANGES:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.type_error(value, struct, go_path, go_type.go_string())
            else:
                low, high = _INT_RANGES[scalar]
                if isinstance(value, float) or not low <= value <= high:
                    self.type_error(value, struct, go_path, go_type.go_string(), number=True)
        elif scalar == "float64":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.type_error(value, struct, go_path, go_type.go_string())
        elif scalar == "quantity":
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                errors.append(QUANTITY_FORMAT_ERROR)
            elif isinstance(value, str) and not _QUANTITY.match(value):
                errors.append(QUANTITY_FORMAT_ERROR)
        elif scalar == "intstr":
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                self.type_error(value, "", "", "int32", number=isinstance(value, float))

    def struct(self, value: Any, struct: Struct, go_path: str, path: str, outer: str) -> None:
        if not isinstance(value, dict):
            self.type_error(value, outer, go_path, f"v1.{struct.name}")
            return
        if struct.free:
            return
        for key, item in value.items():
            child_path = f"{path}.{key}" if path else key
            found = struct.fields.get(key)
            if found is None:
                self.result.unknown_fields.append(child_path)
                continue
            child_go_path = f"{go_path}.{key}" if go_path else key
            self.value(item, found.type, struct.name, child_go_path, child_path)


def inspect(kind_key: str, obj: dict) -> Inspection:
    """Wrong JSON types (Go's wording) and unknown fields (dotted paths with list indices) of a
    built-in object: `json: cannot unmarshal string into Go struct field
    DeploymentSpec.spec.replicas of type int32`, `spec.template.spec.containers[0].imagee`."""
    root = _root(kind_key)
    inspector = _Inspector()
    inspector.struct(obj, root, "", "", root.name)
    return inspector.result


def strict_decoding_message(unknown_fields: list[str]) -> str:
    """The 400 message of fieldValidation=Strict: `strict decoding error: unknown field "spec.foo"`."""
    return "strict decoding error: " + ", ".join(f'unknown field "{path}"' for path in unknown_fields)


def unknown_field_warnings(unknown_fields: list[str]) -> list[str]:
    """The Warning headers' texts of fieldValidation=Warn."""
    return [f'unknown field "{path}"' for path in unknown_fields]


def _pruned(value: Any, node_: Node) -> Any:
    shape = node_.shape
    if value is None or shape in ("free", "scalar"):
        return value
    if shape == "list":
        if not isinstance(value, list):
            return value
        item = node_.item()
        return [_pruned(v, item) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        child = node_.child(key)
        if child is not None:
            out[key] = _pruned(item, child)
    return out


def prune(kind_key: str, obj: dict) -> dict:
    """A copy of `obj` without the fields the kind does not have, as stored by the server."""
    return _pruned(obj, node(kind_key))


# ---------------------------------------------------------------------------------------------
# OpenAPI v3


def openapi_name(qualified_struct: str) -> str:
    package, _, name = qualified_struct.rpartition(".")
    return f"{_PACKAGES[package][0]}.{name}"


_REF = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_SCALAR_COMPONENTS = {
    "quantity": ("io.k8s.apimachinery.pkg.api.resource.Quantity",
                 {"oneOf": [{"type": "string"}, {"type": "number"}]}),
    "intstr": ("io.k8s.apimachinery.pkg.util.intstr.IntOrString",
               {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]}),
    "time": (f"{_META}.Time", {"type": "string", "format": "date-time"}),
    "microtime": (f"{_META}.MicroTime", {"type": "string", "format": "date-time"}),
    "object": (f"{_META}.FieldsV1", {"type": "object"}),
}
_SCALAR_SCHEMAS = {
    "string": {"type": "string"},
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "bool": {"type": "boolean"},
    "float64": {"type": "number", "format": "double"},
    "bytes": {"type": "string", "format": "byte"},
    "any": {},
}


def _gvk_of(qualified: str) -> list[dict]:
    return [
        {"group": key.rsplit("/", 2)[0] if key.count("/") == 2 else "", "kind": kind,
         "version": key.rsplit("/", 2)[-2]}
        for key, (package, kind) in KINDS.items()
        if f"{package}.{kind}" == qualified
    ]


def _type_schema(go_type: GoType, needed: list[str]) -> dict:
    if go_type.shape == "struct":
        needed.append(go_type.struct)
        return {"allOf": [{"$ref": _REF + openapi_name(go_type.struct)}]}
    if go_type.shape == "list":
        return {"type": "array", "items": _item_schema(go_type.elem, needed)}
    if go_type.shape == "map":
        return {"type": "object", "additionalProperties": _item_schema(go_type.elem, needed)}
    if go_type.scalar in _SCALAR_COMPONENTS:
        needed.append(go_type.scalar)
        return {"$ref": _REF + _SCALAR_COMPONENTS[go_type.scalar][0]}
    return dict(_SCALAR_SCHEMAS[go_type.scalar])


def _item_schema(go_type: GoType, needed: list[str]) -> dict:
    schema = _type_schema(go_type, needed)
    if go_type.shape == "struct":
        schema["default"] = {}
    elif go_type.shape == "scalar" and go_type.scalar == "string":
        schema["default"] = ""
    return schema


def _field_schema(f: Field, needed: list[str]) -> dict:
    schema = _type_schema(f.type, needed)
    if f.patch_strategy:
        schema["x-kubernetes-patch-strategy"] = f.patch_strategy
    if f.merge_key:
        schema["x-kubernetes-patch-merge-key"] = f.merge_key
    if f.list_type:
        schema["x-kubernetes-list-type"] = f.list_type
    if f.list_map_keys:
        schema["x-kubernetes-list-map-keys"] = list(f.list_map_keys)
    if f.map_type:
        schema["x-kubernetes-map-type"] = f.map_type
    if f.type.shape == "struct" and f.required:
        schema["default"] = {}
    return schema


def _struct_schema(struct: Struct, needed: list[str]) -> dict:
    schema: dict = {
        "type": "object",
        "properties": {name: _field_schema(f, needed) for name, f in struct.fields.items()},
    }
    required = [name for name, f in struct.fields.items() if f.required]
    if required:
        schema["required"] = required
    if struct.atomic:
        schema["x-kubernetes-map-type"] = "atomic"
    gvks = _gvk_of(struct.qualified)
    if gvks:
        schema["x-kubernetes-group-version-kind"] = gvks
    return schema


def openapi_components(api_version: str) -> dict[str, dict]:
    """OpenAPI v3 `components.schemas` for the kinds of one group version (and every schema they
    reference), named as Kubernetes names them: "io.k8s.api.apps.v1.Deployment"."""
    needed = [f"{package}.{kind}" for key, (package, kind) in KINDS.items()
              if key.rsplit("/", 1)[0] == api_version]
    components: dict[str, dict] = {}
    while needed:
        name = needed.pop()
        if name in _SCALAR_COMPONENTS:
            component_name, schema = _SCALAR_COMPONENTS[name]
            components.setdefault(component_name, dict(schema))
            continue
        component_name = openapi_name(name)
        if component_name not in components:
            components[component_name] = _struct_schema(STRUCTS[name], needed)
    return dict(sorted(components.items()))
