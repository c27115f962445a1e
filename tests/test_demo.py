"""The demo runs end to end against the embedded emulator, and read-only with a key."""

from __future__ import annotations

import asyncio
import io

import pytest

from clerk_async._demo import main
from clerk_async.emulator import Emulator


def test_demo_runs_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    out = io.StringIO()
    assert main([], out) == 0
    text = out.getvalue()
    assert "listed all 1200 users once each" in text
    assert "answers [429, 429, 200]" in text
    assert "verified it offline" in text
    assert text.rstrip().endswith("demo finished")


async def test_demo_with_a_secret_key_only_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    # The emulator stands in for the real API; the demo runs on a loop of its own in a
    # worker thread, as `python -m clerk_async demo` would.
    async with Emulator(seed_users=250) as emu:
        monkeypatch.setenv("CLERK_SECRET_KEY", emu.secret_key)
        monkeypatch.setenv("CLERK_API_URL", emu.url)
        out = io.StringIO()
        assert await asyncio.to_thread(main, [], out) == 0
    text = out.getvalue()
    assert f"read-only run against {emu.url}" in text
    assert "250 users" in text and "listed 200 users" in text
    assert "1 signing key(s) published" in text
    assert text.rstrip().endswith("demo finished")
    requests = emu.request_log
    assert requests and all(status == 200 for _, _, status in requests)
    assert {method for method, _, _ in requests} == {"GET"}  # no POST, PATCH, PUT or DELETE
