"""How the kubelet writes things down: durations, image references, container IDs, back-off.

Pure functions and constants shared by the kubelet's modules. The wording follows the real
kubelet: Go's duration format ("5m0s"), the `name_namespace(uid)` form it names pods with in
messages, images as containerd reports them (`docker.io/library/nginx:1.27`).
"""

from __future__ import annotations

import hashlib
import secrets

# CrashLoopBackOff: the first restart is immediate, then 10 s doubling up to 5 minutes; a
# container that ran this long before exiting starts the sequence again.
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
BACKOFF_RESET_AFTER = 600.0

DEFAULT_GRACE_SECONDS = 30
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
                  "successThreshold": 1, "failureThreshold": 3}


def restart_delay(exits_in_row: int) -> float:
    """Seconds before the next start, after the `exits_in_row`-th exit of a crash loop (1-based)."""
    if exits_in_row <= 1:
        return 0.0
    return min(BACKOFF_INITIAL * 2 ** (exits_in_row - 2), BACKOFF_MAX)


def go_duration(seconds: float) -> str:
    """A duration as Go's time.Duration.String() prints it: 0s, 250ms, 1.5s, 1m20s, 5m0s."""
    if seconds == 0:
        return "0s"
    nanos = round(seconds * 1e9)
    if nanos < 1_000_000_000:
        if nanos >= 1_000_000:
            return f"{_trim(nanos / 1_000_000)}ms"
        if nanos >= 1_000:
            return f"{_trim(nanos / 1_000)}µs"
        return f"{nanos}ns"
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = f"{_trim(rest / 1e9)}s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def pod_reference(pod: dict) -> str:
    """`web_default(uid)`: how kubelet messages name a pod."""
    meta = pod["metadata"]
    return f"{meta['name']}_{meta.get('namespace', 'default')}({meta.get('uid', '')})"


def full_image(image: str) -> str:
    """The reference containerd reports: `nginx` -> `docker.io/library/nginx:latest`."""
    name, _, digest = image.partition("@")
    first, _, rest = name.partition("/")
    if not rest:
        name = f"docker.io/library/{name}"
    elif not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}"
    if digest:
        return f"{name}@{digest}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        name += ":latest"
    return name


def image_digest(image: str) -> str:
    """A stable made-up digest for an image (the same on every node, as a registry's is)."""
    return "sha256:" + hashlib.sha256(full_image(image).encode()).hexdigest()


def image_id(image: str) -> str:
    """`docker.io/library/nginx@sha256:...`: the repository without its tag, and the digest."""
    name = full_image(image).partition("@")[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.partition(":")[0]
    return f"{name}@{image_digest(image)}"


def image_size(image: str) -> int:
    """A plausible compressed size in bytes, stable per image."""
    seed = int(hashlib.sha256(full_image(image).encode()).hexdigest()[:8], 16)
    return 5_000_000 + seed % 120_000_000


def new_container_id() -> str:
    return "containerd://" + secrets.token_hex(32)


def pull_policy(container: dict) -> str:
    """The API defaults it, but a pod created past defaulting may lack it."""
    policy = container.get("imagePullPolicy")
    if policy:
        return policy
    image = container.get("image", "")
    last = image.partition("@")[0].rsplit("/", 1)[-1]
    if "@" in image or (":" in last and not last.endswith(":latest")):
        return "IfNotPresent"
    return "Always"


def probe_setting(probe: dict, name: str) -> float:
    value = probe.get(name)
    return PROBE_DEFAULTS[name] if value is None else value


def is_sidecar(container: dict) -> bool:
    """A native sidecar: an init container with restartPolicy Always."""
    return container.get("restartPolicy") == "Always"
