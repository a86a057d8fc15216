"""`python -m k8s_course.sim serve`: the simulated cluster in the foreground."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from . import daemon, kubeconfig, nodes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m k8s_course.sim")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the simulated cluster until stopped")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    serve.add_argument("--speed", type=float, default=1.0, help="how fast the cluster's clock runs")
    serve.add_argument("--kubeconfig", type=Path, default=None)
    serve.add_argument("--state-dir", type=Path, default=None)
    add_node_options(serve)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir = args.state_dir or kubeconfig.default_state_dir()
    specs = nodes.default_nodes(args.workers, cpu=args.node_cpu, memory=args.node_memory)
    daemon.serve(args.port, args.speed, args.kubeconfig or state_dir / "kubeconfig", state_dir, specs)


def add_node_options(parser: argparse.ArgumentParser) -> None:
    """The cluster's shape: kind's by default (a control plane and two workers)."""
    parser.add_argument("--workers", type=int, default=2, help="how many worker nodes (default 2)")
    parser.add_argument("--node-cpu", default="4", help="CPUs of each node (default 4)")
    parser.add_argument("--node-memory", default="8Gi", help="memory of each node (default 8Gi)")


def node_options(args: argparse.Namespace) -> list[str]:
    return ["--workers", str(args.workers), "--node-cpu", args.node_cpu, "--node-memory", args.node_memory]


if __name__ == "__main__":
    main()
