"""CustomResourceDefinitions: accepting CRDs, and pruning, defaulting and validating their
custom resources with the wording of a real Kubernetes 1.36 API server."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from k8s_course.sim.errors import APIError
from k8s_course.sim.schema import crds, structural

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference" / "kubernetes-1.36" / "defaulting.json").read_text()
)["_crd_with_defaults"]
RECORDED = REFERENCE["instances"]
NOW = "2026-03-01T12:00:00Z"


def widget_crd() -> dict:
    """The recorded CRD as a client sends it (the server added conversion itself)."""
    spec = copy.deepcopy(RECORDED["crd.spec"])
    del spec["conversion"]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.diffcheck.example.com"},
        "spec": spec,
    }


def widget(name: str, **body) -> dict:
    return {"apiVersion": "diffcheck.example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "ns"}, **body}


def create_widget(obj: dict) -> dict:
    """What the server does to a custom resource on create: prune, default, validate."""
    crd = widget_crd()
    schema = crds.version_schema(crd, "v1")
    crds.prune(schema, obj)
    crds.apply_defaults(schema, obj)
    assert crds.validate_custom_resource(crd, "v1", obj) == []
    return obj


def simple_crd(schema: dict | None = None, **version_fields) -> dict:
    version = {"name": "v1", "served": True, "storage": True, **version_fields}
    if schema is not None:
        version["schema"] = {"openAPIV3Schema": schema}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "databases.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "databases", "kind": "Database"},
            "versions": [version],
        },
    }


def spec_schema(**properties) -> dict:
    return {"type": "object", "properties": {"spec": {"type": "object", "properties": properties}}}


def messages(errors) -> list[str]:
    return [str(e) for e in errors]


# --------------------------------------------------------------------------- the recorded CRD


def test_recorded_crd_is_accepted_and_stored_with_none_conversion():
    crd = widget_crd()
    assert crds.validate_crd(crd) == []
    assert crds.default_crd(crd)["spec"] == RECORDED["crd.spec"]


def test_default_crd_fills_singular_and_list_kind_from_kind():
    crd = simple_crd(spec_schema())
    names = crds.default_crd(crd)["spec"]["names"]
    assert names == {"plural": "databases", "kind": "Database", "singular": "database", "listKind": "DatabaseList"}
    assert "singular" not in crd["spec"]["names"]  # the input is left alone


def test_crd_status_matches_the_recorded_status():
    status = crds.crd_status(widget_crd(), NOW)
    expected = RECORDED["crd.status"]
    assert status["acceptedNames"] == expected["acceptedNames"]
    assert status["storedVersions"] == expected["storedVersions"]
    # The recording lists conditions sorted by type; the server writes NamesAccepted first
    # (naming controller), then Established (establishing controller).
    assert [c["type"] for c in status["conditions"]] == ["NamesAccepted", "Established"]
    without_time = [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in status["conditions"]]
    assert sorted(without_time, key=lambda c: c["type"]) == expected["conditions"]
    assert all(c["lastTransitionTime"] == NOW for c in status["conditions"])


def test_crd_status_keeps_transition_times_of_unchanged_conditions():
    crd = widget_crd()
    crd["status"] = crds.crd_status(crd, "2026-01-01T00:00:00Z")
    again = crds.crd_status(crd, NOW)
    assert [c["lastTransitionTime"] for c in again["conditions"]] == ["2026-01-01T00:00:00Z"] * 2


def test_crd_status_adds_new_storage_version_to_stored_versions():
    crd = widget_crd()
    crd["status"] = crds.crd_status(crd, NOW)
    v2 = copy.deepcopy(crd["spec"]["versions"][0]) | {"name": "v2"}
    crd["spec"]["versions"][0]["storage"] = False
    crd["spec"]["versions"].append(v2)
    assert crds.crd_status(crd, NOW)["storedVersions"] == ["v1", "v2"]


@pytest.mark.parametrize(
    "name, body",
    [
        ("widget-empty-spec", {"spec": {}}),
        ("widget-no-spec", {}),
        ("widget-partial", {"spec": {"size": 5, "limits": {"burst": True}}}),
        ("widget-unknown-field", {"spec": {"size": 2, "foo": "bar"}}),
    ],
)
def test_recorded_instances_come_back_defaulted_and_pruned(name, body):
    obj = create_widget(widget(name, **copy.deepcopy(body)))
    assert obj["spec"] == RECORDED[f"{name}.spec"]
    assert sorted(obj) == RECORDED[f"{name}.keys"]


def test_unknown_field_is_reported_for_strict_field_validation():
    obj = widget("w", spec={"size": 2, "foo": "bar", "limits": {"cpu": "1", "gpu": 1}})
    assert crds.prune(crds.version_schema(widget_crd(), "v1"), obj) == ["spec.foo", "spec.limits.gpu"]


def test_recorded_schema_rejects_out_of_range_and_unknown_values():
    obj = widget("w", spec={"size": 12, "color": "pink", "tags": "a"})
    errors = crds.validate_custom_resource(widget_crd(), "v1", obj)
    assert sorted(messages(errors)) == [
        'spec.color: Unsupported value: "pink": supported values: "red", "blue", "green"',
        "spec.size: Invalid value: 12: spec.size in body should be less than or equal to 10",
        'spec.tags: Invalid value: "string": spec.tags in body must be of type array: "string"',
    ]


def test_custom_resource_of_another_kind_is_refused_before_its_schema():
    obj = widget("w", spec={"size": 99})
    obj["kind"] = "Gadget"
    assert messages(crds.validate_custom_resource(widget_crd(), "v1", obj)) == [
        'kind: Invalid value: "Gadget": must be Widget'
    ]


# --------------------------------------------------------------------------- reading a CRD


def test_versions_schema_subresources_and_columns_are_read_per_version():
    crd = widget_crd()
    v2 = {"name": "v2", "served": False, "storage": False, "schema": {"openAPIV3Schema": spec_schema()}}
    crd["spec"]["versions"].append(v2)
    assert crds.served_versions(crd) == ["v1"]
    assert crds.storage_version(crd) == "v1"
    assert crds.version_schema(crd, "v2") == spec_schema()
    assert crds.version_schema(crd, "v9") is None
    assert crds.subresources(crd, "v1") == {"status": {}}
    assert crds.subresources(crd, "v2") == {}
    assert crds.printer_columns(crd, "v1") == [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]
    assert crds.printer_columns(crd, "v2") == []


# --------------------------------------------------------------------------- validating CRDs


def test_name_must_be_plural_dot_group():
    crd = simple_crd(spec_schema())
    crd["metadata"]["name"] = "x"
    assert messages(crds.validate_crd(crd)) == ['metadata.name: Invalid value: "x": must be spec.names.plural+"."+spec.group']


def test_group_needs_a_dot():
    crd = simple_crd(spec_schema())
    crd["spec"]["group"] = "example"
    crd["metadata"]["name"] = "databases.example"
    assert messages(crds.validate_crd(crd)) == ['spec.group: Invalid value: "example": should be a domain with at least one dot']


def test_scope_must_be_namespaced_or_cluster():
    crd = simple_crd(spec_schema())
    crd["spec"]["scope"] = "Global"
    assert messages(crds.validate_crd(crd)) == ['spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"']


def test_names_must_be_lowercase_labels_and_kinds_distinct():
    crd = simple_crd(spec_schema())
    crd["spec"]["names"].update({"singular": "Database", "listKind": "Database", "shortNames": ["db_1"]})
    errors = messages(crds.validate_crd(crd))
    label = (
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
        "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
        "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    )
    assert errors == [
        f'spec.names.singular: Invalid value: "Database": {label}',
        f'spec.names.shortNames[0]: Invalid value: "db_1": {label}',
        'spec.names.listKind: Invalid value: "Database": kind and listKind may not be the same',
    ]


def test_at_least_one_version_and_exactly_one_storage_version():
    crd = simple_crd(spec_schema())
    crd["spec"]["versions"] = []
    errors = crds.validate_crd(crd)
    assert [(e.field, e.detail) for e in errors] == [
        ("spec.versions", "must have exactly one version marked as storage version"),
        ("status.storedVersions", "must have at least one stored version"),
    ]


def test_two_storage_versions_are_refused():
    crd = simple_crd(spec_schema())
    crd["spec"]["versions"].append(copy.deepcopy(crd["spec"]["versions"][0]) | {"name": "v2"})
    errors = crds.validate_crd(crd)
    assert [(e.field, e.detail) for e in errors] == [
        ("spec.versions", "must have exactly one version marked as storage version"),
        ("status.storedVersions", "must have the storage version v2"),
    ]
    assert str(errors[1]) == 'status.storedVersions: Invalid value: ["v1"]: must have the storage version v2'


def test_duplicate_version_names_are_refused():
    crd = simple_crd(spec_schema())
    crd["spec"]["versions"].append(copy.deepcopy(crd["spec"]["versions"][0]) | {"storage": False})
    assert [e.detail for e in crds.validate_crd(crd)] == ["must contain unique version names"]


def test_version_name_must_be_a_label_and_is_checked_twice_like_the_server():
    crd = simple_crd(spec_schema())
    crd["spec"]["versions"][0]["name"] = "V1"
    assert [e.field for e in crds.validate_crd(crd)] == ["spec.versions[0].name", "spec.version"]


def test_schema_is_required_for_every_version():
    crd = simple_crd(None)
    assert messages(crds.validate_crd(crd)) == ["spec.versions[0].schema.openAPIV3Schema: Required value"]


def test_a_single_versions_schema_is_checked_as_the_top_level_validation():
    schema = spec_schema(replicas={"type": "integer"})
    del schema["properties"]["spec"]["type"]
    assert messages(crds.validate_crd(simple_crd(schema))) == [
        "spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"
    ]


def test_differing_version_schemas_are_checked_per_version():
    crd = simple_crd(spec_schema(replicas={"type": "integer"}))
    broken = spec_schema()
    del broken["properties"]["spec"]["type"]
    crd["spec"]["versions"].append({"name": "v2", "served": True, "storage": False, "schema": {"openAPIV3Schema": broken}})
    assert messages(crds.validate_crd(crd)) == [
        "spec.versions[1].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"
    ]


def test_structural_errors_cover_every_level_sorted_by_message():
    schema = {
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"ports": {"type": "array"}, "items": {"type": "array", "items": {}}},
                "anyOf": [{"type": "object"}],
            }
        },
        # value validations at the root may only talk about properties specified above
        "allOf": [{"properties": {"status": {"minProperties": 1}}}],
    }
    path = "spec.validation.openAPIV3Schema"
    assert messages(crds.validate_crd(simple_crd(schema))) == [
        f"{path}.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural",
        f"{path}.properties[spec].properties[items].items.type: Required value: must not be empty for specified array items",
        f"{path}.properties[spec].properties[ports].items: Required value: must be specified",
        f"{path}.properties[status]: Required value: because it is defined in {path}.allOf[0].properties[status]",
        f"{path}.type: Required value: must not be empty at the root",
    ]


def test_int_or_string_needs_no_type():
    schema = spec_schema(port={"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]})
    assert crds.validate_crd(simple_crd(schema)) == []


def test_metadata_may_only_restrict_name_and_generate_name():
    ok = {"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}}}
    assert crds.validate_crd(simple_crd(ok)) == []
    bad = {"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}}
    assert messages(crds.validate_crd(simple_crd(bad))) == [
        "spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"
    ]


def test_defaults_must_validate_against_their_own_schema():
    schema = spec_schema(size={"type": "integer", "default": 20, "maximum": 10}, mode={"type": "string", "default": 1})
    path = "spec.validation.openAPIV3Schema.properties[spec].properties"
    assert messages(crds.validate_crd(simple_crd(schema))) == [
        f"{path}[size].default: Invalid value: 20:  in body should be less than or equal to 10",
        f'{path}[mode].default: Invalid value: "integer":  in body must be of type string: "integer"',
    ]


def test_defaults_must_not_carry_unknown_fields():
    schema = spec_schema(limits={"type": "object", "default": {"cpu": "1", "gpu": 1}, "properties": {"cpu": {"type": "string"}}})
    assert messages(crds.validate_crd(simple_crd(schema))) == [
        'spec.validation.openAPIV3Schema.properties[spec].properties[limits].default: Invalid value: {"cpu":"1","gpu":1}: must not have unknown fields'
    ]


def test_defaults_are_forbidden_in_top_level_metadata():
    schema = {"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "default": "x"}}}}}
    assert "spec.validation.openAPIV3Schema.properties[metadata].properties[name].default: Forbidden: must not be set in top-level metadata" in messages(
        crds.validate_crd(simple_crd(schema))
    )


def test_json_schema_features_kubernetes_does_not_support_are_forbidden():
    schema = spec_schema(
        tags={"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        labels={"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}},
        ref={"$ref": "#/definitions/x", "type": "string"},
        kind={"type": "bogus"},
    )
    path = "spec.validation.openAPIV3Schema.properties[spec].properties"
    errors = messages(crds.validate_crd(simple_crd(schema)))
    assert errors == [
        f"{path}[tags].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        f"{path}[labels].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
        f"{path}[ref].$ref: Forbidden: $ref is not supported",
        f'{path}[kind].type: Unsupported value: "bogus": supported values: "array", "boolean", "integer", "number", "object", "string"',
    ]


def test_status_subresource_restricts_the_schema_root():
    schema = spec_schema() | {"nullable": True}
    crd = simple_crd(schema, subresources={"status": {}})
    errors = crds.validate_crd(crd)
    assert [(e.field, e.type) for e in errors] == [
        ("spec.validation.openAPIV3Schema", "Invalid"),
        ("spec.validation.openAPIV3Schema.nullable", "Forbidden"),
    ]
    assert errors[0].detail.startswith("only [Description Type Format Title Maximum")
    assert errors[0].detail.endswith("fields are allowed at the root of the schema if the status subresource is enabled")
    assert errors[1].detail == "nullable cannot be true at the root"


def test_scale_subresource_paths_must_point_under_spec_and_status():
    crd = simple_crd(spec_schema(), subresources={"scale": {"specReplicasPath": "spec.replicas", "statusReplicasPath": ".spec.replicas", "labelSelectorPath": ".selector"}})
    assert messages(crds.validate_crd(crd)) == [
        'spec.subresources.scale.specReplicasPath: Invalid value: "spec.replicas": must be a simple json path starting with .',
        'spec.subresources.scale.statusReplicasPath: Invalid value: ".spec.replicas": should be a json path under .status',
        'spec.subresources.scale.labelSelectorPath: Invalid value: ".selector": should be a json path under either .spec or .status',
    ]
    crd["spec"]["versions"][0]["subresources"] = {"scale": {}}
    assert messages(crds.validate_crd(crd)) == [
        "spec.subresources.scale.specReplicasPath: Required value",
        "spec.subresources.scale.statusReplicasPath: Required value",
    ]


def test_printer_columns_need_name_known_type_and_json_path():
    crd = simple_crd(spec_schema(), additionalPrinterColumns=[{"name": "Size", "type": "int", "jsonPath": ".spec.size"}, {"type": "string", "format": "url"}])
    assert messages(crds.validate_crd(crd)) == [
        'spec.additionalPrinterColumns[0].type: Invalid value: "int": must be one of boolean,date,integer,number,string',
        "spec.additionalPrinterColumns[1].name: Required value",
        'spec.additionalPrinterColumns[1].format: Invalid value: "url": must be one of byte,date,date-time,double,float,int32,int64,password',
        "spec.additionalPrinterColumns[1].JSONPath: Required value",
    ]


def protected_crd(annotation: str | None) -> dict:
    crd = simple_crd(spec_schema())
    crd["spec"]["group"] = "storage.k8s.io"
    crd["metadata"]["name"] = "databases.storage.k8s.io"
    if annotation is not None:
        crd["metadata"]["annotations"] = {"api-approved.kubernetes.io": annotation}
    return crd


def test_k8s_io_groups_need_the_api_approval_annotation():
    assert messages(crds.validate_crd(protected_crd(None))) == [
        'metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111'
    ]
    assert messages(crds.validate_crd(protected_crd("yes"))) == [
        'metadata.annotations[api-approved.kubernetes.io]: Invalid value: "yes": protected groups must have approval annotation "api-approved.kubernetes.io" with either a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111'
    ]
    assert crds.validate_crd(protected_crd("https://github.com/kubernetes/kubernetes/pull/78458")) == []
    assert crds.validate_crd(protected_crd("unapproved, experimental-only")) == []


def test_api_approval_state_shows_in_a_condition():
    status = crds.crd_status(protected_crd("unapproved, experimental-only"), NOW)
    assert status["conditions"][2] == {
        "type": "KubernetesAPIApprovalPolicyConformant",
        "status": "False",
        "lastTransitionTime": NOW,
        "reason": "UnapprovedAnnotation",
        "message": 'not approved: "unapproved, experimental-only"',
    }
    assert len(crds.crd_status(widget_crd(), NOW)["conditions"]) == 2


def test_an_unchanged_missing_approval_does_not_fail_an_update():
    old = protected_crd(None)
    assert crds.validate_crd(protected_crd(None), old) == []


def test_scope_and_kind_are_immutable_once_established_group_and_plural_always():
    old = simple_crd(spec_schema())
    new = copy.deepcopy(old)
    new["spec"]["scope"] = "Cluster"
    assert crds.validate_crd(new, old) == []  # not established yet
    old["status"] = crds.crd_status(old, NOW)
    assert messages(crds.validate_crd(new, old)) == ['spec.scope: Invalid value: "Cluster": field is immutable']
    new = copy.deepcopy(old)
    new["spec"]["group"] = "other.com"
    assert messages(crds.validate_crd(new, old)) == ['spec.group: Invalid value: "other.com": field is immutable']


def test_removing_a_stored_version_from_spec_is_refused():
    old = simple_crd(spec_schema())
    old["status"] = {"storedVersions": ["v1beta1", "v1"]}
    new = copy.deepcopy(old)
    assert messages(crds.validate_crd(new, old)) == [
        'status.storedVersions[0]: Invalid value: "v1beta1": missing from spec.versions; v1beta1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1beta1 and removes v1beta1 from status.storedVersions'
    ]


def test_preserve_unknown_fields_true_is_refused_in_v1():
    crd = simple_crd(spec_schema())
    crd["spec"]["preserveUnknownFields"] = True
    assert messages(crds.validate_crd(crd)) == [
        "spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"
    ]


def test_list_map_keys_must_be_required_or_defaulted():
    ports = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
    }
    assert messages(crds.validate_crd(simple_crd(spec_schema(ports=ports)))) == [
        "spec.validation.openAPIV3Schema.properties[spec].properties[ports].items.properties[name].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"
    ]


# --------------------------------------------------------------------------- validating values

DATABASE = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["storage"],
            "properties": {
                "version": {"type": "string", "enum": ["15", "16"]},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 9},
                "storage": {"type": "string"},
                "name": {"type": "string", "minLength": 3, "maxLength": 8, "pattern": "^[a-z]+$"},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1, "maxProperties": 2},
                "note": {"type": "string", "nullable": True},
                "since": {"type": "string", "format": "date-time"},
                "port": {"type": "integer", "format": "int32"},
                "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "multipleOf": 0.5},
                "target": {"x-kubernetes-int-or-string": True},
            },
        }
    },
}


def check(spec: dict) -> list[str]:
    return messages(crds.validate(DATABASE, {"spec": spec}))


def test_enum_value_outside_the_list_is_unsupported():
    assert check({"storage": "1Gi", "version": "99"}) == ['spec.version: Unsupported value: "99": supported values: "15", "16"']


def test_numbers_outside_minimum_and_maximum_are_invalid():
    assert check({"storage": "1Gi", "replicas": 12}) == ["spec.replicas: Invalid value: 12: spec.replicas in body should be less than or equal to 9"]
    assert check({"storage": "1Gi", "replicas": 0}) == ["spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"]


def test_exclusive_minimum_and_multiple_of_are_checked():
    assert check({"storage": "1Gi", "ratio": 0.0}) == ["spec.ratio: Invalid value: 0.0: spec.ratio in body should be greater than 0"]
    assert check({"storage": "1Gi", "ratio": 0.7}) == ["spec.ratio: Invalid value: 0.7: spec.ratio in body should be a multiple of 0.5"]
    assert check({"storage": "1Gi", "ratio": 1.5}) == []


def test_wrong_types_are_reported_with_the_type_found():
    errors = crds.validate(DATABASE, {"spec": {"storage": "1Gi", "replicas": "string"}})
    assert messages(errors) == ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']
    assert errors[0].reason == "FieldValueTypeInvalid"
    assert check({"storage": "1Gi", "replicas": 3.0}) == []  # an integral float is an integer


def test_missing_required_field_is_a_required_value():
    errors = crds.validate(DATABASE, {"spec": {}})
    assert messages(errors) == ["spec.storage: Required value"]


def test_string_length_and_pattern_are_checked():
    assert check({"storage": "1Gi", "name": "ab"}) == ['spec.name: Invalid value: "ab": spec.name in body should be at least 3 chars long']
    assert check({"storage": "1Gi", "name": "abcdefghij"}) == ["spec.name: Too long: may not be more than 8 bytes"]
    assert check({"storage": "1Gi", "name": "Abc"}) == ["spec.name: Invalid value: \"Abc\": spec.name in body should match '^[a-z]+$'"]


def test_array_length_is_checked():
    assert check({"storage": "1Gi", "tags": []}) == ["spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items"]
    [too_many] = crds.validate(DATABASE, {"spec": {"storage": "1Gi", "tags": ["a", "b", "c"]}})
    assert (too_many.type, too_many.field, too_many.value, too_many.detail) == ("TooMany", "spec.tags", 3, "must have at most 2 items")


def test_map_size_and_value_types_are_checked():
    assert check({"storage": "1Gi", "labels": {}}) == ["spec.labels: Invalid value: 0: spec.labels in body should have at least 1 properties"]
    [too_many] = crds.validate(DATABASE, {"spec": {"storage": "1Gi", "labels": {"a": "1", "b": "2", "c": "3"}}})
    assert (too_many.type, too_many.value, too_many.detail) == ("TooMany", 3, "must have at most 2 items")
    assert check({"storage": "1Gi", "labels": {"a": 1}}) == ['spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"']


def test_null_is_accepted_only_where_nullable():
    assert check({"storage": "1Gi", "note": None}) == []
    assert check({"storage": None}) == ['spec.storage: Invalid value: "null": spec.storage in body must be of type string: "null"']


def test_formats_and_int32_range_are_checked():
    assert check({"storage": "1Gi", "since": "2026-03-01T12:00:00Z"}) == []
    assert check({"storage": "1Gi", "since": "yesterday"}) == ['spec.since: Invalid value: "yesterday": spec.since in body must be of type date-time: "yesterday"']
    assert check({"storage": "1Gi", "port": 2**31}) == ['<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.port']


def test_int_or_string_accepts_both_and_nothing_else():
    assert check({"storage": "1Gi", "target": 80}) == []
    assert check({"storage": "1Gi", "target": "80%"}) == []
    assert check({"storage": "1Gi", "target": True}) == ['spec.target: Invalid value: "boolean": spec.target in body must be of type integer,string: "boolean"']


def test_junctors_report_on_the_nil_path_as_the_server_does():
    schema = {"type": "object", "properties": {"mode": {"type": "string", "oneOf": [{"enum": ["a"]}, {"enum": ["b"]}], "not": {"enum": ["c"]}}}}
    assert messages(crds.validate(schema, {"mode": "c"})) == [
        '<nil>: Invalid value: "": "mode" must validate one and only one schema (oneOf). Found none valid',
        'mode: Unsupported value: "c": supported values: "a"',
        '<nil>: Invalid value: "": "mode" must not validate the schema (not)',
    ]
    all_of = {"type": "object", "properties": {"n": {"type": "integer", "allOf": [{"minimum": 5}]}}}
    assert messages(crds.validate(all_of, {"n": 1})) == [
        "n: Invalid value: 1: n in body should be greater than or equal to 5",
        '<nil>: Invalid value: "": "n" must validate all the schemas (allOf). None validated',
    ]
    any_of = {"type": "object", "properties": {"n": {"type": "integer", "anyOf": [{"minimum": 5}, {"maximum": 0}]}}}
    assert crds.validate(any_of, {"n": 7}) == []
    assert messages(crds.validate(any_of, {"n": 2}))[0] == '<nil>: Invalid value: "": "n" must validate at least one schema (anyOf)'


def test_status_is_validated_under_its_own_path():
    status_schema = {"type": "object", "properties": {"phase": {"type": "string"}}}
    assert messages(crds.validate(status_schema, {"phase": 3}, "status")) == [
        'status.phase: Invalid value: "integer": phase in body must be of type string: "integer"'
    ]


def test_go_number_prints_floats_like_go():
    assert [structural.go_number(v) for v in (9, 9.0, 0.5, 1e6, 123456.0, 1234567.0, 0.00001)] == [
        "9", "9", "0.5", "1e+06", "123456", "1.234567e+06", "1e-05",
    ]  # fmt: skip


# --------------------------------------------------------------------------- pruning

NESTED = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "servers": {"type": "array", "items": {"type": "object", "properties": {"host": {"type": "string"}}}},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                "env": {"type": "object", "additionalProperties": {"type": "object", "properties": {"value": {"type": "string"}}}},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object", "properties": {"image": {"type": "string"}}}},
                },
            },
        }
    },
}


def test_pruning_follows_arrays_maps_and_reports_sorted_paths():
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Database",
        "metadata": {"name": "db", "colour": "red"},
        "spec": {
            "servers": [{"host": "a", "port": 1}],
            "env": {"HOME": {"value": "/root", "secret": True}},
            "extra": 1,
        },
        "top": True,
    }
    assert crds.prune(NESTED, obj) == ["metadata.colour", "spec.env.HOME.secret", "spec.extra", "spec.servers[0].port", "top"]
    assert obj == {
        "apiVersion": "example.com/v1",
        "kind": "Database",
        "metadata": {"name": "db"},
        "spec": {"servers": [{"host": "a"}], "env": {"HOME": {"value": "/root"}}},
    }


def test_preserve_unknown_fields_keeps_unknown_keys_but_prunes_known_subtrees():
    obj = {"spec": {"config": {"anything": {"deep": 1}, "known": {"a": "x", "b": "y"}}}}
    assert crds.prune(NESTED, obj) == ["spec.config.known.b"]
    assert obj == {"spec": {"config": {"anything": {"deep": 1}, "known": {"a": "x"}}}}


def test_without_preserve_unknown_fields_the_same_keys_are_dropped():
    schema = copy.deepcopy(NESTED)
    del schema["properties"]["spec"]["properties"]["config"]["x-kubernetes-preserve-unknown-fields"]
    obj = {"spec": {"config": {"anything": {"deep": 1}, "known": {"a": "x"}}}}
    assert crds.prune(schema, obj) == ["spec.config.anything"]
    assert obj == {"spec": {"config": {"known": {"a": "x"}}}}


def test_embedded_resources_keep_type_and_object_meta():
    template = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}, "bogus": 1}, "spec": {"image": "x", "extra": 2}}
    obj = {"spec": {"template": template}}
    assert crds.prune(NESTED, obj) == ["spec.template.spec.extra", "spec.template.metadata.bogus"]
    assert obj["spec"]["template"] == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"image": "x"}}


def test_embedded_resource_needs_api_version_and_kind():
    crd = simple_crd(NESTED)
    obj = {"apiVersion": "example.com/v1", "kind": "Database", "metadata": {"name": "db"}, "spec": {"template": {"kind": ""}}}
    assert messages(crds.validate_custom_resource(crd, "v1", obj)) == [
        "spec.template.apiVersion: Required value",
        'spec.template.kind: Invalid value: "": must not be empty',
    ]


def test_list_type_set_and_map_refuse_duplicates():
    schema = spec_schema(
        tags={"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        ports={
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}},
        },
    )
    crd = simple_crd(schema)
    spec = {"tags": ["a", "b", "a", "a"], "ports": [{"name": "http", "port": 80}, {"name": "http", "port": 8080}]}
    obj = {"apiVersion": "example.com/v1", "kind": "Database", "metadata": {"name": "db"}, "spec": spec}
    assert messages(crds.validate_custom_resource(crd, "v1", obj)) == [
        'spec.tags[2]: Duplicate value: "a"',
        'spec.ports[1]: Duplicate value: {"name":"http"}',
    ]


# --------------------------------------------------------------------------- defaulting


def test_defaults_reach_array_items_and_map_values():
    schema = spec_schema(
        servers={"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer", "default": 5432}}}},
        env={"type": "object", "additionalProperties": {"type": "object", "properties": {"from": {"type": "string", "default": "literal"}}}},
    )
    obj = {"spec": {"servers": [{}, {"port": 1}], "env": {"A": {}}}}
    crds.apply_defaults(schema, obj)
    assert obj == {"spec": {"servers": [{"port": 5432}, {"port": 1}], "env": {"A": {"from": "literal"}}}}


def test_nulls_are_defaulted_dropped_or_kept_by_nullable():
    schema = spec_schema(
        size={"type": "integer", "default": 3},
        note={"type": "string"},
        comment={"type": "string", "nullable": True, "default": "none"},
    )
    obj = {"spec": {"size": None, "note": None, "comment": None}}
    crds.apply_defaults(schema, obj)
    assert obj == {"spec": {"size": 3, "comment": None}}


def test_defaults_are_copies_not_shared():
    schema = spec_schema(tags={"type": "array", "items": {"type": "string"}, "default": []})
    first, second = {"spec": {}}, {"spec": {}}
    crds.apply_defaults(schema, first)
    crds.apply_defaults(schema, second)
    first["spec"]["tags"].append("x")
    assert second["spec"]["tags"] == [] and schema["properties"]["spec"]["properties"]["tags"]["default"] == []


# --------------------------------------------------------------------------- scale subresource


def scalable_crd() -> dict:
    schema = spec_schema(replicas={"type": "integer"})
    schema["properties"]["status"] = {"type": "object", "properties": {"replicas": {"type": "integer"}, "selector": {"type": "string"}}}
    scale = {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}
    return simple_crd(schema, subresources={"status": {}, "scale": scale})


def database(replicas: int | None = 3) -> dict:
    spec = {} if replicas is None else {"replicas": replicas}
    return {
        "apiVersion": "example.com/v1",
        "kind": "Database",
        "metadata": {"name": "db", "namespace": "ns", "uid": "u-1", "resourceVersion": "7", "creationTimestamp": NOW},
        "spec": spec,
        "status": {"replicas": 2, "selector": "app=db"},
    }


def test_scale_reads_replicas_and_selector_from_the_declared_paths():
    assert crds.scale_of(scalable_crd(), "v1", database()) == {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": "db", "namespace": "ns", "uid": "u-1", "resourceVersion": "7", "creationTimestamp": NOW},
        "spec": {"replicas": 3},
        "status": {"replicas": 2, "selector": "app=db"},
    }


def test_scale_round_trip_sets_spec_replicas_only():
    crd = scalable_crd()
    scaled = crds.apply_scale(crd, "v1", database(), 5)
    assert scaled["spec"]["replicas"] == 5 and scaled["status"] == {"replicas": 2, "selector": "app=db"}
    assert crds.scale_of(crd, "v1", scaled)["spec"] == {"replicas": 5}
    assert crds.scale_of(crd, "v1", crds.apply_scale(crd, "v1", scaled, 0))["spec"] == {}


def test_scale_without_spec_replicas_is_an_internal_error():
    with pytest.raises(APIError) as caught:
        crds.scale_of(scalable_crd(), "v1", database(None))
    assert (caught.value.code, caught.value.message) == (500, 'Internal error occurred: the spec replicas field ".spec.replicas" does not exist')


def test_negative_scale_is_refused():
    with pytest.raises(APIError) as caught:
        crds.apply_scale(scalable_crd(), "v1", database(), -1)
    assert caught.value.code == 422
    assert caught.value.message == 'Scale.autoscaling "db" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'


def test_crd_without_scale_has_no_scale_subresource():
    with pytest.raises(APIError) as caught:
        crds.scale_of(widget_crd(), "v1", widget("w", spec={"size": 1}))
    assert caught.value.code == 404


def test_negative_replicas_in_the_resource_are_refused_through_the_scale_paths():
    errors = crds.validate_custom_resource(scalable_crd(), "v1", database(-2))
    assert messages(errors) == [".spec.replicas: Invalid value: -2: should be a non-negative integer"]
