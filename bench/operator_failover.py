"""The operator's failover on the simulator at 1x, measured: prints figures, asserts nothing.

    python bench/operator_failover.py                     # 3 failovers, synchronous replication
    python bench/operator_failover.py --rounds 5 --asynchronous

A 3-member PostgresCluster on the simulator's postgres model (the real database steps, exec'd
into the pods), the course's write-load generator (`pg_writer.py` in a python pod, writing to
pg-rw at --rate per second), and the primary's pod deleted again and again. Per failover:

- reaction: from the DELETE of the primary's pod to the operator starting the promotion
  (aim: under 1 s; Patroni's defaults, ttl 30 s / loop_wait 10 s, take up to ~30 s);
- outage: as the writer saw it, its last acknowledged write before to its first one after
  (aim: under 5 s);
- acknowledged writes missing on the new primary (synchronous: should be 0).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from k8s_course import workloads  # noqa: E402
from k8s_course.operator import Operator, actions, resources  # noqa: E402
from k8s_course.operator.database import Database  # noqa: E402
from k8s_course.operator.transports import PodExec  # noqa: E402
from k8s_course.sim import Simulator  # noqa: E402
from k8s_course.workloads import pg_writer  # noqa: E402

NAMESPACE = "bench"


def wait(condition, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--asynchronous", action="store_true")
    parser.add_argument("--speed", type=float, default=1.0)
    options = parser.parse_args()

    from kubernetes import client

    with Simulator(speed=options.speed) as sim:
        api = sim.api_client()
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        core.create_namespace({"metadata": {"name": NAMESPACE}})
        crd = yaml.safe_load((Path(resources.__file__).parent / "manifests" / "crd.yaml").read_text())
        client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
        time.sleep(0.5)  # the CRD becomes served

        promotions: list[float] = []

        def listener(cr, step, stage):
            if isinstance(step, actions.Promote) and stage == "started":
                promotions.append(time.monotonic())

        operator = Operator(api, NAMESPACE, listener=listener).start()

        def status() -> dict:
            return custom.get_namespaced_custom_object(resources.GROUP, resources.VERSION, NAMESPACE,
                                                       resources.PLURAL, "pg").get("status") or {}

        def healthy() -> bool:
            current = status()
            return current.get("phase") == "Running" and current.get("readyReplicas") == 3

        custom.create_namespaced_custom_object(resources.GROUP, resources.VERSION, NAMESPACE, resources.PLURAL, {
            "apiVersion": resources.API_VERSION, "kind": resources.KIND, "metadata": {"name": "pg"},
            "spec": {"replicas": 3, "synchronous": not options.asynchronous}})
        began = time.monotonic()
        wait(healthy, "the cluster")
        print(f"3 members streaming and Ready after {time.monotonic() - began:.1f} s "
              f"({'asynchronous' if options.asynchronous else 'synchronous'} replication, clock x{options.speed:g})")
        # the stock python image with the program from a ConfigMap, as on kind
        core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": "pg-writer"},
                                                      "data": {"pg_writer.py": workloads.program_source("pg_writer")}})
        core.create_namespaced_pod(NAMESPACE, {"metadata": {"name": "writer"}, "spec": {
            "containers": [{"name": "writer", "image": "python:3.12", "command": ["python", "/app/pg_writer.py"],
                            "env": [{"name": "TARGET", "value": "pg-rw:5432"},
                                    {"name": "RATE", "value": f"{options.rate:g}"}],
                            "volumeMounts": [{"name": "program", "mountPath": "/app"}]}],
            "volumes": [{"name": "program", "configMap": {"name": "pg-writer"}}]}})

        def log_lines() -> list[str]:
            return core.read_namespaced_pod_log("writer", NAMESPACE).splitlines()

        wait(lambda: sum(line.startswith("ack") for line in log_lines()) >= 10, "the writer's first writes")
        database = Database(PodExec(client.ApiClient(api.configuration), NAMESPACE))
        print(f"{'#':>3}  {'old -> new':<12} {'reaction s':>10} {'outage s':>9} {'acked lost':>10}")
        reactions, outages = [], []
        for number in range(1, options.rounds + 1):
            old = status()["primary"]
            before = len(log_lines())
            promotions.clear()
            deleted = time.monotonic()
            core.delete_namespaced_pod(old, NAMESPACE)
            wait(lambda: promotions, "the promotion")
            reaction = promotions[0] - deleted
            wait(lambda old=old: status().get("primary") != old, "the new primary")
            new = status()["primary"]
            wait(lambda before=before: pg_writer.summarise(log_lines()[before:]).first_ack_after is not None,
                 "the writer's first write after the failover")
            time.sleep(1.0)
            summary = pg_writer.summarise(log_lines()[before:])
            rows = set(database.psql(new, "SELECT id FROM writes ORDER BY id"))
            acked = pg_writer.summarise(log_lines()).acked
            lost = sum(1 for row in acked if str(row) not in rows)
            print(f"{number:>3}  {old + ' -> ' + new:<12} {reaction:>10.3f} {summary.outage_seconds:>9.3f} "
                  f"{lost:>10}", flush=True)
            reactions.append(reaction)
            outages.append(summary.outage_seconds)
            wait(healthy, "the cluster to heal", timeout=180)
        print(f"median reaction {statistics.median(reactions):.3f} s (aim < 1 s), "
              f"median outage {statistics.median(outages):.3f} s (aim < 5 s)")
        operator.stop()


if __name__ == "__main__":
    main()
