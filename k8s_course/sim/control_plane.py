"""Which loops make up the simulated control plane: one list, in one place.

The same loops kube-controller-manager and kube-scheduler run, each watching the store and
writing through the API's write path. The nodes' kubelets are added by the cluster itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .controllers.aggregation import ClusterRoleAggregationController
from .controllers.crd_cleanup import CRDCleanupController
from .controllers.cronjob import CronJobController
from .controllers.daemonset import DaemonSetController
from .controllers.deployment import DeploymentController
from .controllers.disruption import DisruptionController
from .controllers.endpoints import EndpointsController
from .controllers.garbage import GarbageCollector
from .controllers.job import JobController
from .controllers.namespaces import NamespaceController
from .controllers.node_lifecycle import NodeLifecycleController
from .controllers.protection import ProtectionController
from .controllers.replicaset import ReplicaSetController
from .controllers.statefulset import StatefulSetController
from .controllers.volumes import VolumeBinder
from .scheduler import Scheduler

if TYPE_CHECKING:
    from .controllers.base import Controller
    from .simulator import Cluster


def controllers(cluster: Cluster) -> list[Controller]:
    objects = cluster.objects
    return [
        NamespaceController(objects, cluster.tls.ca_pem.decode()),
        ProtectionController(objects),
        CRDCleanupController(objects),
        GarbageCollector(objects),
        DeploymentController(objects),
        ReplicaSetController(objects),
        StatefulSetController(objects),
        DaemonSetController(objects),
        JobController(objects),
        CronJobController(objects),
        DisruptionController(objects),
        EndpointsController(objects),
        VolumeBinder(objects),
        NodeLifecycleController(objects),
        Scheduler(objects),
        ClusterRoleAggregationController(objects),
    ]
