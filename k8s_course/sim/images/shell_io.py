"""Where the simulated shell's bytes go: the container log, a file, a pipe, a buffer.

And the flavours of shell (busybox ash, Debian's dash, bash) with the error wording each prints,
so that `kubectl logs` shows what the learner would see on a real cluster.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


class Output:
    def write(self, text: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class NullOutput(Output):
    def write(self, text: str) -> None:
        pass


class BufferOutput(Output):
    def __init__(self):
        self.chunks: list[str] = []

    def write(self, text: str) -> None:
        self.chunks.append(text)

    def text(self) -> str:
        return "".join(self.chunks)


class LogOutput(Output):
    """Lines to the container log (`ctx.log(line, stream)`), a partial line kept until complete."""

    def __init__(self, log, stream: str):
        self.log, self.stream, self.partial = log, stream, ""

    def write(self, text: str) -> None:
        text = self.partial + text
        *lines, self.partial = text.split("\n")
        for line in lines:
            self.log(line, self.stream)

    def close(self) -> None:
        if self.partial:
            self.log(self.partial, self.stream)
            self.partial = ""


class FileOutput(Output):
    """`> file` truncates once when opened; every write then appends (so `tail -f` sees it)."""

    def __init__(self, files, path: str, append: bool):
        self.files, self.path = files, path
        if not append:
            files.write(path, "", append=False)
        elif not files.exists(path):
            files.write(path, "", append=True)

    def write(self, text: str) -> None:
        self.files.write(self.path, text, append=True)


class Pipe(Output):
    """One end writes, the other reads lines; EOF when the writer closes."""

    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()
        self.closed = False

    def write(self, text: str) -> None:
        if not self.closed and text:
            self.queue.put_nowait(text)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class Input:
    async def readline(self) -> str | None:  # with its "\n"; None at end of input
        return None

    async def read(self) -> str:
        chunks = []
        while (line := await self.readline()) is not None:
            chunks.append(line)
        return "".join(chunks)


class TextInput(Input):
    def __init__(self, text: str):
        self.text = text

    async def readline(self) -> str | None:
        if not self.text:
            return None
        line, sep, self.text = self.text.partition("\n")
        return line + sep


class PipeInput(Input):
    def __init__(self, pipe: Pipe):
        self.pipe, self.buffer, self.eof = pipe, "", False

    async def readline(self) -> str | None:
        while "\n" not in self.buffer and not self.eof:
            chunk = await self.pipe.queue.get()
            if chunk is None:
                self.eof = True
            else:
                self.buffer += chunk
        if not self.buffer:
            return None
        line, sep, self.buffer = self.buffer.partition("\n")
        return line + sep


@dataclass
class IO:
    stdin: Input = field(default_factory=Input)
    stdout: Output = field(default_factory=NullOutput)
    stderr: Output = field(default_factory=NullOutput)

    def with_(self, **changes) -> IO:
        values = {"stdin": self.stdin, "stdout": self.stdout, "stderr": self.stderr}
        values.update(changes)
        return IO(**values)


@dataclass(frozen=True)
class Flavour:
    """A shell and its userland: busybox (busybox, alpine), dash or bash (Debian, Ubuntu)."""

    shell: str  # "busybox", "dash" or "bash"
    commands: frozenset[str]  # the utilities the image has (beyond the shell's builtins)
    gnu: bool = False  # GNU coreutils wording instead of busybox's

    def prefix(self, name: str = "sh") -> str:
        if self.shell == "dash":
            return f"{name}: 1: "
        if self.shell == "bash":
            return f"{name}: line 1: "
        return f"{name}: "

    def not_found(self, command: str) -> str:
        if self.shell == "bash":
            return f"bash: line 1: {command}: command not found"
        return f"{self.prefix()}{command}: not found"

    def cannot_create(self, path: str, reason: str) -> str:
        if self.shell == "busybox":
            return f"sh: can't create {path}: {reason}"
        if self.shell == "dash":
            return f"sh: 1: cannot create {path}: {reason}"
        return f"bash: line 1: {path}: {reason}"

    def cannot_open(self, path: str, reason: str) -> str:
        if self.shell == "busybox":
            return f"sh: can't open '{path}': {reason}"
        if self.shell == "dash":
            return f"sh: 1: cannot open {path}: {reason}"
        return f"bash: line 1: {path}: {reason}"

    def file_error(self, tool: str, path: str, reason: str, verb: str = "") -> str:
        """`cat: can't open 'x': No such file or directory` (busybox) or the GNU wording."""
        if self.gnu:
            if verb:
                return f"{tool}: cannot {verb} '{path}': {reason}"
            return f"{tool}: {path}: {reason}"
        if tool in ("cat", "tail", "head", "wc", "grep", "sort") and reason.startswith("No such"):
            return f"{tool}: can't open '{path}': {reason}"
        return f"{tool}: {path}: {reason}"

    def syntax_error(self, unexpected: str, expecting: str) -> str:
        if self.shell == "dash":
            what = "end of file unexpected" if unexpected == "end of file" else f'"{unexpected}" unexpected'
            return f"sh: 1: Syntax error: {what}" + (f' (expecting "{expecting}")' if expecting else "")
        if self.shell == "bash":
            if unexpected == "end of file":
                return "bash: -c: line 2: syntax error: unexpected end of file"
            return f"bash: -c: line 1: syntax error near unexpected token `{unexpected}'"
        what = "unexpected end of file" if unexpected == "end of file" else f'unexpected "{unexpected}"'
        return f"sh: syntax error: {what}" + (f' (expecting "{expecting}")' if expecting else "")


COREUTILS = frozenset({
    "cat", "ls", "echo", "printf", "sleep", "date", "hostname", "env", "touch", "mkdir", "rm",
    "cp", "mv", "wc", "grep", "head", "tail", "sort", "uniq", "seq", "tee", "basename",
    "dirname", "pwd", "id", "whoami", "uname", "true", "false", "test", "[", "printenv", "yes",
    "sh", "expr",
})
BUSYBOX_NET = frozenset({"wget", "nc", "nslookup", "ping", "telnet"})

BUSYBOX = Flavour("busybox", COREUTILS | BUSYBOX_NET)
DEBIAN = Flavour("dash", COREUTILS | {"bash"}, gnu=True)
BASH = Flavour("bash", COREUTILS | {"bash"}, gnu=True)
