"""Many writers at once: watches miss nothing, optimistic concurrency loses nothing."""

from __future__ import annotations

import json
import threading

from kubernetes import client, watch

WRITERS = 8


def _configmap(name: str, data: dict) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data)


def test_a_watch_from_a_list_sees_every_change_of_eight_writers_in_order(simulator, api_client, namespace):
    core = client.CoreV1Api(api_client)
    per_writer = 400
    listed = core.list_namespaced_config_map(namespace)
    seen: list[tuple[str, int, str]] = []
    stop_after = WRITERS * (1 + per_writer)  # one create and `per_writer` updates each
    watcher_ready = threading.Event()

    def watch_all():
        w = watch.Watch()
        stream = w.stream(core.list_namespaced_config_map, namespace,
                          resource_version=listed.metadata.resource_version, timeout_seconds=120)
        watcher_ready.set()
        for event in stream:
            obj = event["object"]
            seen.append((obj.metadata.name, int(obj.metadata.resource_version), event["type"]))
            if len(seen) >= stop_after:
                w.stop()

    watcher = threading.Thread(target=watch_all)
    watcher.start()
    watcher_ready.wait()

    def write(index: int):
        with simulator.api_client() as api:
            own = client.CoreV1Api(api)
            name = f"writer-{index}"
            own.create_namespaced_config_map(namespace, _configmap(name, {"n": "0"}))
            for n in range(1, per_writer + 1):
                own.patch_namespaced_config_map(name, namespace, {"data": {"n": str(n)}})

    writers = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    watcher.join(timeout=120)

    assert len(seen) == WRITERS * (1 + per_writer)
    versions = [v for _, v, _ in seen]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    for index in range(WRITERS):
        mine = [t for name, _, t in seen if name == f"writer-{index}"]
        assert mine == ["ADDED"] + ["MODIFIED"] * per_writer


def test_eight_writers_doing_read_modify_update_lose_no_increment(simulator, api_client, namespace):
    core = client.CoreV1Api(api_client)
    cycles = 500
    core.create_namespaced_config_map(namespace, _configmap("counter", {"value": "0"}))
    conflicts = [0] * WRITERS

    def increment(index: int):
        with simulator.api_client() as api:
            own = client.CoreV1Api(api)
            done = 0
            while done < cycles:
                current = own.read_namespaced_config_map("counter", namespace)
                current.data["value"] = str(int(current.data["value"]) + 1)
                try:
                    own.replace_namespaced_config_map("counter", namespace, current)
                    done += 1
                except client.ApiException as error:
                    assert error.status == 409
                    conflicts[index] += 1

    threads = [threading.Thread(target=increment, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    final = core.read_namespaced_config_map("counter", namespace)
    assert final.data["value"] == str(WRITERS * cycles)
    assert sum(conflicts) > 0  # the writers really did collide, and the 409s told them


def test_a_watch_from_a_compacted_version_gets_an_expired_error_event(monkeypatch):
    from k8s_course.sim import Simulator, store

    monkeypatch.setattr(store, "HISTORY_LENGTH", 20)
    with Simulator() as sim, sim.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespaced_config_map("default", _configmap("churn", {"n": "0"}))
        first = core.read_namespaced_config_map("churn", "default").metadata.resource_version
        for n in range(30):
            core.patch_namespaced_config_map("churn", "default", {"data": {"n": str(n)}})
        response = core.list_namespaced_config_map("default", watch=True, resource_version=first,
                                                   timeout_seconds=2, _preload_content=False)
        lines = [line for line in response.read().decode().splitlines() if line]
    event = json.loads(lines[0])
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"
    assert event["object"]["message"].startswith(f"too old resource version: {first} (")
