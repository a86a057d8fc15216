"""The grammar of the simulated `sh -c`: source text -> a tree of commands.

The subset is the one lesson scripts use: lists (`;` `&&` `||` `&`), pipelines, `if`, `while`,
`until`, `for`, `{ }` and `( )`, words with quotes, `$VAR`, `${VAR...}`, `$(...)`, backticks,
`$((...))`, and redirections. Anything else a real shell would accept raises `Unsupported` naming
the construct, so the learner is told it is the simulator's limit, not a mistake of theirs.
"""

from __future__ import annotations

from k8s_course.sim.images.shell_tree import (  # noqa: F401  (the tree is part of the grammar)
    AndOr,
    Arith,
    CommandSub,
    For,
    Group,
    If,
    Lit,
    Loop,
    Node,
    Param,
    Pipeline,
    Redirect,
    Sequence,
    Simple,
    Word,
)


class Unsupported(Exception):
    """A construct a real shell accepts but the simulated one does not model."""

    def __init__(self, construct: str):
        super().__init__(construct)
        self.construct = construct


class ShellSyntaxError(Exception):
    def __init__(self, unexpected: str, expecting: str = ""):
        super().__init__(unexpected)
        self.unexpected = unexpected  # the token, or "end of file"
        self.expecting = expecting


RESERVED = {"if", "then", "elif", "else", "fi", "while", "until", "for", "in", "do", "done",
            "{", "}", "!", "case", "esac", "function", "select", "[[", "]]"}
ENDERS = {"then", "elif", "else", "fi", "do", "done", "}", "esac"}
META = set(" \t\n;&|()<>")
SPECIAL_PARAMS = set("@*#?$!0123456789")


def _is_name(text: str) -> bool:
    return bool(text) and (text[0].isalpha() or text[0] == "_") and all(
        c.isalnum() or c == "_" for c in text)


class Parser:
    """A recursive-descent parser over the source, lexing on demand (the shell's way)."""

    def __init__(self, source: str, pos: int = 0, nested: bool = False):
        self.src = source
        self.pos = pos
        self.nested = nested  # inside $( ... ): an unmatched ")" ends the program

    # ---- lexing ----

    def _skip_blanks(self) -> None:
        src = self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c in " \t":
                self.pos += 1
            elif src.startswith("\\\n", self.pos):
                self.pos += 2
            elif c == "#":
                while self.pos < len(src) and src[self.pos] != "\n":
                    self.pos += 1
            else:
                return

    def peek(self) -> tuple[str, object]:
        """The next token without consuming it: ("op", text), ("word", Word), ("eof", None)."""
        saved = self.pos
        token = self.next()
        self.pos = saved
        return token

    def next(self) -> tuple[str, object]:
        self._skip_blanks()
        src, pos = self.src, self.pos
        if pos >= len(src):
            return "eof", None
        c = src[pos]
        if c == "\n":
            self.pos += 1
            return "op", "\n"
        for op in ("&&", "||", ";;", "|&", "&>", "<<", ">>", ">&", "<&", ">|", "<>",
                   ";", "&", "|", "(", ")", "<", ">"):
            if src.startswith(op, pos):
                if op in (";;", "|&", "&>", "<<", "<>"):
                    raise Unsupported({";;": "case", "<<": "<< here-document"}.get(op, op))
                self.pos += len(op)
                return "op", op
        digits = pos
        while digits < len(src) and src[digits].isdigit():
            digits += 1
        if digits > pos and digits < len(src) and src[digits] in "<>":
            self.pos = digits
            kind, op = self.next()
            return "redir", (int(src[pos:digits]), op)
        return "word", self._word()

    def _word(self) -> Word:
        start, parts, src = self.pos, [], self.src
        while self.pos < len(src) and src[self.pos] not in META:
            c = src[self.pos]
            if c == "'":
                end = src.find("'", self.pos + 1)
                if end < 0:
                    raise ShellSyntaxError("end of file", "'")
                parts.append(Lit(src[self.pos + 1:end], True))
                self.pos = end + 1
            elif c == '"':
                self.pos += 1
                parts.extend(self._double_quoted())
            elif c == "\\":
                parts.append(Lit(src[self.pos + 1:self.pos + 2], True))
                self.pos += 2
            elif c == "$":
                parts.append(self._dollar(False))
            elif c == "`":
                parts.append(self._backtick(False))
            else:
                end = self.pos
                while end < len(src) and src[end] not in META and src[end] not in "'\"\\$`":
                    end += 1
                parts.append(Lit(src[self.pos:end]))
                self.pos = end
        return Word(parts, src[start:self.pos])

    def _double_quoted(self) -> list:
        parts, src, text = [], self.src, ""
        while True:
            if self.pos >= len(src):
                raise ShellSyntaxError("end of file", '"')
            c = src[self.pos]
            if c == '"':
                self.pos += 1
                break
            if c == "\\" and src[self.pos + 1:self.pos + 2] in ('"', "\\", "$", "`", "\n"):
                text += src[self.pos + 1] if src[self.pos + 1] != "\n" else ""
                self.pos += 2
            elif c in "$`":
                if text:
                    parts.append(Lit(text, True))
                    text = ""
                parts.append(self._dollar(True) if c == "$" else self._backtick(True))
            else:
                text += c
                self.pos += 1
        if text or not parts:
            parts.append(Lit(text, True))
        return parts

    def _backtick(self, quoted: bool):
        end = self.pos + 1
        inner = ""
        while end < len(self.src) and self.src[end] != "`":
            if self.src[end] == "\\" and end + 1 < len(self.src):
                inner += self.src[end + 1]
                end += 2
                continue
            inner += self.src[end]
            end += 1
        if end >= len(self.src):
            raise ShellSyntaxError("end of file", "`")
        self.pos = end + 1
        return CommandSub(parse(inner), quoted)

    def _dollar(self, quoted: bool):
        src, pos = self.src, self.pos
        nxt = src[pos + 1:pos + 2]
        if src.startswith("$((", pos):
            depth, end = 0, pos + 1
            while end < len(src):
                if src[end] == "(":
                    depth += 1
                elif src[end] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                end += 1
            if end >= len(src) or src[end - 1] != ")":
                raise ShellSyntaxError("end of file", "))")
            self.pos = end + 1
            return Arith(src[pos + 3:end - 1], quoted)
        if nxt == "(":
            sub = Parser(src, pos + 2, nested=True)
            body = sub.program()
            kind, value = sub.next()
            if value != ")":
                raise ShellSyntaxError("end of file", ")")
            self.pos = sub.pos
            return CommandSub(body, quoted)
        if nxt == "{":
            end = src.find("}", pos)
            if end < 0:
                raise ShellSyntaxError("end of file", "}")
            self.pos = end + 1
            return self._braced(src[pos + 2:end], quoted)
        if nxt and nxt in SPECIAL_PARAMS:
            self.pos += 2
            return Param(nxt, quoted)
        end = pos + 1
        while end < len(src) and (src[end].isalnum() or src[end] == "_"):
            end += 1
        if end == pos + 1:
            self.pos += 1
            return Lit("$", quoted)
        self.pos = end
        return Param(src[pos + 1:end], quoted)

    def _braced(self, body: str, quoted: bool) -> Param:
        if body.startswith("#") and len(body) > 1:
            if not _is_name(body[1:]) and body[1:] not in SPECIAL_PARAMS:
                raise Unsupported("${" + body + "}")
            return Param(body[1:], quoted, "len")
        name = body[0] if body[:1] in SPECIAL_PARAMS else ""
        if not name:
            end = 0
            while end < len(body) and (body[end].isalnum() or body[end] == "_"):
                end += 1
            name = body[:end]
        rest = body[len(name):]
        if not _is_name(name) and name not in SPECIAL_PARAMS:
            raise Unsupported("${" + body + "}")
        if not rest:
            return Param(name, quoted)
        for op in (":-", ":=", ":+", ":?", "##", "%%", "-", "=", "+", "?", "#", "%"):
            if rest.startswith(op):
                arg = Parser(rest[len(op):])._word_in_braces()
                return Param(name, quoted, op, arg)
        raise Unsupported("${" + body + "}")

    def _word_in_braces(self) -> Word:
        parts, src = [], self.src
        text = ""
        while self.pos < len(src):
            c = src[self.pos]
            if c in "$`'\"":
                if text:
                    parts.append(Lit(text))
                    text = ""
                if c == "$":
                    parts.append(self._dollar(False))
                elif c == "`":
                    parts.append(self._backtick(False))
                elif c == "'":
                    end = src.find("'", self.pos + 1)
                    parts.append(Lit(src[self.pos + 1:end], True))
                    self.pos = end + 1
                else:
                    self.pos += 1
                    parts.extend(self._double_quoted())
            else:
                text += c
                self.pos += 1
        if text:
            parts.append(Lit(text))
        return Word(parts, src)

    # ---- grammar ----

    def program(self) -> Sequence:
        sequence = self.sequence(set())
        kind, value = self.peek()
        if kind != "eof" and not (self.nested and value == ")"):
            raise ShellSyntaxError(str(value))
        return sequence

    def _skip_newlines(self) -> None:
        while self.peek() == ("op", "\n"):
            self.next()

    def _at_end(self, enders: set[str]) -> bool:
        kind, value = self.peek()
        if kind == "eof" or (kind == "op" and value == ")"):
            return True
        return kind == "word" and value.raw in enders and value.raw in ENDERS

    def sequence(self, enders: set[str]) -> Sequence:
        items: list[tuple[AndOr, bool]] = []
        self._skip_newlines()
        while not self._at_end(enders):
            command = self.and_or()
            kind, value = self.peek()
            background = value == "&"
            if kind == "op" and value in (";", "&", "\n"):
                self.next()
                self._skip_newlines()
            elif not self._at_end(enders):
                raise ShellSyntaxError(str(value if kind != "word" else value.raw))
            items.append((command, background))
        return Sequence(items)

    def and_or(self) -> AndOr:
        first, rest = self.pipeline(), []
        while self.peek() in (("op", "&&"), ("op", "||")):
            op = self.next()[1]
            self._skip_newlines()
            rest.append((op, self.pipeline()))
        return AndOr(first, rest)

    def pipeline(self) -> Pipeline:
        negate = False
        kind, value = self.peek()
        if kind == "word" and value.raw == "!":
            self.next()
            negate = True
        commands = [self.command()]
        while self.peek() == ("op", "|"):
            self.next()
            self._skip_newlines()
            commands.append(self.command())
        return Pipeline(commands, negate)

    def _expect_word(self, text: str) -> None:
        kind, value = self.next()
        if kind != "word" or value.raw != text:
            shown = "end of file" if kind == "eof" else (value.raw if kind == "word" else value)
            raise ShellSyntaxError(str(shown), text)

    def command(self):
        kind, value = self.peek()
        if kind == "op" and value == "(":
            self.next()
            body = self.sequence(set())
            if self.next() != ("op", ")"):
                raise ShellSyntaxError("end of file", ")")
            return self._redirected(Group(body, subshell=True))
        if kind == "word":
            word = value.raw
            if word in ("case", "function", "select", "[["):
                raise Unsupported(word)
            if word == "if":
                return self._if()
            if word in ("while", "until"):
                self.next()
                condition = self.sequence({"do"})
                self._expect_word("do")
                body = self.sequence({"done"})
                self._expect_word("done")
                return self._redirected(Loop(condition, body, until=word == "until"))
            if word == "for":
                return self._for()
            if word == "{":
                self.next()
                body = self.sequence({"}"})
                self._expect_word("}")
                return self._redirected(Group(body))
            if word in ENDERS:
                raise ShellSyntaxError(word)
        if kind in ("eof",) or (kind == "op" and value not in ("<", ">", ">>", ">&", "<&", ">|")):
            raise ShellSyntaxError("end of file" if kind == "eof" else str(value))
        return self.simple()

    def _if(self) -> If:
        self.next()
        branches, otherwise = [], None
        condition = self.sequence({"then"})
        self._expect_word("then")
        branches.append((condition, self.sequence({"elif", "else", "fi"})))
        while True:
            kind, value = self.next()
            word = value.raw if kind == "word" else ""
            if word == "elif":
                condition = self.sequence({"then"})
                self._expect_word("then")
                branches.append((condition, self.sequence({"elif", "else", "fi"})))
            elif word == "else":
                otherwise = self.sequence({"fi"})
                self._expect_word("fi")
                break
            elif word == "fi":
                break
            else:
                raise ShellSyntaxError("end of file" if kind == "eof" else str(value), "fi")
        return self._redirected(If(branches, otherwise))

    def _for(self) -> For:
        self.next()
        kind, name = self.next()
        if kind != "word" or not _is_name(name.raw):
            raise ShellSyntaxError(getattr(name, "raw", str(name)))
        words = None
        self._skip_newlines()
        kind, value = self.peek()
        if kind == "word" and value.raw == "in":
            self.next()
            words = []
            while True:
                kind, value = self.peek()
                if kind != "word":
                    break
                words.append(self.next()[1])
        kind, value = self.peek()
        if kind == "op" and value in (";", "\n"):
            self.next()
        self._skip_newlines()
        self._expect_word("do")
        body = self.sequence({"done"})
        self._expect_word("done")
        return self._redirected(For(name.raw, words, body))

    def _redirected(self, node):
        while True:
            kind, value = self.peek()
            if kind == "redir" or (kind == "op" and value in ("<", ">", ">>", ">&", "<&", ">|")):
                node.redirects.append(self._redirect())
            else:
                return node

    def _redirect(self) -> Redirect:
        kind, value = self.next()
        fd, op = value if kind == "redir" else (None, value)
        op = {">|": ">", "<&": "<"}.get(op, op)
        if fd is None:
            fd = 0 if op == "<" else 1
        kind, target = self.next()
        if kind != "word":
            raise ShellSyntaxError("end of file" if kind == "eof" else str(target))
        return Redirect(fd, op, target)

    def simple(self) -> Simple:
        assigns, words, redirects = [], [], []
        while True:
            kind, value = self.peek()
            if kind == "redir" or (kind == "op" and value in ("<", ">", ">>", ">&", "<&", ">|")):
                redirects.append(self._redirect())
                continue
            if kind != "word":
                break
            if words and value.raw in ("(",):
                break
            self.next()
            name, _, _ = value.raw.partition("=")
            if not words and "=" in value.raw and _is_name(name) and value.parts and \
                    isinstance(value.parts[0], Lit) and not value.parts[0].quoted:
                first = value.parts[0]
                rest = [Lit(first.text[len(name) + 1:])] if len(first.text) > len(name) + 1 else []
                assigns.append((name, Word(rest + value.parts[1:], value.raw[len(name) + 1:])))
            else:
                words.append(value)
        if words and self.peek() == ("op", "("):
            raise Unsupported("function definitions")
        return Simple(assigns, words, redirects)


def parse(source: str) -> Sequence:
    return Parser(source).program()
