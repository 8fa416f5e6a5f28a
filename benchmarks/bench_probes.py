"""ICMP probing cost: nfvmon's engine against fping and a `ping` subprocess per target.

    python benchmarks/bench_probes.py [--sizes 1000 5000 10000] [--idle-seconds 60]

Each size probes that many loopback targets (127.0.0.0/8) once, with a 1 s timeout, three
ways in the same run: nfvmon's batched engine (`IcmpProber.echo_many`, the call the
monitors' round scheduler makes; one raw socket, asyncio), `fping -c1 -t1000 -q -i0`
(Debian package fping), and one `ping -c1 -W1` subprocess per target (what the reference
implementation did; 64 at a time). For each: wall time, CPU time, CPU per probe, the kernel's
share of that CPU time (the round trips are kernel work whoever sends them), and false results
(targets reported dead: every loopback address answers). Then the idle cost: CPU used while
monitoring 1 and 1,000 targets at a 1 s interval for --idle-seconds, through the round
scheduler the VIM and VNF monitors use (`icmp_rounds(prober).follow`, 3 probes of 1 s at
most a round; the 1,000 start spread over a second, as VNF targets do).
Goals: CPU per probe no more than fping's, at least 100x less than a subprocess per probe,
zero false results, and under 1% of a core for one target at a 1 s interval.
Needs root (raw ICMP sockets) or net.ipv4.ping_group_range covering the user's group.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from nfvmon.actions.probes.icmp import IcmpProber  # noqa: E402
from nfvmon.actions.rounds import icmp_rounds  # noqa: E402


def loopback_targets(count: int) -> list[str]:
    return [f"127.{1 + i // 65025}.{1 + i // 255 % 255}.{1 + i % 255}" for i in range(count)]


class Cpu:
    """CPU time used by this process (or its waited-for children): user + kernel, and the
    kernel's part (the round trips themselves are kernel work, whoever sends them)."""

    def __init__(self, who: int = resource.RUSAGE_SELF):
        self.who = who
        usage = resource.getrusage(who)
        self.user, self.system = usage.ru_utime, usage.ru_stime

    def since(self, start: Cpu) -> tuple[float, float]:
        """(CPU seconds, kernel seconds) from `start` to this."""
        system = self.system - start.system
        return self.user - start.user + system, system


def children_cpu() -> Cpu:
    return Cpu(resource.RUSAGE_CHILDREN)


def self_cpu() -> Cpu:
    return Cpu()


def run_nfvmon(targets: list[str]) -> tuple[float, tuple[float, float], int]:
    async def probe_all():
        prober = IcmpProber()
        try:
            return await prober.echo_many(targets, 1.0)
        finally:
            prober.close()

    wall, cpu = time.perf_counter(), self_cpu()
    results = asyncio.run(probe_all())
    return time.perf_counter() - wall, self_cpu().since(cpu), sum(r is None for r in results)


def run_fping(targets: list[str]) -> tuple[float, tuple[float, float], int] | None:
    if shutil.which("fping") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(targets) + "\n")
        listing.flush()
        wall, cpu = time.perf_counter(), children_cpu()
        done = subprocess.run(["fping", "-c1", "-t1000", "-q", "-i0", "-f", listing.name],
                              capture_output=True, text=True, check=False)
        wall, cpu = time.perf_counter() - wall, children_cpu().since(cpu)
    alive = len(re.findall(r"xmt/rcv/%loss = 1/1/", done.stderr))
    return wall, cpu, len(targets) - alive


def run_subprocesses(targets: list[str]) -> tuple[float, tuple[float, float], int] | None:
    if shutil.which("ping") is None:
        return None

    def one(target: str) -> bool:
        return subprocess.run(["ping", "-c1", "-W1", "-n", "-q", target],
                              capture_output=True, check=False).returncode == 0

    wall, cpu = time.perf_counter(), children_cpu()
    with ThreadPoolExecutor(64) as pool:
        alive = sum(pool.map(one, targets))
    return time.perf_counter() - wall, children_cpu().since(cpu), len(targets) - alive


def idle_cost(count: int, seconds: float) -> tuple[float, int, int]:
    """CPU seconds used monitoring `count` targets at a 1 s interval for `seconds`; the
    rounds done, and how many of them failed."""
    targets = loopback_targets(count)

    async def monitor():
        prober = IcmpProber()
        rounds = icmp_rounds(prober)
        done, failed = [0], [0]

        def on_round(alive: bool) -> None:
            done[0] += 1
            failed[0] += not alive

        async def follow(target: str):
            if count > 1:  # as VnfMonitor._probe_loop spreads its targets' first rounds
                await asyncio.sleep(random.uniform(0, 1.0))
            await rounds.follow(target, 3, 1.0, 1.0, on_round)

        tasks = [asyncio.create_task(follow(t)) for t in targets]
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        prober.close()
        return done[0], failed[0]

    cpu = self_cpu()
    done, failed = asyncio.run(monitor())
    return self_cpu().since(cpu)[0], done, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()

    print(f"{'targets':>8} {'method':<22} {'wall s':>8} {'CPU s':>8} {'CPU/probe us':>13} "
          f"{'kernel':>7} {'false':>6}")
    goals: dict[str, list[bool]] = {"zero false results": [], "CPU/probe <= fping": [],
                                    ">= 100x below a subprocess": [],
                                    "idle 1 target < 1% of a core": []}
    for size in args.sizes:
        targets = loopback_targets(size)
        figures = {"nfvmon echo_many": run_nfvmon(targets),
                   "fping -i0": run_fping(targets),
                   "ping subprocess each": run_subprocesses(targets)}
        for method, result in figures.items():
            if result is None:
                print(f"{size:>8} {method:<22} not installed (apt-get install fping "
                      f"iputils-ping)")
                continue
            wall, (cpu, kernel), false = result
            print(f"{size:>8} {method:<22} {wall:>8.2f} {cpu:>8.3f} {cpu / size * 1e6:>13.1f} "
                  f"{kernel / cpu if cpu else 0:>7.0%} {false:>6}")
        ours = figures["nfvmon echo_many"]
        goals["zero false results"].append(ours[2] == 0)
        if figures["fping -i0"]:
            goals["CPU/probe <= fping"].append(ours[1][0] <= figures["fping -i0"][1][0])
        if figures["ping subprocess each"]:
            goals[">= 100x below a subprocess"].append(
                ours[1][0] * 100 <= figures["ping subprocess each"][1][0])
    for count in (1, 1000):
        cpu, rounds, failed = idle_cost(count, args.idle_seconds)
        share = cpu / args.idle_seconds
        print(f"idle: {count:>5} target(s) at a 1 s interval for {args.idle_seconds:g} s: "
              f"CPU {cpu:.3f} s = {share:.2%} of a core ({rounds} rounds, {failed} failed)")
        goals["zero false results"].append(failed == 0)
        if count == 1:
            goals["idle 1 target < 1% of a core"].append(share < 0.01)
    for goal, results in goals.items():
        verdict = "not measured" if not results else "met" if all(results) else (
            f"NOT met ({results.count(False)} of {len(results)})")
        print(f"goal: {goal}: {verdict}")
    met = all(all(results) for results in goals.values())
    print("goals:", "all met" if met else "NOT all met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
