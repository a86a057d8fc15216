"""The `k8s-course` command.

    k8s-course start             JupyterLab on the course, on kind if it answers, else the simulator
    k8s-course sim start|status|stop [--port N] [--speed X] [--kubeconfig PATH]
                                     [--workers N] [--node-cpu C] [--node-memory M]
    k8s-course labs              the workshop labs, each with a one-line status
    k8s-course check LAB [--hint N] [--namespace NS]
                                 check a lab on the live cluster (exit code 0: every step passes)
    k8s-course class create NAME... [--out DIR] | progress | delete
                                 a class on one cluster: a namespace, account and kubeconfig each
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
            record = daemon.start(args.port, args.speed, args.kubeconfig, state_dir=backends._state_dir(),
                                  node_options=node_options(args))
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(record["kubeconfig"])
        print(f"simulated cluster at {record['url']} (clock x{record['speed']:g}); "
              f"use it with: export KUBECONFIG={record['kubeconfig']}", file=sys.stderr)
        return 0
    if args.action == "status":
        record = daemon.read_state(backends._state_dir())
        if record is None:
            print("no simulated cluster is running (start one with: k8s-course sim start)")
            return 1
        print(f"running: pid {record['pid']}, {record['url']}, clock x{record['speed']:g}, "
              f"kubeconfig {record['kubeconfig']}")
        return 0
    stopped = daemon.stop(backends._state_dir())
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


def _labs(args: argparse.Namespace) -> int:
    from . import connect, labs

    cluster = connect(quiet=True)
    width = max(len(name) for name in labs.LABS)
    for lab in labs.LABS.values():
        if cluster.find("Namespace", lab.namespace, namespace=None) is None:
            status = "not started"
        else:
            status = lab.check(cluster.use_namespace(lab.namespace)).status
        where = "" if lab.kind_ready or cluster.backend.name != "kind" else " (simulator only)"
        print(f"{lab.name:<{width}}  {lab.minutes:>3} min  {status}{where}")
        print(f"{'':<{width}}           {lab.title}: {lab.summary}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from . import connect, labs

    try:
        lab = labs.get(args.lab)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    cluster = connect(quiet=True)
    namespace = args.namespace or lab.namespace
    if cluster.find("Namespace", namespace, namespace=None) is None:
        print(f"namespace {namespace} does not exist: start the lab first (labs/ in the course, or "
              f"labs.start({lab.name!r}, connect({namespace!r})))", file=sys.stderr)
        return 1
    report = lab.check(cluster.use_namespace(namespace))
    report.hint_level = args.hint
    print(report)
    return 0 if report.passed else 1


def _class(args: argparse.Namespace) -> int:
    from . import classroom, connect
    from .errors import CourseError

    cluster = connect(quiet=True)
    try:
        if args.action == "create":
            if not args.learners:
                print("error: name the learners: k8s-course class create ada grace ...", file=sys.stderr)
                return 2
            for path in classroom.create(cluster, args.learners, args.out):
                print(f"{path}  (for {path.stem}: KUBECONFIG={path} K8S_COURSE_LEARNER={path.stem} k8s-course start)")
        elif args.action == "progress":
            rows = classroom.progress(cluster)
            if not rows:
                print("no learners on this cluster (k8s-course class create ... makes them)")
            for learner, lab, status in rows:
                print(f"{learner:<16} {lab:<16} {status}")
        else:
            for namespace in classroom.delete(cluster):
                print(f"deleted {namespace}")
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


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
    commands.add_parser("labs", help="list the workshop labs with their status on the cluster")
    check = commands.add_parser("check", help="check a lab on the live cluster")
    check.add_argument("lab")
    check.add_argument("--hint", type=int, default=1, choices=(1, 2, 3),
                       help="how telling the hint is: 1 a nudge, 3 nearly the answer")
    check.add_argument("--namespace", default=None, help="the lab's namespace (default: lab-<name>)")
    klass = commands.add_parser("class", help="a class on one cluster: learners' namespaces and kubeconfigs")
    klass.add_argument("action", choices=("create", "progress", "delete"))
    klass.add_argument("learners", nargs="*", help="learner names (create)")
    klass.add_argument("--out", type=Path, default=Path("class"), help="where the kubeconfigs go (create)")
    args = parser.parse_args(argv)
    if args.command == "class":
        return _class(args)
    if args.command == "labs":
        return _labs(args)
    if args.command == "check":
        return _check(args)
    if args.command == "sim":
        return _sim(args)
    return _start(args)


if __name__ == "__main__":
    sys.exit(main())
