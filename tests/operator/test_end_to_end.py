"""The operator with the real database steps (exec into the pods) on the simulator's postgres model."""

from __future__ import annotations

import pytest

from k8s_course.operator import Operator, resources

from .support import QUICK, Api, install_crd, postgres_cluster, until


@pytest.fixture
def api(api_client, namespace):
    install_crd(api_client)
    return Api(api_client, namespace)


@pytest.fixture
def operator(api_client, namespace):
    running = Operator(api_client, namespace, timings=QUICK, identity="e2e-operator").start()
    yield running
    running.stop()


def rw_endpoints(api) -> list[str]:
    endpoints = api.core.read_namespaced_endpoints("pg-rw", api.namespace)
    return [address.target_ref.name for subset in endpoints.subsets or [] for address in subset.addresses or []]


def test_deleting_the_primary_pod_promotes_a_streaming_replica_and_rw_follows(api, operator):
    api.create(postgres_cluster(replicas=3))
    until(lambda: api.status().get("phase") == "Running" and api.status().get("readyReplicas") == 3,
          "three members streaming and Ready", timeout=60)
    status = api.status()
    assert [(m["name"], m["state"], m["ready"]) for m in status["members"]] == [
        ("pg-1", "primary", True), ("pg-2", "streaming", True), ("pg-3", "streaming", True)]
    until(lambda: rw_endpoints(api) == ["pg-1"], "pg-rw to point at pg-1")

    api.core.delete_namespaced_pod("pg-1", api.namespace)
    until(lambda: api.status().get("primary") in ("pg-2", "pg-3"), "a replica to be promoted", timeout=60)
    primary = api.status()["primary"]
    until(lambda: rw_endpoints(api) == [primary], "pg-rw to follow the new primary")
    until(lambda: api.status().get("phase") == "Running", "the cluster to heal", timeout=60)
    status = api.status()
    assert status["lastFailover"]["from"] == "pg-1" and status["lastFailover"]["to"] == primary
    assert {m["name"] for m in status["members"]} == {"pg-2", "pg-3", "pg-4"}
    assert status["members"][0]["timeline"] == 2
    assert api.pods(f"{resources.ROLE_LABEL}=primary").keys() == {primary}


def test_a_version_change_backs_up_then_upgrades_replicas_one_by_one_then_switches_over(api, operator):
    api.create(postgres_cluster(replicas=3))
    until(lambda: api.status().get("phase") == "Running" and api.status().get("readyReplicas") == 3,
          "three members streaming and Ready", timeout=60)
    api.custom.patch_namespaced_custom_object(resources.GROUP, resources.VERSION, api.namespace, resources.PLURAL,
                                              "pg", {"spec": {"version": "16.6"}})
    until(lambda: api.status().get("version") == "16.6" and api.status().get("phase") == "Running"
          and api.status().get("readyReplicas") == 3, "the upgrade to finish", timeout=90)
    status = api.status()
    assert {m["version"] for m in status["members"]} == {"16.6"}
    assert status["primary"] != "pg-1" and status["lastFailover"]["from"] == "pg-1"
    reasons = api.reasons()
    steps = [r for r in reasons if r in ("UpgradingMember", "MemberUpgraded", "Fenced", "Promoting")]
    assert steps == ["UpgradingMember", "MemberUpgraded", "UpgradingMember", "MemberUpgraded", "Fenced", "Promoting"]
    from kubernetes import client

    job = client.BatchV1Api(api.api_client).read_namespaced_job("pg-backup-16-6", api.namespace)
    assert job.status.succeeded == 1 and job.spec.template.spec.containers[0].command[0] == "pg_dumpall"
    # the backup Job came first: it was created before the first member was touched
    created = [e for e in api.events() if e["reason"] == "Created" and "Job" in e["message"]]
    first_upgrade = next(e for e in api.events() if e["reason"] == "UpgradingMember")
    assert created and created[0]["firstTimestamp"] <= first_upgrade["firstTimestamp"]
