"""The utilities the simulated images have: `cat`, `ls`, `grep`, `tail -f`, `sleep`, `date`, ...

Each is `async fn(shell, argv, io, env) -> exit code`, reading the pod's files through
`shell.files`, waiting on `shell.clock`, and wording its errors as busybox or GNU coreutils do
(`shell.flavour.gnu`). Options beyond the common ones are reported as not modelled.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace
from datetime import datetime, timezone

from k8s_course.sim.images import nettools, shell_builtins
from k8s_course.sim.images import shell_syntax as syntax
from k8s_course.sim.images.shell_text import (
    _flags,
    _lines,
    _reason,
    _say,
    basename,
    dirname,
    grep,
    identity,
    seq,
    sort,
    tee,
    uname,
    uniq,
    wc,
)

BIN_DIRS = {"/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin"}
# real utilities of these images that the simulator does not model (a clear message, not 127)
UNMODELLED = {
    "awk", "sed", "cut", "tr", "xargs", "find", "ps", "kill", "timeout", "nohup", "which",
    "stat", "du", "df", "free", "chmod", "chown", "ln", "diff", "md5sum", "sha256sum", "base64",
    "gzip", "tar", "vi", "top", "netstat", "ip", "ifconfig", "su", "expr", "ping", "telnet",
    "tac", "rev", "od", "readlink", "realpath", "mktemp", "nproc", "getent", "dd", "shuf",
    "split", "paste", "fold", "killall", "pkill", "pgrep", "watch", "less", "more", "yes",
}


async def cat(shell, argv, io, env) -> int:
    _, _, paths = _flags(argv, "u")
    status = 0
    for path in paths or ["-"]:
        if path == "-":
            while (line := await io.stdin.readline()) is not None:
                io.stdout.write(line)
            continue
        try:
            io.stdout.write(shell.files.read(shell.path(path)))
        except OSError as problem:
            _say(io, shell.flavour.file_error("cat", path, _reason(problem)))
            status = 1
    return status


async def ls(shell, argv, io, env) -> int:
    flags, _, paths = _flags(argv, "1aAFp")
    status, listed = 0, []
    for path in paths or ["."]:
        full = shell.path(path)
        if not shell.files.exists(full):
            if shell.flavour.gnu:
                _say(io, f"ls: cannot access '{path}': No such file or directory")
            else:
                _say(io, f"ls: {path}: No such file or directory")
            status = 2 if shell.flavour.gnu else 1
            continue
        if not shell.files.is_dir(full):
            io.stdout.write(path + "\n")
            continue
        names = shell.files.listdir(full)
        if "a" in flags:
            names = [".", "..", *names]
        elif "A" not in flags:
            names = [n for n in names if not n.startswith(".")]
        listed.append((path, names))
    for index, (path, names) in enumerate(listed):
        if len(paths) > 1:
            io.stdout.write(("\n" if index else "") + f"{path}:\n")
        io.stdout.write("".join(name + "\n" for name in names))
    return status


UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


async def sleep(shell, argv, io, env) -> int:
    seconds = 0.0
    if len(argv) < 2:
        _say(io, "sleep: missing operand" if shell.flavour.gnu else "BusyBox: sleep: missing operand")
        return 1
    for arg in argv[1:]:
        if arg in ("infinity", "inf"):
            seconds = float("inf")
            continue
        match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", arg)
        if not match:
            _say(io, f"sleep: invalid time interval '{arg}'" if shell.flavour.gnu
                 else f"sleep: invalid number '{arg}'")
            return 1
        seconds += float(match.group(1)) * UNITS[match.group(2)]
    if seconds == float("inf"):
        import asyncio
        forever = asyncio.get_running_loop().create_future()
        finished = await shell.interruptible(forever)
    else:
        finished = await shell.interruptible(shell.clock.sleep(seconds))
    return 0 if finished else 143


async def date(shell, argv, io, env) -> int:
    now = shell.clock.now()  # one reading for every field, as date reads the time once
    moment = datetime.fromtimestamp(now, tz=timezone.utc)
    fmt = "%a %b %e %H:%M:%S %Z %Y"
    for arg in argv[1:]:
        if arg.startswith("+"):
            fmt = arg[1:]
        elif arg in ("-u", "--utc"):
            continue
        elif arg.startswith("-I") or arg.startswith("--iso-8601"):
            fmt = "%Y-%m-%dT%H:%M:%S+00:00" if "s" in arg else "%Y-%m-%d"
        elif arg in ("-R", "--rfc-2822"):
            fmt = "%a, %d %b %Y %H:%M:%S +0000"
        else:
            raise syntax.Unsupported(f"date {arg}")
    io.stdout.write(moment.strftime(_clock_directives(fmt, now)) + "\n")
    return 0


_CLOCK_DIRECTIVE = re.compile(r"%(%|s|(\d*)N)")


def _clock_directives(fmt: str, now: float) -> str:
    """GNU date's `%s` (epoch seconds) and `%N` (nanoseconds; `%3N` milliseconds) from `now`,
    which strftime does not know; `%%` stays for strftime to print as `%`."""
    seconds = int(now)
    nanoseconds = f"{min(int(round((now - seconds) * 1e9)), 999_999_999):09d}"

    def value(match: re.Match) -> str:
        if match.group(1) == "%":
            return "%%"
        if match.group(1) == "s":
            return str(seconds)
        width = int(match.group(2) or 9)
        # a width under 9 is a precision; a wider one pads the number on the left, as gnulib does
        return nanoseconds[:width] if width <= 9 else nanoseconds.rjust(width, "0")

    return _CLOCK_DIRECTIVE.sub(value, fmt)


async def hostname(shell, argv, io, env) -> int:
    if "-i" in argv:
        io.stdout.write(shell.ctx.pod_ip + "\n")
    else:
        io.stdout.write(shell.ctx.hostname + "\n")
    return 0


async def env_(shell, argv, io, env) -> int:
    args, extra = argv[1:], {}
    while args and "=" in args[0] and not args[0].startswith("-"):
        name, _, value = args.pop(0).partition("=")
        extra[name] = value
    if args:
        return await shell.invoke(args, io, extra)
    for name, value in {**env, **extra}.items():
        io.stdout.write(f"{name}={value}\n")
    return 0


async def printenv(shell, argv, io, env) -> int:
    if len(argv) == 1:
        return await env_(shell, ["env"], io, env)
    status = 0
    for name in argv[1:]:
        if name in env:
            io.stdout.write(env[name] + "\n")
        else:
            status = 1
    return status


async def touch(shell, argv, io, env) -> int:
    _, _, paths = _flags(argv, "c")
    status = 0
    for path in paths:
        full = shell.path(path)
        try:
            if not shell.files.exists(full):
                shell.files.write(full, "", append=True)
            elif not shell.files.is_dir(full):
                shell.files.write(full, "", append=True)  # touching changes nothing but the time
        except OSError as problem:
            _say(io, shell.flavour.file_error("touch", path, _reason(problem), verb="touch"))
            status = 1
    return status


async def mkdir(shell, argv, io, env) -> int:
    flags, _, paths = _flags(argv, "pv")
    status = 0
    for path in paths:
        try:
            shell.files.mkdir(shell.path(path), parents="p" in flags)
        except OSError as problem:
            word = "cannot" if shell.flavour.gnu else "can't"
            _say(io, f"mkdir: {word} create directory '{path}': {_reason(problem)}")
            status = 1
    return status


async def rm(shell, argv, io, env) -> int:
    flags, _, paths = _flags(argv, "rRfv")
    status, word = 0, "cannot" if shell.flavour.gnu else "can't"
    for path in paths:
        full = shell.path(path)
        if not shell.files.exists(full):
            if "f" not in flags:
                _say(io, f"rm: {word} remove '{path}': No such file or directory")
                status = 1
            continue
        if shell.files.is_dir(full) and not flags & {"r", "R"}:
            _say(io, f"rm: {word} remove '{path}': Is a directory" if shell.flavour.gnu
                 else f"rm: '{path}' is a directory")
            status = 1
            continue
        try:
            shell.files.remove(full)
        except OSError as problem:
            _say(io, f"rm: {word} remove '{path}': {_reason(problem)}")
            status = 1
    return status


async def cp(shell, argv, io, env) -> int:
    flags, _, paths = _flags(argv, "fpv")
    if len(paths) != 2:
        raise syntax.Unsupported(" ".join(argv))
    source, target = (shell.path(p) for p in paths)
    if shell.files.is_dir(target):
        target = posixpath.join(target, posixpath.basename(source))
    try:
        shell.files.write(target, shell.files.read(source))
        if argv[0] == "mv":
            shell.files.remove(source)
    except OSError as problem:
        _say(io, f"{argv[0]}: {problem.filename or paths[0]}: {_reason(problem)}")
        return 1
    return 0


def _count(flags, values, rest, default: int = 10) -> int:
    if "n" in values:
        return int(values["n"].lstrip("+"))
    numeric = [r for r in rest if re.fullmatch(r"-\d+", r)]
    return int(numeric[0][1:]) if numeric else default


async def head(shell, argv, io, env) -> int:
    flags, values, rest = _flags(argv, "q", with_value="nc")
    count = _count(flags, values, rest)
    paths = [r for r in rest if not re.fullmatch(r"-\d+", r)]
    if not paths:
        for _ in range(count):
            line = await io.stdin.readline()
            if line is None:
                break
            io.stdout.write(line)
        return 0
    lines = await _lines(shell, io, paths[0], "head")
    if lines is None:
        return 1
    io.stdout.write("".join(lines[:count]))
    return 0


async def tail(shell, argv, io, env) -> int:
    flags, values, rest = _flags(argv, "fFq", with_value="ns")
    count = _count(flags, values, rest)
    paths = [r for r in rest if not re.fullmatch(r"-\d+", r)]
    follow = bool(flags & {"f", "F"})
    if len(paths) > 1:
        raise syntax.Unsupported("tail of several files")
    if not paths:
        if follow:
            while (line := await io.stdin.readline()) is not None:
                io.stdout.write(line)
            return 0
        lines = await _lines(shell, io, None, "tail")
        io.stdout.write("".join(lines[-count:] if count else []))
        return 0
    path, full = paths[0], shell.path(paths[0])
    files = shell.files
    if not files.exists(full) and "F" in flags:
        word = "cannot" if shell.flavour.gnu else "can't"
        _say(io, f"tail: {word} open '{path}' for reading: No such file or directory")
        while not files.exists(full):
            if not await shell.interruptible(files.wait_for_change(full)):
                return 143
        _say(io, f"tail: '{path}' has appeared;  following new file")
        count = 10 ** 9
    try:
        text = files.read(full)
    except OSError as problem:
        _say(io, shell.flavour.file_error("tail", path, _reason(problem)))
        return 1
    lines = text.splitlines(keepends=True)
    io.stdout.write("".join(lines[-count:] if count else []))
    if not follow:
        return 0
    shown = len(text)
    while True:
        if not await shell.interruptible(files.wait_for_change(full)):
            return 143
        try:
            text = files.read(full)
        except OSError:
            continue  # deleted: tail -f keeps following the name
        if len(text) < shown:
            _say(io, f"tail: {path}: file truncated")
            shown = 0
        io.stdout.write(text[shown:])
        shown = len(text)


async def run_shell(shell, argv, io, env) -> int:
    """`sh -c 'script' [name [args...]]`, `sh file [args]`, or `sh` reading its stdin."""
    flavour = shell.flavour
    if argv[0] == "bash":
        flavour = replace(flavour, shell="bash")
    elif flavour.shell == "bash":
        flavour = replace(flavour, shell="dash")  # `sh` on Debian and Ubuntu is dash
    args, options = argv[1:], set()
    while args and re.fullmatch(r"[-+][euxc]+", args[0]):
        options |= set(args.pop(0)[1:])
    if "c" in options:
        if not args:
            _say(io, f"{argv[0]}: -c requires an argument")
            return 2
        script, args = args[0], args[1:]
        name, positional = (args[0], args[1:]) if args else (argv[0], [])
    elif args:
        name, positional = args[0], args[1:]
        try:
            script = shell.files.read(shell.path(args[0]))
        except OSError:
            _say(io, flavour.cannot_open(args[0], "No such file"))
            return 127 if flavour.shell != "dash" else 2
    else:
        script, name, positional = await io.stdin.read(), argv[0], []
    child = type(shell)(shell.ctx, flavour, io, env=dict(env), positional=positional, name=name,
                        commands=shell.commands, stopping=shell.stopping)
    child.signals, child.cwd = shell.signals, shell.cwd
    child.options |= options & {"e", "u", "x"}
    return await child.run_script(script)


def _builtin(function):
    async def as_utility(shell, argv, io, env):
        return await function(shell, argv, io)
    return as_utility


UTILITIES = {
    "cat": cat, "ls": ls, "sleep": sleep, "date": date, "hostname": hostname, "env": env_,
    "printenv": printenv, "touch": touch, "mkdir": mkdir, "rm": rm, "cp": cp, "mv": cp,
    "wc": wc, "grep": grep, "head": head, "tail": tail, "sort": sort, "uniq": uniq, "seq": seq,
    "tee": tee, "basename": basename, "dirname": dirname, "id": identity, "whoami": identity,
    "uname": uname, "sh": run_shell, "bash": run_shell, "pwd": _builtin(shell_builtins.pwd),
    "echo": _builtin(shell_builtins.echo), "printf": _builtin(shell_builtins.printf),
    "test": _builtin(shell_builtins.test), "[": _builtin(shell_builtins.test),
    "true": _builtin(shell_builtins.colon), "false": _builtin(shell_builtins.false),
    **nettools.TOOLS,
}
