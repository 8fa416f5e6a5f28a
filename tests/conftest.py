"""Shared test helpers: sample locations and the CI rule for optional services."""

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
