"""ClusterRole aggregation: a role with an `aggregationRule` has the rules of the roles it selects.

The rules are gathered as kube-controller-manager's clusterrole-aggregation controller does:
selector by selector, the matching ClusterRoles in name order (never the role itself), each
rule once. `controllers.aggregation` keeps stored roles up to date with this function.
"""

from __future__ import annotations

from .. import selectors


def aggregated_rules(aggregator: dict, roles: list[dict]) -> list[dict]:
    """The rules `aggregator` should have, given every ClusterRole there is."""
    gathered: list[dict] = []
    ordered = sorted(roles, key=lambda r: r["metadata"]["name"])
    for selector in (aggregator.get("aggregationRule") or {}).get("clusterRoleSelectors") or ():
        if not isinstance(selector, dict):
            continue
        try:
            matcher = selectors.from_selector_object(selector)
        except ValueError:
            continue  # a selector validation let through that no role can match
        for role in ordered:
            if role["metadata"]["name"] == aggregator["metadata"]["name"]:
                continue
            if not matcher.matches(role["metadata"].get("labels") or {}):
                continue
            for rule in role.get("rules") or ():
                if rule not in gathered:
                    gathered.append(rule)
    return gathered
