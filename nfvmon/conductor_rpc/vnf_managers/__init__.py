"""VNF-manager drivers: what respawn, heal, scale and kill do to the infrastructure.

Loaded with stevedore from the `nfvmon.vnf_managers` entry points; built in: `command`,
`webhook`, `noop`.
"""

from nfvmon.conductor_rpc.vnf_managers.base import ManagerError, VnfManager, load_manager

__all__ = ["ManagerError", "VnfManager", "load_manager"]
