"""Who a bearer token says the caller is.

Two kinds of credential authenticate, as on a kind cluster:

- the kubeconfig's token: user `kubernetes-admin` in groups `kubeadm:cluster-admins` and
  `system:authenticated` (what kind's admin client certificate says);
- a ServiceAccount token from `tokens` (TokenRequest, or mounted into a pod by the kubelet):
  user `system:serviceaccount:<ns>:<name>` in `system:serviceaccounts`,
  `system:serviceaccounts:<ns>` and `system:authenticated`, for as long as the account (and
  the pod the token is bound to) still exists.

Anything else is 401 with the `Unauthorized` Status kube-apiserver sends.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from .. import errors

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
SERVICE_ACCOUNTS = "system:serviceaccounts"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
ADMIN_NAME = "kubernetes-admin"
ADMIN_GROUP = "kubeadm:cluster-admins"


@dataclass(frozen=True)
class UserInfo:
    """An authenticated (or impersonated) user: user.Info."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)

    def as_json(self) -> dict:
        """authentication.k8s.io/v1 UserInfo, as SelfSubjectReview returns it."""
        body: dict = {"username": self.name}
        if self.uid:
            body["uid"] = self.uid
        if self.groups:
            body["groups"] = list(self.groups)
        if self.extra:
            body["extra"] = {key: list(values) for key, values in self.extra.items()}
        return body


ADMIN = UserInfo(ADMIN_NAME, (ADMIN_GROUP, AUTHENTICATED))


def service_account_username(namespace: str, name: str) -> str:
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def service_account_groups(namespace: str) -> tuple[str, ...]:
    return (SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{namespace}")


def split_service_account(username: str) -> tuple[str, str] | None:
    """`system:serviceaccount:ns:name` -> ("ns", "name"); None for any other user name."""
    if not username.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    namespace, colon, name = username[len(SERVICE_ACCOUNT_PREFIX):].partition(":")
    if not colon or not namespace or not name or ":" in name:
        return None
    return namespace, name


def service_account_user(namespace: str, name: str, uid: str = "",
                         extra: dict[str, tuple[str, ...]] | None = None) -> UserInfo:
    return UserInfo(service_account_username(namespace, name),
                    (*service_account_groups(namespace), AUTHENTICATED), uid, extra or {})


class Authenticator:
    """Bearer tokens to users: the admin token, or whatever `tokens.user_for` recognises."""

    def __init__(self, admin_token: str, tokens=None):
        self._admin_token = admin_token.encode()
        self.tokens = tokens  # a tokens.ServiceAccountTokens, or None: the admin token only

    def authenticate(self, authorization: str) -> UserInfo:
        """The user of an `Authorization` header's value; 401 when it names nobody."""
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise errors.unauthorized()
        if hmac.compare_digest(credential.encode(), self._admin_token):
            return ADMIN
        user = self.tokens.user_for(credential) if self.tokens is not None else None
        if user is None:
            raise errors.unauthorized()
        return user
