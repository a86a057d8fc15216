"""The transports: what LocalProcesses rewrites (and nothing more), and PodExec into a pod of
the simulator with the official client."""

from __future__ import annotations

import time

from kubernetes import client

from k8s_course.operator import database, transports
from k8s_course.operator.transports import Completed, LocalProcesses, PodExec

PORTS = {"pg-1": 6001, "pg-2": 6002}
LOCAL = LocalProcesses(PORTS, bin_dir="/nonexistent", data_dirs={"pg-2": "/tmp/x/pg-2"})


def test_psql_gets_the_members_local_port():
    assert LOCAL.localise("pg-2", [*database.PSQL, "-c", "SELECT 1"]) == [
        "psql", "-h", "127.0.0.1", "-p", "6002", *database.PSQL[1:], "-c", "SELECT 1"]


def test_pg_isready_keeps_its_host_and_gets_the_port():
    assert LOCAL.localise("pg-1", ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"]) == [
        "pg_isready", "-U", "postgres", "-h", "127.0.0.1", "-p", "6001"]


def test_a_clone_copies_from_the_named_members_port_into_the_local_data_directory():
    argv = ["pg_basebackup", "-U", "postgres", "-h", "pg-1.pg-members", "-D", database.PGDATA,
            "-R", "-X", "stream", "-c", "fast"]
    assert LOCAL.localise("pg-2", argv) == [
        "pg_basebackup", "-U", "postgres", "-h", "127.0.0.1", "-p", "6001", "-D", "/tmp/x/pg-2",
        "-R", "-X", "stream", "-c", "fast"]


def test_primary_conninfo_in_sql_points_at_the_members_local_port():
    sql = "ALTER SYSTEM SET primary_conninfo = 'host=pg-1.pg-members port=5432 user=postgres'"
    local = LOCAL.localise("pg-2", [*database.PSQL, "-c", sql, "-c", "SELECT pg_reload_conf()"])
    assert local[-3:] == ["ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=6001 user=postgres'",
                          "-c", "SELECT pg_reload_conf()"]


def test_hosts_that_are_not_members_are_left_alone():
    argv = database.Database.backup_command("10.0.0.7", "/tmp/all.sql")
    assert LOCAL.localise("pg-1", argv) == argv
    assert transports.member_of_host("pg-rw", PORTS) is None
    assert transports.member_of_host("pg-2.pg-members.default.svc.cluster.local", PORTS) == "pg-2"


def test_a_missing_program_is_exit_127_like_a_shell_says():
    done = LocalProcesses(PORTS, run_as=None).run("pg-1", ["no-such-program-here"], 5)
    assert done == Completed(127, "", "sh: 1: no-such-program-here: not found\n")


def test_pod_exec_returns_the_exit_code_and_the_two_streams_apart(api_client, namespace):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-pg-1"},
        "spec": {"containers": [{"name": "postgres", "image": "busybox", "command": ["sleep", "3600"]}]}})
    deadline = time.monotonic() + 30
    while core.read_namespaced_pod("db-pg-1", namespace).status.phase != "Running":
        assert time.monotonic() < deadline, "the pod did not start"
        time.sleep(0.05)  # the simulator runs on its own; this is the client waiting
    exec_ = PodExec(api_client, namespace, pod_of=lambda member: f"db-{member}")
    assert exec_.run("pg-1", ["sh", "-c", "echo out; echo err >&2; exit 3"], 10) == Completed(3, "out\n", "err\n")
    missing = exec_.run("pg-9", ["true"], 10)
    assert missing == Completed(1, "", 'Error from server: pods "db-pg-9" not found\n')
