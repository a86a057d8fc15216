"""Label and field selectors: parsing, matching and formatting, as the API server does them.

Two syntaxes meet here. The query-string label selector (`app=web,tier in (a,b),!canary`) is
tokenised and parsed the way k8s.io/apimachinery/pkg/labels does, so a bad selector gets the
same `unable to parse requirement: ...` answer. The metav1.LabelSelector object
(matchLabels + matchExpressions) that controllers carry converts to the same requirements.
Field selectors (`spec.nodeName=node-1,status.phase!=Running`) are checked against the field
labels each kind accepts, because the server answers 400 for any other label, and matched with
Kubernetes' rule that a missing field reads as "".

Errors are `errors.APIError` 400 BadRequest with the server's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from k8s_course.sim import errors
from k8s_course.sim.schema import validation_meta

# --- label keys and values: the same rules as ObjectMeta's (schema.validation_meta) ---------


def label_key_errors(key: str) -> list[str]:
    """Why `key` is not a valid label key (empty when it is): apimachinery's IsQualifiedName."""
    return validation_meta.is_qualified_name(key)


def label_value_errors(value: str) -> list[str]:
    """Why `value` is not a valid label value (empty when it is)."""
    return validation_meta.is_valid_label_value(value)


# --- label selectors ------------------------------------------------------------------------

# Operators, spelled as Kubernetes' selection package spells them.
IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "in", "notin", "=", "==", "!="
EXISTS, DOES_NOT_EXIST, GREATER_THAN, LESS_THAN = "exists", "!", "gt", "lt"
_BINARY_OPERATORS = [IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN]


@dataclass(frozen=True)
class Requirement:
    """One condition on one label key; `values` are sorted and unique, as Kubernetes keeps them."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in (IN, EQUALS, DOUBLE_EQUALS):
            return present and value in self.values
        if self.operator in (NOT_IN, NOT_EQUALS):
            return not present or value not in self.values
        if self.operator == EXISTS:
            return present
        if self.operator == DOES_NOT_EXIST:
            return not present
        if self.operator in (GREATER_THAN, LESS_THAN):
            if not present or len(self.values) != 1:
                return False
            try:
                have, want = int(value), int(self.values[0])
            except (TypeError, ValueError):
                return False
            return have > want if self.operator == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        if self.operator == EXISTS:
            return self.key
        joined = ",".join(self.values)
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({joined})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{joined}"


@dataclass(frozen=True)
class LabelSelector:
    """An AND of requirements. `nothing` is the selector a nil metav1.LabelSelector becomes."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (it matches every object)."""
        return not self.nothing and not self.requirements

    def matches(self, labels: dict | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(requirement.matches(labels) for requirement in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


def _sorted_by_key(requirements: list[Requirement]) -> tuple[Requirement, ...]:
    return tuple(sorted(requirements, key=lambda requirement: requirement.key))


class _SelectorSyntaxError(Exception):
    pass


def _field_error_text(path: str, value: object, detail: str) -> str:
    return str(errors.invalid(path, value, detail))


def _new_requirement(key: str, operator: str, values: list[str]) -> Requirement:
    """Validate like labels.NewRequirement; several problems are reported as `[a, b]`."""
    problems: list[str] = []
    for message in label_key_errors(key):
        problems.append(_field_error_text("key", key, message))
    if operator in (GREATER_THAN, LESS_THAN):
        for index, value in enumerate(values):
            if not re.fullmatch(r"[+-]?\d+", value):
                problems.append(
                    _field_error_text(f"values[{index}]", value, "for 'Gt', 'Lt' operators, the value must be an integer")
                )
    for index, value in enumerate(values):
        reasons = label_value_errors(value)
        if reasons:
            problems.append(_field_error_text(f"values[{index}][{key}]", value, "; ".join(reasons)))
    if problems:
        unique = list(dict.fromkeys(problems))
        raise _SelectorSyntaxError(unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]")
    return Requirement(key, operator, tuple(values))


# Tokens of the label selector lexer.
_END, _CLOSE, _COMMA, _NOT, _DOUBLE_EQ, _EQ, _GT, _IDENT, _IN, _LT, _NOT_EQ, _NOT_IN, _OPEN, _ERROR = range(14)
_SYMBOLS = {
    ")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DOUBLE_EQ, "=": _EQ, ">": _GT,
    "in": _IN, "<": _LT, "!=": _NOT_EQ, "notin": _NOT_IN, "(": _OPEN,
}  # fmt: skip
_SPECIAL = set("=!(),><")
_WHITESPACE = set(" \t\r\n")


def _lex(text: str) -> list[tuple[int, str]]:
    tokens: list[tuple[int, str]] = []
    position = 0
    while True:
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        if position >= len(text):
            tokens.append((_END, ""))
            return tokens
        if text[position] in _SPECIAL:
            # Longest run of special characters that still spells a known symbol.
            buffer, best, best_end = "", None, position
            cursor = position
            while cursor < len(text) and text[cursor] in _SPECIAL:
                buffer += text[cursor]
                cursor += 1
                if buffer in _SYMBOLS:
                    best, best_end = buffer, cursor
                elif best is not None:
                    break
            if best is None:
                tokens.append((_ERROR, f"error expected: keyword found '{buffer}'"))
                position = cursor
            else:
                tokens.append((_SYMBOLS[best], best))
                position = best_end
            continue
        start = position
        while position < len(text) and text[position] not in _SPECIAL and text[position] not in _WHITESPACE:
            position += 1
        word = text[start:position]
        tokens.append((_SYMBOLS.get(word, _IDENT), word))


class _LabelParser:
    def __init__(self, text: str):
        self.tokens = _lex(text)
        self.position = 0

    def _peek(self, values_context: bool = True) -> tuple[int, str]:
        token, literal = self.tokens[self.position]
        if values_context and token in (_IN, _NOT_IN):
            token = _IDENT  # 'in' and 'notin' are ordinary words where a value is expected
        return token, literal

    def _take(self, values_context: bool = True) -> tuple[int, str]:
        found = self._peek(values_context)
        self.position += 1
        return found

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token, literal = self._peek()
            if token in (_IDENT, _NOT):
                try:
                    requirements.append(self._requirement())
                except _SelectorSyntaxError as problem:
                    raise _SelectorSyntaxError(f"unable to parse requirement: {problem}") from None
                token, literal = self._take()
                if token == _END:
                    return requirements
                if token == _COMMA:
                    after, after_literal = self._peek()
                    if after not in (_IDENT, _NOT):
                        raise _SelectorSyntaxError(f"found '{after_literal}', expected: identifier after ','")
                    continue
                raise _SelectorSyntaxError(f"found '{literal}', expected: ',' or 'end of string'")
            if token == _END:
                return requirements
            raise _SelectorSyntaxError(f"found '{literal}', expected: !, identifier, or 'end of string'")

    def _requirement(self) -> Requirement:
        operator = None
        token, literal = self._take()
        if token == _NOT:
            operator = DOES_NOT_EXIST
            token, literal = self._take()
        if token != _IDENT:
            raise _SelectorSyntaxError(f"found '{literal}', expected: identifier")
        key = literal
        key_problems = label_key_errors(key)
        if key_problems:
            # The parser validates the key with no field path, which Go prints as <nil>.
            raise _SelectorSyntaxError(_field_error_text("<nil>", key, "; ".join(key_problems)))
        if operator == DOES_NOT_EXIST or self._peek()[0] in (_END, _COMMA):
            return _new_requirement(key, operator or EXISTS, [])
        operator = self._operator()
        if operator in (IN, NOT_IN):
            values = self._value_set()
        else:
            values = self._exact_value()
        return _new_requirement(key, operator, sorted(set(values)))

    def _operator(self) -> str:
        token, literal = self._take(values_context=False)
        operators = {_IN: IN, _EQ: EQUALS, _DOUBLE_EQ: DOUBLE_EQUALS, _GT: GREATER_THAN,
                     _LT: LESS_THAN, _NOT_IN: NOT_IN, _NOT_EQ: NOT_EQUALS}  # fmt: skip
        if token not in operators:
            raise _SelectorSyntaxError(f"found '{literal}', expected: {', '.join(_BINARY_OPERATORS)}")
        return operators[token]

    def _value_set(self) -> list[str]:
        token, literal = self._take()
        if token != _OPEN:
            raise _SelectorSyntaxError(f"found '{literal}' expected: '('")
        token, literal = self._peek()
        if token == _CLOSE:
            self._take()
            return [""]
        if token not in (_IDENT, _COMMA):
            raise _SelectorSyntaxError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self._identifier_list()
        if self._take()[0] != _CLOSE:
            raise _SelectorSyntaxError(f"found '{literal}', expected: ')'")
        return values

    def _identifier_list(self) -> list[str]:
        values: list[str] = []
        while True:
            token, literal = self._take()
            if token == _IDENT:
                values.append(literal)
                after, after_literal = self._peek()
                if after == _COMMA:
                    continue
                if after == _CLOSE:
                    return values
                raise _SelectorSyntaxError(f"found '{after_literal}', expected: ',' or ')'")
            if token == _COMMA:
                # "(,a", "a,,b" and "a,)" all carry an empty value.
                if not values:
                    values.append("")
                after = self._peek()[0]
                if after == _CLOSE:
                    values.append("")
                    return values
                if after == _COMMA:
                    values.append("")
                continue
            raise _SelectorSyntaxError(f"found '{literal}', expected: ',', or identifier")

    def _exact_value(self) -> list[str]:
        token, _ = self._peek()
        if token in (_END, _COMMA):
            return [""]
        token, literal = self._take()
        if token == _IDENT:
            return [literal]
        raise _SelectorSyntaxError(f"found '{literal}', expected: identifier")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse the `labelSelector` query parameter; raises APIError 400 as the server would."""
    if not text:
        return LabelSelector()
    try:
        requirements = _LabelParser(text).parse()
    except _SelectorSyntaxError as problem:
        raise errors.bad_request(str(problem)) from None
    return LabelSelector(_sorted_by_key(requirements))


_OBJECT_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def from_selector_object(selector: dict | None) -> LabelSelector:
    """metav1.LabelSelector -> LabelSelector. A nil selector matches nothing, an empty one all.

    The object is assumed valid (see validate_selector_object); an unknown operator raises
    ValueError with the apimachinery wording.
    """
    if selector is None:
        return LabelSelector(nothing=True)
    requirements = [
        Requirement(key, EQUALS, (str(value),)) for key, value in (selector.get("matchLabels") or {}).items()
    ]
    for expression in selector.get("matchExpressions") or []:
        operator = _OBJECT_OPERATORS.get(expression.get("operator"))
        if operator is None:
            raise ValueError(f'"{expression.get("operator")}" is not a valid label selector operator')
        values = () if operator in (EXISTS, DOES_NOT_EXIST) else tuple(sorted(set(expression.get("values") or [])))
        requirements.append(Requirement(expression.get("key", ""), operator, values))
    return LabelSelector(_sorted_by_key(requirements))


def validate_selector_object(selector: dict | None, path: str) -> list[errors.FieldError]:
    """Field errors for a metav1.LabelSelector at `path` (e.g. "spec.selector")."""
    problems: list[errors.FieldError] = []
    if selector is None:
        return problems
    for key, value in (selector.get("matchLabels") or {}).items():
        for message in label_key_errors(key):
            problems.append(errors.invalid(f"{path}.matchLabels", key, message))
        for message in label_value_errors(str(value)):
            problems.append(errors.invalid(f"{path}.matchLabels", value, message))
    for index, expression in enumerate(selector.get("matchExpressions") or []):
        where = f"{path}.matchExpressions[{index}]"
        operator = expression.get("operator")
        values = expression.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                problems.append(
                    errors.required(f"{where}.values", "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                problems.append(
                    errors.forbidden(
                        f"{where}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                    )
                )
        else:
            problems.append(errors.invalid(f"{where}.operator", operator, "not a valid selector operator"))
        key = expression.get("key", "")
        for message in label_key_errors(key):
            problems.append(errors.invalid(f"{where}.key", key, message))
        for value_index, value in enumerate(values):
            for message in label_value_errors(str(value)):
                problems.append(errors.invalid(f"{where}.values[{value_index}]", value, message))
    return problems


def format_selector_object(selector: dict | None) -> str:
    """metav1.FormatLabelSelector: the selector as text, `<none>` when it selects by nothing."""
    try:
        text = str(from_selector_object(selector))
    except ValueError:
        return "<error>"
    return text or "<none>"


def format_labels(labels: dict | None) -> str:
    """labels.FormatLabels: `a=b,c=d` sorted by key, `<none>` when there are none."""
    text = ",".join(f"{key}={labels[key]}" for key in sorted(labels or {}))
    return text or "<none>"


# --- field selectors ------------------------------------------------------------------------


def _get(obj: dict, dotted: str) -> object:
    value: object = obj
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _first_pod_ip(pod: dict) -> object:
    ips = _get(pod, "status.podIPs") or []
    if ips and isinstance(ips[0], dict):
        return ips[0].get("ip")
    return _get(pod, "status.podIP")


def _event_source(event: dict, source_path: str) -> object:
    return _get(event, source_path) or event.get("reportingComponent") or event.get("reportingController")


@dataclass(frozen=True)
class _FieldRules:
    """Which field labels a kind accepts (label -> canonical), and how to read each one."""

    accepted: dict[str, str]
    readers: dict  # canonical label -> function(obj) -> value; absent means it reads as ""
    reject: str  # message template for an unsupported label, with {label} / {quoted}


_METADATA_ONLY_REJECT = '{quoted} is not a known field selector: only "metadata.name", "metadata.namespace"'
_NOT_SUPPORTED_REJECT = "field label not supported: {label}"


def _meta_readers(namespaced: bool) -> dict:
    readers = {"metadata.name": lambda obj: _get(obj, "metadata.name")}
    if namespaced:
        readers["metadata.namespace"] = lambda obj: _get(obj, "metadata.namespace")
    return readers


def _rules(namespaced: bool, fields: dict, reject: str = _NOT_SUPPORTED_REJECT, aliases: dict | None = None):
    readers = {**_meta_readers(namespaced), **fields}
    accepted = {label: label for label in readers}
    accepted.update(aliases or {})
    return _FieldRules(accepted, readers, reject)


def _path_reader(path: str):
    return lambda obj: _get(obj, path)


_CORE_EVENT_FIELDS = {
    **{f"involvedObject.{name}": _path_reader(f"involvedObject.{name}")
       for name in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": _path_reader("reason"),
    "reportingComponent": _path_reader("reportingComponent"),
    "source": lambda event: _event_source(event, "source.component"),
    "type": _path_reader("type"),
}  # fmt: skip

# events.k8s.io/v1 Events share the core storage: its labels are aliases of the core ones.
_EVENTS_V1_FIELDS = {
    **{f"involvedObject.{name}": _path_reader(f"regarding.{name}")
       for name in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": _path_reader("reason"),
    "reportingComponent": _path_reader("reportingController"),
    "source": lambda event: _get(event, "deprecatedSource.component") or event.get("reportingController"),
    "type": _path_reader("type"),
}  # fmt: skip

_FIELD_RULES: dict[str, _FieldRules] = {
    "v1/Pod": _rules(
        True,
        {
            "spec.nodeName": _path_reader("spec.nodeName"),
            "spec.restartPolicy": _path_reader("spec.restartPolicy"),
            "spec.schedulerName": _path_reader("spec.schedulerName"),
            "spec.serviceAccountName": _path_reader("spec.serviceAccountName"),
            "spec.hostNetwork": lambda pod: bool(_get(pod, "spec.hostNetwork")),
            "status.phase": _path_reader("status.phase"),
            "status.podIP": _first_pod_ip,
            # Accepted by the server but never filled in by it, so it only matches "".
            "status.podIPs": lambda pod: None,
            "status.nominatedNodeName": _path_reader("status.nominatedNodeName"),
        },
        aliases={"spec.host": "spec.nodeName"},  # what very old clients send
    ),
    "v1/Node": _rules(False, {"spec.unschedulable": lambda node: bool(_get(node, "spec.unschedulable"))}),
    "v1/Namespace": _rules(False, {"status.phase": _path_reader("status.phase")}),
    "v1/Secret": _rules(True, {"type": _path_reader("type")}),
    "v1/Service": _rules(True, {"spec.clusterIP": _path_reader("spec.clusterIP"), "spec.type": _path_reader("spec.type")}),
    "v1/ReplicationController": _rules(True, {"status.replicas": lambda rc: _get(rc, "status.replicas") or 0}),
    "v1/Event": _rules(True, _CORE_EVENT_FIELDS),
    "events.k8s.io/v1/Event": _FieldRules(
        accepted={
            "metadata.name": "metadata.name",
            "metadata.namespace": "metadata.namespace",
            "reason": "reason",
            "type": "type",
            "source": "source",
            **{f"regarding.{name}": f"involvedObject.{name}"
               for name in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
            "reportingController": "reportingComponent",
        },  # fmt: skip
        readers={**_meta_readers(True), **_EVENTS_V1_FIELDS},
        reject=_NOT_SUPPORTED_REJECT,
    ),
    "batch/v1/Job": _rules(
        True,
        {"status.successful": lambda job: _get(job, "status.succeeded") or 0},
        reject='field label {quoted} not supported for batchv1.Job',
    ),
    "certificates.k8s.io/v1/CertificateSigningRequest": _rules(False, {"spec.signerName": _path_reader("spec.signerName")}),
}
# Every other kind (apps/v1 included: it registers no field label conversions) accepts only
# the metadata labels, with runtime.DefaultMetaV1FieldSelectorConversion's message.
_DEFAULT_RULES = _FieldRules(
    {"metadata.name": "metadata.name", "metadata.namespace": "metadata.namespace"},
    _meta_readers(True),
    _METADATA_ONLY_REJECT,
)


@dataclass(frozen=True)
class FieldTerm:
    field: str  # the canonical label
    operator: str  # "=" or "!=" ("==" is kept as "=")
    value: str


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[FieldTerm, ...]
    readers: dict

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, obj: dict) -> bool:
        for term in self.terms:
            reader = self.readers.get(term.field)
            have = _text(reader(obj)) if reader else ""
            if (have == term.value) != (term.operator == "="):
                return False
        return True

    def __str__(self) -> str:
        return ",".join(f"{term.field}{term.operator}{term.value}" for term in self.terms)


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _unescape(value: str) -> str:
    result, escaped = "", False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise errors.bad_request(f"invalid field selector: invalid escape sequence: \\{char}")
            result += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise errors.bad_request(f"invalid field selector: unescaped character in value: {char}")
        else:
            result += char
    if escaped:
        raise errors.bad_request("invalid field selector: invalid escape sequence: \\")
    return result


def _split_term(term: str) -> tuple[str, str, str] | None:
    for index in range(len(term)):
        for operator in ("!=", "==", "="):
            if term.startswith(operator, index):
                return term[:index], operator, term[index + len(operator) :]
    return None


def parse_field_selector(text: str | None, kind_key: str, selectable_fields: list[str] | None = None) -> FieldSelector:
    """Parse the `fieldSelector` query parameter for a kind; raises APIError 400 as the server would.

    `selectable_fields` are a custom resource's `selectableFields` json paths (e.g. ".spec.color");
    giving them (even empty) marks the kind as a custom resource.
    """
    if selectable_fields is not None:
        fields = {path.lstrip("."): _path_reader(path.lstrip(".")) for path in selectable_fields}
        rules = _rules(True, fields, _NOT_SUPPORTED_REJECT if fields else _METADATA_ONLY_REJECT)
    else:
        rules = _FIELD_RULES.get(kind_key, _DEFAULT_RULES)
    terms: list[FieldTerm] = []
    for part in sorted(_split_unescaped(text or "", ",")):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        label, operator, raw_value = split
        value = _unescape(raw_value)
        canonical = rules.accepted.get(label)
        if canonical is None:
            raise errors.bad_request(rules.reject.format(label=label, quoted='"' + label + '"'))
        terms.append(FieldTerm(canonical, "!=" if operator == "!=" else "=", value))
    return FieldSelector(tuple(terms), rules.readers)
