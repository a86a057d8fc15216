"""Resources and subresources that are verbs rather than stored objects.

Scale, binding, eviction, finalize, service-account tokens (`auth.tokens`), access reviews
(`auth.reviews`) and metrics are answered here; pod logs and exec are handed to the kubelet
side through `server.extensions`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from aiohttp import web

from .. import binding, errors, patching
from ..auth import authentication, reviews, tokens
from ..objects import PATCH_TYPES, DeleteOptions, WriteOptions
from ..resources import ResourceType
from .requests import Target

if TYPE_CHECKING:
    from .server import APIServer

REVIEWS = ("selfsubjectaccessreviews", "subjectaccessreviews", "localsubjectaccessreviews",
           "selfsubjectrulesreviews", "selfsubjectreviews")


def _json(obj, status: int = 200) -> web.Response:
    from .server import json_response

    return json_response(obj, status)


def _success(name: str, group: str, kind: str, code: int = 201) -> web.Response:
    return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                  "code": code, "details": {"name": name, "group": group, "kind": kind}}, code)


async def handle(server: APIServer, request: web.Request, rtype: ResourceType, target: Target):
    """Resources with nothing stored: reviews, bindings and metrics."""
    method = request.method
    if rtype.group == "metrics.k8s.io":
        if method != "GET":
            raise errors.method_not_allowed()
        return _metrics(server, rtype, target)
    if method != "POST" or target.name:
        raise errors.method_not_allowed()
    if rtype.plural == "selfsubjectrulesreviews" and reviews.is_protobuf(request.headers.get("Content-Type", "")):
        body = reviews.decode_rules_review(await request.read())  # the protobuf tables lack this kind
    else:
        body = await server.read_body(request)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request could not be decoded: expected an object")
    if rtype.plural == "bindings":
        name = (body.get("metadata") or {}).get("name", "")
        return _bind(server, target.namespace or "default", name, body)
    if rtype.plural in REVIEWS:
        return _review(server, request, rtype, target, body)
    raise errors.method_not_allowed()


def _review(server: APIServer, request: web.Request, rtype: ResourceType, target: Target, body: dict):
    """Access reviews and whoami, from the rules that guard every request (auth.reviews)."""
    gate = getattr(server.extensions, "gate", None)
    if gate is not None:
        return _json(gate.review(rtype.plural, request.get(gate.USER_KEY) or authentication.ADMIN, target.namespace,
                                 body), 201)
    # a bare API server (no auth installed): its one user is the admin, who may do everything
    if rtype.plural == "selfsubjectreviews":
        return _json(reviews.self_subject_review(authentication.ADMIN), 201)
    review = copy.deepcopy(body)
    review.setdefault("metadata", {})["creationTimestamp"] = None
    review["status"] = {"allowed": True, "reason": "the simulator's admin user may do everything"}
    return _json(review, 201)


def _metrics(server: APIServer, rtype: ResourceType, target: Target) -> web.Response:
    provider = getattr(server.extensions, "metrics", None)
    items = provider(rtype.plural, target.namespace) if provider else []
    if target.name:
        for item in items:
            if item["metadata"]["name"] == target.name:
                return _json(item)
        raise errors.not_found(rtype.plural, rtype.group, target.name)
    return _json({"kind": f"{rtype.kind}List", "apiVersion": rtype.api_version, "metadata": {},
                  "items": items})


async def handle_subresource(server: APIServer, request: web.Request, rtype: ResourceType,
                             target: Target) -> web.StreamResponse:
    sub = target.subresource
    if sub not in rtype.subresources:
        raise errors.page_not_found(request.path)
    verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(request.method)
    if verb not in rtype.subresources[sub].verbs:
        raise errors.method_not_allowed()
    if rtype.kind_key == "v1/Pod" and sub == "binding":
        body = await server.read_body(request)
        return _bind(server, target.namespace or "default", target.name, body)
    if rtype.kind_key == "v1/Pod" and sub == "eviction":
        body = await server.read_body(request)
        return _evict(server, rtype, target, body)
    if rtype.kind_key == "v1/ServiceAccount" and sub == "token":
        body = await server.read_body(request)
        return _token(server, rtype, target, body)
    handler = getattr(server.extensions, "pod_" + sub, None) if rtype.kind_key == "v1/Pod" else None
    if handler is None:
        raise errors.APIError(503, "ServiceUnavailable",
                              f"the simulator does not serve {rtype.plural}/{sub} yet")
    pod = server.objects.get(rtype, target.namespace, target.name)
    return await handler(request, pod)


def _bind(server: APIServer, namespace: str, name: str, body) -> web.Response:
    if not isinstance(body, dict) or not isinstance(body.get("target"), dict):
        raise errors.invalid_object("Binding", "", name, [errors.required("target")])
    binding.bind(server.objects, namespace, name, body["target"].get("name", ""))
    return _success(name, "", "pods")


def _evict(server: APIServer, rtype: ResourceType, target: Target, body) -> web.Response:
    """The eviction API: delete a pod unless a PodDisruptionBudget forbids it (429)."""
    from .. import selectors

    pod = server.objects.get(rtype, target.namespace, target.name)
    budgets_type = server.registry.lookup("policy", "v1", "poddisruptionbudgets")
    labels = pod["metadata"].get("labels") or {}
    options = (body or {}).get("deleteOptions") or {}
    dry_run = options.get("dryRun") == ["All"]
    # a pod that is not running, or already going, is deleted without asking any budget
    guarded = pod.get("status", {}).get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp")
    budgets = []
    if guarded:
        for budget in server.objects.list(budgets_type, target.namespace):
            selector = (budget.get("spec") or {}).get("selector")
            if selector is None:  # a nil selector matches nothing; {} matches every pod
                continue
            if selectors.from_selector_object(selector).matches(labels):
                budgets.append(budget)
    if len(budgets) > 1:
        raise errors.APIError(500, "InternalError", "This pod has more than one PodDisruptionBudget, which "
                                                    "the eviction subresource does not support.")
    if budgets:
        budget = budgets[0]
        status = budget.get("status") or {}
        name = budget["metadata"]["name"]
        if status.get("observedGeneration", 0) < budget["metadata"].get("generation", 1):
            raise errors.too_many_requests(
                "Cannot evict pod as it would violate the pod's disruption budget.", 10,
                [{"reason": "DisruptionBudget",
                  "message": f"The disruption budget {name} is still being processed by the server."}])
        allowed = status.get("disruptionsAllowed", 0)
        if allowed < 1:
            raise errors.too_many_requests(
                "Cannot evict pod as it would violate the pod's disruption budget.", 0,
                [{"reason": "DisruptionBudget",
                  "message": f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} healthy "
                             f"pods and has {status.get('currentHealthy', 0)} currently"}])
        if not dry_run:
            updated = copy.deepcopy(budget)
            updated["status"]["disruptionsAllowed"] = allowed - 1
            updated["status"].setdefault("disruptedPods", {})[target.name] = server.objects.clock.timestamp()
            # through the status write path, with the version read: a lost race is a conflict
            server.objects.update(budgets_type, target.namespace, name, updated, subresource="status")
    server.objects.delete(rtype, target.namespace, target.name,
                          DeleteOptions(grace_period_seconds=options.get("gracePeriodSeconds"),
                                        precondition_uid=(options.get("preconditions") or {}).get("uid"),
                                        dry_run=dry_run))
    return _success(target.name, "", "pods")


def _token(server: APIServer, rtype: ResourceType, target: Target, body) -> web.Response:
    account = server.objects.get(rtype, target.namespace, target.name)
    gate = getattr(server.extensions, "gate", None)
    # without auth installed a token is still issued, though nothing will accept it
    issuer = gate.tokens if gate is not None else tokens.ServiceAccountTokens(server.store, server.objects.clock)
    return _json(issuer.token_request(account, body), 201)


# scale

def selector_string(selector: dict | None) -> str:
    """metav1.LabelSelector -> the query-string form a Scale's status carries ("" for none)."""
    from .. import selectors

    return str(selectors.from_selector_object(selector)) if selector else ""


def scale_of(server: APIServer, rtype: ResourceType, obj: dict) -> dict:
    meta = obj["metadata"]
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                  if k in meta}
    if rtype.custom:
        from ..schema import crds

        crd = server.objects.admission.crd_of(rtype)
        scale = crds.scale_of(crd, rtype.version, obj)
        scale["metadata"] = scale_meta
        return scale
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
        "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
        "status": {"replicas": obj.get("status", {}).get("replicas", 0),
                   "selector": selector_string(obj.get("spec", {}).get("selector"))},
    }


def _rescale(server: APIServer, rtype: ResourceType, target: Target, scale: dict,
             options: WriteOptions) -> dict:
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise errors.invalid_object("Scale", "autoscaling", target.name, [
            errors.invalid("spec.replicas", replicas, "must be an integer")])
    if replicas < 0:
        raise errors.invalid_object("Scale", "autoscaling", target.name, [
            errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")])
    current = server.objects.get(rtype, target.namespace, target.name)
    expected = (scale.get("metadata") or {}).get("resourceVersion")
    if expected and expected != current["metadata"]["resourceVersion"]:
        raise errors.conflict(rtype.plural, rtype.group, target.name, errors.STALE_OBJECT)
    updated = copy.deepcopy(current)
    if rtype.custom:
        from ..schema import crds

        updated = crds.apply_scale(server.objects.admission.crd_of(rtype), rtype.version, updated, replicas)
    else:
        updated.setdefault("spec", {})["replicas"] = replicas
    result = server.objects.update(rtype, target.namespace, target.name, updated, options)
    return scale_of(server, rtype, result.object)


def update_scale(server: APIServer, rtype: ResourceType, target: Target, body, options: WriteOptions) -> dict:
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request could not be decoded as a Scale")
    return _rescale(server, rtype, target, body, options)


def patch_scale(server: APIServer, rtype: ResourceType, target: Target, body, content_type: str,
                options: WriteOptions) -> dict:
    patch_type = PATCH_TYPES.get(content_type.split(";")[0].strip())
    current = scale_of(server, rtype, server.objects.get(rtype, target.namespace, target.name))
    try:
        if patch_type == "json" and isinstance(body, list):
            scale = patching.json_patch(current, body)
        elif patch_type in ("merge", "strategic", "apply") and isinstance(body, dict):
            scale = patching.merge_patch(current, body)
        else:
            raise errors.unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(PATCH_TYPES))
    except patching.PatchError as error:
        raise errors.bad_request(str(error)) from None
    if patch_type != "json" or not any(op.get("path", "").startswith("/metadata/resourceVersion")
                                        for op in body if isinstance(op, dict)):
        scale.setdefault("metadata", {}).pop("resourceVersion", None)
    return _rescale(server, rtype, target, scale, options)


def finalize_body(server: APIServer, rtype: ResourceType, target: Target, body) -> dict:
    """PUT namespaces/x/finalize changes spec.finalizers only."""
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request could not be decoded as a Namespace")
    current = copy.deepcopy(server.objects.get(rtype, None, target.name))
    finalizers = ((body.get("spec") or {}).get("finalizers")) or []
    current.setdefault("spec", {})["finalizers"] = finalizers
    if not finalizers:
        current["spec"].pop("finalizers")
    expected = (body.get("metadata") or {}).get("resourceVersion")
    current["metadata"]["resourceVersion"] = expected or ""
    return current
