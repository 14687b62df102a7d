"""Hypothesis profile for the suite: deterministic (derandomized) in CI, so a run can be repeated."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "suite",
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "300")),
    deadline=None,  # a shared 2-core machine: no timed assertions
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
settings.load_profile("suite")
