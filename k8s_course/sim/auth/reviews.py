"""The access-review APIs, answered by the same authorizer that guards every request.

- SelfSubjectAccessReview: may *I* do this? (`kubectl auth can-i`, with `--as` too, since the
  request's user is already the impersonated one);
- SubjectAccessReview and LocalSubjectAccessReview: may *this user* do this (the latter only in
  the namespace its path names);
- SelfSubjectRulesReview: everything I may do in a namespace (`kubectl auth can-i --list`);
- SelfSubjectReview: who am I (`kubectl auth whoami`).

Each function takes the decoded request body and returns the body to answer with (201).
"""

from __future__ import annotations

import copy

from .. import errors, protobuf
from . import attributes
from .authentication import UserInfo

GROUP = "authorization.k8s.io"


def _attributes(spec: dict) -> attributes.Attributes:
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict):
        return attributes.resource(
            str(resource.get("verb") or ""), str(resource.get("group") or ""), str(resource.get("resource") or ""),
            str(resource.get("namespace") or ""), str(resource.get("name") or ""),
            str(resource.get("subresource") or ""), str(resource.get("version") or ""))
    other = spec.get("nonResourceAttributes") or {}
    return attributes.non_resource(str(other.get("verb") or ""), str(other.get("path") or ""))


def _validate(kind: str, spec: dict, subject: bool) -> None:
    problems = []
    if spec.get("resourceAttributes") is not None and spec.get("nonResourceAttributes") is not None:
        problems.append(errors.invalid("spec.nonResourceAttributes", spec["nonResourceAttributes"],
                                       "cannot be specified in combination with resourceAttributes"))
    if spec.get("resourceAttributes") is None and spec.get("nonResourceAttributes") is None:
        problems.append(errors.invalid("spec.resourceAttributes", None,
                                       "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
    if subject and not spec.get("user") and not spec.get("groups"):
        problems.append(errors.invalid("spec.user", spec.get("user") or "", "at least one of user or group must be specified"))
    if problems:
        raise errors.invalid_object(kind, GROUP, "", problems)


def _status(decision) -> dict:
    status: dict = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    return status


def _answer(body: dict, status: dict) -> dict:
    review = copy.deepcopy(body)
    review.setdefault("metadata", {})["creationTimestamp"] = None
    review["status"] = status
    return review


def self_subject_access_review(authorizer, user: UserInfo, body: dict) -> dict:
    spec = body.get("spec") or {}
    _validate("SelfSubjectAccessReview", spec, subject=False)
    return _answer(body, _status(authorizer.authorize(user, _attributes(spec))))


def _subject(spec: dict) -> UserInfo:
    extra = {str(k): tuple(str(v) for v in (values or ())) for k, values in (spec.get("extra") or {}).items()}
    return UserInfo(str(spec.get("user") or ""), tuple(str(g) for g in spec.get("groups") or ()),
                    str(spec.get("uid") or ""), extra)


def subject_access_review(authorizer, body: dict) -> dict:
    spec = body.get("spec") or {}
    _validate("SubjectAccessReview", spec, subject=True)
    return _answer(body, _status(authorizer.authorize(_subject(spec), _attributes(spec))))


def local_subject_access_review(authorizer, namespace: str, body: dict) -> dict:
    spec = body.get("spec") or {}
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    declared = metadata.get("namespace") or namespace
    if declared != namespace:
        raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
    _validate("LocalSubjectAccessReview", spec, subject=True)
    problems = []
    if spec.get("nonResourceAttributes") is not None:
        problems.append(errors.invalid("spec.nonResourceAttributes", spec["nonResourceAttributes"],
                                       "disallowed on this kind of request"))
    resource = spec.get("resourceAttributes") or {}
    if isinstance(resource, dict) and (resource.get("namespace") or "") != namespace:
        problems.append(errors.invalid("spec.resourceAttributes.namespace", resource.get("namespace") or "",
                                       "must match metadata.namespace"))
    if problems:
        raise errors.invalid_object("LocalSubjectAccessReview", GROUP, "", problems)
    review = _answer(body, _status(authorizer.authorize(_subject(spec), _attributes(spec))))
    review["metadata"]["namespace"] = namespace
    return review


def self_subject_rules_review(authorizer, user: UserInfo, body: dict) -> dict:
    spec = body.get("spec") or {}
    rules, problems = authorizer.rules_for(user, str(spec.get("namespace") or ""))
    resource_rules, non_resource_rules = [], []
    for rule in rules:
        if rule.get("resources"):
            entry = {"verbs": list(rule.get("verbs") or [])}
            for key in ("apiGroups", "resources", "resourceNames"):
                if rule.get(key):
                    entry[key] = list(rule[key])
            resource_rules.append(entry)
        if rule.get("nonResourceURLs"):
            non_resource_rules.append({"verbs": list(rule.get("verbs") or []),
                                       "nonResourceURLs": list(rule["nonResourceURLs"])})
    status: dict = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
                    "incomplete": bool(problems)}
    if problems:
        unique = list(dict.fromkeys(problems))
        status["evaluationError"] = unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
    return _answer({"kind": "SelfSubjectRulesReview", "apiVersion": f"{GROUP}/v1", **body, "spec": spec}, status)


def self_subject_review(user: UserInfo) -> dict:
    return {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "status": {"userInfo": user.as_json()}}


def is_protobuf(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == protobuf.CONTENT_TYPE


def decode_rules_review(raw: bytes) -> dict:
    """The JSON of a protobuf SelfSubjectRulesReview (kubectl sends one for `auth can-i --list`).

    Its only input is spec.namespace (field 2, then 1); the general decoder has no table for the
    kind, so it is read here with the decoder's wire-format helpers.
    """
    try:
        if not raw.startswith(protobuf.MAGIC):
            raise protobuf.ProtobufError("provided data does not appear to be a protobuf message")
        _, _, message = protobuf._envelope(raw[len(protobuf.MAGIC):])
        namespace = ""
        for number, _, value in protobuf._fields(message):
            if number == 2 and isinstance(value, bytes):
                for inner, _, text in protobuf._fields(value):
                    if inner == 1 and isinstance(text, bytes):
                        namespace = text.decode("utf-8", "replace")
    except protobuf.ProtobufError as error:
        raise errors.bad_request(f"the body of the request could not be decoded: {error}") from None
    return {"kind": "SelfSubjectRulesReview", "apiVersion": f"{GROUP}/v1", "metadata": {"creationTimestamp": None},
            "spec": {"namespace": namespace} if namespace else {}}
