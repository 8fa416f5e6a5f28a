"""`https_ping`: an HTTP GET over TLS on `port` (443), alive at any status below 500.

The server's certificate is verified against the system's CAs unless `verify: false` (a VDU
with a self-signed certificate). `host`, when given, is sent as SNI and `Host` and is the
name the certificate must carry; otherwise the management IP is (an IP rarely is in a
certificate: give `host`, or `verify: false`). One SSL context per verify setting per process.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from nfvmon.probes.http_ping import answered, url_for
from nfvmon.probes.interface import (
    BOOLEAN,
    HOSTNAME,
    PORT,
    Parameter,
    Probe,
    ProbeEngine,
    round_parameters,
)


@functools.cache
def _ssl_context(verify: bool):
    import ssl

    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class HttpsPing(Probe):
    name = "https_ping"
    summary = "HTTPS GET on `port`; alive at any status below 500, certificate verified"
    parameters = (*round_parameters(count=1, timeout=5), Parameter("port", PORT, 443),
                  Parameter("verify", BOOLEAN, True,
                            "Verify the server's certificate against the system's CAs."),
                  Parameter("host", HOSTNAME, None,
                            "Server name for SNI, Host and the certificate check."))

    async def probe(self, engine: ProbeEngine, address: str, params: Mapping[str, Any],
                    timeout: float) -> bool:
        host = params.get("host")
        request: dict[str, Any] = {"ssl": _ssl_context(bool(params["verify"]))}
        if host:
            request.update(server_hostname=host, headers={"Host": host})
        return await answered(engine.http_session(), url_for("https", address, params["port"]),
                              timeout, **request)
