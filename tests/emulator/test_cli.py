"""``python -m clerk_async.emulator`` in a process of its own, called with the SDK."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from clerk_async import Clerk, Retries

FLAGS = [
    "--host", "127.0.0.1",
    "--port", "0",  # the emulator prints the port it got
    "--seed-users", "30",
    "--seed", "4",
    "--latency", "0.001",
    "--error-rate", "0.15",
    "--rate-limit-rate", "0.15",
    "--retry-after", "0",
    "--drop-rate", "0.3",
]  # fmt: skip

# A generous guard against a child that never starts; nothing here is timed.
STARTUP_LIMIT = 60.0


@pytest.fixture
async def served() -> AsyncIterator[dict[str, str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-u",
        "-m",
        "clerk_async.emulator",
        *FLAGS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    printed: dict[str, str] = {}
    try:
        while "CLERK_SECRET_KEY" not in printed:
            line = await asyncio.wait_for(proc.stdout.readline(), STARTUP_LIMIT)
            assert line, "the emulator exited before it printed its address"
            key, sep, value = line.decode().strip().partition("=")
            if sep:
                printed[key] = value
        yield printed
    finally:
        if proc.returncode is None:
            proc.terminate()  # SIGTERM to this child's PID only
        _, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()


async def test_cli_serves_the_sdk_through_its_faults(served: dict[str, str]) -> None:
    url, key = served["CLERK_API_URL"], served["CLERK_SECRET_KEY"]
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")

    # Without retries the flags show: 429s with a whole-second Retry-After, 5xx, drops.
    seen: list[object] = []
    # (aiohttp resends a dropped GET once by itself, so only some drops show here.)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
        for _ in range(60):
            try:
                async with session.get(url + "/v1/users/count") as resp:
                    seen.append(resp.status)
                    if resp.status == 429:
                        assert resp.headers["Retry-After"] == "0"
                    body = await resp.json()
                    assert "total_count" in body or body["errors"][0]["code"]
            except aiohttp.ClientError:
                seen.append("dropped")
    assert {200, 429, "dropped"} <= set(seen)
    assert any(isinstance(s, int) and s >= 502 for s in seen)

    # The SDK's retries hide every one of them.
    retries = Retries(max_retries=12, backoff_base=0.001, backoff_max=0.005, deadline=30.0)
    async with Clerk(secret_key=key, api_url=url, retries=retries) as clerk:
        assert (await clerk.users.count()).total_count == 30
        everyone = [u async for u in clerk.users.list(limit=7)]
        assert len({u.id for u in everyone}) == 30
        name = everyone[3].username or ""
        assert [u.id for u in (await clerk.users.list(username=[name])).data] == [everyone[3].id]
        assert (await clerk.users.count(username=[name])).total_count == 1
