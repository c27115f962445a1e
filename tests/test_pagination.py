"""Auto-pagination against a local server holding 2,345 users."""

from __future__ import annotations

import asyncio
import bisect
import gc
import math
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import web

from clerk_async import AsyncPaginator, Clerk, PaginationError, errors

from .conftest import FAST_RETRIES, SECRET
from .stub_server import StubServer

N_USERS = 2345


@attrs.define(kw_only=True)
class Item:
    id: str | None = None
    created_at: int | None = None


class Directory:
    """A users endpoint: newest first, limit/offset and ``starting_after``."""

    def __init__(self, n: int, *, envelope: bool) -> None:
        # created_at descending, like Clerk's default order.
        self.users: list[dict[str, Any]] = [
            {"id": f"user_{i:05d}", "created_at": 10_000 - i} for i in range(n)
        ]
        self.envelope = envelope
        self.fail_on_request: int | None = None
        self.ignore_offset = False
        self.delay = 0.0
        self.started = 0
        self.cancelled = 0
        self.on_request: Any = None

    async def handle(self, request: web.Request) -> web.Response:
        self.started += 1
        number = self.started
        if self.on_request is not None:
            self.on_request(number)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if number == self.fail_on_request:
            return web.json_response(
                {"errors": [{"code": "internal_error", "message": "boom"}]}, status=400
            )
        limit = int(request.query.get("limit", "10"))
        offset = 0 if self.ignore_offset else int(request.query.get("offset", "0"))
        users = self.users
        after = request.query.get("starting_after")
        if after is not None:
            users = users[bisect.bisect_right([str(u["id"]) for u in users], after) :]
        data = users[offset : offset + limit]
        if self.envelope:
            return web.json_response({"data": data, "total_count": len(self.users)})
        return web.json_response(data)


@pytest.fixture
async def server(stub: StubServer) -> AsyncIterator[tuple[StubServer, Directory, Directory]]:
    bare = Directory(N_USERS, envelope=False)
    wrapped = Directory(N_USERS, envelope=True)
    stub.add("GET", "/v1/users", bare.handle)
    stub.add("GET", "/v1/organizations", wrapped.handle)
    yield stub, bare, wrapped


def users(clerk: Clerk, *, cursor: bool = True, **query: Any) -> AsyncPaginator[Item]:
    max_items = query.pop("max_items", None)
    concurrency = query.pop("concurrency", 1)
    return clerk._paginate(
        "/users",
        query=query,
        item_type=Item,
        envelope=False,
        cursor=cursor,
        max_items=max_items,
        concurrency=concurrency,
    )


def orgs(clerk: Clerk, **query: Any) -> AsyncPaginator[Item]:
    max_items = query.pop("max_items", None)
    concurrency = query.pop("concurrency", 1)
    return clerk._paginate(
        "/organizations",
        query=query,
        item_type=Item,
        envelope=True,
        max_items=max_items,
        concurrency=concurrency,
    )


async def test_await_gives_one_page(server: Any, clerk: Clerk) -> None:
    stub, _, _ = server
    page = await orgs(clerk, limit=100)
    assert len(page.data) == 100 and page.total_count == N_USERS
    assert isinstance(page.data[0], Item)
    assert page.has_next_page()
    second = await page.next_page()
    assert second is not None and second.data[0].id == "user_00100"
    assert stub.requests[0].query["limit"] == "100"
    assert stub.count() == 2


async def test_sequential_offset_every_item_once(server: Any, clerk: Clerk) -> None:
    stub, _, _ = server
    seen = [u.id async for u in orgs(clerk)]
    assert len(seen) == N_USERS == len(set(seen))
    assert stub.count() == math.ceil(N_USERS / 500)  # total_count known: not one request more
    offsets = [r.query.get("offset", "0") for r in stub.requests]
    assert offsets == ["0", "500", "1000", "1500", "2000"]


async def test_bare_array_offset_needs_at_most_one_extra(server: Any, clerk: Clerk) -> None:
    stub, _, _ = server
    seen = [u.id async for u in users(clerk, order_by="-updated_at")]
    assert len(seen) == N_USERS == len(set(seen))
    assert stub.count() == math.ceil(N_USERS / 500)  # the last page is short: no extra request
    assert all("starting_after" not in r.query for r in stub.requests)


async def test_exact_multiple_without_count_costs_one_more(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(1000, envelope=False)
    stub.add("GET", "/v1/users", directory.handle)
    seen = [u.id async for u in users(clerk, order_by="-updated_at")]
    assert len(set(seen)) == 1000
    assert stub.count() == 1000 // 500 + 1


async def test_cursor_mode(server: Any, clerk: Clerk) -> None:
    stub, _, _ = server
    seen = [u.id async for u in users(clerk, limit=200)]
    assert len(seen) == N_USERS == len(set(seen))
    assert stub.count() == math.ceil(N_USERS / 200)
    assert "starting_after" not in stub.requests[0].query
    assert stub.requests[1].query["starting_after"] == "user_00199"
    assert all("offset" not in r.query for r in stub.requests)


async def test_cursor_survives_deletions(server: Any, clerk: Clerk) -> None:
    _, bare, _ = server
    seen: list[str | None] = []
    async for user in users(clerk, limit=100):
        seen.append(user.id)
        if len(seen) == 150:
            # Delete 50 users already seen: an offset walk would now skip 50 unseen ones.
            del bare.users[0:50]
    expected = {f"user_{i:05d}" for i in range(N_USERS)}
    assert set(seen) == expected and len(seen) == N_USERS


@pytest.mark.parametrize("concurrency", [2, 4, 8])
async def test_concurrent_in_order(server: Any, clerk: Clerk, concurrency: int) -> None:
    stub, _, wrapped = server
    wrapped.delay = 0.01
    seen = [u.id async for u in orgs(clerk, limit=100, concurrency=concurrency)]
    assert seen == [f"user_{i:05d}" for i in range(N_USERS)]
    assert stub.count() == math.ceil(N_USERS / 100)
    assert stub.max_in_flight > 1


async def test_concurrent_bare_array_stops(server: Any, clerk: Clerk) -> None:
    stub, _, _ = server
    seen = [u.id async for u in users(clerk, cursor=False, limit=300, concurrency=4)]
    assert seen == [f"user_{i:05d}" for i in range(N_USERS)]
    await asyncio.sleep(0)
    assert stub.count() <= math.ceil(N_USERS / 300) + 4


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_max_items(server: Any, clerk: Clerk, concurrency: int) -> None:
    stub, _, _ = server
    seen = [u.id async for u in orgs(clerk, max_items=730, concurrency=concurrency)]
    assert len(seen) == 730 == len(set(seen))
    assert stub.count() == 2
    assert stub.requests[-1].query["limit"] == "230"  # the last page asks only for the rest


async def test_early_break_cancels_in_flight_pages(server: Any, clerk: Clerk) -> None:
    stub, _, wrapped = server
    wrapped.delay = 0.2
    iterator = orgs(clerk, limit=50, concurrency=4).__aiter__()
    first = await iterator.__anext__()
    assert first.id == "user_00000"
    for _ in range(100):
        if stub.in_flight == 4:
            break
        await asyncio.sleep(0.01)
    assert stub.in_flight == 4  # pages 2-5 fetched ahead
    await iterator.aclose()  # type: ignore[attr-defined]
    for _ in range(100):
        if stub.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert stub.in_flight == 0
    assert wrapped.cancelled == 4


async def test_break_in_async_for_leaves_no_warning(server: Any, clerk: Clerk) -> None:
    _, _, wrapped = server
    wrapped.delay = 0.05
    async for user in orgs(clerk, limit=50, concurrency=4):
        assert user.id == "user_00000"
        break
    gc.collect()
    await asyncio.sleep(0.3)  # the loop's async-generator finalizer cancels the prefetch
    # filterwarnings=error turns any "exception was never retrieved" into a failure.


async def test_error_on_page_three(server: Any, clerk: Clerk) -> None:
    _, _, wrapped = server
    wrapped.fail_on_request = 3
    seen: list[str | None] = []
    with pytest.raises(errors.BadRequestError):
        async for user in orgs(clerk, limit=100):
            seen.append(user.id)
    assert len(seen) == 200


async def test_error_on_page_three_concurrent(server: Any, clerk: Clerk) -> None:
    _, _, wrapped = server
    wrapped.fail_on_request = 3
    seen: list[str | None] = []
    with pytest.raises(errors.BadRequestError):
        async for user in orgs(clerk, limit=100, concurrency=3):
            seen.append(user.id)
    assert len(seen) == 200


async def test_server_ignoring_offset_is_not_endless(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(100, envelope=False)
    directory.ignore_offset = True
    stub.add("GET", "/v1/users", directory.handle)
    with pytest.raises(PaginationError, match="same page"):
        async for _ in users(clerk, order_by="-updated_at", limit=10):
            pass
    assert stub.count() == 2


async def test_pages(server: Any, clerk: Clerk) -> None:
    sizes = [len(p.data) async for p in orgs(clerk, limit=1000).pages()]
    assert sizes == [1000, 1000, 345]


async def test_invalid_arguments(clerk: Clerk) -> None:
    with pytest.raises(ValueError):
        orgs(clerk, concurrency=0)
    with pytest.raises(ValueError):
        orgs(clerk, max_items=-1)


async def test_page_retry_does_not_skip(stub: StubServer) -> None:
    directory = Directory(300, envelope=True)
    calls = {"n": 0}

    async def flaky(request: web.Request) -> web.Response:
        calls["n"] += 1
        if calls["n"] == 2:
            return web.json_response({"errors": []}, status=503)
        return await directory.handle(request)

    stub.add("GET", "/v1/organizations", flaky)
    async with Clerk(secret_key=SECRET, api_url=stub.url, retries=FAST_RETRIES) as clerk:
        seen = [u.id async for u in orgs(clerk, limit=100)]
    assert len(set(seen)) == 300
