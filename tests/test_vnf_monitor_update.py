"""A VNF monitor's `update`: re-target the VDUs that changed or were renewed, keep the rest."""

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
