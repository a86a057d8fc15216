"""The simulated cluster: a small Kubernetes control plane served on 127.0.0.1.

`Simulator` runs one in this process (tests, notebooks); `k8s-course sim start` runs one in
the background. The package is a server: it never imports the `kubernetes` client except to
hand one to its caller.
"""

from __future__ import annotations

__all__ = ["Simulator"]


def __getattr__(name: str):
    # imported on first use, so that `k8s_course.sim.clock` and friends load alone
    if name == "Simulator":
        from .simulator import Simulator

        return Simulator
    raise AttributeError(name)
