"""Two operators at once: only the holder of the Lease acts; the other takes over when it expires."""

from __future__ import annotations

import pytest

from k8s_course.operator import Operator, leadership

from .fakes import FakeDatabases
from .support import QUICK, Api, install_crd, postgres_cluster, until


@pytest.fixture
def api(api_client, namespace):
    install_crd(api_client)
    return Api(api_client, namespace)


@pytest.fixture
def pair(api_client, namespace):
    databases = FakeDatabases()
    first = Operator(api_client, namespace, databases=databases, timings=QUICK, identity="operator-a")
    second = Operator(api_client, namespace, databases=databases, timings=QUICK, identity="operator-b")
    yield first, second
    first.stop()
    second.stop()


def holder(api_client, namespace) -> str | None:
    from kubernetes import client

    lease = client.CoordinationV1Api(api_client).read_namespaced_lease(leadership.LEASE_NAME, namespace)
    return lease.spec.holder_identity


def instances(api, name):
    return {event.get("reportingInstance") for event in api.events(name)}


def test_only_the_leader_acts_and_the_other_takes_over_when_its_lease_expires(api, api_client, namespace, pair):
    first, second = pair
    first.start()
    until(lambda: first.leading, "the first operator to lead")
    second.start()
    api.create(postgres_cluster("one", replicas=2))
    until(lambda: api.status("one").get("phase") == "Running", "cluster one to be Running")
    assert holder(api_client, namespace) == "operator-a"
    assert not second.leading and second.reconciles == 0
    assert instances(api, "one") == {"operator-a"}
    lease = api_client.sanitize_for_serialization(
        __import__("kubernetes").client.CoordinationV1Api(api_client).read_namespaced_lease(
            leadership.LEASE_NAME, namespace))
    assert lease["spec"]["leaseDurationSeconds"] == QUICK.lease_duration

    first.stop(release=False)  # as if it crashed: the Lease is left to expire
    until(lambda: second.leading, "the second operator to take over", timeout=QUICK.lease_duration * 4)
    assert holder(api_client, namespace) == "operator-b"
    api.create(postgres_cluster("two", replicas=1))
    until(lambda: api.status("two").get("phase") == "Running", "cluster two to be Running")
    assert instances(api, "two") == {"operator-b"}


def test_a_stopped_leader_releases_the_lease_so_the_other_leads_at_once(api_client, namespace, pair):
    first, second = pair
    first.start()
    until(lambda: first.leading, "the first operator to lead")
    second.start()
    first.stop()
    until(lambda: second.leading, "the second operator to lead", timeout=QUICK.lease_duration)
    assert holder(api_client, namespace) == "operator-b"


def test_a_lease_counts_as_expired_only_after_it_stayed_unchanged_for_its_duration():
    lease = {"spec": {"holderIdentity": "a", "renewTime": "t1", "leaseDurationSeconds": 15, "leaseTransitions": 0}}
    assert not leadership.expired(lease, None, now=100.0)  # first sight: start counting
    seen = leadership.Seen(leadership.record_of(lease), at=100.0)
    assert not leadership.expired(lease, seen, now=114.9)
    assert leadership.expired(lease, seen, now=115.0)
    renewed = {"spec": {**lease["spec"], "renewTime": "t2"}}
    assert not leadership.expired(renewed, seen, now=200.0)  # it changed: the holder is alive
    assert leadership.expired({"spec": {"holderIdentity": None}}, None, now=0.0)  # released
