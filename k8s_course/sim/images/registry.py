"""From a container spec to the model that plays its image: `model_for(container)`.

The image reference is normalised as containerd does (`nginx` -> `docker.io/library/nginx:latest`),
names the simulated registry cannot know fail as a real pull fails (`PullError`, worded as
containerd words it), and the container's `command`/`args` are combined with the image's own
ENTRYPOINT and CMD (Kubernetes' rule) to decide what runs: the server an image ships, or the
simulated shell. The python image runs the course's workloads (`images.workloads`, e.g.
`python /app/log_shipper.py`); `Registry(images=..., python_programs=...)` adds more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from k8s_course.sim.images import (
    base,
    course_images,
    injector_model,
    models,
    postgres_models,
    redis_models,
    redis_reader_model,
    start_order,
    tcp_relay_model,
    workloads,
)
from k8s_course.sim.images.shell_io import BUSYBOX, DEBIAN, Flavour

KNOWN_HOSTS = {"docker.io", "index.docker.io", "registry.k8s.io", "ghcr.io", "quay.io"}

# repository -> (ENTRYPOINT, CMD) of the image
ENTRYPOINTS: dict[str, tuple[list[str], list[str]]] = {
    "busybox": ([], ["sh"]),
    "alpine": ([], ["/bin/sh"]),
    "ubuntu": ([], ["bash"]),
    "debian": ([], ["bash"]),
    "python": ([], ["python3"]),
    "nginx": (["/docker-entrypoint.sh"], ["nginx", "-g", "daemon off;"]),
    "redis": (["docker-entrypoint.sh"], ["redis-server"]),
    "postgres": (["docker-entrypoint.sh"], ["postgres"]),
    "curlimages/curl": (["/entrypoint.sh"], ["curl"]),
}
ENTRYPOINT_SCRIPTS = {"/docker-entrypoint.sh", "docker-entrypoint.sh", "/entrypoint.sh",
                      "/usr/local/bin/docker-entrypoint.sh"}
STOCK = {"busybox", "alpine", "ubuntu", "debian", "python", "nginx", "redis", "postgres"}
SERVERS = {"nginx": "nginx", "redis": "redis-server", "postgres": "postgres"}
ISTIO_PORTS = (15000, 15001, 15006, 15021, 15090)
ENVOY_PORTS = (10000, 9901)


class PullError(base.PullError):
    """A pull that fails; `str()` is containerd's message, `code` the gRPC code the kubelet shows."""

    def __init__(self, message: str, code: str = "NotFound"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Reference:
    host: str
    path: str  # e.g. library/nginx
    tag: str
    digest: str = ""

    @property
    def repository(self) -> str:
        """The name without host, `library/` and tag: `nginx`, `curlimages/curl`."""
        return self.path[len("library/"):] if self.path.startswith("library/") else self.path

    def __str__(self) -> str:
        text = f"{self.host}/{self.path}"
        if self.tag:
            text += f":{self.tag}"
        return text + (f"@{self.digest}" if self.digest else "")


def parse_reference(image: str) -> Reference:
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = ""
    if ":" in last:
        tag = last.split(":", 1)[1]
        name = name[: len(name) - len(tag) - 1]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        host, path = parts[0], "/".join(parts[1:])
    else:
        host, path = "docker.io", name
    if host in ("docker.io", "index.docker.io") and "/" not in path:
        path = "library/" + path
    return Reference(host, path, tag or ("" if digest else "latest"), digest)


def check_pullable(reference: Reference) -> None:
    """Raise PullError for what no registry has: the failures lessons show on purpose."""
    ref = str(reference)
    prefix = f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": '
    if reference.host not in KNOWN_HOSTS:
        raise PullError(prefix + f'failed to do request: Head "https://{reference.host}/v2/'
                        f'{reference.path}/manifests/{reference.tag or reference.digest}": '
                        f"dial tcp: lookup {reference.host}: no such host", code="Unknown")
    if "doesnotexist" in reference.path:
        raise PullError(prefix + "pull access denied, repository does not exist or may require "
                        "authorization: server message: insufficient_scope: authorization failed",
                        code="Unknown")
    if reference.tag == "does-not-exist" or not _plausible_stock_tag(reference):
        raise PullError(prefix + f"{ref}: not found")


# the words stock images' tags are made of (besides version numbers): `1.27-alpine`,
# `3.11-slim-bookworm`, `16.4-bookworm`; a typo such as `1.27-alpnie` names no image
TAG_WORDS = {"latest", "stable", "mainline", "alpine", "slim", "bookworm", "bullseye", "buster",
             "trixie", "perl", "otel", "uclibc", "glibc", "musl", "jammy", "noble", "focal",
             "windowsservercore", "nanoserver", "rc", "alpha", "beta", "git", "unprivileged"}


def _plausible_stock_tag(reference: Reference) -> bool:
    """False for a tag of a stock image that no registry has: words it does not use."""
    if reference.digest or _kind(reference.repository) not in STOCK:
        return True
    parts = re.split(r"[-_.]", reference.tag.lower())
    return all(part.isdigit() or re.fullmatch(r"v?\d+[a-z]*\d*", part) or part.rstrip("0123456789") in TAG_WORDS
               for part in parts if part)


def process_argv(container: dict, entrypoint: list[str], cmd: list[str]) -> list[str]:
    """Kubernetes' rule: `command` replaces ENTRYPOINT (and drops CMD), `args` replaces CMD."""
    command, args = container.get("command"), container.get("args")
    if command:
        return [*command, *(args or [])]
    return [*entrypoint, *(cmd if args is None else args)]


def _kind(repository: str) -> str:
    """Which model family plays this repository."""
    if repository in ENTRYPOINTS:
        return repository
    last = repository.rsplit("/", 1)[-1]
    if last in STOCK:
        return last
    if last.startswith("envoy") or repository.startswith("envoyproxy/"):
        return "envoy"
    if last == "proxyv2" or "istio" in repository and "proxy" in last:
        return "istio"
    for course in ("crasher", "slow-ready", "needs-proxy", "proxy"):
        if repository.endswith(f"k8s-course/{course}"):
            return course
    return ""


def _flavour(kind: str, tag: str) -> Flavour:
    if kind in ("busybox", "alpine") or "alpine" in tag:
        flavour = BUSYBOX
    elif kind == "curlimages/curl":
        flavour = replace(BUSYBOX, commands=BUSYBOX.commands | {"curl"})
    else:
        flavour = DEBIAN
    if kind == "python" and "slim" not in tag:
        flavour = replace(flavour, commands=flavour.commands | {"wget", "curl"})
    return flavour


class Registry:
    """Picks the model of a container's image; `images` and `python_programs` extend it."""

    def __init__(self, images: dict[str, Callable[[dict], base.ImageModel]] | None = None,
                 python_programs: dict[str, Callable] | None = None):
        self.images = dict(images or {})  # repository -> factory(container)
        # script name -> async fn(shell, argv, io, env): the course's workloads, plus those given
        self.python_programs = {**workloads.PROGRAMS, **(python_programs or {})}

    def model_for(self, container: dict) -> base.ImageModel:
        reference = parse_reference(container.get("image") or "")
        check_pullable(reference)
        repository = reference.repository
        if repository in self.images:
            return self.images[repository](container)
        kind = _kind(repository)
        flavour = _flavour(kind, reference.tag)
        entrypoint, cmd = ENTRYPOINTS.get(kind, ([], []))
        argv = process_argv(container, entrypoint, cmd)
        while argv and argv[0] in ENTRYPOINT_SCRIPTS:
            argv = argv[1:]
        if kind == "postgres":
            return postgres_models.postgres_model(container)
        if kind in SERVERS:
            server = {"nginx": models.Nginx, "redis": models.Redis}[kind](flavour)
            program = argv[0].rsplit("/", 1)[-1] if argv else ""
            if program == SERVERS[kind] and not (set(argv[1:2]) & {"-v", "-V", "-t", "-T", "-s"}):
                return server
            return models.ShellImage(argv, flavour, server.commands)
        if kind == "python":
            return models.PythonImage(argv, flavour, self.python_programs)
        if kind in ("busybox", "alpine", "ubuntu", "debian"):
            return models.ShellImage(argv, flavour)
        if kind == "curlimages/curl":
            return models.ShellImage(models.curl_entrypoint(argv), flavour)
        if kind in ("envoy", "istio"):
            if container.get("command"):
                return models.ShellImage(argv, flavour)
            return models.Envoy(flavour, ENVOY_PORTS if kind == "envoy" else ISTIO_PORTS)
        course = {"crasher": course_images.Crasher, "slow-ready": course_images.SlowReady,
                  "needs-proxy": course_images.NeedsProxy, "proxy": course_images.Proxy}.get(kind)
        if course is not None:
            return course(flavour)
        return base.ImageModel()


# redis answers commands and the ambassador routes them with the real program's core
DEFAULT = Registry(images={"redis": redis_models.redis_model},
                   python_programs={"ambassador.py": redis_models.ambassador_program,
                                    "pg_writer.py": postgres_models.pg_writer_program,
                                    **injector_model.PROGRAMS, **start_order.PROGRAMS,
                                    **tcp_relay_model.PROGRAMS, **redis_reader_model.PROGRAMS})


def model_for(container: dict) -> base.ImageModel:
    """The model of `container`'s image; raises PullError for an image no registry has."""
    return DEFAULT.model_for(container)
