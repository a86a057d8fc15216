"""A class on one real cluster: a namespace, a ServiceAccount and a kubeconfig per learner.

    k8s-course class create ada grace linus --out class/     # as the instructor (cluster-admin)
    k8s-course class progress                                 # every learner's labs, one line each

Each learner gets the namespace `learner-<name>` (labelled `k8s-course/learner`), a
ServiceAccount `learner` in it, bound to Kubernetes' `admin` ClusterRole *in that namespace
only* (a RoleBinding), and a kubeconfig holding that account's token. With it, a learner can do
everything a lab asks inside the namespace, and nothing in anyone else's: no reads of other
namespaces, no nodes, no cluster-wide objects. RBAC enforces that on a real cluster and on the
simulator alike.

On the learner's machine, `K8S_COURSE_LEARNER=<name>` and `KUBECONFIG=<their file>` make
`connect()` use that cluster and that namespace for every lab, whatever name the notebook asks
for; `cleanup()` then removes the course's objects in it rather than the namespace.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import yaml

from .errors import CourseError

LEARNER_LABEL = "k8s-course/learner"
ACCOUNT = "learner"
TOKEN_SECONDS = 7 * 24 * 3600  # a workshop week; a real cluster may cap it lower (the token says)
NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?")


def namespace_of(learner: str) -> str:
    return f"learner-{learner}"


def current_learner() -> str | None:
    """The learner this machine belongs to in a class on one cluster (K8S_COURSE_LEARNER)."""
    learner = os.environ.get("K8S_COURSE_LEARNER", "").strip()
    return learner or None


def create(cluster, learners: list[str], out_dir: Path) -> list[Path]:
    """Namespaces, accounts, bindings and kubeconfigs for `learners`; returns the kubeconfig files."""
    bad = [name for name in learners if not NAME.fullmatch(name)]
    if bad:
        raise CourseError(f"learner names must be lowercase letters, digits and '-': {', '.join(bad)}",
                          "they become namespace names, e.g. learner-ada")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for learner in learners:
        namespace = namespace_of(learner)
        cluster.apply([
            {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": namespace, "labels": {LEARNER_LABEL: learner}}},
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": ACCOUNT, "namespace": namespace, "labels": {LEARNER_LABEL: learner}}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": "learner-admin", "namespace": namespace, "labels": {LEARNER_LABEL: learner}},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
             "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": namespace}]},
        ], namespace=None)
        token = _token(cluster, namespace)
        path = out_dir / f"{learner}.kubeconfig"
        path.write_text(yaml.safe_dump(learner_kubeconfig(cluster, learner, token), sort_keys=False))
        path.chmod(0o600)  # it holds the learner's token
        written.append(path)
    return written


def _token(cluster, namespace: str) -> str:
    from kubernetes import client

    core = client.CoreV1Api(cluster.api_client)
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
        audiences=[], expiration_seconds=TOKEN_SECONDS))
    answer = cluster._call(lambda: core.create_namespaced_service_account_token(ACCOUNT, namespace, request))
    return answer.status.token


def learner_kubeconfig(cluster, learner: str, token: str) -> dict:
    """A kubeconfig for the cluster `cluster` talks to, as the learner's ServiceAccount."""
    configuration = cluster.api_client.configuration
    server = {"server": configuration.host}
    if configuration.ssl_ca_cert:
        server["certificate-authority-data"] = base64.b64encode(Path(configuration.ssl_ca_cert).read_bytes()).decode()
    name = f"k8s-course-{learner}"
    return {"apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": "k8s-course-class", "cluster": server}],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [{"name": name, "context": {"cluster": "k8s-course-class", "user": name,
                                                    "namespace": namespace_of(learner)}}]}


def learners(cluster) -> list[str]:
    namespaces = cluster.list("Namespace", namespace=None, selector=LEARNER_LABEL)
    return sorted(ns["metadata"]["labels"][LEARNER_LABEL] for ns in namespaces)


def progress(cluster) -> list[tuple[str, str, str]]:
    """(learner, lab, one-line status) for every learner and lab, as the instructor sees them."""
    from . import labs

    rows = []
    for learner in learners(cluster):
        scoped = type(cluster)(cluster.backend, cluster.api_client, namespace_of(learner))
        for lab in labs.LABS.values():
            rows.append((learner, lab.name, lab.check(scoped, wait=False).status))
    return rows


def delete(cluster, timeout: float = 300) -> list[str]:
    """Remove every learner's namespace (and so their work and their accounts)."""
    gone = []
    for learner in learners(cluster):
        cluster.delete("Namespace", namespace_of(learner), namespace=None)
        gone.append(namespace_of(learner))
    cluster.wait_for(lambda: not learners(cluster), timeout, "the learners' namespaces to be deleted")
    return gone
