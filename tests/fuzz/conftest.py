"""Hypothesis profiles for the fuzz tests, and a count of the cases they ran.

The suite runs the ``ci`` profile (a few hundred cases, seconds); ``nox -s fuzz`` sets
``CLERK_FUZZ_PROFILE=long`` (over 10,000). The number of cases run is printed at the end.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, settings

_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=_CHECKS,
    derandomize=True,
    # A failure in the suite is reported as found; `nox -s fuzz` shrinks it.
    phases=[Phase.explicit, Phase.generate, Phase.target],
)
settings.register_profile(
    "long", max_examples=2500, deadline=None, suppress_health_check=_CHECKS, print_blob=True
)
settings.load_profile(os.environ.get("CLERK_FUZZ_PROFILE", "ci"))

#: Cases run per fuzz test (each property counts its own).
CASES: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CASES:
        total = sum(CASES.values())
        terminalreporter.write_line(
            f"fuzz: {total} generated cases in {len(CASES)} properties, "
            f"profile {settings.get_current_profile_name()}"
        )
