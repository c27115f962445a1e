"""The contract suite: every operation against a Prism mock of the spec.

It runs only when ``CLERK_CONTRACT_PRISM_URL`` names a running Prism server, which
``nox -s contract`` (or ``python -m tests.contract.prism``) arranges. Otherwise its
test modules are not even collected, so ``pytest tests`` stays offline and fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .report import RESULTS, summary_lines

ENV_URL = "CLERK_CONTRACT_PRISM_URL"

collect_ignore_glob = [] if os.environ.get(ENV_URL) else ["test_*.py"]


@pytest.fixture(scope="session")
def prism_url() -> Iterator[str]:
    url = os.environ.get(ENV_URL, "")
    if not url:
        pytest.skip(f"set {ENV_URL} to a running Prism server (or run: nox -s contract)")
    yield url.rstrip("/")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    terminalreporter.section("contract summary")
    for line in summary_lines():
        terminalreporter.write_line(line)
