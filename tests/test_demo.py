"""The demo runs end to end against the embedded emulator."""

from __future__ import annotations

import io

import pytest

from clerk_async._demo import main


def test_demo_runs_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    out = io.StringIO()
    assert main([], out) == 0
    text = out.getvalue()
    assert "listed all 1200 users once each" in text
    assert "answers [429, 429, 200]" in text
    assert "verified it offline" in text
    assert text.rstrip().endswith("demo finished")
