"""What one client may ask of the API server: request rate, open watches, query and headers.

A workshop runs many notebooks against one simulator; a runaway loop in one of them must
not starve the others, and nothing a client sends may crash the server. So, per user:

- a token bucket of `RATE_PER_SECOND` requests with bursts of `BURST` (generous: the course's
  own tests and notebooks never come near it); beyond it 429 `Too many requests, please try
  again later.` with `Retry-After: 1`, the words and header of kube-apiserver's max-in-flight
  filter (which sends them as plain text; the simulator sends them as a `Status`, so every
  error it answers is one, and clients read both the same way);
- at most `MAX_WATCHES_PER_USER` watches open at once (kube-apiserver has no such cap; its
  flow control weighs watches instead): the next one is 429 with `Retry-After`;
- query parameters read as kube-apiserver's parameter codec reads them: integers as Go's
  `strconv.ParseInt` (so `limit=ten` is 400 `strconv.ParseInt: parsing "ten": invalid
  syntax`), resource versions as `strconv.ParseUint`, `resourceVersionMatch` validated as
  ListOptions are (422); unknown parameters are ignored, as Kubernetes ignores them;
- a request body whose Content-Type no decoder reads is 415 before the body is read.

The body-size (413) and nesting-depth (400) limits apply where bodies are read
(`server.APIServer.read_body`). The checks are pure functions; `Limits` holds the per-user
state of one server and is its aiohttp middleware.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from .. import errors
from ..objects import PATCH_TYPES
from . import requests

RATE_PER_SECOND = 1000.0  # sustained requests per second per user
BURST = 2000  # requests a user may make at once after a quiet spell
MAX_WATCHES_PER_USER = 100
RETRY_AFTER_SECONDS = 1  # kube-apiserver's max-in-flight filter says 1
TOO_MANY_REQUESTS = "Too many requests, please try again later."
# Go's net/http reads at most 1 MiB of request line and headers (DefaultMaxHeaderBytes);
# aiohttp's default of 8 KiB would refuse long selectors with a plain-text 400.
MAX_REQUEST_LINE_BYTES = 1 << 20
_PRUNE_AT = 10_000  # users remembered before full buckets are forgotten

_INTEGER_PARAMETERS = ("limit", "timeoutSeconds", "gracePeriodSeconds")
_BODY_METHODS = ("POST", "PUT")
_CHECKED_BODY_METHODS = (*_BODY_METHODS, "PATCH")
# subresources that stream or proxy bytes rather than decode an object
_RAW_SUBRESOURCES = ("proxy", "exec", "attach", "portforward")
BUILTIN_BODY_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
CUSTOM_BODY_TYPES = ("application/json", "application/yaml")
BUILTIN_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                       "application/strategic-merge-patch+json", "application/apply-patch+yaml")
CUSTOM_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                      "application/apply-patch+yaml")
RESOURCE_VERSION_MATCHES = ("Exact", "NotOlderThan")
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1


# --- rates ------------------------------------------------------------------------------


@dataclass
class TokenBucket:
    """`burst` tokens, refilled at `rate` per second; each request takes one."""

    rate: float
    burst: int
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: int, now: float) -> TokenBucket:
        return cls(rate, burst, float(burst), now)

    def take(self, now: float) -> bool:
        """Take a token at time `now` (seconds); False when none is left."""
        if now > self.updated:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def is_full(self, now: float) -> bool:
        return self.tokens + max(0.0, now - self.updated) * self.rate >= self.burst


def too_many_requests(message: str = TOO_MANY_REQUESTS) -> errors.APIError:
    return errors.too_many_requests(message, RETRY_AFTER_SECONDS)


class RateLimiter:
    """One token bucket per user; `admit` raises the 429 when a user's bucket is empty."""

    def __init__(self, rate: float = RATE_PER_SECOND, burst: int = BURST,
                 now: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self._now = rate, burst, now
        self._buckets: dict[str, TokenBucket] = {}

    def admit(self, user: str) -> None:
        now = self._now()
        bucket = self._buckets.get(user)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_AT:
                self._forget_idle(now)
            bucket = self._buckets[user] = TokenBucket.full(self.rate, self.burst, now)
        if not bucket.take(now):
            raise too_many_requests()

    def _forget_idle(self, now: float) -> None:
        # a full bucket holds nothing a new one would not
        for user in [u for u, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[user]


# --- watches ----------------------------------------------------------------------------


def watch_limit_message(limit: int) -> str:
    return (f"too many watches open: the simulated cluster allows {limit} per user; "
            "stop a watch before starting another")


class WatchCounter:
    """How many watches each user has open; `open` raises the 429 past `limit`."""

    def __init__(self, limit: int = MAX_WATCHES_PER_USER):
        self.limit = limit
        self._open: dict[str, int] = {}

    def open(self, user: str) -> None:
        count = self._open.get(user, 0)
        if count >= self.limit:
            raise too_many_requests(watch_limit_message(self.limit))
        self._open[user] = count + 1

    def close(self, user: str) -> None:
        count = self._open.get(user, 0) - 1
        if count > 0:
            self._open[user] = count
        else:
            self._open.pop(user, None)

    def count(self, user: str) -> int:
        return self._open.get(user, 0)


def is_watch(method: str, query: Mapping[str, str]) -> bool:
    """Whether the server will stream this request as a watch (as `server` decides it)."""
    return method == "GET" and requests.flag(query.get("watch"))


# --- query strings ----------------------------------------------------------------------


def _parse_go_integer(text: str, function: str, signed: bool, largest: int) -> int:
    """Go's strconv.Parse{Int,Uint}(text, 10, 64), with its error wording on failure."""
    digits = text[1:] if signed and text[:1] in ("+", "-") else text
    if not digits or not (digits.isascii() and digits.isdigit()):
        raise ValueError(f'strconv.{function}: parsing {_go_quote(text)}: invalid syntax')
    value = int(text)
    if value > largest or value < -largest - 1:
        raise ValueError(f'strconv.{function}: parsing {_go_quote(text)}: value out of range')
    return value


_GO_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                     "\v": "\\v"}


def _go_quote(text: str) -> str:
    """Go's %q for the strings a query can hold (printable text; escapes otherwise)."""
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x10000:
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x80 else f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def parse_int64(text: str) -> int:
    """A query integer as kube-apiserver reads it; ValueError with Go's words otherwise."""
    return _parse_go_integer(text.strip(), "ParseInt", True, _INT64_MAX)


def parse_resource_version(text: str) -> int:
    """A resourceVersion as the storage layer reads it: an unsigned 64-bit decimal."""
    return _parse_go_integer(text, "ParseUint", False, _UINT64_MAX)


def check_query(method: str, query: Mapping[str, str]) -> None:
    """Raise the Status kube-apiserver answers for a query string it cannot read."""
    if not query:
        return  # most requests have none
    for name in _INTEGER_PARAMETERS:
        raw = query.get(name)
        if raw is not None and raw.strip():
            try:
                parse_int64(raw)
            except ValueError as error:
                raise errors.bad_request(str(error)) from None
    if method != "GET":
        return
    version = query.get("resourceVersion", "")
    if version not in ("", "0"):
        try:
            parse_resource_version(version)
        except ValueError as error:
            raise errors.bad_request(
                f"resourceVersion: Invalid value: {_go_quote(version)}: {error}") from None
    problems = _list_option_errors(query, is_watch(method, query))
    if problems:
        raise errors.invalid_object("ListOptions", "meta.k8s.io", "", problems)


def _list_option_errors(query: Mapping[str, str], watching: bool) -> list[errors.FieldError]:
    """ListOptions validation of `resourceVersionMatch` (apimachinery's ValidateListOptions)."""
    match = query.get("resourceVersionMatch", "")
    problems = []
    if watching:
        if "sendInitialEvents" in query and match != "NotOlderThan":
            problems.append(errors.forbidden(
                "resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
        if not match:
            return problems
        if "sendInitialEvents" not in query:
            problems.append(errors.forbidden(
                "resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
        if match != "NotOlderThan":
            problems.append(errors.not_supported("resourceVersionMatch", match, ["NotOlderThan"]))
        if query.get("continue"):
            problems.append(errors.forbidden(
                "resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
        return problems
    if not match:
        if "sendInitialEvents" in query:
            problems.append(errors.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
        return problems
    if not query.get("resourceVersion"):
        problems.append(errors.forbidden(
            "resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided"))
    if query.get("continue"):
        problems.append(errors.forbidden(
            "resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
    if match not in RESOURCE_VERSION_MATCHES:
        problems.append(errors.not_supported("resourceVersionMatch", match, [*RESOURCE_VERSION_MATCHES, ""]))
    if match == "Exact" and query.get("resourceVersion") == "0":
        problems.append(errors.forbidden(
            "resourceVersionMatch", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    if "sendInitialEvents" in query:
        problems.append(errors.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    return problems


# --- headers ----------------------------------------------------------------------------


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`; "" when none was sent."""
    return (content_type or "").split(";")[0].strip().lower()


def _unknown_format(accepted: tuple[str, ...]) -> errors.APIError:
    return errors.unsupported_media_type(
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted))


def check_content_type(method: str, content_type: str | None, custom: bool) -> None:
    """415 for a body no decoder of this resource reads; a missing type means JSON."""
    kind = media_type(content_type)
    if method in _BODY_METHODS:
        accepted = CUSTOM_BODY_TYPES if custom else BUILTIN_BODY_TYPES
        if kind and kind not in accepted:
            raise _unknown_format(accepted)
    elif method == "PATCH" and kind not in PATCH_TYPES:
        # objects.patch refuses strategic merge on custom resources itself, after reading
        raise _unknown_format(CUSTOM_PATCH_TYPES if custom else BUILTIN_PATCH_TYPES)


# --- documents --------------------------------------------------------------------------


def node_budget(size: int) -> int:
    """The most values a document of `size` bytes can hold when nothing in it is shared."""
    return 2 * size + 64


def check_aliasing(document, size: int) -> None:
    """400 for a decoded body with more values than its bytes can spell out.

    Only YAML anchors and aliases make that possible (a "billion laughs" document: a few
    hundred bytes that decode into 10^9 strings); walking such a document, or writing it
    back, would stall the server. go-yaml refuses the same documents in kube-apiserver.
    """
    budget, stack = node_budget(size), [document]
    while stack:
        budget -= 1
        if budget < 0:
            raise errors.bad_request(
                "the body of the request could not be decoded: yaml: document contains excessive aliasing")
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


# --- the middleware ---------------------------------------------------------------------


class Limits:
    """The limits of one API server: its users' buckets and open watches.

    `user_of(request)` names the caller (after authentication); `is_custom(target)` says whether
    a parsed resource path (`requests.Target`) names a custom resource (True), a built-in one
    (False) or none (None).
    """

    def __init__(self, user_of: Callable[[web.Request], str],
                 is_custom: Callable[[requests.Target], bool | None] = lambda target: False,
                 rate: RateLimiter | None = None, watches: WatchCounter | None = None):
        self.user_of = user_of
        self.is_custom = is_custom
        self.rate = rate or RateLimiter()
        self.watches = watches or WatchCounter()

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        user = self.user_of(request)
        self.rate.admit(user)
        method, query = request.method, request.query
        if request.path.startswith(("/api/", "/apis/")):
            check_query(method, query)
            if method in _CHECKED_BODY_METHODS:
                self._check_body_type(request)
        if not is_watch(method, query):
            return await handler(request)
        self.watches.open(user)
        try:
            return await handler(request)
        finally:
            self.watches.close(user)

    def _check_body_type(self, request: web.Request) -> None:
        target = requests.parse_resource_path(request.path)
        if target is None or target.subresource in _RAW_SUBRESOURCES:
            return
        custom = self.is_custom(target)
        if custom is not None:
            check_content_type(request.method, request.headers.get("Content-Type"), custom)


ANONYMOUS = "system:anonymous"
# How aiohttp serves connections: request lines and headers sized as Go's net/http reads them
# (MAX_REQUEST_LINE_BYTES); and a handler is cancelled when its client goes away, so a watch
# dropped by its client ends at once instead of waiting for an event to fail writing (and
# gives back its slot under MAX_WATCHES_PER_USER).
HANDLER_ARGS = {"max_line_size": MAX_REQUEST_LINE_BYTES, "max_field_size": MAX_REQUEST_LINE_BYTES,
                "handler_cancellation": True}


def for_server(server) -> Limits:
    """The limits of a `server.APIServer`: users as its auth gate names them."""

    def user_of(request: web.Request) -> str:
        gate = getattr(server.extensions, "gate", None)
        if gate is None:
            return "kubernetes-admin"  # the admin token is the only credential
        user = request.get(gate.USER_KEY)
        return user.name if user is not None else ANONYMOUS

    def is_custom(target: requests.Target) -> bool | None:
        rtype = server.registry.lookup(target.group, target.version, target.resource)
        return None if rtype is None else rtype.custom

    return Limits(user_of, is_custom)
