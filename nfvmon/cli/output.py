"""How resources look on the command line: the columns of VIMs, VNFs and events, values
that print compactly in a table and whole in json/yaml, and show tables kept to 80 columns
when no terminal says how wide to be."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from cliff.columns import FormattableColumn

VIM_COLUMNS = ("id", "name", "target", "status", "reason", "updated_at")
VNF_COLUMNS = ("id", "name", "status", "mgmt_ips", "reason", "updated_at")
EVENT_COLUMNS = ("time", "type", "state", "details")

SHOW_WIDTH = 80
DETAILS_WIDTH = 80


class MgmtIps(FormattableColumn):
    """{"VDU1": ["192.0.2.1", "192.0.2.2"]}: `VDU1=192.0.2.1,192.0.2.2` in a table."""

    def human_readable(self) -> str:
        return "; ".join(f"{vdu}={','.join(ips)}" for vdu, ips in self._value.items())


class Details(FormattableColumn):
    """An event's details: compact JSON cut to one table line; json/yaml give all of it."""

    def human_readable(self) -> str:
        if not self._value:
            return ""
        text = json.dumps(self._value, separators=(",", ":"), default=str)
        return text if len(text) <= DETAILS_WIDTH else text[:DETAILS_WIDTH - 3] + "..."


def vim_row(vim) -> tuple[Any, ...]:
    return (vim.id, vim.name, vim.target, vim.status, vim.status_reason,
            vim.updated_at.isoformat())


def vnf_row(vnf) -> tuple[Any, ...]:
    return (vnf.id, vnf.name, vnf.status, MgmtIps(vnf.mgmt_ips), vnf.status_reason,
            vnf.updated_at.isoformat())


def event_rows(events: Sequence) -> list[tuple[Any, ...]]:
    return [(e.created_at.isoformat(), e.event_type, e.state, Details(e.details))
            for e in events]


def unset_max_width(parser: argparse.ArgumentParser) -> None:
    """Tell a --max-width left out from `--max-width 0` (which turns wrapping off)."""
    if not os.environ.get("CLIFF_MAX_TERM_WIDTH"):
        parser.set_defaults(max_width=None)


def fit_show_table(parsed_args: argparse.Namespace, stdout) -> None:
    """A show table wraps at 80 columns unless --max-width, CLIFF_MAX_TERM_WIDTH or a
    terminal says otherwise (cliff would print a long reason on one endless line)."""
    if getattr(parsed_args, "max_width", 0) is None:
        parsed_args.max_width = 0 if _isatty(stdout) else SHOW_WIDTH


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def workflow_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"
