"""A Prometheus operator in miniature: ServiceMonitors and AlertRules in, Prometheus' config out.

    from k8s_course import monitoring
    cluster.apply(monitoring.CRDS)                       # the two custom resources
    operator = monitoring.MonitoringOperator(cluster.api_client, cluster.namespace).start()
    ...                                                  # the ConfigMap prometheus-config follows
    operator.stop()

`rendering` holds the pure part (what the configuration should say, from plain dicts),
`reconciling` the loop that reads the cluster and writes the difference.
"""

from __future__ import annotations

from pathlib import Path

from . import rendering
from .reconciling import CONFIG_MAP, GROUP, VERSION, MonitoringOperator

__all__ = ["CONFIG_MAP", "CRDS", "GROUP", "VERSION", "MonitoringOperator", "rendering"]

CRDS = Path(__file__).parent / "manifests" / "crds.yaml"
