"""The registry picks each image's model; the models behave as the lessons observe the images."""

from __future__ import annotations

import asyncio

import pytest

from k8s_course.sim.images import base, course_images, models, registry
from tests.sim.images_fakes import FakeNetwork, FakePod, advance, run, settle


def pod_of(*containers: dict) -> dict:
    return {"containers": list(containers)}


def start(pod: FakePod, name: str, env=None):
    ctx = pod.context(name, env)
    model = registry.model_for(pod.container(name))
    return model, ctx, asyncio.ensure_future(model.run(ctx))


# ---- the registry ----

def test_image_references_are_normalised_as_containerd_does():
    assert str(registry.parse_reference("nginx")) == "docker.io/library/nginx:latest"
    assert str(registry.parse_reference("busybox:1.36")) == "docker.io/library/busybox:1.36"
    assert str(registry.parse_reference("curlimages/curl")) == "docker.io/curlimages/curl:latest"
    reference = registry.parse_reference("registry.k8s.io/pause:3.10")
    assert (reference.host, reference.repository, reference.tag) == ("registry.k8s.io", "pause", "3.10")
    assert registry.parse_reference("docker.io/library/busybox:1.36").repository == "busybox"


def test_an_unknown_tag_fails_the_pull_with_containerds_words():
    with pytest.raises(base.PullError) as raised:
        registry.model_for({"name": "c", "image": "nginx:does-not-exist"})
    assert str(raised.value) == (
        'failed to pull and unpack image "docker.io/library/nginx:does-not-exist": failed to '
        'resolve reference "docker.io/library/nginx:does-not-exist": '
        "docker.io/library/nginx:does-not-exist: not found")
    assert raised.value.code == "NotFound"


def test_a_repository_that_does_not_exist_or_an_unknown_registry_fails_the_pull():
    with pytest.raises(base.PullError, match="pull access denied, repository does not exist"):
        registry.model_for({"name": "c", "image": "k8s-course/doesnotexist:1"})
    with pytest.raises(base.PullError, match="lookup registry.example.com: no such host"):
        registry.model_for({"name": "c", "image": "registry.example.com/team/app:1"})


def test_command_replaces_the_entrypoint_and_args_replace_cmd():
    entrypoint, cmd = ["/docker-entrypoint.sh"], ["nginx", "-g", "daemon off;"]
    assert registry.process_argv({}, entrypoint, cmd) == [*entrypoint, *cmd]
    assert registry.process_argv({"args": ["nginx", "-T"]}, entrypoint, cmd) == [
        "/docker-entrypoint.sh", "nginx", "-T"]
    assert registry.process_argv({"command": ["sh"]}, entrypoint, cmd) == ["sh"]


def test_each_image_gets_its_model():
    def model(image, **spec):
        return registry.model_for({"name": "c", "image": image, **spec})

    assert isinstance(model("nginx:1.27"), models.Nginx)
    assert isinstance(model("redis:7"), models.Redis)
    assert isinstance(model("postgres:17"), models.Postgres)
    assert isinstance(model("docker.io/library/busybox:1.36"), models.ShellImage)
    assert isinstance(model("nginx", command=["sh", "-c", "sleep 5"]), models.ShellImage)
    assert isinstance(model("envoyproxy/envoy:v1.32-latest"), models.Envoy)
    assert isinstance(model("ghcr.io/acme/k8s-course/crasher:1"), course_images.Crasher)
    assert type(model("hashicorp/http-echo")) is base.ImageModel


def test_busybox_without_a_command_exits_0_at_once_and_python_too():
    async def scenario(clock):
        pod = FakePod(pod_of({"name": "b", "image": "busybox"}, {"name": "p", "image": "python:3.12"}),
                      clock)
        return [await registry.model_for(pod.container(n)).run(pod.context(n)) for n in "bp"]

    assert run(scenario) == [0, 0]


def test_a_command_the_image_does_not_have_cannot_start():
    async def scenario(clock):
        pod = FakePod(pod_of({"name": "c", "image": "busybox", "command": ["kubectl", "version"]}),
                      clock)
        await registry.model_for(pod.container("c")).run(pod.context("c"))

    with pytest.raises(models.StartError, match='exec: "kubectl": executable file not found'):
        run(scenario)


def test_kubernetes_variable_references_in_args_are_expanded_from_the_env():
    async def scenario(clock):
        pod = FakePod(pod_of({"name": "c", "image": "busybox", "command": ["echo"],
                              "args": ["$(GREETING) from $(POD_NAME) $$(kept) $(UNKNOWN)"]}), clock)
        ctx = pod.context("c", {"GREETING": "hello", "POD_NAME": "web-0"})
        await registry.model_for(pod.container("c")).run(ctx)
        return pod.lines("c")

    assert run(scenario) == ["hello from web-0 $(kept) $(UNKNOWN)"]


# ---- exec ----

def test_exec_into_busybox_runs_the_shell_and_reports_a_missing_binary_as_the_runtime_does():
    async def scenario(clock):
        pod = FakePod(pod_of({"name": "c", "image": "busybox", "env": [{"name": "A", "value": "1"}]}),
                      clock)
        ctx = pod.context("c")
        model = registry.model_for(pod.container("c"))
        results = [await model.exec(command, ctx) for command in (
            ["sh", "-c", "echo $A; ls /data 2>&1; exit 4"], ["hostname"], ["cat", "/etc/hostname"],
            ["bash"])]
        return [(r.exit_code, r.stdout, r.stderr) for r in results]

    assert run(scenario) == [
        (4, "1\nls: /data: No such file or directory\n", ""), (0, "web-0\n", ""), (0, "web-0\n", ""),
        (126, "", 'OCI runtime exec failed: exec failed: unable to start container process: '
                  'exec: "bash": executable file not found in $PATH: unknown\n')]


def test_an_exec_probe_passes_once_the_file_exists():
    async def scenario(clock):
        pod = FakePod(pod_of({"name": "c", "image": "busybox",
                              "command": ["sh", "-c", "sleep 10; touch /tmp/healthy; sleep 3600"]}),
                      clock)
        model, ctx, task = start(pod, "c")
        handler = {"exec": {"command": ["cat", "/tmp/healthy"]}}
        before = await model.probe(handler, ctx)
        await advance(clock, 10)
        after = await model.probe(handler, ctx)
        task.cancel()
        return before, after

    before, after = run(scenario)
    assert (before.success, before.message) == (False, "cat: can't open '/tmp/healthy': No such file or directory\n")
    assert after.success


# ---- stock servers ----

def test_nginx_logs_its_start_serves_its_html_and_logs_one_access_line_per_get():
    async def scenario(clock):
        network = FakeNetwork({"web": ["10.96.0.30"]})
        pod = FakePod(pod_of({"name": "nginx", "image": "nginx:1.27"},
                             {"name": "client", "image": "busybox"}), clock, network)
        model, ctx, task = start(pod, "nginx")
        await settle()
        network.servers[("10.96.0.30", 80)] = (model, ctx)
        client = registry.model_for(pod.container("client"))
        fetched = await client.exec(["wget", "-qO-", "http://web/"], pod.context("client"))
        missing = await client.exec(["wget", "-qO-", "http://web/nope"], pod.context("client"))
        version = await model.exec(["nginx", "-v"], ctx)
        ctx.stopping.set()
        await settle()
        return task.result(), fetched, missing, version, pod.lines("nginx", "stdout"), \
            pod.lines("nginx", "stderr")

    code, fetched, missing, version, stdout, stderr = run(scenario)
    assert "<h1>Welcome to nginx!</h1>" in fetched.stdout
    assert missing.stderr == "wget: server returned error: HTTP/1.1 404 Not Found\n"
    assert version.stderr == "nginx version: nginx/1.27.3\n"
    assert stdout[-3] == "/docker-entrypoint.sh: Configuration complete; ready for start up"
    assert stdout[-2:] == [
        '10.244.0.1 - - [15/Jan/2027:08:00:00 +0000] "GET / HTTP/1.1" 200 615 "-" "Wget" "-"',
        '10.244.0.1 - - [15/Jan/2027:08:00:00 +0000] "GET /nope HTTP/1.1" 404 153 "-" "Wget" "-"']
    assert stderr[-1] == "2027/01/15 08:00:00 [notice] 1#1: exit"
    assert code == 0


def test_redis_is_ready_on_6379_and_answers_redis_cli():
    async def scenario(clock):
        pod = FakePod(pod_of({"name": "r", "image": "redis:7"}), clock)
        model, ctx, task = start(pod, "r")
        await settle()
        answers = [(await model.exec(["redis-cli", *args], ctx)).stdout
                   for args in (["ping"], ["SET", "k", "v"], ["GET", "k"], ["INCR", "n"])]
        listening = set(ctx.listening)  # before the stop closes the port
        task.cancel()
        return listening, answers, pod.lines("r")

    listening, answers, lines = run(scenario)
    assert listening == {6379}
    assert answers == ["PONG\n", "OK\n", "v\n", "1\n"]
    assert lines[-1].endswith("* Ready to accept connections tcp")


def test_postgres_without_a_password_exits_1_with_the_entrypoints_error():
    async def scenario(clock):
        pod = FakePod(pod_of({"name": "db", "image": "postgres:17"}), clock)
        _, _, task = start(pod, "db")
        await settle()
        return task.result(), pod.lines("db", "stderr")

    code, stderr = run(scenario)
    assert code == 1
    assert stderr[0] == "Error: Database is uninitialized and superuser password is not specified."


def test_postgres_listens_on_5432_after_its_init_and_pg_isready_says_so():
    async def scenario(clock):
        pod = FakePod(pod_of({"name": "db", "image": "postgres:17",
                              "env": [{"name": "POSTGRES_PASSWORD", "value": "s3cret"}]}), clock)
        model, ctx, task = start(pod, "db")
        await advance(clock, 2)
        early = await model.exec(["pg_isready"], ctx)
        await advance(clock, 1)
        late = await model.exec(["pg_isready"], ctx)
        task.cancel()
        return early, late

    early, late = run(scenario)
    assert (early.exit_code, early.stdout) == (2, "/var/run/postgresql:5432 - no response\n")
    assert (late.exit_code, late.stdout) == (0, "/var/run/postgresql:5432 - accepting connections\n")


# ---- the course's images ----

def test_crasher_exits_with_exit_code_after_crash_after_seconds():
    async def scenario(clock):
        pod = FakePod(pod_of({"name": "c", "image": "k8s-course/crasher",
                              "env": [{"name": "EXIT_CODE", "value": "3"},
                                      {"name": "CRASH_AFTER", "value": "8"}]}), clock)
        _, _, task = start(pod, "c")
        await advance(clock, 7)
        early = task.done()
        await advance(clock, 1)
        return early, task.result(), pod.lines("c")

    assert run(scenario) == (False, 3, ["crasher: started; exiting with code 3 in 8 seconds",
                                        "crasher: exiting with code 3"])


def test_slow_ready_fails_its_readiness_probe_until_ready_after_seconds():
    async def scenario(clock):
        pod = FakePod(pod_of({"name": "s", "image": "k8s-course/slow-ready",
                              "ports": [{"containerPort": 8080}],
                              "env": [{"name": "READY_AFTER", "value": "20"}]}), clock)
        model, ctx, task = start(pod, "s")
        ready = {"httpGet": {"path": "/ready", "port": 8080}}
        live = {"httpGet": {"path": "/healthz", "port": 8080}}
        await advance(clock, 19)
        early, alive = await model.probe(ready, ctx), await model.probe(live, ctx)
        await advance(clock, 1)
        late = await model.probe(ready, ctx)
        task.cancel()
        return early, alive, late

    early, alive, late = run(scenario)
    assert (early.success, early.message) == (False, "HTTP probe failed with statuscode: 503")
    assert alive.success and late.success


def test_needs_proxy_exits_1_until_a_proxy_listens_on_localhost():
    proxy = {"name": "proxy", "image": "k8s-course/proxy",
             "env": [{"name": "START_DELAY", "value": "5"}]}
    app = {"name": "app", "image": "k8s-course/needs-proxy"}

    async def scenario(clock):
        pod = FakePod(pod_of(app, proxy), clock)
        _, _, proxy_task = start(pod, "proxy")
        _, _, first = start(pod, "app")
        await settle()
        first_code = first.result()
        await advance(clock, 5)
        _, _, second = start(pod, "app")
        await settle()
        running = not second.done()
        proxy_task.cancel()
        second.cancel()
        return first_code, running, pod.lines("app"), pod.lines("proxy")

    first_code, running, app_lines, proxy_lines = run(scenario)
    assert first_code == 1
    assert running
    assert app_lines == [
        "needs-proxy: cannot reach the proxy: dial tcp 127.0.0.1:15001: connect: connection refused",
        "needs-proxy: connected to the proxy on localhost:15001"]
    assert proxy_lines == ["proxy: starting", "proxy: listening on :15001"]


def test_python_http_server_serves_the_working_directory():
    async def scenario(clock):
        network = FakeNetwork({"py": ["10.96.0.40"]})
        pod = FakePod(pod_of({"name": "py", "image": "python:3.12", "workingDir": "/data",
                              "command": ["sh", "-c", "echo hi > /data/index.html; "
                                          "exec python -m http.server 8000"]}), clock, network)
        model, ctx, task = start(pod, "py")
        await settle()
        network.servers[("10.96.0.40", 8000)] = (model, ctx)
        answer = await network.http_get("py", 8000, "/")
        ctx.stopping.set()
        await settle()
        # exec'd python is PID 1 with no SIGTERM handler: it ignores the signal, as on a real node
        still_serving = not task.done()
        task.cancel()
        return answer, still_serving, pod.lines("py")

    answer, still_serving, lines = run(scenario)
    assert answer == (200, "hi\n")
    assert still_serving
    assert lines == ["Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ...",
                     '10.244.0.1 - - [15/Jan/2027 08:00:00] "GET / HTTP/1.1" 200 -']
