"""Why the conductor refuses a monitor action: the one line its Mistral execution ends with.

The conductor answers `bad_action` to any write or check-in from an action that is not its
resource's current one; that answer stays bare (version 1.0). The action then asks once
(`refusal`, version 1.1) and ends in ERROR with this line, so the operator who sees the failed
execution reads which resource it is about and what to do. Pure: the endpoint reads the
database and hands the facts in.
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_REGISTERED = "not_registered"
SUPERSEDED = "superseded"
STOPPED = "stopped"
CURRENT = "current"

_REGISTER = {
    "vim": "nfvmon vim register CONFIG --deploy external",
    "vnf": "nfvmon vnf create VNFD --mgmt-ip VDU=IP ... --deploy external",
}
_STOPPED = {"vim": "deregistered or being deleted", "vnf": "deleted or being deleted"}


@dataclass(frozen=True)
class Facts:
    """What the database says of the resource an action claims to monitor."""

    exists: bool
    #: Its current action id (None: none may write, it is being removed).
    current_action: str | None = None
    #: It is gone, and its history ends with its removal (deregistered, deleted).
    removed: bool = False
    #: Its monitor is deployed by the operator (`--deploy external`): nfvmon deploys no
    #: replacement, the operator does.
    external: bool = False


def kind(facts: Facts, action_id: str) -> str:
    """Which refusal `facts` make of `action_id`."""
    if not facts.exists:
        return STOPPED if facts.removed else NOT_REGISTERED
    if facts.current_action is None:
        return STOPPED
    return CURRENT if facts.current_action == action_id else SUPERSEDED


def message(resource_type: str, resource_id: str, action_id: str, facts: Facts) -> str:
    """One line: the resource, why its action is refused, what to do."""
    what = f"{resource_type.upper()} {resource_id}"
    refusal = kind(facts, action_id)
    if refusal == NOT_REGISTERED:
        return (f"{what} is not registered with this nfvmon: run "
                f"{_REGISTER[resource_type]}, or deploy through nfvmon")
    if refusal == STOPPED:
        return f"{what}: its monitoring was stopped ({_STOPPED[resource_type]})"
    if refusal == SUPERSEDED:
        todo = (f"deploy its current workflow if it is not running (nfvmon {resource_type} "
                f"workflow {resource_id})" if facts.external else "nothing to do")
        return (f"{what}: this monitor (action {action_id}) was superseded by a newer one; "
                f"{todo}")
    # Refused a moment ago, current now (registered meanwhile): this action ends all the same.
    return (f"{what}: this monitor (action {action_id}) was refused just before it became "
            f"current; run it again")
