"""Pod logs, exec and metrics over HTTP: the official client and kubectl against a fake kubelet."""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import uuid
from decimal import Decimal

import pytest

from k8s_course.sim.api.pods import (
    PodIO,
    cpu_quantity,
    exit_status,
    format_log_time,
    memory_quantity,
)
from k8s_course.sim.images.base import ExecResult
from tests.conftest import KUBECTL

NODE = f"podio-{uuid.uuid4().hex[:6]}"


class FakeKubelet:
    """Just enough of a kubelet for PodIO: logs in memory, a tiny shell, fixed usage."""

    def __init__(self):
        self.running = True
        self.logs: dict[tuple, list[tuple[float, str]]] = {}
        self.followers: dict[tuple, list[asyncio.Queue]] = {}
        self.usages: dict[tuple[str, str], dict] = {}
        self.commands: list[list[str]] = []

    # the interface PodIO uses

    def log_lines(self, namespace, pod, container, previous):
        return list(self.logs.get((namespace, pod, container, previous), []))

    def follow(self, namespace, pod, container):
        queue: asyncio.Queue = asyncio.Queue()
        self.followers.setdefault((namespace, pod, container), []).append(queue)  # subscribed now

        async def lines():
            while (item := await queue.get()) is not None:
                yield item

        return lines()

    async def exec(self, namespace, pod, container, command, stdin=None):
        self.commands.append(command)
        if command[:2] == ["sh", "-c"]:
            out, err, code = [], [], 0
            for part in command[2].split(";"):
                words = shlex.split(part)
                if words[:1] == ["echo"]:
                    (err if words[-1] == ">&2" else out).append(" ".join(w for w in words[1:] if w != ">&2") + "\n")
                elif words[:1] == ["exit"]:
                    code = int(words[1])
                    break
            return ExecResult(code, "".join(out), "".join(err))
        if command == ["cat"]:
            return ExecResult(0, stdin or "", "")
        return ExecResult(127, "", f"sh: {command[0]}: not found\n")

    def usage(self, namespace, pod):
        return self.usages.get((namespace, pod))

    # what the test does to it (on the simulator's loop)

    def write(self, clock, namespace, pod, container, text, previous=False):
        entry = (clock.now(), text)
        self.logs.setdefault((namespace, pod, container, previous), []).append(entry)
        if not previous:
            for queue in self.followers.get((namespace, pod, container), []):
                queue.put_nowait(entry)

    def end(self, namespace, pod, container):
        for queue in self.followers.pop((namespace, pod, container), []):
            queue.put_nowait(None)


@pytest.fixture(scope="module")
def kubelet(simulator, api_client):
    """A PodIO with one fake kubelet on node NODE, plugged into the session's simulator."""
    from kubernetes import client

    fake = FakeKubelet()
    core = client.CoreV1Api(api_client)
    core.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}},
                      "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                                 "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                                 "addresses": [{"type": "InternalIP", "address": "172.18.0.9"}]}})
    extensions = simulator.cluster.server.extensions
    names = ("pod_log", "pod_exec", "pod_attach", "pod_portforward", "metrics")
    real = {name: getattr(extensions, name, None) for name in names}  # the cluster's own kubelets'
    PodIO({NODE: fake}, simulator.cluster.objects).install(extensions)
    yield fake
    for name, value in real.items():
        setattr(extensions, name, value)
    core.delete_node(NODE)


def make_pod(api_client, namespace, name="web", containers=("app",), state=None, last_state=None, node=NODE):
    """A pod on the fake kubelet's node, with the status a kubelet would have written."""
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"nodeName": node, "containers": [{"name": c, "image": "busybox"} for c in containers]}})
    statuses = []
    for c in containers:
        status = {"name": c, "image": "busybox", "imageID": "", "ready": True, "restartCount": 0,
                  "state": state or {"running": {"startedAt": "2027-01-01T00:00:00Z"}}}
        if last_state:
            status["lastState"] = last_state
        statuses.append(status)
    core.patch_namespaced_pod_status(name, namespace, {"status": {
        "phase": "Running", "containerStatuses": statuses}})


def write(simulator, kubelet, namespace, text, pod="web", container="app", previous=False):
    simulator.call(kubelet.write, simulator.clock, namespace, pod, container, text, previous)


def kubectl(env, *args, input_text=None, timeout=30):
    return subprocess.run([KUBECTL, *args], env=env, input=input_text, capture_output=True, text=True,
                          timeout=timeout)


# logs with the official client

def test_logs_come_from_the_kubelet_of_the_pods_node(simulator, api_client, namespace, kubelet):
    from kubernetes import client

    make_pod(api_client, namespace)
    for line in ("starting", "listening on :8080", "ready"):
        write(simulator, kubelet, namespace, line)
    core = client.CoreV1Api(api_client)
    assert core.read_namespaced_pod_log("web", namespace) == "starting\nlistening on :8080\nready\n"
    assert core.read_namespaced_pod_log("web", namespace, tail_lines=2) == "listening on :8080\nready\n"
    assert core.read_namespaced_pod_log("web", namespace, tail_lines=0) == ""
    assert core.read_namespaced_pod_log("web", namespace, limit_bytes=10) == "starting\nl"
    # a follow that has its bytes already does not wait for the container to stop
    assert core.read_namespaced_pod_log("web", namespace, limit_bytes=10, follow=True) == "starting\nl"
    stamped = core.read_namespaced_pod_log("web", namespace, timestamps=True).splitlines()
    stamp, text = stamped[0].split(" ", 1)
    assert text == "starting"
    assert len(stamp) == len("2027-01-01T00:00:00.123456789Z") and stamp.endswith("Z")


def test_since_seconds_keeps_only_recent_lines(simulator, api_client, namespace, kubelet):
    from kubernetes import client

    make_pod(api_client, namespace)
    old = simulator.clock.now() - 3600
    simulator.call(lambda: kubelet.logs.setdefault((namespace, "web", "app", False), []).extend(
        [(old, "an hour ago"), (simulator.clock.now(), "just now")]))
    core = client.CoreV1Api(api_client)
    assert core.read_namespaced_pod_log("web", namespace, since_seconds=60) == "just now\n"


def test_a_pod_with_two_containers_needs_a_container_name(api_client, namespace, kubelet):
    from kubernetes import client

    make_pod(api_client, namespace, containers=("app", "sidecar"))
    core = client.CoreV1Api(api_client)
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_pod_log("web", namespace)
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["message"] == \
        "a container name must be specified for pod web, choose one of: [app sidecar]"
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_pod_log("web", namespace, container="x")
    assert json.loads(caught.value.body)["message"] == "container x is not valid for pod web"


def test_a_waiting_container_has_no_logs_yet(api_client, namespace, kubelet):
    from kubernetes import client

    make_pod(api_client, namespace, state={"waiting": {"reason": "ContainerCreating"}})
    with pytest.raises(client.ApiException) as caught:
        client.CoreV1Api(api_client).read_namespaced_pod_log("web", namespace, container="app")
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["reason"]) == (400, "BadRequest")
    assert body["message"] == 'container "app" in pod "web" is waiting to start: ContainerCreating'


def test_previous_logs_need_a_terminated_container(simulator, api_client, namespace, kubelet):
    from kubernetes import client

    make_pod(api_client, namespace)
    core = client.CoreV1Api(api_client)
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_pod_log("web", namespace, previous=True)
    assert json.loads(caught.value.body)["message"] == 'previous terminated container "app" in pod "web" not found'
    make_pod(api_client, namespace, name="crashy",
             last_state={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2027-01-01T00:00:00Z"}})
    write(simulator, kubelet, namespace, "panic: boom", pod="crashy", previous=True)
    assert core.read_namespaced_pod_log("crashy", namespace, previous=True) == "panic: boom\n"


def test_bad_log_options_are_invalid(api_client, namespace, kubelet):
    from kubernetes import client

    make_pod(api_client, namespace)
    with pytest.raises(client.ApiException) as caught:
        client.CoreV1Api(api_client).read_namespaced_pod_log("web", namespace, tail_lines=-1)
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["reason"]) == (422, "Invalid")
    assert "tailLines: Invalid value: -1: must be greater than or equal to 0" in body["message"]


def test_a_node_that_is_down_cannot_be_asked_for_logs(api_client, namespace, kubelet):
    from kubernetes import client

    make_pod(api_client, namespace)
    kubelet.running = False
    try:
        with pytest.raises(client.ApiException) as caught:
            client.CoreV1Api(api_client).read_namespaced_pod_log("web", namespace)
    finally:
        kubelet.running = True
    assert caught.value.status == 500
    assert json.loads(caught.value.body)["message"] == (
        f'Get "https://172.18.0.9:10250/containerLogs/{namespace}/web/app": '
        "dial tcp 172.18.0.9:10250: connect: no route to host")


# exec with the official client's stream()

def test_exec_with_the_official_client_returns_output_and_exit_code(api_client, namespace, kubelet):
    from kubernetes import client
    from kubernetes.stream import stream

    make_pod(api_client, namespace)
    core = client.CoreV1Api(api_client)
    output = stream(core.connect_get_namespaced_pod_exec, "web", namespace, command=["sh", "-c", "echo hi"],
                    stderr=True, stdin=False, stdout=True, tty=False)
    assert output == "hi\n"
    session = stream(core.connect_get_namespaced_pod_exec, "web", namespace,
                     command=["sh", "-c", "echo out; echo err >&2; exit 3"],
                     stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    session.run_forever(timeout=10)
    assert session.read_channel(1) == "out\n"
    assert session.read_channel(2) == "err\n"
    assert session.returncode == 3
    assert kubelet.commands[-1] == ["sh", "-c", "echo out; echo err >&2; exit 3"]


def test_exec_into_a_container_that_is_not_running_fails(api_client, namespace, kubelet):
    from kubernetes import client
    from kubernetes.stream import stream

    make_pod(api_client, namespace, state={"waiting": {"reason": "ContainerCreating"}})
    with pytest.raises(client.ApiException) as caught:
        stream(client.CoreV1Api(api_client).connect_get_namespaced_pod_exec, "web", namespace,
               command=["true"], stderr=True, stdin=False, stdout=True, tty=False)
    assert 'container not found (\\"app\\")' in str(caught.value) or 'container not found ("app")' in str(caught.value)


def test_attach_streams_the_containers_output_until_it_stops(simulator, api_client, namespace, kubelet):
    from kubernetes import client
    from kubernetes.stream import stream

    make_pod(api_client, namespace)
    write(simulator, kubelet, namespace, "before attaching")
    session = stream(client.CoreV1Api(api_client).connect_get_namespaced_pod_attach, "web", namespace,
                     container="app", stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    write(simulator, kubelet, namespace, "after attaching")
    simulator.call(kubelet.end, namespace, "web", "app")
    session.run_forever(timeout=10)
    assert session.read_channel(1) == "after attaching\n"
    assert session.returncode == 0


def test_the_exit_status_names_the_exit_code_as_kubernetes_does():
    assert exit_status(0, ["true"]) == {"metadata": {}, "status": "Success"}
    assert exit_status(3, ["sh", "-c", "exit 3"]) == {
        "metadata": {}, "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
        "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}


# kubectl

@pytest.mark.kubectl
def test_kubectl_exec_prints_output_and_passes_on_the_exit_code(api_client, namespace, kubelet, kubectl_env):
    make_pod(api_client, namespace)
    done = kubectl(kubectl_env, "exec", "-n", namespace, "web", "--", "sh", "-c", "echo hi")
    assert (done.returncode, done.stdout) == (0, "hi\n"), done.stderr
    failed = kubectl(kubectl_env, "exec", "-n", namespace, "web", "--", "sh", "-c", "exit 3")
    assert failed.returncode == 3
    assert "command terminated with exit code 3" in failed.stderr
    piped = kubectl(kubectl_env, "exec", "-i", "-n", namespace, "web", "--", "cat", input_text="hello\n")
    assert (piped.returncode, piped.stdout) == (0, "hello\n"), piped.stderr


@pytest.mark.kubectl
def test_kubectl_exec_into_a_waiting_container_cannot_upgrade(api_client, namespace, kubelet, kubectl_env):
    make_pod(api_client, namespace, state={"waiting": {"reason": "ContainerCreating"}})
    done = kubectl(kubectl_env, "exec", "-n", namespace, "web", "--", "true")
    assert done.returncode == 1
    assert 'unable to upgrade connection: container not found ("app")' in done.stderr


@pytest.mark.kubectl
def test_kubectl_logs_tail_timestamps_and_previous(simulator, api_client, namespace, kubelet, kubectl_env):
    make_pod(api_client, namespace, last_state={"terminated": {"exitCode": 1, "reason": "Error"}})
    for line in ("one", "two", "three"):
        write(simulator, kubelet, namespace, line)
    write(simulator, kubelet, namespace, "the run before", previous=True)
    assert kubectl(kubectl_env, "logs", "-n", namespace, "web").stdout == "one\ntwo\nthree\n"
    assert kubectl(kubectl_env, "logs", "-n", namespace, "web", "--tail=1").stdout == "three\n"
    assert kubectl(kubectl_env, "logs", "-n", namespace, "web", "--previous").stdout == "the run before\n"
    stamped = kubectl(kubectl_env, "logs", "-n", namespace, "web", "--timestamps").stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["one", "two", "three"]
    waiting = kubectl(kubectl_env, "logs", "-n", namespace, "web", "-c", "nope")
    assert waiting.returncode == 1
    assert "container nope is not valid for pod web" in waiting.stderr


@pytest.mark.kubectl
def test_kubectl_logs_follow_streams_until_the_container_stops(simulator, api_client, namespace, kubelet,
                                                               kubectl_env):
    make_pod(api_client, namespace)
    write(simulator, kubelet, namespace, "before")
    with subprocess.Popen([KUBECTL, "logs", "-f", "-n", namespace, "web"], env=kubectl_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout.readline() == "before\n"
            write(simulator, kubelet, namespace, "while following")
            assert process.stdout.readline() == "while following\n"
            simulator.call(kubelet.end, namespace, "web", "app")
            assert process.wait(timeout=20) == 0
            assert process.stdout.read() == ""
        finally:
            if process.poll() is None:
                process.kill()


# metrics

def test_metrics_quantities_are_written_like_metrics_servers():
    assert cpu_quantity(Decimal("0.003")) == "3m"
    assert cpu_quantity(Decimal("0.001234567")) == "1234567n"
    assert memory_quantity(Decimal(12 * 1024 * 1024)) == "12Mi"
    assert memory_quantity(Decimal(12345 * 1024 + 100)) == "12345Ki"
    assert format_log_time(1_800_000_000.25) == "2027-01-15T08:00:00.250000000Z"


def test_pod_metrics_through_the_metrics_api(simulator, api_client, namespace, kubelet):
    from kubernetes import client

    make_pod(api_client, namespace, containers=("app", "sidecar"))
    kubelet.usages[(namespace, "web")] = {"app": {"cpu": "3m", "memory": "12Mi"},
                                          "sidecar": {"cpu": 0.001234567, "memory": 12345 * 1024}}
    listed = client.CustomObjectsApi(api_client).list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", namespace, "pods")
    (item,) = listed["items"]
    assert item["metadata"]["name"] == "web" and item["window"] == "10s"
    assert item["containers"] == [{"name": "app", "usage": {"cpu": "3m", "memory": "12Mi"}},
                                  {"name": "sidecar", "usage": {"cpu": "1234567n", "memory": "12345Ki"}}]
    nodes = client.CustomObjectsApi(api_client).list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    (mine,) = [n for n in nodes["items"] if n["metadata"]["name"] == NODE]
    # 25m and 180Mi for the idle node, plus the pods on it
    assert mine["usage"]["cpu"] == cpu_quantity(Decimal("0.025") + Decimal("0.003") + Decimal("0.001234567"))


@pytest.mark.kubectl
def test_kubectl_top_pods_and_nodes(api_client, namespace, kubelet, kubectl_env):
    make_pod(api_client, namespace)
    kubelet.usages[(namespace, "web")] = {"app": {"cpu": "3m", "memory": "12Mi"}}
    pods = kubectl(kubectl_env, "top", "pods", "-n", namespace)
    assert pods.returncode == 0, pods.stderr
    header, row = pods.stdout.splitlines()
    assert header.split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert row.split() == ["web", "3m", "12Mi"]
    nodes = kubectl(kubectl_env, "top", "nodes", NODE)
    assert nodes.returncode == 0, nodes.stderr
    header, row = nodes.stdout.splitlines()
    assert header.split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert row.split()[0] == NODE
    assert row.split()[1].endswith("m")
