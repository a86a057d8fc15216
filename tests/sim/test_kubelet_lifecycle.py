"""The kubelet runs a pod: addresses, conditions, events, restarts with CrashLoopBackOff, phases."""

from __future__ import annotations

from tests.sim.kubelet_support import (
    Catalogue,
    condition,
    events_in_order,
    exiting,
    pod,
    run,
    status_of,
)

START = "2027-01-15T08:00:00Z"  # the harness clock's start, as RFC 3339


def test_pods_get_addresses_from_the_node_cidr_and_a_gone_pods_address_is_reused():
    async def scenario(h, kubelets):
        for name in ("a", "b", "c"):
            h.create(pod(name))
        await h.settle()
        assert [h.get("v1", "Pod", n)["status"]["podIP"] for n in "abc"] == ["10.244.1.2", "10.244.1.3", "10.244.1.4"]
        assert h.get("v1", "Pod", "a")["status"]["podIPs"] == [{"ip": "10.244.1.2"}]
        h.delete("v1", "Pod", "b")
        await h.advance(1)
        assert h.get("v1", "Pod", "b") is None
        h.create(pod("d"))
        await h.settle()
        assert h.get("v1", "Pod", "d")["status"]["podIP"] == "10.244.1.3"

    run(scenario)


def test_a_running_pod_reports_its_conditions_times_and_container_status():
    async def scenario(h, kubelets):
        h.create(pod())
        await h.settle()
        status = h.get("v1", "Pod", "web")["status"]
        assert status["phase"] == "Running"
        assert status["hostIP"] == "172.18.0.3"
        assert status["startTime"] == START
        assert status["qosClass"] == "BestEffort"
        assert [c["type"] for c in status["conditions"]] == [
            "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        assert all(c["status"] == "True" and c["lastTransitionTime"] == START for c in status["conditions"])
        app = status["containerStatuses"][0]
        assert app["state"] == {"running": {"startedAt": START}}
        assert (app["ready"], app["started"], app["restartCount"]) == (True, True, 0)
        assert app["image"] == "docker.io/library/nginx:1.27"
        assert app["imageID"].startswith("docker.io/library/nginx@sha256:")
        assert app["containerID"].startswith("containerd://") and len(app["containerID"]) == 13 + 64

    run(scenario)


def test_pods_on_other_nodes_are_left_alone():
    async def scenario(h, kubelets):
        h.create(pod("elsewhere", node="node-2"))
        h.create(pod("unscheduled", node=None))
        await h.advance(5)
        assert h.get("v1", "Pod", "elsewhere")["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
        assert h.get("v1", "Pod", "unscheduled")["status"]["phase"] == "Pending"
        assert kubelets["node-1"].workers == {}

    run(scenario)


def test_the_first_pull_pulls_and_the_next_pod_finds_the_image_present():
    async def scenario(h, kubelets):
        h.create(pod("first"))
        await h.advance(3, step=0.5)
        h.create(pod("second"))
        await h.settle()
        assert events_in_order(h, "first") == [
            ("Pulling", 'Pulling image "nginx:1.27"', "spec.containers{app}"),
            ("Pulled", 'Successfully pulled image "nginx:1.27" in 2.5s (2.5s including waiting). '
                       "Image size: 42000000 bytes.", "spec.containers{app}"),
            ("Created", "Container created", "spec.containers{app}"),
            ("Started", "Container started", "spec.containers{app}"),
        ]
        assert events_in_order(h, "second")[0] == (
            "Pulled", 'Container image "nginx:1.27" already present on machine and can be accessed by the pod',
            "spec.containers{app}")
        assert status_of(h, "first")["state"]["running"]["startedAt"] == "2027-01-15T08:00:02Z"  # 2.5 s, to the second

    class Sized(Catalogue):
        def model_for(self, container):
            model = super().model_for(container)
            model.image_size = 42_000_000
            return model

    run(scenario, Sized(), pull_delay={"nginx:1.27": 2.5})


def test_a_container_that_keeps_failing_restarts_after_0_10_20_40_80_160_300_300_seconds():
    make, starts = exiting(1)

    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "crash:1"}]))
        await h.until(lambda: len(starts) == 9, timeout=2000)
        waits = [round(b - a) for a, b in zip(starts, starts[1:], strict=False)]
        assert waits == [0, 10, 20, 40, 80, 160, 300, 300]
        assert status_of(h, "web")["restartCount"] == 8

    run(scenario, Catalogue(crash=make))


def test_between_restarts_the_container_waits_in_crash_loop_back_off_with_its_last_exit():
    make, starts = exiting(3)

    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "crash:1"}]))
        await h.until(lambda: len(starts) == 4, timeout=100)  # exits at 0, 0, 10, 30
        await h.advance(1)
        uid = h.get("v1", "Pod", "web")["metadata"]["uid"]
        app = status_of(h, "web")
        assert app["state"] == {"waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off 40s restarting failed container=app pod=web_default({uid})"}}
        assert app["restartCount"] == 3
        assert (app["ready"], app["started"]) == (False, False)
        last = app["lastState"]["terminated"]
        assert (last["exitCode"], last["reason"]) == (3, "Error")
        assert last["startedAt"] == last["finishedAt"] == "2027-01-15T08:00:30Z"
        assert h.get("v1", "Pod", "web")["status"]["phase"] == "Running"
        assert condition(h, "web", "Ready")["message"] == "containers with unready status: [app]"
        back_offs = [e for e in events_in_order(h, "web") if e[0] == "BackOff"]
        assert back_offs[0] == ("BackOff", f"Back-off restarting failed container app in pod web_default({uid})",
                                "spec.containers{app}")

    run(scenario, Catalogue(crash=make))


def test_the_back_off_message_speaks_go_durations_past_a_minute():
    make, starts = exiting(1)

    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "crash:1"}]))
        await h.until(lambda: len(starts) == 7, timeout=1000)
        await h.advance(1)
        assert "back-off 5m0s restarting" in status_of(h, "web")["state"]["waiting"]["message"]

    run(scenario, Catalogue(crash=make))


def test_the_back_off_starts_over_after_a_container_ran_ten_minutes():
    make, starts = exiting(1, after=600)

    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "slow-crash:1"}]))
        await h.until(lambda: len(starts) == 3, timeout=2000, step=10)
        assert [round(b - a) for a, b in zip(starts, starts[1:], strict=False)] == [600, 600]  # never a back-off

    run(scenario, Catalogue(slow_crash=make))


def test_restart_policy_never_fails_the_pod_and_on_failure_completes_it():
    failing, failing_starts = exiting(2)
    succeeding, _ = exiting(0, after=5)

    async def scenario(h, kubelets):
        h.create(pod("never", containers=[{"name": "app", "image": "crash:1"}], restartPolicy="Never"))
        h.create(pod("done", containers=[{"name": "app", "image": "finish:1"}], restartPolicy="OnFailure"))
        await h.advance(6)
        assert h.get("v1", "Pod", "never")["status"]["phase"] == "Failed"
        assert len(failing_starts) == 1
        assert status_of(h, "never")["state"]["terminated"]["exitCode"] == 2
        done = h.get("v1", "Pod", "done")["status"]
        assert done["phase"] == "Succeeded"
        assert status_of(h, "done")["state"]["terminated"]["reason"] == "Completed"
        assert condition(h, "done", "Ready")["reason"] == "PodCompleted"
        assert condition(h, "done", "PodReadyToStartContainers")["status"] == "False"
        assert done["podIP"] == "10.244.1.3"  # kept in the status of a finished pod

    run(scenario, Catalogue(crash=failing, finish=succeeding))


def test_on_failure_restarts_a_failed_container_until_it_succeeds():
    attempts = []

    def make():
        model, _ = exiting(1 if len(attempts) < 2 else 0, record=attempts)
        return model()

    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "flaky:1"}], restartPolicy="OnFailure"))
        await h.until(lambda: h.get("v1", "Pod", "web")["status"]["phase"] == "Succeeded", timeout=60)
        assert [round(t - attempts[0]) for t in attempts] == [0, 0, 10]
        assert status_of(h, "web")["restartCount"] == 2

    run(scenario, Catalogue(flaky=make))


def test_an_image_that_cannot_be_pulled_goes_from_err_image_pull_to_image_pull_back_off():
    async def scenario(h, kubelets):
        h.create(pod(containers=[{"name": "app", "image": "bad:1"}]))
        await h.settle()
        app = status_of(h, "web")
        assert app["state"]["waiting"]["reason"] == "ErrImagePull"
        assert app["image"] == "bad:1" and app["imageID"] == ""
        await h.advance(1)
        waiting = status_of(h, "web")["state"]["waiting"]
        assert waiting["reason"] == "ImagePullBackOff"
        assert waiting["message"].startswith('Back-off pulling image "bad:1": ErrImagePull: failed to pull')
        assert h.get("v1", "Pod", "web")["status"]["phase"] == "Pending"
        await h.advance(10)  # the second pull is 10 s after the first
        pulls = [e for e in events_in_order(h, "web") if e[0] == "Pulling"]
        assert len(pulls) == 2
        assert [e[1] for e in events_in_order(h, "web")[:5]] == [
            'Pulling image "bad:1"',
            'Failed to pull image "bad:1": failed to pull and unpack image "docker.io/library/bad:1": not found',
            "Error: ErrImagePull", 'Back-off pulling image "bad:1"', "Error: ImagePullBackOff"]

    run(scenario)


def test_a_missing_config_map_key_is_a_create_container_config_error():
    async def scenario(h, kubelets):
        h.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"LEVEL": "warn"}})
        h.create(pod(containers=[{"name": "app", "image": "nginx:1.27", "env": [
            {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "level"}}}]}]))
        await h.settle()
        waiting = status_of(h, "web")["state"]["waiting"]
        assert waiting == {"reason": "CreateContainerConfigError",
                           "message": "couldn't find key level in ConfigMap default/cfg"}
        h.patch("v1", "ConfigMap", "cfg", {"data": {"level": "info"}})
        await h.advance(10)
        assert "running" in status_of(h, "web")["state"]
        app = kubelets["node-1"].workers[("default", "web")].slots["app"]
        assert app.instance.ctx.env["LEVEL"] == "info"

    run(scenario)


def test_a_finished_pod_frees_its_address_once_and_only_once():
    make, _ = exiting(0)

    async def scenario(h, kubelets):
        h.create(pod("done", containers=[{"name": "app", "image": "finish:1"}], restartPolicy="Never"))
        await h.settle()
        assert h.get("v1", "Pod", "done")["status"]["phase"] == "Succeeded"
        h.create(pod("next"))
        await h.settle()
        assert h.get("v1", "Pod", "next")["status"]["podIP"] == "10.244.1.2"  # the finished pod's
        h.delete("v1", "Pod", "done")
        await h.settle()
        h.create(pod("third"))
        await h.settle()
        assert h.get("v1", "Pod", "third")["status"]["podIP"] == "10.244.1.3"

    run(scenario, Catalogue(finish=make))
