"""The operator's RBAC for real: with only its ServiceAccount's token it does its whole job
(members created, replication, status, events, failover through exec), and nothing more (no
Secrets of other namespaces, no nodes, no Deployments), denied in Kubernetes' words."""

from __future__ import annotations

import json

import pytest

from k8s_course.operator import Operator, leadership, resources

from .support import MANIFESTS, QUICK, Api, install_crd, postgres_cluster, until

OPERATOR_NAMESPACE = "pg-operator"
ACCOUNT = "pg-operator"
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{ACCOUNT}"


@pytest.fixture(scope="module")
def operator_client(simulator, api_client):
    """An official ApiClient that is the operator's ServiceAccount and no one else: the rbac.yaml
    objects applied as the admin, then a token from the TokenRequest API."""
    from kubernetes import client

    from k8s_course import backends
    from k8s_course.cluster import Cluster

    install_crd(api_client)
    backend = backends.Backend("simulator", str(simulator.kubeconfig), backends.SIM_CONTEXT, "test simulator")
    admin = Cluster(backend, api_client, "default")
    admin.apply((MANIFESTS / "rbac.yaml").read_text(), namespace=None)
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    token = client.CoreV1Api(api_client).create_namespaced_service_account_token(
        ACCOUNT, OPERATOR_NAMESPACE, request).status.token
    configuration = client.Configuration(host=api_client.configuration.host,
                                         api_key={"BearerToken": f"Bearer {token}"})
    configuration.ssl_ca_cert = api_client.configuration.ssl_ca_cert
    with client.ApiClient(configuration) as operator_api:
        yield operator_api


def whoami(api_client) -> str:
    from kubernetes import client

    review = client.AuthenticationV1Api(api_client).create_self_subject_review({"apiVersion": "authentication.k8s.io/v1",
                                                                                "kind": "SelfSubjectReview"})
    return review.status.user_info.username


def denial(call) -> dict:
    """The Status body of a call that must be refused."""
    from kubernetes.client import ApiException

    with pytest.raises(ApiException) as refused:
        call()
    assert refused.value.status == 403
    return json.loads(refused.value.body)


def test_the_token_is_the_operators_service_account(operator_client):
    assert whoami(operator_client) == OPERATOR_USER


def test_with_its_own_token_the_operator_runs_a_cluster_and_fails_over(api_client, operator_client, namespace):
    from kubernetes import client

    api = Api(api_client, namespace)  # the test reads as the admin; the operator acts as itself
    operator = Operator(operator_client, namespace=namespace, lease_namespace=OPERATOR_NAMESPACE,
                        identity="least-privilege", timings=QUICK).start()
    try:
        until(lambda: operator.leading, "the operator to hold its Lease in pg-operator")
        api.create(postgres_cluster(replicas=3, synchronous=True))
        until(lambda: api.status().get("phase") == "Running" and api.status().get("readyReplicas") == 3,
              "three members streaming and Ready", timeout=60)
        status = api.status()
        assert [(m["name"], m["state"]) for m in status["members"]] == [
            ("pg-1", "primary"), ("pg-2", "streaming"), ("pg-3", "streaming")]
        assert api.cluster()["metadata"]["finalizers"] == [resources.FINALIZER]

        api.core.delete_namespaced_pod("pg-1", namespace, grace_period_seconds=0)
        until(lambda: api.status().get("primary") in ("pg-2", "pg-3"), "a replica to be promoted", timeout=60)
        until(lambda: api.status().get("phase") == "Running" and api.status().get("readyReplicas") == 3,
              "the cluster to heal", timeout=60)
        status = api.status()
        assert status["lastFailover"]["from"] == "pg-1"
        assert api.roles() == {status["primary"]: "primary",
                               **{m["name"]: "replica" for m in status["members"] if m["role"] != "primary"}}
        # its Events were posted as itself (a denied Event is only logged, so look for them)
        reasons = api.reasons()
        assert {"MemberCreated", "Cloned", "Promoting"} <= set(reasons), reasons
        lease = client.CoordinationV1Api(api_client).read_namespaced_lease(leadership.LEASE_NAME,
                                                                           OPERATOR_NAMESPACE)
        assert lease.spec.holder_identity == "least-privilege"
    finally:
        operator.stop()
        if api.cluster() is not None:  # its finalizer is the operator's to remove: let a new one do it
            api.custom.delete_namespaced_custom_object(resources.GROUP, resources.VERSION, namespace,
                                                       resources.PLURAL, "pg")
            cleaner = Operator(operator_client, namespace=namespace, lease_namespace=OPERATOR_NAMESPACE,
                               identity="least-privilege-cleanup", timings=QUICK).start()
            try:
                until(lambda: api.cluster() is None, "the operator to remove its finalizer", timeout=30)
            finally:
                cleaner.stop()


def test_reading_secrets_in_kube_system_is_forbidden(operator_client):
    from kubernetes import client

    core = client.CoreV1Api(operator_client)
    status = denial(lambda: core.list_namespaced_secret("kube-system"))
    assert status["kind"] == "Status" and status["reason"] == "Forbidden" and status["code"] == 403
    assert status["message"] == (f'secrets is forbidden: User "{OPERATOR_USER}" cannot list resource "secrets" '
                                 'in API group "" in the namespace "kube-system"')
    named = denial(lambda: core.read_namespaced_secret("bootstrap-token-abcdef", "kube-system"))
    assert named["message"] == (f'secrets "bootstrap-token-abcdef" is forbidden: User "{OPERATOR_USER}" '
                                'cannot get resource "secrets" in API group "" in the namespace "kube-system"')
    assert named["details"] == {"name": "bootstrap-token-abcdef", "kind": "secrets"}


def test_listing_nodes_is_forbidden(operator_client):
    from kubernetes import client

    status = denial(lambda: client.CoreV1Api(operator_client).list_node())
    assert status["message"] == (f'nodes is forbidden: User "{OPERATOR_USER}" cannot list resource "nodes" '
                                 'in API group "" at the cluster scope')


def test_deleting_a_deployment_is_forbidden_and_it_stays(api_client, operator_client, namespace):
    from kubernetes import client

    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
    client.AppsV1Api(api_client).create_namespaced_deployment(namespace, deployment)
    status = denial(lambda: client.AppsV1Api(operator_client).delete_namespaced_deployment("web", namespace))
    assert status["message"] == (f'deployments.apps "web" is forbidden: User "{OPERATOR_USER}" cannot delete '
                                 f'resource "deployments" in API group "apps" in the namespace "{namespace}"')
    assert status["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    assert client.AppsV1Api(api_client).read_namespaced_deployment("web", namespace).metadata.name == "web"
