"""The course's workloads: small real programs that run in pods, one file each.

On kind every program runs in a stock `python:3.11-slim` image with its file mounted from a
ConfigMap, so each module here is a single file that imports only the standard library
(`course_ca` excepted: it runs in the course package to make certificates beforehand). Each
keeps a pure core (batching, back-off, parsing, reload decisions) apart from a thin I/O shell,
so that the simulator can run the same core with simulated I/O.

This package only names the programs and hands out their source; it imports none of them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PROGRAMS", "program_path", "program_source"]

# the programs that run in pods (each runs as `python <name>.py`)
PROGRAMS = ("log_writer", "log_shipper", "log_aggregator", "mtls_proxy", "config_reloader", "ambassador",
            "pg_writer", "sidecar_injector", "needs_proxy", "slow_proxy", "tcp_ambassador", "redis_reader")


def program_path(name: str) -> Path:
    """The file of a pod program, e.g. `program_path("log_shipper")`."""
    if name not in PROGRAMS:
        raise ValueError(f"no workload program named {name!r}; the programs are {', '.join(PROGRAMS)}")
    return Path(__file__).with_name(f"{name}.py")


def program_source(name: str) -> str:
    """The source of a pod program, ready to go into a ConfigMap's data."""
    return program_path(name).read_text(encoding="utf-8")
