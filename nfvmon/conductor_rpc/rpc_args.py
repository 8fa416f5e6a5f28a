"""What the conductor accepts as RPC arguments, checked before anything is read or stored.

Anything that can publish on the conductor's topic can call it, so every argument is checked
here for type, size and shape: ids and names by the generator's rules, statuses and events
from their enums, targets as IP addresses or host names, no NUL anywhere (PostgreSQL refuses
it in text), a monitor's free-form `details` at most 4 KiB of JSON. A refusal is a BadRequest
whose message is one short line that never echoes the input whole. Pure functions: the store
checks (is it a VDU of that VNF?) are the endpoint's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nfvmon import statuses
from nfvmon.errors import NfvmonError, one_line
from nfvmon.identifiers import NAME_RE, RESOURCE_ID_RE, canonical_ip, is_hostname

#: The longest `error: ...` answer (and the longest reason in its log line).
MAX_ERROR = 200
#: A report's `details`, as JSON: larger ones are refused, not cut (nothing half-stored).
MAX_DETAILS = 4096
#: A whole report (keys other than REPORT_KEYS are ignored, but count here).
MAX_REPORT = 2 * MAX_DETAILS
#: `vnf` and `policy_actions`: a few short names.
MAX_SMALL = 1024
MAX_TARGET = 64
MAX_DIGEST = 64
#: Nesting and size bounds for walking what a caller sent (RPC arguments are small).
_MAX_DEPTH = 16
_MAX_ITEMS = 1000

#: The keys of a monitor report; others are ignored (and never stored).
REPORT_KEYS = ("vdu", "target", "event", "monitor", "details")


class BadRequest(Exception):
    """A malformed call; its message goes back to the caller as `error: ...`."""


def shown(value: Any, limit: int = 40) -> str:
    """`value` for an error message: its repr on one line, cut to `limit` characters."""
    text = one_line(repr(value))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def bounded(message: str, limit: int = MAX_ERROR) -> str:
    """`message` on one line of at most `limit` characters."""
    message = one_line(message)
    return message if len(message) <= limit else message[:limit - 3] + "..."


def plain(name: str, value: Any, max_bytes: int) -> None:
    """Refuse a NUL in any string of `value` (keys too), nesting or item counts beyond any
    call nfvmon makes, and more than `max_bytes` of JSON in all."""
    stack = [(value, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if depth > _MAX_DEPTH or seen > _MAX_ITEMS:
            raise BadRequest(f"{name} is nested too deeply or holds too many items")
        if isinstance(item, str):
            if "\x00" in item:
                raise BadRequest(f"{name} holds a NUL character")
        elif isinstance(item, Mapping):
            stack.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, Sequence) and not isinstance(item, (bytes, bytearray)):
            stack.extend((part, depth + 1) for part in item)
    size = json_size(name, value)
    if size > max_bytes:
        raise BadRequest(f"{name} is {size} bytes of JSON (at most {max_bytes})")


def json_size(name: str, value: Any) -> int:
    try:
        return len(json.dumps(value, separators=(",", ":")).encode())
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be JSON data") from None


def resource_id(name: str, value: Any) -> str:
    """A VIM/VNF id (or an action id): 1-128 letters, digits, '_', '-', '.'."""
    if not isinstance(value, str) or not RESOURCE_ID_RE.fullmatch(value):
        raise BadRequest(f"{name} must be an id of 1-128 letters, digits, '_', '-' or '.' "
                         f"(got {shown(value)})")
    return value


def short_string(name: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise BadRequest(f"{name} must be a string of 1-{limit} characters without NUL "
                         f"(got {shown(value)})")
    return value


def choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise BadRequest(f"unknown {name} {shown(value)} (expected {' or '.join(allowed)})")
    return value


def name(what: str, value: Any) -> str:
    """A VDU, monitor or policy-action name: 1-64 letters, digits, '_', '-', '.'."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise BadRequest(f"{what} must be a name of 1-64 letters, digits, '_', '-' or '.' "
                         f"(got {shown(value)})")
    return value


def target(value: Any) -> str:
    """An IP address (canonical form, as stored) or a host name (lower case)."""
    if isinstance(value, str) and len(value) <= MAX_TARGET:
        try:
            return canonical_ip(value, "target")
        except NfvmonError:
            if is_hostname(value):
                return value.lower().rstrip(".")
    raise BadRequest(f"target must be an IP address or a host name of at most {MAX_TARGET} "
                     f"characters (got {shown(value)})")


def details(value: Any) -> Any:
    """A report's free-form details: any JSON of at most MAX_DETAILS bytes."""
    size = json_size("details", value)
    if size > MAX_DETAILS:
        raise BadRequest(f"details is {size} bytes of JSON (at most {MAX_DETAILS})")
    return value


def vnf_id(vnf: Any) -> str:
    """`vnf` is `{"id": ...}` (what actions send) or the id itself."""
    if isinstance(vnf, Mapping):
        plain("vnf", vnf, MAX_SMALL)
        return resource_id("vnf.id", vnf.get("id"))
    return resource_id("vnf.id", vnf)


@dataclass(frozen=True)
class Report:
    """A checked `monitor_return_value`."""

    vdu: str
    target: str
    event: str
    monitor: str | None = None
    details: Any = None

    def stored(self) -> dict[str, Any]:
        """What goes into the event row: the checked fields only (bounded in size)."""
        out = {"vdu": self.vdu, "target": self.target, "event": self.event}
        if self.monitor is not None:
            out["monitor"] = self.monitor
        if self.details is not None:
            out["details"] = self.details
        return out


def report(value: Any) -> Report:
    if not isinstance(value, Mapping):
        raise BadRequest("monitor_return_value must be a mapping")
    plain("monitor_return_value", value, MAX_REPORT)
    monitor = value.get("monitor")
    return Report(vdu=name("vdu", value.get("vdu")),
                  target=target(value.get("target")),
                  event=choice("event", value.get("event"), statuses.MONITOR_EVENTS),
                  monitor=None if monitor is None else name("monitor", monitor),
                  details=details(value.get("details")))


def policy_actions(value: Any) -> dict[str, str]:
    """`{event: policy action name}`; only monitor events are keys."""
    if not isinstance(value, Mapping):
        raise BadRequest("policy_actions must be a mapping")
    plain("policy_actions", value, MAX_SMALL)
    return {choice("policy_actions event", event, statuses.MONITOR_EVENTS):
            name(f"policy action for {event}", action) for event, action in value.items()}
