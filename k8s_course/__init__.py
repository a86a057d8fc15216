"""k8s-course: learn the Kubernetes patterns by running them.

    from k8s_course import connect
    cluster = connect("apartment")      # kind if it answers, else the built-in simulator
    cluster.apply("web-deployment.yaml")
"""

from __future__ import annotations

from .cluster import Cluster
from .connecting import connect
from .errors import CourseError

__all__ = ["Cluster", "CourseError", "connect"]
