"""Error types a user can read.

Each kind of failure has its own type; the CLI catches them once and prints one line.
"""

from __future__ import annotations

from collections.abc import Iterable


def format_path(path: Iterable[object]) -> str:
    """Render a path inside a document as dotted keys with [index] for lists."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def one_line(text: str) -> str:
    """Escape what would break the one-line error (CR, LF, U+2028, other non-printables)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class NfvmonError(Exception):
    """Base of every error nfvmon reports to a user instead of a traceback."""


class InputError(NfvmonError):
    """Bad user input: names the file, the path inside it and what is wrong."""

    def __init__(self, source: str, path: Iterable[object], message: str):
        self.source = source
        self.path = tuple(path)
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = format_path(self.path)
        parts = [self.source] + ([where] if where else []) + [self.message]
        return one_line(": ".join(parts))


class NothingToMonitor(InputError):
    """A valid VNFD that carries no liveness policy: nothing to generate."""


class GeneratorBug(NfvmonError):
    """The generator's own output failed its self-check (never the user's fault)."""


class ValidationFailed(NfvmonError):
    """A workflow file is not acceptable to Mistral or to the nfvmon actions."""


class DatabaseNotReady(NfvmonError):
    """nfvmon's database is unreachable, unusable or not at the latest schema: says the fix."""

    def __init__(self, message: str):
        super().__init__(one_line(message))


class BrokerNotReady(NfvmonError):
    """`[DEFAULT] transport_url` names no usable broker (unknown driver, login refused)."""

    def __init__(self, message: str):
        super().__init__(one_line(f"[DEFAULT] transport_url: {message}"))


class UndeployableState(NfvmonError):
    """A resource's stored state makes no valid workflow: redeploying cannot help, only an
    operator (the reconciler marks the resource ERROR instead of retrying)."""


class UsageError(NfvmonError):
    """Command-line options that do not fit together; the message says which to give."""

    def __init__(self, message: str):
        super().__init__(f"nfvmon: {one_line(message)}")
