"""Validation of built-in kinds: each rule with the exact words of a Kubernetes 1.36 server."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from k8s_course.sim import quantities
from k8s_course.sim.schema import defaulting, validation
from k8s_course.sim.schema.validation_cron import schedule_error

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference" / "kubernetes-1.36" / "defaulting.json").read_text()
)
UID = "6a1f3c2e-0000-4000-8000-00000000abcd"

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def _body(case: str) -> dict:
    return copy.deepcopy(REFERENCE[case]["request"]["body"])


def _kind_key(obj: dict) -> str:
    return f"{obj['apiVersion']}/{obj['kind']}"


def _defaulted(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    obj["metadata"].setdefault("namespace", "default")
    obj["metadata"].setdefault("uid", UID)
    if obj["kind"] == "Service" and obj["spec"].get("type") != "ExternalName":
        obj["spec"].setdefault("clusterIP", "10.96.0.20")
    defaulting.apply_defaults(_kind_key(obj), obj)
    return obj


def errors_on_create(obj: dict) -> list[str]:
    return [str(e) for e in validation.validate(_kind_key(obj), _defaulted(obj))]


def errors_on_update(new: dict, old: dict) -> list[str]:
    return [str(e) for e in validation.validate(_kind_key(new), new, old)]


@pytest.mark.parametrize("case", sorted(c for c in REFERENCE if not c.startswith("_")))
def test_reference_objects_are_valid_on_create_and_unchanged_update(case):
    obj = _defaulted(_body(case))
    assert validation.validate(_kind_key(obj), obj) == []
    assert validation.validate(_kind_key(obj), obj, copy.deepcopy(obj)) == []


# --- names, labels, annotations --------------------------------------------------------------


def test_uppercase_pod_name_gets_the_subdomain_message():
    pod = _body("pod")
    pod["metadata"]["name"] = "My_Pod"
    assert errors_on_create(pod) == [f'metadata.name: Invalid value: "My_Pod": {SUBDOMAIN_MSG}']


def test_missing_name_is_required():
    pod = _body("pod")
    del pod["metadata"]["name"]
    assert errors_on_create(pod) == ["metadata.name: Required value: name or generateName is required"]


def test_service_names_are_dns_1035_labels():
    service = _body("service-clusterip")
    service["metadata"]["name"] = "1svc"
    assert errors_on_create(service) == [f'metadata.name: Invalid value: "1svc": {DNS1035_MSG}']


def test_namespace_names_are_labels_and_dots_are_called_out():
    assert validation.validate_name("v1/Namespace", "Team") == [LABEL_MSG]
    assert validation.validate_name("v1/Namespace", "team.a") == ["must not contain dots"]
    assert validation.validate_name("v1/Namespace", "a" * 64) == ["must be no more than 63 characters"]


def test_long_subdomain_names_get_the_length_message():
    assert validation.validate_name("v1/ConfigMap", "a" * 254) == ["must be no more than 253 characters"]
    assert validation.validate_name("v1/ConfigMap", "web.example") == []


def test_rbac_names_may_contain_colons_but_not_slashes():
    assert validation.validate_name("rbac.authorization.k8s.io/v1/ClusterRole", "system:reader") == []
    assert validation.validate_name("rbac.authorization.k8s.io/v1/Role", "a/b") == ["may not contain '/'"]


def test_bad_label_key_and_value():
    pod = _body("pod")
    pod["metadata"]["labels"] = {"app/x/y": "ok", "tier": "-bad"}
    assert errors_on_create(pod) == [
        'metadata.labels: Invalid value: "app/x/y": a qualified name must consist of alphanumeric '
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
        "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
        "(e.g. 'example.com/MyName')",
        'metadata.labels: Invalid value: "-bad": a valid label must be an empty string or consist of '
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ]


def test_label_value_longer_than_63_characters():
    pod = _body("pod")
    pod["metadata"]["labels"] = {"app": "a" * 64}
    assert errors_on_create(pod) == [f'metadata.labels: Invalid value: "{"a" * 64}": must be no more than 63 characters']


def test_label_key_with_empty_prefix():
    pod = _body("pod")
    pod["metadata"]["labels"] = {"/app": "x"}
    assert errors_on_create(pod) == ['metadata.labels: Invalid value: "/app": prefix part must be non-empty']


def test_annotations_over_256_kib_are_too_long():
    pod = _body("pod")
    pod["metadata"]["annotations"] = {"big": "x" * (256 * 1024)}
    assert errors_on_create(pod) == ["metadata.annotations: Too long: must have at most 262144 bytes"]


# --- pods -------------------------------------------------------------------------------------


def _pod(*containers: dict, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": list(containers), **spec}}


def test_pod_without_containers():
    assert errors_on_create(_pod()) == ["spec.containers: Required value"]


def test_container_name_and_image_are_required():
    assert errors_on_create(_pod({})) == ["spec.containers[0].name: Required value", "spec.containers[0].image: Required value"]


def test_container_names_are_unique_across_init_and_regular_containers():
    pod = _pod({"name": "app", "image": "a"}, {"name": "app", "image": "b"})
    assert errors_on_create(pod) == ['spec.containers[1].name: Duplicate value: "app"']
    pod = _pod({"name": "app", "image": "a"}, initContainers=[{"name": "app", "image": "b"}])
    assert errors_on_create(pod) == ['spec.containers[0].name: Duplicate value: "app"']


def test_container_name_must_be_a_dns_label():
    assert errors_on_create(_pod({"name": "App", "image": "a"})) == [f'spec.containers[0].name: Invalid value: "App": {LABEL_MSG}']


def test_container_port_out_of_range_and_missing():
    pod = _pod({"name": "a", "image": "x", "ports": [{"containerPort": 70000}, {"name": "http"}]})
    assert errors_on_create(pod) == [
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        "spec.containers[0].ports[1].containerPort: Required value",
    ]


def test_port_names_are_checked_and_unique():
    pod = _pod({"name": "a", "image": "x", "ports": [
        {"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}, {"name": "Web--1", "containerPort": 82},
    ]})
    assert errors_on_create(pod) == [
        'spec.containers[0].ports[1].name: Duplicate value: "http"',
        'spec.containers[0].ports[2].name: Invalid value: "Web--1": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
        'spec.containers[0].ports[2].name: Invalid value: "Web--1": must not contain consecutive hyphens',
    ]


def test_unsupported_port_protocol():
    pod = _pod({"name": "a", "image": "x", "ports": [{"containerPort": 80, "protocol": "tcp"}]})
    assert errors_on_create(pod) == [
        'spec.containers[0].ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"'
    ]


def test_volume_mount_must_name_a_volume():
    pod = _pod({"name": "a", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/data"}]})
    assert errors_on_create(pod) == ['spec.containers[0].volumeMounts[0].name: Not found: "data"']


def test_mount_paths_are_unique_and_required():
    pod = _pod({"name": "a", "image": "x", "volumeMounts": [
        {"name": "v", "mountPath": "/d"}, {"name": "v", "mountPath": "/d"}, {"name": "v"},
    ]}, volumes=[{"name": "v", "emptyDir": {}}])
    assert errors_on_create(pod) == [
        'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/d": must be unique',
        "spec.containers[0].volumeMounts[2].mountPath: Required value",
    ]


def test_volumes_need_unique_names_and_one_type():
    pod = _pod({"name": "a", "image": "x"}, volumes=[
        {"name": "v", "emptyDir": {}, "configMap": {"name": "c"}},
        {"name": "v", "secret": {}},
    ])
    assert errors_on_create(pod) == [
        "spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type",
        "spec.volumes[1].secret.secretName: Required value",
        'spec.volumes[1].name: Duplicate value: "v"',
    ]


def test_requests_above_limits():
    pod = _pod({"name": "a", "image": "x", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}})
    assert errors_on_create(pod) == [
        'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'
    ]


def test_negative_and_unknown_resources():
    pod = _pod({"name": "a", "image": "x", "resources": {"requests": {"memory": "-1Mi", "gpu": "1"}}})
    assert errors_on_create(pod) == [
        'spec.containers[0].resources.requests[memory]: Invalid value: "-1Mi": must be greater than or equal to 0',
        'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers',
    ]


def test_unparseable_quantity_in_an_undefaulted_object_is_reported_not_raised():
    pod = _pod({"name": "a", "image": "x", "resources": {"limits": {"cpu": "lots"}}},
               restartPolicy="Always", dnsPolicy="ClusterFirst")
    errors = [str(e) for e in validation.validate("v1/Pod", pod)]
    assert errors == [
        "spec.containers[0].resources.limits[cpu]: Invalid value: \"lots\": quantities must match the regular "
        "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    ]


def test_probe_needs_exactly_one_handler():
    pod = _pod({"name": "a", "image": "x", "livenessProbe": {"periodSeconds": 5},
                "readinessProbe": {"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}})
    assert errors_on_create(pod) == [
        "spec.containers[0].livenessProbe: Required value: must specify a handler type",
        "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
    ]


def test_liveness_probe_success_threshold_must_be_one_and_ports_in_range():
    pod = _pod({"name": "a", "image": "x", "livenessProbe": {"httpGet": {"port": 0}, "successThreshold": 2}})
    assert errors_on_create(pod) == [
        "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
    ]


def test_env_var_names_are_printable_ascii_without_equals():
    pod = _pod({"name": "a", "image": "x", "env": [{"name": "1_IS_FINE"}, {"name": "A=B"}, {"value": "x"}]})
    assert errors_on_create(pod) == [
        'spec.containers[0].env[1].name: Invalid value: "A=B": a valid environment variable name must '
        "consist only of printable ASCII characters other than '='",
        "spec.containers[0].env[2].name: Required value",
    ]


def test_env_value_and_value_from_together():
    pod = _pod({"name": "a", "image": "x", "env": [
        {"name": "A", "value": "1", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}
    ]})
    assert errors_on_create(pod) == [
        'spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty'
    ]


def test_restart_policy_and_dns_policy_values():
    pod = _pod({"name": "a", "image": "x"}, restartPolicy="Sometimes", dnsPolicy="Google")
    assert errors_on_create(pod) == [
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        'spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
    ]


def test_native_sidecar_restart_policy_is_only_for_init_containers():
    sidecar = {"name": "log", "image": "x", "restartPolicy": "Always", "readinessProbe": {"exec": {"command": ["true"]}}}
    assert errors_on_create(_pod({"name": "a", "image": "x"}, initContainers=[sidecar])) == []
    assert errors_on_create(_pod({"name": "a", "image": "x", "restartPolicy": "Always"})) == [
        "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"
    ]
    init = {"name": "init", "image": "x", "restartPolicy": "OnFailure"}
    assert errors_on_create(_pod({"name": "a", "image": "x"}, initContainers=[init])) == [
        'spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'
    ]


def test_plain_init_containers_may_not_have_probes():
    init = {"name": "init", "image": "x", "livenessProbe": {"exec": {"command": ["true"]}}}
    assert errors_on_create(_pod({"name": "a", "image": "x"}, initContainers=[init])) == [
        "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"
    ]


def test_toleration_seconds_need_no_execute():
    pod = _pod({"name": "a", "image": "x"}, tolerations=[
        {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule", "tolerationSeconds": 10}
    ])
    assert errors_on_create(pod) == [
        "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"
    ]


def test_pod_update_may_change_the_image_only():
    old = _defaulted(_body("pod"))
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.27"
    assert errors_on_update(new, old) == []
    new["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": "TCP"}]
    assert errors_on_update(new, old) == [
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
        "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it "
        "was previously negative)"
    ]


def test_pod_update_may_add_tolerations_but_not_containers():
    old = _defaulted(_body("pod"))
    new = copy.deepcopy(old)
    new["spec"]["tolerations"].append({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"})
    assert errors_on_update(new, old) == []
    new["spec"]["containers"].append({"name": "two", "image": "x"})
    assert errors_on_update(new, old) == ["spec.containers: Forbidden: pod updates may not add or remove containers"]


# --- workloads --------------------------------------------------------------------------------


def test_deployment_selector_must_match_template_labels():
    deployment = _body("deployment")
    deployment["spec"]["template"]["metadata"]["labels"] = {"app": "x"}
    assert errors_on_create(deployment) == [
        'spec.template.metadata.labels: Invalid value: {"app":"x"}: `selector` does not match template `labels`'
    ]


def test_deployment_without_selector_or_with_an_empty_one():
    deployment = _body("deployment")
    del deployment["spec"]["selector"]
    assert errors_on_create(deployment) == ["spec.selector: Required value"]
    deployment["spec"]["selector"] = {}
    assert errors_on_create(deployment) == ["spec.selector: Invalid value: {}: empty selector is invalid for deployment"]


def test_negative_replicas():
    deployment = _body("deployment")
    deployment["spec"]["replicas"] = -1
    assert errors_on_create(deployment) == ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]


def test_deployment_pods_must_restart_always():
    deployment = _body("deployment")
    deployment["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert errors_on_create(deployment) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'
    ]


def test_deployment_template_containers_are_validated_with_their_path():
    deployment = _body("deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = ""
    assert errors_on_create(deployment) == ["spec.template.spec.containers[0].image: Required value"]


def test_max_surge_and_max_unavailable_both_zero():
    deployment = _body("deployment")
    deployment["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}
    assert errors_on_create(deployment) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"
    ]


def test_bad_percentages():
    deployment = _body("deployment")
    deployment["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "lots", "maxUnavailable": "150%"}}
    assert errors_on_create(deployment) == [
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"lots\": a valid percent string must be a numeric "
        "string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
    ]


def test_recreate_with_rolling_update_parameters():
    deployment = _body("deployment")
    deployment["spec"]["strategy"] = {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}
    assert errors_on_create(deployment) == [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"
    ]


def test_deployment_selector_is_immutable():
    old = _defaulted(_body("deployment"))
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "y"}}
    new["spec"]["template"]["metadata"]["labels"] = {"app": "y"}
    assert errors_on_update(new, old) == ['spec.selector: Invalid value: {"matchLabels":{"app":"y"}}: field is immutable']


def test_statefulset_spec_fields_other_than_the_mutable_ones_are_forbidden():
    old = _defaulted(_body("statefulset"))
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    assert errors_on_update(new, old) == []
    new["spec"]["serviceName"] = "other"
    assert errors_on_update(new, old) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
        "'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' "
        "and 'minReadySeconds' are forbidden"
    ]


def test_statefulset_names_are_dns_labels():
    sts = _body("statefulset")
    sts["metadata"]["name"] = "db.primary"
    assert errors_on_create(sts) == ['metadata.name: Invalid value: "db.primary": must not contain dots']


def test_daemonset_rolling_update_may_not_have_both_surge_and_unavailable():
    ds = _body("daemonset")
    ds["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    assert errors_on_create(ds) == [
        "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"
    ]


def test_job_pods_may_not_restart_always():
    job = _body("job")
    del job["spec"]["template"]["spec"]["restartPolicy"]
    assert errors_on_create(job) == ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']


def test_job_with_a_hand_written_selector_is_refused():
    job = _body("job")
    job["spec"]["selector"] = {"matchLabels": {"app": "j"}}
    job["spec"]["template"]["metadata"] = {"labels": {"app": "j"}}
    errors = errors_on_create(job)
    assert errors == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"j","batch.kubernetes.io/controller-uid":"'
        + UID + '"}}: `selector` not auto-generated'
    ]


def test_job_template_is_immutable_once_running():
    old = _defaulted(_body("job"))
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.37"
    errors = errors_on_update(new, old)
    assert len(errors) == 1 and errors[0].startswith("spec.template: Invalid value: ")
    assert errors[0].endswith(": field is immutable")


def test_cronjob_schedule_is_parsed():
    cron = _body("cronjob")
    cron["spec"]["schedule"] = "off"
    assert errors_on_create(cron) == ['spec.schedule: Invalid value: "off": expected exactly 5 fields, found 1: [off]']
    cron["spec"]["schedule"] = "@hourly"
    assert errors_on_create(cron) == []
    del cron["spec"]["schedule"]
    assert errors_on_create(cron) == ["spec.schedule: Required value"]


@pytest.mark.parametrize(
    "schedule, error",
    [
        ("*/5 * * * *", None),
        ("0 9 * * mon-fri", None),
        ("0 0 1 jan,jul *", None),
        ("0 24 * * *", "end of range (24) above maximum (23): 24"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("*/5 * * * * *", "expected exactly 5 fields, found 6: [*/5 * * * * *]"),
        ("@sometimes", "unrecognized descriptor: @sometimes"),
        ("@every 1h30m", None),
    ],
)
def test_cron_schedules(schedule, error):
    assert schedule_error(schedule) == error


def test_cronjob_names_leave_room_for_the_job_suffix():
    cron = _body("cronjob")
    cron["metadata"]["name"] = "c" * 53
    assert errors_on_create(cron) == [f'metadata.name: Invalid value: "{"c" * 53}": must be no more than 52 characters']


def test_cronjob_schedule_may_not_carry_a_time_zone():
    cron = _body("cronjob")
    cron["spec"]["schedule"] = "TZ=UTC 0 * * * *"
    assert errors_on_create(cron) == [
        'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead'
    ]


# --- services, claims, config -----------------------------------------------------------------


def _service(ports: list, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": ports, "selector": {"a": "b"}, **spec}}


def test_service_needs_ports_unless_headless():
    assert errors_on_create(_service([])) == ["spec.ports: Required value"]
    assert errors_on_create(_service([], clusterIP="None")) == []


def test_service_port_names_required_and_unique_when_several():
    assert errors_on_create(_service([{"port": 80}, {"name": "b", "port": 81}])) == ["spec.ports[0].name: Required value"]
    assert errors_on_create(_service([{"name": "a", "port": 80}, {"name": "a", "port": 81}])) == [
        'spec.ports[1].name: Duplicate value: "a"'
    ]


def test_service_port_range_and_type():
    # targetPort defaults to port, so a zero port is reported twice, as on a real server.
    assert errors_on_create(_service([{"port": 0}], type="Magic")) == [
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ]


def test_node_port_outside_the_range_and_on_cluster_ip_services():
    assert errors_on_create(_service([{"port": 80, "nodePort": 80}], type="NodePort")) == [
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
    ]
    assert errors_on_create(_service([{"port": 80, "nodePort": 30080}])) == [
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
    ]


def test_service_cluster_ip_may_not_change():
    old = _defaulted(_body("service-headless"))
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.7"
    new["spec"]["clusterIPs"] = ["10.96.0.7"]
    assert errors_on_update(new, old) == ['spec.clusterIPs[0]: Invalid value: ["10.96.0.7"]: may not change once set']


def test_pvc_needs_access_modes_and_storage():
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": {}}
    assert errors_on_create(claim) == [
        "spec.accessModes: Required value: at least 1 access mode is required",
        "spec.resources[storage]: Required value",
    ]


def test_pvc_spec_is_immutable():
    old = _defaulted(_body("pvc"))
    new = copy.deepcopy(old)
    new["spec"]["accessModes"] = ["ReadWriteMany"]
    assert errors_on_update(new, old) == [
        "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
    ]


def test_config_map_keys():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"app.conf": "", "bad key": ""}}
    assert errors_on_create(cm) == [
        "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, "
        "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
    ]


def test_tls_secret_needs_its_keys_and_type_is_immutable():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}
    assert errors_on_create(secret) == ["data[tls.key]: Required value"]
    old = _defaulted(_body("secret"))
    new = copy.deepcopy(old)
    new["type"] = "kubernetes.io/basic-auth"
    assert errors_on_update(new, old) == ['type: Invalid value: "kubernetes.io/basic-auth": field is immutable']


def test_immutable_config_map_keeps_its_data():
    old = _defaulted({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}, "immutable": True})
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    assert errors_on_update(new, old) == ["data: Forbidden: field is immutable when `immutable` is set"]


# --- quantities -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [("100m", Decimal("0.1")), ("128Mi", Decimal(128 * 1024**2)), ("1Gi", Decimal(1024**3)),
     ("2", Decimal(2)), ("1e3", Decimal(1000)), ("0.1m", Decimal("0.0001")), ("1n", Decimal("1e-9"))],
)
def test_quantities_parse_to_exact_values(text, value):
    assert quantities.parse_quantity(text) == value


@pytest.mark.parametrize(
    "text, canonical",
    [("0.5", "500m"), ("1.5Gi", "1536Mi"), ("1000", "1k"), ("1000m", "1"), ("1e3", "1e3"),
     ("512Ki", "512Ki"), ("0.5Ki", "512"), ("1.5Ki", "1536"), ("0", "0")],
)
def test_quantities_are_written_in_canonical_form(text, canonical):
    assert quantities.canonical_quantity(text) == canonical


@pytest.mark.parametrize("text", ["abc", "", "1 Gi", "1Qi"])
def test_malformed_quantities_use_the_servers_words(text):
    with pytest.raises(quantities.QuantityError) as caught:
        quantities.parse_quantity(text)
    assert str(caught.value) == (
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


def test_a_number_with_two_points_is_a_numeric_error():
    with pytest.raises(quantities.QuantityError, match="unable to parse quantity's numeric part"):
        quantities.parse_quantity("1.2.3")
