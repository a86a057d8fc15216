"""Init containers in order, native sidecars (start order, Jobs, reverse stop), the classic race."""

from __future__ import annotations

from k8s_course.sim.images import base
from tests.sim.kubelet_support import (
    Catalogue,
    condition,
    events_in_order,
    exiting,
    pod,
    run,
    status_of,
)

PROXY_PORT = 15001


class Proxy(base.ImageModel):
    """Listens on its declared ports 2 s after it starts; needs 2 s to shut down."""

    ready_after = 2.0

    async def run(self, ctx):
        await super().run(ctx)
        await ctx.clock.sleep(2)
        return 0


class App(base.ImageModel):
    """Needs the proxy on localhost at once; as a Job, works 5 s and exits 0."""

    job = False

    async def run(self, ctx):
        if not ctx.network.is_listening("localhost", PROXY_PORT):
            ctx.log(f"dial tcp 127.0.0.1:{PROXY_PORT}: connect: connection refused")
            return 1
        ctx.log("connected through the proxy")
        if self.job:
            await ctx.clock.sleep(5)
            return 0
        await ctx.stopping.wait()
        return 0


def job_app():
    app = App()
    app.job = True
    return app


def catalogue(**extra):
    init, _ = exiting(0, after=1)
    return Catalogue(proxy=Proxy, app=App, job_app=job_app, init=init, **extra)


PROXY = {"name": "proxy", "image": "proxy:1", "ports": [{"containerPort": PROXY_PORT}]}
NATIVE_PROXY = {**PROXY, "restartPolicy": "Always",
                "startupProbe": {"tcpSocket": {"port": PROXY_PORT}, "periodSeconds": 1, "failureThreshold": 30}}


def started_order(h, name):
    return [field for reason, _, field in events_in_order(h, name) if reason == "Started"]


def test_init_containers_run_one_after_another_before_the_app():
    async def scenario(h, kubelets):
        h.create(pod(initContainers=[{"name": "first", "image": "init:1"}, {"name": "second", "image": "init:1"}]))
        await h.settle()
        initialized = condition(h, "web", "Initialized")
        assert (initialized["status"], initialized["reason"], initialized["message"]) == (
            "False", "ContainersNotInitialized", "containers with incomplete status: [first second]")
        assert status_of(h, "web")["state"] == {"waiting": {"reason": "PodInitializing"}}
        assert "running" in status_of(h, "web", "first", init=True)["state"]
        await h.advance(2)
        assert started_order(h, "web") == ["spec.initContainers{first}", "spec.initContainers{second}",
                                           "spec.containers{app}"]
        first = status_of(h, "web", "first", init=True)
        assert first["state"]["terminated"]["reason"] == "Completed" and first["ready"] is True
        assert status_of(h, "web")["state"]["running"]["startedAt"] == "2027-01-15T08:00:02Z"
        assert condition(h, "web", "Initialized")["status"] == "True"

    run(scenario, catalogue())


def test_a_failing_init_container_fails_a_never_restarting_pod():
    async def scenario(h, kubelets):
        h.create(pod(initContainers=[{"name": "migrate", "image": "broken:1"}], restartPolicy="Never"))
        await h.settle()
        status = h.get("v1", "Pod", "web")["status"]
        assert status["phase"] == "Failed"
        assert status["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Error"
        assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}

    run(scenario, catalogue(broken=exiting(1)[0]))


def test_a_failing_init_container_of_an_always_pod_loops_in_crash_loop_back_off():
    async def scenario(h, kubelets):
        h.create(pod(initContainers=[{"name": "migrate", "image": "broken:1"}]))
        await h.advance(1)
        migrate = status_of(h, "web", "migrate", init=True)
        assert migrate["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert migrate["lastState"]["terminated"]["exitCode"] == 1
        assert migrate["restartCount"] == 1
        assert h.get("v1", "Pod", "web")["status"]["phase"] == "Pending"

    run(scenario, catalogue(broken=exiting(1)[0]))


def test_the_next_init_container_waits_until_the_native_sidecar_has_started():
    async def scenario(h, kubelets):
        h.create(pod(initContainers=[{"name": "first", "image": "init:1"}, NATIVE_PROXY,
                                     {"name": "second", "image": "init:1"}],
                     containers=[{"name": "app", "image": "app:1"}]))
        await h.advance(6)
        assert started_order(h, "web") == ["spec.initContainers{first}", "spec.initContainers{proxy}",
                                           "spec.initContainers{second}", "spec.containers{app}"]
        # the proxy starts at 1 s and listens at 3 s; its startup probe passes then
        assert status_of(h, "web", "second", init=True)["state"]["terminated"]["startedAt"] == "2027-01-15T08:00:03Z"
        proxy = status_of(h, "web", "proxy", init=True)
        assert "running" in proxy["state"] and proxy["started"] is True and proxy["ready"] is True
        assert status_of(h, "web")["restartCount"] == 0
        assert h.get("v1", "Pod", "web")["status"]["phase"] == "Running"
        assert condition(h, "web", "ContainersReady")["status"] == "True"

    run(scenario, catalogue())


def test_sidecars_are_stopped_after_the_app_in_reverse_order_on_deletion():
    async def scenario(h, kubelets):
        logger = {**NATIVE_PROXY, "name": "logger", "ports": [{"containerPort": 9000}],
                  "startupProbe": None}
        h.create(pod(initContainers=[logger, NATIVE_PROXY], containers=[{"name": "app", "image": "proxy:1"}]))
        await h.advance(5)
        worker = kubelets["node-1"].workers[("default", "web")]
        h.delete("v1", "Pod", "web")
        await h.advance(5)
        assert h.get("v1", "Pod", "web") is not None  # each needs 2 s to stop, one after another
        await h.advance(1)
        assert h.get("v1", "Pod", "web") is None
        kills = [field for reason, _, field in events_in_order(h, "web") if reason == "Killing"]
        assert kills == ["spec.containers{app}", "spec.initContainers{proxy}", "spec.initContainers{logger}"]
        finished = {name: slot.state["terminated"]["finishedAt"][-3:-1] for name, slot in worker.slots.items()}
        assert finished == {"app": "07", "proxy": "09", "logger": "11"}
        assert all(slot.state["terminated"]["exitCode"] == 0 for slot in worker.slots.values())

    run(scenario, catalogue())


def test_a_job_pod_with_a_native_sidecar_succeeds_once_the_app_is_done():
    async def scenario(h, kubelets):
        h.create(pod(initContainers=[NATIVE_PROXY], containers=[{"name": "app", "image": "job-app:1"}],
                     restartPolicy="Never"))
        await h.advance(7)  # proxy listens at 2 s; the app works from 2 s to 7 s
        assert status_of(h, "web")["state"]["terminated"]["exitCode"] == 0
        assert h.get("v1", "Pod", "web")["status"]["phase"] == "Running"  # the sidecar is stopping
        await h.advance(2)
        status = h.get("v1", "Pod", "web")["status"]
        assert status["phase"] == "Succeeded"
        proxy = status["initContainerStatuses"][0]
        assert proxy["state"]["terminated"]["finishedAt"] == "2027-01-15T08:00:09Z"
        assert proxy["restartCount"] == 0
        assert events_in_order(h, "web")[-1] == ("Killing", "Stopping container proxy", "spec.initContainers{proxy}")

    run(scenario, catalogue())


def test_a_classic_sidecar_races_the_app_which_crashes_until_the_proxy_listens():
    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "app:1"}, PROXY]))
        await h.advance(12)
        app = status_of(h, "web")
        # started with the proxy at 0 s: refused, restarted at once: refused, then 10 s later: in
        assert app["restartCount"] == 2
        assert "running" in app["state"]
        assert app["lastState"]["terminated"]["exitCode"] == 1
        lines = kubelets["node-1"].log_lines("default", "web", "app", previous=True)
        assert [line for _, line in lines] == [f"dial tcp 127.0.0.1:{PROXY_PORT}: connect: connection refused"]

    run(scenario, catalogue())


def test_the_same_app_behind_a_native_sidecar_never_crashes():
    async def scenario(h, kubelets):
        h.create(pod(initContainers=[NATIVE_PROXY], containers=[{"name": "app", "image": "app:1"}]))
        await h.advance(12)
        assert status_of(h, "web")["restartCount"] == 0
        assert [line for _, line in kubelets["node-1"].log_lines("default", "web", "app")] == [
            "connected through the proxy"]

    run(scenario, catalogue())
