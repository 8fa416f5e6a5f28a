"""Policy-action names a VNFD may use: those of the installed `nfvmon.policy_actions` plugins.

A misspelled name (`respwan`) must be refused where a VNFD enters (generate, validate, vnf
create), not found out when the VNF is down and the conductor looks the plugin up. The names
are read from the entry points, the same registry the conductor loads its plugins from,
without importing the conductor or any plugin.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import metadata

from nfvmon.errors import InputError

GROUP = "nfvmon.policy_actions"


@functools.cache
def installed_policy_actions() -> tuple[str, ...]:
    """The installed plugins' names, sorted (cached: reading entry points takes milliseconds;
    tests that install one call `installed_policy_actions.cache_clear()`)."""
    return tuple(sorted({entry.name for entry in metadata.entry_points(group=GROUP)}))


def check_policy_action(name: object, source: str, path: tuple) -> str:
    """Return `name` if a plugin of that name is installed, else raise at `path`."""
    installed = installed_policy_actions()
    if name not in installed:
        raise InputError(source, path, f"unknown policy action {name!r} "
                                       f"(installed: {', '.join(installed) or 'none'})")
    return name


def check_policy_actions(actions: Mapping, source: str, path: tuple) -> None:
    """Every action of an `{event: action}` mapping is installed; `path` is the mapping's."""
    for event, name in actions.items():
        check_policy_action(name, source, path + (event,))
