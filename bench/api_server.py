"""How fast the simulated API server answers: prints figures, asserts nothing.

    python bench/api_server.py [--objects 10000]

Start-to-ready time; gets/s and creates/s through the official client; watch event latency;
memory with N objects stored. Aims on a 2-core machine: ready < 1 s, >= 1000 gets/s and
>= 300 creates/s through the official client.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import threading
import time
import tracemalloc

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10_000)
    args = parser.parse_args()

    times = ready_time()
    print(f"{'start to ready (median of 5)':<44} {statistics.median(times) * 1000:8.0f} ms")

    tracemalloc.start()
    with Simulator() as sim:
        core = client.CoreV1Api(sim.api_client())
        for ns in ("bench", "latency"):
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        rate("creates through the official client", 1000,
             lambda i: core.create_namespaced_config_map("bench", configmap(f"c-{i}")))
        rate("gets through the official client", 2000,
             lambda i: core.read_namespaced_config_map(f"c-{i % 1000}", "bench"))
        rate("lists of 1000 objects", 20, lambda i: core.list_namespaced_config_map("bench"))
        delays = watch_latency(core)
        delays.sort()
        print(f"{'watch event latency, median / p99':<44} {statistics.median(delays) * 1000:8.2f} ms"
              f" / {delays[int(len(delays) * 0.99) - 1] * 1000:.2f} ms")

        before = tracemalloc.get_traced_memory()[0]
        for index in range(args.objects - 1000):
            sim.call(_create_direct, sim, index)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        print(f"{f'memory for {args.objects} more objects stored':<44} {(after - before) / 2**20:8.1f} MiB"
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
