"""Probes gate readiness and restart containers; deletion runs preStop, SIGTERM, then SIGKILL."""

from __future__ import annotations

from k8s_course.sim.images import base
from tests.sim.kubelet_support import (
    Catalogue,
    Stubborn,
    condition,
    events_in_order,
    pod,
    run,
    status_of,
)


class SlowStart(base.ImageModel):
    ready_after = 5.0


class Hangs(base.ImageModel):
    """Listens, then stops answering its liveness endpoint after 20 s."""

    async def run(self, ctx):
        ctx.listen(8080)
        self.started = ctx.clock.now()
        await ctx.stopping.wait()
        return 0

    async def probe(self, handler, ctx):
        if ctx.clock.now() - self.started >= 20:
            return base.ProbeResult(False, "HTTP probe failed with statuscode: 500")
        return base.ProbeResult(True)


class Recorded(base.ImageModel):
    """Notes when preStop ran and when SIGTERM came."""

    seen: list = []

    async def run(self, ctx):
        await ctx.stopping.wait()
        self.seen.append(("SIGTERM", ctx.clock.now()))
        return 0

    async def exec(self, command, ctx):
        self.seen.append((" ".join(command), ctx.clock.now()))
        await ctx.clock.sleep(3)
        return base.ExecResult(0)


def test_a_readiness_probe_makes_the_pod_ready_once_the_model_listens():
    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "slow:1", "ports": [{"containerPort": 80}],
                                  "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 2}}]))
        await h.advance(5)
        assert condition(h, "web", "Ready")["status"] == "False"
        assert status_of(h, "web")["started"] is True
        await h.advance(1)  # probes at 0, 2, 4 fail; the one at 6 s finds the port open
        ready = condition(h, "web", "Ready")
        assert (ready["status"], ready["lastTransitionTime"]) == ("True", "2027-01-15T08:00:06Z")
        failures = [e for e in events_in_order(h, "web") if e[0] == "Unhealthy"]
        assert len(failures) == 3
        assert failures[0][1] == 'Readiness probe failed: dial tcp "10.244.1.2:80": connect: connection refused'

    run(scenario, Catalogue(slow=SlowStart))


def test_a_failing_liveness_probe_restarts_the_container_after_three_failures():
    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "hangs:1", "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5}}]))
        await h.advance(29)
        assert status_of(h, "web")["restartCount"] == 0  # failures at 20 and 25 s
        await h.advance(1)
        app = status_of(h, "web")
        assert app["restartCount"] == 1
        assert app["state"]["running"]["startedAt"] == "2027-01-15T08:00:30Z"
        assert app["lastState"]["terminated"]["reason"] == "Completed"  # it stopped on SIGTERM
        assert [e[1] for e in events_in_order(h, "web") if e[0] in ("Unhealthy", "Killing")] == [
            "Liveness probe failed: HTTP probe failed with statuscode: 500"] * 3 + [
            "Container app failed liveness probe, will be restarted"]

    run(scenario, Catalogue(hangs=Hangs))


def test_a_startup_probe_holds_readiness_back_until_it_passes():
    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "slow:1", "ports": [{"containerPort": 80}],
                                  "startupProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 3},
                                  "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 10}}]))
        await h.advance(5)
        assert status_of(h, "web")["started"] is False
        await h.advance(1)  # the startup probe at 6 s passes, readiness probes at once
        app = status_of(h, "web")
        assert (app["started"], app["ready"]) == (True, True)
        assert [e[1] for e in events_in_order(h, "web") if e[0] == "Unhealthy"][0].startswith("Startup probe failed")

    run(scenario, Catalogue(slow=SlowStart))


def test_a_model_that_ignores_sigterm_is_killed_after_exactly_30_seconds():
    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "stubborn:1"}]))
        await h.settle()
        worker = kubelets["node-1"].workers[("default", "web")]
        h.delete("v1", "Pod", "web")
        await h.advance(29)
        assert h.get("v1", "Pod", "web")["metadata"]["deletionGracePeriodSeconds"] == 30
        await h.advance(1)
        assert h.get("v1", "Pod", "web") is None
        terminated = worker.slots["app"].state["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (137, "Error")
        assert terminated["finishedAt"] == "2027-01-15T08:00:30Z"
        assert events_in_order(h, "web")[-1] == ("Killing", "Stopping container app", "spec.containers{app}")
        assert not kubelets["node-1"].workers

    run(scenario, Catalogue(stubborn=Stubborn))


def test_pre_stop_runs_before_sigterm_within_the_grace_period():
    Recorded.seen = []

    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "recorded:1", "lifecycle": {
            "preStop": {"exec": {"command": ["nginx", "-s", "quit"]}}}}], terminationGracePeriodSeconds=10))
        await h.settle()
        h.delete("v1", "Pod", "web")
        await h.advance(3)
        assert [(what, round(at - h.clock.now())) for what, at in Recorded.seen] == [
            ("nginx -s quit", -3), ("SIGTERM", 0)]
        assert h.get("v1", "Pod", "web") is None

    run(scenario, Catalogue(recorded=Recorded))


def test_a_shorter_grace_period_cuts_a_running_termination_short():
    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "stubborn:1"}]))
        await h.settle()
        h.delete("v1", "Pod", "web")
        await h.advance(5)
        h.delete("v1", "Pod", "web", grace_period_seconds=2)
        await h.advance(2)
        assert h.get("v1", "Pod", "web") is None

    run(scenario, Catalogue(stubborn=Stubborn))


def test_a_force_deleted_pod_stops_at_once_and_frees_its_address():
    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "stubborn:1"}]))
        await h.settle()
        worker = kubelets["node-1"].workers[("default", "web")]
        h.delete("v1", "Pod", "web", grace_period_seconds=0)
        await h.settle()
        assert worker.slots["app"].state["terminated"]["exitCode"] == 137
        h.create(pod("next"))
        await h.settle()
        assert h.get("v1", "Pod", "next")["status"]["podIP"] == "10.244.1.2"

    run(scenario, Catalogue(stubborn=Stubborn))
