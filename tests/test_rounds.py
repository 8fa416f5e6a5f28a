"""The ICMP round scheduler: the round semantics of tracking.py, driven by a stand-in prober
with short timings, then once against the real prober (loopback, and a namespace host)."""

from __future__ import annotations

import asyncio
import statistics
from itertools import pairwise

import pytest

from nfvmon.actions.probes.icmp import IcmpProber
from nfvmon.actions.rounds import IcmpRounds, icmp_rounds


class _Prober:
    """Answers the addresses in `alive` after `rtt`; never the others. Records every batch
    and checks that no address has two probes in flight."""

    def __init__(self, alive=(), rtt: float = 0.001):
        self.alive = set(alive)
        self.rtt = rtt
        self.batches: list[tuple[float, list[str]]] = []
        self.in_flight: set[str] = set()

    def probes(self, address: str) -> list[float]:
        return [when for when, addresses in self.batches for a in addresses if a == address]

    async def echo_many(self, addresses, timeout, on_answer=None):
        loop = asyncio.get_running_loop()
        self.batches.append((loop.time(), list(addresses)))
        assert not self.in_flight & set(addresses), "a round overlapped the previous one"
        self.in_flight |= set(addresses)
        rtts = [None] * len(addresses)
        waiting = [i for i, a in enumerate(addresses) if a not in self.alive]
        try:
            await asyncio.sleep(min(self.rtt, timeout))
            for index, address in enumerate(addresses):
                if address in self.alive:
                    rtts[index] = self.rtt
                    self.in_flight.discard(address)
                    if on_answer is not None:
                        on_answer(index, self.rtt)
            if waiting:
                await asyncio.sleep(timeout - min(self.rtt, timeout))
        finally:
            self.in_flight -= set(addresses)
        return rtts


def _follow(rounds: IcmpRounds, address: str, results: list, *, count=1, timeout=0.05,
            interval=0.05) -> asyncio.Task:
    loop = asyncio.get_running_loop()

    def on_round(alive: bool) -> None:
        results.append((loop.time(), alive))

    return asyncio.create_task(rounds.follow(address, count, timeout, interval, on_round))


async def _stop(*tasks: asyncio.Task) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_a_dead_targets_round_takes_count_probes_of_timeout_each_and_fails():
    async def scenario():
        prober = _Prober()
        results: list = []
        started = asyncio.get_running_loop().time()
        task = _follow(IcmpRounds(prober), "192.0.2.1", results, count=3, timeout=0.05,
                       interval=10)
        while not results:
            await asyncio.sleep(0.01)
        await _stop(task)
        return started, results, prober.probes("192.0.2.1")

    started, results, probes = asyncio.run(scenario())
    assert [alive for _when, alive in results] == [False]
    assert len(probes) == 3
    assert all(b - a >= 0.05 for a, b in pairwise(probes))  # one after another
    assert results[0][0] - started >= 3 * 0.05


def test_a_live_targets_round_succeeds_at_its_first_answer():
    async def scenario():
        prober = _Prober(alive={"192.0.2.1"})
        results: list = []
        task = _follow(IcmpRounds(prober), "192.0.2.1", results, count=3, interval=10)
        while not results:
            await asyncio.sleep(0.01)
        await _stop(task)
        return results, prober.probes("192.0.2.1")

    results, probes = asyncio.run(scenario())
    assert [alive for _when, alive in results] == [True]
    assert len(probes) == 1


def test_rounds_start_every_interval():
    async def scenario():
        prober = _Prober(alive={"192.0.2.1"})
        results: list = []
        task = _follow(IcmpRounds(prober), "192.0.2.1", results, interval=0.1)
        await asyncio.sleep(0.65)
        await _stop(task)
        return results, prober.probes("192.0.2.1")

    results, probes = asyncio.run(scenario())
    assert 4 <= len(results) <= 8 and all(alive for _when, alive in results)
    gaps = [b - a for a, b in pairwise(probes)]
    assert 0.08 <= statistics.median(gaps) <= 0.13, gaps


def test_a_long_round_is_followed_at_once_and_never_overlaps_the_next():
    async def scenario():
        prober = _Prober()  # asserts that no two probes of one address are in flight
        results: list = []
        # each round lasts its one 0.1 s timeout, longer than the interval
        task = _follow(IcmpRounds(prober), "192.0.2.1", results, timeout=0.1, interval=0.07)
        await asyncio.sleep(0.65)
        await _stop(task)
        return results, prober.probes("192.0.2.1")

    results, probes = asyncio.run(scenario())
    assert 3 <= len(results) <= 7 and not any(alive for _when, alive in results)
    gaps = [b - a for a, b in pairwise(probes)]
    assert min(gaps) >= 0.099, gaps  # the next round waits for the end of this one
    # ... and no more: not another interval (0.17 s), nor the next multiple of it (0.14 s)
    assert statistics.median(gaps) < 0.13, gaps


def test_rounds_due_in_the_same_tick_share_one_batch():
    async def scenario():
        addresses = [f"192.0.2.{i}" for i in range(1, 101)]
        prober = _Prober(alive=addresses)
        rounds = IcmpRounds(prober)
        results: list = []
        tasks = [_follow(rounds, a, results, interval=10) for a in addresses]
        while len(results) < 100:
            await asyncio.sleep(0.01)
        await _stop(*tasks)
        return prober.batches

    batches = asyncio.run(scenario())
    assert sum(len(addresses) for _when, addresses in batches) == 100
    assert len(batches) <= 2  # the tasks may straddle a tick boundary


def test_a_cancelled_target_is_probed_no_more():
    async def scenario():
        prober = _Prober(alive={"192.0.2.1"})
        rounds = IcmpRounds(prober)
        results: list = []
        task = _follow(rounds, "192.0.2.1", results, interval=0.02)
        other = _follow(rounds, "192.0.2.2", [], interval=0.02)
        while len(results) < 3:
            await asyncio.sleep(0.01)
        await _stop(task)
        probed, others = len(prober.probes("192.0.2.1")), len(prober.probes("192.0.2.2"))
        while len(prober.probes("192.0.2.2")) < others + 5:  # the other goes on meanwhile
            await asyncio.sleep(0.01)
        await _stop(other)
        return probed, prober.probes("192.0.2.1")

    probed, probes = asyncio.run(scenario())
    assert len(probes) == probed


def test_a_failing_round_callback_ends_that_target_only():
    async def scenario():
        prober = _Prober(alive={"192.0.2.1", "192.0.2.2"})
        rounds = IcmpRounds(prober)

        def broken(alive: bool) -> None:
            raise RuntimeError("tracker broke")

        failing = asyncio.create_task(rounds.follow("192.0.2.1", 1, 0.05, 0.02, broken))
        results: list = []
        healthy = _follow(rounds, "192.0.2.2", results, interval=0.02)
        with pytest.raises(RuntimeError, match="tracker broke"):
            await asyncio.wait_for(failing, 1)
        probed = len(prober.probes("192.0.2.1"))
        healthy_probes = len(prober.probes("192.0.2.2"))
        # Three more rounds of the other target: batches the failed one would be in.
        while len(prober.probes("192.0.2.2")) < healthy_probes + 3:
            await asyncio.sleep(0.01)
        await _stop(healthy)
        return probed, len(prober.probes("192.0.2.1")), results

    probed, later, results = asyncio.run(scenario())
    assert probed == later == 1
    assert len(results) >= 3


def test_a_prober_error_is_raised_by_every_target_of_the_batch():
    class Broken(_Prober):
        async def echo_many(self, addresses, timeout, on_answer=None):
            raise PermissionError("no raw sockets")

    async def scenario():
        rounds = IcmpRounds(Broken())
        tasks = [asyncio.create_task(rounds.follow(a, 1, 0.05, 1, lambda alive: None))
                 for a in ("192.0.2.1", "192.0.2.2")]
        return await asyncio.gather(*tasks, return_exceptions=True)

    assert [type(r) for r in asyncio.run(scenario())] == [PermissionError, PermissionError]


def test_the_engines_prober_has_one_scheduler():
    prober = _Prober()
    assert icmp_rounds(prober) is icmp_rounds(prober)
    assert icmp_rounds(prober) is not icmp_rounds(_Prober())


def test_real_loopback_targets_are_alive_round_after_round():
    async def scenario():
        prober = IcmpProber()
        rounds = IcmpRounds(prober)
        results = {a: [] for a in ("127.0.0.1", "127.0.0.2", "::1")}
        tasks = [_follow(rounds, a, r, count=2, timeout=1, interval=0.05)
                 for a, r in results.items()]
        try:
            while min(len(r) for r in results.values()) < 3:
                await asyncio.sleep(0.02)
        finally:
            await _stop(*tasks)
            prober.close()
        return results

    for address, results in asyncio.run(scenario()).items():
        assert all(alive for _when, alive in results), address


def test_a_namespace_host_is_alive_until_its_link_goes_down(netns_host):
    async def scenario():
        prober = IcmpProber()
        rounds = IcmpRounds(prober)
        results: list = []
        task = _follow(rounds, netns_host.address, results, count=2, timeout=0.3,
                       interval=0.1)
        try:
            while not results:
                await asyncio.sleep(0.02)
            netns_host.down()
            down_at = len(results)
            while not any(not alive for _when, alive in results[down_at:]):
                await asyncio.sleep(0.05)
        finally:
            await _stop(task)
            prober.close()
        return results

    results = asyncio.run(scenario())
    assert results[0][1] is True
    assert results[-1][1] is False
