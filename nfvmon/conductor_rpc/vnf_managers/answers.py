"""Whether a VNF manager's new addresses may be applied to a VNF: a pure check.

Nothing a VNF manager answers is stored unless it names VDUs the VNF has and addresses in
the canonical form nfvmon stores: a wrong answer is a failed policy action, not new state.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from typing import Any


def address_problem(mgmt_ips: Any, known_vdus: Collection[str], vnf_id: str) -> str:
    """Why `mgmt_ips` must not be applied to VNF `vnf_id` ('' when it may be)."""
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
            if not _canonical_ip(ip):
                return (f"the VNF manager answered {str(ip)[:64]!r} for VDU {vdu}: not a "
                        f"canonical IP address; nothing was stored")
    return ""


def _canonical_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(ipaddress.ip_address(value)) == value
    except ValueError:
        return False
