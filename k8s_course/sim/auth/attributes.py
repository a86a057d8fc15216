"""What an authorizer judges about a request, and the 403 a denial becomes.

`from_request` reads a method, path and query string the way kube-apiserver's RequestInfo
does: `GET /api/v1/namespaces/ns/pods` is verb `list` on resource `pods` in namespace `ns`,
`?watch=true` makes it `watch`, a DELETE without a name is `deletecollection`, a
`fieldSelector=metadata.name=x` names the object, and `/api/v1/namespaces/ns` is in namespace
`ns` itself. Paths outside /api and /apis (and the discovery paths /api/v1, /apis/apps/v1) are
non-resource requests whose verb is the lowercased method. `forbidden` words a denial exactly
as kube-apiserver does.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import errors

_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
          "DELETE": "delete"}
# the resources under a namespace that are the namespace's own subresources
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class Attributes:
    """One request as an authorizer sees it (authorizer.Attributes)."""

    verb: str
    path: str = ""
    resource_request: bool = False
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def combined_resource(self) -> str:
        """`pods/exec` for a subresource, `pods` otherwise: what RBAC rules name."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def resource(verb: str, group: str, resource_name: str, namespace: str = "", name: str = "",
             subresource: str = "", version: str = "") -> Attributes:
    """Attributes of a resource request built by hand (reviews, impersonation checks)."""
    return Attributes(verb=verb, resource_request=True, api_group=group, api_version=version,
                      resource=resource_name, subresource=subresource, namespace=namespace, name=name)


def non_resource(verb: str, path: str) -> Attributes:
    return Attributes(verb=verb, path=path)


def from_request(method: str, path: str, query) -> Attributes:
    """`query` is any mapping of the query string (aiohttp's MultiDict, a dict)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return non_resource(method.lower(), path)
    verb = _VERBS.get(method.upper(), method.lower())
    if rest[0] == "watch":  # the deprecated /watch/ prefix: a watch whatever follows
        verb, rest = "watch", rest[1:] or rest
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if _flag(query.get("watch")) else "list"
    if not name and verb in ("list", "watch"):
        name = _exact_name(query.get("fieldSelector") or "")
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb=verb, path=path, resource_request=True, api_group=group, api_version=version,
                      resource=rest[0], subresource=subresource, namespace=namespace, name=name)


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "t")


def _exact_name(field_selector: str) -> str:
    """The name a `metadata.name=x` (or `==`) requirement pins a list to, else ""."""
    for requirement in field_selector.split(","):
        for operator in ("==", "="):
            key, found, value = requirement.partition(operator)
            if found and "!" not in key and key.strip() == "metadata.name":
                value = value.strip()
                return value if value and "/" not in value and value not in (".", "..") else ""
    return ""


def denial_message(username: str, attributes: Attributes) -> str:
    """`User "x" cannot list resource "pods" in API group "" in the namespace "ns"`."""
    if not attributes.resource_request:
        return f'User "{username}" cannot {attributes.verb} path "{attributes.path}"'
    where = (f'in the namespace "{attributes.namespace}"' if attributes.namespace else "at the cluster scope")
    return (f'User "{username}" cannot {attributes.verb} resource "{attributes.combined_resource}" '
            f'in API group "{attributes.api_group}" {where}')


def forbidden(username: str, attributes: Attributes, reason: str = "") -> errors.APIError:
    """The 403 Status kube-apiserver answers a denied request with."""
    text = denial_message(username, attributes)
    if reason:
        text = f"{text}: {reason}"
    if not attributes.resource_request or not attributes.resource:
        return errors.forbidden_request(f"forbidden: {text}", {})
    qualified = (f"{attributes.resource}.{attributes.api_group}" if attributes.api_group
                 else attributes.resource)
    details: dict = {}
    if attributes.name:
        details["name"] = attributes.name
        message = f'{qualified} "{attributes.name}" is forbidden: {text}'
    else:
        message = f"{qualified} is forbidden: {text}"
    if attributes.api_group:
        details["group"] = attributes.api_group
    details["kind"] = attributes.resource
    return errors.forbidden_request(message, details)
