"""The clusterrole-aggregation controller: aggregated ClusterRoles follow the roles they select.

Whenever a ClusterRole appears, changes or goes, every ClusterRole with an `aggregationRule`
has its rules gathered again (`auth.aggregating`) and is updated if they differ. So a CRD's
author who labels a role `rbac.authorization.k8s.io/aggregate-to-edit: "true"` extends `edit`
and `admin` on the fly, as on a real cluster.
"""

from __future__ import annotations

import copy

from ..auth import aggregating
from .base import Controller

CLUSTER_ROLES = ("rbac.authorization.k8s.io", "v1", "clusterroles")


class ClusterRoleAggregationController(Controller):
    watches = (CLUSTER_ROLES,)

    async def handle(self, resource, event, obj) -> None:
        rtype = self.rtype(*CLUSTER_ROLES)
        roles = self.objects.list(rtype, None)
        for role in roles:
            if not role.get("aggregationRule"):
                continue
            rules = aggregating.aggregated_rules(role, roles)
            if rules == (role.get("rules") or []):
                continue
            updated = copy.deepcopy(role)
            updated["rules"] = rules
            # an update with the version read: a race with another writer is a 409, retried
            # by the event that writer's change brings
            self.objects.update(rtype, None, role["metadata"]["name"], updated)
