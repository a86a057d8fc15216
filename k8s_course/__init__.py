"""k8s-course: learn the Kubernetes patterns by running them.

    from k8s_course import connect
    cluster = connect()
"""

from __future__ import annotations

from .connection import Connection, connect

__all__ = ["Connection", "connect"]
