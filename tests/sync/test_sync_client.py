"""clerk_sync against a real server running in its own thread."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiohttp import web

import clerk_async
import clerk_sync
from clerk_async import OPERATIONS, errors
from clerk_async._resource import AsyncResource

from ..conftest import FAST_RETRIES, SECRET
from ..stub_server import Reply, StubServer

USER = {"id": "user_1", "object": "user", "first_name": "Ada"}


class ThreadedStub:
    """A :class:`StubServer` on an event loop of its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stub = StubServer()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        await self.stub.server.start_server()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.stub.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def server() -> Iterator[StubServer]:
    threaded = ThreadedStub()
    try:
        yield threaded.stub
    finally:
        threaded.close()


@pytest.fixture
def clerk(server: StubServer) -> Iterator[clerk_sync.Clerk]:
    with clerk_sync.Clerk(secret_key=SECRET, api_url=server.url, retries=FAST_RETRIES) as client:
        yield client


def _our_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("clerk-sync") and t.is_alive()]


def test_parity_of_every_public_member() -> None:
    async_client = clerk_async.Clerk(secret_key=SECRET)
    sync_client = clerk_sync.Clerk(secret_key=SECRET)
    renames = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}
    checked = 0
    for name in dir(clerk_async.Clerk):
        if name.startswith("_") and name not in renames:
            continue
        assert hasattr(clerk_sync.Clerk, renames.get(name, name)), name
        resource = getattr(async_client, name)
        if not isinstance(resource, AsyncResource):
            continue
        sync_resource = getattr(sync_client, name)
        for method_name in dir(type(resource)):
            if method_name.startswith("_"):
                continue
            async_sig = inspect.signature(getattr(resource, method_name))
            sync_sig = inspect.signature(getattr(sync_resource, method_name))
            assert list(async_sig.parameters) == list(sync_sig.parameters), method_name
            for p_name, param in async_sig.parameters.items():
                twin = sync_sig.parameters[p_name]
                assert (param.kind, param.default) == (twin.kind, twin.default), method_name
                assert str(param.annotation) == str(twin.annotation), method_name
            ret = str(async_sig.return_annotation).replace("AsyncPaginator", "SyncPaginator")
            assert ret == str(sync_sig.return_annotation)
            assert (
                getattr(resource, method_name).__doc__
                == getattr(sync_resource, method_name).__doc__
            )
            assert not inspect.iscoroutinefunction(getattr(sync_resource, method_name))
            checked += 1
    assert checked == len(OPERATIONS)
    init_async = inspect.signature(clerk_async.Clerk.__init__)
    init_sync = inspect.signature(clerk_sync.Clerk.__init__)
    assert str(init_async) == str(init_sync)
    sync_client.close()


def test_generated_sync_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "tools/generate_sync.py", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_calls_errors_and_retries(server: StubServer, clerk: clerk_sync.Clerk) -> None:
    server.add("GET", "/v1/users/user_1", Reply(status=503, json={"errors": []}), Reply(json=USER))
    user = clerk.users.get("user_1")
    assert isinstance(user, clerk_async.models.User) and user.first_name == "Ada"
    assert server.count("GET") == 2
    server.add(
        "GET",
        "/v1/users/nope",
        Reply(status=404, json={"errors": [{"code": "resource_not_found"}]}),
    )
    with pytest.raises(errors.NotFoundError) as info:
        clerk.users.get("nope")
    assert info.value.code == "resource_not_found"
    with pytest.raises(ValueError):
        clerk.users.get("..")


def test_pagination_fetches_page_by_page(server: StubServer, clerk: clerk_sync.Clerk) -> None:
    users = [{"id": f"user_{i:04d}", "object": "user"} for i in range(1234)]

    async def handler(request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", "10"))
        offset = int(request.query.get("offset", "0"))
        return web.json_response(
            {"data": users[offset : offset + limit], "total_count": len(users)}
        )

    server.add("GET", "/v1/organizations", handler)
    ids = [org.id for org in clerk.organizations.list()]
    assert ids == [u["id"] for u in users]
    assert server.count() == 3  # 500 + 500 + 234: pages, not items, cross the thread
    page = clerk.organizations.list(limit=100).first_page()
    assert len(page.data) == 100 and page.total_count == 1234 and page.has_next_page()
    second = page.next_page()
    assert second is not None and second.data[0].id == "user_0100"
    assert [len(p) for p in clerk.organizations.list(limit=600).pages()] == [600, 600, 34]
    assert len(list(clerk.organizations.list(max_items=42))) == 42


def test_many_threads_share_one_client(server: StubServer, clerk: clerk_sync.Clerk) -> None:
    server.add("GET", "/v1/users/user_1", Reply(json=USER))

    def work(_: int) -> int:
        return sum(clerk.users.get("user_1").id == "user_1" for _ in range(300))

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(work, range(8))) == 8 * 300
    assert server.count() == 2400
    assert len(_our_threads()) >= 1  # exactly one loop thread serves them all
    clerk.close()
    assert _our_threads() == []


def test_close_stops_the_thread_and_with_options_shares_it(server: StubServer) -> None:
    server.add("GET", "/v1/users/user_1", Reply(json=USER))
    before = set(_our_threads())
    clerk = clerk_sync.Clerk(secret_key=SECRET, api_url=server.url)
    quick = clerk.with_options(timeout=5)
    clerk.users.get("user_1")
    quick.users.get("user_1")
    assert quick.runner is clerk.runner and quick.timeout == 5
    assert len(set(_our_threads()) - before) == 1
    clerk.close()
    clerk.close()  # idempotent
    assert set(_our_threads()) - before == set()
    assert clerk.is_closed


def test_works_from_a_thread_running_an_event_loop(
    server: StubServer, clerk: clerk_sync.Clerk
) -> None:
    server.add("GET", "/v1/users/user_1", Reply(json=USER))

    async def inside_a_loop() -> str | None:
        return clerk.users.get("user_1").id  # a blocking call from loop code still works

    assert asyncio.run(inside_a_loop()) == "user_1"


def test_unclosed_client_does_not_hang_exit(server: StubServer) -> None:
    server.add("GET", "/v1/users/user_1", Reply(json=USER))
    script = textwrap.dedent(
        f"""
        import warnings
        warnings.simplefilter("error")
        import clerk_sync
        clerk = clerk_sync.Clerk(secret_key="{SECRET}", api_url="{server.url}")
        assert clerk.users.get("user_1").id == "user_1"
        print("done")
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=20
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert result.stderr == ""
