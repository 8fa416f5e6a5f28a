"""Why a monitor ended: the `reason` of every action's result.

Its own module, without the engine's imports: the action classes that Mistral loads (on its
engine, too) read it through modes.py.
"""

from __future__ import annotations

KILLED, BAD, ERROR = "killed", "bad_action", "error"
EXECUTION_GONE = "execution_gone"


def error_reason(exc: BaseException) -> str:
    """Why a monitor ended on an error: `error: <type>: <message>`."""
    return f"{ERROR}: {type(exc).__name__}: {exc}"


def is_error(reason: str) -> bool:
    return reason.startswith(ERROR)
