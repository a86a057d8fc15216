"""The operator against the simulated cluster, through the API, with an in-memory database."""

from __future__ import annotations

import json
import subprocess

import pytest

from k8s_course.operator import Operator, resources

from .fakes import FakeDatabases
from .support import QUICK, Api, install_crd, postgres_cluster, until

KUBECTL = "/usr/bin/kubectl"


@pytest.fixture
def api(api_client, namespace):
    install_crd(api_client)
    return Api(api_client, namespace)


@pytest.fixture
def databases():
    return FakeDatabases()


@pytest.fixture
def operator(api_client, namespace, databases):
    running = Operator(api_client, namespace, databases=databases, timings=QUICK, identity="test-operator").start()
    yield running
    running.stop()


def running_cluster(api, **spec):
    api.create(postgres_cluster(**spec))
    until(lambda: api.status().get("phase") == "Running", "the cluster to be Running")
    return api.status()


def test_a_cluster_gets_its_members_services_and_status(api, operator, databases, namespace):
    status = running_cluster(api, replicas=3)
    assert status["primary"] == "pg-1"
    assert api.roles() == {"pg-1": "primary", "pg-2": "replica", "pg-3": "replica"}
    pods = api.pods()
    assert pods["pg-2"]["spec"]["hostname"] == "pg-2" and pods["pg-2"]["spec"]["subdomain"] == "pg-members"
    assert pods["pg-2"]["metadata"]["ownerReferences"][0]["kind"] == "PostgresCluster"
    assert [m["state"] for m in status["members"]] == ["primary", "streaming", "streaming"]
    services = {s.metadata.name: s for s in api.core.list_namespaced_service(namespace).items}
    assert services["pg-rw"].spec.selector == {resources.CLUSTER_LABEL: "pg", resources.ROLE_LABEL: "primary"}
    assert services["pg-members"].spec.cluster_ip == "None"
    assert services["pg-members"].spec.publish_not_ready_addresses is True
    assert api.core.read_namespaced_config_map("pg-initdb", namespace).data["replication.sh"].count(
        "host replication all all trust") == 1
    database = databases(namespace)
    assert ("clone", "pg-2", "pg-1.pg-members") in database.calls
    # the members spread over the two worker floors; a commit waits for a replica on the other one
    floors = {name: body["spec"]["nodeName"] for name, body in pods.items()}
    assert len(set(floors.values())) == 2
    elsewhere = sorted(n for n in ("pg-2", "pg-3") if floors[n] != floors["pg-1"])
    assert elsewhere and database.servers["pg-1"].sync_names == elsewhere
    assert status["synchronousStandbys"] == elsewhere
    assert api.cluster()["metadata"]["finalizers"] == [resources.FINALIZER]
    reasons = api.reasons()
    assert reasons.count("MemberCreated") == 3 and reasons.count("Cloned") == 2
    assert "SynchronousStandbys" in reasons


def test_deleting_the_primary_pod_promotes_a_replica_and_rw_follows_then_the_old_one_is_recloned(
        api, operator, databases, namespace):
    running_cluster(api, replicas=3)
    database = databases(namespace)
    database.servers["pg-3"].lagging = True
    database.write(5)  # pg-2 is ahead of pg-3: it is the one to promote
    api.core.delete_namespaced_pod("pg-1", namespace, grace_period_seconds=0)
    database.stop("pg-1")
    until(lambda: api.status().get("primary") == "pg-2", "pg-2 to be the primary")
    assert ("promote", "pg-2") in database.calls
    assert ("follow", "pg-3", "pg-2.pg-members") in database.calls
    assert api.pods("k8s-course.dev/cluster=pg,k8s-course.dev/role=primary").keys() == {"pg-2"}
    failover = api.status()["lastFailover"]
    assert (failover["from"], failover["to"]) == ("pg-1", "pg-2")
    assert failover["outageSeconds"] >= 0
    # pg-1's PVC is removed and a new member, pg-4, cloned from pg-2 takes its place
    until(lambda: api.status().get("phase") == "Running" and "pg-4" in api.roles(), "pg-4 to join")
    assert api.roles() == {"pg-2": "primary", "pg-3": "replica", "pg-4": "replica"}
    assert ("clone", "pg-4", "pg-2.pg-members") in database.calls
    claims = {c.metadata.name for c in api.core.list_namespaced_persistent_volume_claim(namespace).items
              if not c.metadata.deletion_timestamp}
    assert "pg-1-data" not in claims and "pg-4-data" in claims
    assert {"PrimaryFailed", "Promoting", "PrimaryChanged", "FailoverCompleted"} <= set(api.reasons())


def test_kubectl_shows_the_printer_columns_and_scales_the_cluster(api, operator, kubectl_env, namespace):
    running_cluster(api, replicas=2)
    shown = subprocess.run([KUBECTL, "get", "pgc", "-n", namespace], env=kubectl_env, capture_output=True,
                           text=True, timeout=30)
    header, row = shown.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "REPLICAS", "READY", "PRIMARY", "VERSION", "PHASE", "AGE"]
    assert row.split()[:6] == ["pg", "2", row.split()[2], "pg-1", "16.4", "Running"]
    scaled = subprocess.run([KUBECTL, "scale", "pgc", "pg", "--replicas=3", "-n", namespace], env=kubectl_env,
                            capture_output=True, text=True, timeout=30)
    assert scaled.stdout.strip() == "postgrescluster.k8s-course.dev/pg scaled", scaled.stderr
    until(lambda: api.status().get("phase") == "Running" and api.status().get("replicas") == 3, "the third member")
    scale = json.loads(subprocess.run([KUBECTL, "get", "--raw",
                                       f"/apis/k8s-course.dev/v1/namespaces/{namespace}/postgresclusters/pg/scale"],
                                      env=kubectl_env, capture_output=True, text=True, timeout=30).stdout)
    assert scale["spec"]["replicas"] == 3 and scale["status"]["replicas"] == 3
    assert scale["status"]["selector"] == "k8s-course.dev/cluster=pg"


def test_scaling_down_removes_the_newest_replicas_never_the_primary(api, operator, databases, namespace):
    running_cluster(api, replicas=3)
    api.custom.patch_namespaced_custom_object(resources.GROUP, resources.VERSION, namespace, resources.PLURAL,
                                              "pg", {"spec": {"replicas": 1}})
    until(lambda: api.roles() == {"pg-1": "primary"} and api.status().get("phase") == "Running",
          "a cluster of the primary alone")
    assert databases(namespace).servers["pg-1"].sync_names == []


def test_a_malformed_cluster_is_reported_in_its_status_not_retried_forever(api, operator):
    api.create(postgres_cluster("pg.one"))  # a valid object name, but no Service can be called pg.one-rw
    until(lambda: api.status("pg.one").get("phase") == "Failed", "the cluster to be reported Failed")
    condition = api.status("pg.one")["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == ("Ready", "False", "InvalidName")
    assert api.reasons("pg.one") == ["InvalidName"]
    assert api.pods() == {}
    running_cluster(api, replicas=1)  # the operator goes on with the other clusters


def test_the_schema_rejects_what_it_can_and_defaults_the_rest(api):
    from kubernetes import client

    with pytest.raises(client.ApiException) as refused:
        api.create(postgres_cluster("bad", replicas=12, version="15.0"))
    assert refused.value.status == 422
    assert "spec.replicas" in refused.value.body and "spec.version" in refused.value.body
    created = api.create(postgres_cluster("defaults"))
    assert created["spec"] == {"replicas": 3, "version": "16.4", "synchronous": True, "storage": "1Gi"}


def test_deleting_the_cluster_removes_its_members_through_the_finalizer(api, operator, namespace):
    running_cluster(api, replicas=2)
    api.custom.delete_namespaced_custom_object(resources.GROUP, resources.VERSION, namespace, resources.PLURAL, "pg")
    until(lambda: api.cluster() is None, "the cluster to be gone")
    until(lambda: not api.roles(), "its pods to be gone")
    assert "CleanedUp" in api.reasons()
