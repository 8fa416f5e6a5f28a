"""The operator's per-monitor defaults (`[monitor]` options) laid over nfvmon.defaults.

A parameter a VNFD (or a VIM config's `monitor:` block) leaves out is filled from here. The
overrides are checked with the very schema rules a VNFD's parameters and a VIM config's monitor
block obey, so a configured `ping_count = 0` is refused in one line instead of reaching a
workflow. Errors name the option: `[monitor]: ping_count: must be a positive integer ...`.
"""

from __future__ import annotations

from collections.abc import Mapping

from nfvmon import defaults
from nfvmon.errors import InputError
from nfvmon.generator import schema
from nfvmon.generator.model import Number

SOURCE = "[monitor]"
VNFD_SCHEMA = "vnfd_monitoring.schema.json"
VIM_SCHEMA = "vim_config.schema.json"

#: {"vim" | "ping" | "http_ping" | "tcp": {parameter: value}}; any part may be left out.
MonitorDefaults = Mapping[str, Mapping[str, Number]]


def check_parameters(monitor: str, parameters: object, source: str, path: tuple) -> None:
    """Raise InputError unless `parameters` obey the rules of `monitor`'s (`vim`, `ping`, ...)
    parameters in an input file: the VNFD schema's, or a VIM config's `monitor:` block's."""
    if monitor == "vim":
        check_vim_parameters(parameters, source, path)
    else:
        check_vnf_parameters(parameters, source, path)


def check_vnf_parameters(parameters: object, source: str, path: tuple) -> None:
    """The rules of a VNFD policy's parameters (the same for every VNF monitor)."""
    schema.validate(parameters, VNFD_SCHEMA, source, path, "parameters")


def check_vim_parameters(parameters: object, source: str, path: tuple) -> None:
    """The rules of a VIM config's `monitor:` block."""
    try:  # the VIM schema keeps its rules inside a config: check them there
        schema.validate({"auth_url": "http://127.0.0.1/", "monitor": parameters},
                        VIM_SCHEMA, source, ())
    except InputError as exc:
        raise InputError(source, path + exc.path[1:], exc.message) from None


def complete_monitor_defaults(overrides: MonitorDefaults | None) -> dict[str, dict[str, Number]]:
    """Every monitor's complete defaults: nfvmon.defaults with `overrides` on top, checked."""
    table = {monitor: dict(params) for monitor, params in defaults.ALL_MONITOR_DEFAULTS.items()}
    for monitor, params in (overrides or {}).items():
        if monitor not in table:
            raise InputError(SOURCE, (monitor,),
                             f"unknown monitor (known: {', '.join(table)})")
        if not isinstance(params, Mapping):
            raise InputError(SOURCE, (monitor,), "must be a mapping of parameter to value")
        for name in params:
            if name not in table[monitor]:
                raise InputError(SOURCE, (f"{monitor}_{name}",),
                                 f"unknown key (known: {', '.join(table[monitor])})")
        merged = {**table[monitor], **params}
        try:
            check_parameters(monitor, merged, SOURCE, ())
        except InputError as exc:
            option = f"{monitor}_{exc.path[0]}" if exc.path else monitor
            raise InputError(SOURCE, (option,), exc.message) from None
        table[monitor] = {name: defaults.normalise_number(name, value)
                          for name, value in merged.items()}
    return table
