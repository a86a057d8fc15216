"""JSON patch, merge patch, strategic merge patch and server-side apply, with real objects."""

import copy

import pytest

from k8s_course.sim import patching

DEPLOYMENT = "apps/v1/Deployment"


def deployment():
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}, "finalizers": ["a"]},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "nginx:1", "args": ["-a"],
                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                        {"name": "logs", "image": "busybox"},
                    ],
                    "tolerations": [{"key": "x", "operator": "Exists"}],
                },
            },
        },
    }


def containers(obj):
    return obj["spec"]["template"]["spec"]["containers"]


# JSON patch ------------------------------------------------------------------------------------


def test_json_patch_replaces_adds_and_appends():
    result = patching.json_patch(deployment(), [
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1part-of", "value": "k8s-course"},
        {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "third"}},
        {"op": "test", "path": "/spec/replicas", "value": 5},
    ])
    assert result["spec"]["replicas"] == 5
    assert result["metadata"]["labels"]["app.kubernetes.io/part-of"] == "k8s-course"
    assert [c["name"] for c in containers(result)] == ["app", "logs", "third"]


def test_json_patch_moves_copies_and_removes():
    result = patching.json_patch({"a": {"x": 1}, "l": [1, 2, 3]}, [
        {"op": "copy", "from": "/a/x", "path": "/b"},
        {"op": "move", "from": "/a", "path": "/c"},
        {"op": "remove", "path": "/l/0"},
    ])
    assert result == {"b": 1, "c": {"x": 1}, "l": [2, 3]}


def test_json_patch_leaves_the_input_alone():
    original = deployment()
    patching.json_patch(original, [{"op": "remove", "path": "/spec/replicas"}])
    assert original["spec"]["replicas"] == 2


@pytest.mark.parametrize("op, message", [
    ({"op": "test", "path": "/spec/replicas", "value": 3}, "testing value /spec/replicas failed: test failed"),
    ({"op": "remove", "path": "/spec/paused"}, "Unable to remove nonexistent key: paused: missing value"),
    ({"op": "replace", "path": "/spec/paused", "value": True},
     "replace operation does not apply: doc is missing key: /spec/paused: missing value"),
    ({"op": "add", "path": "/spec/nope/deeper", "value": 1},
     'add operation does not apply: doc is missing path: "/spec/nope/deeper": missing value'),
    ({"op": "add", "path": "/spec/template/spec/containers/7", "value": {}},
     "Unable to access invalid index: 7: invalid index referenced"),
    ({"op": "frobnicate", "path": "/x"}, "Unexpected kind: frobnicate"),
])
def test_json_patch_failures_read_like_the_api_server(op, message):
    with pytest.raises(patching.PatchError) as caught:
        patching.json_patch(deployment(), [op])
    assert str(caught.value) == message


# merge patch -----------------------------------------------------------------------------------


def test_merge_patch_merges_objects_deletes_nulls_and_replaces_lists():
    result = patching.merge_patch(deployment(), {
        "metadata": {"labels": {"tier": None, "new": "yes"}},
        "spec": {"template": {"spec": {"containers": [{"name": "only"}]}}},
    })
    assert result["metadata"]["labels"] == {"app": "web", "new": "yes"}
    assert containers(result) == [{"name": "only"}]


# strategic merge patch -------------------------------------------------------------------------


def test_patching_a_container_image_by_name_keeps_the_other_container():
    result = patching.strategic_merge_patch(
        deployment(), {"spec": {"template": {"spec": {"containers": [{"name": "logs", "image": "busybox:2"}]}}}}, DEPLOYMENT)
    assert [(c["name"], c["image"]) for c in containers(result)] == [("app", "nginx:1"), ("logs", "busybox:2")]
    assert containers(result)[0]["env"] == deployment()["spec"]["template"]["spec"]["containers"][0]["env"]


def test_patch_delete_removes_one_env_var():
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "A", "$patch": "delete"}, {"name": "C", "value": "3"}]}]}}}}
    result = patching.strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert containers(result)[0]["env"] == [{"name": "B", "value": "2"}, {"name": "C", "value": "3"}]


def test_lists_without_a_strategy_are_replaced():
    patch = {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "args": ["-b"]}],
        "tolerations": [{"key": "y", "operator": "Exists"}]}}}}
    result = patching.strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert containers(result)[0]["args"] == ["-b"]
    assert result["spec"]["template"]["spec"]["tolerations"] == [{"key": "y", "operator": "Exists"}]


def test_finalizers_merge_as_a_set_and_can_be_deleted_from():
    result = patching.strategic_merge_patch(deployment(), {"metadata": {"finalizers": ["b", "a"]}}, DEPLOYMENT)
    assert result["metadata"]["finalizers"] == ["a", "b"]
    result = patching.strategic_merge_patch(result, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, DEPLOYMENT)
    assert result["metadata"]["finalizers"] == ["b"]


def test_null_deletes_and_patch_replace_replaces_a_map():
    result = patching.strategic_merge_patch(deployment(), {"metadata": {"labels": {"tier": None}}}, DEPLOYMENT)
    assert result["metadata"]["labels"] == {"app": "web"}
    result = patching.strategic_merge_patch(
        deployment(), {"metadata": {"labels": {"$patch": "replace", "only": "this"}}}, DEPLOYMENT)
    assert result["metadata"]["labels"] == {"only": "this"}


def test_patch_replace_in_a_keyed_list_replaces_the_whole_list():
    patch = {"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "solo", "image": "x"}]}}}}
    result = patching.strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert containers(result) == [{"name": "solo", "image": "x"}]


def test_retain_keys_clears_the_other_strategy_fields():
    obj = deployment()
    obj["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert patching.strategic_merge_patch(obj, patch, DEPLOYMENT)["spec"]["strategy"] == {"type": "Recreate"}


def test_set_element_order_reorders_the_merged_list():
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "logs"}, {"name": "app"}],
        "containers": [{"name": "logs", "image": "busybox:2"}]}}}}
    result = patching.strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert [c["name"] for c in containers(result)] == ["logs", "app"]


def test_a_keyed_item_without_its_merge_key_is_an_error():
    with pytest.raises(patching.PatchError, match="does not contain declared merge key: name"):
        patching.strategic_merge_patch(
            deployment(), {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}, DEPLOYMENT)


def test_strategic_merge_patch_refuses_unknown_kinds():
    with pytest.raises(patching.PatchError):
        patching.strategic_merge_patch({}, {"spec": {}}, "example.com/v1/PostgresCluster")


# server-side apply -----------------------------------------------------------------------------


def applied_by(manager, config, live=None, force=False, kind=DEPLOYMENT, now="2025-01-01T00:00:00Z"):
    return patching.server_side_apply(live, config, manager, force, kind, now)


def entry(obj, manager):
    return next(e for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def test_apply_records_managed_fields_in_fieldsv1_format():
    obj = applied_by("kubectl", deployment())
    record = entry(obj, "kubectl")
    assert {k: record[k] for k in ("operation", "apiVersion", "time", "fieldsType")} == {
        "operation": "Apply", "apiVersion": "apps/v1", "time": "2025-01-01T00:00:00Z", "fieldsType": "FieldsV1"}
    fields = record["fieldsV1"]
    assert fields["f:spec"]["f:replicas"] == {}
    app = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert app["."] == {} and app["f:image"] == {} and app["f:args"] == {}
    assert app["f:env"]['k:{"name":"A"}'] == {".": {}, "f:name": {}, "f:value": {}}
    assert fields["f:metadata"]["f:finalizers"] == {'v:"a"': {}}
    assert "f:name" not in fields["f:metadata"] and "f:apiVersion" not in fields


def test_an_apply_that_drops_a_label_removes_it():
    first = applied_by("kubectl", deployment())
    config = deployment()
    del config["metadata"]["labels"]["tier"]
    second = applied_by("kubectl", config, live=first)
    assert second["metadata"]["labels"] == {"app": "web"}
    assert "f:tier" not in entry(second, "kubectl")["fieldsV1"]["f:metadata"]["f:labels"]


def test_an_apply_that_drops_a_container_removes_only_that_container():
    first = applied_by("kubectl", deployment())
    config = deployment()
    del containers(config)[1]
    second = applied_by("kubectl", config, live=first)
    assert [c["name"] for c in containers(second)] == ["app"]


def test_fields_set_by_others_survive_an_apply_that_does_not_mention_them():
    first = applied_by("kubectl", deployment())
    edited = copy.deepcopy(first)
    edited["metadata"]["annotations"] = {"note": "hand-made"}
    patching.record_update(first, edited, "kubectl-edit", DEPLOYMENT, "2025-01-01T00:01:00Z")
    second = applied_by("kubectl", deployment(), live=edited)
    assert second["metadata"]["annotations"] == {"note": "hand-made"}


def test_a_conflicting_apply_raises_with_the_exact_message():
    live = applied_by("kubectl", deployment())
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    patching.record_update(live, scaled, "kubectl-client-side-apply", DEPLOYMENT, "2025-01-01T00:01:00Z")
    assert entry(scaled, "kubectl-client-side-apply")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in entry(scaled, "kubectl")["fieldsV1"]["f:spec"]
    with pytest.raises(patching.ApplyConflict) as caught:
        applied_by("kubectl", deployment(), live=scaled)
    assert str(caught.value) == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas')
    assert caught.value.conflicts[0].cause() == {
        "reason": "FieldManagerConflict",
        "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
        "field": ".spec.replicas",
    }


def test_several_conflicts_are_listed_per_manager():
    live = applied_by("kubectl", deployment())
    changed = copy.deepcopy(live)
    changed["spec"]["replicas"] = 5
    containers(changed)[0]["image"] = "nginx:9"
    patching.record_update(live, changed, "hpa", DEPLOYMENT, "2025-01-01T00:01:00Z")
    with pytest.raises(patching.ApplyConflict) as caught:
        applied_by("kubectl", deployment(), live=changed)
    assert str(caught.value) == (
        'Apply failed with 2 conflicts: conflicts with "hpa" using apps/v1:\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="app"].image')


def test_forcing_a_conflicting_apply_takes_ownership():
    live = applied_by("kubectl", deployment())
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    patching.record_update(live, scaled, "kubectl-client-side-apply", DEPLOYMENT, "2025-01-01T00:01:00Z")
    forced = applied_by("kubectl", deployment(), live=scaled, force=True)
    assert forced["spec"]["replicas"] == 2
    assert [e["manager"] for e in forced["metadata"]["managedFields"]] == ["kubectl"]
    assert entry(forced, "kubectl")["fieldsV1"]["f:spec"]["f:replicas"] == {}


def test_applying_the_same_value_as_another_manager_shares_the_field():
    live = applied_by("alice", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                "data": {"k": "v"}}, kind="v1/ConfigMap")
    both = applied_by("bob", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                              "data": {"k": "v", "b": "1"}}, live=live, kind="v1/ConfigMap")
    assert entry(both, "alice")["fieldsV1"] == {"f:data": {"f:k": {}}}
    assert entry(both, "bob")["fieldsV1"] == {"f:data": {"f:b": {}, "f:k": {}}}


def test_apply_ignores_status_on_the_main_resource():
    config = deployment()
    config["status"] = {"replicas": 9}
    obj = applied_by("kubectl", config)
    assert "status" not in obj and "f:status" not in entry(obj, "kubectl")["fieldsV1"]


def test_custom_resources_merge_maps_and_replace_lists():
    kind = "example.com/v1/PostgresCluster"
    config = {"apiVersion": "example.com/v1", "kind": "PostgresCluster", "metadata": {"name": "db"},
              "spec": {"instances": 3, "users": ["a", "b"], "storage": {"size": "1Gi"}}}
    live = applied_by("operator", config, kind=kind)
    assert entry(live, "operator")["fieldsV1"]["f:spec"] == {"f:instances": {}, "f:users": {}, "f:storage": {"f:size": {}}}
    other = applied_by("me", {"apiVersion": "example.com/v1", "kind": "PostgresCluster", "metadata": {"name": "db"},
                              "spec": {"storage": {"class": "fast"}}}, live=live, kind=kind)
    assert other["spec"]["storage"] == {"size": "1Gi", "class": "fast"}
    with pytest.raises(patching.ApplyConflict, match=r'conflict with "operator": \.spec\.users'):
        applied_by("me", {"apiVersion": "example.com/v1", "kind": "PostgresCluster", "metadata": {"name": "db"},
                          "spec": {"users": ["c"]}}, live=live, kind=kind)


def test_container_ports_are_keyed_with_the_default_protocol():
    config = deployment()
    containers(config)[0]["ports"] = [{"containerPort": 80}]
    obj = applied_by("kubectl", config)
    app = entry(obj, "kubectl")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert 'k:{"containerPort":80,"protocol":"TCP"}' in app["f:ports"]


def test_record_update_on_create_owns_every_field_and_removals_drop_ownership():
    created = deployment()
    patching.record_update(None, created, "kubectl-create", DEPLOYMENT, "2025-01-01T00:00:00Z")
    record = entry(created, "kubectl-create")
    assert record["operation"] == "Update" and record["fieldsV1"]["f:spec"]["f:replicas"] == {}
    updated = copy.deepcopy(created)
    del updated["metadata"]["labels"]["tier"]
    patching.record_update(created, updated, "kubectl-edit", DEPLOYMENT, "2025-01-01T00:01:00Z")
    assert "f:tier" not in entry(updated, "kubectl-create")["fieldsV1"]["f:metadata"]["f:labels"]
    assert all(e["manager"] != "kubectl-edit" for e in updated["metadata"]["managedFields"])  # it set nothing


def test_fields_v1_round_trips():
    paths = {("f:spec", "f:replicas"), ("f:spec", "f:containers", 'k:{"name":"a"}'),
             ("f:spec", "f:containers", 'k:{"name":"a"}', "f:image")}
    assert patching.from_fields_v1(patching.to_fields_v1(paths)) == paths
