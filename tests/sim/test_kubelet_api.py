"""What the kubelet answers the API (logs, exec, usage), its pod network, and node outages."""

from __future__ import annotations

import asyncio

import pytest

from k8s_course.sim.images import base
from k8s_course.sim.kubelet import PodLookupError
from tests.sim.kubelet_support import Catalogue, exiting, pod, run, status_of


class Shell(base.ImageModel):
    async def run(self, ctx):
        ctx.log("hello")
        await ctx.clock.sleep(5)
        ctx.log("five seconds in")
        await ctx.stopping.wait()
        return 0

    async def exec(self, command, ctx):
        if command[:1] == ["hostname"]:
            return base.ExecResult(0, ctx.hostname + "\n")
        if command[:1] == ["resolve"]:
            return base.ExecResult(0, " ".join(ctx.network.resolve(command[1])))
        return await super().exec(command, ctx)


def test_logs_carry_their_simulated_times_and_survive_one_restart():
    make, _ = exiting(1, after=3)

    async def scenario(h, kubelets):
        kubelet = kubelets["node-1"]
        h.create(pod(containers=[{"name": "app", "image": "crash:1"}]))
        await h.settle()
        assert kubelet.log_lines("default", "web") == [(h.clock.now(), f"starting at {h.clock.now()}")]
        with pytest.raises(PodLookupError) as missing:
            kubelet.log_lines("default", "web", "app", previous=True)
        assert missing.value.message == 'previous terminated container "app" in pod "web" not found'
        await h.advance(3)  # exits and restarts at once
        previous = kubelet.log_lines("default", "web", "app", previous=True)
        current = kubelet.log_lines("default", "web", "app")
        assert [round(t - previous[0][0]) for t, _ in previous + current] == [0, 3]

    run(scenario, Catalogue(crash=make))


def test_log_errors_use_the_kubelets_words():
    async def scenario(h, kubelets):
        kubelet = kubelets["node-1"]
        h.create(pod(containers=[{"name": "app", "image": "bad:1"}, {"name": "proxy", "image": "nginx:1.27"}]))
        await h.settle()
        cases = [(("default", "web", "app"), 'container "app" in pod "web" is waiting to start: image can\'t be pulled'),
                 (("default", "web", "nope"), "container nope is not valid for pod web"),
                 (("default", "web", None), "a container name must be specified for pod web, choose one of: [app proxy]"),
                 (("default", "gone", "app"), 'pods "gone" not found')]
        for args, message in cases:
            with pytest.raises(LookupError) as error:
                kubelet.log_lines(*args)
            assert error.value.message == message
        await h.advance(1)
        with pytest.raises(LookupError, match="trying and failing to pull image"):
            kubelet.log_lines("default", "web", "app")

    run(scenario)


def test_follow_streams_new_lines_until_the_container_stops():
    async def scenario(h, kubelets):
        kubelet = kubelets["node-1"]
        h.create(pod(containers=[{"name": "app", "image": "shell:1"}], terminationGracePeriodSeconds=1))
        await h.settle()
        seen = []

        async def read():
            async for _, line in kubelet.follow("default", "web", "app"):
                seen.append(line)

        reader = asyncio.ensure_future(read())
        await h.advance(5)
        assert seen == ["hello", "five seconds in"]
        h.delete("v1", "Pod", "web")
        await h.advance(1)
        assert reader.done()

    run(scenario, Catalogue(shell=Shell))


def test_exec_runs_in_a_running_container_only():
    async def scenario(h, kubelets):
        kubelet = kubelets["node-1"]
        h.create(pod(containers=[{"name": "app", "image": "shell:1"}, {"name": "broken", "image": "bad:1"}]))
        await h.settle()
        result = await kubelet.exec("default", "web", "app", ["hostname"])
        assert (result.exit_code, result.stdout) == (0, "web\n")
        missing = await kubelet.exec("default", "web", "app", ["ls"])
        assert missing.exit_code == 126
        with pytest.raises(LookupError) as error:
            await kubelet.exec("default", "web", "broken", ["ls"])
        assert error.value.message == 'unable to upgrade connection: container not found ("broken")'

    run(scenario, Catalogue(shell=Shell))


def test_usage_is_a_few_millicores_and_mebibytes_within_the_limits():
    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "nginx:1.27"},
                                 {"name": "tiny", "image": "nginx:1.27",
                                  "resources": {"limits": {"cpu": "1m", "memory": "2Mi"}}}]))
        await h.settle()
        usage = kubelets["node-1"].usage("default", "web")
        cpu, memory = usage["app"]
        assert 1_000_000 <= cpu < 10_000_000 and 4 * 2**20 <= memory < 40 * 2**20
        assert usage["tiny"] == (1_000_000, 2 * 2**20)

    run(scenario)


def test_pods_reach_services_and_stateful_pods_by_name_across_nodes():
    async def scenario(h, kubelets):
        h.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
                  "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}]}})
        h.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                  "spec": {"selector": {"app": "db"}, "ports": [{"port": 80, "targetPort": 5432}]}})
        db = pod("db-0", node="node-2", containers=[{"name": "db", "image": "nginx:1.27",
                                                     "ports": [{"containerPort": 5432}]}],
                 hostname="db-0", subdomain="db")
        db["metadata"]["labels"] = {"app": "db"}
        h.create(db)
        h.create(pod("client", containers=[{"name": "app", "image": "shell:1"}]))
        await h.settle()
        assert h.get("v1", "Pod", "db-0")["status"]["podIP"] == "10.244.2.2"
        network = kubelets["node-1"].workers[("default", "client")].view
        cluster_ip = h.get("v1", "Service", "web")["spec"]["clusterIP"]
        assert network.resolve("web") == network.resolve("web.default.svc.cluster.local") == [cluster_ip]
        assert network.resolve("db") == network.resolve("db-0.db") == ["10.244.2.2"]
        assert network.resolve("db-0.db.default.svc.cluster.local") == ["10.244.2.2"]
        assert network.resolve("nothing") == []
        assert network.is_listening("db-0.db", 5432) and network.is_listening("web", 80)
        assert not network.is_listening("db-0.db", 80) and not network.is_listening("localhost", 5432)
        kubelets["node-2"].stop()
        assert not network.is_listening("10.244.2.2", 5432)

    run(scenario, Catalogue(shell=Shell), nodes=(("node-1", "10.244.1.0/24"), ("node-2", "10.244.2.0/24")))


def test_a_stopped_kubelet_writes_nothing_and_catches_up_when_it_starts_again():
    make, _ = exiting(1)

    async def scenario(h, kubelets):
        kubelet = kubelets["node-1"]
        told = []
        kubelet.add_listener(lambda k: told.append(k.running))
        h.create(pod(containers=[{"name": "app", "image": "crash:1"}]))
        h.create(pod("doomed"))
        await h.settle()
        kubelet.stop()
        frozen = h.get("v1", "Pod", "web")["metadata"]["resourceVersion"]
        h.delete("v1", "Pod", "doomed")
        await h.advance(60)
        assert h.get("v1", "Pod", "web")["metadata"]["resourceVersion"] == frozen
        assert h.get("v1", "Pod", "doomed")["metadata"]["deletionTimestamp"]  # stuck Terminating
        kubelet.start()
        await h.advance(1)
        assert h.get("v1", "Pod", "doomed") is None
        assert status_of(h, "web")["restartCount"] == 3  # it kept crashing (starts at 0, 0, 10, 30 s)
        assert told == [False, True]

    run(scenario, Catalogue(crash=make))


def test_with_the_course_images_busybox_fetches_the_page_nginx_serves_on_another_node():
    async def scenario(h, kubelets):
        h.create(pod("web", node="node-2", containers=[{"name": "nginx", "image": "nginx:1.27",
                                                        "ports": [{"containerPort": 80}]}]))
        h.create(pod("client", containers=[{"name": "sh", "image": "busybox:1.36", "command": [
            "sh", "-c", "wget -qO- http://10.244.2.2/ | head -1; sleep 3600"]}]))
        await h.advance(2)
        assert [line for _, line in kubelets["node-1"].log_lines("default", "client", "sh")] == ["<!DOCTYPE html>"]
        result = await kubelets["node-1"].exec("default", "client", "sh", ["cat", "/etc/hostname"])
        assert result.stdout == "client\n"

    run(scenario, nodes=(("node-1", "10.244.1.0/24"), ("node-2", "10.244.2.0/24")), real_images=True)
