"""ServiceAccount tokens: issued by the TokenRequest API, mounted into pods, checked on use.

A token looks like the real thing, a JWT whose claims say what kube-apiserver's say (issuer,
audiences, `sub`, `kubernetes.io` with the namespace, account, and pod it is bound to, iat/
nbf/exp), so a lesson can decode one. Its signature is random: the simulator remembers every
token it issued instead of verifying signatures, and on each use checks what the real
authenticator checks: not expired (on the cluster's clock), meant for the API server's
audience, the ServiceAccount still there with the same uid, and the bound pod or secret too.

Tokens the kubelet asks for with the default 3607 s lifetime are extended to a year, as
kube-apiserver's `--service-account-extend-token-expiration` (on by default) does.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass

from .. import errors
from ..clock import format_time, parse_time
from . import authentication

API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_SECONDS = 3600
MINIMUM_SECONDS = 600
KUBELET_SECONDS = 3607  # what the kube-api-access volume asks for: extended, with a warning time
EXTENDED_SECONDS = 365 * 24 * 3600
DELETION_GRACE_SECONDS = 60
PRUNE_EVERY = 256  # issues between sweeps of tokens whose account or pod is gone
_ACCOUNTS = ("", "serviceaccounts")
_BOUND_KINDS = {"Pod": ("", "pods"), "Secret": ("", "secrets"), "Node": ("", "nodes")}
_EXTRA = "authentication.kubernetes.io/"


@dataclass(frozen=True)
class Record:
    """What the server remembers of one token it issued."""

    namespace: str
    account: str
    account_uid: str
    audiences: tuple[str, ...]
    expires: float
    jti: str
    bound_kind: str = ""
    bound_name: str = ""
    bound_uid: str = ""
    node_name: str = ""


def _segment(document: dict) -> str:
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class ServiceAccountTokens:
    """The tokens one cluster issued; `store` is read for accounts and bound objects."""

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self._records: dict[str, Record] = {}
        self._issued = 0

    # issuing

    def issue(self, namespace: str, account: dict, seconds: int = DEFAULT_SECONDS,
              audiences: list[str] | None = None, bound: dict | None = None) -> tuple[str, float]:
        """A new token for `account` (the ServiceAccount object) and the expiry to report.

        `bound` is a checked boundObjectRef plus the object's uid ({"kind", "name", "uid"}) and,
        for a pod, its node ({"nodeName"}).
        """
        now = self.clock.now()
        reported = now + seconds
        lifetime = EXTENDED_SECONDS if seconds == KUBELET_SECONDS and bound and bound["kind"] == "Pod" else seconds
        audiences = list(audiences or [API_AUDIENCE])
        meta = account["metadata"]
        record = Record(namespace, meta["name"], meta.get("uid", ""), tuple(audiences), now + lifetime,
                        str(uuid.uuid4()), *(_bound_fields(bound)))
        private: dict = {"namespace": namespace, "serviceaccount": {"name": meta["name"], "uid": record.account_uid}}
        if bound:
            private[bound["kind"].lower()] = {"name": bound["name"], "uid": bound["uid"]}
            if record.node_name:
                private["node"] = {"name": record.node_name}
        if lifetime != seconds:
            private["warnafter"] = int(reported)
        claims = {"aud": audiences, "exp": int(record.expires), "iat": int(now), "iss": ISSUER,
                  "jti": record.jti, "kubernetes.io": private, "nbf": int(now),
                  "sub": authentication.service_account_username(namespace, meta["name"])}
        header = {"alg": "RS256", "kid": "k8s-course-simulator"}
        signature = base64.urlsafe_b64encode(secrets.token_bytes(256)).decode().rstrip("=")
        token = f"{_segment(header)}.{_segment(claims)}.{signature}"
        self._records[token] = record
        self._issued += 1
        if self._issued % PRUNE_EVERY == 0:
            self.prune()
        return token, reported

    def token_request(self, account: dict, body) -> dict:
        """The TokenRequest a POST to serviceaccounts/<name>/token answers (201)."""
        meta = account["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        spec = (body or {}).get("spec") or {} if isinstance(body, dict) else {}
        seconds = spec.get("expirationSeconds") or DEFAULT_SECONDS
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < MINIMUM_SECONDS:
            raise errors.invalid_object("TokenRequest", "authentication.k8s.io", name, [
                errors.invalid("spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes")])
        reference = spec.get("boundObjectRef")
        bound = self._bound_object(namespace, name, reference) if reference else None
        token, expires = self.issue(namespace, account, seconds, spec.get("audiences"), bound)
        now = self.clock.now()
        return {
            "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": format_time(now)},
            "spec": {"audiences": spec.get("audiences") or [API_AUDIENCE], "expirationSeconds": seconds,
                     "boundObjectRef": reference},
            "status": {"token": token, "expirationTimestamp": format_time(expires)},
        }

    def _bound_object(self, namespace: str, account: str, reference: dict) -> dict:
        kind, name = reference.get("kind", ""), reference.get("name", "")
        if kind not in _BOUND_KINDS:
            raise errors.bad_request(f'cannot bind token to object of type {kind or "<empty>"}')
        resource = _BOUND_KINDS[kind]
        found = self.store.get(resource, "" if kind == "Node" else namespace, name)
        if found is None:
            raise errors.not_found(resource[1], "", name)
        if kind == "Pod":
            running_as = (found.get("spec") or {}).get("serviceAccountName") or "default"
            if running_as != account:
                raise errors.bad_request(f'cannot bind token for serviceaccount "{account}" to pod running '
                                         f'with different serviceaccount name.')
        uid = found["metadata"].get("uid", "")
        if reference.get("uid") and reference["uid"] != uid:
            raise errors.conflict(kind, "", name, f"the UID in the bound object reference ({reference['uid']}) "
                                  "does not match the UID in record. The object might have been deleted and "
                                  "then recreated")
        bound = {"kind": kind, "name": name, "uid": uid}
        if kind == "Pod":
            bound["nodeName"] = (found.get("spec") or {}).get("nodeName", "")
        return bound

    # checking

    def user_for(self, token: str) -> authentication.UserInfo | None:
        """The ServiceAccount user a token authenticates as, or None (the caller answers 401)."""
        record = self._records.get(token)
        if record is None or not self._valid(record):
            return None
        if API_AUDIENCE not in record.audiences:
            return None  # a token for someone else: valid, but not for this server
        extra: dict[str, tuple[str, ...]] = {_EXTRA + "credential-id": (f"JTI={record.jti}",)}
        if record.bound_kind == "Pod":
            extra[_EXTRA + "pod-name"] = (record.bound_name,)
            extra[_EXTRA + "pod-uid"] = (record.bound_uid,)
            if record.node_name:
                extra[_EXTRA + "node-name"] = (record.node_name,)
        return authentication.service_account_user(record.namespace, record.account, record.account_uid, extra)

    def _valid(self, record: Record) -> bool:
        if self.clock.now() >= record.expires:
            return False
        account = self.store.get(_ACCOUNTS, record.namespace, record.account)
        if account is None or account["metadata"].get("uid", "") != record.account_uid:
            return False
        if account["metadata"].get("deletionTimestamp"):
            return False
        if record.bound_kind:
            resource = _BOUND_KINDS[record.bound_kind]
            found = self.store.get(resource, "" if record.bound_kind == "Node" else record.namespace,
                                   record.bound_name)
            if found is None or found["metadata"].get("uid", "") != record.bound_uid:
                return False
            deleted = found["metadata"].get("deletionTimestamp")
            # a terminating pod keeps its token through its grace period, and a minute more
            if deleted and parse_time(deleted) + DELETION_GRACE_SECONDS < self.clock.now():
                return False
        return True

    def prune(self) -> None:
        """Forget tokens that can never authenticate again."""
        for token, record in list(self._records.items()):
            if not self._valid(record):
                del self._records[token]

    def __len__(self) -> int:
        return len(self._records)


def _bound_fields(bound: dict | None) -> tuple[str, str, str, str]:
    if not bound:
        return "", "", "", ""
    return bound["kind"], bound["name"], bound["uid"], bound.get("nodeName", "")
