"""Word expansion of the simulated shell: parameters, `$(...)`, `$((...))`, splitting, globbing.

`expand_words` turns the words of a command into its argument list the way sh does: quoted text
stays whole, unquoted expansions split on blanks, unquoted `*`/`?` match file names (no match:
the pattern stays as written). Integer arithmetic follows C (division truncates toward zero).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re

from k8s_course.sim.images import shell_syntax as syntax


class ExpansionError(Exception):
    """`${VAR:?}` on an unset VAR, a bad arithmetic expression: the shell reports and exits."""


async def expand_word(shell, word: syntax.Word) -> str:
    """One word to one string: no splitting, no globbing (assignments, redirection targets)."""
    out = []
    for part in word.parts:
        if isinstance(part, syntax.Lit):
            out.append(part.text)
        else:
            out.append(await _expand_part(shell, part, joined=True))
    return "".join(out)


async def expand_words(shell, words: list[syntax.Word]) -> list[str]:
    result: list[str] = []
    for word in words:
        result.extend(await _fields(shell, word))
    return result


async def _fields(shell, word: syntax.Word) -> list[str]:
    fields: list[list[tuple[str, bool]]] = [[]]  # pieces of each field: (text, may glob)
    exists = [False]
    pending_break = False

    def add(text: str, glob: bool, real: bool = True) -> None:
        nonlocal pending_break
        if pending_break and (fields[-1] or exists[-1]):
            fields.append([])
            exists.append(False)
        pending_break = False
        fields[-1].append((text, glob))
        exists[-1] = exists[-1] or real

    for part in word.parts:
        if isinstance(part, syntax.Lit):
            add(part.text, not part.quoted, real=bool(part.text) or part.quoted)
            continue
        if isinstance(part, syntax.Param) and part.name == "@" and part.quoted and not part.op:
            for index, value in enumerate(shell.positional):
                if index:
                    fields.append([])
                    exists.append(False)
                add(value, False)
            continue
        value = await _expand_part(shell, part, joined=False)
        if part.quoted:
            add(value, False)
            continue
        pieces = value.split()
        if not pieces:
            if value:
                pending_break = True
            continue
        if value[0].isspace():
            pending_break = True
        for index, piece in enumerate(pieces):
            if index:
                pending_break = True
            add(piece, False)
        if value[-1].isspace():
            pending_break = True
    result = []
    for pieces, real in zip(fields, exists, strict=True):
        if not real and not pieces:
            continue
        text = "".join(t for t, _ in pieces)
        if not real and not text:
            continue
        if any(g and any(c in t for c in "*?[") for t, g in pieces):
            pattern = "".join(t if g else _escape_glob(t) for t, g in pieces)
            matches = glob(shell.files, pattern, shell.cwd)
            if matches:
                result.extend(matches)
                continue
        result.append(text)
    return result


def _escape_glob(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def glob(files, pattern: str, cwd: str) -> list[str]:
    """Names matching `pattern` (relative to `cwd` unless absolute), sorted, hidden files skipped."""
    absolute = pattern.startswith("/")
    components = [c for c in pattern.split("/") if c]
    candidates = ["/" if absolute else ""]
    for component in components:
        found = []
        for base in candidates:
            directory = posixpath.join(cwd, base) if not absolute else base
            if not any(c in component for c in "*?["):
                path = posixpath.join(base, component) if base else component
                if files.exists(posixpath.join(cwd, path)):
                    found.append(path)
                continue
            try:
                names = files.listdir(directory or cwd)
            except OSError:
                continue
            for name in names:
                if name.startswith(".") and not component.startswith("."):
                    continue
                if fnmatch.fnmatchcase(name, component):
                    found.append(posixpath.join(base, name) if base else name)
        candidates = found
    return sorted(candidates)


async def _expand_part(shell, part, joined: bool) -> str:
    if isinstance(part, syntax.Lit):
        return part.text
    if isinstance(part, syntax.CommandSub):
        return await shell.capture(part.body)
    if isinstance(part, syntax.Arith):
        text = await _substitute_params(shell, part.expression)
        return str(evaluate(text, shell.get_var))
    return await _parameter(shell, part)


async def _substitute_params(shell, text: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        found = shell.get_param(name)
        return found if found else "0"
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*|[0-9#?$!])\}?|\$(\w)", value, text)


async def _parameter(shell, part: syntax.Param) -> str:
    value = shell.get_param(part.name)
    op = part.op
    if op == "len":
        return str(len(value or ""))
    unset_or_empty = value is None or (op.startswith(":") and value == "")
    if op in (":-", "-"):
        return await expand_word(shell, part.arg) if unset_or_empty else value
    if op in (":=", "="):
        if unset_or_empty:
            value = await expand_word(shell, part.arg)
            shell.set_var(part.name, value)
        return value
    if op in (":+", "+"):
        return "" if unset_or_empty else await expand_word(shell, part.arg)
    if op in (":?", "?"):
        if unset_or_empty:
            message = await expand_word(shell, part.arg) if part.arg and part.arg.parts else ""
            raise ExpansionError(f"{part.name}: {message or 'parameter not set'}")
        return value
    if value is None:
        if "u" in shell.options and part.name not in ("@", "*"):
            raise ExpansionError(f"{part.name}: parameter not set")
        return ""
    if op in ("#", "##", "%", "%%"):
        pattern = await expand_word(shell, part.arg)
        return _trim(value, pattern, op)
    return value


def _trim(value: str, pattern: str, op: str) -> str:
    sizes = range(len(value) + 1)
    if op in ("##", "%%"):
        sizes = reversed(sizes)
    for size in sizes:
        if op.startswith("#") and fnmatch.fnmatchcase(value[:size], pattern):
            return value[size:]
        if op.startswith("%") and fnmatch.fnmatchcase(value[len(value) - size:], pattern):
            return value[:len(value) - size]
    return value


# ---- $(( )) ----

BINARY = {"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, "<=": 7, ">": 7,
          ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10}
TOKEN = re.compile(r"\s*(?:(0x[0-9a-fA-F]+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|"
                   r"(\|\||&&|==|!=|<=|>=|<<|>>|[-+*/%()<>!~|&^]))")


def evaluate(text: str, lookup) -> int:
    """C-like integer arithmetic; names read shell variables (unset or not a number: 0)."""
    tokens = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpansionError(f"arithmetic syntax error: \"{text}\"" if "=" not in text[position:]
                                 else "arithmetic assignment")
        number, name, op = match.groups()
        if number:
            tokens.append(("n", int(number, 0)))
        elif name:
            raw = lookup(name) or "0"
            try:
                tokens.append(("n", int(raw.strip() or "0", 0)))
            except ValueError:
                raise ExpansionError(f"arithmetic syntax error: \"{raw}\"") from None
        else:
            tokens.append(("op", op))
        position = match.end()
    if not tokens:
        return 0
    index = [0]

    def peek():
        return tokens[index[0]] if index[0] < len(tokens) else ("end", None)

    def unary() -> int:
        kind, value = peek()
        index[0] += 1
        if kind == "n":
            return value
        if value == "(":
            result = binary(0)
            if peek() != ("op", ")"):
                raise ExpansionError(f'arithmetic syntax error: "{text}"')
            index[0] += 1
            return result
        if value in ("-", "+", "!", "~"):
            operand = unary()
            return {"-": -operand, "+": operand, "!": int(not operand), "~": ~operand}[value]
        raise ExpansionError(f'arithmetic syntax error: "{text}"')

    def binary(minimum: int) -> int:
        left = unary()
        while True:
            kind, op = peek()
            if kind != "op" or op not in BINARY or BINARY[op] <= minimum:
                return left
            index[0] += 1
            right = binary(BINARY[op])
            left = _apply(op, left, right)

    result = binary(0)
    if index[0] != len(tokens):
        raise ExpansionError(f'arithmetic syntax error: "{text}"')
    return result


def _apply(op: str, left: int, right: int) -> int:
    if op in ("/", "%") and right == 0:
        raise ExpansionError("divide by zero")
    if op == "/":
        quotient = abs(left) // abs(right)
        return quotient if (left >= 0) == (right >= 0) else -quotient
    if op == "%":
        return left - right * _apply("/", left, right)
    return {
        "||": lambda: int(bool(left or right)), "&&": lambda: int(bool(left and right)),
        "|": lambda: left | right, "^": lambda: left ^ right, "&": lambda: left & right,
        "==": lambda: int(left == right), "!=": lambda: int(left != right),
        "<": lambda: int(left < right), "<=": lambda: int(left <= right),
        ">": lambda: int(left > right), ">=": lambda: int(left >= right),
        "<<": lambda: left << right, ">>": lambda: left >> right,
        "+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right,
    }[op]()
