"""Discovery documents: what kubectl and the clients read to learn what the server serves.

Both forms are served: the aggregated discovery (apidiscovery.k8s.io/v2) that kubectl 1.32
asks for first, and the legacy per-group documents it falls back to.
"""

from __future__ import annotations

from ..resources import Registry, ResourceType

SERVER_VERSION = {
    "major": "1",
    "minor": "36",
    "emulationMajor": "1",
    "emulationMinor": "36",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "35",
    "gitVersion": "v1.36.2",
    "gitCommit": "k8s-course-simulator",
    "gitTreeState": "clean",
    "buildDate": "2026-11-01T00:00:00Z",
    "goVersion": "go1.25.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """True when the Accept header's first choice is the aggregated discovery document."""
    for choice in accept.split(","):
        params = {p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip()
                  for p in choice.split(";")[1:] if "=" in p}
        if params.get("as") == "APIGroupDiscoveryList" and params.get("g") == "apidiscovery.k8s.io":
            return params.get("v") in ("v2", "v2beta1")
        if choice.strip():
            return False
    return False


def api_versions() -> dict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }


def _group_entry(group: str, versions: list[str]) -> dict:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(registry: Registry) -> dict:
    groups: dict[str, list[str]] = {}
    for group, version in registry.group_versions():
        if group:
            groups.setdefault(group, []).append(version)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(g, v) for g, v in groups.items()],
    }


def api_group(registry: Registry, group: str) -> dict | None:
    versions = [v for g, v in registry.group_versions() if g == group]
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def api_resource_list(registry: Registry, group: str, version: str) -> dict | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources = []
    for rtype in types:
        entry = {
            "name": rtype.plural,
            "singularName": rtype.singular_name,
            "namespaced": rtype.namespaced,
            "kind": rtype.kind,
            "verbs": list(rtype.verbs),
        }
        if rtype.short_names:
            entry["shortNames"] = list(rtype.short_names)
        if rtype.categories:
            entry["categories"] = list(rtype.categories)
        resources.append(entry)
        for name, sub in sorted(rtype.subresources.items()):
            sub_entry = {"name": f"{rtype.plural}/{name}", "singularName": "",
                         "namespaced": rtype.namespaced, "kind": sub.kind, "verbs": list(sub.verbs)}
            if sub.group:
                sub_entry["group"], sub_entry["version"] = sub.group, sub.version
            resources.append(sub_entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _aggregated_resource(rtype: ResourceType) -> dict:
    entry = {
        "resource": rtype.plural,
        "responseKind": {"group": rtype.group, "version": rtype.version, "kind": rtype.kind},
        "scope": "Namespaced" if rtype.namespaced else "Cluster",
        "singularResource": rtype.singular_name,
        "verbs": list(rtype.verbs),
    }
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    subresources = []
    for name, sub in sorted(rtype.subresources.items()):
        subresources.append({
            "subresource": name,
            "responseKind": {"group": sub.group or rtype.group, "version": sub.version or rtype.version,
                             "kind": sub.kind},
            "verbs": list(sub.verbs),
        })
    if subresources:
        entry["subresources"] = subresources
    return entry


def aggregated(registry: Registry, legacy: bool) -> dict:
    """The APIGroupDiscoveryList for /api (legacy=True) or /apis."""
    groups: dict[str, list[str]] = {}
    for group, version in registry.group_versions():
        if (group == "") == legacy:
            groups.setdefault(group, []).append(version)
    items = []
    for group, versions in groups.items():
        items.append({
            "metadata": {"name": group, "creationTimestamp": None} if group else {"creationTimestamp": None},
            "versions": [
                {
                    "version": version,
                    "resources": [_aggregated_resource(t) for t in registry.in_group_version(group, version)],
                    "freshness": "Current",
                }
                for version in versions
            ],
        })
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}
