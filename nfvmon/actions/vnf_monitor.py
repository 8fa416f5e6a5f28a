"""A VNF's monitor: one probe loop per (policy, management IP); `retry` failed rounds make a
`failure` event for execute_policy_action; `update` re-targets respawned or scaled VDUs."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping

from nfvmon.actions import tracking
from nfvmon.actions.monitor import Monitor
from nfvmon.actions.runtime import Engine
from nfvmon.probes import get_probe

LOG = logging.getLogger(__name__)


async def probe_round(probe: Callable[[float], Awaitable[bool]], count: int,
                      timeout: float) -> bool:
    """Up to `count` probes one after another; True at the first answer (see tracking.py)."""
    for _ in range(count):
        if await probe(timeout):
            return True
    return False


class VnfMonitor(Monitor):
    kind = "VNF"
    resource_type = "vnf"

    def __init__(self, engine: Engine, vnf_id: str, policies: list[dict], action_id: str):
        super().__init__(engine, action_id)
        self.vnf_id = vnf_id
        self.policies = [dict(p) for p in policies]
        self.believed = "ACTIVE"
        self._targets: dict[tuple[int, str], tuple[asyncio.Task, tracking.TargetTracker]] = {}

    def identity(self):
        return {"vnf_id": self.vnf_id}

    def resource_id(self) -> str:
        return self.vnf_id

    def start_probing(self):
        for index, policy in enumerate(self.policies):
            for address in policy["mgmt_ips"]:
                self._start_target(index, address)

    def _start_target(self, index: int, address: str) -> None:
        params = self.policies[index]["parameters"]
        tracker = tracking.TargetTracker(retry=params["retry"],
                                         monitoring_delay=params["monitoring_delay"],
                                         started_at=time.monotonic())
        task = self.spawn(self._probe_loop(index, address, tracker))
        self._targets[(index, address)] = (task, tracker)

    async def _probe_loop(self, index: int, address: str,
                          tracker: tracking.TargetTracker) -> None:
        policy = self.policies[index]
        params = policy["parameters"]

        def observe(alive: bool) -> None:
            event = tracker.observe(alive, time.monotonic())
            if event is not None:
                LOG.info("VNF %s VDU %s (%s, %s): %s", self.vnf_id, policy["vdu"], address,
                         policy["monitor"], event)
                self.reporter.report((policy["vdu"], address, policy["monitor"]),
                                     self._event(policy, address, event))

        probe_type = get_probe(policy["monitor"])  # an `nfvmon.probes` plugin

        def probe(timeout: float) -> Awaitable[bool]:
            return probe_type.probe(self.engine, address, params, timeout)

        await asyncio.sleep(random.uniform(0, min(params["interval"], 1.0)))
        if probe_type.batched:  # whole rounds on a scheduler shared by all targets (ICMP)
            await probe_type.follow(self.engine, address, params, observe)
            return
        while True:
            started = time.monotonic()
            observe(await probe_round(probe, params["count"], params["timeout"]))
            await asyncio.sleep(max(0.0, started + params["interval"] - time.monotonic()))

    @staticmethod
    def _event(policy: dict, address: str, event: str) -> dict:
        return {"vdu": policy["vdu"], "target": address, "event": event,
                "monitor": policy["monitor"], "actions": dict(policy["actions"])}

    def send(self, event: dict) -> str:
        report = {key: event[key] for key in ("vdu", "target", "event", "monitor")}
        return self._api.execute_policy_action({}, {"id": self.vnf_id}, report,
                                               event["actions"], self.action_id)

    def resync(self) -> None:
        """Re-send what this monitor has judged: every failed target, or else one recovery
        if a target's last round, after monitoring_delay, was answered. Nothing before that:
        a monitor that has not yet seen such a round (one just started, as the conductor's
        reconciler or a scale starts them) must not call a DEAD VNF alive."""
        failed = [(i, a) for (i, a), (_t, tr) in self._targets.items() if tr.reported]
        alive = [(i, a) for (i, a), (_t, tr) in self._targets.items()
                 if tr.judged and tr.failed_rounds == 0]
        for index, address in failed or alive[:1]:
            policy = self.policies[index]
            self.reporter.report((policy["vdu"], address, policy["monitor"]),
                                 self._event(policy, address,
                                             tracking.FAILURE if failed else tracking.RECOVERY))

    def on_update(self, parameter: dict) -> None:
        """New management IPs (after respawn, heal or scale): re-target those VDUs.

        `parameter`: {"mgmt_ips": {VDU: [IP, ...]}, "renewed": [VDU, ...]}; a VDU is
        re-targeted when its addresses changed or it is named in `renewed` (respawned in
        place); the other VDUs keep their targets and their state."""
        mgmt_ips = parameter.get("mgmt_ips")
        if not isinstance(mgmt_ips, Mapping):
            LOG.warning("VNF monitor %s: update without mgmt_ips ignored", self.action_id)
            return
        renewed = set(parameter.get("renewed") or ())
        for index, policy in enumerate(self.policies):
            if policy["vdu"] not in mgmt_ips:
                continue
            new = [str(a) for a in mgmt_ips[policy["vdu"]]]
            if new == policy["mgmt_ips"] and policy["vdu"] not in renewed:
                continue  # untouched VDU: keep its targets and their state
            # The VDU was respawned, healed or scaled: judge every address afresh, after
            # monitoring_delay, even one that kept its address.
            for (i, address), (task, _tracker) in list(self._targets.items()):
                if i == index:
                    task.cancel()
                    del self._targets[(i, address)]
            for address in new:
                self._start_target(index, address)
            policy["mgmt_ips"] = new
            LOG.info("VNF %s VDU %s now monitored at %s", self.vnf_id, policy["vdu"],
                     ", ".join(new))
