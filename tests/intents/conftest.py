"""Shared fixtures: one engine over the bundled catalog per test session (it is immutable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents import IntentEngine

BUNDLED = Path(__file__).resolve().parents[2] / "intents" / "catalog"


@pytest.fixture(scope="session")
def engine() -> IntentEngine:
    return IntentEngine([BUNDLED])
