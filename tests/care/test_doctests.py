"""The examples in care/ docstrings are part of the documentation: keep them true."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    [
        "care.salutation",
        "care.desk.details",
        "care.desk.dialogue",
        "care.desk.trace",
        "care.timefmt",
        "intents.normalize",
        "intents.tokens",
        "care.runtime.settings",
        "care.reports.period",
        "care.reports.figures",
        "care.reports.config",
        "care.reports.texts",
    ],
)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), verbose=False)
    assert result.attempted > 0 and result.failed == 0
