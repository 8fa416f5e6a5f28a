"""What the actions share inside one Mistral executor process.

One asyncio engine thread runs every monitor loop of the process, with one ICMP prober (one
socket per address family), one HTTP session, and a small thread pool for the blocking
oslo.messaging calls. One oslo.messaging transport per process is opened lazily and reused:
a transport per call costs about 20 ms and leaves a `reply_*` queue on the broker. One
control hub (control.py) delivers every monitor's kill and update messages.

Settings come from nfvmon's configuration on the executor host, never from the workflow (so
no broker password is stored in Mistral): the file named by NFVMON_CONFIG_FILE, else
/etc/nfvmon/nfvmon.conf; without `transport_url` there, Mistral's own is used. Its
`[mistral]` options (a URL, or Keystone's: auth_type, auth_url, username, ...) say how the
actions reach Mistral's API; one keystoneauth session per process serves every thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from nfvmon.actions.probes.http import HttpProber
from nfvmon.actions.probes.icmp import IcmpProber
from nfvmon.actions.rounds import icmp_rounds

DEFAULT_CONFIG_FILE = "/etc/nfvmon/nfvmon.conf"


@dataclass(frozen=True)
class Settings:
    transport_url: str | None
    topic: str
    checkin_interval: float
    rpc_timeout: float = 30.0
    retry_initial: float = 1.0
    retry_max: float = 60.0
    #: Mistral's API: when set, a monitor whose workflow execution is gone ends itself.
    mistral_url: str | None = None
    mistral_auth_token: str | None = None
    #: How to reach Mistral's API (nfvmon.mistral_api.Access); else mistral_url is used.
    mistral: Any = None
    #: How long a starting monitor waits for its control queue before probing anyway.
    control_wait: float = 10.0


def load_settings() -> Settings:
    from oslo_config import cfg

    from nfvmon import config, mistral_api

    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf.register_opt(cfg.StrOpt("transport_url", secret=True))
    path = os.environ.get("NFVMON_CONFIG_FILE", DEFAULT_CONFIG_FILE)
    conf(args=[], project="nfvmon", default_config_files=[path] if os.path.exists(path) else [])
    return Settings(transport_url=conf.transport_url, topic=conf.conductor.topic,
                    checkin_interval=float(conf.conductor.checkin_interval),
                    # A call sent into a broker outage waits this long for its answer: no
                    # longer than a check-in interval, so a check-in after the outage is
                    # never held back by one sent into it.
                    rpc_timeout=min(30.0, float(conf.conductor.checkin_interval)),
                    mistral_url=conf.mistral.url,
                    mistral_auth_token=conf.mistral.auth_token,
                    mistral=(mistral_api.Access(conf) if mistral_api.configured(conf)
                             else None))


class Engine:
    """The process-wide asyncio loop in a daemon thread, and the shared clients."""

    def __init__(self, settings: Settings, transport=None):
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.icmp = IcmpProber()
        self.http = HttpProber()
        self.blocking = concurrent.futures.ThreadPoolExecutor(32, thread_name_prefix="nfvmon-rpc")
        self._transport = transport
        self._owns_transport = transport is None
        self._transport_lock = threading.Lock()
        self._control = None
        self._local = threading.local()
        #: How the actions reach Mistral's API; None when the configuration names no Mistral.
        self.mistral_access = settings.mistral
        if self.mistral_access is None and settings.mistral_url:
            from nfvmon.mistral_api import Access

            self.mistral_access = Access(url=settings.mistral_url,
                                         auth_token=settings.mistral_auth_token)
        self._thread = threading.Thread(target=self.loop.run_forever, name="nfvmon-engine",
                                        daemon=True)
        self._thread.start()

    # --- what the probe plugins borrow (nfvmon.probes.interface.ProbeEngine) -------------

    def http_session(self):
        return self.http.session()

    async def icmp_follow(self, address: str, count: int, timeout: float, interval: float,
                          on_round) -> None:
        await icmp_rounds(self.icmp).follow(address, count, timeout, interval, on_round)

    def submit(self, coroutine: Coroutine) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    async def call_blocking(self, function, *args) -> Any:
        return await self.loop.run_in_executor(self.blocking, function, *args)

    @property
    def transport(self):
        with self._transport_lock:
            if self._transport is None:
                import oslo_messaging as messaging
                from oslo_config import cfg

                self._transport = messaging.get_rpc_transport(
                    cfg.CONF, url=self.settings.transport_url)
            return self._transport

    def mistral(self):
        """A Mistral API client for the calling thread (of the blocking pool), kept so its
        HTTP connection is reused: a client per call costs a TCP connection per call. Their
        Keystone token is the process's one (mistral_api.Access), renewed by keystoneauth."""
        client = getattr(self._local, "mistral", None)
        if client is None:
            client = self._local.mistral = self.mistral_access.client()
        return client

    @property
    def control(self):
        """The process's control hub (see control.py), opened with the transport."""
        transport = self.transport
        with self._transport_lock:
            if self._control is None:
                from nfvmon.actions.control_hubs import control_hub

                self._control = control_hub(transport, self._transport_url())
            return self._control

    def _transport_url(self) -> str | None:
        """The URL of the transport in use; None for one handed in without it (the demo's
        fake://). Not cfg.CONF's `transport_url` then: oslo.messaging defaults it to
        rabbit://, and a RabbitMQ consumer would never see casts sent over that transport."""
        if self.settings.transport_url or not self._owns_transport:
            return self.settings.transport_url
        from oslo_config import cfg

        return getattr(cfg.CONF, "transport_url", None)

    def close(self) -> None:
        async def shutdown():
            self.icmp.close()
            await self.http.close()

        if self.loop.is_running():
            self.submit(shutdown()).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        self.blocking.shutdown(wait=False, cancel_futures=True)
        if self._control is not None:
            self._control.close()
        if self._transport is not None and self._owns_transport:
            self._transport.cleanup()


_engine: Engine | None = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    """The process's engine, started on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine(load_settings())
        return _engine


def reset(settings: Settings | None = None, transport=None) -> Engine | None:
    """Replace the process's engine (tests, the in-process demo, a reloaded configuration).

    `transport`: share an existing oslo.messaging transport (the demo's fake:// one, whose
    messages only reach the same transport object).
    """
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.close()
        _engine = Engine(settings, transport) if settings is not None else None
        return _engine
