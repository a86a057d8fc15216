"""The builtins of the simulated shell: the commands that change the shell itself.

`exit`, `export`, `set`, `trap`, `cd`, `read`, `wait`, `exec`, `eval`, `.`, `break`/`continue`,
and the ones every sh has built in (`echo`, `printf`, `test`/`[`, `true`, `false`, `:`). Each is
`async fn(shell, argv, io) -> exit code`.
"""

from __future__ import annotations

import re

from k8s_course.sim.images import shell_syntax as syntax

SIGNALS = {"TERM": "TERM", "SIGTERM": "TERM", "15": "TERM", "EXIT": "EXIT", "0": "EXIT",
           "INT": "INT", "SIGINT": "INT", "2": "INT", "HUP": "HUP", "SIGHUP": "HUP", "1": "HUP",
           "QUIT": "QUIT", "SIGQUIT": "QUIT", "3": "QUIT", "USR1": "USR1", "SIGUSR1": "USR1",
           "USR2": "USR2", "SIGUSR2": "USR2"}
SET_OPTIONS = {"errexit": "e", "nounset": "u", "xtrace": "x", "pipefail": "pipefail"}


async def colon(shell, argv, io) -> int:
    return 0


async def false(shell, argv, io) -> int:
    return 1


async def exit_(shell, argv, io) -> int:
    from k8s_course.sim.images.shell import ShellExit

    if len(argv) > 1:
        try:
            raise ShellExit(int(argv[1]) & 0xFF)
        except ValueError:
            shell.error(io, shell.flavour.prefix() + f"exit: Illegal number: {argv[1]}")
            raise ShellExit(2) from None
    raise ShellExit(shell.status)


async def export(shell, argv, io) -> int:
    for arg in argv[1:]:
        if arg == "-p":
            for name in sorted(shell.exported):
                if name in shell.vars:
                    io.stdout.write(f"export {name}='{shell.vars[name]}'\n")
            continue
        name, has_value, value = arg.partition("=")
        if has_value:
            shell.vars[name] = value
        if argv[0] == "export":
            shell.exported.add(name)
    return 0


async def unset(shell, argv, io) -> int:
    for name in argv[1:]:
        if name in ("-v", "-f"):
            continue
        shell.vars.pop(name, None)
        shell.exported.discard(name)
    return 0


async def set_(shell, argv, io) -> int:
    args = argv[1:]
    if not args:
        for name in sorted(shell.vars):
            io.stdout.write(f"{name}='{shell.vars[name]}'\n")
        return 0
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            shell.positional = args[index + 1:]
            return 0
        if arg[:1] not in "-+" or len(arg) < 2:
            shell.positional = args[index:]
            return 0
        turn_on = arg[0] == "-"
        for letter in arg[1:]:
            if letter == "o":
                index += 1
                option = SET_OPTIONS.get(args[index] if index < len(args) else "")
                if option is None:
                    raise syntax.Unsupported(f"set -o {args[index] if index < len(args) else ''}")
                _flip(shell, option, turn_on)
            elif letter in "eux":
                _flip(shell, letter, turn_on)
            else:
                raise syntax.Unsupported(f"set {arg[0]}{letter}")
        index += 1
    return 0


def _flip(shell, option: str, on: bool) -> None:
    if on:
        shell.options.add(option)
    else:
        shell.options.discard(option)


async def shift(shell, argv, io) -> int:
    count = int(argv[1]) if len(argv) > 1 else 1
    if count > len(shell.positional):
        return 1
    shell.positional = shell.positional[count:]
    return 0


async def trap(shell, argv, io) -> int:
    args = argv[1:]
    if not args:
        for signal, action in shell.traps.items():
            io.stdout.write(f"trap -- '{action}' {signal}\n")
        return 0
    action, signals = args[0], args[1:]
    if not signals:  # `trap TERM`: back to the default
        signals, action = [action], "-"
    for name in signals:
        signal = SIGNALS.get(name.upper())
        if signal is None:
            shell.error(io, shell.flavour.prefix() + f"trap: {name}: bad trap")
            return 1
        if action == "-":
            shell.traps.pop(signal, None)
        else:
            shell.traps[signal] = action
    return 0


async def cd(shell, argv, io) -> int:
    target = argv[1] if len(argv) > 1 else shell.vars.get("HOME", "/")
    path = shell.path(target)
    if not shell.files.is_dir(path):
        reason = "No such file or directory" if not shell.files.exists(path) else "Not a directory"
        if shell.flavour.shell == "bash":
            shell.error(io, f"bash: line 1: cd: {target}: {reason}")
        else:
            shell.error(io, shell.flavour.prefix() + f"cd: can't cd to {target}")
        return 1 if shell.flavour.shell != "dash" else 2
    shell.cwd = path
    shell.vars["PWD"] = path
    return 0


async def pwd(shell, argv, io) -> int:
    io.stdout.write(shell.cwd + "\n")
    return 0


async def read(shell, argv, io) -> int:
    names = [a for a in argv[1:] if not a.startswith("-")]
    if any(a.startswith("-") and a != "-r" for a in argv[1:]):
        raise syntax.Unsupported(" ".join(argv))
    line = await io.stdin.readline()
    names = names or ["REPLY"]
    text = (line or "").rstrip("\n")
    if "-r" not in argv:
        text = re.sub(r"\\(.)", r"\1", text)
    fields = text.split(None, len(names) - 1) if len(names) > 1 else [text.strip()]
    for index, name in enumerate(names):
        shell.vars[name] = fields[index] if index < len(fields) else ""
    return 0 if line is not None and line.endswith("\n") else 1


async def wait(shell, argv, io) -> int:
    import asyncio

    jobs, shell.jobs = shell.jobs, []
    if not jobs:
        return 0
    gathered = asyncio.gather(*jobs, return_exceptions=True)
    if not await shell.interruptible(asyncio.shield(gathered)):
        shell.jobs = [job for job in jobs if not job.done()]
        return 143
    results = gathered.result()
    last = results[-1]
    return last if isinstance(last, int) else 0


async def loop_control(shell, argv, io) -> int:
    from k8s_course.sim.images.shell import LoopControl

    if not shell.loop_depth:
        return 0
    levels = int(argv[1]) if len(argv) > 1 else 1
    raise LoopControl(argv[0], max(1, min(levels, shell.loop_depth)))


async def exec_(shell, argv, io) -> int:
    from k8s_course.sim.images.shell import ShellExit

    if len(argv) == 1:
        raise syntax.Unsupported("exec with only redirections")
    raise ShellExit(await shell.invoke(argv[1:], io))


async def eval_(shell, argv, io) -> int:
    return await shell.run_text(" ".join(argv[1:])) if len(argv) > 1 else 0


async def source(shell, argv, io) -> int:
    if len(argv) < 2:
        return 0
    try:
        text = shell.files.read(shell.path(argv[1]))
    except OSError:
        shell.error(io, shell.flavour.prefix() + f".: can't open '{argv[1]}'")
        raise shell_exit(2) from None
    return await shell.run_text(text)


def shell_exit(code: int):
    from k8s_course.sim.images.shell import ShellExit

    return ShellExit(code)


async def command(shell, argv, io) -> int:
    from k8s_course.sim.images import shell_commands

    if len(argv) >= 3 and argv[1] in ("-v", "-V"):
        status = 0
        for name in argv[2:]:
            if name in BUILTINS:
                io.stdout.write(name + "\n")
            elif name in shell.commands or (name in shell.flavour.commands
                                            and name in shell_commands.UTILITIES):
                io.stdout.write(f"/usr/bin/{name}\n" if shell.flavour.gnu else f"/bin/{name}\n")
            else:
                status = 1
        return status
    if len(argv) > 1:
        return await shell.invoke(argv[1:], io)
    return 0


async def not_modelled(shell, argv, io) -> int:
    raise syntax.Unsupported(argv[0])


# ---- echo, printf, test ----

ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "a": "\a", "b": "\b", "r": "\r", "v": "\v",
           "f": "\f", "e": "\x1b"}


def unescape(text: str) -> tuple[str, bool]:
    """Backslash escapes of echo -e and printf; True when `\\c` asked to stop the output."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            code = text[index + 1]
            if code == "c":
                return "".join(out), True
            if code in ESCAPES:
                out.append(ESCAPES[code])
                index += 2
                continue
            if code == "0":
                digits = re.match(r"[0-7]{0,3}", text[index + 2:]).group()
                out.append(chr(int(digits or "0", 8)))
                index += 2 + len(digits)
                continue
        out.append(char)
        index += 1
    return "".join(out), False


async def echo(shell, argv, io) -> int:
    args, newline, escapes = argv[1:], True, shell.flavour.shell == "dash"
    while args and re.fullmatch(r"-[neE]+", args[0]) and (shell.flavour.shell != "dash"
                                                          or args[0] == "-n"):
        newline = newline and "n" not in args[0]
        if "e" in args[0]:
            escapes = True
        if "E" in args[0]:
            escapes = False
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text, stop = unescape(text)
        newline = newline and not stop
    io.stdout.write(text + ("\n" if newline else ""))
    return 0


SPEC = re.compile(r"%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdiouxXcfgeb%])")


async def printf(shell, argv, io) -> int:
    if len(argv) < 2:
        shell.error(io, "printf: usage: printf format [arguments]")
        return 2
    fmt, args = argv[1], list(argv[2:])
    status = 0
    while True:
        used = 0

        def convert(match, values=args):
            nonlocal used, status
            flags, width, precision, kind = match.groups()
            if kind == "%":
                return "%"
            value = values[used] if used < len(values) else ""
            used += 1
            spec = "%" + flags + width + (f".{precision}" if precision else "")
            if kind in "diouxXc" and kind != "c":
                try:
                    number = int(value or "0", 0)
                except ValueError:
                    shell.error(io, f"printf: invalid number '{value}'")
                    status, number = 1, 0
                return (spec + {"i": "d", "u": "d"}.get(kind, kind)) % number
            if kind in "feg":
                return (spec + kind) % float(value or 0)
            if kind == "c":
                return value[:1]
            if kind == "b":
                return unescape(value)[0]
            return (spec + "s") % value

        text, _ = unescape(SPEC.sub(convert, fmt))
        io.stdout.write(text)
        args = args[used:]
        if not args or not used:
            return status


async def test(shell, argv, io) -> int:
    args = argv[1:]
    if argv[0] == "[":
        if not args or args[-1] != "]":
            shell.error(io, shell.flavour.prefix() + "[: missing ]")
            return 2
        args = args[:-1]
    try:
        return 0 if _test(shell, args) else 1
    except ValueError as problem:
        shell.error(io, shell.flavour.prefix() + f"{argv[0]}: {problem}")
        return 2


UNARY = {"-f", "-e", "-d", "-z", "-n", "-s", "-r", "-w", "-x", "-L", "-h"}
BINARY = {"=", "==", "!=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge"}


def _test(shell, args: list[str]) -> bool:
    for joiner in ("-o", "-a"):
        if joiner in args[1:-1] and len(args) > 3:
            position = len(args) - 1 - args[::-1].index(joiner)
            left, right = args[:position], args[position + 1:]
            if joiner == "-o":
                return _test(shell, left) or _test(shell, right)
            return _test(shell, left) and _test(shell, right)
    if not args:
        return False
    if args[0] == "!" and len(args) > 1:
        return not _test(shell, args[1:])
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        op, value = args
        if op not in UNARY:
            raise ValueError(f"{op}: unary operator expected")
        if op == "-z":
            return value == ""
        if op == "-n":
            return value != ""
        path = shell.path(value)
        if op == "-d":
            return shell.files.is_dir(path)
        if op == "-f":
            return shell.files.exists(path) and not shell.files.is_dir(path)
        if op == "-s":
            return shell.files.exists(path) and not shell.files.is_dir(path) and \
                shell.files.read(path) != ""
        if op in ("-L", "-h"):
            return False
        return shell.files.exists(path)
    if len(args) == 3 and args[0] == "(" and args[2] == ")":
        return _test(shell, args[1:2])
    if len(args) == 3 and args[1] in BINARY:
        left, op, right = args
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
        numbers = []
        for value in (left, right):
            try:
                numbers.append(int(value))
            except ValueError:
                raise ValueError(f"invalid number '{value}'" if value else "invalid number ''") from None
        a, b = numbers
        return {"-eq": a == b, "-ne": a != b, "-lt": a < b, "-le": a <= b, "-gt": a > b,
                "-ge": a >= b}[op]
    if len(args) == 3:
        raise syntax.Unsupported(f"test {' '.join(args)}")
    raise ValueError("too many arguments" if len(args) > 3 else f"{args[0]}: unknown operand")


BUILTINS = {
    ":": colon, "true": colon, "false": false, "exit": exit_, "export": export,
    "readonly": export, "unset": unset, "set": set_, "shift": shift, "trap": trap, "cd": cd,
    "pwd": pwd, "read": read, "wait": wait, "break": loop_control, "continue": loop_control,
    "exec": exec_, "eval": eval_, ".": source, "source": source, "command": command,
    "echo": echo, "printf": printf, "test": test, "[": test,
    "local": not_modelled, "return": not_modelled, "kill": not_modelled, "ulimit": not_modelled,
    "umask": not_modelled, "getopts": not_modelled, "alias": not_modelled, "type": not_modelled,
}
