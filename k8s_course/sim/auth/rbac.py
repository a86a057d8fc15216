"""RBAC: Roles, ClusterRoles and their bindings decide what a user may do.

The matching rules are Kubernetes' own (rbac/v1 helpers):

- a rule's verbs, apiGroups and resources match exactly or by `*`; a resource `pods/exec`
  names one subresource, `*/scale` a subresource of anything, and `pods` alone never covers
  `pods/exec`;
- resourceNames, when given, must contain the request's name (a list has none, so a rule with
  names never grants `list` or `create`);
- nonResourceURLs match exactly, by `*`, or by a prefix ending in `*` (`/apis/*`);
- ClusterRoleBindings apply everywhere; RoleBindings only in their namespace, and a RoleBinding
  to a ClusterRole grants that role's rules in the binding's namespace only;
- subjects are a User by name, a Group among the user's groups, or a ServiceAccount (its
  namespace defaulting to the RoleBinding's).

Nothing is ever denied explicitly: a request no rule allows is not allowed, and the reason names
the roles that could not be found (`RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`),
as kube-apiserver's does. Which rules apply to whom is cached per user and scope, and each
decision per user and request, until any RBAC object changes: a request asked again (every
`get` of a controller's loop, every admin request) is one dictionary lookup from its answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from .attributes import Attributes
from .authentication import UserInfo, service_account_username

GROUP = "rbac.authorization.k8s.io"
ROLES = (GROUP, "roles")
CLUSTER_ROLES = (GROUP, "clusterroles")
ROLE_BINDINGS = (GROUP, "rolebindings")
CLUSTER_ROLE_BINDINGS = (GROUP, "clusterrolebindings")
_WATCHED = {ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS}
CACHE_LIMIT = 4096  # (user, scope) pairs remembered
DECISION_CACHE_LIMIT = 16384  # (user, request) decisions remembered


# one rule


def verb_matches(rule: dict, verb: str) -> bool:
    verbs = rule.get("verbs") or ()
    return "*" in verbs or verb in verbs


def api_group_matches(rule: dict, group: str) -> bool:
    groups = rule.get("apiGroups") or ()
    return "*" in groups or group in groups


def resource_matches(rule: dict, combined: str, subresource: str) -> bool:
    for resource in rule.get("resources") or ():
        if resource == "*" or resource == combined:
            return True
        if subresource and resource == "*/" + subresource:
            return True
    return False


def resource_name_matches(rule: dict, name: str) -> bool:
    names = rule.get("resourceNames") or ()
    return not names or name in names


def non_resource_url_matches(rule: dict, path: str) -> bool:
    for url in rule.get("nonResourceURLs") or ():
        if url == "*" or url == path:
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(attributes: Attributes, rule: dict) -> bool:
    if not verb_matches(rule, attributes.verb):
        return False
    if attributes.resource_request:
        return (api_group_matches(rule, attributes.api_group)
                and resource_matches(rule, attributes.combined_resource, attributes.subresource)
                and resource_name_matches(rule, attributes.name))
    return non_resource_url_matches(rule, attributes.path)


# who a binding names


def subject_applies(user: UserInfo, subject: dict, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == service_account_username(namespace, name)
    return False


def _describe_subject(subject: dict, binding_namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return f'ServiceAccount "{subject.get("name", "")}/{namespace}"'
    return f'{subject.get("kind", "")} "{subject.get("name", "")}"'


@dataclass(frozen=True)
class Grant:
    """The rules one binding gives a user, and how kube-apiserver names that binding."""

    source: str
    rules: tuple[dict, ...] = ()
    error: str = ""  # the role the binding names could not be found


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


class RBACAuthorizer:
    """Decides from the RBAC objects in `store`; `store.listen` keeps its cache honest."""

    def __init__(self, store):
        self.store = store
        self._cache: dict[tuple, tuple[Grant, ...]] = {}
        self._decisions: dict[tuple, Decision] = {}
        store.listen(self._changed)

    def _changed(self, change) -> None:
        if change.resource in _WATCHED:
            self._cache.clear()
            self._decisions.clear()

    # deciding

    def authorize(self, user: UserInfo, attributes: Attributes) -> Decision:
        key = (user.name, user.groups, attributes)
        found = self._decisions.get(key)
        if found is None:
            if len(self._decisions) >= DECISION_CACHE_LIMIT:
                self._decisions.clear()
            found = self._decisions[key] = self._decide(user, attributes)
        return found

    def _decide(self, user: UserInfo, attributes: Attributes) -> Decision:
        errors: list[str] = []
        scopes = [""] + ([attributes.namespace] if attributes.namespace else [])
        for scope in scopes:
            for grant in self.grants(user, scope):
                if grant.error:
                    errors.append(grant.error)
                    continue
                for rule in grant.rules:
                    if rule_allows(attributes, rule):
                        return Decision(True, f"RBAC: allowed by {grant.source}")
        return Decision(False, _aggregate(errors))

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict], list[str]]:
        """Every rule granted to `user` in `namespace` (cluster-wide ones too), and errors met."""
        rules: list[dict] = []
        errors: list[str] = []
        for scope in [""] + ([namespace] if namespace else []):
            for grant in self.grants(user, scope):
                if grant.error:
                    errors.append(grant.error)
                rules.extend(grant.rules)
        return rules, errors

    def grants(self, user: UserInfo, namespace: str) -> tuple[Grant, ...]:
        """What the bindings of one scope ("" for ClusterRoleBindings) give `user`."""
        key = (user.name, user.groups, namespace)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            found = self._cache[key] = tuple(self._collect(user, namespace))
        return found

    def _collect(self, user: UserInfo, namespace: str):
        if namespace:
            bindings, kind = self.store.list(ROLE_BINDINGS, namespace), "RoleBinding"
        else:
            bindings, kind = self.store.list(CLUSTER_ROLE_BINDINGS), "ClusterRoleBinding"
        for binding in bindings:
            for subject in binding.get("subjects") or ():
                if not subject_applies(user, subject, namespace):
                    continue
                ref = binding.get("roleRef") or {}
                name = binding["metadata"]["name"] + (f"/{namespace}" if namespace else "")
                source = (f'{kind} "{name}" of {ref.get("kind", "")} "{ref.get("name", "")}" '
                          f"to {_describe_subject(subject, namespace)}")
                rules, error = self._role_rules(ref, namespace)
                yield Grant(source, rules, error)
                break  # one subject is enough: the binding's rules are granted once

    def _role_rules(self, ref: dict, namespace: str) -> tuple[tuple[dict, ...], str]:
        name = ref.get("name", "")
        if ref.get("kind") == "Role" and namespace:
            role = self.store.get(ROLES, namespace, name)
            missing = f'role.{GROUP} "{name}" not found'
        elif ref.get("kind") == "ClusterRole":
            role = self.store.get(CLUSTER_ROLES, "", name)
            missing = f'clusterrole.{GROUP} "{name}" not found'
        else:
            return (), f'unsupported role reference kind: "{ref.get("kind", "")}"'
        if role is None:
            return (), missing
        return tuple(r for r in role.get("rules") or () if isinstance(r, dict)), ""


def _aggregate(errors: list[str]) -> str:
    """utilerrors.Aggregate's wording: one error alone, several in brackets, no repeats."""
    unique = list(dict.fromkeys(errors))
    if not unique:
        return ""
    text = unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
    return f"RBAC: {text}"
