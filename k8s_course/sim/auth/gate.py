"""The one check every API request passes: authenticate, impersonate, authorize.

    gate = Gate.for_cluster(store, clock, admin_token)
    user = gate.admit(request.method, request.path, request.query, request.headers)

`admit` returns the user the request acts as, or raises the Status to answer: 401 for a
credential that names nobody, 403 for what RBAC does not allow. WebSocket upgrades to
`pods/exec`, `pods/attach` and `pods/portforward` also need `create` on the subresource, as
since Kubernetes 1.35 (AuthorizePodWebsocketUpgradeCreatePermission, on by default): a
WebSocket starts as a GET, which alone would let a read-only role run commands.
"""

from __future__ import annotations

import dataclasses

from aiohttp import web

from . import attributes, impersonation, rbac, reviews, tokens
from .authentication import Authenticator, UserInfo

STREAMING_SUBRESOURCES = ("exec", "attach", "portforward")
PARSED_REQUESTS_LIMIT = 16384  # request lines whose attributes are remembered


class Gate:
    # where the HTTP layer keeps the request's user (aiohttp wants typed keys where it has them)
    USER_KEY = web.RequestKey("user", UserInfo) if hasattr(web, "RequestKey") else "user"

    def __init__(self, authenticator: Authenticator, authorizer: rbac.RBACAuthorizer):
        self.authenticator = authenticator
        self.authorizer = authorizer
        # what a request line means never changes: parse each (method, path, query) once
        self._parsed: dict[tuple, attributes.Attributes] = {}

    @classmethod
    def for_cluster(cls, store, clock, admin_token: str) -> Gate:
        """A gate over one cluster's store, issuing ServiceAccount tokens on its clock."""
        return cls(Authenticator(admin_token, tokens.ServiceAccountTokens(store, clock)),
                   rbac.RBACAuthorizer(store))

    @property
    def tokens(self) -> tokens.ServiceAccountTokens:
        return self.authenticator.tokens

    def admit(self, method: str, path: str, query, headers) -> UserInfo:
        user = self.authenticator.authenticate(headers.get("Authorization", ""))
        if impersonation.requested(headers):
            user = impersonation.impersonate(user, headers, self.authorizer.authorize)
        request = self.attributes_of(method, path, query)
        self.require(user, request)
        if (request.verb == "get" and request.resource == "pods" and request.api_group == ""
                and request.subresource in STREAMING_SUBRESOURCES
                and headers.get("Upgrade", "").lower() == "websocket"):
            self.require(user, dataclasses.replace(request, verb="create"))
        return user

    def attributes_of(self, method: str, path: str, query) -> attributes.Attributes:
        """`attributes.from_request`, remembered (it reads only `watch` and `fieldSelector`)."""
        key = (method, path, query.get("watch"), query.get("fieldSelector"))
        found = self._parsed.get(key)
        if found is None:
            if len(self._parsed) >= PARSED_REQUESTS_LIMIT:
                self._parsed.clear()
            found = self._parsed[key] = attributes.from_request(method, path, query)
        return found

    def require(self, user: UserInfo, request: attributes.Attributes) -> None:
        decision = self.authorizer.authorize(user, request)
        if not decision.allowed:
            raise attributes.forbidden(user.name, request, decision.reason)

    # the review APIs, for the handlers of their resources

    def review(self, plural: str, user: UserInfo, namespace: str | None, body: dict) -> dict:
        if plural == "selfsubjectaccessreviews":
            return reviews.self_subject_access_review(self.authorizer, user, body)
        if plural == "subjectaccessreviews":
            return reviews.subject_access_review(self.authorizer, body)
        if plural == "localsubjectaccessreviews":
            return reviews.local_subject_access_review(self.authorizer, namespace or "", body)
        if plural == "selfsubjectrulesreviews":
            return reviews.self_subject_rules_review(self.authorizer, user, body)
        return reviews.self_subject_review(user)


def install(cluster) -> Gate:
    """Guard a `simulator.Cluster`'s API and give its kubelets real ServiceAccount tokens."""
    gate = Gate.for_cluster(cluster.store, cluster.clock, cluster.token)
    cluster.extensions.gate = gate
    for kubelet in cluster.kubelets.values():
        kubelet.token_issuer = gate.tokens
    return gate
