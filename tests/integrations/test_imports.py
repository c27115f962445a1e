"""The frameworks are optional: only the integration module of each one imports it."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
import {modules}
loaded = sorted(m for m in ("fastapi", "starlette", "uvicorn") if m in sys.modules)
print(",".join(loaded))
"""


def loaded_after(*modules: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", CHECK.format(modules=", ".join(modules))],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return set(out.split(",")) - {""}


def test_the_core_imports_no_framework() -> None:
    modules = ("clerk_async", "clerk_async.auth", "clerk_async.integrations")
    assert loaded_after(*modules) == set()


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("clerk_async.integrations.aiohttp", set()),
        ("clerk_async.integrations.starlette", set()),
        ("clerk_async.integrations.fastapi", {"fastapi", "starlette"}),
    ],
)
def test_each_integration_imports_its_own_framework(module: str, expected: set[str]) -> None:
    assert loaded_after(module) == expected
