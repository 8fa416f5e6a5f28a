"""Probe defaults: the one place they are read from.

The generator fills every missing parameter from here, the actions fall back to the same
values, and the conductor's `[monitor]` options take their defaults from here too, so a
default can never silently differ between the parts (the reference implementation's bug 9).
A VNF monitor's defaults are declared by its probe type (nfvmon/probes/) and read through
this module; the VIM monitor's are written here.

Units: seconds for `monitoring_delay`, `interval` and `timeout`; `count` is echo requests (or
HTTP/TCP attempts) per round, `retry` is consecutive failed rounds before a `failure` event.
"""

from __future__ import annotations

from types import MappingProxyType

#: How a monitor action runs on Mistral's executor (see nfvmon/actions/modes.py): sync holds
#: an executor thread while the monitor lives; async gives it back at once.
SYNC, ASYNC = "sync", "async"
RUN_MODES = (SYNC, ASYNC)

#: Monitor names that mean "no liveness monitoring" (Tacker's NoOp monitor).
NOOP_MONITOR_NAMES = ("noop",)

#: Defaults for a VIM's ICMP monitor (the `monitor:` block of a VIM config overrides them).
VIM_MONITOR_DEFAULTS = MappingProxyType({"count": 3, "timeout": 1, "interval": 1})

#: The VIM monitor's parameters measured in seconds (fractions allowed).
_VIM_SECONDS = ("interval", "timeout")

#: Events a policy's `actions` map may name; the monitor emits `failure` after `retry` rounds.
POLICY_EVENTS = ("failure",)


def canonical_monitor_name(name: str) -> str:
    """Map accepted spellings to the one the actions use (`http-ping` → `http_ping`)."""
    from nfvmon.probes import registry

    return registry.canonical_name(name)


def normalise_number(name: str, value: int | float) -> int | float:
    """JSON Schema's `integer` admits 3.0: counts, retries and ports become ints; whole
    seconds stay as written."""
    if isinstance(value, float) and value.is_integer() and \
            name not in __getattr__("SECONDS_PARAMETERS"):
        return int(value)
    return value


def __getattr__(name: str):
    """The VNF monitors' names and defaults, derived from the installed probe types'
    declarations (nfvmon/probes/): read when first asked for, not at import, so that
    importing this module loads no plugin.

    MONITOR_NAMES, MONITOR_ALIASES ({`http-ping`: `http_ping`}), VNF_MONITOR_DEFAULTS
    ({monitor: {parameter: default}}), VNF_PARAMETER_NAMES (every parameter any probe type
    declares), SECONDS_PARAMETERS (those measured in seconds) and ALL_MONITOR_DEFAULTS
    (VNF monitors' and `vim`'s, by the `[monitor]` options' prefix: `vim_count`, ...)."""
    if name not in _DERIVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from nfvmon.probes import registry

    probes = registry.installed_probes()
    vnf = MappingProxyType({n: MappingProxyType(p.defaults()) for n, p in probes.items()})
    values = {
        "MONITOR_NAMES": tuple(probes),
        "MONITOR_ALIASES": MappingProxyType(registry.aliases()),
        "VNF_MONITOR_DEFAULTS": vnf,
        "VNF_PARAMETER_NAMES": tuple(registry.parameters()),
        "SECONDS_PARAMETERS": tuple(dict.fromkeys(
            [n for n, p in registry.parameters().items() if p.kind.option == "float"]
            + list(_VIM_SECONDS))),
        "ALL_MONITOR_DEFAULTS": MappingProxyType({"vim": VIM_MONITOR_DEFAULTS, **vnf}),
    }
    return values[name]


_DERIVED = ("MONITOR_NAMES", "MONITOR_ALIASES", "VNF_MONITOR_DEFAULTS", "VNF_PARAMETER_NAMES",
            "SECONDS_PARAMETERS", "ALL_MONITOR_DEFAULTS")
