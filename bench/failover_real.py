"""Failover on real PostgreSQL, measured: prints figures, asserts nothing.

    python bench/failover_real.py                  # 10 failovers synchronous, 10 asynchronous
    python bench/failover_real.py --rounds 50 --rate 500

A primary and two streaming standbys (Debian's PostgreSQL, on local ports, run as the postgres
user), the course's write-load generator inserting numbered rows at --rate per second, and the
primary killed with `pg_ctl stop -m immediate` again and again. Each failover is done with the
operator's database steps (status of each standby, choose_candidate, promote, follow,
set_synchronous, clone a fresh standby), and measured: the outage as the writer saw it (its
last acknowledged write before the kill to its first one after), the time until the new
primary streams to two standbys again, and the acknowledged rows missing on the new primary.
Synchronous replication (ANY 1 of the standbys) should lose none; asynchronous loses the tail
that was in flight. The operator's own reaction time (noticing that the pod is gone) is not
here: these figures start when the operator has noticed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.operator

from tests.operator.postgres_processes import Failover, failover_drill, find_bin_dir  # noqa: E402


def run(mode: str, rounds: int, rate: float) -> list[Failover]:
    print(f"\n{mode} replication, {rounds} failovers, writes at {rate:g}/s")
    print(f"{'#':>3}  {'old -> new':<16} {'outage s':>8} {'recovered s':>11} {'rows lost':>9}")
    number = 0

    def report(failover: Failover) -> None:
        nonlocal number
        number += 1
        print(f"{number:>3}  {failover.old + ' -> ' + failover.new:<16} {failover.outage_seconds:>8.3f} "
              f"{failover.seconds:>11.2f} {len(failover.lost):>9}", flush=True)

    began = time.monotonic()
    results = failover_drill(rounds, synchronous=mode == "synchronous", rate=rate, report=report)
    outages = [failover.outage_seconds for failover in results]
    lost = sum(len(failover.lost) for failover in results)
    print(f"{mode}: outage median {statistics.median(outages):.3f} s, max {max(outages):.3f} s; "
          f"acknowledged rows lost {lost} in {rounds} failovers ({time.monotonic() - began:.0f} s)")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200)
    options = parser.parse_args()
    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("PostgreSQL is not installed (apt-get install postgresql)")
        return 1
    print(f"PostgreSQL from {bin_dir}")
    for mode in ("synchronous", "asynchronous"):
        run(mode, options.rounds, options.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
