"""The built-in types table: decoding errors, unknown fields, pruning, merge keys, OpenAPI."""

import pytest

from k8s_course.sim.schema import types


def deployment(**spec):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]},
            },
            **spec,
        },
    }


def test_a_valid_deployment_has_no_findings():
    found = types.inspect("apps/v1/Deployment", deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}))
    assert found.type_errors == [] and found.unknown_fields == []


def test_a_string_replica_count_is_worded_as_go_decoding_words_it():
    found = types.inspect("apps/v1/Deployment", deployment(replicas="3"))
    assert found.type_errors == [
        "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    ]


def test_type_errors_name_the_innermost_struct_and_the_path_without_indices():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "80"
    obj["spec"]["template"]["spec"]["restartPolicy"] = 1
    found = types.inspect("apps/v1/Deployment", obj)
    assert found.type_errors == [
        "json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32",
        "json: cannot unmarshal number into Go struct field PodSpec.spec.template.spec.restartPolicy of type v1.RestartPolicy",
    ]


def test_label_values_must_be_strings_and_lists_must_be_lists():
    obj = deployment()
    obj["metadata"]["labels"]["tier"] = 3
    obj["spec"]["template"]["spec"]["containers"] = {"name": "app"}
    found = types.inspect("apps/v1/Deployment", obj)
    assert found.type_errors == [
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string",
        "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container",
    ]


def test_fractional_and_overflowing_integers_quote_the_number():
    found = types.inspect("apps/v1/Deployment", deployment(replicas=1.5))
    assert found.type_errors == [
        "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
    ]
    found = types.inspect("apps/v1/Deployment", deployment(replicas=2**31))
    assert "number 2147483648" in found.type_errors[0]


def test_quantities_accept_strings_and_numbers_but_not_nonsense():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": 128}, "limits": {"cpu": "lots"}}}]}}
    assert types.inspect("v1/Pod", pod).type_errors == [types.QUANTITY_FORMAT_ERROR]


def test_int_or_string_accepts_both_and_null_is_always_fine():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "annotations": None},
           "spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}]}}
    assert types.inspect("v1/Service", svc).type_errors == []
    svc["spec"]["ports"][0]["targetPort"] = True
    assert types.inspect("v1/Service", svc).type_errors == ["json: cannot unmarshal bool into Go value of type int32"]


def test_secret_data_must_be_base64():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"ok": "aGVsbG8=", "bad": "hello!"}}
    assert types.inspect("v1/Secret", secret).type_errors == ["illegal base64 data at input byte 5"]


def test_unknown_fields_are_dotted_paths_with_list_indices():
    obj = deployment(foo=1)
    obj["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    obj["metadata"]["Labels"] = {}  # field names are case sensitive
    found = types.inspect("apps/v1/Deployment", obj)
    # in document order, as Go's decoder meets them
    assert found.unknown_fields == ["metadata.Labels", "spec.template.spec.containers[0].imagee", "spec.foo"]
    assert types.strict_decoding_message(found.unknown_fields[2:]) == 'strict decoding error: unknown field "spec.foo"'
    assert types.unknown_field_warnings(["spec.foo"]) == ['unknown field "spec.foo"']


def test_inline_structs_promote_their_fields():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "a", "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 5}}],
        "volumes": [{"name": "cfg", "configMap": {"name": "web", "items": [{"key": "k", "path": "p"}]}}]}}
    found = types.inspect("v1/Pod", pod)
    assert found.unknown_fields == [] and found.type_errors == []


def test_crd_schemas_are_free_form():
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "x.example.com"},
           "spec": {"group": "example.com", "versions": [{"name": "v1", "served": True, "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-anything": {"deep": [1]}}}}]}}
    assert types.inspect("apiextensions.k8s.io/v1/CustomResourceDefinition", crd).unknown_fields == []


def test_prune_drops_unknown_fields_and_keeps_the_rest():
    obj = deployment(foo=1)
    obj["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    pruned = types.prune("apps/v1/Deployment", obj)
    assert "foo" not in pruned["spec"]
    assert pruned["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]
    assert "imagee" in obj["spec"]["template"]["spec"]["containers"][0]  # the input is untouched


@pytest.mark.parametrize("path, strategy, key, list_type", [
    (("spec", "template", "spec", "containers"), "merge", "name", "map"),
    (("spec", "template", "spec", "containers", "ports"), "merge", "containerPort", "map"),
    (("spec", "template", "spec", "containers", "env"), "merge", "name", "map"),
    (("spec", "template", "spec", "containers", "volumeMounts"), "merge", "mountPath", "map"),
    (("spec", "template", "spec", "volumes"), "merge,retainKeys", "name", "map"),
    (("spec", "template", "spec", "tolerations"), "", "", "atomic"),
    (("spec", "template", "spec", "containers", "args"), "", "", "atomic"),
    (("spec", "template", "spec", "containers", "command"), "", "", "atomic"),
    (("metadata", "finalizers"), "merge", "", "set"),
    (("metadata", "ownerReferences"), "merge", "uid", "map"),
    (("status", "conditions"), "merge", "type", "map"),
])
def test_deployment_list_strategies_follow_the_go_tags(path, strategy, key, list_type):
    found = types.list_strategy("apps/v1/Deployment", path)
    assert (found.patch_strategy, found.merge_key, found.list_type) == (strategy, key, list_type)


def test_service_ports_merge_by_port_and_container_ports_key_on_protocol_too():
    assert types.list_strategy("v1/Service", ("spec", "ports")).merge_key == "port"
    ports = types.list_strategy("v1/Pod", ("spec", "containers", "ports"))
    assert ports.list_map_keys == ("containerPort", "protocol")


def test_not_a_list_gives_none_and_retain_keys_is_known():
    assert types.list_strategy("apps/v1/Deployment", ("spec", "replicas")) is None
    assert types.list_strategy("apps/v1/Deployment", ("spec", "nope")) is None
    assert types.retains_keys("apps/v1/Deployment", ("spec", "strategy"))
    assert not types.retains_keys("apps/v1/Deployment", ("spec", "template"))


def test_is_known_covers_the_built_in_kinds_only():
    assert types.is_known("batch/v1/CronJob") and types.is_known("authorization.k8s.io/v1/SelfSubjectAccessReview")
    assert not types.is_known("example.com/v1/PostgresCluster")
    with pytest.raises(LookupError):
        types.inspect("example.com/v1/PostgresCluster", {})


def test_openapi_components_carry_gvk_refs_and_patch_extensions():
    components = types.openapi_components("apps/v1")
    deployment_schema = components["io.k8s.api.apps.v1.Deployment"]
    assert deployment_schema["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert deployment_schema["properties"]["spec"] == {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]}
    containers = components["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert containers["items"]["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in components
    assert components["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"


def test_every_reference_in_the_components_resolves():
    for api_version in ("v1", "apps/v1", "batch/v1", "apiextensions.k8s.io/v1", "rbac.authorization.k8s.io/v1"):
        components = types.openapi_components(api_version)
        refs = set()

        def walk(value, refs=refs):
            if isinstance(value, dict):
                if isinstance(value.get("$ref"), str):
                    refs.add(value["$ref"].removeprefix("#/components/schemas/"))
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(components)
        assert refs <= set(components)


def test_core_components_hold_only_core_kinds():
    gvks = [g for s in types.openapi_components("v1").values() for g in s.get("x-kubernetes-group-version-kind", [])]
    assert {"group": "", "kind": "Pod", "version": "v1"} in gvks
    assert all(g["group"] == "" for g in gvks)
