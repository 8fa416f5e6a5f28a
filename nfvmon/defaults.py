"""Probe defaults: the one place they live.

The generator fills every missing parameter from here, the actions fall back to the same
values, and the conductor's `[monitor]` options take their defaults from here too, so a
default can never silently differ between the parts (the reference implementation's bug 9).

Units: seconds for `monitoring_delay`, `interval` and `timeout`; `count` is echo requests (or
HTTP/TCP attempts) per round, `retry` is consecutive failed rounds before a `failure` event.
"""

from __future__ import annotations

from types import MappingProxyType

#: How a monitor action runs on Mistral's executor (see nfvmon/actions/modes.py): sync holds
#: an executor thread while the monitor lives; async gives it back at once.
SYNC, ASYNC = "sync", "async"
RUN_MODES = (SYNC, ASYNC)

#: Liveness monitors the actions implement. `http-ping` is accepted as a spelling of `http_ping`.
MONITOR_NAMES = ("ping", "http_ping", "tcp")
MONITOR_ALIASES = MappingProxyType({"http-ping": "http_ping"})

#: Monitor names that mean "no liveness monitoring" (Tacker's NoOp monitor).
NOOP_MONITOR_NAMES = ("noop",)

#: Parameters a VNF monitoring policy may carry (Tacker's MonitoringParams).
VNF_PARAMETER_NAMES = ("monitoring_delay", "count", "interval", "timeout", "retry", "port")

#: Parameters measured in seconds (fractions allowed); the others are whole numbers.
SECONDS_PARAMETERS = ("monitoring_delay", "interval", "timeout")

_PING = {"monitoring_delay": 45, "count": 3, "interval": 1, "timeout": 2, "retry": 3}

#: Defaults per VNF monitor; `port` only exists for monitors that open a connection.
VNF_MONITOR_DEFAULTS = MappingProxyType(
    {
        "ping": MappingProxyType(dict(_PING)),
        "http_ping": MappingProxyType({**_PING, "count": 1, "timeout": 5, "port": 80}),
        "tcp": MappingProxyType({**_PING, "count": 1, "timeout": 5, "port": 22}),
    }
)

#: Defaults for a VIM's ICMP monitor (the `monitor:` block of a VIM config overrides them).
VIM_MONITOR_DEFAULTS = MappingProxyType({"count": 3, "timeout": 1, "interval": 1})

#: Every monitor's defaults by the name the `[monitor]` options use as prefix (`vim_count`,
#: `ping_interval`, ...); an operator's configured defaults override these per parameter.
ALL_MONITOR_DEFAULTS = MappingProxyType({"vim": VIM_MONITOR_DEFAULTS, **VNF_MONITOR_DEFAULTS})

#: Events a policy's `actions` map may name; the monitor emits `failure` after `retry` rounds.
POLICY_EVENTS = ("failure",)


def canonical_monitor_name(name: str) -> str:
    """Map accepted spellings to the one the actions use (`http-ping` → `http_ping`)."""
    return MONITOR_ALIASES.get(name, name)


def normalise_number(name: str, value: int | float) -> int | float:
    """JSON Schema's `integer` admits 3.0: counts, retries and ports become ints; whole
    seconds stay as written."""
    if name not in SECONDS_PARAMETERS and isinstance(value, float) and value.is_integer():
        return int(value)
    return value
