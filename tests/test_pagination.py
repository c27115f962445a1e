"""Auto-pagination against a local server holding 2,345 users."""

from __future__ import annotations

import asyncio
import bisect
import gc
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest
from aiohttp import web

from clerk_async import UNSET, AsyncPaginator, Clerk, PaginationError, errors
from clerk_async._http import requester_of

from .conftest import FAST_RETRIES, SECRET
from .stub_server import StubServer

N_USERS = 2345


async def settle() -> None:
    """Let finalizers run: collected tasks report a lost exception only when freed."""
    for _ in range(3):
        gc.collect()
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Every call of the loop's exception handler during the test.

    "Task exception was never retrieved" reaches the loop's exception handler, not
    the warnings machinery, so ``filterwarnings = error`` would not catch it.
    """
    loop = asyncio.get_running_loop()
    calls: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: calls.append(context))
    try:
        yield calls
        await settle()
        assert [c.get("message") for c in calls] == []
    finally:
        loop.set_exception_handler(previous)


def fetches_in_flight() -> int:
    """Page requests of a paginator that have not finished."""
    return sum(
        1
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "AsyncPaginator._fetch"
    )


async def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


@attrs.define(kw_only=True)
class Item:
    id: str | None = None
    created_at: int | None = None


class Directory:
    """A users endpoint: newest first, limit/offset and ``starting_after``."""

    def __init__(
        self, n: int, *, envelope: bool | str, ids: bool = True, max_limit: int = 10**6
    ) -> None:
        # created_at descending, like Clerk's default order.
        self.users: list[dict[str, Any]] = [
            {"id": f"user_{i:05d}", "created_at": 10_000 - i}
            if ids
            else {"object": "oauth_access_token", "token": f"tok_{i:05d}", "provider": "google"}
            for i in range(n)
        ]
        self.envelope = envelope
        self.max_limit = max_limit
        self.fail_on_request: int | None = None
        self.failing: set[int] = set()  # request numbers answered with a 400 at once
        self.delays: dict[int, float] = {}  # request number -> delay before answering
        self.ignore_offset = False
        self.delay = 0.0
        self.started = 0
        self.answered = 0
        self.cancelled = 0
        self.on_request: Any = None
        # Awaited with the request's offset before answering (to hold a page back).
        self.before_answer: Callable[[int], Awaitable[None]] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.started += 1
        number = self.started
        if self.on_request is not None:
            self.on_request(number)
        try:
            delay = self.delays.get(number, self.delay)
            if delay:
                await asyncio.sleep(delay)
            if self.before_answer is not None:
                await self.before_answer(int(request.query.get("offset", "0")))
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.answered += 1
        if number == self.fail_on_request or number in self.failing:
            return web.json_response(
                {"errors": [{"code": "internal_error", "message": "boom"}]}, status=400
            )
        limit = int(request.query.get("limit", "10"))
        if not 1 <= limit <= self.max_limit:
            return web.json_response(
                {"errors": [{"code": "form_param_value_invalid", "message": "limit"}]},
                status=422,
            )
        offset = 0 if self.ignore_offset else int(request.query.get("offset", "0"))
        users = self.users
        after = request.query.get("starting_after")
        if after is not None:
            users = users[bisect.bisect_right([str(u["id"]) for u in users], after) :]
        data = users[offset : offset + limit]
        if self.envelope:
            key = self.envelope if isinstance(self.envelope, str) else "data"
            return web.json_response({key: data, "total_count": len(self.users)})
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
    return requester_of(clerk).paginate(
        "/users",
        query=query,
        item_type=Item,
        envelope=False,
        cursor="starting_after" if cursor else None,
        max_items=max_items,
        concurrency=concurrency,
    )


def orgs(clerk: Clerk, **query: Any) -> AsyncPaginator[Item]:
    max_items = query.pop("max_items", None)
    concurrency = query.pop("concurrency", 1)
    return requester_of(clerk).paginate(
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


def concurrent_bound(n: int, limit: int, concurrency: int) -> int:
    """The most requests a concurrent walk over a bare array of n items makes."""
    return n // limit + (concurrency if n >= limit else 1)


@pytest.mark.parametrize(
    ("n", "limit", "concurrency"), [(2345, 300, 4), (2400, 300, 4), (50, 300, 3)]
)
async def test_concurrent_bare_array_stops(
    stub: StubServer, clerk: Clerk, n: int, limit: int, concurrency: int
) -> None:
    directory = Directory(n, envelope=False)
    directory.delay = 0.005
    stub.add("GET", "/v1/users", directory.handle)
    walk = users(clerk, cursor=False, limit=limit, concurrency=concurrency)
    seen = [u.id async for u in walk]
    assert seen == [f"user_{i:05d}" for i in range(n)]
    await settle()
    # Without a count the end shows on the first short page: the sequential walk needs
    # n // limit + 1 requests; fetching ahead adds at most concurrency - 1 past the end
    # (none when the first page, which travels alone, is already short).
    assert n // limit + 1 <= stub.count() <= concurrent_bound(n, limit, concurrency)
    assert stub.in_flight == 0


@pytest.mark.parametrize(("n", "concurrency"), [(2345, 4), (2400, 4), (2345, 2), (50, 3)])
async def test_concurrent_bare_array_bound_is_exact(
    stub: StubServer, clerk: Clerk, n: int, concurrency: int
) -> None:
    limit = 300
    bound = concurrent_bound(n, limit, concurrency)
    directory = Directory(n, envelope=False)
    end_page = n // limit * limit  # the first short (or empty) page

    async def hold_the_end(offset: int) -> None:
        # A slow last page: every request sent ahead of it is out before it arrives.
        if offset == end_page:
            for _ in range(200):
                if stub.count() >= bound:
                    break
                await asyncio.sleep(0.005)

    directory.before_answer = hold_the_end
    stub.add("GET", "/v1/users", directory.handle)
    walk = users(clerk, cursor=False, limit=limit, concurrency=concurrency)
    seen = [u.id async for u in walk]
    assert len(seen) == n
    await settle()
    assert stub.count() == bound  # the documented worst case, reached and not exceeded


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


async def drain(paginator: AsyncPaginator[Any]) -> int:
    # A bounded wait, so a walk that never ends fails instead of hanging the run.
    async def walk() -> int:
        return len([item async for item in paginator])

    return await asyncio.wait_for(walk(), 5)


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_server_ignoring_offset_is_not_endless(
    stub: StubServer, clerk: Clerk, concurrency: int
) -> None:
    directory = Directory(100, envelope=False)
    directory.ignore_offset = True
    stub.add("GET", "/v1/users", directory.handle)
    with pytest.raises(PaginationError, match="same page"):
        await drain(users(clerk, order_by="-updated_at", limit=10, concurrency=concurrency))
    await settle()
    # The first page alone, then up to `concurrency` fetched ahead; the second one stops it.
    assert 2 <= stub.count() <= 1 + concurrency
    assert stub.in_flight == 0


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_items_without_id_ignoring_offset(
    stub: StubServer, clerk: Clerk, concurrency: int
) -> None:
    directory = Directory(100, envelope=False, ids=False)
    directory.ignore_offset = True
    stub.add("GET", "/v1/users/user_1/oauth_access_tokens/google", directory.handle)
    tokens = clerk.users.get_oauth_access_token(
        "user_1", "google", limit=10, concurrency=concurrency
    )
    with pytest.raises(PaginationError, match="same page"):
        await drain(tokens)
    await settle()
    assert 2 <= stub.count() <= 1 + concurrency


async def test_items_without_id_every_item_once(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(95, envelope=False, ids=False)
    stub.add("GET", "/v1/users/user_1/oauth_access_tokens/google", directory.handle)
    tokens = [
        t.token async for t in clerk.users.get_oauth_access_token("user_1", "google", limit=10)
    ]
    assert tokens == [f"tok_{i:05d}" for i in range(95)]
    assert stub.count() == 10


async def test_next_page_on_a_repeated_page(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(100, envelope=False)
    directory.ignore_offset = True
    stub.add("GET", "/v1/users", directory.handle)
    page = await users(clerk, order_by="-updated_at", limit=10)
    with pytest.raises(PaginationError, match="same page"):
        await page.next_page()


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


# -- early stops while prefetched pages fail -------------------------------------------


@pytest.mark.parametrize("stop", ["break", "raise"])
async def test_failed_prefetch_then_early_stop_is_quiet(
    server: Any, clerk: Clerk, loop_errors: list[dict[str, Any]], stop: str
) -> None:
    stub, _, wrapped = server
    # Request 1 is the first page; 2-5 are fetched ahead: two fail at once, two hang.
    wrapped.failing = {2, 3}
    wrapped.delays = {4: 30.0, 5: 30.0}
    seen: list[str | None] = []

    async def consume() -> None:
        async for org in orgs(clerk, limit=50, concurrency=4):
            seen.append(org.id)
            # Stop only once both failures are in the client's hands (their tasks done
            # with an exception) and the two slow pages are still in flight.
            await wait_until(lambda: wrapped.answered == 3 and fetches_in_flight() == 2)
            if stop == "raise":
                raise RuntimeError("consumer failed")
            break

    if stop == "raise":
        with pytest.raises(RuntimeError, match="consumer failed"):
            await consume()
    else:
        await consume()
    assert seen == ["user_00000"]
    # The generator is closed by the loop's finalizer: the slow requests are cancelled...
    await wait_until(lambda: wrapped.cancelled == 2 and stub.in_flight == 0)
    assert fetches_in_flight() == 0
    # ...and the two failures were collected, so nothing reaches the loop's handler.
    await settle()
    assert loop_errors == []


async def test_failed_prefetch_then_aclose_is_quiet(
    server: Any, clerk: Clerk, loop_errors: list[dict[str, Any]]
) -> None:
    stub, _, wrapped = server
    wrapped.failing = {2, 3}
    wrapped.delays = {4: 30.0, 5: 30.0}
    pages = orgs(clerk, limit=50, concurrency=4).pages()
    first = await pages.__anext__()
    assert len(first.data) == 50
    await wait_until(lambda: wrapped.answered == 3 and fetches_in_flight() == 2)
    await pages.aclose()  # type: ignore[attr-defined]
    # Once aclose() returns, no request of the walk is still running.
    assert fetches_in_flight() == 0
    await wait_until(lambda: wrapped.cancelled == 2 and stub.in_flight == 0)
    await settle()
    assert loop_errors == []
    assert stub.count() == 5


# -- page size ---------------------------------------------------------------------------


async def test_api_keys_walk_in_pages_of_100(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(250, envelope=True, max_limit=100)
    stub.add("GET", "/v1/api_keys", directory.handle)
    seen = [key.id async for key in clerk.api_keys.list(subject="user_1")]
    assert seen == [f"user_{i:05d}" for i in range(250)]
    assert [r.query["limit"] for r in stub.requests] == ["100", "100", "100"]


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_m2m_tokens_walk_in_pages_of_100(
    stub: StubServer, clerk: Clerk, concurrency: int
) -> None:
    directory = Directory(250, envelope="m2m_tokens", max_limit=100)
    stub.add("GET", "/v1/m2m_tokens", directory.handle)
    walk = clerk.m2m.list_tokens(subject="mch_1", concurrency=concurrency)
    seen = [token.id async for token in walk]
    assert seen == [f"user_{i:05d}" for i in range(250)]
    # Once total_count is known, the concurrent walk asks the last page for the rest only.
    last = "100" if concurrency == 1 else "50"
    assert sorted(r.query["limit"] for r in stub.requests) == ["100", "100", last]
    assert {r.query["subject"] for r in stub.requests} == {"mch_1"}


async def test_other_lists_walk_in_pages_of_500(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(600, envelope=True, max_limit=500)
    stub.add("GET", "/v1/organizations", directory.handle)
    assert len([o async for o in clerk.organizations.list()]) == 600
    assert [r.query["limit"] for r in stub.requests] == ["500", "500"]


async def test_max_limit_caps_the_default_only(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(30, envelope=False)
    stub.add("GET", "/v1/users", directory.handle)
    walk = requester_of(clerk).paginate(
        "/users", query={"limit": 20}, item_type=Item, envelope=False, max_limit=7
    )
    assert len([u async for u in walk]) == 30
    assert [r.query["limit"] for r in stub.requests] == ["20", "20"]  # the caller's choice
    stub.requests.clear()
    walk = requester_of(clerk).paginate(
        "/users", query={}, item_type=Item, envelope=False, max_limit=7
    )
    assert len([u async for u in walk]) == 30
    assert [r.query["limit"] for r in stub.requests] == ["7"] * 5
    with pytest.raises(ValueError):
        requester_of(clerk).paginate(
            "/users", query={}, item_type=Item, envelope=False, max_limit=0
        )


# -- one page at a time --------------------------------------------------------------------


async def test_short_page_without_limit_is_the_last(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(3, envelope=False)
    stub.add("GET", "/v1/users", directory.handle)
    page = await users(clerk, order_by="-updated_at")
    assert len(page.data) == 3
    assert stub.requests[0].query["limit"] == "10"  # the API's default, sent explicitly
    assert not page.has_next_page()
    assert await page.next_page() is None
    assert stub.count() == 1


async def test_max_items_caps_an_awaited_page(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(30, envelope=False)
    stub.add("GET", "/v1/users", directory.handle)
    page = await clerk.users.list(order_by="-updated_at", limit=20, max_items=5)
    assert len(page.data) == 5
    assert stub.requests[0].query["limit"] == "5"


async def test_full_last_page_without_count(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(20, envelope=False)
    stub.add("GET", "/v1/users", directory.handle)
    page = await users(clerk, order_by="-updated_at")
    assert len(page.data) == 10 and page.has_next_page()
    second = await page.next_page()
    assert second is not None and second.data[0].id == "user_00010"
    assert stub.requests[1].query["limit"] == "10"
    assert stub.requests[1].query["offset"] == "10"
    assert second.has_next_page()  # a full page: only asking tells
    assert await second.next_page() is None  # the empty answer is no page
    assert stub.count() == 3


async def test_next_page_stops_at_total_count(stub: StubServer, clerk: Clerk) -> None:
    directory = Directory(20, envelope=True)
    stub.add("GET", "/v1/organizations", directory.handle)
    page = await orgs(clerk)
    assert page.total_count == 20 and page.has_next_page()
    second = await page.next_page()
    assert second is not None and len(second.data) == 10
    assert not second.has_next_page()
    assert await second.next_page() is None
    assert stub.count() == 2


# -- the generated users.list (cursor mode) ------------------------------------------------


async def test_users_list_every_user_once(server: Any, clerk: Clerk) -> None:
    stub, _, _ = server
    seen = [user.id async for user in clerk.users.list()]
    assert seen == [f"user_{i:05d}" for i in range(N_USERS)]
    assert stub.count() == math.ceil(N_USERS / 500)  # the last page is short: no extra
    queries = [r.query for r in stub.requests]
    assert all(q["limit"] == "500" and "offset" not in q for q in queries)
    assert "starting_after" not in queries[0]
    assert [q["starting_after"] for q in queries[1:]] == [
        f"user_{i:05d}" for i in (499, 999, 1499, 1999)
    ]


@pytest.mark.parametrize("offset", [0, UNSET])
async def test_users_list_cursor_next_page(server: Any, clerk: Clerk, offset: Any) -> None:
    stub, _, _ = server
    page = await clerk.users.list(limit=100, offset=offset)
    assert page.data[-1].id == "user_00099" and page.has_next_page()
    second = await page.next_page()
    assert second is not None
    assert [u.id for u in second.data] == [f"user_{i:05d}" for i in range(100, 200)]
    query = stub.requests[1].query
    assert query["starting_after"] == "user_00099" and query["limit"] == "100"
    assert "offset" not in query


async def test_users_list_offset_zero_keeps_the_cursor(server: Any, clerk: Clerk) -> None:
    stub, _, _ = server
    seen = [user.id async for user in clerk.users.list(offset=0, limit=1000)]
    assert len(seen) == N_USERS == len(set(seen))
    assert [r.query.get("starting_after") for r in stub.requests] == [
        None,
        "user_00999",
        "user_01999",
    ]
    assert all("offset" not in r.query for r in stub.requests)


async def test_users_list_nonzero_offset_walks_by_offset(server: Any, clerk: Clerk) -> None:
    stub, _, _ = server
    seen = [user.id async for user in clerk.users.list(offset=100, limit=1000)]
    assert seen == [f"user_{i:05d}" for i in range(100, N_USERS)]
    assert [r.query["offset"] for r in stub.requests] == ["100", "1100", "2100"]
    assert all("starting_after" not in r.query for r in stub.requests)
