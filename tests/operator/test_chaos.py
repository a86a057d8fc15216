"""The operator keeps its promise under random faults: a chaos test on the simulator.

A synchronous 3-member PostgresCluster (the simulator's postgres model, the real database steps
through exec) takes writes from the chapter's writer pod through `pg-rw` while, round after
round, a seeded random fault hits it: the primary pod force-deleted, a replica deleted, the
primary's floor taken offline and back, the operator crashed (its Lease not released) and a new
one started, or the operator crashed and the primary deleted while no operator runs. After each
round the cluster must converge (Running, 3 Ready members, every replica streaming, one pod
labelled primary) within a bound; at the end every write the application saw acknowledged is in
the table on the primary, once.

The simulator is the test's own, on a clock 10x faster than wall time, so that a round takes
about a second or three (40 rounds: about a minute); the seed is fixed, so a failure is reproducible (the rounds are printed).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from importlib.resources import files

import pytest
import yaml

from k8s_course import backends
from k8s_course.cluster import Cluster
from k8s_course.operator import Operator, actions, failover, members, planning, resources
from k8s_course.operator.database import MemberStatus
from k8s_course.sim import Simulator
from k8s_course.views import outages
from k8s_course.workloads import program_source

from .support import QUICK, Api, install_crd, postgres_cluster, until

SEED = 20250107
ROUNDS = 40
SPEED = 10.0
CONVERGE_WITHIN = 60.0  # wall seconds per round; rounds take 1-4 s unless something is wrong
FAULTS = ("kill primary", "delete replica", "primary floor offline", "restart operator",
          "operator down, kill primary")
PSQL = ["psql", "-U", "postgres", "-d", "postgres", "-X", "-q", "-t", "-A", "-c"]


class Chaos:
    """The cluster under test, its operator of the moment, and the faults."""

    def __init__(self, sim: Simulator, api_client, namespace: str):
        backend = backends.Backend("simulator", str(sim.kubeconfig), backends.SIM_CONTEXT, "chaos simulator")
        self.cluster = Cluster(backend, api_client, "default").use_namespace(namespace)
        self.api = Api(api_client, namespace)
        self.api_client = api_client
        self.namespace = namespace
        self.operator = self.new_operator()

    def new_operator(self) -> Operator:
        return Operator(self.api_client, self.namespace, timings=QUICK,
                        identity=f"chaos-{uuid.uuid4().hex[:6]}").start()

    def converged(self) -> bool:
        status = self.api.status()
        states = [m["state"] for m in status.get("members") or []]
        if not (status.get("phase") == "Running" and status.get("readyReplicas") == 3
                and sorted(states) == ["primary", "streaming", "streaming"]):
            return False
        return [n for n, role in self.api.roles().items() if role == resources.PRIMARY] == [status["primary"]]

    def primary(self) -> str:
        return self.api.status()["primary"]

    def strike(self, fault: str, rng: random.Random) -> tuple[str, Callable[[], bool]]:
        """Do `fault`; returns what was hit and the sign that the cluster noticed it."""
        status = self.api.status()
        primary = status["primary"]
        if fault == "kill primary":
            self.api.core.delete_namespaced_pod(primary, self.namespace, grace_period_seconds=0)
            return primary, lambda: self.primary() != primary
        if fault == "delete replica":
            victim = rng.choice(sorted(m["name"] for m in status["members"] if m["name"] != primary))
            self.api.core.delete_namespaced_pod(victim, self.namespace)
            return victim, lambda: victim not in {m["name"] for m in self.api.status().get("members") or []}
        if fault == "primary floor offline":
            floor = self.api.pods()[primary]["spec"]["nodeName"]
            self.cluster.node_offline(floor)
            try:
                until(lambda: self.primary() != primary, f"a failover away from {primary} on dark {floor}",
                      timeout=CONVERGE_WITHIN)
            finally:
                self.cluster.node_online(floor)
            return f"{primary} on {floor}", lambda: True
        self.operator.stop(release=False)  # a crash: the Lease stays until it expires
        if fault == "operator down, kill primary":
            self.api.core.delete_namespaced_pod(primary, self.namespace, grace_period_seconds=0)
        self.operator = self.new_operator()
        operator = self.operator
        if fault == "restart operator":
            return operator.identity, lambda: operator.leading and operator.reconciles > 0
        return f"{primary}, {operator.identity}", lambda: operator.leading and self.primary() != primary

    def acknowledged_and_present(self) -> tuple[list[outages.Attempt], list[int]]:
        """The writer's attempts so far, then the ids in the table (read after: it has them all)."""
        attempts = outages.parse_writer_log(self.cluster.logs("writer"))
        rows = self.cluster.exec(self.primary(), PSQL + ["SELECT id FROM writes ORDER BY id"], container="postgres")
        return attempts, [int(row) for row in rows.split()]

    def describe(self) -> str:
        """What the cluster looks like, for a failure's message."""
        status = self.api.status()
        lines = [f"status: phase {status.get('phase')}, primary {status.get('primary')}, "
                 f"members {[(m['name'], m['state'], m['ready']) for m in status.get('members') or []]}"]
        lines += [f"pod {name}: role {pod['metadata']['labels'].get(resources.ROLE_LABEL)}, "
                  f"node {pod['spec'].get('nodeName')}, phase {pod['status'].get('phase')}, "
                  f"deleting {bool(pod['metadata'].get('deletionTimestamp'))}" for name, pod in self.api.pods().items()]
        lines += [f"event {e['reason']}: {e['message'][:140]}" for e in self.api.events()[-20:]]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def chaos():
    with Simulator(speed=SPEED) as sim:
        api_client = sim.api_client()
        install_crd(api_client)
        chaos = Chaos(sim, api_client, "chaos")
        try:
            yield chaos
        finally:
            chaos.operator.stop()
            api_client.close()


def test_a_synchronous_cluster_converges_after_each_of_40_random_faults_and_loses_no_acknowledged_write(chaos):
    chaos.api.create(postgres_cluster(replicas=3, synchronous=True))
    until(chaos.converged, "three members streaming", timeout=CONVERGE_WITHIN)
    chaos.cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "writer"},
                         "data": {"pg_writer.py": program_source("pg_writer")}})
    chaos.cluster.apply(yaml.safe_load((files("k8s_course") / "manifests" / "03-writer.yaml").read_text()))
    until(lambda: chaos.cluster.logs("writer", tail=40).count("ack") >= 20, "the writer's first writes", timeout=60)

    rng = random.Random(SEED)
    for number in range(1, ROUNDS + 1):
        fault = rng.choice(FAULTS)
        began = time.monotonic()
        hit, noticed = chaos.strike(fault, rng)
        try:
            until(noticed, f"round {number}: the fault to be seen", timeout=CONVERGE_WITHIN)
            until(chaos.converged, f"round {number}: the cluster to converge", timeout=CONVERGE_WITHIN)
        except AssertionError as error:
            raise AssertionError(f"round {number} ({fault}: {hit}): {error}\n{chaos.describe()}") from None
        print(f"round {number:2}: {fault:27} {hit:36} converged in {time.monotonic() - began:5.2f} s, "
              f"primary {chaos.primary()}")

    # the application writes again through pg-rw, and nothing it was promised is missing
    def newest() -> list[outages.Attempt]:
        return outages.parse_writer_log(chaos.cluster.logs("writer", tail=5))

    last_id = newest()[-1].id
    until(lambda: any(a.acked and a.id > last_id for a in newest()), "a write acknowledged after the last round",
          timeout=30)
    attempts, ids = chaos.acknowledged_and_present()
    result = outages.measure(attempts, ids)
    print(f"writer: {result.acked} acknowledged, {result.failed} failed, longest outage {result.outage_seconds} s "
          f"(the cluster's clock), {result.writes_lost} lost")
    assert result.acked > 100
    assert result.writes_lost == 0, f"acknowledged but missing: {result.lost_ids[:20]}"
    assert len(ids) == len(set(ids)), "an id is in the table twice"
    acked = [a.id for a in attempts if a.acked]
    assert len(acked) == len(set(acked))


def test_a_replica_that_does_not_answer_during_a_failover_is_fenced_then_recloned():
    """What the chaos test found: a replica on the primary's dark floor missed the re-pointing,
    came back still following the old primary, and streamed from no one, for ever."""
    def pod(member, role, cloned_from="pg-1"):
        body = resources.member_pod(cr, member, role, "16.4", bootstrap=member == "pg-1", cloned_from=cloned_from)
        body["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        return body

    cr = {"apiVersion": resources.API_VERSION, "kind": resources.KIND,
          "metadata": {"name": "pg", "namespace": "db", "uid": "u", "generation": 1, "resourceVersion": "1",
                       "finalizers": [resources.FINALIZER]},
          "spec": {"replicas": 3, "version": "16.4", "synchronous": True, "storage": "1Gi"},
          "status": {"primary": "pg-1", "synchronousStandbys": ["pg-2", "pg-3"], "synchronousOn": "pg-1",
                     "lastSerial": 3}}
    pods = [pod("pg-1", "primary", "initdb"), pod("pg-2", "replica"), pod("pg-3", "replica")]
    claims = [resources.member_claim(cr, name, "1Gi") for name in ("pg-1", "pg-2", "pg-3")]
    existing = {"ConfigMap/pg-initdb", "Service/pg-rw", "Service/pg-ro", "Service/pg-members",
                "PodDisruptionBudget/pg"}
    # pg-1 and pg-3 share the dark floor: neither answers
    db = {"pg-1": None, "pg-2": MemberStatus(True, 0x3000100, 1), "pg-3": None}
    seen = members.observed(cr, pods, claims, db, existing, None, failed_checks=failover.FAILED_CHECKS)
    steps = planning.plan(seen)
    assert actions.Promote("pg-2", "pg-1") in steps
    assert [s.member for s in steps if isinstance(s, actions.Fence)] == ["pg-1", "pg-3"]
    assert not any(isinstance(s, actions.Follow) for s in steps)
    # after the failover, the fenced replica is removed (and a fresh clone replaces it)
    pods[1]["metadata"]["labels"][resources.ROLE_LABEL] = resources.PRIMARY
    pods[0]["metadata"]["labels"][resources.ROLE_LABEL] = pods[2]["metadata"]["labels"][resources.ROLE_LABEL] = \
        resources.FENCED
    cr["status"] = {"primary": "pg-2", "synchronousStandbys": [], "synchronousOn": "pg-2", "lastSerial": 3,
                    "lastFailover": {"from": "pg-1", "to": "pg-2"}}
    db = {"pg-1": MemberStatus(False, 0x3000100, 1), "pg-2": MemberStatus(False, 0x3000200, 2),
          "pg-3": MemberStatus(True, 0x3000100, 1)}
    steps = planning.plan(members.observed(cr, pods, claims, db, existing, []))
    assert steps == [actions.RemoveMember("pg-1", "a former primary is never trusted again: re-cloned"),
                     actions.RemoveMember("pg-3", "it missed a failover: re-cloned from the new primary")]
