"""`ping`: ICMP echo. Batched: the engine sends every target's due echo requests of a tick
in one go, so a thousand targets cost a few batches a second (nfvmon/actions/rounds.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nfvmon.probes.interface import Probe, ProbeEngine, round_parameters


class Ping(Probe):
    name = "ping"
    summary = "ICMP echo; alive at the first echo reply of a round"
    parameters = round_parameters(monitoring_delay=45, count=3, interval=1, timeout=2, retry=3)
    batched = True

    async def follow(self, engine: ProbeEngine, address: str, params: Mapping[str, Any],
                     on_round: Callable[[bool], None]) -> None:
        await engine.icmp_follow(address, params["count"], params["timeout"],
                                 params["interval"], on_round)
