"""ShardOutageToggle: a shard held down by scaling its StatefulSet, and brought back; refusals
are written next to the toggle, never raised. On the session's simulator, driven from code."""

from __future__ import annotations

from k8s_course import checks
from k8s_course.controls import ShardOutageToggle


def _store(cluster) -> None:
    cluster.apply("02-redis.yaml")
    checks.pods_ready(cluster, "app=redis", 3, timeout=60)


def _replicas(cluster) -> int:
    return cluster.get("StatefulSet", "redis")["spec"]["replicas"]


def test_the_last_shard_goes_down_stays_down_and_comes_back(cluster):
    _store(cluster)
    toggle = ShardOutageToggle(cluster, "redis-2")
    toggle.value = True
    assert _replicas(cluster) == 2
    assert toggle.message == ("✔ shard redis-2 is down: StatefulSet redis scaled from 3 to 2, "
                              "so Kubernetes does not rebuild it")
    assert toggle.toggle.description == "shard redis-2: DOWN (bring it back)"
    cluster.wait_for(lambda: cluster.find("Pod", "redis-2") is None, 60, "redis-2 to be gone")
    assert sorted(p["metadata"]["name"] for p in cluster.pods("app=redis")) == ["redis-0", "redis-1"]
    toggle.value = False
    assert _replicas(cluster) == 3
    assert toggle.message.startswith("✔ shard redis-2 is coming back: StatefulSet redis scaled to 3")
    checks.pods_ready(cluster, "app=redis", 3, timeout=60)
    assert [action for action, _ in toggle.history] == ["down", "back"]


def test_a_shard_that_is_not_the_last_is_refused_next_to_the_toggle(cluster):
    _store(cluster)
    toggle = ShardOutageToggle(cluster, "redis-1")
    toggle.value = True
    assert toggle.value is False  # the toggle went back
    assert toggle.message == ("✘ could not take shard redis-1 down: a StatefulSet removes its highest ordinal "
                              "first: only redis-2 can be held down by scaling redis to 2")
    assert _replicas(cluster) == 3
    assert toggle.history == []


def test_a_pod_that_does_not_exist_or_has_no_statefulset_is_refused(cluster):
    missing = ShardOutageToggle(cluster, "redis-9")
    missing.value = True
    assert missing.value is False
    assert missing.message == "✘ could not take shard redis-9 down: there is no pod redis-9 (is the store running?)"
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lonely"},
                   "spec": {"containers": [{"name": "redis", "image": "redis:7"}]}})
    lonely = ShardOutageToggle(cluster, "lonely")
    lonely.value = True
    assert lonely.message == ("✘ could not take shard lonely down: pod lonely belongs to no StatefulSet, "
                              "so it cannot be held down by scaling")
