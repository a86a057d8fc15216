"""Chapter 3's controls find today's primary by its labels, act on it, and never raise."""

from __future__ import annotations

from importlib.resources import files

from k8s_course.controls import KillPrimaryButton, PrimaryFloorToggle, VersionPicker


def _member(name: str, role: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"k8s-course.dev/cluster": "pg", "k8s-course.dev/role": role}},
            "spec": {"terminationGracePeriodSeconds": 30,
                     "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}}


def test_kill_primary_deletes_the_labelled_primary_at_once_and_says_so(cluster):
    cluster.apply([_member("pg-1", "primary"), _member("pg-2", "replica")])
    button = KillPrimaryButton(cluster, "pg")
    assert button.click() == "pg-1"
    assert button.message == "✔ primary pg-1 killed: watch the operator promote a replica"
    cluster.wait_for(lambda: cluster.find("Pod", "pg-1") is None, timeout=10, description="pg-1 gone at once")
    assert cluster.find("Pod", "pg-2") is not None


def test_kill_primary_without_a_primary_says_why_and_deletes_nothing(cluster):
    cluster.apply(_member("pg-2", "replica"))
    button = KillPrimaryButton(cluster, "pg")
    assert button.click() is None
    assert button.message == "✘ pg has no primary right now (a failover may be under way)"
    assert cluster.find("Pod", "pg-2") is not None


def test_the_floor_toggle_takes_the_primarys_own_node_offline_and_back(cluster, monkeypatch):
    cluster.apply(_member("pg-1", "primary"))
    node = cluster.wait_for(lambda: cluster.get("Pod", "pg-1")["spec"].get("nodeName"), timeout=30,
                            description="pg-1 scheduled")
    calls = []
    monkeypatch.setattr(cluster, "node_offline", lambda n: calls.append(("offline", n)))
    monkeypatch.setattr(cluster, "node_online", lambda n: calls.append(("online", n)))
    toggle = PrimaryFloorToggle(cluster, "pg")
    toggle.value = True
    toggle.value = False
    assert calls == [("offline", node), ("online", node)]
    assert toggle.message == f"✔ floor {node} is back: the operator re-clones its old primary"


def test_the_floor_toggle_refuses_and_springs_back_when_there_is_no_primary(cluster):
    toggle = PrimaryFloorToggle(cluster, "pg")
    toggle.value = True
    assert toggle.value is False
    assert toggle.message == "✘ could not change the floor: pg has no primary on a floor right now"


def test_the_version_picker_patches_only_the_version_and_refuses_what_it_does_not_offer(cluster):
    cluster.apply((files("k8s_course.operator") / "manifests" / "crd.yaml").read_text(), namespace=None)
    cluster.wait_for(lambda: _served(cluster), timeout=30, description="the CRD to be served")
    cluster.apply({"apiVersion": "k8s-course.dev/v1", "kind": "PostgresCluster", "metadata": {"name": "pg"},
                   "spec": {"replicas": 2, "version": "16.4"}})
    picker = VersionPicker(cluster, "pg", ["16.4", "16.6", "16.8"])
    assert picker.upgrade("9.6") is False
    assert picker.message == "✘ '9.6' is not offered: choose one of 16.4, 16.6, 16.8"
    assert picker.upgrade("16.6") is True
    spec = cluster.get("PostgresCluster", "pg")["spec"]
    assert spec["version"] == "16.6" and spec["replicas"] == 2


def _served(cluster) -> bool:
    try:
        cluster.list("PostgresCluster")
        return True
    except Exception:
        return False
