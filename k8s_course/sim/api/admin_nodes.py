"""Node faults in the admin API: take a node offline, bring it back, crash a container.

    GET  /sim/v1/nodes                              every node agent's state
    GET  /sim/v1/nodes/{name}                       one node agent's state
    POST /sim/v1/nodes/{name}/stop                  an outage: heartbeats and kubelet stop
    POST /sim/v1/nodes/{name}/start                 recovery: Ready again, heartbeats resume
    POST /sim/v1/namespaces/{ns}/pods/{name}/crash  {"container": "app", "exitCode": 1}

A crash is the kubelet's to carry out: the pod's node's kubelet must have a method
`crash(namespace, pod, container, exit_code)` that ends the running container now with that
exit code (its restart policy and back-off then apply as for any exit). Routes must be installed
before the server's app is built (`Cluster.start`), like the other admin routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .. import errors
from .admin import read_json

if TYPE_CHECKING:
    from ..nodes import NodeAgent
    from ..simulator import Cluster

GROUP = "sim"


def install(cluster: Cluster, agents: dict[str, NodeAgent]) -> None:
    server = cluster.server
    pods = cluster.registry.lookup("", "v1", "pods")

    def agent_named(name: str) -> NodeAgent:
        agent = agents.get(name)
        if agent is None:
            raise errors.not_found("nodes", "", name)
        return agent

    async def list_nodes(request: web.Request) -> web.Response:
        return web.json_response({"kind": "NodeAgentList", "apiVersion": "sim/v1",
                                  "items": [agent.state() for agent in agents.values()]})

    async def get_node(request: web.Request) -> web.Response:
        return web.json_response(agent_named(request.match_info["name"]).state())

    async def stop_node(request: web.Request) -> web.Response:
        agent = agent_named(request.match_info["name"])
        agent.stop()
        return web.json_response(agent.state())

    async def start_node(request: web.Request) -> web.Response:
        agent = agent_named(request.match_info["name"])
        agent.start()
        return web.json_response(agent.state())

    async def crash(request: web.Request) -> web.Response:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        body = await read_json(request)
        pod = cluster.objects.get(pods, namespace, name)
        names = [c["name"] for c in pod["spec"].get("containers") or []] + \
                [c["name"] for c in pod["spec"].get("initContainers") or []]
        container = body.get("container")
        if container is None and len(pod["spec"].get("containers") or []) == 1:
            container = names[0]
        exit_code = body.get("exitCode", 1)
        problems = []
        if container not in names:
            problems.append(errors.not_supported("container", container, names) if container is not None
                            else errors.required("container", "the pod has more than one container"))
        if isinstance(exit_code, bool) or not isinstance(exit_code, int) or not 0 <= exit_code <= 255:
            problems.append(errors.invalid("exitCode", exit_code, "must be an integer from 0 to 255"))
        if problems:
            raise errors.invalid_object("Crash", GROUP, name, problems)
        node = pod["spec"].get("nodeName")
        if not node:
            raise errors.conflict("pods", "", name, "the pod is not scheduled to a node yet")
        agent = agents.get(node)
        kubelet = getattr(agent, "kubelet", None)
        if kubelet is None or not hasattr(kubelet, "crash"):
            raise errors.conflict("pods", "", name, f"node {node} has no kubelet that can crash containers")
        if not agent.running:
            raise errors.conflict("pods", "", name, f"node {node} is stopped: nothing runs there to crash")
        try:
            result = kubelet.crash(namespace, name, container, exit_code)
            if hasattr(result, "__await__"):
                await result
        except LookupError as error:  # the kubelet's words: no such container, not running
            code = getattr(error, "code", 404)
            reason = {400: "BadRequest", 404: "NotFound", 409: "Conflict"}.get(code, "BadRequest")
            raise errors.APIError(code, reason, getattr(error, "message", str(error))) from None
        return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                  "code": 200, "details": {"name": name, "kind": "pods"},
                                  "message": f"container {container} in pod {namespace}/{name} exited with "
                                             f"code {exit_code}"})

    routes = [
        ("GET", "/sim/v1/nodes", list_nodes),
        ("GET", "/sim/v1/nodes/{name}", get_node),
        ("POST", "/sim/v1/nodes/{name}/stop", stop_node),
        ("POST", "/sim/v1/nodes/{name}/start", start_node),
        ("POST", "/sim/v1/namespaces/{namespace}/pods/{name}/crash", crash),
    ]
    # installing again (a test with agents of its own) replaces the earlier routes
    taken = {(method, path) for method, path, _ in routes}
    server.admin_routes[:] = [r for r in server.admin_routes if (r[0], r[1]) not in taken] + routes
