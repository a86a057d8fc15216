"""The disruption controller: a PodDisruptionBudget's status from the pods it selects."""

from __future__ import annotations

from k8s_course.sim.controllers.disruption import DisruptionController, scaled_value
from tests.sim.harness import Harness


def _budget(**spec) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}


def _replica_set(replicas: int = 3) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-abc"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}


def _pod(h: Harness, name: str, owner: dict | None, ready: bool = True) -> None:
    meta = {"name": name, "labels": {"app": "web"}}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                    "controller": True, "blockOwnerDeletion": True}]
    h.create({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
              "spec": {"containers": [{"name": "web", "image": "nginx"}]}})
    if ready:
        _set_ready(h, name, True)


def _set_ready(h: Harness, name: str, ready: bool) -> None:
    h.patch("v1", "Pod", name, {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False",
         "lastTransitionTime": h.clock.timestamp()}]}}, subresource="status")


def _run(scenario):
    return Harness.run(scenario, controllers=lambda cluster: [DisruptionController(cluster.objects)])


def _numbers(budget: dict) -> tuple[int, int, int, int]:
    status = budget["status"]
    return (status["expectedPods"], status["currentHealthy"], status["desiredHealthy"],
            status["disruptionsAllowed"])


def _condition(budget: dict) -> tuple[str, str, str]:
    (condition,) = budget["status"]["conditions"]
    return condition["type"], condition["status"], condition["reason"]


def test_min_available_two_of_three_ready_pods_allows_one_disruption():
    async def scenario(h: Harness):
        owner = h.create(_replica_set())
        for name in ("web-1", "web-2", "web-3"):
            _pod(h, name, owner)
        h.create(_budget(minAvailable=2))
        await h.settle()
        budget = h.get("policy/v1", "PodDisruptionBudget", "web")
        assert _numbers(budget) == (3, 3, 2, 1)
        assert _condition(budget) == ("DisruptionAllowed", "True", "SufficientPods")
        assert budget["status"]["observedGeneration"] == 1
        assert budget["status"]["conditions"][0]["message"] == ""

        _set_ready(h, "web-3", False)
        await h.settle()
        budget = h.get("policy/v1", "PodDisruptionBudget", "web")
        assert _numbers(budget) == (3, 2, 2, 0)
        assert _condition(budget) == ("DisruptionAllowed", "False", "InsufficientPods")

    _run(scenario)


def test_max_unavailable_as_a_percentage_rounds_up_against_the_controllers_scale():
    async def scenario(h: Harness):
        owner = h.create(_replica_set(replicas=4))
        for name in ("web-1", "web-2", "web-3"):
            _pod(h, name, owner)
        h.create(_budget(maxUnavailable="30%"))
        await h.settle()
        # 30% of the 4 expected is 1.2, rounded up to 2 unavailable: 2 must stay healthy
        assert _numbers(h.get("policy/v1", "PodDisruptionBudget", "web")) == (4, 3, 2, 1)
        h.patch("apps/v1", "ReplicaSet", "web-abc", {"spec": {"replicas": 10}})
        await h.settle()
        # 3 of 10 may be unavailable: 7 must be healthy and only 3 are
        assert _numbers(h.get("policy/v1", "PodDisruptionBudget", "web")) == (10, 3, 7, 0)

    _run(scenario)


def test_a_pod_without_a_controller_makes_a_percentage_budget_fail_to_sync():
    async def scenario(h: Harness):
        _pod(h, "web-1", None)
        h.create(_budget(minAvailable="50%"))
        await h.settle()
        budget = h.get("policy/v1", "PodDisruptionBudget", "web")
        (condition,) = budget["status"]["conditions"]
        assert (condition["status"], condition["reason"], condition["message"]) == (
            "False", "SyncFailed", 'found no controller ref for pod "web-1"')
        assert budget["status"]["disruptionsAllowed"] == 0

    _run(scenario)


def test_an_evicted_pod_counts_as_unhealthy_until_it_goes_or_two_minutes_pass():
    async def scenario(h: Harness):
        owner = h.create(_replica_set())
        for name in ("web-1", "web-2", "web-3"):
            _pod(h, name, owner)
        h.create(_budget(minAvailable=1))
        await h.settle()
        budget = h.get("policy/v1", "PodDisruptionBudget", "web")
        status = dict(budget["status"], disruptionsAllowed=1,
                      disruptedPods={"web-1": h.clock.timestamp()})
        h.patch("policy/v1", "PodDisruptionBudget", "web", {"status": status}, subresource="status")
        await h.settle()
        assert _numbers(h.get("policy/v1", "PodDisruptionBudget", "web")) == (3, 2, 1, 1)
        await h.advance(119)
        assert _numbers(h.get("policy/v1", "PodDisruptionBudget", "web")) == (3, 2, 1, 1)
        await h.advance(1)
        budget = h.get("policy/v1", "PodDisruptionBudget", "web")
        assert _numbers(budget) == (3, 3, 1, 2)
        assert "disruptedPods" not in budget["status"]

    _run(scenario)


def test_a_deleted_pod_leaves_the_count():
    async def scenario(h: Harness):
        owner = h.create(_replica_set())
        for name in ("web-1", "web-2", "web-3"):
            _pod(h, name, owner)
        h.create(_budget(minAvailable=2))
        await h.settle()
        h.delete("v1", "Pod", "web-2")
        await h.settle()
        assert _numbers(h.get("policy/v1", "PodDisruptionBudget", "web")) == (2, 2, 2, 0)

    _run(scenario)


def test_percentages_round_up():
    assert scaled_value("30%", 4) == 2
    assert scaled_value("50%", 3) == 2
    assert scaled_value("100%", 3) == 3
    assert scaled_value(1, 3) == 1


def test_a_custom_resource_with_a_scale_subresource_counts_as_the_pods_controller():
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "databases.example.dev"},
           "spec": {"group": "example.dev", "scope": "Namespaced",
                    "names": {"kind": "Database", "plural": "databases", "singular": "database"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "subresources": {"scale": {"specReplicasPath": ".spec.members",
                                                             "statusReplicasPath": ".status.members"}},
                                  "schema": {"openAPIV3Schema": {"type": "object",
                                                                 "x-kubernetes-preserve-unknown-fields": True}}}]}}

    async def scenario(h: Harness):
        h.create(crd)
        await h.settle()
        owner = h.create({"apiVersion": "example.dev/v1", "kind": "Database", "metadata": {"name": "web"},
                          "spec": {"members": 4}})
        for name in ("web-1", "web-2", "web-3"):
            _pod(h, name, owner)
        h.create(_budget(maxUnavailable=1))
        await h.settle()
        budget = h.get("policy/v1", "PodDisruptionBudget", "web")
        assert _numbers(budget) == (4, 3, 3, 0)  # four wanted, one already missing: no disruption left
        assert _condition(budget) == ("DisruptionAllowed", "False", "InsufficientPods")

    _run(scenario)
