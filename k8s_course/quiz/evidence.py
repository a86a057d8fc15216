"""Evidence: the numbers and facts behind a practiced answer, computed from the API's JSON.

An interview answer is stronger with something you measured. These pure functions turn what a
notebook read from the cluster (pods, RBAC bindings and roles, as plain dicts) into that
evidence: what each container of a pod requests, what share of it the sidecars take, and what a
service account is allowed to do, and where.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s_course.views.states import parse_quantity

MILLI, MEBI = 1000, 1024 * 1024


@dataclass(frozen=True)
class ContainerRequests:
    pod: str
    container: str
    role: str  # "app", "sidecar" (native) or "init"
    cpu_m: int  # millicores
    memory_mi: int  # MiB


def container_requests(pods: list[dict], sidecars: tuple[str, ...] = ()) -> list[ContainerRequests]:
    """One row per container of each pod. Native sidecars (init containers with restartPolicy
    Always) and containers named in `sidecars` (classic sidecars) are role "sidecar"."""
    rows = []
    for pod in pods:
        spec, name = pod.get("spec") or {}, (pod.get("metadata") or {}).get("name", "")
        listed = [(c, True) for c in spec.get("initContainers") or []] + [(c, False) for c in spec.get("containers") or []]
        for container, init in listed:
            if (init and container.get("restartPolicy") == "Always") or container["name"] in sidecars:
                role = "sidecar"
            else:
                role = "init" if init else "app"
            requests = (container.get("resources") or {}).get("requests") or {}
            rows.append(ContainerRequests(name, container["name"], role,
                                          int(parse_quantity(requests.get("cpu")) * MILLI),
                                          int(parse_quantity(requests.get("memory")) / MEBI)))
    return rows


def totals_by_role(rows: list[ContainerRequests]) -> dict[str, tuple[int, int]]:
    """role -> (millicores, MiB) summed over the rows."""
    totals: dict[str, tuple[int, int]] = {}
    for row in rows:
        cpu, memory = totals.get(row.role, (0, 0))
        totals[row.role] = (cpu + row.cpu_m, memory + row.memory_mi)
    return totals


def at_scale(per_pod_cpu_m: int, per_pod_memory_mi: int, pods: int) -> tuple[float, float]:
    """What `pods` copies of a per-pod request reserve: (CPUs, GiB)."""
    return pods * per_pod_cpu_m / MILLI, pods * per_pod_memory_mi / 1024


@dataclass(frozen=True)
class Grant:
    binding: str
    role: str
    scope: str  # "cluster-wide" or "namespace NAME"
    verbs: tuple[str, ...]
    resources: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.scope:22} {','.join(self.verbs):28} {','.join(self.resources)}   (via {self.binding} -> {self.role})"


def grants_of(namespace: str, service_account: str, bindings: list[dict], roles: list[dict]) -> list[Grant]:
    """What RBAC gives the service account: one Grant per rule of every role bound to it.

    `bindings` are RoleBindings and ClusterRoleBindings, `roles` Roles and ClusterRoles, as the
    API lists them (list items carry no `kind`: an object without a namespace is the cluster-wide
    one). A ClusterRoleBinding grants cluster-wide; a RoleBinding only in its own namespace, even
    when it names a ClusterRole.
    """
    by_key = {((r.get("metadata") or {}).get("namespace"), r["metadata"]["name"]): r for r in roles}
    grants = []
    for binding in bindings:
        meta = binding.get("metadata") or {}
        subjects = binding.get("subjects") or []
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == service_account
                   and s.get("namespace", meta.get("namespace")) == namespace for s in subjects):
            continue
        ref = binding.get("roleRef") or {}
        role_namespace = meta.get("namespace") if ref.get("kind") == "Role" else None
        role = by_key.get((role_namespace, ref.get("name")))
        cluster_wide = not meta.get("namespace")
        scope = "cluster-wide" if cluster_wide else f"namespace {meta['namespace']}"
        kind = "ClusterRoleBinding" if cluster_wide else "RoleBinding"
        for rule in (role or {}).get("rules") or []:
            grants.append(Grant(f"{kind}/{meta.get('name')}", f"{ref.get('kind')}/{ref.get('name')}",
                                scope, tuple(rule.get("verbs") or ()), tuple(rule.get("resources") or ())))
    return grants
