"""Why a monitor ended: the `reason` of every action's result, and how Mistral sees it.

`killed` and `execution_gone` end the action in SUCCESS: nfvmon (or the operator) ended it.
An error, and a refusal (the conductor answered `bad_action`: the resource is not
registered, the action was superseded, or its monitoring was stopped), end it in ERROR with
one line in the execution's `state_info`: a refused monitor watched nothing for nfvmon.

Its own module, without the engine's imports: the action classes that Mistral loads (on its
engine, too) read it through modes.py.
"""

from __future__ import annotations

from nfvmon.errors import one_line

KILLED, ERROR, REFUSED = "killed", "error", "refused"
EXECUTION_GONE = "execution_gone"
#: The longest line a refusal ends the action with (what the conductor says, or ours).
MAX_LINE = 400


def error_reason(exc: BaseException) -> str:
    """Why a monitor ended on an error: `error: <type>: <message>`."""
    return f"{ERROR}: {type(exc).__name__}: {exc}"


def refused_reason(line: str) -> str:
    """Why a monitor ended on `bad_action`: `refused: <the conductor's line>`."""
    return f"{REFUSED}: {bounded(line)}"


def is_error(reason: str) -> bool:
    """Whether the action ends in ERROR (an error or a refusal) rather than SUCCESS."""
    return reason.startswith((f"{ERROR}:", f"{REFUSED}:"))


def mistral_error(reason: str) -> str:
    """The text Mistral shows for an ERROR end: a refusal's line as the conductor gave it
    (`VIM x is not registered ...`), an error as it is."""
    prefix = f"{REFUSED}: "
    return reason[len(prefix):] if reason.startswith(prefix) else reason


def bounded(line: str, limit: int = MAX_LINE) -> str:
    line = one_line(line)
    return line if len(line) <= limit else line[:limit - 3] + "..."
