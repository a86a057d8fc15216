"""The operator's decisions, from plain dicts of observed state to the actions it plans."""

from __future__ import annotations

import pytest

from k8s_course.operator import actions, members, planning, resources, specs, statuses
from k8s_course.operator.database import MemberStatus, ReplicaState


def cr(replicas=3, version="16.4", synchronous=True, name="pg", deleting=False, **status):
    meta = {"name": name, "namespace": "db", "uid": "u-1", "generation": 1, "resourceVersion": "7",
            "finalizers": [resources.FINALIZER]}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"apiVersion": resources.API_VERSION, "kind": resources.KIND, "metadata": meta,
            "spec": {"replicas": replicas, "version": version, "synchronous": synchronous, "storage": "1Gi"},
            "status": status}


def pod(member, role, version="16.4", ready=True, cloned_from="pg-1", phase="Running", deleting=False):
    body = resources.member_pod(cr(), member, role, version, bootstrap=member == "pg-1", cloned_from=cloned_from)
    body["status"] = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if deleting:
        body["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return body


def claim(member, upgrading_to=None):
    body = resources.member_claim(cr(), member, "1Gi")
    if upgrading_to:
        body["metadata"]["annotations"] = {resources.UPGRADING_TO: upgrading_to}
    return body


EVERYTHING = {"ConfigMap/pg-initdb", "Service/pg-rw", "Service/pg-ro", "Service/pg-members",
              "PodDisruptionBudget/pg"}


def seen(resource, pods, claims=None, db=None, streaming=(), failed_checks=0, backup_job=None):
    claims = claims if claims is not None else [claim(p["metadata"]["name"]) for p in pods]
    rows = [ReplicaState(name, "streaming", "quorum", 0x3000100) for name in streaming]
    return members.observed(resource, pods, claims, db or {}, set(EVERYTHING), rows,
                            failed_checks=failed_checks, backup_job=backup_job, now=1000.0)


def primary_db(lsn=0x3000100, timeline=1):
    return MemberStatus(False, lsn, timeline)


def standby_db(lsn=0x3000100, timeline=1):
    return MemberStatus(True, lsn, timeline)


def healthy_three(**status):
    resource = cr(primary="pg-1", synchronousStandbys=["pg-2", "pg-3"], synchronousOn="pg-1", lastSerial=3,
                  **status)
    pods = [pod("pg-1", "primary", cloned_from="initdb"), pod("pg-2", "replica"), pod("pg-3", "replica")]
    db = {"pg-1": primary_db(), "pg-2": standby_db(), "pg-3": standby_db()}
    return resource, pods, db


def kinds(steps):
    return [type(step).__name__ for step in steps]


# bootstrap and scaffolding

def test_an_empty_cluster_gets_its_objects_and_a_first_member_that_runs_initdb():
    resource = cr()
    resource["metadata"]["finalizers"] = []
    steps = planning.plan(members.observed(resource, [], [], {}, set()))
    assert kinds(steps) == ["AddFinalizer"] + ["CreateObject"] * 5 + ["CreateMember"]
    created = {step.body["metadata"]["name"] for step in steps if isinstance(step, actions.CreateObject)}
    assert created == {"pg-initdb", "pg-rw", "pg-ro", "pg-members", "pg"}
    assert steps[-1] == actions.CreateMember("pg-1", "primary", "16.4", bootstrap=True, serial=1)


def test_a_healthy_cluster_needs_nothing():
    resource, pods, db = healthy_three()
    assert planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"])) == []


# scaling

def test_scaling_up_adds_members_with_new_serials_that_wait_to_be_cloned():
    resource, pods, db = healthy_three()
    resource["spec"]["replicas"] = 5
    steps = planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"]))
    assert steps == [actions.CreateMember("pg-4", "replica", "16.4", bootstrap=False, serial=4),
                     actions.CreateMember("pg-5", "replica", "16.4", bootstrap=False, serial=5)]


def test_serials_only_grow_past_the_last_one_recorded():
    resource, pods, db = healthy_three()
    resource["status"]["lastSerial"] = 7
    resource["spec"]["replicas"] = 4
    steps = planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"]))
    assert [step.member for step in steps] == ["pg-8"]


def test_a_new_member_is_cloned_from_the_primary_once_its_pod_runs():
    resource, pods, db = healthy_three()
    resource["status"]["synchronousStandbys"] = ["pg-2"]
    pods[2] = pod("pg-3", "replica", ready=False, cloned_from=None)
    steps = planning.plan(seen(resource, pods, db=db, streaming=["pg-2"]))
    assert steps == [actions.Clone("pg-3", "pg-1", "pg-1.pg-members")]


def test_scaling_down_removes_the_highest_serial_replicas_and_never_the_primary():
    resource = cr(replicas=1, primary="pg-3", synchronousStandbys=["pg-1", "pg-2"], synchronousOn="pg-3")
    pods = [pod("pg-1", "replica"), pod("pg-2", "replica"), pod("pg-3", "primary")]
    db = {"pg-1": standby_db(), "pg-2": standby_db(), "pg-3": primary_db()}
    steps = planning.plan(seen(resource, pods, db=db, streaming=["pg-1", "pg-2"]))
    # the primary stops waiting for the doomed standbys before they go (else commits would hang)
    assert steps[0] == actions.SetSynchronous("pg-3", ())
    assert [(type(s).__name__, s.member) for s in steps[1:]] == [("RemoveMember", "pg-2"), ("RemoveMember", "pg-1")]


def test_scaling_down_by_one_keeps_the_other_replica_synchronous():
    resource, pods, db = healthy_three()
    resource["spec"]["replicas"] = 2
    steps = planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"]))
    assert steps == [actions.SetSynchronous("pg-1", ("pg-2",)),
                     actions.RemoveMember("pg-3", "scaled down to 2")]


def test_synchronous_standbys_follow_the_streaming_replicas_and_asynchronous_resets_them():
    resource, pods, db = healthy_three()
    resource["status"]["synchronousStandbys"] = ["pg-2"]
    assert planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"])) == [
        actions.SetSynchronous("pg-1", ("pg-2", "pg-3"))]
    resource["spec"]["synchronous"] = False
    assert planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"])) == [
        actions.SetSynchronous("pg-1", ())]


# failover

def test_the_primary_pod_gone_promotes_the_most_advanced_replica_and_repoints_the_other():
    resource, pods, db = healthy_three()
    db["pg-2"], db["pg-3"] = standby_db(0x3000080), standby_db(0x3000100)
    steps = planning.plan(seen(resource, pods[1:], claims=[claim("pg-1"), claim("pg-2"), claim("pg-3")], db=db))
    assert kinds(steps) == ["Notice", "Promote", "Relabel", "Follow", "SetSynchronous", "RecordFailover"]
    assert steps[1] == actions.Promote("pg-3", "pg-1")
    assert steps[2] == actions.Relabel("pg-3", "primary", "pg-rw")
    assert steps[3] == actions.Follow("pg-2", "pg-3", "pg-3.pg-members")
    assert steps[4] == actions.SetSynchronous("pg-3", ("pg-2",))
    assert (steps[5].former, steps[5].primary) == ("pg-1", "pg-3")


def test_a_primary_not_ready_and_not_answering_is_fenced_before_the_promotion():
    resource, pods, db = healthy_three()
    pods[0] = pod("pg-1", "primary", ready=False, cloned_from="initdb")
    assert planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"])) == []  # it still answers
    db["pg-1"] = None
    steps = planning.plan(seen(resource, pods, db=db))
    assert kinds(steps)[:3] == ["Notice", "Fence", "Promote"]
    assert steps[1].member == "pg-1"


def test_one_failed_health_check_is_not_enough_two_are():
    resource, pods, db = healthy_three()
    assert planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"], failed_checks=1)) == []
    steps = planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"], failed_checks=2))
    assert "did not answer 2 health checks" in steps[0].message
    assert kinds(steps)[1:3] == ["Fence", "Promote"]


def test_a_deleted_primary_still_shutting_down_is_fenced_but_not_yet_replaced():
    resource, pods, db = healthy_three()
    pods[0] = pod("pg-1", "primary", cloned_from="initdb", deleting=True)
    steps = planning.plan(seen(resource, pods, db=db))
    assert kinds(steps) == ["Notice", "Fence"]
    del db["pg-1"]  # it has stopped answering: now the promotion
    assert "Promote" in kinds(planning.plan(seen(resource, pods, db=db)))


def test_an_interrupted_failover_carries_on_from_the_promoted_replica():
    resource, pods, db = healthy_three(failingOver="pg-1")
    pods[0] = pod("pg-1", "fenced", cloned_from="initdb")
    db["pg-1"], db["pg-2"] = None, primary_db(0x3000100, timeline=2)
    steps = planning.plan(seen(resource, pods, db=db))
    assert kinds(steps) == ["Relabel", "Follow", "SetSynchronous", "RecordFailover"]
    assert steps[0].member == "pg-2"


def test_a_second_failover_during_recovery_ignores_the_member_still_being_cloned():
    # pg-1 failed before; pg-2 took over, pg-1 was removed and pg-4 is being cloned from pg-2
    resource = cr(primary="pg-2", synchronousStandbys=["pg-3"], synchronousOn="pg-2", lastSerial=4)
    pods = [pod("pg-3", "replica"), pod("pg-4", "replica", ready=False, cloned_from=None)]
    db = {"pg-3": standby_db(0x3000200, timeline=2), "pg-4": None}
    claims = [claim("pg-2"), claim("pg-3"), claim("pg-4")]
    steps = planning.plan(seen(resource, pods, claims=claims, db=db))
    assert kinds(steps) == ["Notice", "Promote", "Relabel", "SetSynchronous", "RecordFailover"]
    assert steps[1] == actions.Promote("pg-3", "pg-2")
    assert steps[3] == actions.SetSynchronous("pg-3", ())  # pg-4 has no data yet: nothing to wait for


def test_the_old_primary_coming_back_is_removed_and_replaced_by_a_fresh_clone():
    resource = cr(primary="pg-2", synchronousStandbys=["pg-3"], synchronousOn="pg-2", lastSerial=3)
    pods = [pod("pg-1", "fenced", cloned_from="initdb"), pod("pg-2", "primary"), pod("pg-3", "replica")]
    db = {"pg-1": primary_db(0x3000100, timeline=1), "pg-2": primary_db(0x3000300, timeline=2),
          "pg-3": standby_db(0x3000300, timeline=2)}
    steps = planning.plan(seen(resource, pods, db=db, streaming=["pg-3"]))
    assert steps == [actions.RemoveMember("pg-1", "a former primary is never trusted again: re-cloned")]
    # once it is gone, a new member (the next serial) takes its place
    steps = planning.plan(seen(resource, pods[1:], db=db, streaming=["pg-3"]))
    assert steps == [actions.CreateMember("pg-4", "replica", "16.4", bootstrap=False, serial=4)]


def test_a_replica_whose_pod_is_gone_is_replaced_not_restarted():
    resource, pods, db = healthy_three()
    steps = planning.plan(seen(resource, pods[:2], claims=[claim("pg-1"), claim("pg-2"), claim("pg-3")], db=db,
                               streaming=["pg-2"]))
    assert steps == [actions.RemoveMember("pg-3", "its pod is gone: a fresh clone replaces it")]


def test_a_failed_clone_replaces_the_member():
    resource, pods, db = healthy_three()
    pods[2] = pod("pg-3", "replica", ready=False, cloned_from=resources.CLONE_FAILED)
    steps = planning.plan(seen(resource, pods, db=db, streaming=["pg-2"]))
    assert kinds(steps) == ["RemoveMember"] and steps[0].member == "pg-3"


def test_a_lone_primary_whose_pod_is_gone_comes_back_on_its_pvc():
    resource = cr(replicas=1, primary="pg-1", lastSerial=1)
    steps = planning.plan(seen(resource, [], claims=[claim("pg-1")]))
    assert steps[-1] == actions.RecreatePod("pg-1", "primary", "16.4", bootstrap=True, cloned_from="initdb")


def test_the_candidate_is_the_most_advanced_standby_ties_to_the_lowest_serial():
    from k8s_course.operator import failover

    chosen = failover.choose_candidate({"pg-2": standby_db(0x3000000), "pg-3": standby_db(0x5000000),
                                        "pg-4": standby_db(0x5000000), "pg-5": primary_db(0x9000000)})
    assert chosen == "pg-3"


# upgrade

def test_an_upgrade_starts_with_a_backup_job_on_the_backup_pvc():
    resource, pods, db = healthy_three()
    resource["spec"]["version"] = "16.6"
    steps = planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"]))
    assert [s.body["kind"] for s in steps] == ["PersistentVolumeClaim", "Job"]
    job = steps[1].body
    assert job["metadata"]["name"] == "pg-backup-16-6"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["pg_dumpall", "-U", "postgres", "-h", "pg-rw", "-f",
                                    "/backups/pg-16.4-before-16.6.sql"]
    assert job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "pg-backups"


def test_an_upgrade_waits_for_the_backup_and_stops_if_it_failed():
    resource, pods, db = healthy_three()
    resource["spec"]["version"] = "16.6"
    running = {"metadata": {"name": "pg-backup-16-6"}, "status": {"active": 1}}
    assert planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"], backup_job=running)) == []
    failed = {"metadata": {"name": "pg-backup-16-6"},
              "status": {"conditions": [{"type": "Failed", "status": "True"}]}}
    steps = planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"], backup_job=failed))
    assert kinds(steps) == ["Notice"] and steps[0].reason == "UpgradeBlocked"


COMPLETE = {"metadata": {"name": "pg-backup-16-6"}, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}


def test_an_upgrade_goes_replica_by_replica_then_switches_over():
    resource, pods, db = healthy_three()
    resource["spec"]["version"] = "16.6"
    everyone = ["pg-2", "pg-3"]

    def next_steps(pods, claims=None, streaming=everyone):
        return planning.plan(seen(resource, pods, claims=claims, db=db, streaming=streaming, backup_job=COMPLETE))

    assert next_steps(pods) == [actions.RestartWithVersion("pg-2", "16.6")]
    claims = [claim("pg-1"), claim("pg-2", upgrading_to="16.6"), claim("pg-3")]
    # its pod deleted: recreated with the new image on the same PVC
    assert next_steps([pods[0], pods[2]], claims, ["pg-3"]) == [
        actions.RecreatePod("pg-2", "replica", "16.6", bootstrap=False, cloned_from="upgrade")]
    upgraded = pod("pg-2", "replica", version="16.6", cloned_from="upgrade")
    assert next_steps([pods[0], upgraded, pods[2]], claims, ["pg-3"]) == []  # not streaming yet: wait
    assert next_steps([pods[0], upgraded, pods[2]], claims) == [actions.FinishUpgrade("pg-2", "16.6")]
    assert next_steps([pods[0], upgraded, pods[2]]) == [actions.RestartWithVersion("pg-3", "16.6")]
    both = [pods[0], upgraded, pod("pg-3", "replica", version="16.6")]
    steps = next_steps(both)
    assert kinds(steps) == ["Fence", "DeletePod"] and {s.member for s in steps} == {"pg-1"}


def test_no_upgrade_step_while_a_replica_does_not_stream():
    resource, pods, db = healthy_three()
    resource["spec"]["version"] = "16.6"
    assert planning.plan(seen(resource, pods, db=db, streaming=["pg-2"], backup_job=COMPLETE)) == []


# malformed and deleted clusters

@pytest.mark.parametrize("name, spec, reason", [
    ("9pg", {}, "InvalidName"),
    ("pg.one", {}, "InvalidName"),
    ("pg", {"storage": "lots"}, "InvalidStorage"),
    ("pg", {"replicas": 12}, "InvalidReplicas"),
    ("pg", {"version": "15.2"}, "UnsupportedVersion"),
])
def test_a_malformed_cluster_is_reported_with_a_reason(name, spec, reason):
    resource = cr(name=name)
    resource["spec"].update(spec)
    with pytest.raises(specs.Malformed) as raised:
        planning.plan(members.observed(resource, [], [], {}, set()))
    assert raised.value.reason == reason
    status = statuses.compute(members.observed(resource, [], [], {}, set(), now=0.0), {},
                              problem=(raised.value.reason, raised.value.message))
    assert status["phase"] == "Failed"
    assert status["conditions"][0]["reason"] == reason and status["conditions"][0]["status"] == "False"


def test_deleting_a_cluster_removes_replicas_first_then_the_primary_then_the_finalizer():
    resource, pods, db = healthy_three()
    resource["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    steps = planning.plan(seen(resource, pods, db=db))
    assert [getattr(s, "member", None) for s in steps] == ["pg-3", "pg-2", "pg-1", None]
    assert isinstance(steps[-1], actions.RemoveFinalizer)


# status

def test_status_reports_members_and_the_ready_condition():
    resource, pods, db = healthy_three()
    status = statuses.compute(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"]), {})
    assert (status["phase"], status["primary"], status["replicas"], status["readyReplicas"]) == ("Running", "pg-1", 3, 3)
    assert status["members"][0] == {"name": "pg-1", "role": "primary", "state": "primary", "ready": True,
                                    "version": "16.4", "lsn": "0/3000100", "timeline": 1}
    assert status["selector"] == "k8s-course.dev/cluster=pg"
    assert status["conditions"][0]["status"] == "True"



def test_a_synchronous_commit_waits_only_for_replicas_on_another_floor_when_there_are_some():
    resource, pods, db = healthy_three()
    for body, node in zip(pods, ("worker", "worker", "worker2"), strict=True):
        body["spec"]["nodeName"] = node
    # pg-2 shares pg-1's floor: a dark floor would take both, and with them the last commits
    assert planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"])) == [
        actions.SetSynchronous("pg-1", ("pg-3",))]
    pods[2]["spec"]["nodeName"] = "worker"  # all on one floor: no better choice than all of them
    assert planning.plan(seen(resource, pods, db=db, streaming=["pg-2", "pg-3"])) == []
