"""Which operations the emulator answers with hand-written behaviour and which from the
spec's schemas alone: ``python -m clerk_async.emulator --coverage`` prints it as the
Markdown table of the README (a test holds the two in step).
"""

from __future__ import annotations

from collections import defaultdict

from .._operations import OPERATIONS
from ._app import Api
from ._routes import ROUTES

__all__ = ["coverage_markdown"]


def coverage_markdown(api: Api | None = None) -> str:
    """The README's table: per SDK group (``clerk.<group>``), the operations emulated
    statefully by hand-written code and those answered by the generic store."""
    if api is None:
        from . import Emulator

        api = Emulator().api
    operations = {(op.method, op.path): op for op in OPERATIONS}
    groups: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    counts = {"stateful": 0, "generic": 0}
    for route in ROUTES:
        op = operations.get((route.method, route.path))
        name = op.name if op is not None else route.operation_id
        group = op.group if op is not None else "(not in the SDK)"
        if (route.method, route.path) in api.generic_routes:
            groups[group][1].append(f"`{name}`")
            counts["generic"] += 1
        else:
            groups[group][0].append(f"`{name}`")
            counts["stateful"] += 1
    lines = [
        f"Of the {len(ROUTES)} operations of the spec, {counts['stateful']} are emulated "
        f"by hand-written behaviour and {counts['generic']} by the generic store.",
        "",
        "| `clerk.` group | hand-written behaviour | generic store (spec schemas) |",
        "|---|---|---|",
    ]
    for group in sorted(groups):
        stateful, generic = groups[group]
        lines.append(f"| `{group}` | {', '.join(stateful)} | {', '.join(generic)} |")
    return "\n".join(lines) + "\n"
