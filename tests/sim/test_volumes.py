"""Persistent volume binding: kind's `standard` class, WaitForFirstConsumer, static volumes."""

from __future__ import annotations

from k8s_course.sim.controllers.protection import ProtectionController
from k8s_course.sim.controllers.volumes import VolumeBinder
from k8s_course.sim.scheduler import Scheduler
from tests.sim.harness import Harness


def claim(name: str = "data", size: str = "1Gi", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}, **spec}}


def pod_using(claim_name: str, name: str = "writer") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "busybox"}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}]}}


def run(scenario):
    return Harness.run(scenario, controllers=lambda c: [Scheduler(c.objects), VolumeBinder(c.objects),
                                                        ProtectionController(c.objects)])


def test_the_standard_storage_class_is_served_as_kind_serves_it():
    async def scenario(h: Harness):
        standard = h.get("storage.k8s.io/v1", "StorageClass", "standard")
        assert standard["provisioner"] == "rancher.io/local-path"
        assert standard["volumeBindingMode"] == "WaitForFirstConsumer"
        assert standard["reclaimPolicy"] == "Delete"
        assert standard["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"

    run(scenario)


def test_a_claim_waits_for_its_first_consumer_then_binds_to_a_volume_on_the_pods_node():
    async def scenario(h: Harness):
        h.add_node("k8s-course-worker")
        created = h.create(claim())
        await h.settle()
        waiting = h.get("v1", "PersistentVolumeClaim", "data")
        assert waiting["status"]["phase"] == "Pending"
        [event] = h.events(name="data")
        assert (event["reason"], event["message"], event["source"]["component"]) == (
            "WaitForFirstConsumer", "waiting for first consumer to be created before binding",
            "persistentvolume-controller")
        assert h.list("v1", "PersistentVolume", None) == []

        h.create(pod_using("data"))
        await h.settle()
        volume_name = f"pvc-{created['metadata']['uid']}"
        bound = h.get("v1", "PersistentVolumeClaim", "data")
        assert bound["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
        assert bound["spec"]["volumeName"] == volume_name
        annotations = bound["metadata"]["annotations"]
        assert annotations["volume.kubernetes.io/selected-node"] == "k8s-course-worker"
        assert annotations["pv.kubernetes.io/bind-completed"] == "yes"
        assert annotations["volume.kubernetes.io/storage-provisioner"] == "rancher.io/local-path"
        volume = h.get("v1", "PersistentVolume", volume_name)
        assert volume["status"]["phase"] == "Bound"
        assert volume["spec"]["claimRef"]["uid"] == created["metadata"]["uid"]
        assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
        assert volume["spec"]["hostPath"]["path"] == f"/var/local-path-provisioner/{volume_name}_default_data"
        assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0][
            "values"] == ["k8s-course-worker"]
        reasons = [e["reason"] for e in h.events(name="data")]
        assert set(reasons) == {"WaitForFirstConsumer", "ExternalProvisioning", "Provisioning",
                                "ProvisioningSucceeded"}
        succeeded = next(e for e in h.events(name="data") if e["reason"] == "ProvisioningSucceeded")
        assert succeeded["message"] == f"Successfully provisioned volume {volume_name}"

    run(scenario)


def test_a_second_pod_of_the_claim_follows_the_volume_to_its_node():
    async def scenario(h: Harness):
        h.add_node("k8s-course-worker")
        h.create(claim())
        h.create(pod_using("data"))
        await h.settle()
        h.add_node("k8s-course-worker2", cpu="64")  # emptier, but the volume lives on the first
        h.create(pod_using("data", name="reader"))
        await h.settle()
        assert h.get("v1", "Pod", "reader")["spec"]["nodeName"] == "k8s-course-worker"

    run(scenario)


def test_a_pod_whose_claim_does_not_exist_stays_pending():
    async def scenario(h: Harness):
        h.add_node("k8s-course-worker")
        h.create(pod_using("missing"))
        await h.settle()
        conditions = h.get("v1", "Pod", "writer")["status"]["conditions"]
        assert conditions[0]["message"] == (
            '0/1 nodes are available: persistentvolumeclaim "missing" not found. no new claims to deallocate, '
            "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
        h.create(claim("missing"))
        await h.advance(2)
        assert h.get("v1", "Pod", "writer")["spec"]["nodeName"] == "k8s-course-worker"

    run(scenario)


def test_deleting_the_claim_deletes_its_volume_when_the_policy_is_delete():
    async def scenario(h: Harness):
        h.add_node("k8s-course-worker")
        h.create(claim())
        h.create(pod_using("data"))
        await h.settle()
        volume_name = h.get("v1", "PersistentVolumeClaim", "data")["spec"]["volumeName"]
        h.delete("v1", "Pod", "writer", grace_period_seconds=0)
        h.delete("v1", "PersistentVolumeClaim", "data")
        await h.settle()
        assert h.get("v1", "PersistentVolumeClaim", "data") is None
        assert h.get("v1", "PersistentVolume", volume_name) is None

    run(scenario)


def test_a_claim_without_a_class_binds_the_smallest_volume_that_fits():
    def volume(name: str, size: str) -> dict:
        return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
                "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                         "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": f"/srv/{name}"}}}

    async def scenario(h: Harness):
        h.create(volume("big", "1Gi"))
        h.create(volume("small", "100Mi"))
        h.create(claim("manual", size="50Mi", storageClassName=""))
        h.create(claim("too-big", size="5Gi", storageClassName=""))
        await h.settle()
        manual = h.get("v1", "PersistentVolumeClaim", "manual")
        assert (manual["spec"]["volumeName"], manual["status"]["capacity"]) == ("small", {"storage": "100Mi"})
        assert h.get("v1", "PersistentVolumeClaim", "too-big")["status"]["phase"] == "Pending"
        [event] = h.events(name="too-big")
        assert event["message"] == "no persistent volumes available for this claim and no storage class is set"
        h.delete("v1", "PersistentVolumeClaim", "manual")
        await h.settle()
        assert h.get("v1", "PersistentVolume", "small")["status"]["phase"] == "Released"  # Retain keeps it

    run(scenario)
