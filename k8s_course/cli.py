"""The `k8s-course` command.

    k8s-course start             JupyterLab on the course, on kind if it answers, else the simulator
    k8s-course sim start|status|stop [--port N] [--speed X] [--kubeconfig PATH]
                                     [--workers N] [--node-cpu C] [--node-memory M]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import backends
from .sim import daemon
from .sim.__main__ import add_node_options, node_options

REPO_ROOT = Path(__file__).resolve().parent.parent


def _sim(args: argparse.Namespace) -> int:
    if args.action == "start":
        try:
            record = daemon.start(args.port, args.speed, args.kubeconfig, node_options=node_options(args))
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(record["kubeconfig"])
        print(f"simulated cluster at {record['url']} (clock x{record['speed']:g}); "
              f"use it with: export KUBECONFIG={record['kubeconfig']}", file=sys.stderr)
        return 0
    if args.action == "status":
        record = daemon.read_state()
        if record is None:
            print("no simulated cluster is running (start one with: k8s-course sim start)")
            return 1
        print(f"running: pid {record['pid']}, {record['url']}, clock x{record['speed']:g}, "
              f"kubeconfig {record['kubeconfig']}")
        return 0
    stopped = daemon.stop()
    print("stopped" if stopped else "no simulated cluster was running")
    return 0


def _start(args: argparse.Namespace) -> int:
    try:
        chosen = backends.choose(args.backend)
    except (RuntimeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Using {chosen.description}.")
    env = dict(os.environ)
    if chosen.kubeconfig:
        env["KUBECONFIG"] = chosen.kubeconfig
    notebooks = REPO_ROOT / "notebooks"
    command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={REPO_ROOT}", "--ServerApp.ip=127.0.0.1",
               str(notebooks.relative_to(REPO_ROOT) / "00_apartment_complex.ipynb")]
    if args.no_browser:
        command.append("--no-browser")
    if args.port:
        command.append(f"--ServerApp.port={args.port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and workshop VMs often run as root
    # JupyterLab takes this process's place, so stopping `k8s-course start` stops JupyterLab
    os.chdir(REPO_ROOT)
    os.execve(sys.executable, command, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="k8s-course", description="Learn the Kubernetes patterns by running them.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="open the course in JupyterLab")
    start.add_argument("--backend", choices=("kind", "simulator"), default=None)
    start.add_argument("--no-browser", action="store_true")
    start.add_argument("--port", type=int, default=0, help="JupyterLab's port (default: Jupyter's choice)")
    sim = commands.add_parser("sim", help="the built-in simulated cluster")
    sim.add_argument("action", choices=("start", "status", "stop"))
    sim.add_argument("--port", type=int, default=0)
    sim.add_argument("--speed", type=float, default=1.0)
    sim.add_argument("--kubeconfig", type=Path, default=None)
    add_node_options(sim)
    args = parser.parse_args(argv)
    if args.command == "sim":
        return _sim(args)
    return _start(args)


if __name__ == "__main__":
    sys.exit(main())
