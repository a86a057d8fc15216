"""The HTTP face of the simulated cluster: an aiohttp app serving the Kubernetes REST API.

Routing and encoding live here; what happens to objects lives in `objects`, what a watch sees
in `store`. Every failure leaves as a `Status` body; nothing a client sends crashes the server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

import yaml
from aiohttp import web

from .. import errors, protobuf, selectors
from ..objects import DeleteOptions, Objects, WriteOptions
from ..resources import ResourceType
from . import discovery, limits, requests, tables, virtual

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's limit on a request body
MAX_NESTING = 100  # deeper documents are refused before they are walked
BOOKMARK_INTERVAL = 10.0  # wall seconds between watch bookmarks
ANONYMOUS_PATHS = ("/healthz", "/livez", "/readyz")
_ANONYMOUS_PREFIXES = tuple(p + "/" for p in ANONYMOUS_PATHS)
_JSON = "application/json"


def _dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def status_response(error: errors.APIError) -> web.Response:
    return web.Response(status=error.code, body=_dumps(error.status()), content_type=_JSON,
                        headers=error.headers)


def json_response(obj, status: int = 200, warnings: list[str] | None = None,
                  content_type: str = _JSON) -> web.Response:
    response = web.Response(status=status, body=_dumps(obj))
    response.headers["Content-Type"] = content_type
    for warning in warnings or ():
        response.headers.add("Warning", f'299 - "{_escape_warning(warning)}"')
    return response


def _escape_warning(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _depth(value, limit: int) -> int:
    """Nesting depth of a decoded document, stopping once past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > deepest:
            deepest = level
            if deepest > limit:
                return deepest
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
    return deepest


class APIServer:
    def __init__(self, objects: Objects, token: str, extensions=None):
        self.objects = objects
        self.registry = objects.registry
        self.store = objects.store
        self.token = token
        # the kubelet and metrics pipeline plug in here (pod logs, exec, usage)
        self.extensions = extensions
        self.admin_routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = []
        self.ready = True
        self.limits = limits.for_server(self)  # per user: request rate, open watches; query, body type

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors, self._authenticate, self.limits.middleware],
                              client_max_size=MAX_BODY_BYTES, handler_args=limits.HANDLER_ARGS)
        app.router.add_get("/version", self._version)
        for path in ANONYMOUS_PATHS:
            app.router.add_get(path, self._health)
            app.router.add_get(path + "/{check:.*}", self._health)
        app.router.add_get("/api", self._legacy_versions)
        app.router.add_get("/apis", self._groups)
        app.router.add_get("/openapi/v2", self._openapi_v2)
        app.router.add_get("/openapi/v3", self._openapi_v3_index)
        app.router.add_get("/openapi/v3/{path:.*}", self._openapi_v3)
        for method, path, handler in self.admin_routes:
            app.router.add_route(method, path, handler)
        app.router.add_route("*", "/{tail:.*}", self._route)
        return app

    # middleware

    @web.middleware
    async def _errors(self, request: web.Request, handler):
        try:
            return await handler(request)
        except errors.APIError as error:
            return status_response(error)
        except web.HTTPRequestEntityTooLarge:
            return status_response(errors.too_large(MAX_BODY_BYTES))
        except web.HTTPException:
            raise
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as error:  # the server answers whatever happened
            log.exception("internal error serving %s %s", request.method, request.path)
            return status_response(errors.APIError(
                500, "InternalError", f"an error on the server ({type(error).__name__}: {error}) "
                "has prevented the request from succeeding"))

    @web.middleware
    async def _authenticate(self, request: web.Request, handler):
        path = request.path
        if path in ANONYMOUS_PATHS or path.startswith(_ANONYMOUS_PREFIXES):
            return await handler(request)
        gate = getattr(self.extensions, "gate", None)
        if gate is not None:  # authentication, impersonation and RBAC (auth.gate)
            request[gate.USER_KEY] = gate.admit(request.method, path, request.query, request.headers)
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(),
                                                                  self.token.encode()):
            raise errors.unauthorized()
        return await handler(request)

    # the fixed documents

    async def _version(self, request: web.Request) -> web.Response:
        return json_response(discovery.SERVER_VERSION)

    async def _health(self, request: web.Request) -> web.Response:
        if not self.ready:
            return web.Response(status=500, text="[-]simulator not ready\nhealthz check failed")
        if "verbose" in request.query:
            checks = ["ping", "log", "etcd", "poststarthook/start-apiextensions-controllers"]
            text = "".join(f"[+]{c} ok\n" for c in checks) + f"{request.path.strip('/')} check passed\n"
            return web.Response(text=text)
        return web.Response(text="ok")

    async def _legacy_versions(self, request: web.Request) -> web.Response:
        if discovery.wants_aggregated(request.headers.get("Accept", "")):
            return json_response(discovery.aggregated(self.registry, legacy=True),
                                 content_type=discovery.AGGREGATED_CONTENT_TYPE)
        return json_response(discovery.api_versions())

    async def _groups(self, request: web.Request) -> web.Response:
        if discovery.wants_aggregated(request.headers.get("Accept", "")):
            return json_response(discovery.aggregated(self.registry, legacy=False),
                                 content_type=discovery.AGGREGATED_CONTENT_TYPE)
        return json_response(discovery.api_group_list(self.registry))

    async def _openapi_v2(self, request: web.Request) -> web.Response:
        raise errors.page_not_found(request.path)

    async def _openapi_v3_index(self, request: web.Request) -> web.Response:
        from . import openapi

        return json_response(openapi.index(self.registry))

    async def _openapi_v3(self, request: web.Request) -> web.Response:
        from . import openapi

        document = openapi.document(self.registry, request.match_info["path"])
        if document is None:
            raise errors.page_not_found(request.path)
        return json_response(document)

    # resources

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) == 2:
            document = discovery.api_resource_list(self.registry, "", parts[1])
            if document is None:
                raise errors.page_not_found(path)
            return json_response(document)
        if parts[:1] == ["apis"] and len(parts) == 2:
            document = discovery.api_group(self.registry, parts[1])
            if document is None:
                raise errors.page_not_found(path)
            return json_response(document)
        if parts[:1] == ["apis"] and len(parts) == 3:
            document = discovery.api_resource_list(self.registry, parts[1], parts[2])
            if document is None:
                raise errors.page_not_found(path)
            return json_response(document)
        target = requests.parse_resource_path(path)
        if target is None:
            raise errors.page_not_found(path)
        rtype = self.registry.lookup(target.group, target.version, target.resource)
        if rtype is None or (target.namespace is not None and not rtype.namespaced):
            raise errors.page_not_found(path)
        if target.subresource and target.subresource not in rtype.subresources:
            raise errors.page_not_found(path)
        method = request.method
        if not rtype.stored:
            return await virtual.handle(self, request, rtype, target)
        if target.subresource and target.subresource not in ("status", "scale", "finalize"):
            return await virtual.handle_subresource(self, request, rtype, target)
        if method == "GET":
            if target.name:
                return self._get(request, rtype, target)
            if requests.flag(request.query.get("watch")):
                return await self._watch(request, rtype, target)
            return self._list(request, rtype, target)
        if method == "POST" and not target.name:
            return await self._create(request, rtype, target)
        if method == "PUT" and target.name:
            return await self._update(request, rtype, target)
        if method == "PATCH" and target.name:
            return await self._patch(request, rtype, target)
        if method == "DELETE":
            if target.name:
                return await self._delete(request, rtype, target)
            return await self._delete_collection(request, rtype, target)
        raise errors.method_not_allowed()

    def _require_verb(self, rtype: ResourceType, verb: str, target: requests.Target) -> None:
        allowed = rtype.verbs if not target.subresource else rtype.subresources[target.subresource].verbs
        if verb not in allowed:
            raise errors.method_not_allowed()

    async def read_body(self, request: web.Request, allow_yaml: bool = False):
        raw = await request.read()
        if len(raw) > MAX_BODY_BYTES:
            raise errors.too_large(MAX_BODY_BYTES)
        if not raw.strip():
            raise errors.bad_request("the request body is empty")
        content_type = request.headers.get("Content-Type", _JSON).split(";")[0].strip().lower()
        if content_type == protobuf.CONTENT_TYPE:
            # kubectl's typed commands (create namespace, auth can-i, ...) send protobuf
            try:
                return protobuf.decode(raw)
            except protobuf.ProtobufError as error:
                raise errors.bad_request(f"the body of the request could not be decoded: {error}") from None
        try:
            if allow_yaml or content_type in ("application/yaml", "application/apply-patch+yaml"):
                body = yaml.safe_load(raw.decode("utf-8"))
            else:
                body = json.loads(raw)
        except (ValueError, yaml.YAMLError, RecursionError) as error:
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise errors.bad_request(f"the body of the request could not be decoded: {detail}") from None
        limits.check_aliasing(body, len(raw))  # YAML aliases can make a small body huge
        if _depth(body, MAX_NESTING) > MAX_NESTING:
            raise errors.bad_request(
                f"the body of the request is nested more than {MAX_NESTING} levels deep")
        return body

    def write_options(self, request: web.Request) -> WriteOptions:
        query = request.query
        manager = query.get("fieldManager")
        if manager is None:
            agent = request.headers.get("User-Agent", "")
            manager = agent.split("/")[0][:128] if agent else "unknown"
        elif len(manager) > 128:
            raise errors.bad_request("fieldManager: Too long: may not be more than 128 bytes")
        return WriteOptions(
            dry_run=requests.dry_run(query),
            field_validation=query.get("fieldValidation", "Strict"),
            field_manager=manager,
            force=requests.flag(query.get("force")) if "force" in query else False,
            user=self.user_info(request),
        )

    def user_info(self, request: web.Request) -> dict | None:
        """Who the request acts as, as admission webhooks are told (None: the admin token only)."""
        gate = getattr(self.extensions, "gate", None)
        user = request.get(gate.USER_KEY) if gate is not None else None
        return user.as_json() if user is not None else None

    def render(self, request: web.Request, rtype: ResourceType, obj: dict, status: int = 200,
               warnings: list[str] | None = None) -> web.Response:
        shape = self._shape(request)
        if shape == "table":
            table = self._table(rtype, [obj], request)
            table["metadata"] = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return json_response(table, status, warnings)
        if shape == "metadata":
            return json_response(_partial(obj), status, warnings)
        return json_response(obj, status, warnings)

    def _shape(self, request: web.Request) -> str:
        for media, params in requests.accept_choices(request.headers.get("Accept", _JSON)):
            if media not in (_JSON, "*/*", "application/*"):
                continue
            kind = params.get("as")
            if kind is None:
                return "object"
            if params.get("g") != "meta.k8s.io":
                continue
            if kind == "Table":
                return "table"
            if kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                return "metadata"
        raise errors.APIError(406, "NotAcceptable",
                              "only the following media types are accepted: application/json, "
                              "application/yaml, application/json;as=Table;g=meta.k8s.io;v=v1")

    def _table(self, rtype: ResourceType, objs: list[dict], request: web.Request) -> dict:
        columns = None
        if rtype.custom:
            crd = self.objects.admission.crd_of(rtype)
            if crd is not None:
                from ..schema import crds

                columns = crds.printer_columns(crd, rtype.version)
        include = request.query.get("includeObject", "Metadata")
        now = datetime.fromtimestamp(self.objects.clock.now(), tz=timezone.utc)
        return tables.render_table(rtype.kind_key, objs, now, columns, include)

    def _get(self, request: web.Request, rtype: ResourceType, target: requests.Target) -> web.Response:
        self._require_verb(rtype, "get", target)
        obj = self.objects.get(rtype, target.namespace, target.name)
        if target.subresource == "scale":
            return json_response(virtual.scale_of(self, rtype, obj))
        return self.render(request, rtype, obj)

    def _filters(self, request: web.Request, rtype: ResourceType):
        label = selectors.parse_label_selector(request.query.get("labelSelector", ""))
        field = selectors.parse_field_selector(request.query.get("fieldSelector", ""), rtype.kind_key)

        def matches(obj: dict) -> bool:
            return label.matches(obj["metadata"].get("labels")) and field.matches(obj)

        return matches

    def _list(self, request: web.Request, rtype: ResourceType, target: requests.Target) -> web.Response:
        self._require_verb(rtype, "list", target)
        matches = self._filters(request, rtype)
        limit = requests.integer(request.query, "limit")
        revision = self.store.revision
        items = self.objects.list(rtype, target.namespace)
        token = request.query.get("continue")
        if token:
            revision, after = requests.decode_continue(token)
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
        selected = [o for o in items if matches(o)]
        metadata: dict = {"resourceVersion": str(revision)}
        if limit and limit > 0 and len(selected) > limit:
            last = selected[limit - 1]["metadata"]
            metadata["continue"] = requests.encode_continue(revision, (last.get("namespace", ""), last["name"]))
            metadata["remainingItemCount"] = len(selected) - limit
            selected = selected[:limit]
        shape = self._shape(request)
        if shape == "table":
            table = self._table(rtype, selected, request)
            table["metadata"] = metadata
            return json_response(table)
        if shape == "metadata":
            return json_response({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                                  "metadata": metadata, "items": [_partial(o) for o in selected]})
        if not rtype.custom:
            selected = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in selected]
        return json_response({"kind": rtype.list_kind, "apiVersion": rtype.api_version,
                              "metadata": metadata, "items": selected})

    async def _watch(self, request: web.Request, rtype: ResourceType, target: requests.Target):
        self._require_verb(rtype, "watch", target)
        matches = self._filters(request, rtype)
        query = request.query
        shape = self._shape(request)
        raw_version = query.get("resourceVersion", "")
        initial_events = requests.flag(query.get("sendInitialEvents")) if "sendInitialEvents" in query else None
        if raw_version in ("", "0") or initial_events:
            since = None
        else:
            try:
                since = int(raw_version)
            except ValueError:
                raise errors.bad_request(f"invalid resource version: {raw_version!r}") from None
        timeout = requests.integer(query, "timeoutSeconds")
        bookmarks = requests.flag(query.get("allowWatchBookmarks")) if "allowWatchBookmarks" in query else False
        key = (rtype.group, rtype.plural)
        if since is not None and since > self.store.revision:
            since = self.store.revision  # a future version: start now, as the watch cache does
        response = web.StreamResponse(headers={"Content-Type": _JSON, "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        try:
            watcher = self.store.watch(key, target.namespace if rtype.namespaced else None, matches, since)
        except errors.APIError as error:
            # a watch reports a lost history in the stream, as an ERROR event
            await response.prepare(request)
            await response.write(_dumps({"type": "ERROR", "object": error.status()}) + b"\n")
            return response
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        initial = watcher.queue.qsize() if initial_events else 0
        first_table = True
        try:
            while True:
                wait = BOOKMARK_INTERVAL if bookmarks else None
                if deadline is not None:
                    left = deadline - loop.time()
                    if left <= 0:
                        break
                    wait = left if wait is None else min(wait, left)
                if initial_events and initial == 0:
                    await response.write(self._bookmark(rtype, initial_end=True))
                    initial = -1
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), wait)
                except asyncio.TimeoutError:
                    if bookmarks and (deadline is None or deadline - loop.time() > 0):
                        await response.write(self._bookmark(rtype))
                    continue
                if item is None:
                    break  # overflowed, or the resource is gone
                kind, obj = item
                obj = self.objects.as_version(rtype, obj)
                if shape == "table":
                    table = self._table(rtype, [obj], request)
                    if not first_table:
                        table["columnDefinitions"] = None
                    first_table = False
                    table["metadata"] = {"resourceVersion": obj["metadata"]["resourceVersion"]}
                    obj = table
                elif shape == "metadata":
                    obj = _partial(obj)
                await response.write(_dumps({"type": kind, "object": obj}) + b"\n")
                if initial > 0:
                    initial -= 1
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.stop_watch(watcher)
        return response

    def _bookmark(self, rtype: ResourceType, initial_end: bool = False) -> bytes:
        metadata: dict = {"resourceVersion": str(self.store.revision)}
        if initial_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        return _dumps({"type": "BOOKMARK", "object": {"kind": rtype.kind, "apiVersion": rtype.api_version,
                                                      "metadata": metadata}}) + b"\n"

    async def _create(self, request: web.Request, rtype: ResourceType, target: requests.Target):
        if target.subresource:
            raise errors.method_not_allowed()
        self._require_verb(rtype, "create", target)
        body = await self.read_body(request)
        result = self.objects.create(rtype, target.namespace, body, self.write_options(request))
        return self.render(request, rtype, result.object, 201, result.warnings)

    async def _update(self, request: web.Request, rtype: ResourceType, target: requests.Target):
        body = await self.read_body(request)
        options = self.write_options(request)
        if target.subresource == "scale":
            result = virtual.update_scale(self, rtype, target, body, options)
            return json_response(result)
        self._require_verb(rtype, "update", target)
        if target.subresource == "finalize":
            body = virtual.finalize_body(self, rtype, target, body)
            result = self.objects.update(rtype, target.namespace, target.name, body, options, "finalize")
        else:
            result = self.objects.update(rtype, target.namespace, target.name, body, options,
                                         target.subresource)
        return self.render(request, rtype, result.object, 200, result.warnings)

    async def _patch(self, request: web.Request, rtype: ResourceType, target: requests.Target):
        content_type = request.headers.get("Content-Type", "")
        body = await self.read_body(request, allow_yaml="apply-patch" in content_type)
        options = self.write_options(request)
        if target.subresource == "scale":
            return json_response(virtual.patch_scale(self, rtype, target, body, content_type, options))
        self._require_verb(rtype, "patch", target)
        result = self.objects.patch(rtype, target.namespace, target.name, body, content_type,
                                    options, target.subresource)
        return self.render(request, rtype, result.object, 201 if result.created else 200, result.warnings)

    def _delete_options(self, request: web.Request, body) -> DeleteOptions:
        query = request.query
        body = body if isinstance(body, dict) else {}
        preconditions = body.get("preconditions") or {}
        policy = query.get("propagationPolicy") or body.get("propagationPolicy")
        if body.get("orphanDependents") is True and not policy:
            policy = "Orphan"
        grace = requests.integer(query, "gracePeriodSeconds")
        if grace is None and isinstance(body.get("gracePeriodSeconds"), int):
            grace = body["gracePeriodSeconds"]
        dry = requests.dry_run(query) or body.get("dryRun") == ["All"]
        return DeleteOptions(policy, grace, preconditions.get("uid"), preconditions.get("resourceVersion"), dry,
                             self.user_info(request))

    async def _optional_body(self, request: web.Request):
        if not request.can_read_body:
            return None
        raw = await request.read()
        if not raw.strip():
            return None
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise errors.bad_request("the body of the request could not be decoded as DeleteOptions") from None
        return requests.delete_options_body(body)

    async def _delete(self, request: web.Request, rtype: ResourceType, target: requests.Target):
        if target.subresource:
            raise errors.method_not_allowed()
        self._require_verb(rtype, "delete", target)
        options = self._delete_options(request, await self._optional_body(request))
        result = self.objects.delete(rtype, target.namespace, target.name, options)
        if result.removed and not _returns_deleted_object(rtype):
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                  "details": {"name": target.name, "group": rtype.group,
                                              "kind": rtype.plural,
                                              "uid": result.object["metadata"]["uid"]}})
        return self.render(request, rtype, result.object, 200)

    async def _delete_collection(self, request: web.Request, rtype: ResourceType, target: requests.Target):
        self._require_verb(rtype, "deletecollection", target)
        options = self._delete_options(request, await self._optional_body(request))
        matches = self._filters(request, rtype)
        deleted = []
        for obj in self.objects.list(rtype, target.namespace):
            if matches(obj):
                meta = obj["metadata"]
                try:
                    result = self.objects.delete(rtype, meta.get("namespace"), meta["name"], options)
                except errors.APIError as error:
                    if error.code == 404:
                        continue
                    raise
                deleted.append(result.object)
        return json_response({"kind": rtype.list_kind, "apiVersion": rtype.api_version,
                              "metadata": {"resourceVersion": str(self.store.revision)}, "items": deleted})


def _returns_deleted_object(rtype: ResourceType) -> bool:
    return rtype.custom or rtype.kind_key in ("v1/Pod", "v1/Service", "v1/Namespace", "v1/Node")


def _partial(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
