"""The tree the simulated shell's parser builds: words, commands, lists, compound commands."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Lit:
    text: str
    quoted: bool = False


@dataclass
class Param:
    name: str  # a name, a digit, or one of @ * # ? $ !
    quoted: bool = False
    op: str = ""  # "", ":-", "-", ":=", "=", ":+", "+", ":?", "?", "#", "##", "%", "%%", "len"
    arg: Word | None = None


@dataclass
class CommandSub:
    body: Node
    quoted: bool = False


@dataclass
class Arith:
    expression: str
    quoted: bool = False


@dataclass
class Word:
    parts: list
    raw: str = ""


@dataclass
class Redirect:
    fd: int
    op: str  # > >> < >&
    target: Word


@dataclass
class Simple:
    assigns: list[tuple[str, Word]]
    words: list[Word]
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Pipeline:
    commands: list
    negate: bool = False


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]]


@dataclass
class Sequence:
    items: list[tuple[AndOr, bool]]  # (command, run in background)


@dataclass
class If:
    branches: list[tuple[Sequence, Sequence]]
    otherwise: Sequence | None
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Loop:
    condition: Sequence
    body: Sequence
    until: bool = False
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class For:
    name: str
    words: list[Word] | None  # None: over "$@"
    body: Sequence
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Group:
    body: Sequence
    subshell: bool = False
    redirects: list[Redirect] = field(default_factory=list)


Node = Sequence

