"""How a database step reaches a member: run one argv "on" it and collect what it printed.

The steps of `database.Database` are command lines as one would type them in the member's pod
(`psql -U postgres ...`, `pg_basebackup -D /var/lib/postgresql/data/pgdata ...`). A transport
runs such an argv for a named member and hands back a `Completed`:

- `PodExec` execs it in the member's pod through the Kubernetes API (what the operator uses,
  on kind and on the simulator alike);
- `LocalProcesses` runs it on this machine against PostgreSQL servers on local ports (what the
  real-database tests use), rewriting only what differs between a pod and a local process:
  the port of each member, the host names of other members, and the data directory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["Completed", "LocalProcesses", "PodExec", "Transport", "member_of_host"]

# where every member keeps its data, in its pod (the PGDATA of the contract)
POD_PGDATA = "/var/lib/postgresql/data/pgdata"
POD_PORT = 5432
# exit codes a shell would give, so that callers see one vocabulary whatever the transport
TIMED_OUT = 124
NOT_FOUND = 127


@dataclass(frozen=True)
class Completed:
    """What an argv did: its exit code and what it printed on stdout and stderr."""

    code: int
    stdout: str
    stderr: str


class Transport(Protocol):
    def run(self, member: str, argv: list[str], timeout: float) -> Completed:
        """Run `argv` on `member`; never raises for a failing command (see Completed.code)."""
        ...


class PodExec:
    """Exec into the member's pod (container `postgres`) through the official client.

    `pod_of(member)` names the pod of a member (the same name, in the course's clusters).
    """

    def __init__(self, api_client, namespace: str, container: str = "postgres",
                 pod_of: Callable[[str], str] = lambda member: member) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.container = container
        self.pod_of = pod_of

    def run(self, member: str, argv: list[str], timeout: float) -> Completed:
        # the client is imported here so that importing the operator's pure parts stays cheap
        from kubernetes import client, stream
        from kubernetes.client.exceptions import ApiException

        core = client.CoreV1Api(self.api_client)
        try:
            response = stream.stream(
                core.connect_get_namespaced_pod_exec, self.pod_of(member), self.namespace,
                command=list(argv), container=self.container, stderr=True, stdin=False,
                stdout=True, tty=False, _preload_content=False)
        except ApiException as error:
            # no pod, pod not running, container not ready: the step could not even start.
            # Said as kubectl says it (exit 1); the websocket handshake hides the Status in
            # its reason text.
            return Completed(1, "", f"Error from server: {_status_message(error)}\n")
        try:
            response.run_forever(timeout=timeout)
            stdout, stderr = response.read_stdout(), response.read_stderr()
            code = response.returncode
        finally:
            response.close()
        if code is None:  # the stream was still open when the time was up
            return Completed(TIMED_OUT, stdout, stderr + f"timed out after {timeout:g} s\n")
        return Completed(code, stdout, stderr)


def member_of_host(host: str, members: Mapping[str, object]) -> str | None:
    """The member a host name means: `pg-1`, `pg-1.pg-members`, `pg-1.pg-members.ns.svc...`
    all mean member `pg-1`. None for anything else (an IP address, a Service name)."""
    first = host.split(".", 1)[0]
    return first if first in members and not host.replace(".", "").isdigit() else None


_CONNINFO_HOST = re.compile(rf"host=(\S+) port={POD_PORT}")


class LocalProcesses:
    """Run a step's argv as a local process, as if in the member's pod.

    `ports` maps member -> local port of its server; `data_dirs` member -> its data directory
    (needed only for pg_basebackup's -D). Both are read at every call, so a test may add members
    to them as it clones new ones. The programs come from `bin_dir` when it has them (Debian
    keeps the server's tools in /usr/lib/postgresql/<major>/bin, off PATH). When this process is
    root, the commands run as `run_as`, because PostgreSQL refuses to run as root.

    What is rewritten, and nothing else:
    - psql gets `-h 127.0.0.1 -p <port of the member>`; pg_isready keeps its -h and gets -p;
    - a member's host name (`-h pg-1` or `-h pg-1.pg-members`) becomes 127.0.0.1 plus that
      member's port, in pg_basebackup's and pg_dumpall's -h and in `host=... port=5432` inside
      SQL (primary_conninfo);
    - pg_basebackup's `-D /var/lib/postgresql/data/pgdata` becomes the member's data directory.
    """

    def __init__(self, ports: Mapping[str, int], run_as: str | None = "postgres",
                 bin_dir: str | Path | None = None, data_dirs: Mapping[str, str | Path] | None = None,
                 cwd: str | Path = "/") -> None:
        self.ports = ports
        self.run_as = run_as
        self.bin_dir = Path(bin_dir) if bin_dir else None
        self.data_dirs = data_dirs if data_dirs is not None else {}
        self.cwd = cwd  # the postgres user may not enter the caller's directory

    def localise(self, member: str, argv: list[str]) -> list[str]:
        """The local command line for `argv` run on `member` (pure: no process started)."""
        program, arguments = argv[0], list(argv[1:])
        name = os.path.basename(program)
        if name == "psql" and "-h" not in arguments:
            arguments = ["-h", "127.0.0.1", "-p", str(self._port(member)), *arguments]
        elif name in ("pg_isready", "pg_basebackup", "pg_dumpall", "pg_dump", "psql"):
            arguments = self._local_host(member, arguments)
        if name == "pg_basebackup":
            arguments = _after_flag(arguments, "-D", lambda _pod_path: self._data_dir(member))
        if name == "psql":
            arguments = _after_flag(arguments, "-c", self._local_conninfo)
        return [self._program(name, program), *arguments]

    def run(self, member: str, argv: list[str], timeout: float) -> Completed:
        command = self.localise(member, argv)
        options: dict = {}
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        if self.run_as and os.geteuid() == 0:
            import pwd

            account = pwd.getpwnam(self.run_as)
            options = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            environment["HOME"] = account.pw_dir
        try:
            finished = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                      env=environment, cwd=self.cwd, **options)
        except subprocess.TimeoutExpired as expired:
            return Completed(TIMED_OUT, _text(expired.stdout), _text(expired.stderr)
                             + f"timed out after {timeout:g} s\n")
        except FileNotFoundError:
            return Completed(NOT_FOUND, "", f"sh: 1: {argv[0]}: not found\n")
        return Completed(finished.returncode, finished.stdout, finished.stderr)

    # the rewriting

    def _program(self, name: str, program: str) -> str:
        if self.bin_dir and (self.bin_dir / name).exists():
            return str(self.bin_dir / name)
        return program

    def _port(self, member: str) -> int:
        try:
            return int(self.ports[member])
        except KeyError:
            raise KeyError(f"no local port for member {member!r}; the members are "
                           f"{', '.join(self.ports) or 'none'}") from None

    def _data_dir(self, member: str) -> str:
        try:
            return str(self.data_dirs[member])
        except KeyError:
            raise KeyError(f"no local data directory for member {member!r}") from None

    def _local_host(self, member: str, arguments: list[str]) -> list[str]:
        """-h <member host> -> -h 127.0.0.1 -p <its port>; -h 127.0.0.1 means `member` itself."""
        if "-h" not in arguments[:-1]:
            return arguments
        at = arguments.index("-h") + 1
        host = arguments[at]
        target = member_of_host(host, self.ports)
        if target is None and host in ("127.0.0.1", "localhost"):
            target = member
        if target is None or "-p" in arguments:
            return arguments
        return [*arguments[:at], "127.0.0.1", "-p", str(self._port(target)), *arguments[at + 1:]]

    def _local_conninfo(self, sql: str) -> str:
        def local(match: re.Match) -> str:
            target = member_of_host(match.group(1), self.ports)
            if target is None:
                return match.group(0)
            return f"host=127.0.0.1 port={self._port(target)}"

        return _CONNINFO_HOST.sub(local, sql)


def _status_message(error) -> str:
    text = f"{error.reason or ''} {error.body or ''}"
    found = re.search(r'"message":\s*"((?:[^"\\]|\\.)*)"', text)
    if found:
        return json.loads(f'"{found.group(1)}"')
    return f"{error.status} {error.reason}".strip()


def _after_flag(arguments: list[str], flag: str, change: Callable[[str], str]) -> list[str]:
    """The arguments with `change` applied to every value that follows `flag`."""
    changed = list(arguments)
    for index in range(1, len(changed)):
        if arguments[index - 1] == flag:
            changed[index] = change(arguments[index])
    return changed


def _text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else output
