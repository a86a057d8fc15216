"""Errors a learner reads: what happened, why, and what to do next. Never a bare traceback."""

from __future__ import annotations

import json


class CourseError(Exception):
    """An error worded for the learner; in Jupyter it prints as its message alone."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f"\nHint: {self.hint}" if self.hint else "")

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class NoCluster(CourseError):
    def __init__(self, detail: str = ""):
        super().__init__(
            "no cluster: run `kind create cluster --config kind-config.yaml`, or use the built-in "
            "simulator (the default)" + (f" ({detail})" if detail else ""))


class ClusterError(CourseError):
    """The API server said no: its Status, made readable."""

    def __init__(self, status: int, reason: str, message: str, causes: list[dict] | None = None,
                 hint: str | None = None):
        self.status, self.reason, self.causes = status, reason, causes or []
        super().__init__(message, hint)


_HINTS = {
    "NotFound": "check the name and the namespace (cluster.namespace); `cluster.list(kind)` shows what exists",
    "AlreadyExists": "use cluster.apply(), which creates or updates, instead of creating twice",
    "Conflict": "someone changed the object since you read it: read it again and retry",
    "Invalid": "fix the field(s) named above in your manifest and apply again",
    "Forbidden": "your user or service account may not do this; see the RBAC lesson",
    "Unauthorized": "the kubeconfig's credentials were refused: reconnect with k8s_course.connect()",
    "BadRequest": "the manifest could not be read as that kind: check indentation and field names",
}


def from_api_exception(error) -> ClusterError:
    """Turn the official client's ApiException into a ClusterError that reads like advice."""
    body: dict = {}
    try:
        body = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        pass
    reason = body.get("reason") or getattr(error, "reason", "") or "Error"
    causes = (body.get("details") or {}).get("causes") or []
    message = body.get("message") or f"{error.status} {error.reason}"
    if reason == "Invalid" and causes:
        head = message.split(" is invalid:")[0] + " is invalid:" if " is invalid:" in message else message
        lines = [head] + [f"  {_readable_cause(c)}" for c in causes if c.get("field") or c.get("message")]
        message = "\n".join(lines)
    return ClusterError(error.status or 0, reason, message, causes, _HINTS.get(reason))


def _readable_cause(cause: dict) -> str:
    """`spec.replicas: must be greater than or equal to 0 (you gave -1)`."""
    field, text = cause.get("field", ""), cause.get("message", "")
    if text.startswith("Invalid value: ") and ": " in text[len("Invalid value: "):]:
        value, detail = text[len("Invalid value: "):].split(": ", 1)
        return f"{field}: {detail} (you gave {value})"
    return f"{field}: {text}" if field else text
