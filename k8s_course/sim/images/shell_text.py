"""Text filters of the simulated images: `grep`, `wc`, `sort`, `uniq`, `seq`, `tee`, ...

Shared helpers for all utilities live here too (option parsing, reading a file or stdin).
Each utility is `async fn(shell, argv, io, env) -> exit code`.
"""

from __future__ import annotations

import posixpath
import re

from k8s_course.sim.images import shell_syntax as syntax
from k8s_course.sim.images.shell_io import IO, TextInput


def _flags(argv: list[str], allowed: str, with_value: str = "") -> tuple[set[str], dict, list]:
    """Short options (`-rf`, `-n 5`, `-n5`); anything else raises Unsupported."""
    flags, values, rest, index = set(), {}, [], 1
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            rest.extend(argv[index + 1:])
            break
        if arg.startswith("-") and len(arg) > 1 and not re.fullmatch(r"-\d+", arg):
            for position, letter in enumerate(arg[1:], 1):
                if letter in with_value:
                    value = arg[position + 1:] or (argv[index + 1] if index + 1 < len(argv) else "")
                    if not arg[position + 1:]:
                        index += 1
                    values[letter] = value
                    break
                if letter not in allowed:
                    raise syntax.Unsupported(f"{argv[0]} {arg}")
                flags.add(letter)
        else:
            rest.append(arg)
        index += 1
    return flags, values, rest


def _say(io: IO, text: str) -> None:
    io.stderr.write(text + "\n")


def _reason(problem: OSError) -> str:
    return problem.strerror or str(problem)


async def _lines(shell, io: IO, path: str | None, tool: str):
    """The text of a file (or stdin for None/"-") as a list of lines, or None after an error."""
    if path in (None, "-"):
        return (await io.stdin.read()).splitlines(keepends=True)
    try:
        return shell.files.read(shell.path(path)).splitlines(keepends=True)
    except OSError as problem:
        _say(io, shell.flavour.file_error(tool, path, _reason(problem)))
        return None


async def wc(shell, argv, io, env) -> int:
    flags, _, paths = _flags(argv, "lwc")
    status = 0
    for path in paths or [None]:
        lines = await _lines(shell, io, path, "wc")
        if lines is None:
            status = 1
            continue
        text = "".join(lines)
        counts = {"l": text.count("\n"), "w": len(text.split()), "c": len(text.encode())}
        chosen = [counts[f] for f in "lwc" if f in flags] or list(counts.values())
        if len(chosen) == 1:
            shown = str(chosen[0])
        else:
            shown = " ".join(f"{c:>7}" for c in chosen)
        io.stdout.write(shown + (f" {path}" if path else "") + "\n")
    return status


async def grep(shell, argv, io, env) -> int:
    flags, values, rest = _flags(argv, "vicqEFnlhHsw", with_value="e")
    pattern = values.get("e")
    if pattern is None:
        if not rest:
            _say(io, "Usage: grep [OPTION]... PATTERNS [FILE]...")
            return 2
        pattern = rest.pop(0)
    if "F" in flags:
        regex = re.escape(pattern)
    elif "E" in flags:
        regex = pattern
    else:  # basic regular expressions: \| \( \) \+ \? are the operators, bare ones are literal
        regex = re.sub(r"\\([|()+?{}])|([|()+?{}])",
                       lambda m: m.group(1) or "\\" + m.group(2), pattern)
    if "w" in flags:
        regex = rf"\b(?:{regex})\b"
    compiled = re.compile(regex, re.IGNORECASE if "i" in flags else 0)
    paths, found, status = rest or ["-"], 0, 0
    for path in paths:
        prefix = f"{path}:" if len(paths) > 1 and "h" not in flags or "H" in flags else ""
        count = 0
        source = TextInput("".join(await _lines(shell, io, path, "grep") or [])) \
            if path != "-" else io.stdin
        if path != "-" and not shell.files.exists(shell.path(path)):
            status = 2
            continue
        number = 0
        while (line := await source.readline()) is not None:
            number += 1
            if bool(compiled.search(line.rstrip("\n"))) == ("v" in flags):
                continue
            count += 1
            if "q" in flags:
                return 0
            if "l" in flags:
                io.stdout.write(path + "\n")
                break
            if "c" not in flags:
                line_number = f"{number}:" if "n" in flags else ""
                io.stdout.write(prefix + line_number + line + ("" if line.endswith("\n") else "\n"))
        if "c" in flags:
            io.stdout.write(f"{prefix}{count}\n")
        found += count
    return 0 if found else (status or 1)


async def sort(shell, argv, io, env) -> int:
    flags, _, paths = _flags(argv, "rnu")
    lines = []
    for path in paths or [None]:
        found = await _lines(shell, io, path, "sort")
        if found is None:
            return 2
        lines.extend(line.rstrip("\n") for line in found)

    def key(line: str):
        if "n" in flags:
            match = re.match(r"\s*-?\d+(\.\d+)?", line)
            return (float(match.group()) if match else 0.0, line)
        return (0.0, line)
    lines.sort(key=key, reverse="r" in flags)
    if "u" in flags:
        lines = list(dict.fromkeys(lines))
    io.stdout.write("".join(line + "\n" for line in lines))
    return 0


async def uniq(shell, argv, io, env) -> int:
    flags, _, paths = _flags(argv, "c")
    lines = await _lines(shell, io, paths[0] if paths else None, "uniq")
    if lines is None:
        return 1
    groups: list[list] = []
    for line in (line.rstrip("\n") for line in lines):
        if groups and groups[-1][0] == line:
            groups[-1][1] += 1
        else:
            groups.append([line, 1])
    for line, times in groups:
        io.stdout.write((f"{times:>7} " if "c" in flags else "") + line + "\n")
    return 0


async def seq(shell, argv, io, env) -> int:
    try:
        numbers = [int(a) for a in argv[1:]]
    except ValueError:
        raise syntax.Unsupported(" ".join(argv)) from None
    first, step, last = {1: (1, 1, *numbers), 2: (numbers[0], 1, numbers[-1]),
                         3: tuple(numbers)}.get(len(numbers), (1, 1, 0))
    if step == 0:
        return 1
    io.stdout.write("".join(f"{n}\n" for n in range(first, last + (1 if step > 0 else -1), step)))
    return 0


async def tee(shell, argv, io, env) -> int:
    flags, _, paths = _flags(argv, "a")
    targets = [shell.path(p) for p in paths]
    status = 0
    for target in targets:
        try:
            shell.files.write(target, "", append="a" in flags)
        except OSError as problem:
            _say(io, f"tee: {target}: {_reason(problem)}")
            status = 1
    while (line := await io.stdin.readline()) is not None:
        io.stdout.write(line)
        for target in targets:
            try:
                shell.files.write(target, line, append=True)
            except OSError:
                pass
    return status


async def basename(shell, argv, io, env) -> int:
    name = posixpath.basename(argv[1].rstrip("/")) if len(argv) > 1 else ""
    if len(argv) > 2 and name.endswith(argv[2]) and name != argv[2]:
        name = name[: -len(argv[2])]
    io.stdout.write(name + "\n")
    return 0


async def dirname(shell, argv, io, env) -> int:
    io.stdout.write((posixpath.dirname(argv[1].rstrip("/")) or ".") + "\n")
    return 0


async def identity(shell, argv, io, env) -> int:
    io.stdout.write("root\n" if argv[0] == "whoami" else "uid=0(root) gid=0(root) groups=0(root)\n")
    return 0


async def uname(shell, argv, io, env) -> int:
    if "-a" in argv:
        io.stdout.write(f"Linux {shell.ctx.hostname} 6.8.0 #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux\n")
    elif "-r" in argv:
        io.stdout.write("6.8.0\n")
    elif "-m" in argv:
        io.stdout.write("x86_64\n")
    else:
        io.stdout.write("Linux\n")
    return 0
