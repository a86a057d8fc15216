"""The API server's limits with exact values: request rate, open watches, body size, queries.

The pure checks run on their own; the HTTP tests serve a fresh cluster's API in this process
(aiohttp's test server, no TLS) with the rate limiter on a frozen clock, so "within a second"
is exact and nothing here touches the session's simulator.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from k8s_course.sim import errors
from k8s_course.sim.api import limits
from k8s_course.sim.simulator import Cluster

# --- the pure limits ------------------------------------------------------------------------


class FrozenClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_two_thousand_and_first_request_within_a_second_is_too_many():
    clock = FrozenClock()
    limiter = limits.RateLimiter(now=clock)
    for _ in range(2000):
        limiter.admit("jane")
    with pytest.raises(errors.APIError) as refused:
        limiter.admit("jane")
    error = refused.value
    assert (error.code, error.reason, error.message) == (429, "TooManyRequests",
                                                         "Too many requests, please try again later.")
    assert error.headers == {"Retry-After": "1"}
    assert error.status()["details"] == {"retryAfterSeconds": 1}


def test_the_bucket_refills_at_a_thousand_requests_a_second():
    clock = FrozenClock()
    limiter = limits.RateLimiter(now=clock)
    for _ in range(2000):
        limiter.admit("jane")
    clock.now += 0.010  # ten milliseconds: ten more requests
    for _ in range(10):
        limiter.admit("jane")
    with pytest.raises(errors.APIError):
        limiter.admit("jane")


def test_one_users_burst_does_not_limit_another_user():
    clock = FrozenClock()
    limiter = limits.RateLimiter(now=clock)
    for _ in range(2000):
        limiter.admit("jane")
    limiter.admit("system:serviceaccount:ops:operator")  # its own bucket is full


def test_the_hundred_and_first_watch_of_a_user_is_too_many_until_one_closes():
    watches = limits.WatchCounter()
    for _ in range(100):
        watches.open("jane")
    with pytest.raises(errors.APIError) as refused:
        watches.open("jane")
    assert (refused.value.code, refused.value.reason, refused.value.headers) == (
        429, "TooManyRequests", {"Retry-After": "1"})
    assert refused.value.message == ("too many watches open: the simulated cluster allows 100 per user; "
                                     "stop a watch before starting another")
    watches.open("joe")  # other users keep their own count
    watches.close("jane")
    watches.open("jane")
    assert watches.count("jane") == 100


@pytest.mark.parametrize("text,message", [
    ("ten", 'strconv.ParseInt: parsing "ten": invalid syntax'),
    ("1_000", 'strconv.ParseInt: parsing "1_000": invalid syntax'),
    ("9223372036854775808", 'strconv.ParseInt: parsing "9223372036854775808": value out of range'),
    ("1.5", 'strconv.ParseInt: parsing "1.5": invalid syntax'),
])
def test_a_query_integer_kubernetes_cannot_parse_is_a_bad_request_in_gos_words(text, message):
    with pytest.raises(errors.APIError) as refused:
        limits.check_query("GET", {"limit": text})
    assert (refused.value.code, refused.value.reason, refused.value.message) == (400, "BadRequest", message)


def test_query_integers_read_as_go_reads_them():
    assert [limits.parse_int64(t) for t in ("5", "+7", "-3", " 12 ", "9223372036854775807")] == [
        5, 7, -3, 12, 2**63 - 1]


def test_a_resource_version_that_is_not_a_number_is_a_bad_request():
    with pytest.raises(errors.APIError) as refused:
        limits.check_query("GET", {"resourceVersion": "-1", "watch": "1"})
    assert refused.value.message == ('resourceVersion: Invalid value: "-1": '
                                     'strconv.ParseUint: parsing "-1": invalid syntax')


def test_an_unknown_resource_version_match_is_invalid_list_options():
    with pytest.raises(errors.APIError) as refused:
        limits.check_query("GET", {"resourceVersion": "5", "resourceVersionMatch": "Newest"})
    assert (refused.value.code, refused.value.reason) == (422, "Invalid")
    assert refused.value.message == ('ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported '
                                     'value: "Newest": supported values: "Exact", "NotOlderThan", ""')


def test_a_watch_with_resource_version_match_needs_initial_events():
    with pytest.raises(errors.APIError) as refused:
        limits.check_query("GET", {"watch": "true", "resourceVersionMatch": "NotOlderThan"})
    assert refused.value.message == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")
    limits.check_query("GET", {"watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"})


def test_unknown_query_parameters_are_ignored_as_kubernetes_ignores_them():
    limits.check_query("GET", {"colour": "blue", "limit": "", "pretty": "true", "timeoutSeconds": "30"})


@pytest.mark.parametrize("method,content_type,custom,accepted", [
    ("POST", "text/plain", False, "application/json, application/yaml, application/vnd.kubernetes.protobuf"),
    ("PUT", "application/vnd.kubernetes.protobuf", True, "application/json, application/yaml"),
    ("PATCH", "application/json", False, "application/json-patch+json, application/merge-patch+json, "
                                         "application/strategic-merge-patch+json, application/apply-patch+yaml"),
    ("PATCH", "text/plain", True, "application/json-patch+json, application/merge-patch+json, "
                                  "application/apply-patch+yaml"),
])
def test_a_body_in_an_unknown_format_is_an_unsupported_media_type(method, content_type, custom, accepted):
    with pytest.raises(errors.APIError) as refused:
        limits.check_content_type(method, content_type, custom)
    assert (refused.value.code, refused.value.reason) == (415, "UnsupportedMediaType")
    assert refused.value.message == ("the body of the request was in an unknown format - accepted media types "
                                     f"include: {accepted}")


def test_bodies_in_formats_the_server_reads_pass():
    limits.check_content_type("POST", None, False)  # no Content-Type means JSON
    limits.check_content_type("POST", "application/json; charset=utf-8", True)
    limits.check_content_type("PATCH", "application/apply-patch+yaml", True)


def test_a_document_with_more_values_than_bytes_is_excessive_aliasing():
    shared = ["x"] * 10
    for _ in range(6):
        shared = [shared] * 10  # ten million strings behind a few hundred bytes of YAML
    with pytest.raises(errors.APIError) as refused:
        limits.check_aliasing({"a": shared}, size=300)
    assert (refused.value.code, refused.value.message) == (
        400, "the body of the request could not be decoded: yaml: document contains excessive aliasing")
    limits.check_aliasing({"a": ["x"] * 100}, size=len(json.dumps({"a": ["x"] * 100})))


# --- over HTTP, in this process ---------------------------------------------------------------


def serve(scenario, rate: limits.RateLimiter | None = None):
    """Run `scenario(client, cluster)` against a fresh cluster's API (seeded, no controllers)."""

    async def main():
        cluster = Cluster(controllers=lambda cluster: [])
        cluster.seed()
        if rate is not None:
            cluster.server.limits.rate = rate
        client = TestClient(TestServer(cluster.server.app()), connector=aiohttp.TCPConnector(limit=0),
                            headers={"Authorization": f"Bearer {cluster.token}"})  # no pool cap: 101 watches
        await client.start_server()
        try:
            return await scenario(client, cluster)
        finally:
            await client.close()

    return asyncio.run(main())


def test_over_http_the_two_thousand_and_first_request_gets_429_with_retry_after():
    async def scenario(client, cluster):
        for _ in range(2000):
            response = await client.get("/version")
            assert response.status == 200
            response.release()
        response = await client.get("/api/v1/namespaces")
        return response.status, response.headers.get("Retry-After"), await response.json()

    code, retry_after, status = serve(scenario, limits.RateLimiter(now=FrozenClock()))
    assert (code, retry_after) == (429, "1")
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": "Too many requests, please try again later.", "reason": "TooManyRequests",
                      "details": {"retryAfterSeconds": 1}, "code": 429}


def test_over_http_the_hundred_and_first_watch_gets_429_and_a_dropped_watch_frees_its_slot():
    async def scenario(client, cluster):
        watches = [await client.get("/api/v1/configmaps", params={"watch": "1"}) for _ in range(100)]
        assert {w.status for w in watches} == {200}
        refused = await client.get("/api/v1/configmaps", params={"watch": "1"})
        answer = (refused.status, refused.headers.get("Retry-After"), (await refused.json())["reason"])
        watches[0].close()  # the client goes away without a word
        counter = cluster.server.limits.watches
        for _ in range(1000):  # loop turns until the server notices
            if counter.count("kubernetes-admin") < 100:
                break
            await asyncio.sleep(0)
        again = await client.get("/api/v1/configmaps", params={"watch": "1"})
        for watch in [*watches[1:], again]:
            watch.close()
        return answer, again.status

    answer, again = serve(scenario)
    assert answer == (429, "1", "TooManyRequests")
    assert again == 200


def test_over_http_a_body_one_byte_over_three_mebibytes_is_too_large():
    async def scenario(client, cluster):
        over = await client.post("/api/v1/namespaces/default/configmaps", data=b" " * (3 * 1024 * 1024 + 1),
                                 headers={"Content-Type": "application/json"})
        exact = await client.post("/api/v1/namespaces/default/configmaps", data=b" " * (3 * 1024 * 1024),
                                  headers={"Content-Type": "application/json"})
        return over.status, await over.json(), exact.status

    code, status, exact = serve(scenario)
    assert (code, status["reason"], status["message"]) == (413, "RequestEntityTooLarge",
                                                          "Request entity too large: limit is 3145728")
    assert exact == 400  # read, and found empty: the limit is inclusive


def test_over_http_bad_queries_and_headers_get_kubernetes_statuses():
    async def scenario(client, cluster):
        answers = {}
        for what, call in {
            "limit": client.get("/api/v1/configmaps", params={"limit": "ten"}),
            "content type": client.post("/api/v1/namespaces/default/configmaps", data=b"name: x",
                                        headers={"Content-Type": "text/plain"}),
            "accept": client.get("/api/v1/configmaps", headers={"Accept": "text/html"}),
            "long selector": client.get("/api/v1/configmaps", params={"labelSelector": "a in (" + "b," * 20000 + "c)"}),
        }.items():
            response = await call
            answers[what] = (response.status, (await response.json()).get("reason"))
        return answers

    assert serve(scenario) == {
        "limit": (400, "BadRequest"),
        "content type": (415, "UnsupportedMediaType"),
        "accept": (406, "NotAcceptable"),
        "long selector": (200, None),  # a 40 kB request line is read, as Go's server reads it
    }


# --- regressions the hostile-input tests found ------------------------------------------------


@pytest.mark.parametrize("body,message", [
    ({"preconditions": "x"},
     "json: cannot unmarshal string into Go struct field DeleteOptions.preconditions of type v1.Preconditions"),
    ({"preconditions": {"uid": 5}},
     "json: cannot unmarshal number into Go struct field Preconditions.preconditions.uid of type string"),
    ({"gracePeriodSeconds": True},
     "json: cannot unmarshal bool into Go struct field DeleteOptions.gracePeriodSeconds of type int64"),
    ([1, 2], "json: cannot unmarshal array into Go value of type v1.DeleteOptions"),
])
def test_a_delete_options_body_of_the_wrong_shape_is_a_bad_request_not_a_crash(body, message):
    from k8s_course.sim.api import requests

    with pytest.raises(errors.APIError) as refused:
        requests.delete_options_body(body)
    assert (refused.value.code, refused.value.message) == (400, message)


def test_over_http_a_delete_body_nested_past_pythons_recursion_limit_is_a_bad_request():
    async def scenario(client, cluster):
        response = await client.delete("/api/v1/namespaces/default/configmaps/absent",
                                       data=b"[" * 100_000 + b"]" * 100_000,
                                       headers={"Content-Type": "application/json"})
        return response.status, (await response.json())["reason"]

    assert serve(scenario) == (400, "BadRequest")


def test_over_http_a_billion_laughs_yaml_body_is_refused_without_walking_it():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: laughs\n  annotations:\n" + "".join(
        f"    {line}\n" for line in lines)

    async def scenario(client, cluster):
        response = await client.post("/api/v1/namespaces/default/configmaps", data=text.encode(),
                                     headers={"Content-Type": "application/yaml"})
        return response.status, (await response.json())["message"]

    assert serve(scenario) == (
        400, "the body of the request could not be decoded: yaml: document contains excessive aliasing")
