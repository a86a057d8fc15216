"""A claim's files outlive its pods: the cluster's disks, one per PersistentVolume."""

from __future__ import annotations

import asyncio

from k8s_course.sim import control_plane, disks, nodes
from k8s_course.sim.store import Change, Store
from tests.sim.harness import Harness


def _volume(name: str, uid: str) -> dict:
    return {"metadata": {"name": name, "uid": uid}}


def test_a_persistent_volume_keeps_one_disk_until_it_is_deleted():
    store = Store()
    found = disks.Disks(store)
    first = found.disk(_volume("pvc-1", "u1"))
    first.write("data/x", "kept", False, "x", force=True)
    assert found.disk(_volume("pvc-1", "u1")) is first
    assert found.disk(_volume("pvc-2", "u2")) is not first
    # a new volume of the same name is another disk
    assert found.disk(_volume("pvc-1", "u3")) is not first
    store._record(Change(9, "DELETED", ("", "persistentvolumes"), _volume("pvc-1", "u3"), None))
    assert "pvc-1" not in found and "pvc-2" in found


def _claim(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def _pod(name: str, command: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", command],
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}}


def _phase(h: Harness, name: str) -> str | None:
    pod = h.get("v1", "Pod", name)
    return ((pod or {}).get("status") or {}).get("phase")


def test_a_new_pod_on_the_same_claim_reads_what_the_last_one_wrote_and_the_volume_takes_it_along():
    async def scenario(h: Harness):
        h.create(_claim("data"))
        h.create(_pod("writer", "echo hello > /data/note; mkdir /data/dir"))
        await h.until(lambda: _phase(h, "writer") == "Succeeded", timeout=30)
        volume_name = h.get("v1", "PersistentVolumeClaim", "data")["spec"]["volumeName"]
        h.delete("v1", "Pod", "writer")
        await h.settle()
        h.create(_pod("reader", "cat /data/note; ls /data"))
        await h.until(lambda: _phase(h, "reader") == "Succeeded", timeout=30)
        node = h.get("v1", "Pod", "reader")["spec"]["nodeName"]
        lines = [line for _, line in h.cluster.kubelets[node].log_lines("default", "reader")]
        h.delete("v1", "Pod", "reader")
        await h.settle()
        kept = volume_name in h.cluster.disks
        h.delete("v1", "PersistentVolumeClaim", "data")  # the standard class reclaims: Delete
        await h.until(lambda: h.get("v1", "PersistentVolume", volume_name, namespace="") is None, timeout=30)
        await asyncio.sleep(0)
        return lines, kept, volume_name in h.cluster.disks

    lines, kept, still = Harness.run(scenario, controllers=lambda cluster: control_plane.controllers(cluster)[1:],
                                     node_specs=nodes.default_nodes(1))
    assert lines == ["hello", "dir", "note"]
    assert kept is True
    assert still is False
