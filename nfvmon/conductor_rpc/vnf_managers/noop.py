"""`noop`: changes nothing; addresses stay as they are (for tests and log-only setups)."""

from __future__ import annotations

from nfvmon.conductor_rpc.vnf_managers.base import MgmtIps, VnfManager


class NoopManager(VnfManager):
    def run(self, operation: str, vnf_id: str, vdu: str | None) -> MgmtIps:
        return {}
