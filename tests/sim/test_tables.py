"""`kubectl get` tables: the columns and cells a real API server sends."""

from datetime import datetime, timezone

import pytest

from k8s_course.sim.api import tables

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
FIVE_MINUTES_AGO = "2025-01-01T11:55:00Z"


def meta(name, created=FIVE_MINUTES_AGO, **extra):
    return {"name": name, "namespace": "shop", "creationTimestamp": created, "uid": "u-1", **extra}


def one_row(kind_key, obj, **options):
    table = tables.render_table(kind_key, [obj], NOW, **options)
    names = [column["name"] for column in table["columnDefinitions"]]
    return dict(zip(names, table["rows"][0]["cells"], strict=True)), table


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"), (-1, "0s"), (12, "12s"), (119, "119s"), (303, "5m3s"), (600, "10m"),
        (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (5 * 3600 + 60, "5h1m"), (30 * 3600, "30h"),
        (2 * 86400, "2d"), (3 * 86400 + 3600, "3d1h"), (10 * 86400, "10d"),
        (3 * 365 * 86400 + 125 * 86400, "3y125d"), (9 * 365 * 86400, "9y"),
    ],
)  # fmt: skip
def test_human_duration_follows_kubernetes(seconds, text):
    assert tables.human_duration(seconds) == text


def test_table_shape_matches_meta_k8s_io_v1():
    row, table = one_row("v1/ConfigMap", {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"}})
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["columnDefinitions"][0] == {
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": table["columnDefinitions"][0]["description"],
    }  # fmt: skip
    assert table["columnDefinitions"][0]["description"] == "The object's name, unique in its namespace."
    assert row == {"Name": "cfg", "Data": 2, "Age": "5m"}
    assert table["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta("cfg"),
    }  # fmt: skip


def test_include_object_and_no_headers_options():
    config_map = {"metadata": meta("cfg")}
    full = tables.render_table("v1/ConfigMap", [config_map], NOW, include_object="Object")
    assert full["rows"][0]["object"] == config_map
    bare = tables.render_table("v1/ConfigMap", [config_map], NOW, include_object="None", include_headers=False)
    assert bare["rows"][0]["object"] is None
    assert "columnDefinitions" not in bare


def pod(status, spec=None, **metadata):
    containers = [{"name": "app", "image": "nginx"}]
    return {"metadata": meta("web-1", **metadata), "spec": {"containers": containers, **(spec or {})}, "status": status}


def running(name="app", ready=True, restarts=0, **extra):
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {}}, **extra}


def test_pod_columns_and_wide_priorities():
    _, table = one_row("v1/Pod", pod({"phase": "Pending"}))
    columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0),
        ("IP", 1), ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1),
    ]  # fmt: skip


def test_a_running_pod_row():
    row, _ = one_row(
        "v1/Pod",
        pod({"phase": "Running", "podIPs": [{"ip": "10.244.1.5"}], "containerStatuses": [running()]}, {"nodeName": "n1"}),
    )
    assert row == {
        "Name": "web-1", "Ready": "1/1", "Status": "Running", "Restarts": "0", "Age": "5m",
        "IP": "10.244.1.5", "Node": "n1", "Nominated Node": "<none>", "Readiness Gates": "<none>",
    }  # fmt: skip


def test_crash_looping_pod_shows_reason_and_last_restart():
    status = {
        "phase": "Running",
        "containerStatuses": [
            {"name": "app", "ready": False, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2025-01-01T11:58:00Z"}}},
        ],
    }  # fmt: skip
    row, _ = one_row("v1/Pod", pod(status))
    assert (row["Ready"], row["Status"], row["Restarts"]) == ("0/1", "CrashLoopBackOff", "3 (2m ago)")


@pytest.mark.parametrize(
    ("init_statuses", "expected"),
    [
        ([{"name": "init", "state": {"waiting": {"reason": "PodInitializing"}}}], "Init:0/1"),
        ([{"name": "init", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "restartCount": 2}], "Init:CrashLoopBackOff"),
        ([{"name": "init", "state": {"terminated": {"exitCode": 2}}}], "Init:ExitCode:2"),
        ([{"name": "init", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}], "Init:Error"),
    ],
)  # fmt: skip
def test_initializing_pods(init_statuses, expected):
    spec = {"initContainers": [{"name": "init", "image": "busybox"}]}
    row, _ = one_row("v1/Pod", pod({"phase": "Pending", "initContainerStatuses": init_statuses}, spec))
    assert row["Status"] == expected


def test_pod_initializing_and_container_creating_come_from_main_container_waits():
    status = {
        "phase": "Pending",
        "initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
        "containerStatuses": [{"name": "app", "ready": False, "state": {"waiting": {"reason": "PodInitializing"}}}],
    }
    row, _ = one_row("v1/Pod", pod(status, {"initContainers": [{"name": "init"}]}))
    assert row["Status"] == "PodInitializing"


def test_native_sidecars_count_towards_ready_and_total():
    spec = {"initContainers": [{"name": "proxy", "restartPolicy": "Always"}]}
    status = {
        "phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
        "initContainerStatuses": [running("proxy", started=True, restarts=1,
                                          lastState={"terminated": {"finishedAt": "2025-01-01T11:50:00Z"}})],
        "containerStatuses": [running()],
    }  # fmt: skip
    row, _ = one_row("v1/Pod", pod(status, spec))
    assert (row["Ready"], row["Status"], row["Restarts"]) == ("2/2", "Running", "1 (10m ago)")


def test_completed_pods_carry_a_row_condition():
    status = {"phase": "Succeeded", "containerStatuses": [
        {"name": "app", "ready": False, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}  # fmt: skip
    row, table = one_row("v1/Pod", pod(status))
    assert row["Status"] == "Completed"
    assert table["rows"][0]["conditions"][0]["reason"] == "Succeeded"


def test_deleted_pods_are_terminating_or_unknown_on_a_lost_node():
    row, _ = one_row("v1/Pod", pod({"phase": "Running"}, deletionTimestamp="2025-01-01T11:59:00Z"))
    assert row["Status"] == "Terminating"
    row, _ = one_row("v1/Pod", pod({"phase": "Running", "reason": "NodeLost"}, deletionTimestamp="2025-01-01T11:59:00Z"))
    assert row["Status"] == "Unknown"


def test_readiness_gates_count_true_conditions():
    spec = {"readinessGates": [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]}
    row, _ = one_row("v1/Pod", pod({"phase": "Running", "conditions": [{"type": "example.com/lb", "status": "True"}]}, spec))
    assert row["Readiness Gates"] == "1/2"


def test_deployment_row():
    deployment = {
        "metadata": meta("web"),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }  # fmt: skip
    row, _ = one_row("apps/v1/Deployment", deployment)
    assert row == {"Name": "web", "Ready": "2/3", "Up-to-date": 3, "Available": 2, "Age": "5m",
                   "Containers": "web", "Images": "nginx:1.27", "Selector": "app=web"}  # fmt: skip


def test_stateful_set_and_replica_set_rows():
    template = {"spec": {"containers": [{"name": "db", "image": "postgres"}]}}
    row, _ = one_row("apps/v1/StatefulSet", {"metadata": meta("db"), "spec": {"replicas": 3, "template": template},
                                             "status": {"readyReplicas": 1}})  # fmt: skip
    assert list(row.values()) == ["db", "1/3", "5m", "db", "postgres"]
    row, _ = one_row("apps/v1/ReplicaSet", {"metadata": meta("web-abc"), "spec": {"replicas": 2, "template": template,
                     "selector": {"matchLabels": {"app": "web"}}}, "status": {"replicas": 2, "readyReplicas": 1}})  # fmt: skip
    assert list(row.values()) == ["web-abc", 2, 2, 1, "5m", "db", "postgres", "app=web"]


def test_job_rows_show_status_completions_and_duration():
    job = {"metadata": meta("backup"), "spec": {"completions": 1, "template": {"spec": {"containers": []}}},
           "status": {"succeeded": 1, "startTime": "2025-01-01T11:56:00Z", "completionTime": "2025-01-01T11:56:42Z",
                      "conditions": [{"type": "Complete", "status": "True"}]}}  # fmt: skip
    row, _ = one_row("batch/v1/Job", job)
    assert (row["Status"], row["Completions"], row["Duration"]) == ("Complete", "1/1", "42s")
    running_job = {"metadata": meta("j"), "spec": {"parallelism": 2}, "status": {"startTime": "2025-01-01T11:57:00Z"}}
    row, _ = one_row("batch/v1/Job", running_job)
    assert (row["Status"], row["Completions"], row["Duration"]) == ("Running", "0/1 of 2", "3m")


def test_cron_job_row():
    cron = {"metadata": meta("nightly"), "spec": {"schedule": "0 2 * * *", "suspend": False},
            "status": {"active": [{"name": "x"}], "lastScheduleTime": "2025-01-01T11:00:00Z"}}  # fmt: skip
    row, _ = one_row("batch/v1/CronJob", cron)
    assert [row[k] for k in ("Schedule", "Timezone", "Suspend", "Active", "Last Schedule")] == [
        "0 2 * * *", "<none>", "False", 1, "60m"]  # fmt: skip


def test_service_rows():
    service = {"metadata": meta("web"), "spec": {"type": "NodePort", "clusterIPs": ["10.96.0.12"], "selector": {"app": "web"},
               "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30080, "protocol": "TCP"}]}}  # fmt: skip
    row, _ = one_row("v1/Service", service)
    assert row == {"Name": "web", "Type": "NodePort", "Cluster-IP": "10.96.0.12", "External-IP": "<none>",
                   "Port(s)": "80/TCP,443:30080/TCP", "Age": "5m", "Selector": "app=web"}  # fmt: skip
    balancer = {"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.13", "ports": []}}
    row, _ = one_row("v1/Service", balancer)
    assert (row["External-IP"], row["Port(s)"], row["Selector"]) == ("<pending>", "<none>", "<none>")


def test_endpoints_and_endpoint_slices_list_three_then_more():
    endpoints = {"metadata": meta("web"), "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(5)],
                                                      "ports": [{"port": 80}]}]}  # fmt: skip
    row, _ = one_row("v1/Endpoints", endpoints)
    assert row["Endpoints"] == "10.0.0.0:80,10.0.0.1:80,10.0.0.2:80 + 2 more..."
    row, _ = one_row("v1/Endpoints", {"metadata": meta("none")})
    assert row["Endpoints"] == "<none>"
    sliced = {"metadata": meta("web-x"), "addressType": "IPv4", "ports": [{"port": 80}],
              "endpoints": [{"addresses": ["10.0.0.1"]}]}  # fmt: skip
    row, _ = one_row("discovery.k8s.io/v1/EndpointSlice", sliced)
    assert [row["AddressType"], row["Ports"], row["Endpoints"]] == ["IPv4", "80", "10.0.0.1"]


def test_node_rows_show_status_roles_and_addresses():
    node = {
        "metadata": meta("floor-1", labels={"node-role.kubernetes.io/control-plane": ""}),
        "spec": {"unschedulable": True},
        "status": {"conditions": [{"type": "Ready", "status": "Unknown"}],
                   "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                   "nodeInfo": {"kubeletVersion": "v1.36.0", "osImage": "Debian"}},
    }  # fmt: skip
    row, _ = one_row("v1/Node", node)
    assert [row[k] for k in ("Status", "Roles", "Version", "Internal-IP", "External-IP", "OS-Image", "Kernel-Version")] == [
        "NotReady,SchedulingDisabled", "control-plane", "v1.36.0", "172.18.0.2", "<none>", "Debian", "<unknown>"]  # fmt: skip


def test_event_rows_name_the_object_and_put_wide_columns_last():
    event = {"metadata": meta("web-1.17a"), "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
             "reason": "BackOff", "type": "Warning", "message": "Back-off restarting failed container\n",
             "source": {"component": "kubelet", "host": "floor-1"}, "count": 4,
             "firstTimestamp": "2025-01-01T11:50:00Z", "lastTimestamp": "2025-01-01T11:59:30Z"}  # fmt: skip
    row, table = one_row("v1/Event", event)
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert row == {"Last Seen": "30s", "Type": "Warning", "Reason": "BackOff", "Object": "pod/web-1",
                   "Subobject": "spec.containers{app}", "Source": "kubelet, floor-1",
                   "Message": "Back-off restarting failed container", "First Seen": "10m", "Count": 4, "Name": "web-1.17a"}  # fmt: skip


def test_events_k8s_io_events_print_through_the_same_columns():
    event = {"metadata": meta("e"), "regarding": {"kind": "Node", "name": "floor-2"}, "reason": "NodeNotReady",
             "type": "Normal", "note": "Node is not ready", "eventTime": "2025-01-01T11:59:00.000000Z",
             "reportingController": "node-controller"}  # fmt: skip
    row, _ = one_row("events.k8s.io/v1/Event", event)
    assert [row[k] for k in ("Last Seen", "Object", "Source", "Message", "Count")] == [
        "60s", "node/floor-2", "node-controller", "Node is not ready", 1]  # fmt: skip


def test_small_kinds():
    assert list(one_row("v1/Namespace", {"metadata": meta("shop"), "status": {"phase": "Active"}})[0].values()) == ["shop", "Active", "5m"]
    assert list(one_row("v1/Secret", {"metadata": meta("s"), "type": "Opaque", "data": {"a": "eA=="}})[0].values()) == ["s", "Opaque", 1, "5m"]
    assert list(one_row("coordination.k8s.io/v1/Lease", {"metadata": meta("l"), "spec": {"holderIdentity": "pg-0"}})[0].values()) == ["l", "pg-0", "5m"]
    pvc = {"metadata": meta("data-db-0"), "spec": {"volumeName": "pv-1", "storageClassName": "standard"},
           "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}}  # fmt: skip
    assert list(one_row("v1/PersistentVolumeClaim", pvc)[0].values()) == [
        "data-db-0", "Bound", "pv-1", "1Gi", "RWO", "standard", "<unset>", "5m", "<unset>"]  # fmt: skip


def test_role_bindings_pdbs_and_controller_revisions():
    binding = {"metadata": meta("read"), "roleRef": {"kind": "Role", "name": "reader"},
               "subjects": [{"kind": "ServiceAccount", "namespace": "shop", "name": "op"}, {"kind": "User", "name": "ann"}]}  # fmt: skip
    assert list(one_row("rbac.authorization.k8s.io/v1/RoleBinding", binding)[0].values()) == [
        "read", "Role/reader", "5m", "ann", "", "shop/op"]  # fmt: skip
    pdb = {"metadata": meta("db"), "spec": {"minAvailable": 1}, "status": {"disruptionsAllowed": 0}}
    assert list(one_row("policy/v1/PodDisruptionBudget", pdb)[0].values()) == ["db", "1", "N/A", 0, "5m"]
    revision = {"metadata": meta("db-7c9", ownerReferences=[{"apiVersion": "apps/v1", "kind": "StatefulSet",
                "name": "db", "controller": True}]), "revision": 2}  # fmt: skip
    assert list(one_row("apps/v1/ControllerRevision", revision)[0].values()) == ["db-7c9", "statefulset.apps/db", 2, "5m"]


def test_built_in_kinds_without_a_printer_show_created_at():
    row, table = one_row("apiextensions.k8s.io/v1/CustomResourceDefinition", {"metadata": meta("pg.example.com")})
    assert row == {"Name": "pg.example.com", "Created At": "2025-01-01T11:55:00Z"}
    assert table["columnDefinitions"][1]["type"] == "date"


def test_custom_resources_use_their_printer_columns():
    columns = [
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Primary", "type": "string", "jsonPath": ".status.primary", "description": "Current primary"},
        {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status', "priority": 1},
        {"name": "Since", "type": "date", "jsonPath": ".status.since"},
    ]
    cluster = {"metadata": meta("pg"), "spec": {"replicas": 3},
               "status": {"primary": "pg-0", "since": "2025-01-01T11:00:00Z", "conditions": [{"type": "Ready", "status": "True"}]}}  # fmt: skip
    row, table = one_row("example.com/v1/PostgresCluster", cluster, printer_columns=columns)
    assert row == {"Name": "pg", "Replicas": 3, "Primary": "pg-0", "Ready": "True", "Since": "60m"}
    definitions = table["columnDefinitions"]
    assert definitions[1]["description"] == "Custom resource definition column (in JSONPath format): .spec.replicas"
    assert (definitions[2]["description"], definitions[3]["priority"]) == ("Current primary", 1)
    row, _ = one_row("example.com/v1/PostgresCluster", {"metadata": meta("bare")}, printer_columns=columns)
    assert row == {"Name": "bare", "Replicas": None, "Primary": None, "Ready": None, "Since": None}


def test_custom_resources_without_printer_columns_show_age():
    row, table = one_row("example.com/v1/PostgresCluster", {"metadata": meta("pg")}, printer_columns=[])
    assert row == {"Name": "pg", "Age": "5m"}
    assert table["columnDefinitions"][1]["type"] == "date"
    assert one_row("example.com/v1/Other", {"metadata": meta("x")})[0] == {"Name": "x", "Age": "5m"}
