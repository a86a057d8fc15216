"""How fast the simulated API server answers: prints figures, asserts nothing.

    python bench/api_server.py [--objects 10000]

Start-to-ready time; gets/s and creates/s through the official client; watch event latency;
memory with N objects stored. Aims on a 2-core machine: ready < 1 s, >= 1000 gets/s and
>= 300 creates/s through the official client.

Rates are measured twice: against a background simulator (its own process, as learners and
kubectl use it) and against one in this process (as the tests use it, sharing the GIL with
the client).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from kubernetes import client, watch

from k8s_course.sim import Simulator


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ready_time(repeats: int = 5) -> list[float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        sim = Simulator().start()
        times.append(time.perf_counter() - began)
        sim.stop()
    return times


def configmap(name: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={"bench": "yes"}),
                              data={"key": "value"})


def rate(label: str, count: int, action) -> float:
    began = time.perf_counter()
    for index in range(count):
        action(index)
    elapsed = time.perf_counter() - began
    per_second = count / elapsed
    print(f"{label:<44} {per_second:8.0f} /s   ({count} in {elapsed:.2f} s)")
    return per_second


def watch_latency(core: client.CoreV1Api, samples: int = 200) -> list[float]:
    start = core.list_namespaced_config_map("latency").metadata.resource_version
    sent: dict[str, float] = {}
    delays: list[float] = []
    done = threading.Event()

    def follow():
        w = watch.Watch()
        for event in w.stream(core.list_namespaced_config_map, "latency", resource_version=start,
                              timeout_seconds=60):
            name = event["object"].metadata.name
            if name in sent:
                delays.append(time.perf_counter() - sent[name])
            if len(delays) >= samples:
                w.stop()
        done.set()

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.3)  # let the watch open before the first write
    for index in range(samples):
        name = f"l-{index}"
        sent[name] = time.perf_counter()
        core.create_namespaced_config_map("latency", configmap(name))
    done.wait(60)
    thread.join()
    return delays


def rates(core: client.CoreV1Api, where: str) -> None:
    for ns in ("bench", "latency"):
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    rate(f"creates/s, official client, {where}", 1000,
         lambda i: core.create_namespaced_config_map("bench", configmap(f"c-{i}")))
    rate(f"gets/s, official client, {where}", 2000,
         lambda i: core.read_namespaced_config_map(f"c-{i % 1000}", "bench"))
    rate(f"lists of 1000 objects, {where}", 20, lambda i: core.list_namespaced_config_map("bench"))
    delays = sorted(watch_latency(core))
    print(f"{'watch event latency, median / p99, ' + where:<44} {statistics.median(delays) * 1000:8.2f} ms"
          f" / {delays[int(len(delays) * 0.99) - 1] * 1000:.2f} ms")


def background_rates() -> None:
    from kubernetes import config

    from k8s_course.sim import daemon

    with tempfile.TemporaryDirectory() as state:
        began = time.perf_counter()
        record = daemon.start(state_dir=Path(state))
        print(f"{'background process: start to ready':<44} {(time.perf_counter() - began) * 1000:8.0f} ms")
        try:
            with config.new_client_from_config(config_file=record["kubeconfig"]) as api:
                rates(client.CoreV1Api(api), "own process")
        finally:
            daemon.stop(Path(state))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10_000)
    args = parser.parse_args()

    times = ready_time()
    print(f"{'in-process: start to ready (median of 5)':<44} {statistics.median(times) * 1000:8.0f} ms")
    background_rates()

    tracemalloc.start()
    with Simulator() as sim:
        rates(client.CoreV1Api(sim.api_client()), "same process")

        before = tracemalloc.get_traced_memory()[0]
        for index in range(args.objects - 1000):
            sim.call(_create_direct, sim, index)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        print(f"{f'memory for {args.objects - 1000} more configmaps':<44} {(after - before) / 2**20:8.1f} MiB"
              f"   (process peak RSS {_rss_mib():.0f} MiB)")


def _create_direct(sim: Simulator, index: int) -> None:
    """Fill the store without HTTP: the figure is the store's memory, not the client's speed."""
    cluster = sim.cluster
    rtype = cluster.registry.lookup("", "v1", "configmaps")
    cluster.objects.create(rtype, "bench", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": f"m-{index}", "labels": {"bench": "yes"}}, "data": {"key": "value"}})


if __name__ == "__main__":
    main()
