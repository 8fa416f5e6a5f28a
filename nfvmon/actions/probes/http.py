"""The process's one aiohttp session for HTTP(S) probes: keep-alive, a bounded pool.

The probes themselves (what a GET means) are the probe-type plugins (nfvmon/probes/); they
borrow this session through the engine, so every HTTP-based probe type shares one pool.
"""

from __future__ import annotations

import aiohttp


class HttpProber:
    def __init__(self, limit: int = 2000):
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The session, opened on first use (inside the engine's event loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=4,
                                             ttl_dns_cache=None, force_close=False)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
