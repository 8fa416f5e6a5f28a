"""The wire protocol between monitor actions, the conductor and Mistral, spelled once.

At the bottom floor: topics, RPC method names and versions, the conductor's answers, the
check-in digest, the Mistral action names and the entry-point namespaces. The actions, the
conductor, the lifecycle and the generator read these and none imports another for them.
Light to import (the actions load it on Mistral's executors): the standard library only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# --- transport -----------------------------------------------------------------------------
EXCHANGE = "nfvmon"
#: The conductors' topic, unless `[conductor] topic` names another.
DEFAULT_TOPIC = "nfvmon_conductor"
#: Monitor control: each running action serves `KILL_ACTION.<action_id>`.
KILL_TOPIC = "KILL_ACTION"

# --- versions ------------------------------------------------------------------------------
#: What every call and cast is sent as, unless it names a newer version: a conductor of any
#: 1.x answers it, so actions and conductors of different releases work together.
VERSION = "1.0"
#: What this release's conductor implements. 1.1 adds `refusal`.
CONDUCTOR_VERSION = "1.1"
REFUSAL_VERSION = "1.1"

# --- methods -------------------------------------------------------------------------------
# The conductor's (ConductorAPI -> ConductorEndpoint).
UPDATE_VIM = "update_vim"
EXECUTE_POLICY_ACTION = "execute_policy_action"
CHECK_IN = "check_in"
REFUSAL = "refusal"
# A running monitor action's (MonitorControlAPI -> the action's control server).
KILL = "kill"
UPDATE = "update"

# --- answers -------------------------------------------------------------------------------
# Besides a status, the conductor answers:
BAD_ACTION = "bad_action"  # the caller is not its resource's current action: it must end
OK = "ok"  # check-in: carry on
RESYNC = "resync"  # check-in: the digest differs, re-send the full state
ERROR_PREFIX = "error: "  # a malformed call, and why
#: An error of the conductor's own (its database went away, a bug), not of the call: the
#: same call may succeed later, so a monitor keeps it and tries again.
INTERNAL_ERROR = ERROR_PREFIX + "internal error"
#: The longest `refusal` answer: one line naming the resource, the action and what to do.
MAX_REFUSAL = 400


def is_error(answer: Any) -> bool:
    return isinstance(answer, str) and answer.startswith(ERROR_PREFIX)


def is_transient_error(answer: Any) -> bool:
    """An error answer worth sending the same call again for."""
    return isinstance(answer, str) and answer.startswith(INTERNAL_ERROR)


def state_digest(state: Mapping[str, Any]) -> str:
    """Digest of what an action believes (`{"status": ...}`); both sides compute it alike."""
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


# --- Mistral actions and plugins -------------------------------------------------------------
VIM_ACTION = "nfvmon.vim_ping_action"
VNF_ACTION = "nfvmon.vnf_policy_monitor"
#: Entry-point groups: Mistral finds the actions, the conductor its plugins.
MISTRAL_ACTIONS = "mistral.actions"
POLICY_ACTIONS = "nfvmon.policy_actions"
VNF_MANAGERS = "nfvmon.vnf_managers"
