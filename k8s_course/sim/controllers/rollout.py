"""The arithmetic of Deployment rollouts, as pure functions over Deployment and ReplicaSet dicts.

How many pods a rolling update may add (maxSurge, rounded up) or take away (maxUnavailable,
rounded down), which ReplicaSet holds the current template, revision numbers, the
`pod-template-hash`, proportional scaling, and the status and conditions a Deployment reports.
The controller in `deployment.py` decides *when* to apply them.
"""

from __future__ import annotations

import copy
import json
import math

from ..clock import parse_time

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
MAX_REVISION_HISTORY_CHARS = 2000
# annotations of the Deployment that its ReplicaSets do not inherit
NOT_COPIED = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY, DESIRED_REPLICAS,
    MAX_REPLICAS, "deprecated.deployment.rollback.to"})
NO_DEADLINE = 2**31 - 1

PROGRESSING, AVAILABLE, REPLICA_FAILURE = "Progressing", "Available", "ReplicaFailure"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


# the template hash


def template_hash(template: dict, collision_count: int | None = None) -> str:
    """A stable hash of a pod template, spelled with the characters Kubernetes' hashes use.

    FNV-1a over the canonical JSON of the template (and the collision count, when there is one),
    written as ten decimal digits and mapped to safe characters the way rand.SafeEncodeString
    maps them, so a hash looks like `5d59d67564`.
    """
    value = 0x811C9DC5
    text = json.dumps(template, sort_keys=True, separators=(",", ":"))
    if collision_count is not None:
        text += f"#{collision_count}"
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(digit) % len(_SAFE_ALPHABET)] for digit in f"{value:010d}")


def without_hash(template: dict) -> dict:
    stripped = copy.deepcopy(template or {})
    labels = (stripped.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(HASH_LABEL, None)
    return stripped


def same_template(a: dict, b: dict) -> bool:
    """Templates equal apart from the pod-template-hash label (EqualIgnoreHash)."""
    return without_hash(a) == without_hash(b)


# sizes


def replicas(obj: dict) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else value


def _scaled(value, total: int, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        exact = int(text[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def is_rolling(deploy: dict) -> bool:
    return (deploy["spec"].get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def fenceposts(deploy: dict) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods; both 0 would stall, so unavailable becomes 1."""
    rolling = (deploy["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas(deploy)
    surge = _scaled(rolling.get("maxSurge", "25%"), desired, True)
    unavailable = _scaled(rolling.get("maxUnavailable", "25%"), desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(deploy: dict) -> int:
    return fenceposts(deploy)[0] if is_rolling(deploy) else 0


def max_unavailable(deploy: dict) -> int:
    if not is_rolling(deploy) or replicas(deploy) == 0:
        return 0
    return min(fenceposts(deploy)[1], replicas(deploy))


def spec_total(rses: list[dict]) -> int:
    return sum(replicas(rs) for rs in rses if rs is not None)


def status_total(rses: list[dict], field: str) -> int:
    return sum((rs.get("status") or {}).get(field, 0) for rs in rses if rs is not None)


def active(rses: list[dict]) -> list[dict]:
    return [rs for rs in rses if rs is not None and replicas(rs) > 0]


def new_replicas_for_new_rs(deploy: dict, all_rses: list[dict], new_rs: dict | None) -> int:
    """How big the new ReplicaSet may be now (NewRSNewReplicas)."""
    if not is_rolling(deploy):
        return replicas(deploy)
    current_new = replicas(new_rs) if new_rs is not None else 0
    limit = replicas(deploy) + max_surge(deploy)
    current = spec_total(all_rses)
    if current >= limit:
        return current_new
    return current_new + min(limit - current, replicas(deploy) - current_new)


def annotation_int(rs: dict, name: str) -> int | None:
    try:
        return int((rs["metadata"].get("annotations") or {})[name])
    except (KeyError, ValueError):
        return None


def revision(rs: dict) -> int:
    return annotation_int(rs, REVISION) or 0


# ordering


def _created(obj: dict) -> tuple:
    stamp = obj["metadata"].get("creationTimestamp")
    return (parse_time(stamp) if stamp else 0.0, obj["metadata"]["name"])


def by_creation(rses: list[dict]) -> list[dict]:
    return sorted(rses, key=_created)


def by_revision(rses: list[dict]) -> list[dict]:
    return sorted(rses, key=lambda rs: (revision(rs), _created(rs)))


def find_new(deploy: dict, rses: list[dict]) -> dict | None:
    """The oldest ReplicaSet whose template is the Deployment's (there should be one at most)."""
    for rs in by_creation(rses):
        if same_template(rs["spec"].get("template"), deploy["spec"].get("template")):
            return rs
    return None


# annotations


def set_replica_annotations(rs: dict, desired: int, maximum: int) -> bool:
    annotations = rs["metadata"].setdefault("annotations", {})
    wanted = {DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(maximum)}
    changed = any(annotations.get(k) != v for k, v in wanted.items())
    annotations.update(wanted)
    return changed


def set_new_rs_annotations(deploy: dict, rs: dict, new_revision: int, exists: bool) -> bool:
    """Copy the Deployment's annotations and raise the revision (keeping the old one in history)."""
    annotations = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in (deploy["metadata"].get("annotations") or {}).items():
        if key not in NOT_COPIED and annotations.get(key) != value:
            annotations[key] = value
            changed = True
    old_text = annotations.get(REVISION)
    try:
        old = int(old_text) if old_text else 0
    except ValueError:
        return changed
    if old < new_revision:
        annotations[REVISION] = str(new_revision)
        changed = True
        if old_text:  # reused: a rollback to this template keeps its earlier revision numbers
            history = [r for r in annotations.get(REVISION_HISTORY, "").split(",") if r] + [old_text]
            while len(",".join(history)) > MAX_REVISION_HISTORY_CHARS and len(history) > 1:
                history.pop(0)
            annotations[REVISION_HISTORY] = ",".join(history)
    if not exists and set_replica_annotations(rs, replicas(deploy), replicas(deploy) + max_surge(deploy)):
        changed = True
    return changed


# proportional scaling


def proportions(deploy: dict, active_rses: list[dict], status_replicas: int) -> dict[str, int]:
    """New sizes of the active ReplicaSets when a Deployment mid-rollout is scaled."""
    desired = replicas(deploy)
    allowed = desired + max_surge(deploy) if desired > 0 else 0
    to_add = allowed - spec_total(active_rses)
    if to_add > 0:  # larger first; when equal, newer first
        ordered = sorted(active_rses, key=lambda rs: (-replicas(rs), -_created(rs)[0], rs["metadata"]["name"]))
    elif to_add < 0:  # larger first; when equal, older first
        ordered = sorted(active_rses, key=lambda rs: (-replicas(rs), _created(rs)))
    else:
        ordered = list(active_rses)
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        size = replicas(rs)
        if to_add != 0 and size != 0 and to_add != added:
            before = annotation_int(rs, MAX_REPLICAS) or status_replicas
            if desired == 0:
                fraction = -size
            else:
                fraction = _round_half_away(size * allowed / before) - size if before else 0
            left = to_add - added
            share = min(fraction, left) if to_add > 0 else max(fraction, left)
            added += share
            size += share
        sizes[rs["metadata"]["name"]] = size
    if ordered and to_add != 0:
        first = ordered[0]["metadata"]["name"]
        sizes[first] = max(0, sizes[first] + to_add - added)
    return sizes


def _round_half_away(value: float) -> int:
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


# status and conditions


def condition(status: dict, type_: str) -> dict | None:
    for found in status.get("conditions") or ():
        if found.get("type") == type_:
            return found
    return None


def new_condition(type_: str, status: str, reason: str, message: str, now: str) -> dict:
    return {"type": type_, "status": status, "lastUpdateTime": now, "lastTransitionTime": now,
            "reason": reason, "message": message}


def set_condition(status: dict, new: dict) -> None:
    """Add or replace a condition; same status and reason changes nothing (SetDeploymentCondition)."""
    current = condition(status, new["type"])
    if current is not None and current["status"] == new["status"] and current.get("reason") == new["reason"]:
        return
    if current is not None and current["status"] == new["status"]:
        new = dict(new, lastTransitionTime=current["lastTransitionTime"])
    status["conditions"] = [c for c in status.get("conditions") or () if c.get("type") != new["type"]] + [new]


def remove_condition(status: dict, type_: str) -> None:
    kept = [c for c in status.get("conditions") or () if c.get("type") != type_]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def has_deadline(deploy: dict) -> bool:
    deadline = deploy["spec"].get("progressDeadlineSeconds")
    return deadline is not None and deadline != NO_DEADLINE


def calculate_status(deploy: dict, all_rses: list[dict], new_rs: dict | None, now: str) -> dict:
    """What the Deployment's status says about its ReplicaSets (calculateStatus)."""
    rses = [rs for rs in all_rses if rs is not None]
    available = status_total(rses, "availableReplicas")
    old_status = deploy.get("status") or {}
    status = {
        "observedGeneration": deploy["metadata"].get("generation"),
        "replicas": status_total(rses, "replicas"),
        "updatedReplicas": status_total([new_rs] if new_rs is not None else [], "replicas"),
        "readyReplicas": status_total(rses, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, spec_total(rses) - available),
        "collisionCount": old_status.get("collisionCount"),
    }
    status = {k: v for k, v in status.items() if v}  # omitempty
    if old_status.get("conditions"):
        status["conditions"] = copy.deepcopy(old_status["conditions"])
    if available >= replicas(deploy) - max_unavailable(deploy):
        set_condition(status, new_condition(AVAILABLE, "True", "MinimumReplicasAvailable",
                                            "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", "MinimumReplicasUnavailable",
                                            "Deployment does not have minimum availability.", now))
    return status


def complete(deploy: dict, status: dict) -> bool:
    want = replicas(deploy)
    return (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("observedGeneration", 0) >= deploy["metadata"].get("generation", 0))


def progressing(deploy: dict, status: dict) -> bool:
    old = deploy.get("status") or {}

    def get(s: dict, field: str) -> int:
        return s.get(field, 0)

    return (get(status, "updatedReplicas") > get(old, "updatedReplicas")
            or get(status, "replicas") - get(status, "updatedReplicas")
            < get(old, "replicas") - get(old, "updatedReplicas")
            or get(status, "readyReplicas") > get(old, "readyReplicas")
            or get(status, "availableReplicas") > get(old, "availableReplicas"))


def timed_out(deploy: dict, status: dict, now: float) -> bool:
    if not has_deadline(deploy):
        return False
    current = condition(status, PROGRESSING)
    if current is None or current.get("reason") == "NewReplicaSetAvailable":
        return False
    if current.get("reason") == "ProgressDeadlineExceeded":
        return True
    return parse_time(current["lastUpdateTime"]) + deploy["spec"]["progressDeadlineSeconds"] < now


def rollout_status(deploy: dict, all_rses: list[dict], new_rs: dict | None, now: float,
                   stamp: str) -> dict:
    """calculate_status plus the Progressing condition a rollout earns (syncRolloutStatus)."""
    status = calculate_status(deploy, all_rses, new_rs, stamp)
    if not has_deadline(deploy):
        remove_condition(status, PROGRESSING)
    current = condition(deploy.get("status") or {}, PROGRESSING)
    finished = (status.get("replicas", 0) == status.get("updatedReplicas", 0) and current is not None
                and current.get("reason") == "NewReplicaSetAvailable")
    name = new_rs["metadata"]["name"] if new_rs is not None else None
    subject = f'ReplicaSet "{name}"' if name else f'Deployment "{deploy["metadata"]["name"]}"'
    if has_deadline(deploy) and not finished:
        if complete(deploy, status):
            set_condition(status, new_condition(PROGRESSING, "True", "NewReplicaSetAvailable",
                                                f"{subject} has successfully progressed.", stamp))
        elif progressing(deploy, status):
            fresh = new_condition(PROGRESSING, "True", "ReplicaSetUpdated", f"{subject} is progressing.", stamp)
            if current is not None:
                if current["status"] == "True":
                    fresh["lastTransitionTime"] = current["lastTransitionTime"]
                remove_condition(status, PROGRESSING)
            set_condition(status, fresh)
        elif timed_out(deploy, status, now):
            set_condition(status, new_condition(PROGRESSING, "False", "ProgressDeadlineExceeded",
                                                f"{subject} has timed out progressing.", stamp))
    failure = _replica_failure(all_rses, new_rs)
    if failure is not None:
        set_condition(status, failure)
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def _replica_failure(all_rses: list[dict], new_rs: dict | None) -> dict | None:
    ordered = ([new_rs] if new_rs is not None else []) + [rs for rs in all_rses if rs is not None and rs is not new_rs]
    for rs in ordered:
        found = condition(rs.get("status") or {}, REPLICA_FAILURE)
        if found is not None:
            return {"type": REPLICA_FAILURE, "status": found["status"],
                    "lastUpdateTime": found.get("lastTransitionTime"),
                    "lastTransitionTime": found.get("lastTransitionTime"),
                    "reason": found.get("reason"), "message": found.get("message")}
    return None


def stuck_recheck_at(deploy: dict, status: dict) -> float | None:
    """When to look again for a timed-out rollout (requeueStuckDeployment); None if no need."""
    current = condition(status, PROGRESSING)
    if (current is None or not has_deadline(deploy) or complete(deploy, status)
            or current.get("reason") in ("ProgressDeadlineExceeded", "NewReplicaSetAvailable")
            or current.get("status") != "True"):
        return None
    return parse_time(current["lastUpdateTime"]) + deploy["spec"]["progressDeadlineSeconds"] + 1
