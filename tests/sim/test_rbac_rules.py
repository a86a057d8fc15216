"""RBAC's rules as pure functions: request attributes, rule matching, denials, impersonation."""

from __future__ import annotations

import base64
import json

import pytest
from multidict import CIMultiDict

from k8s_course.sim import errors
from k8s_course.sim.auth import (
    aggregating,
    attributes,
    bootstrap,
    gate,
    impersonation,
    rbac,
    tokens,
)
from k8s_course.sim.auth.authentication import Authenticator, UserInfo, service_account_user
from k8s_course.sim.clock import ManualClock
from k8s_course.sim.objects import Objects
from k8s_course.sim.resources import Registry
from k8s_course.sim.store import Store


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/namespaces/ns/pods", {}, ("list", "pods", "", "ns", "")),
    ("GET", "/api/v1/namespaces/ns/pods", {"watch": "true"}, ("watch", "pods", "", "ns", "")),
    ("GET", "/api/v1/namespaces/ns/pods", {"fieldSelector": "metadata.name=web"}, ("list", "pods", "", "ns", "web")),
    ("GET", "/api/v1/namespaces/ns/pods/web/log", {}, ("get", "pods", "log", "ns", "web")),
    ("POST", "/api/v1/namespaces/ns/pods/web/exec", {}, ("create", "pods", "exec", "ns", "web")),
    ("DELETE", "/apis/apps/v1/namespaces/ns/deployments", {}, ("deletecollection", "deployments", "", "ns", "")),
    ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/web/scale", {}, ("patch", "deployments", "scale", "ns", "web")),
    ("GET", "/api/v1/namespaces/ns", {}, ("get", "namespaces", "", "ns", "ns")),
    ("PUT", "/api/v1/namespaces/ns/finalize", {}, ("update", "namespaces", "finalize", "ns", "ns")),
    ("GET", "/api/v1/nodes", {}, ("list", "nodes", "", "", "")),
])
def test_a_request_becomes_the_attributes_kubernetes_computes(method, path, query, expected):
    found = attributes.from_request(method, path, query)
    assert found.resource_request
    assert (found.verb, found.resource, found.subresource, found.namespace, found.name) == expected


@pytest.mark.parametrize("path", ["/api", "/api/v1", "/apis", "/apis/apps/v1", "/version", "/openapi/v3"])
def test_discovery_paths_are_non_resource_requests_with_the_method_as_verb(path):
    found = attributes.from_request("GET", path, {})
    assert (found.resource_request, found.verb, found.path) == (False, "get", path)


def _allows(rule, **request):
    return rbac.rule_allows(attributes.resource(**request), rule)


def test_a_resource_rule_does_not_cover_its_subresources():
    rule = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
    assert _allows(rule, verb="get", group="", resource_name="pods", namespace="a", name="web")
    assert not _allows(rule, verb="get", group="", resource_name="pods", namespace="a", name="web", subresource="log")


def test_star_slash_subresource_matches_that_subresource_of_any_resource():
    rule = {"verbs": ["update"], "apiGroups": ["*"], "resources": ["*/scale"]}
    assert _allows(rule, verb="update", group="apps", resource_name="deployments", name="web", subresource="scale")
    assert not _allows(rule, verb="update", group="apps", resource_name="deployments", name="web")
    assert not _allows(rule, verb="update", group="apps", resource_name="deployments", name="web",
                       subresource="status")


def test_resource_names_restrict_to_named_objects_so_never_grant_list():
    rule = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"]}
    assert _allows(rule, verb="get", group="", resource_name="secrets", namespace="a", name="db")
    assert not _allows(rule, verb="get", group="", resource_name="secrets", namespace="a", name="other")
    assert not _allows(rule, verb="list", group="", resource_name="secrets", namespace="a")


def test_verbs_groups_and_resources_match_by_star():
    rule = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    assert _allows(rule, verb="deletecollection", group="postgres.example.com", resource_name="postgresclusters",
                   namespace="a", subresource="status")
    only_apps = {"verbs": ["*"], "apiGroups": ["apps"], "resources": ["*"]}
    assert not _allows(only_apps, verb="get", group="", resource_name="pods", namespace="a", name="x")


def test_non_resource_urls_match_exactly_or_by_a_trailing_star():
    rule = {"verbs": ["get"], "nonResourceURLs": ["/apis/*", "/version"]}
    assert rbac.rule_allows(attributes.non_resource("get", "/apis/apps/v1"), rule)
    assert rbac.rule_allows(attributes.non_resource("get", "/version"), rule)
    assert not rbac.rule_allows(attributes.non_resource("get", "/version/extra"), rule)
    assert not rbac.rule_allows(attributes.non_resource("post", "/version"), rule)


@pytest.mark.parametrize(("request_", "expected"), [
    (attributes.resource("list", "", "pods", "ns"),
     'pods is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "pods" in API group "" '
     'in the namespace "ns"'),
    (attributes.resource("create", "", "pods", "ns", "web", "exec"),
     'pods "web" is forbidden: User "system:serviceaccount:ns:sa" cannot create resource "pods/exec" in API '
     'group "" in the namespace "ns"'),
    (attributes.resource("list", "", "nodes"),
     'nodes is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "nodes" in API group "" '
     "at the cluster scope"),
    (attributes.resource("patch", "apps", "deployments", "ns", "web", "scale"),
     'deployments.apps "web" is forbidden: User "system:serviceaccount:ns:sa" cannot patch resource '
     '"deployments/scale" in API group "apps" in the namespace "ns"'),
    (attributes.non_resource("get", "/metrics"),
     'forbidden: User "system:serviceaccount:ns:sa" cannot get path "/metrics"'),
])
def test_denials_are_worded_as_kubernetes_words_them(request_, expected):
    error = attributes.forbidden("system:serviceaccount:ns:sa", request_)
    assert (error.code, error.reason, error.message) == (403, "Forbidden", expected)


def test_a_denial_names_the_resource_and_object_in_its_details():
    error = attributes.forbidden("u", attributes.resource("get", "apps", "deployments", "ns", "web"))
    assert error.status()["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    assert attributes.forbidden("u", attributes.resource("list", "", "pods", "ns")).status()["details"] == {
        "kind": "pods"}


# RBAC over a store


def _cluster():
    store, registry = Store(), Registry()
    objects = Objects(store, registry, ManualClock())
    bootstrap.seed(objects)
    objects.create(registry.lookup("", "v1", "namespaces"), None,
                   {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})
    return objects, rbac.RBACAuthorizer(store)


def _create(objects, plural, namespace, body):
    objects.create(objects.registry.lookup("rbac.authorization.k8s.io", "v1", plural), namespace, body)


def test_a_rolebinding_to_a_clusterrole_grants_it_in_its_namespace_only():
    objects, authorizer = _cluster()
    _create(objects, "rolebindings", "a", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "learner"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "learner"}]})
    learner = service_account_user("a", "learner")
    allowed = authorizer.authorize(learner, attributes.resource("create", "", "pods", "a"))
    assert allowed == rbac.Decision(True, 'RBAC: allowed by RoleBinding "learner/a" of ClusterRole "admin" to '
                                          'ServiceAccount "learner/a"')
    assert not authorizer.authorize(learner, attributes.resource("list", "", "pods", "b")).allowed
    assert not authorizer.authorize(learner, attributes.resource("list", "", "nodes")).allowed


def test_the_admin_user_is_cluster_admin_through_the_kubeadm_binding():
    _, authorizer = _cluster()
    admin = UserInfo("kubernetes-admin", ("kubeadm:cluster-admins", "system:authenticated"))
    decision = authorizer.authorize(admin, attributes.resource("delete", "", "nodes", name="worker"))
    assert decision.reason == ('RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole '
                               '"cluster-admin" to Group "kubeadm:cluster-admins"')


def test_a_binding_to_a_missing_role_is_the_reason_of_the_denial():
    objects, authorizer = _cluster()
    _create(objects, "clusterrolebindings", None, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "x"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "gone"},
        "subjects": [{"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]})
    decision = authorizer.authorize(UserInfo("jane", ("system:authenticated",)),
                                    attributes.resource("list", "", "pods", "a"))
    assert decision == rbac.Decision(False, 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found')


def test_every_authenticated_user_may_discover_and_review_itself():
    _, authorizer = _cluster()
    user = UserInfo("jane", ("system:authenticated",))
    assert authorizer.authorize(user, attributes.non_resource("get", "/apis/apps/v1")).allowed
    assert authorizer.authorize(user, attributes.resource("create", "authorization.k8s.io",
                                                          "selfsubjectaccessreviews")).allowed
    assert not authorizer.authorize(user, attributes.non_resource("get", "/metrics")).allowed


def test_a_cached_answer_follows_a_new_binding():
    objects, authorizer = _cluster()
    jane = UserInfo("jane", ("system:authenticated",))
    nodes = attributes.resource("list", "", "nodes")
    assert not authorizer.authorize(jane, nodes).allowed
    _create(objects, "clusterrolebindings", None, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "jane"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]})
    assert authorizer.authorize(jane, nodes).allowed


def test_admin_edit_and_view_gather_the_rules_of_the_roles_labelled_for_them():
    roles = {r["metadata"]["name"]: r for r in bootstrap.cluster_roles()}
    view, edit, admin = roles["view"]["rules"], roles["edit"]["rules"], roles["admin"]["rules"]
    assert view == roles["system:aggregate-to-view"]["rules"]
    assert edit[:len(roles["system:aggregate-to-edit"]["rules"])] == roles["system:aggregate-to-edit"]["rules"]
    assert all(rule in edit for rule in view) and all(rule in admin for rule in edit)
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["localsubjectaccessreviews"]} in admin
    assert roles["view"]["metadata"]["labels"] == {"kubernetes.io/bootstrapping": "rbac-defaults",
                                                   "rbac.authorization.k8s.io/aggregate-to-edit": "true"}


def test_aggregation_takes_each_rule_once_and_never_the_role_itself():
    aggregator = {"metadata": {"name": "all", "labels": {"x": "true"}},
                  "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "true"}}]},
                  "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]}
    rule = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
    others = [{"metadata": {"name": "b", "labels": {"x": "true"}}, "rules": [rule]},
              {"metadata": {"name": "a", "labels": {"x": "true"}}, "rules": [rule, {**rule, "verbs": ["list"]}]},
              {"metadata": {"name": "c"}, "rules": [{**rule, "verbs": ["delete"]}]}]
    assert aggregating.aggregated_rules(aggregator, [aggregator, *others]) == [rule, {**rule, "verbs": ["list"]}]


# impersonation


def test_impersonating_a_service_account_gives_its_groups_when_allowed():
    _, authorizer = _cluster()
    admin = UserInfo("kubernetes-admin", ("kubeadm:cluster-admins", "system:authenticated"))
    user = impersonation.impersonate(admin, CIMultiDict({"Impersonate-User": "system:serviceaccount:a:bot"}),
                                     authorizer.authorize)
    assert (user.name, user.groups) == ("system:serviceaccount:a:bot",
                                        ("system:serviceaccounts", "system:serviceaccounts:a", "system:authenticated"))
    grouped = impersonation.impersonate(admin, CIMultiDict([("Impersonate-User", "jane"),
                                                            ("Impersonate-Group", "devs"),
                                                            ("Impersonate-Group", "ops")]), authorizer.authorize)
    assert grouped.groups == ("devs", "ops", "system:authenticated")


def test_impersonation_without_the_impersonate_verb_is_forbidden():
    _, authorizer = _cluster()
    bot = service_account_user("a", "bot")
    with pytest.raises(errors.APIError) as caught:
        impersonation.impersonate(bot, CIMultiDict({"Impersonate-User": "jane"}), authorizer.authorize)
    assert (caught.value.code, caught.value.message) == (
        403, 'users "jane" is forbidden: User "system:serviceaccount:a:bot" cannot impersonate resource "users" '
             'in API group "" at the cluster scope')


def test_an_empty_impersonate_user_header_is_ignored_as_kubernetes_ignores_it():
    _, authorizer = _cluster()
    bot = service_account_user("a", "bot")
    assert impersonation.impersonate(bot, CIMultiDict({"Impersonate-User": ""}), authorizer.authorize) is bot
    with pytest.raises(errors.APIError) as caught:
        impersonation.impersonate(bot, CIMultiDict({"Impersonate-User": "", "Impersonate-Group": "devs"}),
                                  authorizer.authorize)
    assert caught.value.code == 500


# the gate


def _gate_with_exec_reader():
    objects, authorizer = _cluster()
    _create(objects, "roles", "a", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "exec-get"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "pods/exec"], "verbs": ["get"]}]})
    _create(objects, "rolebindings", "a", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "bot"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "exec-get"},
        "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "a"}]})
    tokens = {"bot-token": service_account_user("a", "bot")}

    class Tokens:
        def user_for(self, token):
            return tokens.get(token)

    return gate.Gate(Authenticator("admin-token", Tokens()), authorizer)


def test_a_websocket_exec_needs_create_as_well_as_get():
    guard = _gate_with_exec_reader()
    path = "/api/v1/namespaces/a/pods/web/exec"
    plain = CIMultiDict({"Authorization": "Bearer bot-token"})
    assert guard.admit("GET", path, {}, plain).name == "system:serviceaccount:a:bot"
    upgrade = CIMultiDict({"Authorization": "Bearer bot-token", "Upgrade": "websocket", "Connection": "Upgrade"})
    with pytest.raises(errors.APIError) as caught:
        guard.admit("GET", path, {}, upgrade)
    assert caught.value.message == ('pods "web" is forbidden: User "system:serviceaccount:a:bot" cannot create '
                                    'resource "pods/exec" in API group "" in the namespace "a"')


def test_the_gate_answers_401_for_an_unknown_token_and_admits_the_admin():
    guard = _gate_with_exec_reader()
    with pytest.raises(errors.APIError) as caught:
        guard.admit("GET", "/api/v1/pods", {}, CIMultiDict({"Authorization": "Bearer who-knows"}))
    assert (caught.value.code, caught.value.reason) == (401, "Unauthorized")
    admin = guard.admit("DELETE", "/api/v1/nodes/worker", {}, CIMultiDict({"Authorization": "Bearer admin-token"}))
    assert admin.name == "kubernetes-admin"



def test_a_remembered_request_line_keeps_its_watch_and_field_selector_apart():
    guard = _gate_with_exec_reader()  # the bot may get pods in a, not list or watch them
    bot = CIMultiDict({"Authorization": "Bearer bot-token"})
    path = "/api/v1/namespaces/a/pods"
    assert guard.admit("GET", path + "/web", {}, bot).name == "system:serviceaccount:a:bot"
    denials = []
    for query in ({}, {"watch": "true"}, {"fieldSelector": "metadata.name=web"}, {}):
        with pytest.raises(errors.APIError) as denied:
            guard.admit("GET", path, query, bot)
        head, _, rest = denied.value.message.partition(": User ")
        denials.append((head, rest.split()[2]))  # what is forbidden, and the verb
    assert denials == [("pods is forbidden", "list"), ("pods is forbidden", "watch"),
                       ('pods "web" is forbidden', "list"), ("pods is forbidden", "list")]


# tokens


def _account_and_pod(objects):
    core = objects.registry
    account = objects.create(core.lookup("", "v1", "serviceaccounts"), "a", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}}).object
    pod = objects.create(core.lookup("", "v1", "pods"), "a", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"serviceAccountName": "bot", "containers": [{"name": "app", "image": "nginx"}]}}).object
    return account, pod


def test_a_token_expires_on_the_clusters_clock_and_a_kubelet_token_lasts_a_year():
    objects, _ = _cluster()
    account, pod = _account_and_pod(objects)
    issuer = tokens.ServiceAccountTokens(objects.store, objects.clock)
    short, reported = issuer.issue("a", account, 600)
    assert reported == objects.clock.now() + 600
    mounted, _ = issuer.issue("a", account, 3607, None, {"kind": "Pod", "name": "web",
                                                         "uid": pod["metadata"]["uid"]})
    assert issuer.user_for(short).name == "system:serviceaccount:a:bot"
    objects.clock.advance(601)
    assert issuer.user_for(short) is None
    user = issuer.user_for(mounted)
    assert user.extra["authentication.kubernetes.io/pod-name"] == ("web",)
    claims = json.loads(base64.urlsafe_b64decode(mounted.split(".")[1] + "=="))
    assert claims["sub"] == "system:serviceaccount:a:bot"
    assert claims["kubernetes.io"]["pod"] == {"name": "web", "uid": pod["metadata"]["uid"]}
    assert claims["exp"] - claims["iat"] == 365 * 24 * 3600


def test_a_pod_bound_token_stops_working_when_the_pod_is_gone():
    objects, _ = _cluster()
    account, pod = _account_and_pod(objects)
    issuer = tokens.ServiceAccountTokens(objects.store, objects.clock)
    token, _ = issuer.issue("a", account, 3607, None, {"kind": "Pod", "name": "web", "uid": pod["metadata"]["uid"]})
    objects.store.remove(("", "pods"), "a", "web")
    assert issuer.user_for(token) is None
    issuer.prune()
    assert len(issuer) == 0


def test_a_token_request_cannot_bind_to_a_pod_of_another_account():
    objects, _ = _cluster()
    account, _ = _account_and_pod(objects)
    other = dict(account, metadata={**account["metadata"], "name": "other"})
    issuer = tokens.ServiceAccountTokens(objects.store, objects.clock)
    with pytest.raises(errors.APIError) as caught:
        issuer.token_request(other, {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web"}}})
    assert (caught.value.code, caught.value.message) == (
        400, 'cannot bind token for serviceaccount "other" to pod running with different serviceaccount name.')


def test_a_cached_permission_is_withdrawn_with_its_binding():
    objects, authorizer = _cluster()
    jane = UserInfo("jane", ("system:authenticated",))
    nodes = attributes.resource("list", "", "nodes")
    _create(objects, "clusterrolebindings", None, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "jane"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view-nodes"},
        "subjects": [{"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]})
    assert not authorizer.authorize(jane, nodes).allowed  # the role does not exist yet
    _create(objects, "clusterroles", None, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "view-nodes"},
        "rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["nodes"]}]})
    assert authorizer.authorize(jane, nodes).allowed and authorizer.authorize(jane, nodes).allowed
    objects.delete(objects.registry.lookup("rbac.authorization.k8s.io", "v1", "clusterrolebindings"), None, "jane")
    assert authorizer.authorize(jane, nodes) == rbac.Decision(False, "")


def test_the_servers_write_and_delete_options_carry_the_authenticated_user():
    from aiohttp.test_utils import make_mocked_request

    from k8s_course.sim.simulator import Cluster

    cluster = Cluster(ManualClock())
    server, gate_ = cluster.server, cluster.extensions.gate
    request = make_mocked_request("POST", "/api/v1/namespaces/a/pods")
    request[gate_.USER_KEY] = service_account_user("a", "bot", "uid-1")
    assert server.write_options(request).user == {
        "username": "system:serviceaccount:a:bot", "uid": "uid-1",
        "groups": ["system:serviceaccounts", "system:serviceaccounts:a", "system:authenticated"]}
    assert server._delete_options(request, None).user["username"] == "system:serviceaccount:a:bot"
    assert server.write_options(make_mocked_request("POST", "/api/v1/pods")).user is None
