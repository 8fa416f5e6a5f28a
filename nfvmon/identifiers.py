"""What ids, names and addresses may be, checked before they reach a workflow.

Mistral evaluates `<% ... %>` (YAQL) and `{{ ... }}` (Jinja) anywhere in workflow text at run
time, and its parser accepts them everywhere, so it cannot protect us. Every user string that
reaches a workflow therefore has a shape that cannot hold an expression: ids and names are
letters, digits, `_`, `-` and `.`; addresses are normalised by `ipaddress` (zone ids refused);
hostnames are RFC 1123 labels; action ids are UUIDs.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

from nfvmon.errors import InputError

#: VIM/VNF ids: UUIDs (what the lifecycle uses) or operator-chosen names of the same alphabet.
RESOURCE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
RESOURCE_ID_RULE = "must be 1-128 letters, digits, '_', '-' or '.', starting with a letter or digit"

#: VDU names and policy-action names (TOSCA node template names, plugin names).
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NAME_RULE = "must be 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"

#: Operator-given display names (`--name`): never in a workflow, but stored in a column of 255
#: characters on every database, and printed in one-line listings.
RESOURCE_NAME_MAX = 255
RESOURCE_NAME_RULE = f"must be 0-{RESOURCE_NAME_MAX} printable characters (no control characters)"

_HOST_LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def check_resource_id(value: str, source: str) -> str:
    """Return `value` if it is a valid VIM/VNF id, else raise naming `source`."""
    if not isinstance(value, str) or not RESOURCE_ID_RE.fullmatch(value):
        raise InputError(source, (), f"{value!r}: {RESOURCE_ID_RULE}")
    return value


def check_name(value: object, source: str, path: tuple) -> str:
    """Return `value` if it is a valid VDU or policy-action name, else raise at `path`."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise InputError(source, path, f"{value!r}: {NAME_RULE}")
    return value


def check_resource_name(value: object, source: str = "--name") -> str:
    """Return `value` if it is a usable VIM/VNF display name, else raise (one short line: the
    name itself may be 100,000 characters or hold a line break, so it is not echoed)."""
    if not isinstance(value, str):
        raise InputError(source, (), "must be a string")
    if len(value) > RESOURCE_NAME_MAX:
        raise InputError(source, (), f"{len(value)} characters: {RESOURCE_NAME_RULE}")
    for position, char in enumerate(value):
        if not char.isprintable():  # control, format, line/paragraph separators, NBSP...
            raise InputError(source, (), f"holds U+{ord(char):04X} at position {position}: "
                                         f"{RESOURCE_NAME_RULE}")
    return value


def canonical_action_id(value: str | None, source: str = "--action-id") -> str:
    """A fresh UUID4 when `value` is None, else `value` as a canonical lowercase UUID."""
    if value is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise InputError(source, (), f"{value!r}: must be a UUID") from None


def canonical_ip(value: object, source: str, path: tuple = ()) -> str:
    """An IPv4 or IPv6 address in its canonical text form; zone ids are refused.

    IPv4-mapped IPv6 addresses become plain IPv4 (their text form differs between Python
    versions, and the probe reaches the same host either way).
    """
    if not isinstance(value, str):
        raise InputError(source, path, f"{value!r}: must be an IP address")
    if "%" in value:
        raise InputError(source, path, f"{value!r}: IPv6 zone ids are not supported")
    try:
        bracketed = value.startswith("[") and value.endswith("]")
        address = ipaddress.ip_address(value[1:-1] if bracketed else value)
    except ValueError:
        raise InputError(source, path, f"{value!r}: not a valid IP address") from None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:a.b.c.d is probed as a.b.c.d
    return str(mapped or address)


def is_hostname(value: str) -> bool:
    """True for an RFC 1123 host name (letters, digits, hyphens; dot-separated labels)."""
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if labels[-1].isdigit():  # '1.2.3.999' is a broken address, not a host name
        return False
    return all(_HOST_LABEL_RE.fullmatch(label) for label in labels)


def canonical_target(value: object, source: str, path: tuple = ()) -> str:
    """A VIM probe target as the generator writes it: a canonical IP or a lowercase host name."""
    if isinstance(value, str) and "%" not in value:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            if is_hostname(value):
                return value.lower().rstrip(".")
    raise InputError(source, path, f"{value!r}: not an IP address or host name")


def target_from_url(url: object, source: str, path: tuple) -> str:
    """The host to probe in an auth URL: canonical IP, or a lowercase host name."""
    if not isinstance(url, str):
        raise InputError(source, path, "must be a URL string")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise InputError(source, path, f"{url!r}: not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise InputError(source, path, f"{url!r}: must be an http:// or https:// URL")
    if not host:
        raise InputError(source, path, f"{url!r}: has no host")
    if "%" in host:
        raise InputError(source, path, f"{url!r}: IPv6 zone ids are not supported")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not is_hostname(host):
        raise InputError(source, path, f"{url!r}: host {host!r} is not a valid host name")
    return host.lower().rstrip(".")


def parse_mgmt_ip_option(value: str) -> tuple[str, str]:
    """Split one `--mgmt-ip VDU=IP` value; the IP is canonicalised."""
    vdu, sep, address = value.partition("=")
    if not sep or not vdu:
        raise InputError("--mgmt-ip", (), f"{value!r}: expected VDU=IP")
    check_name(vdu, "--mgmt-ip", ())
    return vdu, canonical_ip(address, "--mgmt-ip", (vdu,))


def address_problem(mgmt_ips: Any, known_vdus: Collection[str], vnf_id: str) -> str:
    """Why a VNF manager's new addresses must not be applied to VNF `vnf_id` ('' when they
    may be): nothing it answers is stored unless it names VDUs the VNF has and addresses in
    the canonical form nfvmon stores (a wrong answer is a failed policy action)."""
    if not isinstance(mgmt_ips, Mapping):
        return f"the VNF manager answered {type(mgmt_ips).__name__}, not a mapping of VDUs"
    unknown = sorted(repr(str(vdu)[:64]) for vdu in mgmt_ips if vdu not in known_vdus)
    if unknown:
        return (f"the VNF manager answered addresses for VDUs VNF {vnf_id} does not have: "
                f"{', '.join(unknown[:5])}; nothing was stored")
    for vdu, ips in mgmt_ips.items():
        if not isinstance(ips, list | tuple) or not ips:
            return f"the VNF manager answered no addresses for VDU {vdu}; nothing was stored"
        for ip in ips:
            if not _is_canonical_ip(ip):
                return (f"the VNF manager answered {str(ip)[:64]!r} for VDU {vdu}: not a "
                        f"canonical IP address; nothing was stored")
    return ""



def _is_canonical_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(ipaddress.ip_address(value)) == value
    except ValueError:
        return False
