"""The roles and bindings a new kind cluster has, before anyone creates any.

kube-apiserver writes its bootstrap policy at start-up; kubeadm (which kind runs) adds
`kubeadm:cluster-admins`, binding that group (the admin kubeconfig's) to `cluster-admin`. We
seed the part the course meets: `cluster-admin`; the user-facing `admin`, `edit` and `view`,
which are *aggregated* (their rules are the union of the ClusterRoles that carry their
`aggregate-to-*` label: `system:aggregate-to-*` out of the box, and anything a CRD's author
adds); and what every authenticated user may do: `system:basic-user` (the self reviews),
`system:discovery` and `system:public-info-viewer` (discovery, version, health). Rules, labels and
annotations are Kubernetes' own.
"""

from __future__ import annotations

from . import aggregating

GROUP = "rbac.authorization.k8s.io"
DEFAULTS_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"
READ = ("get", "list", "watch")
WRITE = ("create", "delete", "deletecollection", "patch", "update")
ALL = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def _rule(groups, resources, verbs, names=()) -> dict:
    rule = {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}
    if names:
        rule["resourceNames"] = list(names)
    return rule


def _urls(urls, verbs=("get",)) -> dict:
    return {"verbs": list(verbs), "nonResourceURLs": list(urls)}


def _cluster_role(name: str, rules: list[dict] | None, labels: dict | None = None,
                  aggregate_from: str | None = None) -> dict:
    role: dict = {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole",
                  "metadata": {"name": name, "labels": {**DEFAULTS_LABEL, **(labels or {})},
                               "annotations": dict(AUTOUPDATE)}}
    if aggregate_from is not None:
        role["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {AGGREGATE_TO + aggregate_from: "true"}}]}
    role["rules"] = rules
    return role


def _binding(name: str, role: str, groups: list[str], defaults: bool = True) -> dict:
    metadata: dict = {"name": name}
    if defaults:
        metadata.update(labels=dict(DEFAULTS_LABEL), annotations=dict(AUTOUPDATE))
    return {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRoleBinding", "metadata": metadata,
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in groups]}


_AGGREGATE_TO_ADMIN = [
    _rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
    _rule([GROUP], ["rolebindings", "roles"], ALL),
]

_AGGREGATE_TO_EDIT = [
    _rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"], READ),
    _rule([""], ["serviceaccounts"], ["impersonate"]),
    _rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], WRITE),
    _rule([""], ["pods/eviction"], ["create"]),
    _rule([""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                 "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"], WRITE),
    _rule([""], ["serviceaccounts/token"], ["create"]),
    _rule(["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                     "replicasets/scale", "statefulsets", "statefulsets/scale"], WRITE),
    _rule(["autoscaling"], ["horizontalpodautoscalers"], WRITE),
    _rule(["batch"], ["cronjobs", "jobs"], WRITE),
    _rule(["extensions"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "ingresses",
                           "networkpolicies", "replicasets", "replicasets/scale",
                           "replicationcontrollers/scale"], WRITE),
    _rule(["policy"], ["poddisruptionbudgets"], WRITE),
    _rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], WRITE),
    _rule(["coordination.k8s.io"], ["leases"], ALL),
]

_AGGREGATE_TO_VIEW = [
    _rule([""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                 "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                 "services/status"], READ),
    _rule([""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                 "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"], READ),
    _rule([""], ["namespaces"], READ),
    _rule(["discovery.k8s.io"], ["endpointslices"], READ),
    _rule(["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                     "deployments/status", "replicasets", "replicasets/scale", "replicasets/status",
                     "statefulsets", "statefulsets/scale", "statefulsets/status"], READ),
    _rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], READ),
    _rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], READ),
    _rule(["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                           "deployments/status", "ingresses", "ingresses/status", "networkpolicies", "replicasets",
                           "replicasets/scale", "replicasets/status", "replicationcontrollers/scale"], READ),
    _rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], READ),
    _rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], READ),
]


def cluster_roles() -> list[dict]:
    """The default ClusterRoles, aggregated ones with their rules already gathered."""
    roles = [
        _cluster_role("admin", None, aggregate_from="admin"),
        _cluster_role("cluster-admin", [_rule(["*"], ["*"], ["*"]), _urls(["*"], ["*"])]),
        _cluster_role("edit", None, {AGGREGATE_TO + "admin": "true"}, aggregate_from="edit"),
        _cluster_role("view", None, {AGGREGATE_TO + "edit": "true"}, aggregate_from="view"),
        _cluster_role("system:aggregate-to-admin", _AGGREGATE_TO_ADMIN, {AGGREGATE_TO + "admin": "true"}),
        _cluster_role("system:aggregate-to-edit", _AGGREGATE_TO_EDIT, {AGGREGATE_TO + "edit": "true"}),
        _cluster_role("system:aggregate-to-view", _AGGREGATE_TO_VIEW, {AGGREGATE_TO + "view": "true"}),
        _cluster_role("system:basic-user", [
            _rule(["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], ["create"]),
            _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"])]),
        _cluster_role("system:discovery", [_urls(["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                                  "/openapi", "/openapi/*", "/readyz", "/version", "/version/"])]),
        _cluster_role("system:public-info-viewer", [_urls(["/healthz", "/livez", "/readyz", "/version",
                                                           "/version/"])]),
    ]
    # the aggregated roles are written with their rules, as the controller would leave them:
    # view feeds edit, which feeds admin, so gather until nothing changes
    changed = True
    while changed:
        changed = False
        for role in roles:
            if role.get("aggregationRule"):
                rules = aggregating.aggregated_rules(role, roles)
                if rules != role["rules"]:
                    role["rules"], changed = rules, True
    return roles


def cluster_role_bindings() -> list[dict]:
    return [
        _binding("cluster-admin", "cluster-admin", ["system:masters"]),
        _binding("kubeadm:cluster-admins", "cluster-admin", ["kubeadm:cluster-admins"], defaults=False),
        _binding("system:basic-user", "system:basic-user", ["system:authenticated"]),
        _binding("system:discovery", "system:discovery", ["system:authenticated"]),
        _binding("system:public-info-viewer", "system:public-info-viewer",
                 ["system:authenticated", "system:unauthenticated"]),
    ]


def seed(objects) -> None:
    """Create the default policy through the API's write path (`objects`: an Objects)."""
    roles = objects.registry.lookup(GROUP, "v1", "clusterroles")
    bindings = objects.registry.lookup(GROUP, "v1", "clusterrolebindings")
    for role in cluster_roles():
        objects.create(roles, None, role)
    for binding in cluster_role_bindings():
        objects.create(bindings, None, binding)
