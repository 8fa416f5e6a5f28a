"""VIM registration file → VimMonitor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nfvmon import defaults
from nfvmon.generator import schema
from nfvmon.generator.model import Number, VimMonitor
from nfvmon.identifiers import check_resource_id, target_from_url


def vim_monitor_from_config(
    config: Any,
    source: str,
    vim_id: str,
    action_id: str,
    monitor_defaults: Mapping[str, Number] = defaults.VIM_MONITOR_DEFAULTS,
) -> VimMonitor:
    """Check a VIM config and build its monitor; credentials are read by no one here."""
    check_resource_id(vim_id, "--vim-id")
    schema.validate(config, "vim_config.schema.json", source)
    target = target_from_url(config["auth_url"], source, ("auth_url",))
    params = {name: defaults.normalise_number(name, value)
              for name, value in {**monitor_defaults, **config.get("monitor", {})}.items()}
    return VimMonitor(
        vim_id=vim_id,
        target=target,
        count=params["count"],
        timeout=params["timeout"],
        interval=params["interval"],
        action_id=action_id,
    )


def vim_config_duplicate_is_error(path: tuple) -> bool:
    """Every duplicate key in a VIM config is an error: which auth_url would win?"""
    return True
