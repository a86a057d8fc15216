"""Fixtures shared by every test: a simulated cluster and official clients for it."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from k8s_course.sim import Simulator

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


@pytest.fixture(scope="session")
def simulator():
    """One simulated cluster for the session; tests keep to their own namespaces."""
    with Simulator() as sim:
        yield sim


@pytest.fixture(scope="session")
def api_client(simulator):
    client = simulator.api_client()
    yield client
    client.close()


@pytest.fixture
def namespace(api_client):
    """A fresh namespace for one test, deleted afterwards."""
    from kubernetes import client

    name = f"test-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    try:
        core.delete_namespace(name)
    except client.ApiException:
        pass


@pytest.fixture
def kubectl_env(simulator):
    if not os.path.exists(KUBECTL):
        pytest.skip("kubectl is not installed")
    return dict(os.environ, KUBECONFIG=str(simulator.kubeconfig))


@pytest.fixture
def cluster(simulator, namespace):
    """A `k8s_course.Cluster` on the session's simulator, working in a fresh namespace."""
    from k8s_course import backends
    from k8s_course.cluster import Cluster

    backend = backends.Backend("simulator", str(simulator.kubeconfig), backends.SIM_CONTEXT, "test simulator")
    with simulator.api_client() as api:
        yield Cluster(backend, api, namespace)
