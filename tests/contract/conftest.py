"""The contract suite: every operation against a Prism mock of the spec.

It runs only when ``CLERK_CONTRACT_PRISM_URL`` names a running Prism server, which
``nox -s contract`` (or ``python -m tests.contract.prism``) arranges. Otherwise its
test modules are not even collected by ``pytest tests``, which stays offline and fast;
naming this folder explicitly (``pytest tests/contract``) collects them and skips them
with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .report import RESULTS, summary_lines

ENV_URL = "CLERK_CONTRACT_PRISM_URL"

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if os.environ.get(ENV_URL) or not collection_path.name.startswith("test_"):
        return None
    base = config.invocation_params.dir
    for arg in config.args:
        target = (base / arg.split("::")[0]).resolve()
        if target == HERE or HERE in target.parents:
            return None  # asked for by name: collect, and skip with the reason
    return True


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
