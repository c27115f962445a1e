"""What each operation's contract test saw, for the summary at the end of the run."""

from __future__ import annotations

from collections import Counter

import attrs


@attrs.define
class Outcome:
    """One operation's run against Prism."""

    operation: str
    statuses: list[int] = attrs.Factory(list)
    preferred: int | None = None  # the 2xx code asked for with ``Prefer: code=…``
    response_violations: int = 0  # places where the spec's own example breaks its schema


RESULTS: dict[str, Outcome] = {}


def summary_lines() -> list[str]:
    outcomes = sorted(RESULTS.values(), key=lambda o: o.operation)
    final = Counter(o.statuses[-1] if o.statuses else 0 for o in outcomes)
    lines = [
        f"{len(outcomes)} operations called; final statuses: "
        + ", ".join(f"{code}: {n}" for code, n in sorted(final.items()))
    ]
    for o in outcomes:
        if o.preferred is not None:
            lines.append(
                f"  {o.operation}: answered {o.statuses[0]}, then Prefer code={o.preferred}"
            )
        elif o.statuses and not 200 <= o.statuses[-1] < 300:
            lines.append(f"  {o.operation}: answered {o.statuses[-1]} (the spec defines no 2xx)")
    flawed = [o for o in outcomes if o.response_violations]
    if flawed:
        lines.append(
            f"{len(flawed)} operations whose spec example breaks the spec's own schema "
            "(Prism's sl-violations on the response; not a failure of ours):"
        )
        lines += [f"  {o.operation}: {o.response_violations} violations" for o in flawed]
    return lines
