"""The Kubernetes JSONPath dialect (client-go/util/jsonpath), small and over plain dicts.

Used for CRD `additionalPrinterColumns` (`.status.replicas`) and for `kubectl get -o jsonpath`
style templates (`{range .items[*]}{.metadata.name}{"\\n"}{end}`). Supported: fields (`.a`,
`['a']`, `.a\\.b`), `.*`, `..a` (recursive), `[n]` and negative `[n]`, slices `[a:b:c]`,
`[*]`, unions `[0,2]` / `['a','b']`, filters `[?(@.type=="Ready")]` with `== != < > <= >=`
and bare existence `[?(@.a)]`, string literals `{"\\n"}`, and `{range ...}{end}`.

`evaluate()` returns the values an expression selects (missing keys select nothing, as with
AllowMissingKeys); `format_value()` / `format_results()` print them as kubectl does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal


class JSONPathError(ValueError):
    """The expression is not valid JSONPath."""


# --- syntax -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    names: tuple[str, ...]  # more than one for a union of keys
    recursive: bool = False


@dataclass(frozen=True)
class _Wildcard:
    recursive: bool = False


@dataclass(frozen=True)
class _Index:
    indexes: tuple  # ints, or (start, end, step) tuples for slices


@dataclass(frozen=True)
class _Filter:
    left: tuple  # a path relative to @, or a literal
    operator: str | None  # None: existence test
    right: tuple | None


@dataclass(frozen=True)
class _Literal:
    value: object


_Step = _Field | _Wildcard | _Index | _Filter


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Action:
    steps: tuple[_Step, ...] | _Literal


@dataclass(frozen=True)
class _Range:
    steps: tuple[_Step, ...]
    body: tuple


def _split_actions(template: str) -> list[tuple[str, str]]:
    """Split a template into ("text", ...) and ("action", ...) pieces."""
    pieces: list[tuple[str, str]] = []
    position = 0
    while position < len(template):
        start = template.find("{", position)
        if start < 0:
            pieces.append(("text", template[position:]))
            break
        if start > position:
            pieces.append(("text", template[position:start]))
        cursor, quote = start + 1, None
        while cursor < len(template):
            char = template[cursor]
            if quote:
                if char == "\\":
                    cursor += 1
                elif char == quote:
                    quote = None
            elif char in "\"'":
                quote = char
            elif char == "}":
                break
            cursor += 1
        if cursor >= len(template):
            raise JSONPathError(f"unclosed action in {template!r}")
        pieces.append(("action", template[start + 1 : cursor].strip()))
        position = cursor + 1
    return pieces


def _parse_literal(text: str) -> object:
    text = text.strip()
    if text[:1] in "\"'" and text[-1:] == text[:1] and len(text) >= 2:
        body = text[1:-1]
        if text[0] == '"':
            try:
                return json.loads(text)
            except ValueError:
                return body
        return body
    if text in ("true", "false"):
        return text == "true"
    if text == "nil" or text == "null":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise JSONPathError(f"unrecognized literal {text!r}") from None


def _closing_bracket(text: str, start: int) -> int:
    depth, quote, cursor = 0, None, start
    while cursor < len(text):
        char = text[cursor]
        if quote:
            if char == "\\":
                cursor += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return cursor
        cursor += 1
    raise JSONPathError(f"unterminated array in {text!r}")


_NAME_CHARS = re.compile(r"(?:\\.|[^.\[\]\s()=!<>,'\"])+")


def _parse_filter(body: str) -> _Filter:
    match = re.fullmatch(r"\s*(.+?)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*", body)
    if match is None:
        return _Filter(_parse_operand(body.strip()), None, None)
    left, operator, right = match.groups()
    return _Filter(_parse_operand(left), operator, _parse_operand(right))


def _parse_operand(text: str) -> tuple:
    if text.startswith("@"):
        return ("path", _parse_steps(text[1:]))
    return ("literal", _parse_literal(text))


def _parse_bracket(body: str) -> _Step:
    body = body.strip()
    if body.startswith("?"):
        inner = body[1:].strip()
        if not (inner.startswith("(") and inner.endswith(")")):
            raise JSONPathError(f"invalid filter {body!r}")
        return _parse_filter(inner[1:-1])
    if body == "*":
        return _Wildcard()
    items = [item.strip() for item in body.split(",")]
    if all(item[:1] in "\"'" for item in items):
        return _Field(tuple(_parse_literal(item) for item in items))
    indexes: list = []
    for item in items:
        if ":" in item:
            parts = [part.strip() for part in item.split(":")]
            if len(parts) > 3:
                raise JSONPathError(f"invalid slice {item!r}")
            numbers = [int(part) if part else None for part in parts] + [None] * (3 - len(parts))
            indexes.append(tuple(numbers))
        else:
            try:
                indexes.append(int(item))
            except ValueError:
                raise JSONPathError(f"invalid array index {item!r}") from None
    return _Index(tuple(indexes))


def _parse_steps(text: str) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    position = 0
    text = text.strip()
    if text.startswith("$"):
        position = 1
    while position < len(text):
        char = text[position]
        if char == "[":
            end = _closing_bracket(text, position)
            steps.append(_parse_bracket(text[position + 1 : end]))
            position = end + 1
        elif char == ".":
            recursive = text.startswith("..", position)
            position += 2 if recursive else 1
            if position >= len(text):
                if recursive:
                    raise JSONPathError(f"invalid recursive descent in {text!r}")
                break  # "." alone selects the current object
            if text[position] == "*":
                steps.append(_Wildcard(recursive))
                position += 1
                continue
            if text[position] == "[":
                if recursive:
                    steps.append(_Wildcard(True))
                continue
            match = _NAME_CHARS.match(text, position)
            if match is None:
                raise JSONPathError(f"invalid field name at {text[position:]!r}")
            name = re.sub(r"\\(.)", r"\1", match.group(0))
            steps.append(_Field((name,), recursive))
            position = match.end()
        elif char.isspace():
            position += 1
        else:
            raise JSONPathError(f"unrecognized character in action: {text[position:]!r}")
    return tuple(steps)


def _parse_template(template: str) -> tuple:
    stack: list[list] = [[]]
    open_ranges: list[tuple[_Step, ...]] = []
    for kind, content in _split_actions(template):
        if kind == "text":
            stack[-1].append(_Text(content))
        elif content.startswith("range ") or content == "range":
            open_ranges.append(_parse_steps(content[len("range") :]))
            stack.append([])
        elif content == "end":
            if not open_ranges:
                raise JSONPathError("not in range, nothing to end")
            body = tuple(stack.pop())
            stack[-1].append(_Range(open_ranges.pop(), body))
        elif content[:1] in "\"'":
            stack[-1].append(_Action(_Literal(_parse_literal(content))))
        else:
            stack[-1].append(_Action(_parse_steps(content)))
    if open_ranges:
        raise JSONPathError("unclosed range")
    return tuple(stack[0])


# --- evaluation ---------------------------------------------------------------------------


def _descendants(value: object) -> list:
    found = [value]
    if isinstance(value, dict):
        for child in value.values():
            found.extend(_descendants(child))
    elif isinstance(value, list):
        for child in value:
            found.extend(_descendants(child))
    return found


def _children(value: object) -> list:
    if isinstance(value, dict):
        return [value[key] for key in sorted(value)]  # Go ranges over sorted map keys here
    if isinstance(value, list):
        return list(value)
    return []


def _apply(step: _Step, values: list) -> list:
    results: list = []
    if isinstance(step, _Field):
        sources = [d for v in values for d in _descendants(v)] if step.recursive else values
        for value in sources:
            if isinstance(value, dict):
                results.extend(value[name] for name in step.names if name in value)
    elif isinstance(step, _Wildcard):
        sources = [d for v in values for d in _descendants(v)] if step.recursive else values
        for value in sources:
            results.extend(_children(value))
    elif isinstance(step, _Index):
        for value in values:
            if isinstance(value, list):
                results.extend(_pick(value, step.indexes))
    elif isinstance(step, _Filter):
        for value in values:
            for item in _children(value) if isinstance(value, list) else []:
                if _keep(step, item):
                    results.append(item)
    return results


def _pick(items: list, indexes: tuple) -> list:
    picked: list = []
    length = len(items)
    for index in indexes:
        if isinstance(index, tuple):
            start, end, step = index
            picked.extend(items[slice(start, end, step)])
        else:
            position = index + length if index < 0 else index
            if 0 <= position < length:
                picked.append(items[position])
    return picked


def _operand_values(operand: tuple, item: object) -> list:
    kind, content = operand
    if kind == "literal":
        return [content]
    return _walk(content, [item])


def _compare(left: object, operator: str, right: object) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        comparable = isinstance(left, bool) and isinstance(right, bool)
    elif isinstance(left, (int, float)) and isinstance(right, (int, float)):
        comparable = True
    else:
        comparable = isinstance(left, str) and isinstance(right, str)
    if operator == "==":
        return comparable and left == right
    if operator == "!=":
        return not (comparable and left == right)
    if not comparable or isinstance(left, bool):
        return False
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[operator]


def _keep(step: _Filter, item: object) -> bool:
    lefts = _operand_values(step.left, item)
    if step.operator is None:
        return bool(lefts)
    rights = _operand_values(step.right, item)
    return any(_compare(left, step.operator, right) for left in lefts for right in rights)


def _walk(steps: tuple[_Step, ...], values: list) -> list:
    for step in steps:
        values = _apply(step, values)
    return values


def _strip_braces(expression: str) -> str:
    expression = expression.strip()
    if expression.startswith("{") and expression.endswith("}"):
        return expression[1:-1].strip()
    return expression


def evaluate(expression: str, obj: object) -> list:
    """The values `expression` selects from `obj`: `evaluate(".spec.replicas", d) == [3]`.

    Accepts a bare path or one wrapped in braces. Missing keys select nothing.
    """
    inner = _strip_braces(expression)
    if inner[:1] in "\"'":
        return [_parse_literal(inner)]
    return _walk(_parse_steps(inner), [obj])


def _go_float(number: float) -> str:
    """Go's %v for a float64: shortest digits, exponent form outside 1e-4 <= |x| < 1e6."""
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    digit_text = "".join(map(str, digits))
    decimal_exponent = len(digit_text) + exponent - 1  # position of the leading digit
    prefix = "-" if sign else ""
    if decimal_exponent < -4 or decimal_exponent >= 6:
        mantissa = digit_text[0] + ("." + digit_text[1:] if len(digit_text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if decimal_exponent < 0 else '+'}{abs(decimal_exponent):02d}"
    return prefix + format(Decimal(repr(abs(number))).normalize(), "f")


def _go_json(value: object) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    # encoding/json escapes these for safe embedding in HTML.
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def format_value(value: object) -> str:
    """One result as kubectl's jsonpath printer writes it: maps/lists as JSON, scalars bare."""
    if isinstance(value, (dict, list)):
        return _go_json(value)
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def format_results(values: list) -> str:
    """Several results of one action, space separated as kubectl prints them."""
    return " ".join(format_value(value) for value in values)


def _render(nodes: tuple, current: object, root: object) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Action):
            if isinstance(node.steps, _Literal):
                out.append(format_value(node.steps.value))
            else:
                out.append(format_results(_walk(node.steps, [current])))
        elif isinstance(node, _Range):
            for item in _walk(node.steps, [current]):
                out.append(_render(node.body, item, root))
    return "".join(out)


def render(template: str, obj: object) -> str:
    """A whole template, as `kubectl get -o jsonpath=TEMPLATE` prints it (missing keys ignored)."""
    return _render(_parse_template(template), obj, obj)


def validate(expression: str) -> None:
    """Raise JSONPathError when `expression` does not parse (a CRD column's jsonPath, say)."""
    _parse_template("{" + _strip_braces(expression) + "}")
