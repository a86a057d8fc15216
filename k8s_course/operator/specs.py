"""What a PostgresCluster asks for, read and checked beyond what its schema can say: pure.

The CRD's schema rejects most mistakes at the API server (replicas 1-9, the version list). A
few pass it and still cannot be acted on: a name that cannot be a Service's or a hostname, a
storage size that is not a quantity. `read(cr)` raises `Malformed` for them; the operator
reports that in the resource's status (phase Failed) instead of crashing or retrying forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERSIONS = ("16.4", "16.6", "16.8")
DEFAULTS = {"replicas": 3, "version": "16.4", "synchronous": True, "storage": "1Gi"}
MAX_REPLICAS = 9

# a Service name is a DNS-1035 label; `<name>-members` and `<name>-9` must fit in 63 characters
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_LONGEST_SUFFIX = len("-members")
_QUANTITY = re.compile(r"([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")


class Malformed(Exception):
    """A PostgresCluster the operator cannot act on: `reason` (CamelCase) and a message."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    namespace: str
    replicas: int
    version: str
    synchronous: bool
    storage: str


def read(cr: dict) -> ClusterSpec:
    meta = cr.get("metadata") or {}
    name = meta.get("name", "")
    spec = cr.get("spec") or {}
    if not isinstance(spec, dict):
        raise Malformed("InvalidSpec", "spec must be an object")
    if not _DNS_1035.fullmatch(name) or len(name) + _LONGEST_SUFFIX > 63:
        raise Malformed("InvalidName",
                        f"the name {name!r} cannot name the cluster's Services and pods: use lower-case "
                        f"letters, digits and '-', starting with a letter, at most {63 - _LONGEST_SUFFIX} "
                        "characters")
    values = {key: spec.get(key, default) for key, default in DEFAULTS.items()}
    replicas = values["replicas"]
    if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= MAX_REPLICAS:
        raise Malformed("InvalidReplicas", f"spec.replicas must be a whole number from 1 to {MAX_REPLICAS}, "
                                           f"not {replicas!r}")
    if values["version"] not in VERSIONS:
        raise Malformed("UnsupportedVersion", f"spec.version {values['version']!r} is not one of "
                                              f"{', '.join(VERSIONS)}")
    if not isinstance(values["synchronous"], bool):
        raise Malformed("InvalidSynchronous", "spec.synchronous must be true or false")
    storage = values["storage"]
    if not isinstance(storage, str) or not _QUANTITY.fullmatch(storage) or float(
            _QUANTITY.fullmatch(storage).group(1)) == 0:
        raise Malformed("InvalidStorage", f"spec.storage {storage!r} is not a size such as 1Gi or 500Mi")
    return ClusterSpec(name, meta.get("namespace", ""), replicas, values["version"], values["synchronous"],
                       storage)
