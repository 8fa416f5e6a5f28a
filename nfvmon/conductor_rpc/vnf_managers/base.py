"""The VNF-manager interface, the checks every driver shares, and the loader."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from stevedore import driver

from nfvmon.errors import NfvmonError, one_line
from nfvmon.identifiers import NAME_RE, NAME_RULE, RESOURCE_ID_RE, RESOURCE_ID_RULE, canonical_ip
from nfvmon.protocol import VNF_MANAGERS

NAMESPACE = VNF_MANAGERS
OPERATIONS = ("respawn", "heal", "scale_out", "scale_in", "kill")

#: What a driver reads from a manager's answer at most (stdout, HTTP body).
MAX_ANSWER = 1024 * 1024
#: IPs one VDU may have in an answer (a scale-out adds a few, never thousands).
MAX_IPS_PER_VDU = 64

MgmtIps = dict[str, list[str]]


class ManagerError(NfvmonError):
    """The infrastructure operation failed; the message says what the driver saw."""


class VnfManager(abc.ABC):
    """Runs one operation on one VNF (and VDU) and returns the VDUs' new management IPs."""

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def run(self, operation: str, vnf_id: str, vdu: str | None) -> MgmtIps:
        """Do `operation`; return `{VDU: [IP, ...]}` for VDUs whose addresses changed."""


def shown(value: Any, limit: int = 40) -> str:
    """`value` for a one-line message: its repr, cut to `limit` characters."""
    text = one_line(repr(value))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_ids(operation: str, vnf_id: Any, vdu: Any) -> None:
    """Refuse what is not an operation, VNF id or VDU name before any manager sees it."""
    if operation not in OPERATIONS:
        raise ManagerError(f"{shown(operation)} is not a valid operation "
                           f"({', '.join(OPERATIONS)})")
    # The ids a driver hands to a manager (argv, environment, JSON) are shell- and
    # environment-safe whatever reached the conductor.
    if not isinstance(vnf_id, str) or not RESOURCE_ID_RE.fullmatch(vnf_id):
        raise ManagerError(f"VNF id {shown(vnf_id)} is not a valid id: {RESOURCE_ID_RULE}")
    if vdu is not None and (not isinstance(vdu, str) or not NAME_RE.fullmatch(vdu)):
        raise ManagerError(f"VDU {shown(vdu)} is not a valid VDU name: {NAME_RULE}")


def parse_mgmt_ips(answer: Any, source: str) -> MgmtIps:
    """`{"mgmt_ips": {"VDU1": ["192.0.2.10"]}}` (or an empty answer) → checked addresses."""
    if answer in (None, "", {}):
        return {}
    if not isinstance(answer, Mapping) or not isinstance(answer.get("mgmt_ips", {}), Mapping):
        raise ManagerError(f"{source}: expected a JSON object with a mgmt_ips mapping")
    result: MgmtIps = {}
    for vdu, ips in answer.get("mgmt_ips", {}).items():
        if not isinstance(vdu, str) or not NAME_RE.fullmatch(vdu):
            raise ManagerError(f"{source}: mgmt_ips: {shown(vdu)} is not a valid VDU name")
        if isinstance(ips, str):
            ips = [ips]
        if not isinstance(ips, list) or not ips or len(ips) > MAX_IPS_PER_VDU:
            raise ManagerError(f"{source}: mgmt_ips.{vdu}: expected a list of 1 to "
                               f"{MAX_IPS_PER_VDU} IPs")
        try:
            result[vdu] = [canonical_ip(ip, source, ("mgmt_ips", vdu)) for ip in ips]
        except NfvmonError as exc:
            raise ManagerError(shown_error(str(exc))) from None
    return result


def shown_error(text: str, limit: int = 300) -> str:
    """`text` on one line, cut to `limit` characters (a manager may say a lot)."""
    text = one_line(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def load_manager(conf) -> VnfManager:
    """The driver named by `[vnf_manager] driver`, constructed with the configuration."""
    try:
        return driver.DriverManager(NAMESPACE, conf.vnf_manager.driver, invoke_on_load=True,
                                    invoke_args=(conf,)).driver
    except Exception as exc:  # noqa: BLE001 - stevedore wraps import errors in many types
        raise NfvmonError(f"[vnf_manager] driver {conf.vnf_manager.driver!r} cannot be "
                          f"loaded: {exc}") from None
