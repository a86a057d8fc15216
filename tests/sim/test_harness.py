"""The manual-clock harness itself: time moves only when told, controllers settle."""

from __future__ import annotations

from tests.sim.harness import Harness


def test_a_new_namespace_is_furnished_without_the_clock_moving():
    async def scenario(h: Harness):
        before = h.clock.now()
        h.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}})
        await h.settle()
        assert h.get("v1", "ServiceAccount", "default", "fresh") is not None
        assert h.clock.now() == before

    Harness.run(scenario)


def test_deleting_a_namespace_waits_for_its_contents_one_retry_second_at_a_time():
    async def scenario(h: Harness):
        h.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}})
        h.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["x/y"]}},
                 "doomed")
        await h.settle()
        h.delete("v1", "Namespace", "doomed")
        await h.advance(5)
        assert h.get("v1", "Namespace", "doomed")["status"]["phase"] == "Terminating"
        h.patch("v1", "ConfigMap", "held", {"metadata": {"finalizers": None}}, "doomed")
        took = await h.until(lambda: h.get("v1", "Namespace", "doomed") is None, timeout=10)
        assert took <= 1.0

    Harness.run(scenario)
