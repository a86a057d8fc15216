"""The network tools of the simulated images: `wget`, `curl`, `nc -z`, `nslookup`.

They go through the container's `ctx.network` (names resolved as the cluster's DNS would,
HTTP answered by the model of the pod behind the address) and print what busybox or curl print,
so that a lesson's `kubectl exec ... -- wget -qO- http://web` shows the real output and errors.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from urllib.parse import urlsplit

from k8s_course.sim.images import shell_syntax as syntax

DNS_SERVER = "10.96.0.10"


def _is_address(host: str) -> bool:
    return host in ("localhost",) or bool(re.fullmatch(r"[\d.]+|\[?[0-9a-fA-F:]+\]?", host))


def _address(network, host: str) -> str | None:
    """The IP a name resolves to (None: unknown), without asking DNS for literal addresses."""
    if host == "localhost":
        return "127.0.0.1"
    if _is_address(host):
        return host
    found = network.resolve(host)
    return found[0] if found else None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _url(text: str) -> tuple[str, str, int, str]:
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme != "http":
        raise syntax.Unsupported(f"{parts.scheme}:// URLs")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname or "", parts.netloc, parts.port or 80, path


def _options(argv: list[str], flags: str, valued: str, long_flags: dict[str, str]):
    """Short flags (combined, `-qO-`), valued options, long options mapped to short letters."""
    found, values, rest, index = set(), {}, [], 1
    while index < len(argv):
        arg = argv[index]
        if arg.startswith("--"):
            name, has_value, value = arg[2:].partition("=")
            letter = long_flags.get(name)
            if letter is None:
                raise syntax.Unsupported(f"{argv[0]} {arg}")
            if letter in valued:
                if not has_value:
                    index += 1
                    value = argv[index] if index < len(argv) else ""
                values[letter] = value
            else:
                found.add(letter)
        elif arg.startswith("-") and len(arg) > 1:
            for position, letter in enumerate(arg[1:], 1):
                if letter in valued:
                    value = arg[position + 1:]
                    if not value:
                        index += 1
                        value = argv[index] if index < len(argv) else ""
                    values[letter] = value
                    break
                if letter not in flags:
                    raise syntax.Unsupported(f"{argv[0]} -{letter}")
                found.add(letter)
        else:
            rest.append(arg)
        index += 1
    return found, values, rest


async def wget(shell, argv, io, env) -> int:
    flags, values, rest = _options(argv, "qS", "OT", {"spider": "s", "quiet": "q",
                                                      "timeout": "T", "output-document": "O"})
    if not rest:
        io.stderr.write("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\n"
                        "Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] URL...\n")
        return 1
    host, netloc, port, path = _url(rest[0])
    quiet = "q" in flags
    address = _address(shell.network, host)
    if address is None:
        io.stderr.write(f"wget: bad address '{host}'\n")
        return 1
    if not quiet:
        io.stderr.write(f"Connecting to {netloc} ({address}:{port})\n")
    try:
        status, body = await shell.network.http_get(host, port, path)
    except ConnectionError:
        io.stderr.write(f"wget: can't connect to remote host ({address}): Connection refused\n")
        return 1
    if status >= 400:
        io.stderr.write(f"wget: server returned error: HTTP/1.1 {status} {_phrase(status)}\n")
        return 1
    if "s" in flags:
        if not quiet:
            io.stderr.write("remote file exists\n")
        return 0
    target = values.get("O")
    if target is None:
        target = path.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "index.html"
    if target == "-":
        if not quiet:
            io.stderr.write("writing to stdout\n")
        io.stdout.write(body)
        if not quiet:
            io.stderr.write("written to stdout\n")
        return 0
    try:
        if not quiet:
            io.stderr.write(f"saving to '{target}'\n")
        shell.files.write(shell.path(target), body)
    except OSError as problem:
        io.stderr.write(f"wget: can't open '{target}': {problem.strerror}\n")
        return 1
    if not quiet:
        io.stderr.write(f"'{target}' saved\n")
    return 0


async def curl(shell, argv, io, env) -> int:
    flags, values, rest = _options(
        argv, "sSfLvki", "omwXHA",
        {"silent": "s", "show-error": "S", "fail": "f", "location": "L", "output": "o",
         "max-time": "m", "connect-timeout": "m", "write-out": "w", "request": "X",
         "header": "H", "insecure": "k", "verbose": "v", "include": "i", "user-agent": "A"})
    if values.get("X", "GET").upper() not in ("GET",) or "v" in flags or "i" in flags:
        raise syntax.Unsupported("curl " + " ".join(argv[1:]))
    if not rest:
        io.stderr.write("curl: try 'curl --help' or 'curl --manual' for more information\n")
        return 2
    show_errors = "s" not in flags or "S" in flags
    host, _, port, path = _url(rest[0])
    code = "000"
    if _address(shell.network, host) is None:
        if show_errors:
            io.stderr.write(f"curl: (6) Could not resolve host: {host}\n")
        status, body, result = None, "", 6
    else:
        try:
            status, body = await shell.network.http_get(host, port, path)
            code, result = str(status), 0
        except ConnectionError:
            if show_errors:
                io.stderr.write(f"curl: (7) Failed to connect to {host} port {port} after 0 ms: "
                                "Couldn't connect to server\n")
            status, body, result = None, "", 7
    if status is not None and status >= 400 and "f" in flags:
        if show_errors:
            io.stderr.write(f"curl: (22) The requested URL returned error: {status}\n")
        body, result = "", 22
    target = values.get("o")
    if target and target != "-":
        if target != "/dev/null":
            shell.files.write(shell.path(target), body)
    else:
        io.stdout.write(body)
    if "w" in values:
        from k8s_course.sim.images.shell_builtins import unescape

        io.stdout.write(unescape(values["w"].replace("%{http_code}", code))[0])
    return result


async def nc(shell, argv, io, env) -> int:
    flags, values, rest = _options(argv, "zvn", "w", {})
    if "z" not in flags or len(rest) != 2:
        raise syntax.Unsupported("nc " + " ".join(argv[1:]))
    host, port = rest[0], int(rest[1])
    address = _address(shell.network, host)
    if address is None:
        io.stderr.write(f"nc: bad address '{host}'\n")
        return 1
    if shell.network.is_listening(host, port):
        if "v" in flags:
            io.stderr.write(f"{host} ({address}:{port}) open\n")
        return 0
    if "v" in flags:
        io.stderr.write(f"nc: {host} ({address}:{port}): Connection refused\n")
    return 1


def fully_qualified(name: str, namespace: str) -> str:
    """The name the cluster's DNS answers for, after the pod's search path."""
    name = name.rstrip(".")
    if name.endswith(".cluster.local"):
        return name
    dots = name.count(".")
    if dots == 0:
        return f"{name}.{namespace}.svc.cluster.local"
    if dots == 1:
        return f"{name}.svc.cluster.local"
    if name.endswith(".svc"):
        return f"{name}.cluster.local"
    return name


async def nslookup(shell, argv, io, env) -> int:
    names = [a for a in argv[1:] if not a.startswith("-")]
    if not names:
        raise syntax.Unsupported("nslookup without a name")
    name = names[0]
    namespace = ((shell.ctx.pod or {}).get("metadata") or {}).get("namespace", "default")
    io.stdout.write(f"Server:\t\t{DNS_SERVER}\nAddress:\t{DNS_SERVER}:53\n\n")
    addresses = [name] if _is_address(name) and name != "localhost" else shell.network.resolve(name)
    if not addresses:
        io.stdout.write(f"** server can't find {fully_qualified(name, namespace)}: NXDOMAIN\n\n")
        return 1
    shown = fully_qualified(name, namespace)
    for address in addresses:
        io.stdout.write(f"Name:\t{shown}\nAddress: {address}\n")
    io.stdout.write("\n")
    return 0


TOOLS = {"wget": wget, "curl": curl, "nc": nc, "nslookup": nslookup}
