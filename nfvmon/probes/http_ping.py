"""`http_ping` (also spelt `http-ping`): an HTTP GET on `port`.

Alive means the VDU answered HTTP at all with a status below 500: 2xx, 3xx (not followed) and
4xx (401, 404, ...) prove the server is up; 5xx, a refused or reset connection, and a timeout
are failures. The engine's one aiohttp session keeps connections alive between rounds.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from nfvmon.probes.interface import PORT, Parameter, Probe, ProbeEngine, round_parameters


def url_for(scheme: str, address: str, port: int, path: str = "/") -> str:
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    return f"{scheme}://{host}:{port}{path}"


async def answered(session: Any, url: str, timeout: float, **request: Any) -> bool:
    """True when a GET of `url` got a status below 500 within `timeout` (`request`: more
    aiohttp request arguments, such as `ssl` or `server_hostname`)."""
    import aiohttp

    try:
        async with session.get(url, allow_redirects=False,
                               timeout=aiohttp.ClientTimeout(total=timeout),
                               **request) as response:
            await response.read()
            return response.status < 500
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


class HttpPing(Probe):
    name = "http_ping"
    aliases = ("http-ping",)
    summary = "HTTP GET on `port`; alive at any status below 500"
    parameters = (*round_parameters(count=1, timeout=5), Parameter("port", PORT, 80))

    async def probe(self, engine: ProbeEngine, address: str, params: Mapping[str, Any],
                    timeout: float) -> bool:
        return await answered(engine.http_session(), url_for("http", address, params["port"]),
                              timeout)
