"""`connect()`: find the course's cluster and hand back a `Cluster` working in a namespace."""

from __future__ import annotations

from . import backends, classroom
from .cluster import Cluster
from .errors import CourseError, NoCluster


def connect(namespace: str | None = None, backend: str | None = None, quiet: bool = False) -> Cluster:
    """Use the kind cluster when it answers, else start or reuse the simulated cluster.

    With `namespace`, the lesson works in that namespace (created if needed). In a class on one
    cluster (`K8S_COURSE_LEARNER` set), it is the learner's own namespace, on $KUBECONFIG's cluster.
    """
    from kubernetes import config

    learner = classroom.current_learner()
    if learner:
        namespace, backend = classroom.namespace_of(learner), backend or "kubeconfig"

    try:
        chosen = backends.choose(backend)
    except (RuntimeError, ValueError) as error:
        raise NoCluster(str(error)) from None
    try:
        api_client = config.new_client_from_config(config_file=chosen.kubeconfig, context=chosen.context)
    except Exception as error:  # a broken kubeconfig: say which
        raise CourseError(f"could not read the kubeconfig for {chosen.description}: {error}") from None
    cluster = Cluster(chosen, api_client)
    if namespace:
        cluster.use_namespace(namespace)
    if not quiet:
        where = f", namespace {namespace}" if namespace else ""
        print(f"Connected to {chosen.description}{where}.")
    return cluster
