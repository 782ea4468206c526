"""Hypothesis settings for the fuzz layer: deterministic, bounded, no deadline (CI is loaded).

`derandomize=True` makes every run draw the same examples, so a failure reproduces and a
green suite stays green; the examples found so far are pinned with `@example`. For a
deeper local search: ``HYPOTHESIS_PROFILE=deep pytest tests/fuzz``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "database": None,  # nothing written into the checkout
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("ci", max_examples=40, derandomize=True, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("deep", max_examples=2000, **_COMMON)  # type: ignore[arg-type]
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
