"""Which loops make up the simulated control plane: one list, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .controllers.crd_cleanup import CRDCleanupController
from .controllers.namespaces import NamespaceController
from .controllers.protection import ProtectionController

if TYPE_CHECKING:
    from .controllers.base import Controller
    from .simulator import Cluster


def controllers(cluster: Cluster) -> list[Controller]:
    return [
        NamespaceController(cluster.objects, cluster.tls.ca_pem.decode()),
        ProtectionController(cluster.objects),
        CRDCleanupController(cluster.objects),
    ]
