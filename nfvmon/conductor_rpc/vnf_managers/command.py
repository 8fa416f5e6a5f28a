"""`command`: runs a configured argv (never a shell) per operation.

The operation is appended as the last argument; NFVMON_OPERATION, NFVMON_VNF_ID and
NFVMON_VDU are set in its environment. A zero exit with `{"mgmt_ips": {...}}` (or nothing) on
stdout is success; anything else is a ManagerError carrying the end of its stderr.
"""

from __future__ import annotations

import json
import os
import subprocess

from nfvmon.conductor_rpc.vnf_managers.base import ManagerError, MgmtIps, VnfManager, parse_mgmt_ips


class CommandManager(VnfManager):
    def run(self, operation: str, vnf_id: str, vdu: str | None) -> MgmtIps:
        argv = list(self.conf.vnf_manager.command)
        if not argv:
            raise ManagerError("[vnf_manager] command is empty: nothing to run")
        env = {**os.environ, "NFVMON_OPERATION": operation, "NFVMON_VNF_ID": vnf_id,
               "NFVMON_VDU": vdu or ""}
        try:
            done = subprocess.run([*argv, operation], env=env, capture_output=True, text=True,
                                  timeout=self.conf.vnf_manager.command_timeout, check=False,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise ManagerError(f"command {argv[0]!r} not found") from None
        except subprocess.TimeoutExpired:
            raise ManagerError(f"command {argv[0]!r} did not finish in "
                               f"{self.conf.vnf_manager.command_timeout} s") from None
        if done.returncode != 0:
            tail = " ".join(done.stderr.strip().splitlines()[-3:])
            raise ManagerError(f"command {argv[0]!r} {operation} exited {done.returncode}: "
                               f"{tail}")
        try:
            answer = json.loads(done.stdout) if done.stdout.strip() else None
        except ValueError:
            raise ManagerError(f"command {argv[0]!r} printed no JSON on stdout") from None
        return parse_mgmt_ips(answer, f"command {argv[0]!r}")
