"""ICMP probing cost: nfvmon's engine against fping and a `ping` subprocess per target.

    python benchmarks/bench_probes.py [--sizes 1000 5000 10000] [--idle-seconds 60]

Each size probes that many loopback targets (127.0.0.0/8) once, with a 1 s timeout, three
ways in the same run: nfvmon's IcmpProber (one raw socket, asyncio), `fping -c1 -t1000 -q
-i0` (Debian package fping), and one `ping -c1 -W1` subprocess per target (what the reference
implementation did; 64 at a time). For each: wall time, CPU time, CPU per probe, and false
results (targets reported dead: every loopback address answers). Then the idle cost: CPU used
while monitoring 1 and 1,000 targets at a 1 s interval for --idle-seconds.
Goals: CPU per probe no more than fping's, at least 100x less than a subprocess per probe,
zero false results, and under 1% of a core for one target at a 1 s interval.
Needs root (raw ICMP sockets) or net.ipv4.ping_group_range covering the user's group.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from nfvmon.actions.monitor import probe_round  # noqa: E402
from nfvmon.actions.probes.icmp import IcmpProber  # noqa: E402


def loopback_targets(count: int) -> list[str]:
    return [f"127.{1 + i // 65025}.{1 + i // 255 % 255}.{1 + i % 255}" for i in range(count)]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_nfvmon(targets: list[str]) -> tuple[float, float, int]:
    async def probe_all():
        prober = IcmpProber()
        try:
            return await asyncio.gather(*(prober.echo(t, 1.0) for t in targets))
        finally:
            prober.close()

    wall, cpu = time.perf_counter(), self_cpu()
    results = asyncio.run(probe_all())
    return time.perf_counter() - wall, self_cpu() - cpu, sum(r is None for r in results)


def run_fping(targets: list[str]) -> tuple[float, float, int] | None:
    if shutil.which("fping") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(targets) + "\n")
        listing.flush()
        wall, cpu = time.perf_counter(), children_cpu()
        done = subprocess.run(["fping", "-c1", "-t1000", "-q", "-i0", "-f", listing.name],
                              capture_output=True, text=True, check=False)
        wall, cpu = time.perf_counter() - wall, children_cpu() - cpu
    alive = len(re.findall(r"xmt/rcv/%loss = 1/1/", done.stderr))
    return wall, cpu, len(targets) - alive


def run_subprocesses(targets: list[str]) -> tuple[float, float, int] | None:
    if shutil.which("ping") is None:
        return None

    def one(target: str) -> bool:
        return subprocess.run(["ping", "-c1", "-W1", "-n", "-q", target],
                              capture_output=True, check=False).returncode == 0

    wall, cpu = time.perf_counter(), children_cpu()
    with ThreadPoolExecutor(64) as pool:
        alive = sum(pool.map(one, targets))
    return time.perf_counter() - wall, children_cpu() - cpu, len(targets) - alive


def idle_cost(count: int, seconds: float) -> tuple[float, int]:
    """CPU seconds used monitoring `count` targets at a 1 s interval for `seconds`."""
    targets = loopback_targets(count)

    async def monitor():
        prober = IcmpProber()
        rounds = [0]

        async def loop(target: str):
            while True:
                started = time.monotonic()
                await probe_round(lambda t: _alive(prober.echo(target, t)), 3, 1.0)
                rounds[0] += 1
                await asyncio.sleep(max(0.0, started + 1.0 - time.monotonic()))

        tasks = [asyncio.create_task(loop(t)) for t in targets]
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        prober.close()
        return rounds[0]

    cpu = self_cpu()
    rounds = asyncio.run(monitor())
    return self_cpu() - cpu, rounds


async def _alive(echo) -> bool:
    return await echo is not None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()

    print(f"{'targets':>8} {'method':<22} {'wall s':>8} {'CPU s':>8} {'CPU/probe us':>13} "
          f"{'false':>6}")
    goals = []
    for size in args.sizes:
        targets = loopback_targets(size)
        figures = {"nfvmon IcmpProber": run_nfvmon(targets),
                   "fping -i0": run_fping(targets),
                   "ping subprocess each": run_subprocesses(targets)}
        for method, result in figures.items():
            if result is None:
                print(f"{size:>8} {method:<22} not installed (apt-get install fping "
                      f"iputils-ping)")
                continue
            wall, cpu, false = result
            print(f"{size:>8} {method:<22} {wall:>8.2f} {cpu:>8.3f} {cpu / size * 1e6:>13.1f} "
                  f"{false:>6}")
        ours = figures["nfvmon IcmpProber"]
        goals.append(ours[2] == 0)
        if figures["fping -i0"]:
            goals.append(ours[1] <= figures["fping -i0"][1])
        if figures["ping subprocess each"]:
            goals.append(ours[1] * 100 <= figures["ping subprocess each"][1])
    for count in (1, 1000):
        cpu, rounds = idle_cost(count, args.idle_seconds)
        share = cpu / args.idle_seconds
        print(f"idle: {count:>5} target(s) at a 1 s interval for {args.idle_seconds:g} s: "
              f"CPU {cpu:.3f} s = {share:.2%} of a core ({rounds} rounds)")
        if count == 1:
            goals.append(share < 0.01)
    print("goals (zero false results; CPU/probe <= fping; >= 100x below a subprocess; "
          "idle 1 target < 1% of a core):", "met" if all(goals) else "NOT all met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
