"""`python -m k8s_course.sim serve`: the simulated cluster in the foreground."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from . import daemon, kubeconfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m k8s_course.sim")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the simulated cluster until stopped")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    serve.add_argument("--speed", type=float, default=1.0, help="how fast the cluster's clock runs")
    serve.add_argument("--kubeconfig", type=Path, default=None)
    serve.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir = args.state_dir or kubeconfig.default_state_dir()
    daemon.serve(args.port, args.speed, args.kubeconfig or state_dir / "kubeconfig", state_dir)


if __name__ == "__main__":
    main()
