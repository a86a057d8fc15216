"""What happens to an object on its way into and out of the store.

This is the part of a real API server that sits between HTTP and etcd (the registry
strategies and admission): decoding checks, defaulting, validation, metadata bookkeeping
(uid, generation, managedFields), status and spec kept apart, finalizers and graceful
deletion. HTTP handlers and in-process controllers both come through here, so a controller's
write is treated exactly like kubectl's.
"""

from __future__ import annotations

import copy
import random
import uuid
from dataclasses import dataclass, field

from . import admission, errors, patching, quantities, webhooks
from .clock import Clock, format_time
from .resources import Registry, ResourceType
from .schema import crds, defaulting, types, validation, validation_meta
from .store import Store

_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
MAX_NAME_LENGTH = 253

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}
_CR_PATCH_ACCEPTED = (
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
)


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Strict"  # Strict, Warn or Ignore; kubectl sends Strict
    field_manager: str = ""
    force: bool = False
    user: dict | None = None  # who asks (authentication/v1 UserInfo) for admission webhooks; None: the admin


@dataclass
class DeleteOptions:
    propagation_policy: str | None = None
    grace_period_seconds: int | None = None
    precondition_uid: str | None = None
    precondition_resource_version: str | None = None
    dry_run: bool = False
    user: dict | None = None  # as WriteOptions.user


@dataclass
class Result:
    object: dict
    warnings: list[str] = field(default_factory=list)
    created: bool = False
    removed: bool = False  # a delete that took the object out of the store now


def random_suffix(length: int = 5) -> str:
    return "".join(random.choice(_NAME_SUFFIX_ALPHABET) for _ in range(length))


class Objects:
    """Create, read, update, patch and delete objects of any served resource type."""

    def __init__(self, store: Store, registry: Registry, clock: Clock):
        self.store = store
        self.registry = registry
        self.clock = clock
        self.admission = admission.Admission(self)
        self.webhooks = webhooks.Webhooks(self)  # dynamic admission; the cluster gives it the pod network

    # reading

    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict:
        obj = self.store.get(self._key(rtype), namespace if rtype.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        return self.as_version(rtype, obj)

    def find(self, rtype: ResourceType, namespace: str, name: str) -> dict | None:
        obj = self.store.get(self._key(rtype), namespace if rtype.namespaced else "", name)
        return None if obj is None else self.as_version(rtype, obj)

    def list(self, rtype: ResourceType, namespace: str | None) -> list[dict]:
        items = self.store.list(self._key(rtype), namespace if rtype.namespaced else None)
        return [self.as_version(rtype, o) for o in items]

    @staticmethod
    def _key(rtype: ResourceType) -> tuple[str, str]:
        return (rtype.group, rtype.plural)

    @staticmethod
    def as_version(rtype: ResourceType, obj: dict) -> dict:
        if rtype.custom and obj.get("apiVersion") != rtype.api_version:
            # one stored version, served under every version (conversion strategy None)
            return dict(obj, apiVersion=rtype.api_version)
        return obj

    # creating

    def create(self, rtype: ResourceType, namespace: str | None, body: dict,
               options: WriteOptions | None = None) -> Result:
        options = options or WriteOptions()
        obj = self._decode(rtype, body)
        meta = obj["metadata"]
        self._settle_namespace(rtype, meta, namespace)
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = (meta["generateName"] + random_suffix())[:MAX_NAME_LENGTH]
            else:
                raise errors.invalid_object(rtype.kind, rtype.group, "", [
                    errors.required("metadata.name", "name or generateName is required")])
        if rtype.namespaced:
            self._require_open_namespace(rtype, meta)
        warnings = self._check_fields(rtype, obj, options.field_validation)
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        for managed in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                        "selfLink", "generation"):
            meta.pop(managed, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.clock.timestamp()
        if rtype.custom or defaulting.tracks_generation(rtype.kind_key):
            meta["generation"] = 1
        if rtype.custom and rtype.has_status:
            obj.pop("status", None)  # status is the controllers' to write
        elif not rtype.custom:
            defaulting.set_initial_status(rtype.kind_key, obj)
        self._default(rtype, obj)
        if self.webhooks.mutate(rtype, "CREATE", obj, None, None, options.dry_run, warnings, options.user):
            self._default(rtype, obj)
        self._validate(rtype, obj, None)
        self.webhooks.validate(rtype, "CREATE", obj, None, None, options.dry_run, warnings, options.user)
        self.admission.before_create(rtype, obj, options.dry_run)
        self._manage_fields(rtype, None, obj, options, "Update")
        if options.dry_run:
            return Result(obj, warnings, created=True)
        if self.store.get(self._key(rtype), meta.get("namespace", ""), meta["name"]) is not None:
            raise errors.already_exists(rtype.plural, rtype.group, meta["name"])
        stored = self.store.create(self._key(rtype), obj)
        self.admission.after_write(rtype, None, stored)
        return Result(self.as_version(rtype, stored), warnings, created=True)

    # updating

    def update(self, rtype: ResourceType, namespace: str | None, name: str, body: dict,
               options: WriteOptions | None = None, subresource: str | None = None,
               _expected_version: str | None = None) -> Result:
        options = options or WriteOptions()
        current = self.store.get(self._key(rtype), namespace if rtype.namespaced else "", name)
        if current is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        obj = self._decode(rtype, body)
        meta = obj["metadata"]
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
        meta["name"] = name
        self._settle_namespace(rtype, meta, namespace)
        expected = meta.get("resourceVersion") or _expected_version
        if meta.get("uid") and meta["uid"] != current["metadata"]["uid"]:
            raise errors.conflict(rtype.plural, rtype.group, name,
                                  f"Precondition failed: UID in precondition: {meta['uid']}, "
                                  f"UID in object meta: {current['metadata']['uid']}")
        warnings = self._check_fields(rtype, obj, options.field_validation)
        obj = self._merge_for_subresource(rtype, current, obj, subresource)
        meta = obj["metadata"]
        old_meta = current["metadata"]
        for kept in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                     "generation"):
            if kept in old_meta:
                meta[kept] = old_meta[kept]
            else:
                meta.pop(kept, None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        finalizers = _namespace_finalizers(rtype, current, obj, subresource)
        meta_finalizers = copy.copy(meta.get("finalizers"))
        self._default(rtype, obj)
        # admission adds finalizers on create only: an update keeps what the writer sent
        if meta_finalizers is None:
            meta.pop("finalizers", None)
        else:
            meta["finalizers"] = meta_finalizers
        if finalizers is not None:
            # only PUT .../finalize changes a namespace's spec.finalizers, and defaulting must not
            obj.setdefault("spec", {})["finalizers"] = finalizers
            if not finalizers:
                obj["spec"].pop("finalizers")
        if self.webhooks.mutate(rtype, "UPDATE", obj, current, subresource, options.dry_run, warnings, options.user):
            self._default(rtype, obj)
        if "generation" in meta and _spec_of(obj) != _spec_of(current):
            meta["generation"] = old_meta["generation"] + 1
        self._validate(rtype, obj, current)
        self.webhooks.validate(rtype, "UPDATE", obj, current, subresource, options.dry_run, warnings, options.user)
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                raise errors.invalid_object(rtype.kind, rtype.group, name, [errors.forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers {sorted(added)!r}".replace("'", '"'))])
        self.admission.before_update(rtype, current, obj)
        self._manage_fields(rtype, current, obj, options, "Update")
        if expected and expected != old_meta["resourceVersion"]:
            raise errors.conflict(rtype.plural, rtype.group, name, errors.STALE_OBJECT)
        return self._write(rtype, current, obj, options, warnings)

    def _write(self, rtype: ResourceType, current: dict, obj: dict, options: WriteOptions,
               warnings: list[str]) -> Result:
        meta = obj["metadata"]
        if (meta.get("deletionTimestamp") and not meta.get("finalizers")
                and not self.admission.blocks_removal(rtype, obj)
                and not self.admission.grace_period(rtype, obj, None)):
            if options.dry_run:
                return Result(obj, warnings, removed=True)
            gone = self.store.remove(self._key(rtype), meta.get("namespace", ""), meta["name"])
            self.admission.after_remove(rtype, gone)
            return Result(self.as_version(rtype, gone), warnings, removed=True)
        if _same_object(current, obj):
            return Result(self.as_version(rtype, current), warnings)  # no-op: no new version
        if options.dry_run:
            return Result(obj, warnings)
        stored = self.store.replace(self._key(rtype), obj)
        self.admission.after_write(rtype, current, stored)
        return Result(self.as_version(rtype, stored), warnings)

    def _merge_for_subresource(self, rtype: ResourceType, current: dict, obj: dict,
                               subresource: str | None) -> dict:
        if subresource == "status":
            merged = copy.deepcopy(current)
            if "status" in obj:
                merged["status"] = obj["status"]
            else:
                merged.pop("status", None)
            # a status write may not touch the rest, but the caller's resourceVersion counts
            merged["metadata"]["resourceVersion"] = obj["metadata"].get("resourceVersion", "")
            return merged
        if rtype.has_status and rtype.kind != "Namespace":
            if "status" in current:
                obj["status"] = copy.deepcopy(current["status"])
            else:
                obj.pop("status", None)
        elif rtype.kind == "Namespace":
            obj["status"] = copy.deepcopy(current.get("status", {}))
        return obj

    # patching

    def patch(self, rtype: ResourceType, namespace: str | None, name: str, patch_body,
              content_type: str, options: WriteOptions | None = None,
              subresource: str | None = None) -> Result:
        options = options or WriteOptions()
        patch_type = PATCH_TYPES.get(content_type.split(";")[0].strip())
        if patch_type is None or (patch_type == "strategic" and rtype.custom):
            raise errors.unsupported_media_type(
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {_CR_PATCH_ACCEPTED if rtype.custom else ', '.join(PATCH_TYPES)}")
        current = self.store.get(self._key(rtype), namespace if rtype.namespaced else "", name)
        if patch_type == "apply":
            return self._apply(rtype, namespace, name, patch_body, current, options, subresource)
        if current is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        base = copy.deepcopy(self.as_version(rtype, current))
        try:
            if patch_type == "json":
                if not isinstance(patch_body, list):
                    raise patching.PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
                patched = patching.json_patch(base, patch_body)
            else:
                if not isinstance(patch_body, dict):
                    raise patching.PatchError("json: cannot unmarshal array into Go value of type map[string]interface {}")
                if patch_type == "merge":
                    patched = patching.merge_patch(base, patch_body)
                else:
                    patched = patching.strategic_merge_patch(base, patch_body, rtype.kind_key)
        except patching.PatchError as error:
            if patch_type == "json":
                raise errors.APIError(422, "Invalid", str(error)) from None
            raise errors.bad_request(str(error)) from None
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata", {}), dict):
            raise errors.bad_request("the patch produced an object that is not a Kubernetes object")
        patched_version = (patched.get("metadata") or {}).get("resourceVersion")
        expected = patched_version if patched_version != current["metadata"]["resourceVersion"] else None
        patched.setdefault("metadata", {})["resourceVersion"] = expected or ""
        return self.update(rtype, namespace, name, patched, options, subresource,
                           _expected_version=expected)

    def _apply(self, rtype: ResourceType, namespace: str | None, name: str, applied,
               current: dict | None, options: WriteOptions, subresource: str | None) -> Result:
        if not isinstance(applied, dict):
            raise errors.bad_request("error decoding YAML: the applied configuration is not an object")
        if not options.field_manager:
            raise errors.bad_request(
                "PATCH, application/apply-patch+yaml requests require a fieldManager query parameter")
        applied.setdefault("metadata", {})
        if applied["metadata"].get("name") and applied["metadata"]["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({applied['metadata']['name']}) does not match the name on the URL ({name})")
        applied["metadata"]["name"] = name
        live = None if current is None else copy.deepcopy(self.as_version(rtype, current))
        try:
            result = patching.server_side_apply(live, applied, options.field_manager, options.force,
                                                rtype.kind_key, self.clock.timestamp())
        except patching.ApplyConflict as conflict:
            raise errors.conflict_apply(str(conflict)) from None
        except patching.PatchError as error:
            raise errors.bad_request(str(error)) from None
        options = WriteOptions(options.dry_run, options.field_validation, options.field_manager,
                               options.force, options.user)
        options.field_manager = ""  # managedFields were written by the apply itself
        if current is None:
            result["metadata"].pop("resourceVersion", None)
            return self.create(rtype, namespace, result, options)
        result["metadata"]["resourceVersion"] = ""
        return self.update(rtype, namespace, name, result, options, subresource)

    # deleting

    def delete(self, rtype: ResourceType, namespace: str | None, name: str,
               options: DeleteOptions | None = None) -> Result:
        options = options or DeleteOptions()
        current = self.store.get(self._key(rtype), namespace if rtype.namespaced else "", name)
        if current is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        meta = current["metadata"]
        if options.precondition_uid and options.precondition_uid != meta["uid"]:
            raise errors.conflict(rtype.plural, rtype.group, name,
                                  f"Precondition failed: UID in precondition: {options.precondition_uid}, "
                                  f"UID in object meta: {meta['uid']}")
        if (options.precondition_resource_version
                and options.precondition_resource_version != meta["resourceVersion"]):
            raise errors.conflict(rtype.plural, rtype.group, name,
                                  "Precondition failed: ResourceVersion in precondition: "
                                  f"{options.precondition_resource_version}, ResourceVersion in "
                                  f"object meta: {meta['resourceVersion']}")
        obj = copy.deepcopy(current)
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        policy = options.propagation_policy or self.admission.default_propagation(rtype)
        if policy not in ("Orphan", "Background", "Foreground"):
            raise errors.invalid_object("DeleteOptions", "", "", [errors.not_supported(
                "propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"])])
        if policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        self.webhooks.mutate(rtype, "DELETE", None, current, None, options.dry_run, None, options.user)
        self.webhooks.validate(rtype, "DELETE", None, current, None, options.dry_run, None, options.user)
        grace = self.admission.grace_period(rtype, current, options.grace_period_seconds)
        extra_finalizers = self.admission.deletion_finalizers(rtype, current)
        finalizers += [f for f in extra_finalizers if f not in finalizers]
        if not finalizers and not grace and not self.admission.blocks_removal(rtype, current):
            if options.dry_run:
                return Result(current, removed=True)
            gone = self.store.remove(self._key(rtype), meta.get("namespace", ""), name)
            self.admission.after_remove(rtype, gone)
            return Result(self.as_version(rtype, gone), removed=True)
        # the object stays, marked: finalizers or a kubelet finish the job
        now = self.clock.now()
        if meta.get("deletionTimestamp") is None:
            meta["deletionTimestamp"] = format_time(now + (grace or 0))
            meta["deletionGracePeriodSeconds"] = grace or 0
            if "generation" in meta:
                meta["generation"] += 1
        elif grace is not None and grace < (meta.get("deletionGracePeriodSeconds") or 0):
            # a shorter grace period wins, as with `kubectl delete --grace-period=0 --force`
            meta["deletionTimestamp"] = format_time(now + grace)
            meta["deletionGracePeriodSeconds"] = grace
        meta["finalizers"] = finalizers
        if not finalizers:
            meta.pop("finalizers")
        self.admission.before_graceful_delete(rtype, obj)
        if options.dry_run:
            return Result(obj)
        if _same_object(current, obj):
            return Result(self.as_version(rtype, current))
        stored = self.store.replace(self._key(rtype), obj)
        self.admission.after_write(rtype, current, stored)
        return Result(self.as_version(rtype, stored))

    def finish_deletion(self, rtype: ResourceType, namespace: str, name: str) -> None:
        """Remove an object marked for deletion whose grace period is over (the kubelet's call)."""
        current = self.store.get(self._key(rtype), namespace, name)
        if (current is not None and not current["metadata"].get("finalizers")
                and not self.admission.blocks_removal(rtype, current)):
            gone = self.store.remove(self._key(rtype), namespace, name)
            self.admission.after_remove(rtype, gone)

    # the steps

    def _decode(self, rtype: ResourceType, body) -> dict:
        if not isinstance(body, dict):
            raise errors.bad_request(
                f"the body of the request could not be decoded as a {rtype.kind}: expected an object")
        # a body without kind or apiVersion takes them from the URL, as the server's decoder does
        kind = body.setdefault("kind", rtype.kind) or rtype.kind
        api_version = body.setdefault("apiVersion", rtype.api_version) or rtype.api_version
        body["kind"], body["apiVersion"] = kind, api_version
        if api_version != rtype.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rtype.api_version})")
        if kind != rtype.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})")
        meta = body.get("metadata")
        if meta is None:
            body["metadata"] = meta = {}
        if not isinstance(meta, dict):
            raise errors.bad_request(
                f"{rtype.kind} in version \"{rtype.version}\" cannot be handled as a {rtype.kind}: "
                "json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta")
        return body

    def _settle_namespace(self, rtype: ResourceType, meta: dict, namespace: str | None) -> None:
        if not rtype.namespaced:
            meta.pop("namespace", None)
            return
        given = meta.get("namespace")
        if given and namespace and given != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = given or namespace or "default"

    def _require_open_namespace(self, rtype: ResourceType, meta: dict) -> None:
        ns = self.store.get(("", "namespaces"), "", meta["namespace"])
        if ns is None:
            raise errors.not_found("namespaces", "", meta["namespace"])
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden_request(
                f'{rtype.group_resource} "{meta["name"]}" is forbidden: unable to create new content '
                f'in namespace {meta["namespace"]} because it is being terminated',
                {"name": meta["name"], "group": rtype.group, "kind": rtype.plural,
                 "causes": [{"reason": "NamespaceTerminating", "message":
                             f"namespace {meta['namespace']} is being terminated",
                             "field": "metadata.namespace"}]})

    def _check_fields(self, rtype: ResourceType, obj: dict, field_validation: str) -> list[str]:
        """Type errors always fail; unknown fields fail, warn or pass by fieldValidation."""
        if field_validation not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(
                f"fieldValidation parameter unsupported: {field_validation}, valid values are: "
                "Ignore, Warn, Strict")
        if rtype.custom:
            schema = self.admission.custom_schema(rtype)
            unknown = crds.prune(schema, obj) if schema is not None else []
        else:
            inspection = types.inspect(rtype.kind_key, obj)
            if inspection.type_errors:
                raise errors.bad_request(
                    f'{rtype.kind} in version "{rtype.version}" cannot be handled as a '
                    f"{rtype.kind}: {inspection.type_errors[0]}")
            unknown = inspection.unknown_fields
            if unknown:
                pruned = types.prune(rtype.kind_key, obj)
                obj.clear()
                obj.update(pruned)
        messages = [f'unknown field "{path}"' for path in unknown]
        if messages and field_validation == "Strict":
            raise errors.bad_request("strict decoding error: " + ", ".join(messages))
        return messages if field_validation == "Warn" else []

    def _default(self, rtype: ResourceType, obj: dict) -> None:
        if rtype.custom:
            schema = self.admission.custom_schema(rtype)
            if schema is not None:
                crds.apply_defaults(schema, obj)
        else:
            try:
                defaulting.apply_defaults(rtype.kind_key, obj)
            except quantities.QuantityError as error:
                raise errors.bad_request(f'{rtype.kind} in version "{rtype.version}" cannot be handled '
                                         f"as a {rtype.kind}: {error}") from None

    def _validate(self, rtype: ResourceType, obj: dict, old: dict | None) -> None:
        found: list[errors.FieldError] = []
        if rtype.custom:
            if old is None:
                found += validation_meta.validate_object_meta(obj["metadata"], validation_meta.is_dns1123_subdomain)
            else:
                found += validation_meta.validate_object_meta_update(obj["metadata"], old["metadata"])
            crd = self.admission.crd_of(rtype)
            if crd is not None:
                found += crds.validate_custom_resource(crd, rtype.version, obj)
        else:
            found += validation.validate(rtype.kind_key, obj, old)
        if found:
            raise errors.invalid_object(rtype.kind, rtype.group, obj["metadata"].get("name", ""), found)

    def _manage_fields(self, rtype: ResourceType, old: dict | None, new: dict,
                       options: WriteOptions, operation: str) -> None:
        if not options.field_manager:
            return
        patching.record_update(old, new, options.field_manager, rtype.kind_key,
                               self.clock.timestamp(), operation)


def _namespace_finalizers(rtype: ResourceType, current: dict, obj: dict, subresource: str | None):
    if rtype.kind_key != "v1/Namespace":
        return None
    source = obj if subresource == "finalize" else current
    return list((source.get("spec") or {}).get("finalizers") or [])


def _spec_of(obj: dict) -> dict:
    """What counts for generation: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _same_object(a: dict, b: dict) -> bool:
    def comparable(obj: dict) -> dict:
        meta = {k: v for k, v in obj["metadata"].items() if k not in ("resourceVersion", "managedFields")}
        return dict(obj, metadata=meta)

    return comparable(a) == comparable(b)
