"""The command line's own logging: nfvmon's warnings as `nfvmon: WARNING: ...` lines on
whatever stderr is at the time (so in-process callers capture them), -v/-q for the level and
--log-file for a copy, as cliff's options say; the conductor hands all of it to oslo.log."""

from __future__ import annotations

import logging
import sys

LEVELS = {0: logging.WARNING, 1: logging.INFO}


class StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


class _LogFileHandler(logging.FileHandler):
    """--log-file's copy; one at a time, however many commands a process runs."""


def configure(verbose_level: int, log_file: str | None) -> None:
    logger = logging.getLogger("nfvmon")
    for handler in [h for h in logger.handlers if isinstance(h, _LogFileHandler)]:
        logger.removeHandler(handler)
        handler.close()
    level = LEVELS.get(verbose_level, logging.DEBUG)
    stderr = next((h for h in logger.handlers if isinstance(h, StderrHandler)), None)
    if stderr is None:
        stderr = StderrHandler()
        stderr.setFormatter(logging.Formatter("nfvmon: %(levelname)s: %(message)s"))
        logger.addHandler(stderr)
    stderr.setLevel(level)
    logger.setLevel(logging.DEBUG if log_file else level)
    if log_file:
        copy = _LogFileHandler(log_file)
        copy.setFormatter(logging.Formatter(
            "[%(asctime)s] %(levelname)-8s %(name)s %(message)s"))
        logger.addHandler(copy)


def leave_to_oslo() -> None:
    """The conductor logs through oslo.log alone: one line per record, at its `debug`
    level."""
    logger = logging.getLogger("nfvmon")
    for handler in [h for h in logger.handlers if isinstance(h, StderrHandler)]:
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
