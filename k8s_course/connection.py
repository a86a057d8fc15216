"""`connect()`: find the course's cluster and hand back an official client for it."""

from __future__ import annotations

from dataclasses import dataclass

from . import backends


@dataclass
class Connection:
    backend: backends.Backend
    api_client: object  # kubernetes.client.ApiClient

    @property
    def kubeconfig(self) -> str | None:
        return self.backend.kubeconfig


def connect(backend: str | None = None, quiet: bool = False) -> Connection:
    """Use the kind cluster when it answers, else start or reuse the simulated cluster."""
    from kubernetes import client, config

    chosen = backends.choose(backend)
    api_client = config.new_client_from_config(config_file=chosen.kubeconfig, context=chosen.context)
    if not quiet:
        print(f"Connected to {chosen.description}.")
    assert isinstance(api_client, client.ApiClient)
    return Connection(chosen, api_client)
