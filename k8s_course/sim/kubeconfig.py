"""The kubeconfig that lets kubectl, the official client and kopf reach the simulator."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml

CONTEXT = "k8s-course-sim"
USER = "k8s-course-sim-admin"


def default_state_dir() -> Path:
    """Where `k8s-course sim start` keeps its kubeconfig, pid and log."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "k8s-course"


def render(server: str, token: str, ca_pem: bytes) -> dict:
    authority = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server, "certificate-authority-data": authority}}],
        "users": [{"name": USER, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": USER, "namespace": "default"}}],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write(path: str | os.PathLike, server: str, token: str, ca_pem: bytes) -> Path:
    """Write the kubeconfig readable by its owner only (it holds the cluster's admin token)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(render(server, token, ca_pem), sort_keys=False)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return path


def ca_of(path: str | os.PathLike) -> bytes | None:
    """The cluster CA a kubeconfig written here trusts."""
    try:
        config = yaml.safe_load(Path(path).read_text())
        return base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    except (OSError, KeyError, IndexError, TypeError, ValueError, yaml.YAMLError):
        return None
