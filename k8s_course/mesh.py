"""The course's small service mesh: its sidecar injector installed, and namespaces joined to it.

    from k8s_course import mesh
    ca = mesh.install_injector(cluster)          # the webhook, trusted through the course CA
    mesh.enable_injection(cluster, ca=ca)        # this namespace's new pods get the proxy

`install_injector` applies manifests/04-injector.yaml: the injector (workloads/
sidecar_injector.py) in the namespace `k8s-course-system`, with a serving certificate from the
course CA, and the MutatingWebhookConfiguration whose caBundle is that CA. `enable_injection`
labels a namespace `k8s-course/inject: enabled` (Istio: `istio-injection: enabled`) and gives
it what the injected proxies mount: the ConfigMap with mtls_proxy.py and, per service account,
an identity certificate (as istiod hands out over SDS). Everything goes through the official
client, so it works the same on kind and on the simulator.
"""

from __future__ import annotations

import base64
import copy

from .cluster import MANIFESTS, Cluster
from .workloads import course_ca, program_source, sidecar_injector

__all__ = ["INJECTION_LABEL", "SYSTEM_NAMESPACE", "enable_injection", "install_injector",
           "uninstall_injector"]

SYSTEM_NAMESPACE = "k8s-course-system"
INJECTOR = "sidecar-injector"
WEBHOOK_CONFIGURATION = "k8s-course-sidecar-injector"
INJECTION_LABEL = "k8s-course/inject"
MANIFEST = "04-injector.yaml"


def install_injector(cluster: Cluster, ca: course_ca.CertificateAuthority | None = None,
                     timeout: float = 120) -> course_ca.CertificateAuthority:
    """Run the injector and register its webhook; returns the CA (a new one unless given)."""
    import yaml

    ca = ca or course_ca.make_ca()
    documents = [d for d in yaml.safe_load_all((MANIFESTS / MANIFEST).read_text()) if d]
    by_kind = {d["kind"]: d for d in documents}
    cluster.apply(by_kind["Namespace"], namespace=None)
    serving = course_ca.issue(ca, SYSTEM_NAMESPACE, INJECTOR, dns_names=[
        INJECTOR, f"{INJECTOR}.{SYSTEM_NAMESPACE}", f"{INJECTOR}.{SYSTEM_NAMESPACE}.svc"])
    cluster.apply([
        course_ca.tls_secret(f"{INJECTOR}-tls", SYSTEM_NAMESPACE, serving),
        _config_map(f"{INJECTOR}-program", SYSTEM_NAMESPACE, "sidecar_injector"),
        by_kind["Deployment"], by_kind["Service"],
    ], namespace=SYSTEM_NAMESPACE)
    # registered only once it answers: a webhook with failurePolicy Fail and no ready endpoint
    # would refuse every new pod of the labelled namespaces meanwhile
    cluster.rollout_status(INJECTOR, timeout=timeout, namespace=SYSTEM_NAMESPACE)
    registration = copy.deepcopy(by_kind["MutatingWebhookConfiguration"])
    for webhook in registration["webhooks"]:
        webhook["clientConfig"]["caBundle"] = base64.b64encode(ca.cert_pem).decode("ascii")
    cluster.apply(registration, namespace=None)
    return ca


def enable_injection(cluster: Cluster, namespace: str | None = None,
                     ca: course_ca.CertificateAuthority | None = None,
                     service_accounts: tuple[str, ...] = ("default",)) -> None:
    """Label `namespace` (default: the cluster's) for injection and give it the proxies' files."""
    namespace = namespace or cluster.namespace
    ca = ca or course_ca.make_ca()
    settings = sidecar_injector.Settings()
    cluster.apply({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": namespace, "labels": {INJECTION_LABEL: "enabled"}}}, namespace=None)
    documents = [_config_map(settings.mesh_configmap, namespace, "mtls_proxy")]
    for account in service_accounts:
        identity = course_ca.issue(ca, namespace, account)
        documents.append(course_ca.tls_secret(settings.identity_secret_prefix + account, namespace, identity))
    cluster.apply(documents, namespace=namespace)


def uninstall_injector(cluster: Cluster, timeout: float = 120) -> None:
    """Unregister the webhook (first: new pods stop depending on it), remove the injector and
    wait until its namespace is gone (so that installing it again can start at once)."""
    for kind, name in (("MutatingWebhookConfiguration", WEBHOOK_CONFIGURATION), ("Namespace", SYSTEM_NAMESPACE)):
        if cluster.find(kind, name, namespace=None) is not None:
            cluster.delete(kind, name, namespace=None)
    cluster.wait_for(lambda: cluster.find("Namespace", SYSTEM_NAMESPACE, namespace=None) is None, timeout,
                     f"namespace {SYSTEM_NAMESPACE} to be deleted")


def _config_map(name: str, namespace: str, program: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": {f"{program}.py": program_source(program)}}
