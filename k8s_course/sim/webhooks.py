"""Dynamic admission: the MutatingWebhookConfigurations and ValidatingWebhookConfigurations.

Where kube-apiserver calls them, so does `Objects`: on create and update, mutating webhooks
after defaulting and before validation (their JSON patches applied in order, the object
defaulted again), validating webhooks after validation; on delete both see the old object.
A webhook is called when one of its rules matches the request (operation, group, version,
resource/subresource, scope) and its namespaceSelector and objectSelector match; the webhook
configurations themselves are never sent to webhooks, so that a broken webhook cannot lock
itself in. Each call is an AdmissionReview v1, and its answer is checked and worded as the
API server does: a denial is `admission webhook "<name>" denied the request: <message>` with
the webhook's code (400 when it gave none below 400); a webhook that cannot be called fails the
request with `Internal error occurred: failed calling webhook "<name>": ...` (500) under
failurePolicy Fail and is skipped under Ignore.

How the call travels:
- `clientConfig.service`: as kube-apiserver does by default, to the Service's clusterIP, which
  kube-proxy sends to a ready backend pod; there the pod's model answers on the simulated pod
  network (a course program served by the python image, e.g. the sidecar injector). The write
  path is synchronous (a controller's create is a plain call), so a pod's handler must answer
  without waiting: one that waits counts as a webhook past its deadline. When the handler
  names its serving certificate (`handler.serving_certificate`, a PEM), it is checked against
  the caBundle and the Service's DNS name as TLS would.
- `clientConfig.url`: called for real over HTTPS with aiohttp, on 127.0.0.1/localhost only,
  trusting the caBundle, within timeoutSeconds of wall time. The simulator's loop waits for the
  answer, so the webhook must not be served on the simulator's own event loop (serve it from
  a thread, as the course's programs do).

Not modelled: matchConditions (CEL), reinvocationPolicy IfNeeded (webhooks run once, in
order), AdmissionReview v1beta1 answers other than as v1, audit annotations.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import logging
import ssl
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import errors, patching, selectors
from .resources import ResourceType
from .schema import types

log = logging.getLogger(__name__)

MUTATING_KEY = ("admissionregistration.k8s.io", "mutatingwebhookconfigurations")
VALIDATING_KEY = ("admissionregistration.k8s.io", "validatingwebhookconfigurations")
REVIEW_API_VERSION = "admission.k8s.io/v1"
API_SERVER_ADDRESS = "172.18.0.2"  # where the calls come from: the control-plane node, as on kind
# who asks when a write does not say (the simulator's own writes): the course's admin, kind's
# kubeconfig user
ADMIN_USER = {"username": "kubernetes-admin", "groups": ["kubeadm:cluster-admins", "system:authenticated"]}
_EXCLUDED_GROUPS = ("admissionregistration.k8s.io",)  # webhook configurations and policies
_OPTIONS_KIND = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


class CallFailed(Exception):
    """The webhook could not be asked or gave no usable answer (ErrCallingWebhook)."""


@dataclass(frozen=True)
class _Hook:
    """One webhook of a configuration, its selectors parsed once."""

    configuration: str
    webhook: dict
    namespace_selector: selectors.LabelSelector | _Unparsable | None
    object_selector: selectors.LabelSelector | _Unparsable | None


class _Unparsable:
    """A selector that could not be parsed: it fails the writes it is asked about, as before
    caching (the configuration's validation does not check selector syntax)."""

    def __init__(self, error: Exception):
        self.error = error

    def matches(self, labels) -> bool:
        raise self.error


def _parsed_once(selector_object: dict | None):
    try:
        return _selector(selector_object)
    except Exception as error:  # whatever the parser raises, raised again where it was
        return _Unparsable(error)


class Webhooks:
    """Finds the webhooks a write must go through and calls them; one per `Objects`.

    The configurations are read from the store once and kept, selectors parsed, until one of
    them changes: every write asks for them, and they change rarely.
    """

    def __init__(self, objects):
        self.objects = objects
        self.network = None  # the cluster's PodNetwork, for webhooks served by pods
        self._hooks: dict[tuple[str, str], tuple[_Hook, ...]] = {}
        objects.store.listen(self._changed)

    def _changed(self, change) -> None:
        if change.resource in (MUTATING_KEY, VALIDATING_KEY):
            self._hooks.pop(change.resource, None)

    # what Objects calls

    def mutate(self, rtype: ResourceType, operation: str, obj: dict | None, old: dict | None,
               subresource: str | None = None, dry_run: bool = False,
               warnings: list[str] | None = None, user: dict | None = None) -> bool:
        """Run the mutating webhooks on `obj` (changed in place); True if any patched it.

        `user` is who asks (authentication/v1 UserInfo), as the reviews name it; None: the admin."""
        if not self._may_apply(rtype, MUTATING_KEY):
            return False
        changed = False
        for hook in self._webhooks(MUTATING_KEY):
            if not self._matches(hook, rtype, operation, obj, old, subresource):
                continue
            webhook = hook.webhook
            answer = self._ask(hook.configuration, webhook, rtype, operation, obj, old, subresource, dry_run,
                               mutating=True, warnings=warnings, user=user)
            if answer is None or not answer.get("patch"):
                continue
            if obj is None:
                raise _internal(f'admission webhook "{webhook["name"]}" attempted to modify the object, '
                                "which is not supported for this operation")
            self._apply_patch(rtype, webhook, answer, obj)
            changed = True
        return changed

    def validate(self, rtype: ResourceType, operation: str, obj: dict | None, old: dict | None,
                 subresource: str | None = None, dry_run: bool = False,
                 warnings: list[str] | None = None, user: dict | None = None) -> None:
        """Run the validating webhooks; raises the first denial or failure."""
        if not self._may_apply(rtype, VALIDATING_KEY):
            return
        for hook in self._webhooks(VALIDATING_KEY):
            if self._matches(hook, rtype, operation, obj, old, subresource):
                self._ask(hook.configuration, hook.webhook, rtype, operation, obj, old, subresource, dry_run,
                          mutating=False, warnings=warnings, user=user)

    # which webhooks

    def _may_apply(self, rtype: ResourceType, key: tuple[str, str]) -> bool:
        return rtype.group not in _EXCLUDED_GROUPS and bool(self._webhooks(key))

    def _webhooks(self, key: tuple[str, str]) -> tuple[_Hook, ...]:
        """The webhooks in the API server's order: configurations by name, then as listed."""
        hooks = self._hooks.get(key)
        if hooks is None:
            hooks = self._hooks[key] = tuple(
                _Hook(configuration["metadata"]["name"], webhook,
                      _parsed_once(webhook.get("namespaceSelector")), _parsed_once(webhook.get("objectSelector")))
                for configuration in self.objects.store.list(key)
                for webhook in configuration.get("webhooks") or [])
        return hooks

    def _matches(self, hook: _Hook, rtype: ResourceType, operation: str, obj: dict | None,
                 old: dict | None, subresource: str | None) -> bool:
        rules = hook.webhook.get("rules") or []
        if not any(rule_matches(rule, rtype, operation, subresource) for rule in rules):
            return False
        objects = [o for o in (obj, old) if o is not None]
        if not self._namespace_matches(hook.namespace_selector, rtype, objects):
            return False
        selector = hook.object_selector
        return selector is None or any(selector.matches(o["metadata"].get("labels")) for o in objects)

    def _namespace_matches(self, selector, rtype: ResourceType, objects: list[dict]) -> bool:
        if selector is None:
            return True
        if rtype.kind_key == "v1/Namespace":  # a namespace is judged by its own labels
            return any(selector.matches(o["metadata"].get("labels")) for o in objects)
        if not rtype.namespaced:
            return True  # other cluster-scoped objects are never excluded by namespace
        name = objects[0]["metadata"].get("namespace", "")
        namespace = self.objects.store.get(("", "namespaces"), "", name)
        return selector.matches((namespace or {}).get("metadata", {}).get("labels"))

    # one call

    def _ask(self, configuration: str, webhook: dict, rtype: ResourceType, operation: str,
             obj: dict | None, old: dict | None, subresource: str | None, dry_run: bool,
             mutating: bool, warnings: list[str] | None, user: dict | None = None) -> dict | None:
        """The webhook's allowed response, None if a failure was ignored; raises a denial."""
        name = webhook.get("name", "")
        if dry_run and webhook.get("sideEffects") not in ("None", "NoneOnDryRun"):
            raise errors.bad_request(f'admission webhook "{name}" does not support dry run')
        review = admission_review(rtype, operation, obj, old, subresource, dry_run, user)
        try:
            response = self._call(webhook, review)
            answer = verify_response(review["request"]["uid"], response, mutating)
        except CallFailed as failure:
            reason = f'failed calling webhook "{name}": {failure}'
            if webhook.get("failurePolicy", "Fail") == "Ignore":
                log.warning("Failed calling webhook, failing open %s: %s", name, reason)
                return None
            raise _internal(reason) from None
        if warnings is not None:
            warnings.extend(w for w in answer.get("warnings") or [] if isinstance(w, str))
        if not answer.get("allowed"):
            raise denial(name, answer.get("status"))
        return answer

    def _call(self, webhook: dict, review: dict) -> dict:
        config = webhook.get("clientConfig") or {}
        timeout = webhook.get("timeoutSeconds", 10)
        ca_bundle = _decoded_bundle(config.get("caBundle"))
        body = json.dumps(review).encode()
        if config.get("service"):
            status, text = self._call_service(config["service"], body, timeout, ca_bundle)
        else:
            where = url_with_timeout(config.get("url", ""), timeout)
            status, text = call_url(config.get("url", ""), where, body, timeout, ca_bundle)
        if status >= 400:  # client-go's words for an answer that is not a Status
            raise CallFailed(f"failed to call webhook: {_unexpected_status(status, text)}")
        try:
            return json.loads(text)
        except ValueError as error:
            raise CallFailed(f"failed to call webhook: {error}") from None

    def _call_service(self, reference: dict, body: bytes, timeout: int,
                      ca_bundle: bytes | None) -> tuple[int, str]:
        namespace, name = reference.get("namespace", ""), reference.get("name", "")
        port, path = reference.get("port", 443), reference.get("path") or "/"
        where = service_url(reference, timeout)
        store = self.objects.store
        service = store.get(("", "services"), namespace, name)
        if service is None:
            raise CallFailed(f'failed to call webhook: Post "{where}": service "{name}" not found')
        spec = service.get("spec") or {}
        service_port = next((p for p in spec.get("ports") or [] if p.get("port") == port), None)
        if service_port is None:
            raise CallFailed(f'failed to call webhook: Post "{where}": '
                             f'no service port {port} found for service "{name}"')
        refused = (f'failed to call webhook: Post "{where}": dial tcp {spec.get("clusterIP")}:{port}: '
                   "connect: connection refused")
        target = self._backend(service, service_port)
        if target is None:
            raise CallFailed(refused)
        ctx, model, number = target
        handler = (getattr(model, "http_handlers", None) or {}).get(number)
        certificate = getattr(handler, "serving_certificate", None)
        if certificate:
            problem = tls_problem(certificate, ca_bundle, f"{name}.{namespace}.svc")
            if problem:
                raise CallFailed(f'failed to call webhook: Post "{where}": {problem}')
        serve = getattr(model, "serve_request", None)
        if serve is None:
            raise CallFailed(f'failed to call webhook: Post "{where}": '
                             "http: server gave HTTP response to HTTPS client")
        try:
            return answer_now(serve(number, "POST", path, body, ctx, client=API_SERVER_ADDRESS))
        except CallFailed as failure:
            raise CallFailed(f'failed to call webhook: Post "{where}": {failure}') from None
        except (OSError, ConnectionError):
            raise CallFailed(f'failed to call webhook: Post "{where}": EOF') from None

    def _backend(self, service: dict, service_port: dict):
        """kube-proxy's choice: a ready pod behind the Service that listens on the target port."""
        if self.network is None:
            return None
        spec = service.get("spec") or {}
        selector = spec.get("selector")
        if not selector:
            return None
        namespace = service["metadata"].get("namespace", "")
        target = service_port.get("targetPort", service_port.get("port"))
        for pod in self.objects.store.list(("", "pods"), namespace):
            labels = pod["metadata"].get("labels") or {}
            ip = (pod.get("status") or {}).get("podIP")
            if (not ip or pod["metadata"].get("deletionTimestamp") or not _ready(pod)
                    or any(labels.get(k) != v for k, v in selector.items())):
                continue
            number = _container_port(target, pod)
            endpoint = self.network.endpoint(ip)
            found = endpoint.listening(number) if endpoint is not None and number is not None else None
            if found is not None:
                return found[0], found[1], number
        return None

    def _apply_patch(self, rtype: ResourceType, webhook: dict, answer: dict, obj: dict) -> None:
        name = webhook.get("name", "")
        try:
            operations = json.loads(base64.b64decode(answer["patch"], validate=True))
        except (ValueError, binascii.Error, TypeError) as error:
            raise _internal(f'failed calling webhook "{name}": received undecodable patch in webhook '
                            f"response: {error}") from None
        if not operations:
            return
        if answer.get("patchType") != "JSONPatch":
            raise _internal(f'failed calling webhook "{name}": unsupported patch type '
                            f'"{answer.get("patchType")}"')
        kept = {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "creationTimestamp",
                                                 "generation", "resourceVersion") if k in obj["metadata"]}
        try:
            patched = patching.json_patch(obj, operations)
        except patching.PatchError as error:
            raise _internal(str(error)) from None
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
            raise _internal(f'admission webhook "{name}" returned a patch that does not leave an object')
        if not rtype.custom:
            inspection = types.inspect(rtype.kind_key, patched)
            if inspection.type_errors:
                raise _internal(inspection.type_errors[0])
            if inspection.unknown_fields:  # the decoder drops what the type does not have
                patched = types.prune(rtype.kind_key, patched)
        patched["metadata"].update(kept)  # set by the API server after admission, whatever a patch says
        # the caller holds on to obj and obj["metadata"]: change both in place
        meta = obj["metadata"]
        meta.clear()
        meta.update(patched.pop("metadata"))
        obj.clear()
        obj.update(patched, metadata=meta)


# ---------------------------------------------------------------- pure parts


def rule_matches(rule: dict, rtype: ResourceType, operation: str, subresource: str | None) -> bool:
    """One RuleWithOperations against a request (admission's rule matcher)."""
    operations = rule.get("operations") or []
    if "*" not in operations and operation not in operations:
        return False
    if not _listed(rule.get("apiGroups"), rtype.group) or not _listed(rule.get("apiVersions"), rtype.version):
        return False
    scope = rule.get("scope", "*")
    if (scope == "Cluster" and rtype.namespaced) or (scope == "Namespaced" and not rtype.namespaced):
        return False
    for resource in rule.get("resources") or []:
        main, _, sub = resource.partition("/")
        if main not in ("*", rtype.plural):
            continue
        if not sub and not subresource:
            return True
        if sub and (sub == "*" or sub == subresource):
            return True
    return False


def _listed(values, value: str) -> bool:
    values = values or []
    return "*" in values or value in values


def _selector(selector_object: dict | None):
    """The selector, or None when it selects everything (absent or empty)."""
    if not selector_object:
        return None
    selector = selectors.from_selector_object(selector_object)
    return None if selector.empty else selector


def admission_review(rtype: ResourceType, operation: str, obj: dict | None, old: dict | None,
                     subresource: str | None = None, dry_run: bool = False, user: dict | None = None) -> dict:
    """The AdmissionReview v1 a webhook receives for this request, asked by `user` (the admin
    when None: writes from inside the simulator)."""
    some = obj if obj is not None else old
    meta = some["metadata"]
    kind = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
    resource = {"group": rtype.group, "version": rtype.version, "resource": rtype.plural}
    request = {
        "uid": str(uuid.uuid4()),
        "kind": kind,
        "resource": resource,
        "requestKind": dict(kind),
        "requestResource": dict(resource),
        "name": "" if operation == "CREATE" and _generated_name(meta) else meta.get("name", ""),
        "operation": operation,
        "userInfo": copy.deepcopy(user or ADMIN_USER),
        "object": _as_sent(obj, operation) if obj is not None else None,
        "oldObject": copy.deepcopy(old) if old is not None else None,
        "dryRun": dry_run,
        "options": {"kind": _OPTIONS_KIND.get(operation, "CreateOptions"), "apiVersion": "meta.k8s.io/v1"},
    }
    if subresource:
        request["subResource"] = request["requestSubResource"] = subresource
    if rtype.namespaced:
        request["namespace"] = meta.get("namespace", "")
    return {"kind": "AdmissionReview", "apiVersion": REVIEW_API_VERSION, "request": request}


def _generated_name(meta: dict) -> bool:
    """Whether the server made the name from generateName (5 random characters after it)."""
    prefix = meta.get("generateName") or ""
    name = meta.get("name") or ""
    return bool(prefix) and name.startswith(prefix) and len(name) == len(prefix) + 5


def _as_sent(obj: dict, operation: str) -> dict:
    """On create a webhook sees the object before the server names it and gives it a uid."""
    sent = copy.deepcopy(obj)
    if operation == "CREATE":
        meta = sent["metadata"]
        for system in ("uid", "creationTimestamp", "generation", "resourceVersion"):
            meta.pop(system, None)
        if _generated_name(meta):
            meta.pop("name")
    return sent


def verify_response(uid: str, review, mutating: bool) -> dict:
    """The response of a webhook's AdmissionReview, checked as the API server checks it."""
    if not isinstance(review, dict) or not isinstance(review.get("response"), dict):
        raise CallFailed("received invalid webhook response: webhook response was absent")
    response = review["response"]
    if response.get("uid") != uid:
        raise CallFailed(f'received invalid webhook response: expected response.uid="{uid}", '
                         f'got "{response.get("uid", "")}"')
    api_version, kind = review.get("apiVersion", ""), review.get("kind", "")
    if (api_version, kind) != (REVIEW_API_VERSION, "AdmissionReview"):
        raise CallFailed("received invalid webhook response: expected webhook response of "
                         f"{REVIEW_API_VERSION}, Kind=AdmissionReview, got {_gvk_text(api_version, kind)}")
    if mutating:
        if response.get("patch") and response.get("patchType") is None:
            raise CallFailed("received invalid webhook response: webhook returned response.patch but "
                             "not response.patchType")
        if not response.get("patch") and response.get("patchType") is not None:
            raise CallFailed("received invalid webhook response: webhook returned response.patchType but "
                             "not response.patch")
    elif response.get("patch") or response.get("patchType") is not None:
        raise CallFailed("received invalid webhook response: validating webhook may not return "
                         "response.patch or response.patchType")
    return response


def _gvk_text(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind}" if group else f"{version}, Kind={kind}"


def denial(webhook_name: str, result: dict | None) -> errors.APIError:
    """The error a denied request gets (the API server's ToStatusErr)."""
    result = dict(result or {})
    code = result.get("code") or 0
    if not isinstance(code, int) or code < 400:
        code = 400
    denied_by = f'admission webhook "{webhook_name}" denied the request'
    if result.get("message"):
        message = f"{denied_by}: {result['message']}"
    elif result.get("reason"):
        message = f"{denied_by}: {result['reason']}"
    else:
        message = f"{denied_by} without explanation"
    return errors.APIError(code, result.get("reason") or "", message, result.get("details"))


def _internal(message: str) -> errors.APIError:
    return errors.APIError(500, "InternalError", f"Internal error occurred: {message}",
                           {"causes": [{"message": message}]})


def service_url(reference: dict, timeout: int) -> str:
    path = reference.get("path") or ""
    return (f"https://{reference.get('name')}.{reference.get('namespace')}.svc:"
            f"{reference.get('port', 443)}{path}?timeout={timeout}s")


def url_with_timeout(url: str, timeout: int) -> str:
    return f"{url}{'&' if '?' in url else '?'}timeout={timeout}s"


def _unexpected_status(status: int, text: str) -> str:
    if status == 404:
        return "the server could not find the requested resource"
    if status >= 500:
        return f'an error on the server ("{text.strip()}") has prevented the request from succeeding'
    return f"the server responded with the status code {status} but did not return more information"


def _decoded_bundle(ca_bundle) -> bytes | None:
    if not ca_bundle:
        return None
    try:
        return base64.b64decode(ca_bundle)
    except (ValueError, binascii.Error):
        return None


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _container_port(target, pod: dict) -> int | None:
    if isinstance(target, int):
        return target
    for container in [*(pod["spec"].get("initContainers") or []), *(pod["spec"].get("containers") or [])]:
        for declared in container.get("ports") or []:
            if declared.get("name") == target:
                return declared.get("containerPort")
    try:
        return int(target)
    except (TypeError, ValueError):
        return None


def answer_now(coroutine):
    """Run a pod handler's coroutine to its end at once; one that would wait is past its deadline."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise CallFailed("context deadline exceeded")


def tls_problem(certificate_pem: str, ca_bundle: bytes | None, server_name: str) -> str | None:
    """Why a TLS client trusting `ca_bundle` refuses this serving certificate, as Go words it."""
    from cryptography import x509

    unknown = "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        authorities = x509.load_pem_x509_certificates(ca_bundle) if ca_bundle else []
    except ValueError:
        return unknown
    for authority in authorities:
        try:
            certificate.verify_directly_issued_by(authority)
            break
        except Exception:  # another issuer, another key type, a bad signature
            continue
    else:
        return unknown
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = names.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    if server_name not in dns_names:
        return (f"tls: failed to verify certificate: x509: certificate is valid for {', '.join(dns_names)}, "
                f"not {server_name}")
    return None


def call_url(url: str, where: str, body: bytes, timeout: int, ca_bundle: bytes | None) -> tuple[int, str]:
    """POST to a webhook at https://127.0.0.1 for real; raises CallFailed as the API server words it."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    prefix = f'failed to call webhook: Post "{where}"'
    if host not in ("127.0.0.1", "localhost"):
        raise CallFailed(f"{prefix}: dial tcp: lookup {host}: no such host")
    context = ssl.create_default_context(cadata=ca_bundle.decode()) if ca_bundle else ssl.create_default_context()

    async def post() -> tuple[int, str]:
        import aiohttp

        limit = aiohttp.ClientTimeout(total=timeout)
        async with aiohttp.ClientSession(timeout=limit) as session:
            async with session.post(url_with_timeout(url, timeout), data=body, ssl=context,
                                    headers={"Content-Type": "application/json",
                                             "Accept": "application/json, */*"}) as response:
                return response.status, await response.text()

    # a loop of its own on a thread of its own: the caller may be inside the simulator's loop
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(asyncio.run, post()).result()
        except asyncio.TimeoutError:
            raise CallFailed(f"{prefix}: context deadline exceeded") from None
        except Exception as error:  # aiohttp's connection errors, TLS failures
            raise CallFailed(f"{prefix}: {_transport_error(error, host, port)}") from None


def _transport_error(error: Exception, host: str, port: int) -> str:
    text = str(error)
    if isinstance(error, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        if "IP address mismatch" in text or "Hostname mismatch" in text:
            return f"tls: failed to verify certificate: x509: certificate is not valid for {host}"
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    cause = getattr(error, "os_error", None) or error.__cause__ or error
    if isinstance(cause, ConnectionRefusedError) or "Connect call failed" in text:
        return f"dial tcp {host}:{port}: connect: connection refused"
    return text
