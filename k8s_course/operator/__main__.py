"""`python -m k8s_course.operator [--namespace NS] [--kubeconfig FILE]`: run the operator in the
foreground until Ctrl-C (in a pod: with the pod's ServiceAccount)."""

from __future__ import annotations

import argparse
import logging
import os


def client_for(kubeconfig: str | None, context: str | None):
    """The official client: in a pod, its ServiceAccount; elsewhere, the kubeconfig."""
    from kubernetes import client, config

    if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()
        return client.ApiClient()
    return config.new_client_from_config(config_file=kubeconfig, context=context)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m k8s_course.operator",
                                     description="The PostgresCluster operator of k8s-course.")
    parser.add_argument("--namespace", help="manage this namespace only (default: every namespace)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: in a pod its ServiceAccount, "
                                             "else $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument("--lease-namespace", help="where the leader Lease lives (default: --namespace, "
                                                  "else default)")
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if options.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .running import Operator

    api_client = client_for(options.kubeconfig, options.context)
    operator = Operator(api_client, options.namespace, lease_namespace=options.lease_namespace)
    logging.getLogger(__name__).info("operator %s starting (namespace: %s)", operator.identity,
                                     options.namespace or "all")
    try:
        operator.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
