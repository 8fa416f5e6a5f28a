"""The conductor's answers, as both sides of the wire spell and read them.

At the bottom floor: the monitor actions read these answers and the conductor writes them,
and neither imports the other for it.
"""

from __future__ import annotations

from typing import Any

BAD_ACTION = "bad_action"
OK = "ok"
RESYNC = "resync"
ERROR_PREFIX = "error: "
#: An error of the conductor's own (its database went away, a bug), not of the call: the
#: same call may succeed later, so a monitor keeps it and tries again.
INTERNAL_ERROR = ERROR_PREFIX + "internal error"


def is_error(answer: Any) -> bool:
    return isinstance(answer, str) and answer.startswith(ERROR_PREFIX)


def is_transient_error(answer: Any) -> bool:
    """An error answer worth sending the same call again for."""
    return isinstance(answer, str) and answer.startswith(INTERNAL_ERROR)
