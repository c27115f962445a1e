"""Bulk jobs through the public API against the emulator enforcing a scaled-down budget.

Windows are short (1-2 s) so that the jobs take seconds; the assertions are on
counts and ratios, with margin for a loaded machine.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from benchmarks.bulk import clerk_job, limited_emulator
from clerk_async import RateLimit, RateLimitError, Retries
from clerk_async.emulator import Emulator


async def test_default_client_finishes_with_no_failure(caplog: pytest.LogCaptureFixture) -> None:
    # The job, smaller: 100 tasks at once against 40 requests per second.
    caplog.set_level(logging.INFO, logger="clerk_async.ratelimit")
    async with limited_emulator(200, 40, 1.0) as emu, emu.client() as clerk:
        result = await clerk_job("default", clerk, list(emu.store.users))
    assert result.failed == 0
    # Only the first burst (sent before any answer came back) is refused: each task
    # retrying by itself gets about two thirds of its requests refused here.
    assert result.share_429 < 0.4
    refusals = [r for r in caplog.records if r.getMessage().startswith("rate limited")]
    assert 1 <= len(refusals) <= 5
    assert refusals[0].bucket == "instance"  # type: ignore[attr-defined]
    assert refusals[0].seconds >= 1  # type: ignore[attr-defined]
    stats = clerk.rate_limit_stats
    assert stats.rate_limited == result.rate_limited and stats.waits > 0


async def test_rate_limit_in_process_is_never_refused() -> None:
    requests, per = 100, 2.0
    async with limited_emulator(300, requests, per) as emu:
        limit = RateLimit(requests=requests, per=per)
        async with emu.client(rate_limit=limit) as clerk:
            result = await clerk_job("RateLimit", clerk, list(emu.store.users))
    assert result.failed == 0
    assert result.share_429 <= 0.01
    assert result.achieved_over_allowed(requests, per) >= 0.9


async def test_a_refusal_shared_by_many_uses_up_no_retries() -> None:
    # With one retry each, tasks that all wait out the same 429 would fail if every
    # refusal counted: they are refused together, but only the first one is news.
    async with limited_emulator(60, 10, 1.0) as emu, emu.client(retries=1) as clerk:
        result = await clerk_job("retries=1", clerk, list(emu.store.users), concurrency=30)
    assert result.failed == 0
    assert result.rate_limited >= 20


async def test_copies_pause_together() -> None:
    async with limited_emulator(1, 3, 1.0) as emu, emu.client() as clerk:
        copy = clerk.with_options(timeout=10)
        user_id = next(iter(emu.store.users))
        for _ in range(3):
            await clerk.users.get(user_id)
        fourth = asyncio.create_task(clerk.users.get(user_id))  # refused: pauses the client
        # The emulator's log is what shows the refusal arrived; nothing to wait on.
        while not any(status == 429 for *_, status in emu.request_log):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        started = time.monotonic()
        await copy.users.get(user_id)
        waited = time.monotonic() - started
        await fourth
        # The copy waited out the pause instead of being refused in turn.
        assert sum(1 for *_, status in emu.request_log if status == 429) == 1
        assert waited > 0.5
        assert copy.rate_limit_stats == clerk.rate_limit_stats


async def test_the_deadline_still_holds() -> None:
    # A pause longer than what is left of the deadline fails fast, as before.
    async with limited_emulator(1, 1, 3.0) as emu:
        user_id = next(iter(emu.store.users))
        async with emu.client(retries=Retries(max_retries=5, deadline=0.5)) as clerk:
            await clerk.users.get(user_id)
            started = time.monotonic()
            with pytest.raises(RateLimitError):
                await clerk.users.get(user_id)
            assert time.monotonic() - started < 0.5


def test_sync_client_paces() -> None:
    emulator = Emulator(seed_users=1, rate_limits=RateLimit(requests=4, per=1.0))
    with (
        emulator.running_in_thread() as emu,
        emu.sync_client(rate_limit=RateLimit(requests=4, per=1.0)) as clerk,
    ):
        user_id = next(iter(emu.store.users))
        for _ in range(9):
            clerk.users.get(user_id)
        stats = clerk.rate_limit_stats
    assert stats.rate_limited == 0
    assert stats.requests == 9 and stats.waits >= 2


async def test_per_user_bucket_is_paced() -> None:
    limits = RateLimit.development(time_scale=0.1)  # 10 updates per user per second
    async with Emulator(seed_users=1, rate_limits=limits) as emu:
        user_id = next(iter(emu.store.users))
        async with emu.client(rate_limit=limits) as clerk:
            started = time.monotonic()
            await asyncio.gather(
                *(clerk.users.update_metadata(user_id, public_metadata={"n": i}) for i in range(15))
            )
            assert time.monotonic() - started >= 0.9  # the last five waited for the window
            assert clerk.rate_limit_stats.rate_limited == 0


async def test_a_user_bucket_429_pauses_that_user_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="clerk_async.ratelimit")
    limits = RateLimit.development(time_scale=0.1)
    async with Emulator(seed_users=2, rate_limits=limits) as emu, emu.client() as clerk:
        hot, other = list(emu.store.users)
        updates = asyncio.gather(
            *(clerk.users.update_metadata(hot, public_metadata={"n": i}) for i in range(12))
        )
        while not any(status == 429 for *_, status in emu.request_log):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        started = time.monotonic()
        await clerk.users.update_metadata(other, public_metadata={"n": 0})
        assert time.monotonic() - started < 0.5  # another user's updates are not paused
        await updates
    paused = [r.bucket for r in caplog.records if hasattr(r, "bucket")]
    assert paused and all(name == f"user_update:{hot}" for name in paused)
