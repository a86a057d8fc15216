"""The resource types the simulated API server serves: names, scope, verbs, subresources.

Built-in types mirror what a Kubernetes 1.36 API server lists in discovery; custom resources
are added here when their CRD is Established and removed when it goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    kind: str
    verbs: tuple[str, ...]
    group: str = ""  # a subresource of another group (Scale is autoscaling/v1)
    version: str = ""


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: dict[str, Subresource] = field(default_factory=dict, hash=False, compare=False)
    categories: tuple[str, ...] = ()
    singular: str = ""
    has_generation: bool = False  # metadata.generation is tracked for this kind
    custom: bool = False  # served from a CustomResourceDefinition
    # verb-only virtual resources (reviews, tokens) have nothing stored
    stored: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def kind_key(self) -> str:
        return f"{self.api_version}/{self.kind}"

    @property
    def group_resource(self) -> str:
        """`deployments.apps`, or `pods` for the core group: how errors name a resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            root += f"/namespaces/{namespace}"
        root += f"/{self.plural}"
        if name:
            root += f"/{name}"
        return root


def _status(kind: str) -> dict[str, Subresource]:
    return {"status": Subresource(kind, STATUS_VERBS)}


def _scaled(kind: str) -> dict[str, Subresource]:
    return {
        "status": Subresource(kind, STATUS_VERBS),
        "scale": Subresource("Scale", STATUS_VERBS, "autoscaling", "v1"),
    }


def _builtin() -> list[ResourceType]:
    rt = ResourceType
    pod_subresources = {
        "attach": Subresource("PodAttachOptions", ("create", "get")),
        "binding": Subresource("Binding", ("create",)),
        "ephemeralcontainers": Subresource("Pod", STATUS_VERBS),
        "eviction": Subresource("Eviction", ("create",), "policy", "v1"),
        "exec": Subresource("PodExecOptions", ("create", "get")),
        "log": Subresource("Pod", ("get",)),
        "portforward": Subresource("PodPortForwardOptions", ("create", "get")),
        "proxy": Subresource("PodProxyOptions", ("create", "delete", "get", "patch", "update")),
        "resize": Subresource("Pod", STATUS_VERBS),
        "status": Subresource("Pod", STATUS_VERBS),
    }
    proxy = Subresource("ServiceProxyOptions", ("create", "delete", "get", "patch", "update"))
    create_only = ("create",)
    return [
        # core/v1
        rt("", "v1", "bindings", "Binding", True, verbs=create_only, stored=False),
        rt("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
        rt("", "v1", "endpoints", "Endpoints", True, ("ep",)),
        rt("", "v1", "events", "Event", True, ("ev",)),
        rt("", "v1", "namespaces", "Namespace", False, ("ns",),
           verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
           subresources={"finalize": Subresource("Namespace", ("update",)), **_status("Namespace")}),
        rt("", "v1", "nodes", "Node", False, ("no",),
           subresources={"proxy": Subresource("NodeProxyOptions", proxy.verbs), **_status("Node")}),
        rt("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",),
           subresources=_status("PersistentVolumeClaim")),
        rt("", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",),
           subresources=_status("PersistentVolume")),
        rt("", "v1", "pods", "Pod", True, ("po",), subresources=pod_subresources,
           categories=("all",), has_generation=True),
        rt("", "v1", "secrets", "Secret", True),
        rt("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",),
           subresources={"token": Subresource("TokenRequest", ("create",), "authentication.k8s.io", "v1")}),
        rt("", "v1", "services", "Service", True, ("svc",),
           subresources={"proxy": Subresource("ServiceProxyOptions", proxy.verbs), **_status("Service")},
           categories=("all",)),
        # apps/v1
        rt("apps", "v1", "controllerrevisions", "ControllerRevision", True),
        rt("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), subresources=_status("DaemonSet"),
           categories=("all",), has_generation=True),
        rt("apps", "v1", "deployments", "Deployment", True, ("deploy",), subresources=_scaled("Deployment"),
           categories=("all",), has_generation=True),
        rt("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), subresources=_scaled("ReplicaSet"),
           categories=("all",), has_generation=True),
        rt("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), subresources=_scaled("StatefulSet"),
           categories=("all",), has_generation=True),
        # batch/v1
        rt("batch", "v1", "cronjobs", "CronJob", True, ("cj",), subresources=_status("CronJob"),
           categories=("all",), has_generation=True),
        rt("batch", "v1", "jobs", "Job", True, subresources=_status("Job"), categories=("all",),
           has_generation=True),
        # the rest
        rt("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
        rt("coordination.k8s.io", "v1", "leases", "Lease", True),
        rt("events.k8s.io", "v1", "events", "Event", True, ("ev",)),
        rt("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",),
           subresources=_status("PodDisruptionBudget"), has_generation=True),
        rt("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
        rt("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
        rt("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
        rt("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
        rt("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",)),
        rt("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
           "MutatingWebhookConfiguration", False, has_generation=True),
        rt("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
           "ValidatingWebhookConfiguration", False, has_generation=True),
        rt("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
           verbs=create_only, stored=False),
        rt("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False,
           verbs=create_only, stored=False),
        rt("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", True,
           verbs=create_only, stored=False),
        rt("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
           verbs=create_only, stored=False),
        rt("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False,
           verbs=create_only, stored=False),
        rt("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
           ("crd", "crds"), subresources=_status("CustomResourceDefinition"), has_generation=True),
        rt("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, verbs=("get", "list"), stored=False),
        rt("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=("get", "list"), stored=False),
    ]


# Preferred versions are the only versions we serve; each group has one.
GROUP_ORDER = (
    "", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "batch",
    "policy", "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "metrics.k8s.io",
)


class Registry:
    """Looks resource types up by path parts or by kind; CRDs add and remove theirs."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._by_kind: dict[str, ResourceType] = {}
        self.version = 0  # grows with every change, so documents built from it can be cached
        for resource_type in _builtin():
            self.add(resource_type)

    def add(self, resource_type: ResourceType) -> None:
        key = (resource_type.group, resource_type.version, resource_type.plural)
        self._types[key] = resource_type
        self._by_kind[resource_type.kind_key] = resource_type
        self.version += 1

    def remove(self, group: str, version: str, plural: str) -> None:
        resource_type = self._types.pop((group, version, plural), None)
        if resource_type is not None:
            self._by_kind.pop(resource_type.kind_key, None)
            self.version += 1

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get(f"{api_version}/{kind}")

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def group_versions(self) -> list[tuple[str, str]]:
        """Every (group, version) served, in the order discovery lists them."""
        seen: list[tuple[str, str]] = []
        for resource_type in self._types.values():
            pair = (resource_type.group, resource_type.version)
            if pair not in seen:
                seen.append(pair)
        order = {group: index for index, group in enumerate(GROUP_ORDER)}
        return sorted(seen, key=lambda gv: (order.get(gv[0], len(order)), gv[0], gv[1]))

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return sorted(
            (t for t in self._types.values() if t.group == group and t.version == version),
            key=lambda t: t.plural,
        )
