"""Acting as someone else: the `Impersonate-*` headers that `kubectl --as/--as-group` send.

Each thing asked for is authorized on its own, with the verb `impersonate`, before the request
goes on as the impersonated user: `users` (or `serviceaccounts` in the account's namespace, for
`system:serviceaccount:<ns>:<name>`) and `groups` in the core group, `uids` and
`userextras/<key>` in `authentication.k8s.io`. The first refusal is the answer, worded as
kube-apiserver words it (`users "jane" is forbidden: User "x" cannot impersonate resource
"users" in API group "" at the cluster scope`). The impersonated user gets
`system:authenticated` unless it asked for that group or `system:unauthenticated`, and an
impersonated ServiceAccount without groups gets its account groups.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from .. import errors
from . import attributes, authentication
from .authentication import UserInfo

USER_HEADER = "Impersonate-User"
GROUP_HEADER = "Impersonate-Group"
UID_HEADER = "Impersonate-Uid"
EXTRA_PREFIX = "impersonate-extra-"


def requested(headers) -> bool:
    """Whether a request asks to impersonate anyone (any `Impersonate-*` header)."""
    return any(key.lower().startswith("impersonate-") for key in headers.keys())


def impersonate(requestor: UserInfo, headers, authorize: Callable) -> UserInfo:
    """The user the request acts as; `authorize(user, attributes)` returns a Decision.

    Raises the 403 of the first impersonation the requestor may not do.
    """
    username = headers.get(USER_HEADER)
    groups = [g for g in headers.getall(GROUP_HEADER, []) if g]
    uid = headers.get(UID_HEADER, "")
    extra: dict[str, list[str]] = {}
    for key in headers.keys():
        if key.lower().startswith(EXTRA_PREFIX):
            name = unquote(key[len(EXTRA_PREFIX):].lower())
            extra.setdefault(name, [])
            for value in headers.getall(key, []):
                if value not in extra[name]:
                    extra[name].append(value)
    if not username and not (groups or uid or extra):
        return requestor  # empty impersonation headers ask for nothing: Kubernetes ignores them
    if not username:
        raise errors.APIError(500, "InternalError",
                              "Internal error occurred: requested impersonation of groups, uid or extra "
                              "without impersonating a user")
    checks: list[attributes.Attributes] = []
    account = authentication.split_service_account(username)
    if account is not None:
        checks.append(attributes.resource("impersonate", "", "serviceaccounts", account[0], account[1]))
        if not groups:
            groups = list(authentication.service_account_groups(account[0]))
    else:
        checks.append(attributes.resource("impersonate", "", "users", name=username))
    for group in headers.getall(GROUP_HEADER, []):
        if group:
            checks.append(attributes.resource("impersonate", "", "groups", name=group))
    for key, values in extra.items():
        for value in values:
            checks.append(attributes.resource("impersonate", "authentication.k8s.io", "userextras",
                                              name=value, subresource=key))
    if uid:
        checks.append(attributes.resource("impersonate", "authentication.k8s.io", "uids", name=uid))
    for check in checks:
        decision = authorize(requestor, check)
        if not decision.allowed:
            raise attributes.forbidden(requestor.name, check, decision.reason)
    if username != authentication.ANONYMOUS:
        if not any(g in (authentication.AUTHENTICATED, authentication.UNAUTHENTICATED) for g in groups):
            groups.append(authentication.AUTHENTICATED)
    elif authentication.UNAUTHENTICATED not in groups:
        groups.append(authentication.UNAUTHENTICATED)
    return UserInfo(username, tuple(groups), uid, {k: tuple(v) for k, v in extra.items()})
