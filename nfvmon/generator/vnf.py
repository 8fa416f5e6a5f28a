"""VDU policies + management addresses → VnfMonitor."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from nfvmon.errors import InputError
from nfvmon.generator.model import VduPolicy, VduTarget, VnfMonitor
from nfvmon.identifiers import canonical_ip, check_name

OPTION = "--mgmt-ip"


def group_mgmt_ips(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """`[(VDU, IP), ...]` → `{VDU: [IP, ...]}`, order kept, repeats dropped."""
    grouped: dict[str, list[str]] = {}
    for vdu, address in pairs:
        addresses = grouped.setdefault(vdu, [])
        if address not in addresses:
            addresses.append(address)
    return grouped


def canonical_mgmt_ips(mgmt_ips: object, source: str = OPTION) -> dict[str, list[str]]:
    """`{VDU: [IP, ...]}` with checked VDU names and canonical, de-duplicated addresses.

    The lifecycle calls this once at its entry, so the database, the workflow and any monitor
    update hold the same text for an address (`[fd00::3]` and `::ffff:192.0.2.1` would
    otherwise be stored as given while the monitor reports `fd00::3` and `192.0.2.1`).
    """
    if not isinstance(mgmt_ips, Mapping):
        raise InputError(source, (), "must be a mapping of VDU name to IP addresses")
    pairs = []
    for vdu, addresses in mgmt_ips.items():
        check_name(vdu, source, ())
        if isinstance(addresses, (str, bytes)) or not isinstance(addresses, Sequence):
            raise InputError(source, (vdu,), "must be a list of IP addresses")
        pairs += [(vdu, canonical_ip(address, source, (vdu,))) for address in addresses]
    grouped = group_mgmt_ips(pairs)
    return {vdu: grouped.get(vdu, []) for vdu in mgmt_ips}


def vnf_monitor(
    policies: Sequence[VduPolicy],
    vdu_names: Sequence[str],
    mgmt_ips: dict[str, list[str]],
    vnf_id: str,
    action_id: str,
    vnfd_source: str,
) -> VnfMonitor:
    """Bind every policy to its VDU's addresses; every monitored VDU needs at least one."""
    for vdu in mgmt_ips:
        if vdu not in vdu_names:
            known = ", ".join(map(str, vdu_names)) or "none"
            raise InputError(OPTION, (vdu,), f"{vnfd_source} has no VDU {vdu} (VDUs: {known})")
    targets = []
    for policy in policies:
        addresses = mgmt_ips.get(policy.vdu)
        if not addresses:
            raise InputError(OPTION, (), f"no management IP for monitored VDU {policy.vdu}: "
                                         f"add {OPTION} {policy.vdu}=IP")
        targets.append(VduTarget(policy, tuple(addresses)))
    return VnfMonitor(vnf_id=vnf_id, action_id=action_id, targets=tuple(targets))
