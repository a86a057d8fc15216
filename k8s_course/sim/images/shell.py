"""The simulated `sh -c`: runs a parsed script on the simulator's clock, in a container's context.

`Shell(ctx, flavour, io).run_script(text)` returns the exit code a real shell would. Output goes
wherever `io` says (the container log for the main process, a buffer for `kubectl exec`); files
are the pod's (`ctx.files`), names and ports the cluster's (`ctx.network`), and every wait is
`ctx.clock.sleep`. SIGTERM (`ctx.stopping`) interrupts the waiting command when a `trap` on TERM
is set, and the handler runs; without one it is ignored, because the shell is the container's
PID 1 (so a plain `sh -c 'sleep 3600'` pod takes its whole grace period to stop, as on kind).
A construct outside the modelled subset ends the script with 127 and a log line that says so.
"""

from __future__ import annotations

import asyncio
import posixpath

from k8s_course.sim.images import shell_builtins, shell_commands
from k8s_course.sim.images import shell_syntax as syntax
from k8s_course.sim.images.shell_expand import ExpansionError, expand_word, expand_words
from k8s_course.sim.images.shell_io import (
    IO,
    BufferOutput,
    FileOutput,
    Flavour,
    Input,
    NullOutput,
    TextInput,
)

UNSUPPORTED = ('k8s-course simulator: "{construct}" is not modelled by the simulated shell '
               "(see docs); run this lesson on kind to use it")
# a loop may spin this many times without the simulated clock moving before it is stopped
SPIN_LIMIT = 10_000


def unsupported_message(construct: str) -> str:
    return UNSUPPORTED.format(construct=construct)


async def finished_before_signal(task: asyncio.Future, stopping: asyncio.Event) -> bool:
    """Wait for `task` or for SIGTERM (`stopping`); True when the task finished first."""
    stop = asyncio.ensure_future(stopping.wait())
    try:
        done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if task in done:
        task.result()
        return True
    return False


class ShellExit(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class LoopControl(Exception):
    def __init__(self, kind: str, levels: int):
        super().__init__(kind)
        self.kind, self.levels = kind, levels


class _Signals:
    """Shared by a shell and its children: SIGTERM is delivered to the main process once."""

    def __init__(self):
        self.delivered = False
        self.spins = 0
        self.last_now: float | None = None


class Shell:
    def __init__(self, ctx, flavour: Flavour, io: IO, *, env: dict[str, str] | None = None,
                 positional: list[str] | None = None, name: str = "sh",
                 commands: dict | None = None, stopping: asyncio.Event | None = None):
        self.ctx = ctx
        self.flavour = flavour
        self.io = io
        self.files = ctx.files
        self.clock = ctx.clock
        self.network = ctx.network
        self.vars: dict[str, str] = dict(ctx.env if env is None else env)
        self.exported: set[str] = set(self.vars)
        self.positional = list(positional or [])
        self.name = name
        self.status = 0
        self.sub_status = 0  # status of the last $(...) (a bare assignment returns it)
        self.options: set[str] = set()
        self.traps: dict[str, str] = {}
        self.cwd = ctx.container.get("workingDir") or "/"
        self.jobs: list[asyncio.Task] = []
        self.commands = commands or {}  # image-specific commands: name -> async fn(shell, argv, io)
        self.stopping = stopping
        self.signals = _Signals()
        self.no_errexit = 0
        self.loop_depth = 0

    # ---- state ----

    def fork(self, stopping: asyncio.Event | None = None) -> Shell:
        """A subshell: a copy of the variables; SIGTERM only if `stopping` is passed on."""
        child = Shell.__new__(Shell)
        child.__dict__.update(self.__dict__)
        child.vars, child.exported = dict(self.vars), set(self.exported)
        child.positional, child.options = list(self.positional), set(self.options)
        child.traps, child.jobs, child.stopping = dict(self.traps), [], stopping
        return child

    def get_var(self, name: str) -> str | None:
        return self.vars.get(name)

    def set_var(self, name: str, value: str) -> None:
        self.vars[name] = value

    def get_param(self, name: str) -> str | None:
        if name.isdigit():
            index = int(name)
            if index == 0:
                return self.name
            return self.positional[index - 1] if index <= len(self.positional) else None
        special = {"?": str(self.status), "$": "1", "#": str(len(self.positional)),
                   "!": str(100 + len(self.jobs)) if self.jobs else None,
                   "@": " ".join(self.positional), "*": " ".join(self.positional)}
        return special[name] if name in special else self.vars.get(name)

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in self.vars.items() if k in self.exported}
        env.update(extra or {})
        return env

    def path(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, path)) if path else self.cwd

    def error(self, io: IO, text: str) -> None:
        io.stderr.write(text + "\n")

    # ---- entry points ----

    async def run_script(self, text: str) -> int:
        """Parse and run a whole script (the main process, `sh -c`, an exec): its exit code."""
        try:
            tree = syntax.parse(text)
        except syntax.Unsupported as problem:
            self.error(self.io, unsupported_message(problem.construct))
            return 127
        except syntax.ShellSyntaxError as problem:
            self.error(self.io, self.flavour.syntax_error(problem.unexpected, problem.expecting))
            return 2
        return await self.run_tree(tree)

    async def run_tree(self, tree: syntax.Sequence) -> int:
        return await self._guarded(self.run_sequence(tree, self.io))

    async def run_argv(self, argv: list[str]) -> int:
        """Run a program directly, as the runtime execs a container's command (no parsing)."""
        return await self._guarded(self.invoke(argv, self.io))

    async def _guarded(self, work) -> int:
        try:
            status = await work
        except ShellExit as done:
            status = done.code
        except LoopControl:
            status = 0
        except syntax.Unsupported as problem:
            self.error(self.io, unsupported_message(problem.construct))
            status = 127
        except ExpansionError as problem:
            self.error(self.io, self.flavour.prefix() + str(problem))
            status = 2
        finally:
            for job in self.jobs:
                job.cancel()
        action = self.traps.pop("EXIT", None)
        if action:
            self.status = status
            try:
                await self.run_text(action)
            except ShellExit as done:
                status = done.code
        return status

    async def run_text(self, text: str) -> int:
        """`eval`, a trap's action: parsed now, run in this shell."""
        try:
            tree = syntax.parse(text)
        except syntax.ShellSyntaxError as problem:
            self.error(self.io, self.flavour.syntax_error(problem.unexpected, problem.expecting))
            return 2
        self.status = await self.run_sequence(tree, self.io)
        return self.status

    async def capture(self, body: syntax.Sequence) -> str:
        """`$(...)`: run in a subshell, return its output without the trailing newlines."""
        buffer = BufferOutput()
        child = self.fork(self.stopping)
        try:
            status = await child.run_sequence(body, self.io.with_(stdin=Input(), stdout=buffer))
        except ShellExit as done:
            status = done.code
        self.sub_status = self.status = status
        return buffer.text().rstrip("\n")

    # ---- SIGTERM ----

    def _signal_pending(self) -> bool:
        return self.stopping is not None and self.stopping.is_set() and not self.signals.delivered

    async def check_signal(self) -> None:
        if self._signal_pending():
            await self._deliver_signal()

    async def _deliver_signal(self) -> str:
        self.signals.delivered = True
        action = self.traps.get("TERM")
        if action is None or action == "":
            # The shell is the container's PID 1, and the kernel delivers no default-action
            # signal to PID 1: without a trap, SIGTERM is ignored and the kubelet's SIGKILL
            # ends the container after the grace period (exit 137), as on a real node.
            return "ignored"
        await self.run_text(action)
        return "trapped"

    async def interruptible(self, awaitable) -> bool:
        """Wait for `awaitable`; False if SIGTERM interrupted it (and a trap handled it)."""
        task = asyncio.ensure_future(awaitable)
        try:
            while True:
                if not self._signal_pending() and (self.stopping is None or self.signals.delivered):
                    await task
                    return True
                if await finished_before_signal(task, self.stopping):
                    return True
                if await self._deliver_signal() == "ignored":
                    continue
                return False
        finally:
            if not task.done():
                task.cancel()

    async def tick(self) -> None:
        """Once per loop iteration: let others run, and stop a loop that never sleeps."""
        signals = self.signals
        now = self.clock.now()
        if signals.last_now != now:
            signals.last_now, signals.spins = now, 0
        signals.spins += 1
        if signals.spins % 64 == 0:
            await asyncio.sleep(0)
        if signals.spins > SPIN_LIMIT:
            raise syntax.Unsupported("a loop that runs without ever sleeping")

    # ---- the tree ----

    async def run_sequence(self, node: syntax.Sequence, io: IO) -> int:
        status = self.status
        for and_or, background in node.items:
            if background:
                child = self.fork()
                self.jobs.append(asyncio.ensure_future(child._background(and_or, io)))
                status = 0
            else:
                status, final = await self.run_and_or(and_or, io)
                if status and final and "e" in self.options and not self.no_errexit:
                    raise ShellExit(status)
            self.status = status
        return status

    async def _background(self, and_or: syntax.AndOr, io: IO) -> int:
        try:
            return (await self.run_and_or(and_or, io))[0]
        except ShellExit as done:
            return done.code

    async def run_and_or(self, node: syntax.AndOr, io: IO) -> tuple[int, bool]:
        self.no_errexit += bool(node.rest)
        try:
            status = await self.run_pipeline(node.first, io)
        finally:
            self.no_errexit -= bool(node.rest)
        ran_last = not node.rest
        for index, (op, pipeline) in enumerate(node.rest):
            self.status = status
            if (op == "&&") == (status == 0):
                last = index == len(node.rest) - 1
                self.no_errexit += not last
                try:
                    status = await self.run_pipeline(pipeline, io)
                finally:
                    self.no_errexit -= not last
                ran_last = last
        return status, ran_last

    async def run_pipeline(self, node: syntax.Pipeline, io: IO) -> int:
        if node.negate:
            self.no_errexit += 1
        try:
            if len(node.commands) == 1:
                status = await self.run_command(node.commands[0], io)
            else:
                status = await self._pipe(node.commands, io)
        finally:
            if node.negate:
                self.no_errexit -= 1
        return int(not status) if node.negate else status

    async def _pipe(self, commands: list, io: IO) -> int:
        from k8s_course.sim.images.shell_io import Pipe, PipeInput

        pipes = [Pipe() for _ in commands[:-1]]
        tasks = []
        for index, command in enumerate(commands):
            stage_io = io.with_(stdin=PipeInput(pipes[index - 1]) if index else io.stdin,
                                stdout=pipes[index] if index < len(pipes) else io.stdout)
            out = pipes[index] if index < len(pipes) else None
            tasks.append(asyncio.ensure_future(self.fork()._stage(command, stage_io, out)))
        try:
            finished = await self.interruptible(asyncio.shield(tasks[-1]))
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, (syntax.Unsupported, ExpansionError)):
                raise result
        codes = [r if isinstance(r, int) else 143 for r in results]
        if not finished:
            return 143
        if "pipefail" in self.options:
            return next((c for c in reversed(codes) if c), 0)
        return codes[-1]

    async def _stage(self, command, io: IO, out) -> int:
        try:
            return await self.run_command(command, io)
        except ShellExit as done:
            return done.code
        finally:
            if out is not None:
                out.close()

    async def run_command(self, node, io: IO) -> int:
        if isinstance(node, syntax.Simple):
            return await self.run_simple(node, io)
        io = await self.redirect(node.redirects, io)
        if io is None:
            return 1
        if isinstance(node, syntax.If):
            for condition, body in node.branches:
                self.no_errexit += 1
                try:
                    test = await self.run_sequence(condition, io)
                finally:
                    self.no_errexit -= 1
                if test == 0:
                    return await self.run_sequence(body, io)
            return await self.run_sequence(node.otherwise, io) if node.otherwise else 0
        if isinstance(node, syntax.Loop):
            return await self._loop(node, io)
        if isinstance(node, syntax.For):
            if node.words is None:
                values = list(self.positional)
            else:
                values = await expand_words(self, node.words)
            return await self._loop(node, io, values)
        if node.subshell:
            child = self.fork()
            task = asyncio.ensure_future(child._stage(syntax.Group(node.body), io, None))
            return await task if await self.interruptible(asyncio.shield(task)) else 143
        return await self.run_sequence(node.body, io)

    async def _loop(self, node, io: IO, values: list[str] | None = None) -> int:
        status, index = 0, 0
        self.loop_depth += 1
        try:
            while True:
                if values is not None:
                    if index >= len(values):
                        break
                    self.vars[node.name] = values[index]
                    index += 1
                else:
                    self.no_errexit += 1
                    try:
                        test = await self.run_sequence(node.condition, io)
                    finally:
                        self.no_errexit -= 1
                    if (test == 0) == node.until:
                        break
                try:
                    status = await self.run_sequence(node.body, io)
                except LoopControl as control:
                    if control.levels > 1:
                        control.levels -= 1
                        raise
                    if control.kind == "break":
                        break
                await self.tick()
        finally:
            self.loop_depth -= 1
        return status

    async def run_simple(self, node: syntax.Simple, io: IO) -> int:
        await self.check_signal()
        self.sub_status = 0
        argv = await expand_words(self, node.words)
        assigns = [(name, await expand_word(self, word)) for name, word in node.assigns]
        if "x" in self.options:
            self.error(io, "+ " + " ".join([f"{n}={v}" for n, v in assigns] + argv))
        io = await self.redirect(node.redirects, io)
        if io is None:
            return 1
        if not argv:
            for name, value in assigns:
                self.vars[name] = value
            return self.sub_status
        return await self.invoke(argv, io, dict(assigns))

    async def invoke(self, argv: list[str], io: IO, extra_env: dict[str, str] | None = None) -> int:
        """Run one command: a builtin, an image's own command, a utility, or a script file."""
        name = argv[0]
        builtin = shell_builtins.BUILTINS.get(name)
        if builtin is not None:
            return await builtin(self, argv, io)
        base = posixpath.basename(name) if "/" in name else name
        if "/" in name and posixpath.dirname(name) not in shell_commands.BIN_DIRS:
            return await self._run_file(name, argv, io)
        environment = self.environ(extra_env)
        command = self.commands.get(base)
        if command is None and base in self.flavour.commands:
            command = shell_commands.UTILITIES.get(base)
            if command is None:
                raise syntax.Unsupported(base)
        if command is None:
            if base in shell_commands.UNMODELLED:
                raise syntax.Unsupported(base)
            if "/" in name:
                self.error(io, self.flavour.prefix() + f"{name}: not found")
            else:
                self.error(io, self.flavour.not_found(name))
            return 127
        saved = self.vars
        if extra_env:
            self.vars = {**self.vars, **extra_env}
        try:
            return await command(self, [base, *argv[1:]], io.with_(), environment)
        finally:
            self.vars = saved

    async def _run_file(self, path: str, argv: list[str], io: IO) -> int:
        full = self.path(path)
        try:
            text = self.files.read(full)
        except IsADirectoryError:
            self.error(io, self.flavour.prefix() + f"{path}: Permission denied")
            return 126
        except OSError:
            self.error(io, self.flavour.prefix() + f"{path}: not found")
            return 127
        first = text.split("\n", 1)[0]
        if first.startswith("#!") and not first.rstrip().endswith(("sh", "bash", "ash", "dash")):
            raise syntax.Unsupported(f"{path} (a {first[2:].strip()} script)")
        child = Shell(self.ctx, self.flavour, io, env=self.environ(), positional=argv[1:],
                      name=path, commands=self.commands, stopping=self.stopping)
        child.signals = self.signals
        child.cwd = self.cwd
        return await child.run_script(text)

    async def redirect(self, redirects: list[syntax.Redirect], io: IO) -> IO | None:
        """Apply `>`, `>>`, `<`, `2>&1`; None (after saying why) when a file cannot be opened."""
        for redirect in redirects:
            target = await expand_word(self, redirect.target)
            fd = redirect.fd
            if fd not in (0, 1, 2):
                raise syntax.Unsupported(f"{fd}{redirect.op}{target}")
            if redirect.op == ">&":
                streams = {"0": io.stdin, "1": io.stdout, "2": io.stderr}
                if target == "-":
                    stream = NullOutput()
                elif target in ("1", "2"):
                    stream = streams[target]
                else:
                    raise syntax.Unsupported(f"{fd}>&{target}")
                io = io.with_(stdout=stream) if fd == 1 else io.with_(stderr=stream)
                continue
            if target in ("/dev/stdout", "/dev/stderr"):
                stream = io.stdout if target == "/dev/stdout" else io.stderr
                io = io.with_(stdout=stream) if fd == 1 else io.with_(stderr=stream)
                continue
            path = self.path(target)
            try:
                if redirect.op == "<":
                    io = io.with_(stdin=TextInput(self.files.read(path)))
                    continue
                stream = FileOutput(self.files, path, append=redirect.op == ">>")
            except OSError as problem:
                reason = problem.strerror or str(problem)
                if redirect.op == "<":
                    self.error(io, self.flavour.cannot_open(target, reason))
                else:
                    self.error(io, self.flavour.cannot_create(target, reason))
                return None
            io = io.with_(stdin=io.stdin, stdout=stream) if fd == 1 else io.with_(stderr=stream)
        return io
