"""Chapter 2's fault: one shard of a sharded store goes away, and stays away until brought back.

`ShardOutageToggle(cluster, "redis-2")`: pressed (`value = True`), the shard's StatefulSet is
scaled down by one, so Kubernetes deletes the shard's pod and does *not* rebuild it; released,
the StatefulSet is scaled back and the shard returns (a new pod, under the same name).

Why scaling: deleting the pod alone is undone within seconds (the StatefulSet rebuilds it at
once), too fast to watch a circuit breaker open, probe and close. Stopping redis inside a
running pod is no better: `kill -STOP 1` is ignored by a container's first process, and
`DEBUG SLEEP` is disabled in redis 7. Scaling is one Kubernetes API call, the same on kind and
on the simulator, and holds the shard down as long as the learner wants. Its limit: a
StatefulSet removes its *highest* ordinals first, so only the last shard (`redis-2` of three)
can be held down this way; the toggle says so for any other.
"""

from __future__ import annotations

from .toggling import FaultToggle


def _owner(pod: dict) -> str | None:
    for reference in pod["metadata"].get("ownerReferences") or []:
        if reference.get("kind") == "StatefulSet":
            return reference.get("name")
    return None


def _ordinal(pod_name: str, set_name: str) -> int | None:
    suffix = pod_name[len(set_name) + 1:] if pod_name.startswith(set_name + "-") else ""
    return int(suffix) if suffix.isdigit() else None


class ShardOutageToggle(FaultToggle):
    """Take a shard (a StatefulSet's last pod) down and hold it down: `value = True`; back: False."""

    WORDS = ("down", "back")

    def __init__(self, cluster, shard_pod: str, namespace: str | None = None, **kwargs):
        self.cluster, self.shard_pod, self.namespace = cluster, shard_pod, namespace or ""
        self.statefulset: str | None = None
        self.replicas: int | None = None  # the StatefulSet's size before the outage
        super().__init__(f"shard {shard_pod}: up", "database", **kwargs)

    def _cause(self) -> str:
        return self._take_down()

    def _undo(self) -> str:
        return self._bring_back()

    def _failure(self, down: bool, problem: str) -> str:
        return f"could not {'take' if down else 'bring'} shard {self.shard_pod} {'down' if down else 'back'}: {problem}"

    def _looks(self, down: bool) -> tuple[str, str]:
        return (f"shard {self.shard_pod}: {'DOWN (bring it back)' if down else 'up'}",
                "danger" if down else "success")

    def _take_down(self) -> str:
        pod = self.cluster.find("Pod", self.shard_pod, self.namespace)
        if pod is None:
            raise RuntimeError(f"there is no pod {self.shard_pod} (is the store running?)")
        name = _owner(pod)
        if name is None:
            raise RuntimeError(f"pod {self.shard_pod} belongs to no StatefulSet, so it cannot be held down by scaling")
        replicas = self.cluster.get("StatefulSet", name, self.namespace)["spec"].get("replicas", 1)
        ordinal = _ordinal(self.shard_pod, name)
        if ordinal != replicas - 1:
            raise RuntimeError(f"a StatefulSet removes its highest ordinal first: only {name}-{replicas - 1} "
                               f"can be held down by scaling {name} to {replicas - 1}")
        self.cluster.scale(name, replicas - 1, kind="StatefulSet", namespace=self.namespace)
        self.statefulset, self.replicas = name, replicas
        return (f"shard {self.shard_pod} is down: StatefulSet {name} scaled from {replicas} to {replicas - 1}, "
                "so Kubernetes does not rebuild it")

    def _bring_back(self) -> str:
        if self.statefulset is None or self.replicas is None:
            raise RuntimeError("it was not taken down by this toggle")
        self.cluster.scale(self.statefulset, self.replicas, kind="StatefulSet", namespace=self.namespace)
        return (f"shard {self.shard_pod} is coming back: StatefulSet {self.statefulset} scaled to {self.replicas} "
                "(a new, empty redis, Ready after its probe)")
