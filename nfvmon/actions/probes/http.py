"""HTTP liveness probes with aiohttp: one session per process, keep-alive, per-probe timeout.

Alive means the VDU answered HTTP at all with a status below 500: 2xx, 3xx (not followed) and
4xx (401, 404, ...) prove the server is up; 5xx, a refused or reset connection, and a timeout
are failures.
"""

from __future__ import annotations

import asyncio
import ipaddress

import aiohttp


def url_for(address: str, port: int, path: str = "/") -> str:
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    return f"http://{host}:{port}{path}"


class HttpProber:
    def __init__(self, limit: int = 2000):
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=4,
                                             ttl_dns_cache=None, force_close=False)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    async def get(self, address: str, port: int, timeout: float, path: str = "/") -> bool:
        """True when the server answered with a status below 500 within `timeout`."""
        try:
            async with self._client().get(
                    url_for(address, port, path), allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                await response.read()
                return response.status < 500
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def tcp_connect(address: str, port: int, timeout: float) -> bool:
    """True when a TCP connection to address:port is accepted within `timeout`."""
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
