"""The sidecar injector: a mutating admission webhook that adds the mesh to every pod, as Istio's.

The API server sends it each new pod of a labelled namespace (an AdmissionReview, over HTTPS);
it answers with a JSON patch that adds
- `proxy-init`, an init container that sets up the pod's iptables the way Istio's istio-init
  does: inbound TCP redirected to the proxy's port 15006, outbound to 15001, the proxy's own
  traffic (uid 1337) left alone. It needs NET_ADMIN and NET_RAW; the course's version prints
  the rules instead of applying them, because the course's proxy (mtls_proxy.py) listens on
  those ports itself and the apps keep calling each other in plain HTTP;
- `proxy`, the mTLS proxy of chapter 1 as a native sidecar (an init container with
  restartPolicy Always), with Istio's default resources (requests 100m CPU / 128Mi, limits
  2 CPU / 1Gi), its program from the ConfigMap `k8s-course-mesh` and the identity of the pod's
  service account from the Secret `mesh-identity-<service account>`;
- the annotation `sidecar.k8s-course.dev/status` (like `sidecar.istio.io/status`) naming what
  was added. Pods annotated `sidecar.k8s-course.dev/inject: "false"`, pods already injected and
  host-network pods are let through unchanged. `sidecar.k8s-course.dev/peer: host:port` gives
  the proxy an outbound listener on 127.0.0.1:15001 towards that peer.

Serves POST /inject (and GET /healthz) with TLS: TLS_CERT, TLS_KEY (defaults tls.crt, tls.key
in /etc/webhook/certs), HOST, PORT (8443). Settings: PROXY_IMAGE, INIT_IMAGE, MESH_CONFIGMAP,
IDENTITY_SECRET_PREFIX. Runs as `python sidecar_injector.py`; standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ---------------------------------------------------------------- pure core

STATUS_ANNOTATION = "sidecar.k8s-course.dev/status"
INJECT_ANNOTATION = "sidecar.k8s-course.dev/inject"
PEER_ANNOTATION = "sidecar.k8s-course.dev/peer"
PROXY_UID = 1337  # the proxy runs as this user; its own traffic is not redirected again
INBOUND_CAPTURE_PORT = 15006
OUTBOUND_CAPTURE_PORT = 15001
EXCLUDED_INBOUND_PORTS = (15090, 15021, 15020)  # Istio's metrics, health and merged-metrics ports
INIT_NAME = "proxy-init"
PROXY_NAME = "proxy"
PROGRAMS_VOLUME = "k8s-course-mesh"
IDENTITY_VOLUME = "mesh-identity"
PROGRAMS_PATH = "/opt/k8s-course-mesh"
CERTS_PATH = "/etc/mtls"
DEFAULT_APP_PORT = 8080
REVIEW_API_VERSION = "admission.k8s.io/v1"


@dataclass(frozen=True)
class Settings:
    proxy_image: str = "python:3.11-slim"
    init_image: str = "busybox:1.36"
    mesh_configmap: str = "k8s-course-mesh"  # holds mtls_proxy.py, in every injected namespace
    identity_secret_prefix: str = "mesh-identity-"  # + the pod's service account
    cpu_request: str = "100m"  # Istio's default sidecar request...
    memory_request: str = "128Mi"
    cpu_limit: str = "2"  # ...and limit
    memory_limit: str = "1Gi"
    revision: str = "default"


def settings_from(env: dict[str, str]) -> Settings:
    defaults = Settings()
    return Settings(
        proxy_image=env.get("PROXY_IMAGE", defaults.proxy_image),
        init_image=env.get("INIT_IMAGE", defaults.init_image),
        mesh_configmap=env.get("MESH_CONFIGMAP", defaults.mesh_configmap),
        identity_secret_prefix=env.get("IDENTITY_SECRET_PREFIX", defaults.identity_secret_prefix),
    )


def iptables_rules(proxy_uid: int = PROXY_UID, inbound_port: int = INBOUND_CAPTURE_PORT,
                   outbound_port: int = OUTBOUND_CAPTURE_PORT,
                   excluded_inbound: tuple[int, ...] = EXCLUDED_INBOUND_PORTS) -> list[str]:
    """The nat-table rules istio-init installs in the pod's network namespace, in order."""
    rules = [f"iptables -t nat -N {chain}" for chain in
             ("MESH_INBOUND", "MESH_REDIRECT", "MESH_IN_REDIRECT", "MESH_OUTPUT")]
    rules += [
        # every TCP connection coming in goes to the proxy's inbound port...
        "iptables -t nat -A PREROUTING -p tcp -j MESH_INBOUND",
        *(f"iptables -t nat -A MESH_INBOUND -p tcp --dport {port} -j RETURN" for port in excluded_inbound),
        "iptables -t nat -A MESH_INBOUND -p tcp -j MESH_IN_REDIRECT",
        f"iptables -t nat -A MESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports {inbound_port}",
        # ...and every TCP connection going out goes to its outbound port,
        "iptables -t nat -A OUTPUT -p tcp -j MESH_OUTPUT",
        # except the proxy's own (else its calls would loop back into itself)
        f"iptables -t nat -A MESH_OUTPUT -m owner --uid-owner {proxy_uid} -j RETURN",
        f"iptables -t nat -A MESH_OUTPUT -m owner --gid-owner {proxy_uid} -j RETURN",
        "iptables -t nat -A MESH_OUTPUT -d 127.0.0.1/32 -j RETURN",
        "iptables -t nat -A MESH_OUTPUT -j MESH_REDIRECT",
        f"iptables -t nat -A MESH_REDIRECT -p tcp -j REDIRECT --to-ports {outbound_port}",
    ]
    return rules


def skip_reason(pod: dict) -> str | None:
    """Why this pod gets no sidecar, or None when it gets one."""
    meta = pod.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    spec = pod.get("spec") or {}
    if str(annotations.get(INJECT_ANNOTATION, "")).lower() in ("false", "no", "n", "0", "off"):
        return f'annotation {INJECT_ANNOTATION}: "{annotations[INJECT_ANNOTATION]}"'
    if STATUS_ANNOTATION in annotations:
        return "already injected"
    if spec.get("hostNetwork"):
        return "host network: its iptables are the node's"
    names = {c.get("name") for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]}
    if names & {INIT_NAME, PROXY_NAME}:
        return f"it already has a container named {INIT_NAME} or {PROXY_NAME}"
    return None


def app_port(pod: dict) -> int:
    """The port the app listens on: the first one its containers declare."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if isinstance(port.get("containerPort"), int):
                return port["containerPort"]
    return DEFAULT_APP_PORT


def init_container(settings: Settings) -> dict:
    shown = " ".join(f"'{rule}'" for rule in iptables_rules())
    return {
        "name": INIT_NAME,
        "image": settings.init_image,
        "command": ["sh", "-c",
                    "echo 'proxy-init: the rules istio-init installs (shown here, not applied):' && "
                    f"printf '%s\\n' {shown}"],
        "resources": _resources(settings),
        "securityContext": {
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
            "runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": False,
            "privileged": False, "allowPrivilegeEscalation": False,
        },
    }


def proxy_container(pod: dict, settings: Settings) -> dict:
    peer = ((pod.get("metadata") or {}).get("annotations") or {}).get(PEER_ANNOTATION, "")
    env = [
        {"name": "INBOUND_PORT", "value": str(INBOUND_CAPTURE_PORT)},
        {"name": "UPSTREAM", "value": f"127.0.0.1:{app_port(pod)}"},
        {"name": "OUTBOUND_PORT", "value": str(OUTBOUND_CAPTURE_PORT) if peer else ""},
    ]
    if peer:
        env.append({"name": "PEER", "value": peer})
    return {
        "name": PROXY_NAME,
        "image": settings.proxy_image,
        "command": ["python", f"{PROGRAMS_PATH}/mtls_proxy.py"],
        "restartPolicy": "Always",  # a native sidecar: up before the app, down after it
        "env": env,
        "ports": [{"name": "mesh-mtls", "containerPort": INBOUND_CAPTURE_PORT, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": INBOUND_CAPTURE_PORT}, "periodSeconds": 2},
        "resources": _resources(settings),
        "securityContext": {
            "runAsUser": PROXY_UID, "runAsGroup": PROXY_UID, "runAsNonRoot": True,
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": PROGRAMS_VOLUME, "mountPath": PROGRAMS_PATH, "readOnly": True},
            {"name": IDENTITY_VOLUME, "mountPath": CERTS_PATH, "readOnly": True},
        ],
    }


def _resources(settings: Settings) -> dict:
    return {"requests": {"cpu": settings.cpu_request, "memory": settings.memory_request},
            "limits": {"cpu": settings.cpu_limit, "memory": settings.memory_limit}}


def volumes(pod: dict, settings: Settings) -> list[dict]:
    account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    return [
        {"name": PROGRAMS_VOLUME, "configMap": {"name": settings.mesh_configmap}},
        {"name": IDENTITY_VOLUME, "secret": {"secretName": settings.identity_secret_prefix + account}},
    ]


def status_annotation(settings: Settings) -> str:
    return json.dumps({"initContainers": [INIT_NAME, PROXY_NAME], "containers": [],
                       "volumes": [PROGRAMS_VOLUME, IDENTITY_VOLUME], "revision": settings.revision},
                      separators=(",", ":"))


def _pointer(key: str) -> str:
    """A map key as one JSON-pointer segment (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def inject(pod: dict, settings: Settings | None = None) -> list[dict]:
    """The JSON patch (RFC 6902) that adds the mesh to `pod`; [] when it gets none."""
    settings = settings or Settings()
    if skip_reason(pod) is not None:
        return []
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    ops: list[dict] = []
    added = [init_container(settings), proxy_container(pod, settings)]
    if spec.get("initContainers"):
        # first in line: the rules must be in place before any other container talks
        ops += [{"op": "add", "path": f"/spec/initContainers/{i}", "value": c} for i, c in enumerate(added)]
    else:
        ops.append({"op": "add", "path": "/spec/initContainers", "value": added})
    if spec.get("volumes"):
        ops += [{"op": "add", "path": "/spec/volumes/-", "value": v} for v in volumes(pod, settings)]
    else:
        ops.append({"op": "add", "path": "/spec/volumes", "value": volumes(pod, settings)})
    if meta.get("annotations"):
        ops.append({"op": "add", "path": f"/metadata/annotations/{_pointer(STATUS_ANNOTATION)}",
                    "value": status_annotation(settings)})
    else:
        ops.append({"op": "add", "path": "/metadata/annotations",
                    "value": {STATUS_ANNOTATION: status_annotation(settings)}})
    return ops


def review_response(review: dict, settings: Settings | None = None) -> tuple[dict, str]:
    """The AdmissionReview to answer `review` with, and a line saying what was decided."""
    request = review.get("request") or {}
    pod = request.get("object") or {}
    meta = pod.get("metadata") or {}
    where = f"{request.get('namespace', '')}/{meta.get('name') or (meta.get('generateName', '') + '*')}"
    response: dict = {"uid": request.get("uid", ""), "allowed": True}
    if request.get("kind", {}).get("kind") != "Pod" or request.get("operation") != "CREATE":
        decision = f"sidecar-injector: {where}: not a new pod, nothing to do"
    elif (reason := skip_reason(pod)) is not None:
        decision = f"sidecar-injector: {where}: skipped ({reason})"
    else:
        ops = inject(pod, settings)
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(ops).encode()).decode("ascii")
        decision = f"sidecar-injector: {where}: added {INIT_NAME} and {PROXY_NAME}"
    return {"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview", "response": response}, decision


def respond(method: str, path: str, body: bytes, settings: Settings | None = None) -> tuple[int, dict, str]:
    """(HTTP status, JSON answer, log line or "") for one request to the injector."""
    route = path.split("?", 1)[0]
    if method == "GET" and route in ("/healthz", "/readyz"):
        return 200, {"status": "ok"}, ""
    if route != "/inject":
        return 404, {"error": f"no such path {route}; the webhook is POST /inject"}, ""
    if method != "POST":
        return 405, {"error": "POST an AdmissionReview to /inject"}, ""
    try:
        review = json.loads(body or b"{}")
    except ValueError as error:
        return 400, {"error": f"the body is not JSON: {error}"}, ""
    if not isinstance(review, dict) or not isinstance(review.get("request"), dict):
        return 400, {"error": "expected an AdmissionReview with a request"}, ""
    answer, decision = review_response(review, settings)
    return 200, answer, decision


# ---------------------------------------------------------------- I/O shell


class InjectorServer:
    """The HTTPS server; `start()` serves on a thread, `stop()` ends it."""

    def __init__(self, cert: str, key: str, host: str = "0.0.0.0", port: int = 8443,
                 settings: Settings | None = None,
                 log: Callable[[str], None] = lambda message: print(message, flush=True)):
        self.settings = settings or Settings()
        self.log = log
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, answer, decision = respond(method, self.path, body, server.settings)
                if decision:
                    server.log(decision)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self._answer("POST")

            def do_GET(self) -> None:  # noqa: N802
                self._answer("GET")

            def log_message(self, *args) -> None:
                pass  # one line per decision is enough

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> InjectorServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sidecar-injector", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> InjectorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(env: dict[str, str] | None = None) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # PID 1 ignores an unhandled SIGTERM
    env = dict(os.environ if env is None else env)
    server = InjectorServer(env.get("TLS_CERT", "/etc/webhook/certs/tls.crt"),
                            env.get("TLS_KEY", "/etc/webhook/certs/tls.key"),
                            env.get("HOST", "0.0.0.0"), int(env.get("PORT", "8443")), settings_from(env))
    server.start()
    print(f"sidecar-injector: serving POST /inject on {env.get('HOST', '0.0.0.0')}:{server.port}", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
