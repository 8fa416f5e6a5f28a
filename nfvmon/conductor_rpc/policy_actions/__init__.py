"""Policy actions (what a monitoring policy's `actions: {failure: ...}` names), as plugins.

Loaded with stevedore from the `nfvmon.policy_actions` entry points; a third party adds one
by installing a package that declares an entry point there. Built in: `log`, `respawn`,
`log_and_kill`, `vdu_autoheal`, `autoscaling`.
"""

from nfvmon.conductor_rpc.policy_actions.base import (
    PolicyAction,
    PolicyContext,
    PolicyResult,
    load_policy_actions,
)

__all__ = ["PolicyAction", "PolicyContext", "PolicyResult", "load_policy_actions"]
