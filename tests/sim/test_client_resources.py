"""The official client does every verb on every resource the simulator serves."""

from __future__ import annotations

import json
import threading

import pytest
from kubernetes import client, dynamic, watch

POD_SPEC = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
TEMPLATE = {"metadata": {"labels": {"app": "x"}}, "spec": POD_SPEC}
SELECTOR = {"matchLabels": {"app": "x"}}

# (apiVersion, kind, the body beyond apiVersion/kind/metadata, a label-free field to change)
RESOURCES = [
    ("v1", "ConfigMap", {"data": {"a": "1"}}),
    ("v1", "Secret", {"stringData": {"user": "admin"}}),
    ("v1", "ServiceAccount", {}),
    ("v1", "Pod", {"spec": POD_SPEC}),
    ("v1", "Service", {"spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}),
    ("v1", "Endpoints", {"subsets": [{"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 80}]}]}),
    ("v1", "Event", {"involvedObject": {"kind": "Pod", "name": "p", "namespace": "NS"},
                     "reason": "Test", "message": "hello", "type": "Normal"}),
    ("v1", "PersistentVolumeClaim", {"spec": {"accessModes": ["ReadWriteOnce"],
                                              "resources": {"requests": {"storage": "1Gi"}}}}),
    ("apps/v1", "Deployment", {"spec": {"replicas": 1, "selector": SELECTOR, "template": TEMPLATE}}),
    ("apps/v1", "ReplicaSet", {"spec": {"replicas": 1, "selector": SELECTOR, "template": TEMPLATE}}),
    ("apps/v1", "StatefulSet", {"spec": {"serviceName": "x", "selector": SELECTOR, "template": TEMPLATE}}),
    ("apps/v1", "DaemonSet", {"spec": {"selector": SELECTOR, "template": TEMPLATE}}),
    ("apps/v1", "ControllerRevision", {"revision": 1, "data": {"spec": {}}}),
    ("batch/v1", "Job", {"spec": {"template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}}}),
    ("batch/v1", "CronJob", {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {
        "spec": {"template": {"spec": {**POD_SPEC, "restartPolicy": "OnFailure"}}}}}}),
    ("discovery.k8s.io/v1", "EndpointSlice", {"addressType": "IPv4",
                                              "endpoints": [{"addresses": ["10.244.1.5"]}],
                                              "ports": [{"port": 80, "protocol": "TCP"}]}),
    ("coordination.k8s.io/v1", "Lease", {"spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}),
    ("events.k8s.io/v1", "Event", {"eventTime": "2026-11-26T10:00:00.000000Z", "reportingController": "test",
                                   "reportingInstance": "test-1", "action": "Testing", "reason": "Test",
                                   "type": "Normal", "regarding": {"kind": "Pod", "name": "p"}}),
    ("rbac.authorization.k8s.io/v1", "Role", {"rules": [{"apiGroups": [""], "resources": ["pods"],
                                                         "verbs": ["get"]}]}),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", {"roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                                 "kind": "Role", "name": "r"},
                                                     "subjects": [{"kind": "ServiceAccount", "name": "default"}]}),
    ("policy/v1", "PodDisruptionBudget", {"spec": {"minAvailable": 1, "selector": SELECTOR}}),
]

CLUSTER_RESOURCES = [
    ("storage.k8s.io/v1", "StorageClass", {"provisioner": "rancher.io/local-path",
                                           "volumeBindingMode": "WaitForFirstConsumer"}),
    ("v1", "PersistentVolume", {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                         "hostPath": {"path": "/data"}}}),
    ("v1", "Node", {}),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", {"rules": [{"apiGroups": [""], "resources": ["nodes"],
                                                                "verbs": ["list"]}]}),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", {
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
        "subjects": [{"kind": "User", "name": "someone", "apiGroup": "rbac.authorization.k8s.io"}]}),
]


@pytest.fixture(scope="module")
def dyn(api_client):
    return dynamic.DynamicClient(api_client)


def _body(api_version, kind, rest, name, namespace=None):
    text = json.dumps(rest).replace('"NS"', f'"{namespace}"')
    body = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "labels": {"suite": "crud"}}}
    body.update(json.loads(text))
    return body


def _every_verb(dyn, api_version, kind, rest, namespace):
    resource = dyn.resources.get(api_version=api_version, kind=kind)
    name = f"{kind.lower()}-one"
    scope = {"namespace": namespace} if namespace else {}
    created = resource.create(body=_body(api_version, kind, rest, name, namespace), **scope)
    assert created.metadata.name == name and created.metadata.uid
    got = resource.get(name=name, **scope)
    assert got.metadata.uid == created.metadata.uid  # controllers may have written since
    listed = resource.get(label_selector="suite=crud", **scope)
    assert name in [item.metadata.name for item in listed.items]

    # merge patch, JSON patch, strategic merge patch, apply: each one is seen by get
    resource.patch(name=name, body={"metadata": {"labels": {"merge": "yes"}}},
                   content_type="application/merge-patch+json", **scope)
    resource.patch(name=name, body=[{"op": "add", "path": "/metadata/labels/json", "value": "yes"}],
                   content_type="application/json-patch+json", **scope)
    resource.patch(name=name, body={"metadata": {"labels": {"strategic": "yes"}}},
                   content_type="application/strategic-merge-patch+json", **scope)
    resource.server_side_apply(name=name, body={"apiVersion": api_version, "kind": kind,
                                                "metadata": {"name": name, "annotations": {"applied": "yes"}}},
                               field_manager="crud-test", **scope)
    patched = resource.get(name=name, **scope)
    assert {"merge", "json", "strategic"} <= set(patched.metadata.labels.keys())
    assert patched.metadata.annotations["applied"] == "yes"

    replacement = patched.to_dict()
    replacement["metadata"]["labels"]["replaced"] = "yes"
    replaced = resource.replace(body=replacement, **scope)
    assert replaced.metadata.labels["replaced"] == "yes"
    assert int(replaced.metadata.resourceVersion) > int(patched.metadata.resourceVersion)

    resource.delete(name=name, **scope)
    # pods without a node and objects without finalizers go at once; a claim or volume nothing
    # uses goes as soon as the protection controller has released it
    seen = []
    for event in dyn.watch(resource, namespace=namespace, field_selector=f"metadata.name={name}",
                           resource_version=replaced.metadata.resourceVersion, timeout=5):
        seen.append(event["type"])
        if event["type"] == "DELETED":
            break
    assert seen[-1] == "DELETED"
    with pytest.raises(dynamic.exceptions.NotFoundError):
        resource.get(name=name, **scope)


@pytest.mark.parametrize("api_version,kind,rest", RESOURCES, ids=[f"{a}/{k}" for a, k, _ in RESOURCES])
def test_the_official_client_does_every_verb_on_a_namespaced_resource(dyn, namespace, api_version, kind, rest):
    _every_verb(dyn, api_version, kind, rest, namespace)


@pytest.mark.parametrize("api_version,kind,rest", CLUSTER_RESOURCES,
                         ids=[f"{a}/{k}" for a, k, _ in CLUSTER_RESOURCES])
def test_the_official_client_does_every_verb_on_a_cluster_resource(dyn, api_version, kind, rest):
    _every_verb(dyn, api_version, kind, rest, None)


def test_a_watch_sees_added_modified_and_deleted(api_client, namespace):
    core = client.CoreV1Api(api_client)
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    seen = []

    def follow():
        w = watch.Watch()
        for event in w.stream(core.list_namespaced_config_map, namespace, resource_version=start,
                              timeout_seconds=10):
            seen.append((event["type"], event["object"].data))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=follow)
    thread.start()
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="watched"), data={"step": "1"}))
    core.patch_namespaced_config_map("watched", namespace, {"data": {"step": "2"}})
    core.delete_namespaced_config_map("watched", namespace)
    thread.join(timeout=15)
    assert seen == [("ADDED", {"step": "1"}), ("MODIFIED", {"step": "2"}), ("DELETED", {"step": "2"})]


def test_a_stale_update_is_a_conflict(api_client, namespace):
    core = client.CoreV1Api(api_client)
    first = core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="stale"), data={"v": "1"}))
    core.patch_namespaced_config_map("stale", namespace, {"data": {"v": "2"}})
    first.data["v"] = "3"
    with pytest.raises(client.ApiException) as caught:
        core.replace_namespaced_config_map("stale", namespace, first)
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["message"] == (
        'Operation cannot be fulfilled on configmaps "stale": the object has been modified; '
        "please apply your changes to the latest version and try again")


def test_creating_twice_is_already_exists(api_client, namespace):
    core = client.CoreV1Api(api_client)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="twice"))
    core.create_namespaced_config_map(namespace, body)
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_config_map(namespace, body)
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["message"] == 'configmaps "twice" already exists'


def test_generate_name_gives_a_five_character_suffix(api_client, namespace):
    core = client.CoreV1Api(api_client)
    made = core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(generate_name="cfg-")))
    assert made.metadata.name.startswith("cfg-") and len(made.metadata.name) == len("cfg-") + 5


def test_list_pages_with_limit_and_continue(api_client, namespace):
    core = client.CoreV1Api(api_client)
    for index in range(7):
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=f"page-{index}", labels={"paged": "yes"})))
    names, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map(namespace, label_selector="paged=yes", limit=3,
                                               _continue=token)
        names += [item.metadata.name for item in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert pages == 3 and names == [f"page-{i}" for i in range(7)]


def test_generation_moves_with_the_spec_only(api_client, namespace):
    apps = client.AppsV1Api(api_client)
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gen"},
            "spec": {"replicas": 1, "selector": SELECTOR, "template": TEMPLATE}}
    made = apps.create_namespaced_deployment(namespace, body)
    assert made.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment("gen", namespace, {"metadata": {"labels": {"a": "b"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("gen", namespace, {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2


def test_a_finalizer_holds_an_object_until_it_is_removed(api_client, namespace):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="held", finalizers=["example.com/hold"])))
    core.delete_namespaced_config_map("held", namespace)
    held = core.read_namespaced_config_map("held", namespace)
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_config_map("held", namespace)
    assert caught.value.status == 404


def test_dry_run_stores_nothing(api_client, namespace):
    core = client.CoreV1Api(api_client)
    answer = core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="dry")), dry_run="All")
    assert answer.metadata.name == "dry"
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_config_map("dry", namespace)
    assert caught.value.status == 404


def test_the_scale_subresource_reads_and_writes_replicas(api_client, namespace):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "scaled"},
        "spec": {"replicas": 1, "selector": SELECTOR, "template": TEMPLATE}})
    scale = apps.read_namespaced_deployment_scale("scaled", namespace)
    assert scale.spec.replicas == 1 and scale.status.selector == "app=x"
    apps.patch_namespaced_deployment_scale("scaled", namespace, {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("scaled", namespace).spec.replicas == 4


def test_services_get_a_cluster_ip_from_the_service_range(api_client, namespace):
    core = client.CoreV1Api(api_client)
    made = core.create_namespaced_service(namespace, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 80, "targetPort": 8080}], "type": "NodePort"}})
    import ipaddress

    assert ipaddress.ip_address(made.spec.cluster_ip) in ipaddress.ip_network("10.96.0.0/12")
    assert 30000 <= made.spec.ports[0].node_port <= 32767
    assert made.spec.ports[0].protocol == "TCP"


def test_deleting_a_namespace_removes_what_it_holds(api_client):
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="short-lived")))
    core.create_namespaced_config_map("short-lived", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")))
    core.delete_namespace("short-lived")
    w = watch.Watch()
    for event in w.stream(core.list_namespace, field_selector="metadata.name=short-lived", timeout_seconds=10):
        if event["type"] == "DELETED":
            w.stop()
    with pytest.raises(client.ApiException) as caught:
        core.read_namespace("short-lived")
    assert caught.value.status == 404


def test_a_new_namespace_gets_its_default_service_account(api_client, namespace):
    core = client.CoreV1Api(api_client)
    w = watch.Watch()
    names = []
    for event in w.stream(core.list_namespaced_service_account, namespace, timeout_seconds=5):
        names.append(event["object"].metadata.name)
        if "default" in names:
            w.stop()
    assert "default" in names
