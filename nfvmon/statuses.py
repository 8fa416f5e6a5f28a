"""Resource statuses and monitor report events: the names every layer shares.

At the bottom floor. Which event may move which status is nfvmon.status_machine's table.
"""

from __future__ import annotations

# VIM statuses; a monitor action may write only the last two.
VIM_PENDING, VIM_REACHABLE, VIM_UNREACHABLE = "PENDING", "REACHABLE", "UNREACHABLE"
VIM_MONITOR_STATUSES = (VIM_REACHABLE, VIM_UNREACHABLE)

# VNF statuses.
ACTIVE, DEAD, ERROR = "ACTIVE", "DEAD", "ERROR"
PENDING_CREATE, PENDING_HEAL = "PENDING_CREATE", "PENDING_HEAL"
PENDING_SCALE_OUT, PENDING_DELETE = "PENDING_SCALE_OUT", "PENDING_DELETE"

#: Statuses that say "something is under way": each must end by itself (a job's deadline).
VNF_PENDING_STATUSES = (PENDING_CREATE, PENDING_HEAL, PENDING_SCALE_OUT, PENDING_DELETE)

# Events a VNF monitor reports: `failure` runs the policy's action, `recovery` (a target
# that answers again while the VNF is DEAD with no action pending) makes it ACTIVE again.
FAILURE, RECOVERY = "failure", "recovery"
MONITOR_EVENTS = (FAILURE, RECOVERY)


def is_pending(status: str) -> bool:
    return status in VNF_PENDING_STATUSES
