"""Authentication and RBAC through the API: tokens, kubectl auth can-i, --as, and a class of learners."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from kubernetes import client

from tests.sim.test_kubectl import kubectl

RBAC = "rbac.authorization.k8s.io"


def _token(api_client, namespace, account, **spec):
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], **spec))
    answer = client.CoreV1Api(api_client).create_namespaced_service_account_token(account, namespace, request)
    return answer.status.token


def _as_token(simulator, token):
    api = simulator.api_client()
    api.configuration.refresh_api_key_hook = None  # the kubeconfig loader's hook restores the admin token
    api.configuration.api_key = {"BearerToken": f"Bearer {token}"}
    return api


def _account(api_client, namespace, name):
    client.CoreV1Api(api_client).create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name)))


def _bind(api_client, namespace, name, role, account_namespace, account, kind="ClusterRole"):
    client.RbacAuthorizationV1Api(api_client).create_namespaced_role_binding(namespace, {
        "apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}]})


def _forbidden(call):
    with pytest.raises(client.ApiException) as caught:
        call()
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["reason"]) == (403, "Forbidden")
    return body


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("not reached in time")


@pytest.fixture
def other_namespace(api_client):
    name = f"test-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


# the admin


def test_kubectl_auth_can_i_answers_yes_for_the_admin_with_exit_code_zero(kubectl_env, namespace):
    answer = kubectl(kubectl_env, "auth", "can-i", "delete", "nodes")
    assert (answer.returncode, answer.stdout.strip()) == (0, "yes")
    whoami = json.loads(kubectl(kubectl_env, "auth", "whoami", "-o", "json").stdout)
    assert whoami["status"]["userInfo"] == {"username": "kubernetes-admin",
                                            "groups": ["kubeadm:cluster-admins", "system:authenticated"]}


def test_a_bad_token_is_401_with_the_status_kubernetes_sends(simulator):
    api = _as_token(simulator, "eyJhbGciOiJSUzI1NiJ9.e30.bm90LWEtdG9rZW4")
    with pytest.raises(client.ApiException) as caught:
        client.CoreV1Api(api).list_namespace()
    assert caught.value.status == 401
    assert json.loads(caught.value.body) == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                             "status": "Failure", "message": "Unauthorized",
                                             "reason": "Unauthorized", "code": 401}


# service accounts


def test_a_token_request_token_authenticates_as_its_service_account(simulator, api_client, namespace):
    _account(api_client, namespace, "bot")
    api = _as_token(simulator, _token(api_client, namespace, "bot"))
    review = client.AuthenticationV1Api(api).create_self_subject_review(client.V1SelfSubjectReview())
    assert review.status.user_info.username == f"system:serviceaccount:{namespace}:bot"
    assert review.status.user_info.groups == ["system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                                              "system:authenticated"]
    body = _forbidden(lambda: client.CoreV1Api(api).list_namespaced_pod(namespace))
    assert body["message"] == (f'pods is forbidden: User "system:serviceaccount:{namespace}:bot" cannot list '
                               f'resource "pods" in API group "" in the namespace "{namespace}"')
    assert body["details"] == {"kind": "pods"}


def test_a_token_for_another_audience_does_not_authenticate(simulator, api_client, namespace):
    _account(api_client, namespace, "bot")
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=["vault"]))
    token = client.CoreV1Api(api_client).create_namespaced_service_account_token("bot", namespace, request)
    with pytest.raises(client.ApiException) as caught:
        client.CoreV1Api(_as_token(simulator, token.status.token)).list_namespaced_pod(namespace)
    assert caught.value.status == 401


def test_the_tokens_of_a_deleted_service_account_stop_working(simulator, api_client, namespace):
    _account(api_client, namespace, "bot")
    _bind(api_client, namespace, "bot-view", "view", namespace, "bot")
    api = _as_token(simulator, _token(api_client, namespace, "bot"))
    assert client.CoreV1Api(api).list_namespaced_pod(namespace).items == []
    client.CoreV1Api(api_client).delete_namespaced_service_account("bot", namespace)
    with pytest.raises(client.ApiException) as caught:
        client.CoreV1Api(api).list_namespaced_pod(namespace)
    assert caught.value.status == 401
    _account(api_client, namespace, "bot")  # the same name again is another account
    with pytest.raises(client.ApiException) as again:
        client.CoreV1Api(api).list_namespaced_pod(namespace)
    assert again.value.status == 401


def test_kubectl_auth_can_i_as_a_service_account_follows_its_bindings(kubectl_env, api_client, namespace):
    _account(api_client, namespace, "bot")
    who = f"--as=system:serviceaccount:{namespace}:bot"
    denied = kubectl(kubectl_env, "auth", "can-i", "list", "pods", "-n", namespace, who, check=False)
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    _bind(api_client, namespace, "bot-view", "view", namespace, "bot")
    allowed = kubectl(kubectl_env, "auth", "can-i", "list", "pods", "-n", namespace, who)
    assert (allowed.returncode, allowed.stdout.strip()) == (0, "yes")
    assert kubectl(kubectl_env, "auth", "can-i", "get", "pods", "--subresource=log", "-n", namespace,
                   who).stdout.strip() == "yes"
    for verb_and_resource in (["create", "pods"], ["get", "secrets"], ["create", "pods/exec"],
                              ["list", "pods", "-n", "default"]):
        refused = kubectl(kubectl_env, "auth", "can-i", *verb_and_resource, "-n", namespace, who, check=False)
        if "-n" in verb_and_resource:
            refused = kubectl(kubectl_env, "auth", "can-i", *verb_and_resource, who, check=False)
        assert (refused.returncode, refused.stdout.strip()) == (1, "no"), verb_and_resource
    listed = kubectl(kubectl_env, "get", "pods", "-n", "default", who, check=False)
    assert listed.returncode == 1
    assert listed.stderr.strip() == (
        f'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:{namespace}:bot" cannot '
        'list resource "pods" in API group "" in the namespace "default"')


def test_kubectl_auth_can_i_list_shows_the_rules_of_a_namespace(kubectl_env, api_client, namespace):
    _account(api_client, namespace, "bot")
    rbac = client.RbacAuthorizationV1Api(api_client)
    rbac.create_namespaced_role(namespace, {
        "apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "scaler"},
        "rules": [{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["patch"],
                   "resourceNames": ["web"]}]})
    _bind(api_client, namespace, "bot-scaler", "scaler", namespace, "bot", kind="Role")
    lines = kubectl(kubectl_env, "auth", "can-i", "--list", "-n", namespace,
                    f"--as=system:serviceaccount:{namespace}:bot").stdout.splitlines()
    rows = [line.split() for line in lines]
    assert ["deployments.apps/scale", "[]", "[web]", "[patch]"] in rows
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows
    assert ["[/version]", "[]", "[get]"] in rows
    scale = kubectl(kubectl_env, "auth", "can-i", "patch", "deployments/web", "--subresource=scale",
                    "-n", namespace, f"--as=system:serviceaccount:{namespace}:bot")
    assert scale.stdout.strip() == "yes"


def test_impersonation_needs_the_impersonate_verb(simulator, api_client, namespace):
    _account(api_client, namespace, "bot")
    api = _as_token(simulator, _token(api_client, namespace, "bot"))
    api.set_default_header("Impersonate-User", "kubernetes-admin")
    body = _forbidden(lambda: client.CoreV1Api(api).list_node())
    assert body["message"] == (f'users "kubernetes-admin" is forbidden: User "system:serviceaccount:{namespace}:bot" '
                               'cannot impersonate resource "users" in API group "" at the cluster scope')
    assert body["details"] == {"name": "kubernetes-admin", "kind": "users"}


def test_kubectl_as_a_group_gets_what_the_group_is_bound_to(kubectl_env, api_client, namespace):
    client.RbacAuthorizationV1Api(api_client).create_namespaced_role_binding(namespace, {
        "apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": "devs-edit"},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "Group", "name": "devs", "apiGroup": RBAC}]})
    as_dev = ["--as=jane", "--as-group=devs"]
    assert kubectl(kubectl_env, "auth", "can-i", "create", "deployments.apps", "-n", namespace,
                   *as_dev).stdout.strip() == "yes"
    assert kubectl(kubectl_env, "auth", "can-i", "create", "deployments.apps", "-n", namespace, "--as=jane",
                   check=False).stdout.strip() == "no"
    whoami = json.loads(kubectl(kubectl_env, "auth", "whoami", "-o", "json", *as_dev).stdout)
    assert whoami["status"]["userInfo"] == {"username": "jane", "groups": ["devs", "system:authenticated"]}


def test_subject_access_reviews_answer_for_another_user(api_client, namespace):
    _account(api_client, namespace, "bot")
    _bind(api_client, namespace, "bot-edit", "edit", namespace, "bot")
    authorization = client.AuthorizationV1Api(api_client)
    user = f"system:serviceaccount:{namespace}:bot"
    review = authorization.create_subject_access_review(client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
        user=user, groups=["system:serviceaccounts"],
        resource_attributes=client.V1ResourceAttributes(verb="update", group="apps", resource="deployments",
                                                        subresource="scale", namespace=namespace))))
    assert review.status.allowed is True
    assert review.status.reason == (f'RBAC: allowed by RoleBinding "bot-edit/{namespace}" of ClusterRole "edit" '
                                    f'to ServiceAccount "bot/{namespace}"')
    local = authorization.create_namespaced_local_subject_access_review(namespace, client.V1LocalSubjectAccessReview(
        metadata=client.V1ObjectMeta(namespace=namespace), spec=client.V1SubjectAccessReviewSpec(
            user=user, resource_attributes=client.V1ResourceAttributes(verb="create", resource="rolebindings",
                                                                       group=RBAC, namespace=namespace))))
    assert local.status.allowed is False  # edit, unlike admin, does not manage RBAC


def test_a_custom_role_labelled_for_edit_is_aggregated_into_edit_and_admin(api_client):
    rbac = client.RbacAuthorizationV1Api(api_client)
    rule = {"apiGroups": ["postgres.example.com"], "resources": ["postgresclusters", "postgresclusters/status"],
            "verbs": ["get", "list", "watch", "update"]}
    name = f"postgres-edit-{uuid.uuid4().hex[:6]}"
    rbac.create_cluster_role({"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
                              "metadata": {"name": name, "labels": {f"{RBAC}/aggregate-to-edit": "true"}},
                              "rules": [rule]})
    try:
        def has_rule(role):
            rules = api_client.sanitize_for_serialization(rbac.read_cluster_role(role).rules or [])
            return {**rule, "verbs": rule["verbs"]} in rules
        _wait(lambda: has_rule("edit") and has_rule("admin"))
        assert not has_rule("view")
    finally:
        rbac.delete_cluster_role(name)
    _wait(lambda: not has_rule("edit") and not has_rule("admin"))


# a class on one cluster: one namespace per learner


def test_a_learner_bound_to_admin_in_their_namespace_is_kept_out_of_the_others(simulator, api_client, namespace,
                                                                                 other_namespace):
    for learner_namespace in (namespace, other_namespace):
        _account(api_client, learner_namespace, "learner")
        _bind(api_client, learner_namespace, "learner-admin", "admin", learner_namespace, "learner")
    client.CoreV1Api(api_client).create_namespaced_secret(other_namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="db"), string_data={"password": "s3cret"}))
    learner = client.CoreV1Api(_as_token(simulator, _token(api_client, namespace, "learner")))
    created = learner.create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "mine"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    assert created.metadata.namespace == namespace
    user = f"system:serviceaccount:{namespace}:learner"
    listed = _forbidden(lambda: learner.list_namespaced_pod(other_namespace))
    assert listed["message"] == (f'pods is forbidden: User "{user}" cannot list resource "pods" in API group "" '
                                 f'in the namespace "{other_namespace}"')
    secret = _forbidden(lambda: learner.read_namespaced_secret("db", other_namespace))
    assert secret["message"] == (f'secrets "db" is forbidden: User "{user}" cannot get resource "secrets" in API '
                                 f'group "" in the namespace "{other_namespace}"')
    assert secret["details"] == {"name": "db", "kind": "secrets"}
    nodes = _forbidden(lambda: learner.list_node())
    assert nodes["message"] == (f'nodes is forbidden: User "{user}" cannot list resource "nodes" in API group "" '
                                "at the cluster scope")
    assert [p.metadata.name for p in learner.list_namespaced_pod(namespace).items] == ["mine"]


def test_a_pod_mounted_token_read_by_cat_authenticates_as_the_pods_account(simulator, api_client, kubectl_env,
                                                                            namespace):
    _account(api_client, namespace, "reader")
    _bind(api_client, namespace, "reader-view", "view", namespace, "reader")
    client.CoreV1Api(api_client).create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shell"},
        "spec": {"serviceAccountName": "reader",
                 "containers": [{"name": "sh", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}})
    _wait(lambda: client.CoreV1Api(api_client).read_namespaced_pod("shell", namespace).status.phase == "Running")
    token = kubectl(kubectl_env, "exec", "shell", "-n", namespace, "--", "cat",
                    "/var/run/secrets/kubernetes.io/serviceaccount/token").stdout.strip()
    api = _as_token(simulator, token)
    review = client.AuthenticationV1Api(api).create_self_subject_review(client.V1SelfSubjectReview())
    info = review.status.user_info
    assert info.username == f"system:serviceaccount:{namespace}:reader"
    assert info.extra["authentication.kubernetes.io/pod-name"] == ["shell"]
    assert [p.metadata.name for p in client.CoreV1Api(api).list_namespaced_pod(namespace).items] == ["shell"]
    _forbidden(lambda: client.CoreV1Api(api).delete_namespaced_pod("shell", namespace))
    exec_denied = kubectl(kubectl_env, "--token", token, "exec", "shell", "-n", namespace, "--", "true",
                          check=False)
    assert exec_denied.returncode == 1  # view reads pods, but running commands needs create on pods/exec
    assert exec_denied.stderr.strip() == (
        f'Error from server (Forbidden): pods "shell" is forbidden: User "system:serviceaccount:{namespace}:reader" '
        f'cannot create resource "pods/exec" in API group "" in the namespace "{namespace}"')


def test_discovery_lists_every_review_kind_of_authorization_with_create_only(api_client):
    listed = client.AuthorizationV1Api(api_client).get_api_resources().resources
    reviews = {r.name: (r.kind, r.namespaced, r.verbs) for r in listed}
    assert reviews == {
        "localsubjectaccessreviews": ("LocalSubjectAccessReview", True, ["create"]),
        "selfsubjectaccessreviews": ("SelfSubjectAccessReview", False, ["create"]),
        "selfsubjectrulesreviews": ("SelfSubjectRulesReview", False, ["create"]),
        "subjectaccessreviews": ("SubjectAccessReview", False, ["create"]),
    }
