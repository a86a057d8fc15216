"""Label and field selectors answer like the API server: matches, and 400s with its wording."""

import pytest

from k8s_course.sim import errors, selectors


def bad_request(call, *args):
    with pytest.raises(errors.APIError) as caught:
        call(*args)
    assert caught.value.code == 400
    assert caught.value.reason == "BadRequest"
    return caught.value.message


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "web"}, True),
        ("app!=web", {"app": "db"}, True),
        ("app!=web", {}, True),
        ("app=web", {}, False),
        ("tier in (front, back)", {"tier": "back"}, True),
        ("tier notin (front)", {"tier": "front"}, False),
        ("tier notin (front)", {}, True),
        ("canary", {"canary": ""}, True),
        ("!canary", {"canary": "yes"}, False),
        ("  app = web ,  !canary ", {"app": "web"}, True),
        ("app=web,tier=front", {"app": "web", "tier": "back"}, False),
        ("x in (in,notin)", {"x": "notin"}, True),
        ("replicas>2", {"replicas": "3"}, True),
        ("replicas<2", {"replicas": "3"}, False),
    ],
)
def test_label_selectors_match_like_kubernetes(text, labels, expected):
    assert selectors.parse_label_selector(text).matches(labels) is expected


def test_an_empty_label_selector_matches_everything_and_says_so():
    selector = selectors.parse_label_selector("")
    assert selector.empty
    assert selector.matches(None)
    assert not selectors.parse_label_selector("a").empty


def test_label_selector_prints_sorted_by_key_with_sorted_values():
    assert str(selectors.parse_label_selector("z=1,a in (y,x),!b")) == "a in (x,y),!b,z=1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a in", "unable to parse requirement: found '' expected: '('"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("a,", "found '', expected: identifier after ','"),
        ("x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a notin (x", "unable to parse requirement: found '', expected: ',' or ')'"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ],
)
def test_bad_label_selectors_get_the_parsers_wording(text, message):
    assert bad_request(selectors.parse_label_selector, text) == message


def test_an_invalid_label_key_is_reported_with_the_validation_message():
    message = bad_request(selectors.parse_label_selector, "bad_key_=x")
    assert message.startswith('unable to parse requirement: <nil>: Invalid value: "bad_key_": name part must consist')
    assert "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used" in message


def test_an_invalid_label_value_names_its_position_and_key():
    message = bad_request(selectors.parse_label_selector, "app=-web")
    assert message.startswith('unable to parse requirement: values[0][app]: Invalid value: "-web": a valid label must')


def test_selector_objects_convert_match_labels_and_expressions():
    selector = selectors.from_selector_object(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }
    )
    assert selector.matches({"app": "web", "tier": "edge"})
    assert not selector.matches({"app": "web", "tier": "edge", "canary": "1"})
    assert str(selector) == "app=web,!canary,tier in (edge,front)"


def test_a_nil_selector_object_matches_nothing_and_an_empty_one_everything():
    assert not selectors.from_selector_object(None).matches({"a": "b"})
    assert selectors.from_selector_object({}).matches({"a": "b"})


def test_selector_objects_are_formatted_like_kubectl_shows_them():
    assert selectors.format_selector_object({"matchLabels": {"app": "web"}}) == "app=web"
    assert selectors.format_selector_object({}) == "<none>"
    assert selectors.format_labels({"b": "2", "a": "1"}) == "a=1,b=2"


def test_selector_object_validation_uses_kubernetes_field_errors():
    problems = selectors.validate_selector_object(
        {
            "matchLabels": {"app": "we b"},
            "matchExpressions": [
                {"key": "tier", "operator": "In"},
                {"key": "x", "operator": "Exists", "values": ["a"]},
                {"key": "y", "operator": "Near", "values": ["a"]},
            ],
        },
        "spec.selector",
    )
    texts = [str(problem) for problem in problems]
    assert texts[0].startswith('spec.selector.matchLabels: Invalid value: "we b": a valid label must be')
    assert texts[1] == "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
    assert texts[2] == (
        "spec.selector.matchExpressions[1].values: Forbidden: "
        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
    )
    assert texts[3] == 'spec.selector.matchExpressions[2].operator: Invalid value: "Near": not a valid selector operator'


POD = {
    "metadata": {"name": "web-1", "namespace": "shop"},
    "spec": {"nodeName": "node-1", "restartPolicy": "Always"},
    "status": {"phase": "Running", "podIPs": [{"ip": "10.244.1.7"}]},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spec.nodeName=node-1", True),
        ("spec.nodeName==node-1,status.phase!=Pending", True),
        ("status.podIP=10.244.1.7", True),
        ("metadata.namespace=shop,metadata.name=web-1", True),
        ("status.nominatedNodeName=", True),  # a missing field reads as ""
        ("spec.hostNetwork=false", True),
        ("spec.host=node-2", False),
        ("status.phase=Pending", False),
    ],
)
def test_pod_field_selectors_match_like_kubernetes(text, expected):
    assert selectors.parse_field_selector(text, "v1/Pod").matches(POD) is expected


def test_event_field_selectors_read_the_involved_object():
    event = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "web-1"}, "reason": "BackOff",
             "type": "Warning", "source": {"component": "kubelet"}}  # fmt: skip
    selector = selectors.parse_field_selector("involvedObject.name=web-1,type=Warning,source=kubelet", "v1/Event")
    assert selector.matches(event)


def test_events_k8s_io_field_selectors_use_regarding():
    event = {"metadata": {"name": "e"}, "regarding": {"kind": "Pod", "name": "web-1"}, "reason": "BackOff"}
    assert selectors.parse_field_selector("regarding.name=web-1", "events.k8s.io/v1/Event").matches(event)
    assert not selectors.parse_field_selector("regarding.kind=Node", "events.k8s.io/v1/Event").matches(event)


def test_other_kinds_field_selectors():
    assert selectors.parse_field_selector("type=kubernetes.io/tls", "v1/Secret").matches({"type": "kubernetes.io/tls"})
    assert selectors.parse_field_selector("spec.unschedulable=true", "v1/Node").matches({"spec": {"unschedulable": True}})
    assert selectors.parse_field_selector("status.phase=Active", "v1/Namespace").matches({"status": {"phase": "Active"}})
    assert selectors.parse_field_selector("status.successful=2", "batch/v1/Job").matches({"status": {"succeeded": 2}})


@pytest.mark.parametrize(
    ("text", "kind_key", "message"),
    [
        ("spec.foo=x", "v1/Pod", "field label not supported: spec.foo"),
        ("metadata.namespace=x", "v1/Node", "field label not supported: metadata.namespace"),
        ("status.replicas=1", "apps/v1/ReplicaSet",
         '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'),
        ("status.active=1", "batch/v1/Job", 'field label "status.active" not supported for batchv1.Job'),
        ("nonsense", "v1/Pod", "invalid selector: 'nonsense'; can't understand 'nonsense'"),
    ],
)  # fmt: skip
def test_unsupported_field_labels_are_rejected_with_the_servers_wording(text, kind_key, message):
    assert bad_request(selectors.parse_field_selector, text, kind_key) == message


def test_custom_resources_accept_their_selectable_fields():
    selector = selectors.parse_field_selector("spec.color=red", "example.com/v1/Shirt", [".spec.color"])
    assert selector.matches({"spec": {"color": "red"}})
    message = bad_request(selectors.parse_field_selector, "spec.size=1", "example.com/v1/Shirt", [".spec.color"])
    assert message == "field label not supported: spec.size"


def test_field_selector_values_may_escape_commas():
    selector = selectors.parse_field_selector(r"metadata.name=a\,b", "v1/ConfigMap")
    assert selector.matches({"metadata": {"name": "a,b"}})
