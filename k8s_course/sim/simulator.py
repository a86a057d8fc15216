"""Running a simulated cluster: in this process on a thread of its own, or in the foreground.

`Simulator` is what tests and notebooks use:

    with Simulator() as sim:
        api = kubernetes.client.CoreV1Api(sim.api_client())

It assembles the pieces (clock, store, objects, API server, controllers), seeds what every
cluster has (the four namespaces, the `kubernetes` Service), listens on 127.0.0.1 only and
writes a kubeconfig (mode 0600) that carries the bearer token it requires.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import tempfile
import threading
from pathlib import Path

from aiohttp import web

from . import certificates, control_plane, disks, kubeconfig, nodes
from .api import admin, admin_nodes
from .api.pods import PodIO
from .api.server import APIServer
from .auth import bootstrap, gate
from .clock import Clock
from .kubelet import Kubelet
from .kubelet_network import PodNetwork
from .objects import Objects
from .resources import Registry
from .store import Store

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
KUBERNETES_SERVICE_IP = "10.96.0.1"
API_SERVER_ADDRESS = "172.18.0.2"  # the control-plane node's address, as on kind


class Extensions:
    """Where the behaviour side plugs into the API: pod logs and exec, metrics, tokens."""

    def __init__(self) -> None:
        self.gate = None  # auth.gate.Gate: authentication, impersonation and RBAC (None: admin token only)


class Cluster:
    """The simulated control plane, not yet listening: one per event loop.

    `controllers` builds the control plane's loops from the cluster (default: all of them);
    tests pass their own to study one controller alone. `node_specs` are its nodes (default:
    kind's shape, one control plane and two workers), each with an agent and a kubelet.
    """

    def __init__(self, clock: Clock | None = None, token: str | None = None, controllers=None,
                 node_specs: list[nodes.NodeSpec] | None = None, pull_delay: float = 0.0):
        self.clock = clock or Clock()
        self.store = Store()
        self.registry = Registry()
        self.objects = Objects(self.store, self.registry, self.clock)
        self.token = token or secrets.token_urlsafe(32)
        self.tls = certificates.issue(HOST)
        self.extensions = Extensions()
        self.server = APIServer(self.objects, self.token, self.extensions)
        admin.install(self)
        self.network = PodNetwork()
        self.disks = disks.Disks(self.store)  # what PersistentVolumes hold, shared by the kubelets
        self.objects.webhooks.network = self.network  # webhooks served by pods answer on it
        self.agents: dict[str, nodes.NodeAgent] = {}
        self.kubelets: dict[str, Kubelet] = {}
        specs = nodes.default_nodes() if node_specs is None else node_specs
        for index, spec in enumerate(specs):
            agent = nodes.NodeAgent(self.objects, spec, index)
            agent.kubelet = Kubelet(self.objects, spec.name, agent.pod_cidr, network=self.network,
                                    pull_delay=pull_delay, disks=self.disks)
            self.agents[spec.name] = agent
            self.kubelets[spec.name] = agent.kubelet
        PodIO(self.kubelets, self.objects).install(self.extensions)
        gate.install(self)
        admin_nodes.install(self, self.agents)
        self.controllers = (controllers or control_plane.controllers)(self)
        self._tasks: list[asyncio.Task] = []
        self._runner: web.AppRunner | None = None
        self._socket: socket.socket | None = None
        self.port: int | None = None

    def seed(self) -> None:
        bootstrap.seed(self.objects)  # the default roles and bindings, before anyone asks
        namespaces = self.registry.lookup("", "v1", "namespaces")
        for name in SYSTEM_NAMESPACES:
            self.objects.create(namespaces, None, {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": name}})
        services = self.registry.lookup("", "v1", "services")
        self.objects.create(services, "default", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": KUBERNETES_SERVICE_IP,
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}})
        # the API server keeps its own address behind the service, as kube-apiserver does
        endpoints = self.registry.lookup("", "v1", "endpoints")
        self.objects.create(endpoints, "default", {
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": API_SERVER_ADDRESS}],
                         "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]})
        slices = self.registry.lookup("discovery.k8s.io", "v1", "endpointslices")
        self.objects.create(slices, "default", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kubernetes", "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [API_SERVER_ADDRESS], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]})

    async def start_control_plane(self) -> None:
        """Seed the cluster and start its clock and controllers (no HTTP yet)."""
        self.seed()
        self._tasks.append(asyncio.ensure_future(self.clock.run()))
        for controller in self.controllers:
            self._tasks.append(asyncio.ensure_future(controller.run()))
        for agent in self.agents.values():
            self._tasks.append(asyncio.ensure_future(agent.run()))
            self._tasks.append(asyncio.ensure_future(agent.kubelet.run()))

    async def start(self, port: int = 0) -> int:
        await self.start_control_plane()
        self._runner = web.AppRunner(self.server.app(), access_log=None, handle_signals=False,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        self._socket = sock
        site = web.SockSite(self._runner, sock, ssl_context=self.tls.server_context())
        await site.start()
        self.port = sock.getsockname()[1]
        return self.port

    async def stop(self) -> None:
        self.store.end_watches()
        await asyncio.sleep(0)  # let the watch handlers see the end and finish their responses
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            await asyncio.sleep(0.05)  # TLS connections need a few loop turns to finish closing
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"


class Simulator:
    """A simulated cluster on its own thread and event loop, for tests and notebooks."""

    def __init__(self, port: int = 0, speed: float = 1.0, kubeconfig_path: str | os.PathLike | None = None,
                 clock: Clock | None = None, node_specs: list[nodes.NodeSpec] | None = None):
        self._port = port
        self._node_specs = node_specs
        self._clock = clock or Clock(speed)
        self._kubeconfig_path = Path(kubeconfig_path) if kubeconfig_path else None
        self._own_dir: tempfile.TemporaryDirectory | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self.cluster: Cluster | None = None

    # lifecycle

    def start(self) -> Simulator:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._serve, name="k8s-course-simulator", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            raise RuntimeError(f"the simulated cluster did not start: {self._failure}") from self._failure
        if self._kubeconfig_path is None:
            self._own_dir = tempfile.TemporaryDirectory(prefix="k8s-course-sim-")
            self._kubeconfig_path = Path(self._own_dir.name) / "kubeconfig"
        kubeconfig.write(self._kubeconfig_path, self.url, self.cluster.token, self.cluster.tls.ca_pem)
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self.cluster = Cluster(self._clock, node_specs=self._node_specs)
            loop.run_until_complete(self.cluster.start(self._port))
        except BaseException as error:  # reported to start()'s caller
            self._failure = error
            if self.cluster is not None:
                loop.run_until_complete(self.cluster.stop())
            loop.close()
            self._started.set()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.cluster.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        if self._own_dir is not None:
            self._own_dir.cleanup()
            self._own_dir = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # what callers need

    @property
    def url(self) -> str:
        assert self.cluster is not None, "the simulator is not running"
        return self.cluster.url

    @property
    def token(self) -> str:
        assert self.cluster is not None, "the simulator is not running"
        return self.cluster.token

    @property
    def kubeconfig(self) -> Path:
        assert self._kubeconfig_path is not None, "the simulator is not running"
        return self._kubeconfig_path

    @property
    def ca_certificate(self) -> bytes:
        assert self.cluster is not None, "the simulator is not running"
        return self.cluster.tls.ca_pem

    def ssl_context(self):
        """An `ssl.SSLContext` that trusts this cluster (for callers outside the official client)."""
        assert self.cluster is not None, "the simulator is not running"
        return self.cluster.tls.client_context()

    @property
    def clock(self) -> Clock:
        return self._clock

    def api_client(self):
        """An official `kubernetes.client.ApiClient` for this cluster."""
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), context=kubeconfig.CONTEXT,
                                client_configuration=configuration)
        return client.ApiClient(configuration)

    def call(self, function, *args):
        """Run `function(*args)` on the simulator's loop and return its result (for tests)."""
        assert self._loop is not None
        future: asyncio.Future = asyncio.run_coroutine_threadsafe(_call(function, *args), self._loop)
        return future.result(timeout=30)


async def _call(function, *args):
    result = function(*args)
    if asyncio.iscoroutine(result):
        result = await result
    return result
