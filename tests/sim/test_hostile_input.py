"""Hostile input: whatever a client sends, the API server answers with a Status, never a 5xx.

Hypothesis generates bodies, patches, selectors, query strings and headers and throws them at
the session's simulator over HTTPS with its token. Every answer must come within a timeout,
be below 500, and be a `Status` when it is an error; afterwards the server still creates and
reads an object correctly.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TIMEOUT = 15  # seconds for one answer: a hang fails the test

settings.register_profile(
    "hostile", max_examples=100, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large])
HOSTILE = settings.get_profile("hostile")


class Answer:
    def __init__(self, status: int, headers, raw: bytes | None):
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def body(self):
        return json.loads(self.raw)


def send(simulator, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
         query: str = "", streaming: bool = False) -> Answer:
    """One request; a watch (`streaming`) that starts is closed unread."""
    all_headers = {"Authorization": f"Bearer {simulator.token}", "Accept": "application/json"}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    url = simulator.url + path + (f"?{query}" if query else "")
    request = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=simulator.ssl_context()) as response:
            if streaming and response.status == 200:
                return Answer(200, response.headers, None)
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def assert_answered_properly(answer: Answer) -> None:
    """Below 500, and an error is a Status with its code, reason and message."""
    assert answer.status < 500, answer.raw
    if answer.status >= 400:
        assert answer.headers.get("Content-Type", "").startswith("application/json"), answer.raw
        status = answer.body
        assert status["kind"] == "Status" and status["apiVersion"] == "v1", status
        assert status["status"] == "Failure" and status["code"] == answer.status, status
        assert isinstance(status["reason"], str) and isinstance(status["message"], str), status


def assert_still_serving(simulator, namespace: str) -> None:
    name = f"alive-{uuid.uuid4().hex[:8]}"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}
    created = send(simulator, "POST", f"/api/v1/namespaces/{namespace}/configmaps", json.dumps(body).encode())
    assert created.status == 201, created.raw
    read = send(simulator, "GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    assert (read.status, read.body["data"]) == (200, {"k": "v"})


@pytest.fixture(scope="module")
def arena(simulator):
    """A namespace for this module, with a ConfigMap and a Deployment to patch."""
    name = f"hostile-{uuid.uuid4().hex[:8]}"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    assert send(simulator, "POST", "/api/v1/namespaces", json.dumps(namespace).encode()).status == 201
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "target", "labels": {"a": "b"}},
              "data": {"k": "v"}}
    assert send(simulator, "POST", f"/api/v1/namespaces/{name}/configmaps", json.dumps(config).encode()).status == 201
    assert send(simulator, "POST", f"/apis/apps/v1/namespaces/{name}/deployments",
                json.dumps(DEPLOYMENT).encode()).status == 201
    yield name
    send(simulator, "DELETE", f"/api/v1/namespaces/{name}")


DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "target"},
    "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "target"}},
             "template": {"metadata": {"labels": {"app": "target"}},
                          "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}},
}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "x"}},
       "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                "ports": [{"containerPort": 80}],
                                "resources": {"requests": {"cpu": "100m"}}}]}}

# --- strategies -------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats() | st.text(max_size=20) | st.sampled_from(["", "0", "-1", "1e400", "100m", "1Gi", "true"]))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25)
known_keys = st.sampled_from(["apiVersion", "kind", "metadata", "spec", "status", "data", "name",
                              "namespace", "labels", "annotations", "containers", "replicas", "selector",
                              "template", "image", "ports", "resources", "finalizers", "ownerReferences",
                              "managedFields", "resourceVersion", "uid", "generateName", "deletionTimestamp"])
objects = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(known_keys | st.text(max_size=8),
                                                                      children, max_size=5),
    max_leaves=30)
kinds = st.sampled_from([
    ("/api/v1/namespaces/{ns}/configmaps", "v1", "ConfigMap"),
    ("/api/v1/namespaces/{ns}/pods", "v1", "Pod"),
    ("/api/v1/namespaces/{ns}/services", "v1", "Service"),
    ("/apis/apps/v1/namespaces/{ns}/deployments", "apps/v1", "Deployment"),
    ("/apis/batch/v1/namespaces/{ns}/jobs", "batch/v1", "Job"),
    ("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", "rbac.authorization.k8s.io/v1", "Role"),
])


def _paths(obj, prefix=()):
    """Every (path) to a value inside a JSON object, for replacing one field."""
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from _paths(value, (*prefix, index))


def _replaced(obj, path, value):
    if not path:
        return value
    copy = json.loads(json.dumps(obj))
    holder = copy
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value
    return copy


POD_PATHS = list(_paths(POD))[1:]
DEPLOYMENT_PATHS = list(_paths(DEPLOYMENT))[1:]


def _dump(value) -> bytes:
    return json.dumps(value).encode()  # NaN and Infinity come out as Python writes them


# --- objects ----------------------------------------------------------------------------


@HOSTILE
@given(kind=kinds, body=objects, wrap=st.booleans(), dry=st.booleans())
def test_generated_objects_are_answered_without_a_server_error(simulator, arena, kind, body, wrap, dry):
    path, api_version, kind_name = kind
    if wrap:  # give the random body a chance to get past the type check
        body = {"apiVersion": api_version, "kind": kind_name, "metadata": {"generateName": "g-"},
                **(body if isinstance(body, dict) else {"spec": body})}
    # dry runs keep random Pods and Deployments from being run by the behaviour side
    query = "dryRun=All" if dry or kind_name != "ConfigMap" else ""
    answer = send(simulator, "POST", path.format(ns=arena), _dump(body), query=query)
    assert_answered_properly(answer)


@HOSTILE
@given(which=st.sampled_from(["pod", "deployment"]), data=st.data(), value=json_values)
def test_random_types_in_known_fields_are_answered_without_a_server_error(simulator, arena, which, data, value):
    template, paths, path = ((POD, POD_PATHS, "/api/v1/namespaces/{ns}/pods") if which == "pod" else
                             (DEPLOYMENT, DEPLOYMENT_PATHS, "/apis/apps/v1/namespaces/{ns}/deployments"))
    field = data.draw(st.sampled_from(paths))
    body = _replaced(template, field, value)
    answer = send(simulator, "POST", path.format(ns=arena), _dump(body), query="dryRun=All")
    assert_answered_properly(answer)


@HOSTILE
@given(text=st.text(max_size=200) | st.builds(yaml.safe_dump, objects), method=st.sampled_from(["POST", "PUT"]))
def test_generated_yaml_is_answered_without_a_server_error(simulator, arena, text, method):
    path = f"/api/v1/namespaces/{arena}/configmaps" + ("/target" if method == "PUT" else "")
    answer = send(simulator, method, path, text.encode(), {"Content-Type": "application/yaml"},
                  query="dryRun=All")
    assert_answered_properly(answer)


@HOSTILE
@given(depth=st.integers(min_value=1, max_value=20_000), opener=st.sampled_from(["[", '{"a":']),
       content_type=st.sampled_from(["application/json", "application/yaml"]))
def test_deeply_nested_bodies_are_answered_without_a_server_error(simulator, arena, depth, opener, content_type):
    closer = "]" if opener == "[" else "}"
    nested = opener * depth + "1" + closer * depth
    text = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"d-","annotations":' + nested + "}}"
    answer = send(simulator, "POST", f"/api/v1/namespaces/{arena}/configmaps", text.encode(),
                  {"Content-Type": content_type}, query="dryRun=All")
    assert_answered_properly(answer)
    assert answer.status >= 400


@HOSTILE
@given(size=st.integers(min_value=0, max_value=5 << 20), where=st.sampled_from(["data", "name", "label"]))
def test_huge_strings_are_answered_without_a_server_error(simulator, arena, size, where):
    big = "x" * size
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "h-"}}
    if where == "data":
        body["data"] = {"k": big}
    elif where == "name":
        body["metadata"]["name"] = big
    else:
        body["metadata"]["labels"] = {"k": big}
    answer = send(simulator, "POST", f"/api/v1/namespaces/{arena}/configmaps", _dump(body), query="dryRun=All")
    assert_answered_properly(answer)


# --- patches ----------------------------------------------------------------------------

PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml"]
pointer = st.lists(known_keys | st.text(max_size=6) | st.sampled_from(["-", "0", "1", "~1", "~0", "a~b"]),
                   max_size=5).map(lambda parts: "/" + "/".join(parts))
json_patch_operations = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "bogus"]) | scalars},
    optional={"path": pointer | scalars, "from": pointer | scalars, "value": json_values})


@HOSTILE
@given(content_type=st.sampled_from(PATCH_TYPES), data=st.data(),
       target=st.sampled_from(["/api/v1/namespaces/{ns}/configmaps/target",
                               "/apis/apps/v1/namespaces/{ns}/deployments/target",
                               "/apis/apps/v1/namespaces/{ns}/deployments/target/scale",
                               "/apis/apps/v1/namespaces/{ns}/deployments/target/status"]))
def test_patches_of_every_type_are_answered_without_a_server_error(simulator, arena, content_type, data, target):
    if content_type == "application/json-patch+json":
        body = data.draw(st.lists(json_patch_operations, max_size=4) | json_values)
    elif content_type == "application/apply-patch+yaml":
        body = data.draw(objects.map(lambda o: {"apiVersion": "v1", "kind": "ConfigMap",
                                                "metadata": {"name": "target"}, **o}
                                     if isinstance(o, dict) else o))
    else:
        body = data.draw(objects)
    answer = send(simulator, "PATCH", target.format(ns=arena), _dump(body), {"Content-Type": content_type},
                  query="dryRun=All&fieldManager=hypothesis")
    assert_answered_properly(answer)


# --- selectors, query strings and headers ------------------------------------------------

selector_text = st.lists(st.sampled_from(list("ab=!,() <>-_./~\\") + [" in ", " notin ", "a.b/c", "9"]),
                         max_size=30).map("".join) | st.text(max_size=40)
field_selector_text = st.lists(
    st.tuples(st.sampled_from(["metadata.name", "metadata.namespace", "status.phase", "spec.nodeName", "x"]),
              st.sampled_from(["=", "==", "!=", "", "~"]), st.text(max_size=10)),
    max_size=3).map(lambda terms: ",".join(f"{k}{o}{v}" for k, o, v in terms)) | st.text(max_size=40)


@HOSTILE
@given(label=selector_text, field=field_selector_text,
       collection=st.sampled_from(["/api/v1/namespaces/{ns}/configmaps", "/api/v1/namespaces/{ns}/pods",
                                   "/api/v1/nodes", "/apis/apps/v1/deployments", "/api/v1/events"]))
def test_selectors_are_answered_without_a_server_error(simulator, arena, label, field, collection):
    query = urllib.parse.urlencode({"labelSelector": label, "fieldSelector": field})
    answer = send(simulator, "GET", collection.format(ns=arena), query=query)
    assert_answered_properly(answer)


@HOSTILE
@given(length=st.integers(min_value=1, max_value=200_000), shape=st.sampled_from(["value", "set", "key"]))
def test_absurdly_long_selectors_are_answered_without_a_server_error(simulator, arena, length, shape):
    if shape == "value":
        label = "a=" + "b" * length
    elif shape == "set":
        label = "a in (" + ",".join(["b"] * max(1, length // 2)) + ")"
    else:
        label = "k" * length
    query = urllib.parse.urlencode({"labelSelector": label, "fieldSelector": "metadata.name=" + "n" * length})
    answer = send(simulator, "GET", f"/api/v1/namespaces/{arena}/configmaps", query=query)
    assert_answered_properly(answer)


parameter_names = st.sampled_from([
    "limit", "continue", "resourceVersion", "resourceVersionMatch", "timeoutSeconds", "labelSelector",
    "fieldSelector", "watch", "allowWatchBookmarks", "sendInitialEvents", "dryRun", "fieldManager",
    "fieldValidation", "force", "propagationPolicy", "gracePeriodSeconds", "orphanDependents", "pretty",
    "includeObject", "unknownThing"]) | st.text(max_size=8)
parameter_values = (st.text(max_size=12) | st.integers().map(str)
                    | st.sampled_from(["", "0", "-1", "1", "true", "false", "All", "Exact", "NotOlderThan",
                                       "9" * 30, " 5", "+7", "1_0", "Strict", "Foreground", "Orphan"]))
queries = st.lists(st.tuples(parameter_names, parameter_values), max_size=6)


@HOSTILE
@given(parameters=queries, method=st.sampled_from(["GET", "GET", "DELETE", "PATCH", "POST"]),
       path=st.sampled_from(["/api/v1/namespaces/{ns}/configmaps", "/api/v1/namespaces/{ns}/configmaps/target",
                             "/api/v1/namespaces/{ns}/configmaps/absent", "/apis/apps/v1/deployments"]),
       raw=st.lists(st.sampled_from(list("%&=+;?#/aZ09~") + ["%FF", "%00", "%%"]), max_size=30).map("".join))
def test_query_strings_are_answered_without_a_server_error(simulator, arena, parameters, method, path, raw):
    if method == "DELETE" and path.endswith("/target"):
        path = path.replace("target", "absent")  # keep the ConfigMap for the other examples
    if method == "DELETE" and path.endswith("/configmaps"):
        parameters = [*parameters, ("dryRun", "All")]  # a delete-collection would empty the namespace
    if method == "POST":
        parameters = [*parameters, ("dryRun", "All")]
    query = urllib.parse.urlencode(parameters) + ("&" + raw.replace("#", "%23") if raw else "")
    body = _dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "q-"}}) \
        if method in ("POST", "PATCH") else None
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else None
    answer = send(simulator, method, path.format(ns=arena), body, headers, query=query, streaming=True)
    assert_answered_properly(answer)


header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
media = st.sampled_from(["application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
                         "application/json;as=Table;v=v1;g=meta.k8s.io", "*/*", "text/html", "application/*",
                         "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "",
                         "application/json; charset=utf-8", "image/png", "application/cbor"]) | header_text


@HOSTILE
@given(accept=media, content_type=media, method=st.sampled_from(["GET", "POST", "PUT", "PATCH"]),
       extra=st.dictionaries(st.sampled_from(["User-Agent", "X-Remote-User", "Content-Encoding", "Upgrade",
                                              "Connection-Token", "If-Match", "Impersonate-User"]),
                             header_text.filter(str.strip), max_size=2))
def test_headers_are_answered_without_a_server_error(simulator, arena, accept, content_type, method, extra):
    # Impersonate-Group without Impersonate-User is a 500 on kube-apiserver too (auth.impersonation)
    path = f"/api/v1/namespaces/{arena}/configmaps" + ("" if method == "POST" else "/target")
    body = None if method == "GET" else _dump({"apiVersion": "v1", "kind": "ConfigMap",
                                               "metadata": {"name": "target"}, "data": {"k": "v"}})
    headers = {"Accept": accept, **extra}
    if body is not None:
        headers["Content-Type"] = content_type
    answer = send(simulator, method, path, body, headers, query="dryRun=All&fieldManager=hypothesis")
    assert_answered_properly(answer)


# --- afterwards ---------------------------------------------------------------------------


def test_a_billion_laughs_document_is_refused_quickly(simulator, arena):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: laughs-\n  annotations:\n" + "".join(
        f"    {line}\n" for line in lines)
    answer = send(simulator, "POST", f"/api/v1/namespaces/{arena}/configmaps", text.encode(),
                  {"Content-Type": "application/yaml"})
    assert_answered_properly(answer)
    assert (answer.status, answer.body["reason"]) == (400, "BadRequest")
    assert "excessive aliasing" in answer.body["message"]


def test_a_delete_with_a_hostile_body_is_answered_without_a_server_error(simulator, arena):
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"preconditions": "x"}', b'{"preconditions": {"uid": 5}}',
                 b'{"gracePeriodSeconds": true}', b'{"propagationPolicy": 7}', b'"text"', b"[1, 2]"):
        answer = send(simulator, "DELETE", f"/api/v1/namespaces/{arena}/configmaps/absent", body)
        assert_answered_properly(answer)


def test_the_server_still_creates_and_reads_after_the_onslaught(simulator, arena):
    assert_still_serving(simulator, arena)
    listed = send(simulator, "GET", f"/api/v1/namespaces/{arena}/configmaps", query="labelSelector=a%3Db")
    assert [item["metadata"]["name"] for item in listed.body["items"]] == ["target"]
