"""The simulated `sh -c`: scripts of the lessons give the output and exit codes of a real shell."""

from __future__ import annotations

import asyncio

from k8s_course.sim.images import registry
from tests.sim.images_fakes import FakeNetwork, FakePod, advance, run, settle

UNSUPPORTED = ('k8s-course simulator: "{}" is not modelled by the simulated shell (see docs); '
               "run this lesson on kind to use it")


def shell_pod(script: str, image: str = "busybox", env=None, extra_containers=(), volumes=()):
    container = {"name": "main", "image": image, "command": ["sh", "-c", script],
                 "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                 "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
    return {"containers": [container, *extra_containers],
            "volumes": [{"name": "data", "emptyDir": {}}, *volumes]}


def run_script(script: str, image: str = "busybox", env=None, seconds: float = 0.0,
               network: FakeNetwork | None = None):
    """Run `sh -c script` as a container's process; (exit code or None if still running, pod)."""

    async def scenario(clock):
        pod = FakePod(shell_pod(script, image, env), clock, network)
        ctx = pod.context("main")
        task = asyncio.ensure_future(registry.model_for(pod.container("main")).run(ctx))
        await advance(clock, seconds)
        await settle()
        if not task.done():
            task.cancel()
            return None, pod
        return task.result(), pod

    return run(scenario)


def test_a_date_loop_writes_one_line_every_5_seconds_that_tail_f_in_the_other_container_streams():
    writer = "while true; do echo $(date) >> /data/log; sleep 5; done"
    reader = {"name": "reader", "image": "busybox", "command": ["tail", "-f", "/data/log"],
              "volumeMounts": [{"name": "data", "mountPath": "/data"}]}

    async def scenario(clock):
        pod = FakePod(shell_pod(writer, extra_containers=[reader]), clock)
        pod.files.view("reader").write("/data/log", "")
        tasks = [asyncio.ensure_future(registry.model_for(pod.container(name)).run(pod.context(name)))
                 for name in ("main", "reader")]
        await advance(clock, 14)
        written = pod.files.view("main").read("/data/log")
        streamed = pod.lines("reader")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return written, streamed

    written, streamed = run(scenario)
    assert written.splitlines() == ["Fri Jan 15 08:00:00 UTC 2027", "Fri Jan 15 08:00:05 UTC 2027",
                                    "Fri Jan 15 08:00:10 UTC 2027"]
    assert streamed == written.splitlines()


def test_exit_3_gives_exit_code_3():
    assert run_script("echo bye; exit 3")[0] == 3


def test_a_failed_file_test_makes_the_script_exit_1_and_a_present_file_lets_it_go_on():
    assert run_script("[ -f /x ] || exit 1; echo here")[0] == 1
    code, pod = run_script("touch /data/x; [ -f /data/x ] || exit 1; echo here")
    assert (code, pod.lines("main")) == (0, ["here"])


def test_sigterm_is_ignored_by_a_shell_running_as_pid_1_without_a_trap():
    """As on a real node: the kubelet has to SIGKILL it when the grace period ends."""
    async def scenario(clock):
        pod = FakePod(shell_pod("echo started; sleep 3600; echo never"), clock)
        ctx = pod.context("main")
        task = asyncio.ensure_future(registry.model_for(pod.container("main")).run(ctx))
        await advance(clock, 10)
        ctx.stopping.set()
        await settle()
        await advance(clock, 30)
        still_running = not task.done()
        task.cancel()
        return still_running, pod.lines("main")

    assert run(scenario) == (True, ["started"])


def test_a_term_trap_runs_on_sigterm_and_its_exit_code_is_the_containers():
    script = "trap 'echo caught TERM; exit 0' TERM; echo waiting; sleep 3600 & wait"

    async def scenario(clock):
        pod = FakePod(shell_pod(script), clock)
        ctx = pod.context("main")
        task = asyncio.ensure_future(registry.model_for(pod.container("main")).run(ctx))
        await advance(clock, 3)
        ctx.stopping.set()
        await settle()
        return task.result(), pod.lines("main")

    assert run(scenario) == (0, ["waiting", "caught TERM"])


def test_a_trap_that_does_not_exit_lets_the_script_go_on_after_the_interrupted_sleep():
    script = "trap 'echo cleaning up' TERM; sleep 3600; echo after; exit 7"

    async def scenario(clock):
        pod = FakePod(shell_pod(script), clock)
        ctx = pod.context("main")
        task = asyncio.ensure_future(registry.model_for(pod.container("main")).run(ctx))
        await advance(clock, 1)
        ctx.stopping.set()
        await settle()
        return task.result(), pod.lines("main")

    assert run(scenario) == (7, ["cleaning up", "after"])


def test_an_unsupported_construct_fails_the_container_with_127_and_says_it_is_the_simulator():
    code, pod = run_script('case "$1" in start) echo go;; esac')
    assert code == 127
    assert pod.lines("main", "stderr") == [UNSUPPORTED.format("case")]
    code, pod = run_script("echo one; awk '{print $1}' /etc/hosts")
    assert code == 127
    assert pod.lines("main") == ["one", UNSUPPORTED.format("awk")]


def test_a_missing_command_is_127_with_the_wording_of_each_shell():
    code, pod = run_script("kubectl get pods")
    assert (code, pod.lines("main", "stderr")) == (127, ["sh: kubectl: not found"])
    code, pod = run_script("kubectl get pods", image="debian")
    assert (code, pod.lines("main", "stderr")) == (127, ["sh: 1: kubectl: not found"])
    code, pod = run_script("bash -c 'kubectl get pods'", image="ubuntu")
    assert pod.lines("main", "stderr") == ["bash: line 1: kubectl: command not found"]
    code, pod = run_script("wget -qO- http://web", image="debian")
    assert (code, pod.lines("main", "stderr")) == (127, ["sh: 1: wget: not found"])


def test_variables_quotes_arithmetic_and_parameter_forms_expand_as_in_sh():
    script = ('i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo "i=$i" \'$i\' ${i}x; '
              'name=web-2; echo ${name##*-} ${#name} ${unset:-default} "${GREETING}"; '
              'for w in $GREETING; do echo "[$w]"; done; echo `hostname` $(cat /etc/hostname)')
    code, pod = run_script(script, env={"GREETING": "hello  world"})
    assert code == 0
    assert pod.lines("main") == ["i=3 $i 3x", "2 5 default hello  world", "[hello]", "[world]",
                                 "web-0 web-0"]


def test_if_elif_else_test_operators_and_negation():
    script = ('for n in 1 5 9; do if [ "$n" -le 2 ]; then echo low; elif [ ! "$n" -ge 9 ]; '
              'then echo mid; else echo high; fi; done; [ -z "" ] && [ -n x ] && [ a != b ] && '
              'test -d /data && echo ok; [ abc -eq 1 ]; echo "status $?"')
    code, pod = run_script(script)
    assert pod.lines("main", "stdout") == ["low", "mid", "high", "ok", "status 2"]
    assert pod.lines("main", "stderr") == ["sh: [: invalid number 'abc'"]


def test_pipes_into_grep_wc_head_sort_and_redirections_into_the_pods_files():
    script = ('printf "b\\na\\nc\\na\\n" > /data/f; sort /data/f | head -n 2; grep -c a /data/f; '
              'cat /data/f | wc -l; echo oops >&2; nosuch 2>&1 | grep -q "not found" && echo found; '
              'echo more >> /data/f; tail -n 1 /data/f; ls /nope 2>/dev/null || echo "ls failed $?"')
    code, pod = run_script(script)
    assert pod.lines("main", "stdout") == ["a", "a", "2", "4", "found", "more", "ls failed 1"]
    assert pod.lines("main", "stderr") == ["oops"]


def test_writing_a_read_only_configmap_mount_is_reported_as_read_only_file_system():
    async def scenario(clock):
        spec = shell_pod("echo x > /etc/config/game; echo $?; touch /etc/config/new")
        spec["containers"][0]["volumeMounts"].append({"name": "cfg", "mountPath": "/etc/config"})
        spec["volumes"].append({"name": "cfg", "configMap": {"name": "game"}})
        pod = FakePod(spec, clock)
        pod.files.mount_files("cfg", {"game": "lives=3\n"})
        code = await registry.model_for(pod.container("main")).run(pod.context("main"))
        return code, pod.lines("main")

    assert run(scenario) == (1, ["sh: can't create /etc/config/game: Read-only file system", "1",
                                 "touch: /etc/config/new: Read-only file system"])


def test_set_e_stops_at_the_first_failing_command_but_not_in_conditions():
    code, pod = run_script("set -e; if false; then :; fi; false || echo handled; false; echo never")
    assert (code, pod.lines("main")) == (1, ["handled"])


def test_dash_echo_prints_dash_e_literally_while_busybox_interprets_it():
    assert run_script('echo -e "a\\tb"')[1].lines("main") == ["a\tb"]
    assert run_script('echo -e "a\\tb"', image="debian")[1].lines("main") == ["-e a\tb"]


def test_wget_nc_and_nslookup_go_through_the_clusters_network():
    network = FakeNetwork({"web": ["10.96.0.20"]})

    class Hello:
        async def serve_http(self, port, path, ctx):
            return (200, "hello\n") if path == "/" else (404, "")

    class Listening:
        listening = {80}

    network.servers[("10.96.0.20", 80)] = (Hello(), Listening())
    script = ("wget -qO- http://web/; wget -q -O- web/missing; echo $?; nc -z web 80 && echo open; "
              "nc -z web 81 || echo closed; wget -q --spider http://nope; nslookup web")
    code, pod = run_script(script, network=network)
    assert pod.lines("main", "stdout") == [
        "hello", "1", "open", "closed", "Server:\t\t10.96.0.10", "Address:\t10.96.0.10:53", "",
        "Name:\tweb.default.svc.cluster.local", "Address: 10.96.0.20", ""]
    assert pod.lines("main", "stderr") == ["wget: server returned error: HTTP/1.1 404 Not Found",
                                           "wget: bad address 'nope'"]


def test_sleep_runs_on_the_simulated_clock():
    code, _ = run_script("sleep 30; exit 4", seconds=29)
    assert code is None
    assert run_script("sleep 30; exit 4", seconds=30)[0] == 4


def test_exec_dollar_at_runs_the_arguments_given_to_the_script():
    async def scenario(clock):
        spec = shell_pod("")
        spec["containers"][0]["command"] = ["sh", "-c", 'echo "args: $#"; exec "$@"', "sh",
                                            "echo", "from", "exec"]
        pod = FakePod(spec, clock)
        code = await registry.model_for(pod.container("main")).run(pod.context("main"))
        return code, pod.lines("main")

    assert run(scenario) == (0, ["args: 3", "from exec"])


def test_a_loop_that_never_sleeps_is_stopped_instead_of_hanging_the_simulator():
    async def scenario(clock):
        pod = FakePod(shell_pod("while true; do :; done"), clock)
        code = await registry.model_for(pod.container("main")).run(pod.context("main"))
        return code, pod

    code, pod = run(scenario)
    assert code == 127
    assert pod.lines("main") == [UNSUPPORTED.format("a loop that runs without ever sleeping")]


def test_a_syntax_error_exits_2_with_the_shells_message():
    code, pod = run_script("if true; then echo x")
    assert (code, pod.lines("main")) == (
        2, ['sh: syntax error: unexpected end of file (expecting "fi")'])


def test_date_prints_epoch_seconds_and_nanoseconds_of_the_simulated_clock():
    script = "date +%s.%N; sleep 1; date '+%s %3N %6N %12N'; date +%%N%%s"

    async def scenario(clock):
        pod = FakePod(shell_pod(script), clock)
        task = asyncio.ensure_future(registry.model_for(pod.container("main")).run(pod.context("main")))
        await advance(clock, 1)
        await settle()
        return task.result(), pod.lines("main")

    # a quarter past the second: exactly representable, so the nanoseconds are exact
    assert run(scenario, start=1_800_000_000.25) == (0, [
        "1800000000.250000000", "1800000001 250 250000 000250000000", "%N%s"])
