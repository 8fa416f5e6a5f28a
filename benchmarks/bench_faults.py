"""The fault suite: does the database still match the truth after each kind of fault?

    python benchmarks/bench_faults.py [--targets 200] [--rounds 2] [--faults KIND ...]

A real Mistral (API, engine and executor as processes of their own, on PostgreSQL), a
RabbitMQ node of the run's own (own node name, ports and data directory: restarting it
touches nothing else), two `nfvmon conductor` processes on PostgreSQL, and --targets VNFs,
each watched with `http_ping` on an HTTP target on a loopback address of its own that this
script starts and stops; the conductors respawn a dead VNF through the `command` VNF-manager
driver, whose script asks this process for a new address (tests/fault_truth.py). For each
round, each fault is injected once while --kills-per-fault targets die: kill -9 of a
conductor (plain, and mid policy action), a RabbitMQ restart, PostgreSQL connections
terminated, the Mistral executor killed and restarted, Mistral's API and engine restarted.
After each, the script waits until the database matches the truth (every VNF ACTIVE on a
live target, none PENDING, every monitor checked in since the fault).

At the end it prints transitions expected, recorded and lost, stale writes accepted,
resources stuck in a pending state, and the time to converge after each kind of fault (p50,
max), and exits 1 unless: 0 lost, 0 stale, 0 stuck, every fault converged within
checkin_interval x checkin_missed_limit + reconcile_interval.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
warnings.filterwarnings("ignore")


def main() -> int:
    from tests.fault_run import FAULTS, Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--faults", nargs="+", default=list(FAULTS), choices=FAULTS)
    parser.add_argument("--kills-per-fault", type=int, default=0,
                        help="targets stopped with each fault (default: targets / 20)")
    parser.add_argument("--checkin-interval", type=int, default=5)
    parser.add_argument("--checkin-missed-limit", type=int, default=3)
    parser.add_argument("--reconcile-interval", type=int, default=5)
    parser.add_argument("--run-mode", choices=["async", "sync"], default="async")
    parser.add_argument("--converge-timeout", type=float, default=0,
                        help="seconds to wait for each fault (default: 3 x the goal + 30)")
    parser.add_argument("--keep", metavar="DIR",
                        help="work in DIR and keep it (logs of every service)")
    args = parser.parse_args()
    if args.targets < 2:
        parser.error("--targets must be at least 2")
    settings = Settings(targets=args.targets, rounds=args.rounds, faults=tuple(args.faults),
                        kills_per_fault=args.kills_per_fault,
                        checkin_interval=args.checkin_interval,
                        checkin_missed_limit=args.checkin_missed_limit,
                        reconcile_interval=args.reconcile_interval, run_mode=args.run_mode,
                        converge_timeout=args.converge_timeout)
    from tests import fault_report
    from tests.fault_run import FaultRun

    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.keep or scratch)
        work.mkdir(parents=True, exist_ok=True)
        with FaultRun(settings, work) as run:
            run.inject_all()
            figures = run.figures()
    print(f"nfvmon {_source_version()}")
    print(f"fault suite: {settings.targets} targets, {settings.rounds} round(s), "
          f"checkin_interval {settings.checkin_interval} s x {settings.checkin_missed_limit}"
          f" + reconcile_interval {settings.reconcile_interval} s, run_mode "
          f"{settings.run_mode}, {time.monotonic() - started:.0f} s in all")
    print(fault_report.render(figures))
    return 0 if figures.goals_met() else 1


def _source_version() -> str:
    """The commit measured, and whether nfvmon/ had changes not committed."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "nfvmon"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "(not a git checkout)"
    return f"at {commit}" + (" with uncommitted changes in nfvmon/" if dirty else "")


if __name__ == "__main__":
    sys.exit(main())
