"""`tcp`: a TCP connect to `port`; alive when the connection is accepted (then closed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nfvmon.probes.interface import PORT, Parameter, Probe, ProbeEngine, round_parameters


async def tcp_connect(address: str, port: int, timeout: float) -> bool:
    """True when a TCP connection to address:port is accepted within `timeout`."""
    import asyncio

    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port),
                                                 timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


class Tcp(Probe):
    name = "tcp"
    summary = "TCP connect to `port`"
    parameters = (*round_parameters(count=1, timeout=5), Parameter("port", PORT, 22))

    async def probe(self, engine: ProbeEngine, address: str, params: Mapping[str, Any],
                    timeout: float) -> bool:
        return await tcp_connect(address, params["port"], timeout)
