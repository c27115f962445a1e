"""clerk_sync against a real server running in its own thread."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aiohttp import web

import clerk_async
import clerk_sync
from clerk_async import errors
from clerk_async._http import Requester

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


def test_the_next_page_is_fetched_while_this_one_is_worked_through(
    server: StubServer, clerk: clerk_sync.Clerk
) -> None:
    users = [{"id": f"user_{i:04d}", "object": "user"} for i in range(25)]
    asked = threading.Event()

    async def handler(request: web.Request) -> web.Response:
        offset = int(request.query.get("offset", "0"))
        if offset == 20:
            asked.set()
            return web.json_response(
                {"errors": [{"code": "form_param_invalid", "message": "bad offset"}]}, status=422
            )
        limit = int(request.query["limit"])
        return web.json_response({"data": users[offset : offset + limit], "total_count": 25})

    server.add("GET", "/v1/organizations", handler)
    seen: list[str | None] = []
    pages = clerk.organizations.list(limit=10).pages()
    with pytest.raises(errors.UnprocessableEntityError):
        for page in pages:
            seen += [org.id for org in page]
            if len(seen) == 20:
                # The third page (it fails) is asked for before the loop asks for it,
                # and its error comes when the loop reaches it, after every item before it.
                assert asked.wait(10)
    assert seen == [u["id"] for u in users[:20]]
    assert server.count() == 3


def test_a_walk_stopped_early_leaves_nothing_running(
    server: StubServer, clerk: clerk_sync.Clerk
) -> None:
    users = [{"id": f"user_{i:04d}", "object": "user"} for i in range(100)]
    arrived, release = threading.Event(), threading.Event()

    async def handler(request: web.Request) -> web.Response:
        offset = int(request.query.get("offset", "0"))
        if offset:  # the page fetched ahead hangs until the test lets it go
            arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 10)
        return web.json_response({"data": users[offset : offset + 10], "total_count": 100})

    server.add("GET", "/v1/organizations", handler)
    for org in clerk.organizations.list(limit=10):
        assert org.id == "user_0000"
        assert arrived.wait(10)  # the page ahead is asked for
        break  # while it is in flight: dropped, its request cancelled
    release.set()
    assert server.count() == 2  # the first page and the one ahead, nothing more
    # The client is as good as new: no call left waiting on its loop.
    assert [o.id for o in clerk.organizations.list(limit=10, max_items=3)] == [
        "user_0000",
        "user_0001",
        "user_0002",
    ]
    assert not clerk.runner._calls


def test_many_threads_share_one_client(
    server: StubServer, clerk: clerk_sync.Clerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add("GET", "/v1/users/user_1", Reply(json=USER))
    before = set(_our_threads())
    # Which threads the requests run on, seen from inside the async client.
    ran_on: set[int | None] = set()
    send = Requester._send

    async def recording_send(*args: Any, **kwargs: Any) -> Any:
        ran_on.add(threading.get_ident())
        return await send(*args, **kwargs)

    monkeypatch.setattr(Requester, "_send", recording_send)

    def work(_: int) -> int:
        return sum(clerk.users.get("user_1").id == "user_1" for _ in range(300))

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(work, range(8))) == 8 * 300
    assert server.count() == 2400
    portal = clerk.runner.thread
    assert portal is not None
    # Exactly one portal thread for this client, started once, serving every call.
    assert set(_our_threads()) - before == {portal}
    assert ran_on == {portal.ident}
    clerk.close()
    assert not portal.is_alive()
    assert set(_our_threads()) - before == set()


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


# Seconds a process may take to exit after its last line (it takes well under one).
EXIT_WITHIN = 5.0


class SilentServer:
    """Accepts connections and reads requests, and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.received = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            if conn.recv(4096).startswith(b"GET /v1/users/user_1"):
                self.received.set()

    def close(self) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()


@pytest.mark.parametrize("hanging", [False, True], ids=["idle", "request-hanging"])
def test_unclosed_client_exits_promptly(server: StubServer, hanging: bool) -> None:
    """A process that never closes its client exits within seconds of its last line,
    also while a request waits on a server that never answers."""
    server.add("GET", "/v1/users/user_1", Reply(json=USER))
    silent = SilentServer()
    script = textwrap.dedent(
        f"""
        import sys
        import threading
        import warnings
        warnings.simplefilter("error")
        import clerk_sync

        clerk = clerk_sync.Clerk(secret_key="{SECRET}", api_url="{server.url}")
        assert clerk.users.get("user_1").id == "user_1"
        if {hanging}:
            stuck = clerk_sync.Clerk(secret_key="{SECRET}", api_url="{silent.url}", timeout=None)

            def wait_forever():
                try:
                    stuck.users.get("user_1")
                except Exception:
                    pass

            threading.Thread(target=wait_forever, daemon=True).start()
        print("ready", flush=True)
        sys.stdin.readline()
        print("done", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-W", "error", "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        if hanging:
            assert silent.received.wait(10), "the request never reached the silent server"
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"
        try:
            proc.wait(timeout=EXIT_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the process was still running {EXIT_WITHIN} s after its last line")
        stderr = proc.stderr.read() if proc.stderr is not None else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        silent.close()
    assert proc.returncode == 0, stderr
    assert stderr == ""


def test_secret_never_in_sync_reprs_or_errors(server: StubServer, clerk: clerk_sync.Clerk) -> None:
    server.add("GET", "/v1/users/user_1", Reply(status=401, json={"errors": [{"code": "x"}]}))
    with pytest.raises(errors.AuthenticationError) as info:
        clerk.users.get("user_1")
    texts = [repr(clerk), str(clerk), repr(vars(clerk)), repr(clerk.with_options(timeout=2))]
    texts += [repr(vars(clerk._async)), str(info.value), repr(info.value)]
    assert all(SECRET not in text for text in texts)


def test_options_holding_the_async_client_run_on_its_loop() -> None:
    # The async client of a sync client lives on that client's loop thread: an options
    # object holding it must send the call there, not to another loop.
    from clerk_async.auth import AuthenticateOptions
    from clerk_async.emulator import Emulator

    with Emulator().running_in_thread() as emu, emu.sync_client() as clerk:
        user = clerk.users.create(email_address=["sync-options@example.com"])
        token = emu.mint_session_token(user.id or "")
        options = AuthenticateOptions(clerk=clerk.async_client)
        headers = {"Authorization": f"Bearer {token}"}
        state = clerk_sync.auth.authenticate_request(headers=headers, options=options)
        assert state.is_signed_in and state.to_auth().user_id == user.id
        copy = clerk.with_options(timeout=5)
        state = clerk_sync.auth.authenticate_request(headers=headers, clerk=copy)
        assert state.to_auth().user_id == user.id


def test_close_from_another_thread_ends_a_waiting_call() -> None:
    """A call waiting on a server that never answers ends with an error (not a wait
    without end) when another thread closes the client."""
    silent = SilentServer()
    stuck = clerk_sync.Clerk(secret_key=SECRET, api_url=silent.url, timeout=None)
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            stuck.users.get("user_1")
        except Exception as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait)
    try:
        waiter.start()
        assert silent.received.wait(10), "the request never reached the silent server"
        stuck.close()
        waiter.join(10)
        assert not waiter.is_alive(), "the call still waits after close()"
        assert len(outcome) == 1
        with pytest.raises(RuntimeError, match="closed"):
            stuck.users.get("user_1")
    finally:
        silent.close()


def test_the_loop_thread_cannot_call_its_own_client(clerk: clerk_sync.Clerk) -> None:
    async def from_inside() -> None:
        clerk.runner.run(asyncio.sleep, 0)

    with pytest.raises(RuntimeError, match="its own event loop thread"):
        clerk.runner.run(from_inside)
