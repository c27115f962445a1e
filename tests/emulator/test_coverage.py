"""The README's list of what the emulator emulates by hand and what by the generic store
is the code's own: it is printed by ``python -m clerk_async.emulator --coverage``."""

from __future__ import annotations

import re
from pathlib import Path

from clerk_async.emulator import Emulator
from clerk_async.emulator._coverage import coverage_markdown
from clerk_async.emulator._routes import ROUTES

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(
    r"<!-- emulator-coverage: start .*?-->\n(.*?)<!-- emulator-coverage: end -->", re.S
)


def test_the_readme_lists_what_the_code_emulates() -> None:
    found = BLOCK.search(README.read_text(encoding="utf-8"))
    assert found, "README.md lost its emulator-coverage block"
    assert found.group(1) == coverage_markdown(), (
        "README.md's emulator list is stale: paste the output of "
        "`python -m clerk_async.emulator --coverage` between its emulator-coverage markers"
    )


def test_every_operation_is_listed_once() -> None:
    api = Emulator().api
    table = coverage_markdown(api)
    rows = [line for line in table.splitlines() if line.startswith("| `")][1:]
    cells = sum(len(re.findall(r"`[a-z0-9_]+`", row.split("|", 2)[2])) for row in rows)
    assert cells == len(ROUTES)
    assert f"{len(api.generic_routes)} by the generic store" in table
