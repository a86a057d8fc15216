"""Which cluster the course runs on, and the actions that lie outside the Kubernetes API.

Two backends: a kind cluster named `k8s-course` (context `kind-k8s-course`) when one answers,
else the built-in simulated cluster, started in the background or reused. Nothing else in the
course asks which one it is on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

KIND_CLUSTER = "k8s-course"
KIND_CONTEXT = f"kind-{KIND_CLUSTER}"
SIM_CONTEXT = "k8s-course-sim"


@dataclass(frozen=True)
class Backend:
    name: str  # "kind" or "simulator"
    kubeconfig: str | None  # None: the default kubeconfig
    context: str
    description: str


def _state_dir() -> Path | None:
    configured = os.environ.get("K8S_COURSE_STATE_DIR")
    return Path(configured) if configured else None


def _speed() -> float:
    try:
        return float(os.environ.get("K8S_COURSE_SPEED", "1"))
    except ValueError:
        return 1.0


def kind_cluster() -> Backend | None:
    """The kind cluster, if `kind` knows it and its API server answers."""
    if shutil.which("kind") is None:
        return None
    try:
        listed = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if KIND_CLUSTER not in listed.stdout.split():
        return None
    if not _answers(None, KIND_CONTEXT):
        return None
    return Backend("kind", None, KIND_CONTEXT, f"kind cluster '{KIND_CLUSTER}' (context {KIND_CONTEXT})")


def _answers(kubeconfig: str | None, context: str) -> bool:
    from kubernetes import client, config

    try:
        api = client.ApiClient(config.new_client_from_config(config_file=kubeconfig, context=context).configuration)
        client.VersionApi(api).get_code(_request_timeout=3)
        return True
    except Exception:  # any failure means: not usable now
        return False


def create_kind_cluster(config: Path | str | None = None, timeout: float = 600) -> Backend:
    """`kind create cluster --config kind-config.yaml`, showing kind's progress as it goes."""
    if shutil.which("kind") is None:
        raise RuntimeError("kind is not installed: see https://kind.sigs.k8s.io/docs/user/quick-start/ "
                           "(or use the built-in simulator, which needs nothing)")
    if shutil.which("docker") is None:
        raise RuntimeError("kind needs Docker, and no docker command is found here; the built-in "
                           "simulator needs neither")
    found = kind_cluster()
    if found is not None:
        return found
    config = Path(config) if config else Path(__file__).resolve().parent.parent / "kind-config.yaml"
    process = subprocess.Popen(["kind", "create", "cluster", "--config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:  # kind prints one line per step: show them as they come
        print(line.rstrip(), flush=True)
    if process.wait(timeout=timeout) != 0:
        raise RuntimeError(f"kind create cluster failed (exit code {process.returncode}); see the lines above")
    found = kind_cluster()
    if found is None:
        raise RuntimeError("kind created the cluster but its API server does not answer yet; try again in a minute")
    return found


def simulator() -> Backend:
    """The background simulator, started if none runs."""
    from .sim import daemon

    crashed = daemon.state_path(_state_dir()).exists() and daemon.read_state(_state_dir()) is None
    record = daemon.start(speed=_speed(), state_dir=_state_dir())
    again = " (started again: the previous one had stopped, so this one is empty)" if crashed else ""
    return Backend("simulator", record["kubeconfig"], SIM_CONTEXT,
                   f"the built-in simulated cluster at {record['url']} (clock x{record['speed']:g}){again}")


def from_kubeconfig() -> Backend:
    """The cluster $KUBECONFIG's current context names: a class's shared cluster, for instance."""
    import yaml

    path = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    try:
        context = yaml.safe_load(Path(path).read_text()).get("current-context", "")
    except (OSError, yaml.YAMLError, AttributeError) as error:
        raise RuntimeError(f"cannot read the kubeconfig {path}: {error}") from None
    return Backend("kubeconfig", path, context, f"the cluster of {path} (context {context})")


def choose(prefer: str | None = None) -> Backend:
    """kind when it answers (or when asked for), else the simulator."""
    prefer = prefer or os.environ.get("K8S_COURSE_BACKEND")
    if prefer not in (None, "", "kind", "simulator", "sim", "kubeconfig"):
        raise ValueError(f"unknown backend {prefer!r}: use 'kind', 'simulator' or 'kubeconfig'")
    if prefer == "kubeconfig":
        return from_kubeconfig()
    if prefer in (None, "", "kind"):
        found = kind_cluster()
        if found is not None:
            return found
        if prefer == "kind":
            raise RuntimeError(
                "no kind cluster answers: run `kind create cluster --config kind-config.yaml`, "
                "or use the built-in simulator (the default)")
    return simulator()


# infrastructure faults: outside the Kubernetes API, one implementation per backend

def node_offline(backend: Backend, node: str) -> None:
    """Take a floor offline: its kubelet stops (kind: the node's container stops)."""
    _node_action(backend, node, "stop")


def node_online(backend: Backend, node: str) -> None:
    _node_action(backend, node, "start")


def _node_action(backend: Backend, node: str, action: str) -> None:
    if backend.name == "kind":
        result = subprocess.run(["docker", action, node], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"docker {action} {node} failed: {result.stderr.strip()}")
        return
    _admin(backend, "POST", f"/sim/v1/nodes/{node}/{action}")


def _admin(backend: Backend, method: str, path: str, body: dict | None = None) -> dict:
    """Call the simulator's admin API with the kubeconfig's server, CA and token."""
    import base64
    import json
    import ssl
    import urllib.error
    import urllib.request

    import yaml

    config = yaml.safe_load(Path(backend.kubeconfig).read_text())
    cluster = config["clusters"][0]["cluster"]
    token = config["users"][0]["user"]["token"]
    context = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    request = urllib.request.Request(cluster["server"] + path, method=method,
                                     data=json.dumps(body or {}).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read()).get("message", "")
        except ValueError:
            message = ""
        raise RuntimeError(f"the simulator refused {method} {path}: {message or error.reason}") from None
