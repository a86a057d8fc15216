"""Workshop labs: a task on the live cluster, a check per step, hints from a nudge to the answer.

    from k8s_course import connect, labs
    lab = labs.start("logging-sidecar", connect("lab-logging-sidecar"))   # the starting state
    lab.check()        # ✔ / ✘ per step, and a hint for the first step that fails
    lab.hint()         # a more telling hint, up to nearly the answer

The same checks run from a terminal: `k8s-course check logging-sidecar`; `k8s-course labs`
lists the labs with a one-line status each. The notebooks are in the repository's labs/.
"""

from __future__ import annotations

from . import ambassador, broken_pod, logging_sidecar, native_sidecar, operator_lab
from .lab import Lab, LabRun, Report, Step

__all__ = ["LABS", "Lab", "LabRun", "Report", "Step", "get", "start"]

# in course order
LABS: dict[str, Lab] = {module.LAB.name: module.LAB
                        for module in (broken_pod, logging_sidecar, native_sidecar, ambassador, operator_lab)}


def get(name: str) -> Lab:
    try:
        return LABS[name]
    except KeyError:
        raise ValueError(f"no lab named {name!r}; the labs are: {', '.join(LABS)}") from None


def start(name: str, cluster) -> LabRun:
    """Put the lab's starting state into `cluster`'s namespace and return the learner's run."""
    run = LabRun(get(name), cluster)
    run.prepare()
    return run
