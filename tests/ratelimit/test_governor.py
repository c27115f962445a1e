"""The governor's decisions and its queue, without I/O."""

from __future__ import annotations

import asyncio
import time

import pytest

from clerk_async import RateLimit
from clerk_async._ratelimit import ENDPOINT_LIMITS, Governor, classify


@pytest.mark.parametrize(
    ("method", "path", "bucket", "key"),
    [
        ("PATCH", "/users/user_1", "user_update", "user_1"),
        ("PATCH", "/users/user_1/metadata", "user_update", "user_1"),
        ("PUT", "/users/user_1/metadata", "user_update", "user_1"),
        ("PATCH", "/organizations/org_1/metadata", "organization_update", "org_1"),
        ("PATCH", "/organizations/org_1/memberships/user_2", "membership_update", "org_1/user_2"),
        ("POST", "/invitations", "invitations", ""),
        ("POST", "/invitations/bulk", "invitations_bulk", ""),
        ("POST", "/organizations/org_1/invitations", "organization_invitations", ""),
        ("POST", "/organizations/org_1/invitations/bulk", "organization_invitations_bulk", ""),
    ],
)
def test_stricter_buckets(method: str, path: str, bucket: str, key: str) -> None:
    found = classify(method, path)
    assert found
    limit, found_key = found
    assert (limit.name, found_key) == (bucket, key)


def test_instance_budget_only_and_unlimited() -> None:
    assert classify("GET", "/users") is None
    assert classify("POST", "/users") is None
    assert classify("GET", "/users/user_1") is None
    assert classify("DELETE", "/organizations/org_1") is None
    assert classify("GET", "/jwks") is False
    assert Governor(None, "sk_test_x").route("GET", "/jwks") == ()


def test_documented_numbers() -> None:
    assert ENDPOINT_LIMITS[("POST", "invitations")].requests == 100
    assert ENDPOINT_LIMITS[("POST", "invitations")].per == 3600
    assert ENDPOINT_LIMITS[("PATCH", "users/*")].requests == 10
    assert (RateLimit.production().requests, RateLimit.production().per) == (1000, 10.0)
    assert RateLimit.for_secret_key("sk_live_abc").requests == 1000
    assert RateLimit.for_secret_key("sk_test_abc").requests == 100
    assert RateLimit().resolved("sk_live_abc").requests == 1000
    assert RateLimit(requests=5, per=2, time_scale=0.5).window() == 1.0
    with pytest.raises(ValueError, match="requests"):
        RateLimit(requests=0)
    with pytest.raises(ValueError, match="time_scale"):
        RateLimit(time_scale=0)
    with pytest.raises(ValueError, match="on_redis_error"):
        RateLimit(on_redis_error="maybe")  # type: ignore[arg-type]


async def test_waiters_are_served_in_order() -> None:
    governor = Governor(RateLimit(requests=2, per=0.2), "sk_test_x")
    route = governor.route("GET", "/users")
    order: list[int] = []

    async def request(i: int) -> None:
        ticket = await governor.acquire(route)
        order.append(i)
        governor.answered(route, ticket, accepted=True)  # answered at once

    tasks = []
    for i in range(6):
        tasks.append(asyncio.create_task(request(i)))
        await asyncio.sleep(0)  # each task queues before the next is created
    await asyncio.gather(*tasks)
    assert order == list(range(6))
    stats = governor.stats()
    assert stats.waits == 4  # two slots at once, four waited for the window
    assert stats.seconds_waited > 0


async def test_a_cancelled_waiter_takes_nothing() -> None:
    window = 0.4
    governor = Governor(RateLimit(requests=1, per=window), "sk_test_x")
    route = governor.route("GET", "/users")
    governor.answered(route, await governor.acquire(route), accepted=True)
    first = asyncio.create_task(governor.acquire(route))
    second = asyncio.create_task(governor.acquire(route))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    first.cancel()
    await second
    # The second had the slot the first gave up: one window, not two.
    assert time.monotonic() - started < window * 1.5
    assert first.cancelled()


async def test_a_slot_is_held_until_the_answer() -> None:
    # The window of a slot starts when its request is answered, not when it is sent.
    governor = Governor(RateLimit(requests=1, per=0.2), "sk_test_x")
    route = governor.route("GET", "/users")
    ticket = await governor.acquire(route)
    waiting = asyncio.create_task(governor.acquire(route))
    await asyncio.sleep(0.4)  # two windows, and the first request is not answered yet
    assert not waiting.done()
    governor.answered(route, ticket, accepted=True)
    started = time.monotonic()
    await waiting
    assert time.monotonic() - started >= 0.15


async def test_a_stricter_bucket_given_back_when_cancelled() -> None:
    governor = Governor(RateLimit(requests=1, per=30), "sk_test_x")
    await governor.acquire(governor.route("GET", "/users"))  # the instance budget is spent
    route = governor.route("PATCH", "/users/user_1")
    waiting = asyncio.create_task(governor.acquire(route))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    user_bucket = route[0]
    assert user_bucket.in_flight == 0  # the per-user slot it had taken came back
