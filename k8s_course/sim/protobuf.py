"""Decoding of Kubernetes protobuf request bodies into the JSON dicts the rest of the server uses.

kubectl's typed commands (`kubectl create deployment|secret|...`, `kubectl auth can-i`, `kubectl
create token`) send `Content-Type: application/vnd.kubernetes.protobuf`: the magic bytes
`k8s\\x00`, then a runtime.Unknown message {1 typeMeta {1 apiVersion, 2 kind}, 2 raw (the object's
own message), 3 contentEncoding, 4 contentType}. `decode` turns such a body into the dict that
the JSON encoding of the same Go object would give, so that everything after it stays JSON-only.

The shape of each message comes from the struct table (`schema.types`, field names and types)
joined with `schema.protobuf_numbers` (field numbers, and which zero values Go's JSON keeps).
Anything malformed raises `ProtobufError`, which the server answers with 400; no other
exception escapes, whatever the bytes.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import struct as binary
from dataclasses import dataclass
from typing import Any

from k8s_course.sim.schema import builtin_types, protobuf_numbers, types

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
_MAX_VARINT_BYTES = 10
_ZERO_TIME_SECONDS = -62135596800  # 0001-01-01T00:00:00Z, Go's zero time.Time
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# scalars whose zero value `omitempty` drops; Quantity, IntOrString and Time are structs in Go,
# which `omitempty` never drops
_DROPPABLE_SCALARS = {"string", "int32", "int64", "bool", "float64", "bytes"}
_VARINT_SCALARS = {"int32", "int64", "bool"}


class ProtobufError(ValueError):
    """A request body that is not a well-formed Kubernetes protobuf message (answered with 400)."""


# ---------------------------------------------------------------------------------------------
# The message table: struct -> field number -> what it holds


@dataclass(frozen=True)
class _Slot:
    name: str  # the JSON name; for an embedded struct, the struct's qualified name
    embedded: bool  # an inline struct: a nested message whose fields are promoted
    keeps_zero: bool  # pointer or no omitempty: Go's JSON writes zero scalars, null collections


STRUCTS: dict[str, types.Struct] = types._parse_table(
    builtin_types.STRUCTS + protobuf_numbers.EXTRA_STRUCTS
)


def _resolve(name: str, package: str) -> str:
    """A struct named in the table, looked up as the types table does: own package first."""
    for candidate in (package, "core.v1", "meta.v1"):
        if f"{candidate}.{name}" in STRUCTS:
            return f"{candidate}.{name}"
    raise ValueError(f"protobuf numbers: unknown struct {name!r} in {package}")


def _parse_numbers(text: str) -> dict[str, dict[int, _Slot]]:
    table: dict[str, dict[int, _Slot]] = {}
    package, current = "", ""
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            package, name = line.split()
            current = f"{package}.{name}"
            table[current] = {}
            continue
        for token in line.split():
            name, _, number = token.partition("=")
            keeps_zero = number.endswith("!")
            embedded = name.startswith("...")
            if embedded:
                name = _resolve(name[3:], package)
            table[current][int(number.rstrip("!"))] = _Slot(name, embedded, keeps_zero)
    return table


NUMBERS: dict[str, dict[int, _Slot]] = _parse_numbers(protobuf_numbers.NUMBERS)

# struct -> the scalar fields whose zero value Go's JSON leaves out
_OMITTED_WHEN_ZERO: dict[str, tuple[str, ...]] = {
    qualified: tuple(
        slot.name for slot in slots.values()
        if not slot.embedded and not slot.keeps_zero
        and STRUCTS[qualified].fields[slot.name].type.shape == "scalar"
        and STRUCTS[qualified].fields[slot.name].type.scalar in _DROPPABLE_SCALARS
    )
    for qualified, slots in NUMBERS.items()
}

# struct -> the list and map fields Go's JSON writes as null when they are empty
_NULL_WHEN_ABSENT: dict[str, tuple[str, ...]] = {
    qualified: tuple(
        slot.name for slot in slots.values()
        if not slot.embedded and slot.keeps_zero
        and STRUCTS[qualified].fields[slot.name].type.shape in ("list", "map")
    )
    for qualified, slots in NUMBERS.items()
}

# kind key -> qualified root struct, for the kinds with protobuf numbers (not the CRD)
KINDS: dict[str, str] = {
    key: f"{package}.{name}"
    for key, (package, name) in {**types.KINDS, **protobuf_numbers.EXTRA_KINDS}.items()
    if f"{package}.{name}" in NUMBERS
}


# ---------------------------------------------------------------------------------------------
# Wire format


def _varint(data: bytes, position: int) -> tuple[int, int]:
    """An unsigned varint at `position`, and the position after it."""
    result = shift = 0
    for index in range(position, min(position + _MAX_VARINT_BYTES, len(data))):
        byte = data[index]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, index + 1
        shift += 7
    if position + _MAX_VARINT_BYTES <= len(data):
        raise ProtobufError("proto: integer overflow")
    raise ProtobufError("unexpected EOF")


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """The (number, wire type, value) of each field of a message, in order: the value is an int
    for varints and fixed numbers, bytes for length-delimited fields."""
    out = []
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if number <= 0 or number > 0x1FFFFFFF:
            raise ProtobufError(f"proto: illegal tag {number} (wire type {wire})")
        if wire == _VARINT:
            value, position = _varint(data, position)
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            if position + size > len(data):
                raise ProtobufError("unexpected EOF")
            value = int.from_bytes(data[position:position + size], "little")
            position += size
        elif wire == _BYTES:
            length, position = _varint(data, position)
            if position + length > len(data):
                raise ProtobufError("unexpected EOF")
            value = data[position:position + length]
            position += length
        else:
            raise ProtobufError(f"proto: illegal wireType {wire}")
        out.append((number, wire, value))
    return out


def _expect(wire: int, expected: int, name: str) -> None:
    if wire != expected:
        raise ProtobufError(f"proto: wrong wireType = {wire} for field {name}")


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _int32(value: int) -> int:
    # Go's generated decoder keeps the low 32 bits of the varint
    return ((value & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000


def _text(raw: bytes) -> str:
    # Go keeps the bytes; its JSON encoder then writes invalid UTF-8 as U+FFFD
    return bytes(raw).decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------------------------
# Values


def _json_document(raw: bytes, what: str) -> Any:
    try:
        return json.loads(bytes(raw)) if raw else None
    except (ValueError, RecursionError) as error:
        raise ProtobufError(f"{what}: invalid JSON in raw bytes: {error}") from None


def _time(payload: bytes, micro: bool) -> str | None:
    if not payload:
        return None  # Go writes the zero time as an empty message, and its JSON as null
    seconds = nanos = 0
    for number, wire, value in _fields(payload):
        if number == 1:
            _expect(wire, _VARINT, "seconds")
            seconds = _signed64(value)
        elif number == 2:
            _expect(wire, _VARINT, "nanos")
            nanos = _int32(value)
    if not micro:
        nanos = 0  # metav1.Time keeps whole seconds only
    seconds, nanos = seconds + nanos // 1_000_000_000, nanos % 1_000_000_000
    if seconds == _ZERO_TIME_SECONDS and nanos == 0:
        return None  # the zero time, which Go's JSON writes as null
    try:
        moment = _EPOCH + datetime.timedelta(seconds=seconds)
    except OverflowError:
        raise ProtobufError(f"Time.MarshalJSON: year outside of range [0,9999]: {seconds}s") from None
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.year < 1000:  # strftime does not pad years on every platform
        text = f"{moment.year:04d}" + text[text.index("-"):]
    return f"{text}.{nanos // 1000:06d}Z" if micro else f"{text}Z"


def _intstr(payload: bytes) -> int | str:
    kind = int_value = 0
    str_value = ""
    for number, wire, value in _fields(payload):
        if number == 1:
            _expect(wire, _VARINT, "type")
            kind = _signed64(value)
        elif number == 2:
            _expect(wire, _VARINT, "intVal")
            int_value = _int32(value)
        elif number == 3:
            _expect(wire, _BYTES, "strVal")
            str_value = _text(value)
    if kind == 0:
        return int_value
    if kind == 1:
        return str_value
    raise ProtobufError(f"impossible IntOrString.Type {kind}")


def _single_bytes_field(payload: bytes, name: str) -> bytes | None:
    """Field 1 of a message holding one length-delimited value (Quantity, FieldsV1,
    RawExtension); None when absent."""
    found = None
    for number, wire, value in _fields(payload):
        if number == 1:
            _expect(wire, _BYTES, name)
            found = value
    return found


def _scalar(wire: int, value: Any, go_type: types.GoType, name: str) -> Any:
    scalar = go_type.scalar
    if scalar in _VARINT_SCALARS:
        _expect(wire, _VARINT, name)
        if scalar == "bool":
            return value != 0
        return _int32(value) if scalar == "int32" else _signed64(value)
    if scalar == "float64":
        _expect(wire, _FIXED64, name)
        number = binary.unpack("<d", value.to_bytes(8, "little"))[0]
        if not math.isfinite(number):
            raise ProtobufError(f"json: unsupported value: {number} (field {name})")
        return number
    _expect(wire, _BYTES, name)
    if scalar == "string":
        return _text(value)
    if scalar == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if scalar == "quantity":
        text = _single_bytes_field(value, name)
        return _text(text) if text else "0"
    if scalar == "intstr":
        return _intstr(value)
    if scalar in ("time", "microtime"):
        return _time(value, micro=scalar == "microtime")
    # "any" (RawExtension) and "object" (FieldsV1) carry JSON in their field 1
    return _json_document(_single_bytes_field(value, name) or b"", name)


def _zero(go_type: types.GoType) -> Any:
    """The JSON of a Go zero value, for map entries without a value."""
    if go_type.shape == "struct":
        return {}
    if go_type.shape in ("list", "map"):
        return None
    return {"string": "", "bytes": "", "int32": 0, "int64": 0, "bool": False, "float64": 0.0,
            "quantity": "0", "intstr": 0}.get(go_type.scalar)


def _value(wire: int, value: Any, go_type: types.GoType, name: str) -> Any:
    """One occurrence of a non-repeated field (or one element, one map value)."""
    if go_type.shape == "struct":
        _expect(wire, _BYTES, name)
        return _struct(value, go_type.struct)
    if go_type.shape == "list":
        # a list inside a list or map travels wrapped, as the `items` (1) of a message
        _expect(wire, _BYTES, name)
        items: list = []
        for number, item_wire, item in _fields(value):
            if number == 1:
                items.extend(_elements(item_wire, item, go_type.elem, name))
        return items
    if go_type.shape == "map":
        _expect(wire, _BYTES, name)
        entries: dict = {}
        for number, entry_wire, entry in _fields(value):
            if number == 1:
                _expect(entry_wire, _BYTES, name)
                key, item = _map_entry(entry, go_type.elem, name)
                entries[key] = item
        return entries
    return _scalar(wire, value, go_type, name)


def _elements(wire: int, value: Any, elem: types.GoType, name: str) -> list:
    """The elements one occurrence of a repeated field adds: one, or several when packed."""
    packable = elem.shape == "scalar" and (elem.scalar in _VARINT_SCALARS or elem.scalar == "float64")
    if not (packable and wire == _BYTES):
        return [_value(wire, value, elem, name)]
    out, position = [], 0
    while position < len(value):
        if elem.scalar == "float64":
            if position + 8 > len(value):
                raise ProtobufError("unexpected EOF")
            item = int.from_bytes(value[position:position + 8], "little")
            out.append(_scalar(_FIXED64, item, elem, name))
            position += 8
        else:
            item, position = _varint(value, position)
            out.append(_scalar(_VARINT, item, elem, name))
    return out


def _map_entry(entry: bytes, elem: types.GoType, name: str) -> tuple[str, Any]:
    key, item, found = "", None, False
    for number, wire, value in _fields(entry):
        if number == 1:
            _expect(wire, _BYTES, name)
            key = _text(value)
        elif number == 2:
            item, found = _value(wire, value, elem, name), True
    return key, item if found else _zero(elem)


def _struct(data: bytes, qualified: str) -> dict:
    slots, fields = NUMBERS[qualified], STRUCTS[qualified].fields
    out: dict[str, Any] = {}
    for number, wire, value in _fields(data):
        slot = slots.get(number)
        if slot is None:
            continue  # a field this table does not know, skipped as Go skips it
        if slot.embedded:
            _expect(wire, _BYTES, slot.name)
            out.update(_struct(value, slot.name))
            continue
        go_type = fields[slot.name].type
        if go_type.shape == "list":
            out.setdefault(slot.name, []).extend(_elements(wire, value, go_type.elem, slot.name))
        elif go_type.shape == "map":
            _expect(wire, _BYTES, slot.name)
            key, item = _map_entry(value, go_type.elem, slot.name)
            out.setdefault(slot.name, {})[key] = item
        else:
            item = _value(wire, value, go_type, slot.name)
            previous = out.get(slot.name)
            # a message field repeated on the wire merges into the first, as in Go
            out[slot.name] = {**previous, **item} if isinstance(previous, dict) and isinstance(item, dict) else item
    for name in _OMITTED_WHEN_ZERO[qualified]:
        if out.get(name, 1) in ("", 0):
            del out[name]  # `omitempty` drops "", 0 and false (False == 0)
    for name in _NULL_WHEN_ABSENT[qualified]:
        out.setdefault(name, None)
    # Go's JSON writes fields in declaration order
    return {name: out[name] for name in fields if name in out}


# ---------------------------------------------------------------------------------------------
# The envelope


def _envelope(data: bytes) -> tuple[str, str, bytes]:
    api_version = kind = content_encoding = content_type = ""
    raw = b""
    for number, wire, value in _fields(data):
        if number == 1:
            _expect(wire, _BYTES, "typeMeta")
            for meta_number, meta_wire, meta_value in _fields(value):
                if meta_number in (1, 2):
                    _expect(meta_wire, _BYTES, "apiVersion" if meta_number == 1 else "kind")
                    if meta_number == 1:
                        api_version = _text(meta_value)
                    else:
                        kind = _text(meta_value)
        elif number in (2, 3, 4):
            _expect(wire, _BYTES, {2: "raw", 3: "contentEncoding", 4: "contentType"}[number])
            if number == 2:
                raw = value
            elif number == 3:
                content_encoding = _text(value)
            else:
                content_type = _text(value)
    if content_encoding:
        raise ProtobufError(f"unsupported content encoding {content_encoding!r} in the protobuf envelope")
    if content_type not in ("", CONTENT_TYPE):
        raise ProtobufError(f"unsupported content type {content_type!r} in the protobuf envelope")
    return api_version, kind, raw


def decode(body: bytes) -> dict:
    """The JSON dict of the object in a Kubernetes protobuf body (magic, runtime.Unknown):
    `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo", ...}, ...}`.
    Raises ProtobufError for anything malformed or of a kind without a protobuf table."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise ProtobufError("a protobuf body must be bytes")
    data = bytes(body)
    if not data.startswith(MAGIC):
        raise ProtobufError(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    api_version, kind, raw = _envelope(data[len(MAGIC):])
    if not kind:
        raise ProtobufError("Object 'Kind' is missing in the protobuf envelope")
    if not api_version:
        raise ProtobufError("Object 'apiVersion' is missing in the protobuf envelope")
    # DeleteOptions is registered in every group version, and sent with the resource's own
    root = "meta.v1.DeleteOptions" if kind == "DeleteOptions" else KINDS.get(f"{api_version}/{kind}")
    if root is None:
        raise ProtobufError(f'no kind "{kind}" is registered for version "{api_version}"')
    try:
        obj = _struct(raw, root)
    except RecursionError:
        raise ProtobufError("proto: message nested too deeply") from None
    return {"kind": kind, "apiVersion": api_version, **obj}
