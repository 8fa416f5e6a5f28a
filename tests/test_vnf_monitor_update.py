"""A VNF monitor's `update` (re-target the VDUs that changed or were renewed, keep the rest)
and its `resync` (re-send only what it has judged)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from nfvmon.actions.vnf_monitor import VnfMonitor


class _Icmp:
    async def echo(self, address, timeout):
        await asyncio.sleep(0.01)
        return 0.001


def _policy(vdu: str, ips: list[str]) -> dict:
    return {"vdu": vdu, "mgmt_ips": ips, "monitor": "ping",
            "parameters": {"monitoring_delay": 60, "count": 1, "interval": 0.05, "timeout": 1,
                           "retry": 1}, "actions": {"failure": "respawn"}}


def test_update_retargets_changed_and_renewed_vdus_only():
    async def scenario():
        monitor = VnfMonitor(SimpleNamespace(icmp=_Icmp()), "vnf-1",
                             [_policy("VDU1", ["127.0.0.2"]), _policy("VDU2", ["127.0.0.3"]),
                              _policy("VDU3", ["127.0.0.4"])], "a1")
        monitor.start_probing()
        before = {key: task for key, (task, _t) in monitor._targets.items()}
        monitor.on_update({"mgmt_ips": {"VDU1": ["127.0.0.2"], "VDU2": ["127.0.0.5"],
                                        "VDU3": ["127.0.0.4"]}, "renewed": ["VDU1"]})
        after = {key: task for key, (task, _t) in monitor._targets.items()}
        await asyncio.sleep(0)
        try:
            assert set(after) == {(0, "127.0.0.2"), (1, "127.0.0.5"), (2, "127.0.0.4")}
            assert after[(0, "127.0.0.2")] is not before[(0, "127.0.0.2")]  # renewed in place
            assert before[(1, "127.0.0.3")].cancelled()  # moved away
            assert after[(2, "127.0.0.4")] is before[(2, "127.0.0.4")]  # untouched, kept
        finally:
            for task in monitor._tasks:
                task.cancel()
            await asyncio.gather(*monitor._tasks, return_exceptions=True)

    asyncio.run(scenario())


class _Reports:
    """Stands in for the monitor's reporter: what it was asked to send."""

    def __init__(self):
        self.sent = []

    def report(self, key, payload):
        self.sent.append((payload["target"], payload["event"]))


def _resynced(observations: dict[str, list[bool]], retry: int = 1) -> list[tuple[str, str]]:
    """Resync a VNF monitor (DEAD at the conductor, say) after its targets saw these rounds."""
    policy = _policy("VDU1", list(observations))
    policy["parameters"].update(monitoring_delay=0, retry=retry)
    monitor = VnfMonitor(SimpleNamespace(icmp=_Icmp()), "vnf-1", [policy], "a1")
    monitor.reporter = _Reports()
    for address, rounds in observations.items():
        tracker = _tracker(policy)
        for alive in rounds:
            tracker.observe(alive, now=1.0)
        monitor._targets[(0, address)] = (None, tracker)
    monitor.resync()
    return monitor.reporter.sent


def _tracker(policy):
    from nfvmon.actions.tracking import TargetTracker

    return TargetTracker(retry=policy["parameters"]["retry"], monitoring_delay=0,
                         started_at=0.0)


def test_resync_resends_only_what_the_monitor_has_judged():
    # Just started, no round seen yet: a DEAD VNF must not be called alive.
    assert _resynced({"127.0.0.2": [], "127.0.0.3": []}) == []
    # A target answered: one recovery.
    assert _resynced({"127.0.0.2": [], "127.0.0.3": [True]}) == [("127.0.0.3", "recovery")]
    # A target whose last round failed (fewer than `retry` so far) is not called alive.
    assert _resynced({"127.0.0.2": [True, False]}, retry=2) == []
    # A failed target wins over live ones: its failure is re-sent.
    assert _resynced({"127.0.0.2": [True], "127.0.0.3": [False]}) == [("127.0.0.3", "failure")]
