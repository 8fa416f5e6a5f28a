"""The VNF-manager interface and its loader."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from stevedore import driver

from nfvmon.errors import NfvmonError
from nfvmon.generator.identifiers import canonical_ip

NAMESPACE = "nfvmon.vnf_managers"
OPERATIONS = ("respawn", "heal", "scale_out", "scale_in", "kill")

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


def parse_mgmt_ips(answer: Any, source: str) -> MgmtIps:
    """`{"mgmt_ips": {"VDU1": ["192.0.2.10"]}}` (or an empty answer) → checked addresses."""
    if answer in (None, "", {}):
        return {}
    if not isinstance(answer, Mapping) or not isinstance(answer.get("mgmt_ips", {}), Mapping):
        raise ManagerError(f"{source}: expected a JSON object with a mgmt_ips mapping")
    result: MgmtIps = {}
    for vdu, ips in answer.get("mgmt_ips", {}).items():
        if isinstance(ips, str):
            ips = [ips]
        if not isinstance(ips, list) or not ips:
            raise ManagerError(f"{source}: mgmt_ips.{vdu}: expected a non-empty list of IPs")
        try:
            result[str(vdu)] = [canonical_ip(ip, source, ("mgmt_ips", vdu)) for ip in ips]
        except NfvmonError as exc:
            raise ManagerError(str(exc)) from None
    return result


def load_manager(conf) -> VnfManager:
    """The driver named by `[vnf_manager] driver`, constructed with the configuration."""
    try:
        return driver.DriverManager(NAMESPACE, conf.vnf_manager.driver, invoke_on_load=True,
                                    invoke_args=(conf,)).driver
    except Exception as exc:  # noqa: BLE001 - stevedore wraps import errors in many types
        raise NfvmonError(f"[vnf_manager] driver {conf.vnf_manager.driver!r} cannot be "
                          f"loaded: {exc}") from None
