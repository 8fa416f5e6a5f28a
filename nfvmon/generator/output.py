"""Write a file so that readers see the old content or the new, never half of it."""

from __future__ import annotations

import os
import stat
import tempfile

from nfvmon.errors import InputError


def write_atomic(path: str, text: str) -> None:
    """Temp file in the target's directory, fsync, rename over the target."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".nfvmon-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(path, (), f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise InputError(path, (), f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def _mode_for(path: str) -> int:
    """Keep an existing file's mode; a new file gets the usual 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
