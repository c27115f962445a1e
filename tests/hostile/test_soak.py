"""The soak's short version (``nox -s soak`` runs the long one): no write lost or applied
twice under faults, nothing leaked."""

from __future__ import annotations

from .soak import run


def test_a_short_soak_under_faults_loses_and_duplicates_nothing() -> None:
    report = run(1500, seconds=60, tasks=8, threads=2)
    print(report.summary())
    assert report.ops == 1500
    assert report.lost == [] and report.duplicated == []
    assert report.leaked == []
    assert report.created > 0 and report.sessions > 0
    # The faults were really on, and some answers really were lost.
    assert report.faults[0] > 0 and report.faults[502] + report.faults[503] > 0
    assert report.faults[429] > 0
