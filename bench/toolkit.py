"""How quickly the learner sees something: prints figures, asserts nothing.

    python bench/toolkit.py

1. From `connect()` on a machine with no simulator running to the first drawn building
   (the simulator starts in the background, as in the first notebook). Aim: under 2 s.
2. From a slider move (3 -> 6 replicas) to the building view showing 6 Ready apartments.
   Aim: under 0.3 s on the simulator.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

WEB = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}},
}


def ready_pods(cluster) -> int:
    return sum(1 for p in cluster.pods("app=web")
               if not p["metadata"].get("deletionTimestamp")
               and any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in (p.get("status") or {}).get("conditions") or []))


def main() -> None:
    state = tempfile.mkdtemp(prefix="k8s-course-bench-")
    os.environ.update(K8S_COURSE_STATE_DIR=state, K8S_COURSE_BACKEND="simulator")
    from k8s_course import connect
    from k8s_course.controls import ScaleSlider
    from k8s_course.sim import daemon
    from k8s_course.views import draw_building

    try:
        began = time.perf_counter()
        cluster = connect("bench", quiet=True)
        draw_building(cluster.nodes(), cluster.pods())
        print(f"{'connect() to the first drawn building':<44} {time.perf_counter() - began:8.2f} s")

        cluster.apply(WEB)
        cluster.wait_for(lambda: ready_pods(cluster) == 3, 60, "3 ready pods", poll=0.01)
        slider = ScaleSlider(cluster, "web", 0, 10)
        times = []
        for target in (6, 3, 6, 3, 6, 3):
            began = time.perf_counter()
            slider.value = target
            while ready_pods(cluster) != target or len(cluster.pods("app=web")) != target:
                time.sleep(0.005)
            draw_building(cluster.nodes(), cluster.pods("app=web"))
            times.append(time.perf_counter() - began)
        print(f"{'slider move to a redrawn building (median)':<44} {statistics.median(times):8.2f} s"
              f"   (all: {', '.join(f'{t:.2f}' for t in times)})")
        cluster.cleanup()
    finally:
        daemon.stop(Path(state))


if __name__ == "__main__":
    main()
