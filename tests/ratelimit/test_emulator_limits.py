"""The emulator enforcing Clerk's rate limits, seen on the wire."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from clerk_async import RateLimit
from clerk_async.emulator import Emulator
from clerk_async.emulator.__main__ import main as cli
from clerk_async.emulator._ratelimits import parse_setting


async def statuses(
    session: aiohttp.ClientSession, method: str, url: str, count: int, **kw: object
) -> list[tuple[int, str | None]]:
    found = []
    for _ in range(count):
        async with session.request(method, url, **kw) as r:
            await r.read()
            found.append((r.status, r.headers.get("Retry-After")))
    return found


async def test_the_instance_budget_closes_for_retry_after() -> None:
    async with Emulator(seed_users=1, rate_limits=RateLimit(requests=5, per=1)) as emu:
        headers = {"Authorization": f"Bearer {emu.secret_key}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            answers = await statuses(session, "GET", f"{emu.url}/v1/users", 7)
            assert [s for s, _ in answers] == [200] * 5 + [429, 429]
            retry_after = answers[5][1]
            assert retry_after is not None and retry_after.isdigit()  # whole seconds
            jwks = await statuses(session, "GET", f"{emu.url}/v1/jwks", 1)
            assert jwks[0][0] == 200  # not limited
            await asyncio.sleep(int(retry_after) + 0.05)
            again = await statuses(session, "GET", f"{emu.url}/v1/users", 1)
            assert again[0][0] == 200


async def test_per_user_bucket() -> None:
    limits = RateLimit.development(time_scale=0.1)  # 100 per 1 s, 10 per user per 1 s
    async with Emulator(seed_users=2, rate_limits=limits) as emu:
        first, second = list(emu.store.users)
        headers = {"Authorization": f"Bearer {emu.secret_key}"}
        body = {"json": {"public_metadata": {"n": 1}}}
        async with aiohttp.ClientSession(headers=headers) as session:
            url = f"{emu.url}/v1/users/{first}/metadata"
            answers = await statuses(session, "PATCH", url, 11, **body)
            assert [s for s, _ in answers] == [200] * 10 + [429]
            rename = {"json": {"first_name": "Other"}}
            other = await statuses(session, "PATCH", f"{emu.url}/v1/users/{second}", 1, **rename)
            assert other[0][0] == 200  # another user's bucket is open


async def test_presets_and_off_by_default() -> None:
    async with Emulator(rate_limits="development") as emu:
        assert emu.api.rate_limits is not None
        assert emu.api.rate_limits.instance.limit == 100
    assert Emulator().api.rate_limits is None
    with pytest.raises(ValueError, match="rate_limits"):
        Emulator(rate_limits="sometimes")  # type: ignore[arg-type]


def test_cli_settings() -> None:
    scaled = parse_setting("development", time_scale=0.1)
    assert isinstance(scaled, RateLimit) and scaled.window() == pytest.approx(1.0)
    assert parse_setting("40/2") == RateLimit(requests=40, per=2.0)
    assert parse_setting("production") == RateLimit.production()
    with pytest.raises(SystemExit):
        cli(["--rate-limits", "often"])
