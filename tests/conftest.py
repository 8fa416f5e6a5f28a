"""Shared test helpers: sample locations and the CI rule for optional services.

The fixtures live in tests/fixtures/, one module per service (each says what it starts and
how it stops it); they are registered here and their helpers re-exported, so tests keep
importing them from tests.conftest.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TACKER_SAMPLES = ROOT / "tests" / "data" / "tacker-samples"
SHARED_SAMPLES = ROOT.parent / "shared" / "tacker-samples"
SAMPLES = ROOT / "samples"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_module(name: str):
    """Import `name`; outside CI skip with the reason, in CI fail (never skip silently)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        message = f"{name} is not installed ({exc}); install the test extras: pip install '.[test]'"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def unavailable(reason: str):
    """A service the test needs is missing: fail in CI, skip (saying why) elsewhere."""
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


# Before they are imported below, so that their asserts are rewritten too.
pytest.register_assert_rewrite("tests.fixtures")

pytest_plugins = [
    "tests.fixtures.config",
    "tests.fixtures.mistral",
    "tests.fixtures.netns",
    "tests.fixtures.postgres",
]

# The helpers, for `from tests.conftest import ...` (the fixture modules import the CI rule
# above lazily, inside their functions: no import cycle).
from tests.fixtures.mistral import MistralServer  # noqa: E402
from tests.fixtures.netns import NetnsHost  # noqa: E402
from tests.fixtures.postgres import (  # noqa: E402
    PG_ADMIN,
    _pg_admin_connection,
    fresh_postgres_database,
)
from tests.fixtures.rabbitmq import queue_exists, rabbit_url  # noqa: E402
from tests.fixtures.waiting import serve_ok, wait_for  # noqa: E402

__all__ = [
    "PG_ADMIN", "ROOT", "SAMPLES", "SHARED_SAMPLES", "TACKER_SAMPLES", "MistralServer",
    "NetnsHost", "_pg_admin_connection", "fresh_postgres_database", "in_ci", "queue_exists",
    "rabbit_url", "require_module", "serve_ok", "unavailable", "wait_for",
]
