"""The Kubernetes JSONPath dialect, as printer columns and `kubectl -o jsonpath` use it."""

import pytest

from k8s_course.sim import jsonpath

DOC = {
    "spec": {"replicas": 3, "a.b": "dotted"},
    "status": {
        "conditions": [
            {"type": "Ready", "status": "True", "n": 2},
            {"type": "Progressing", "status": "False", "n": 5},
        ]
    },
    "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}, {"metadata": {"name": "c"}}],
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (".spec.replicas", [3]),
        ("{.spec.replicas}", [3]),
        ("{ .spec.replicas }", [3]),
        ("$.spec.replicas", [3]),
        (".items[0].metadata.name", ["a"]),
        (".items[-1].metadata.name", ["c"]),
        (".items[0:2].metadata.name", ["a", "b"]),
        (".items[*].metadata.name", ["a", "b", "c"]),
        (".items[0,2].metadata.name", ["a", "c"]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        ('.status.conditions[?(@.type!="Ready")].type', ["Progressing"]),
        (".status.conditions[?(@.n>3)].type", ["Progressing"]),
        (".status.conditions[?(@.n)].type", ["Ready", "Progressing"]),
        ("..name", ["a", "b", "c"]),
        (".spec['a.b']", ["dotted"]),
        (r".spec.a\.b", ["dotted"]),
        (".spec.missing", []),
        (".items[7].metadata.name", []),
    ],
)
def test_expressions_select_what_kubernetes_selects(expression, expected):
    assert jsonpath.evaluate(expression, DOC) == expected


def test_templates_render_ranges_and_literals_like_kubectl():
    assert jsonpath.render('{range .items[*]}{.metadata.name}{"\\n"}{end}', DOC) == "a\nb\nc\n"
    assert jsonpath.render("replicas={.spec.replicas}", DOC) == "replicas=3"
    assert jsonpath.render("{.items[*].metadata.name}", DOC) == "a b c"


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("text", "text"),
        (3, "3"),
        (3.0, "3"),
        (1.5, "1.5"),
        (1e6, "1e+06"),
        (0.00001, "1e-05"),
        (True, "true"),
        ({"b": 1, "a": "<x>"}, '{"a":"\\u003cx\\u003e","b":1}'),
        ([1, "x"], '[1,"x"]'),
    ],
)
def test_values_are_printed_as_go_prints_them(value, printed):
    assert jsonpath.format_value(value) == printed


def test_malformed_expressions_raise():
    with pytest.raises(jsonpath.JSONPathError):
        jsonpath.evaluate(".items[abc]", DOC)
    with pytest.raises(jsonpath.JSONPathError):
        jsonpath.validate(".items[0")
