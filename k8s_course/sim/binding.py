"""Binding a pod to a node: what POST .../pods/<name>/binding does, for the API and the scheduler."""

from __future__ import annotations

import copy

from . import errors
from .objects import Objects

PODS = ("", "pods")


def bind(objects: Objects, namespace: str, name: str, node: str) -> dict:
    """Set the pod's nodeName and its PodScheduled condition in one write; 409 if already bound."""
    if not node:
        raise errors.invalid_object("Binding", "", name, [errors.required("target.name")])
    pod = objects.store.get(PODS, namespace, name)
    if pod is None:
        raise errors.not_found("pods", "", name)
    if pod["spec"].get("nodeName"):
        raise errors.conflict("pods", "", name, f'pod {name} is already assigned to node "{pod["spec"]["nodeName"]}"')
    if pod["metadata"].get("deletionTimestamp"):
        raise errors.conflict("pods", "", name, f"pod {name} is being deleted, cannot be assigned to a host")
    bound = copy.deepcopy(pod)
    bound["spec"]["nodeName"] = node
    conditions = bound.setdefault("status", {}).setdefault("conditions", [])
    conditions[:] = [c for c in conditions if c.get("type") != "PodScheduled"]
    conditions.insert(0, {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": objects.clock.timestamp()})
    # the binding storage writes spec.nodeName and status at once, past the pod's immutability
    return objects.store.replace(PODS, bound, pod["metadata"]["resourceVersion"])
