"""Hostile answers and networks, each against a real server on 127.0.0.1.

One test (or group) per finding: wrong-shaped and too-deep answers, unbounded and
compressed bodies, path parameters that could name another resource, the secret key
in error text and captured frame locals, attempts counted exactly on reset
connections, and a bad ``api_url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import traceback
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from clerk_async import Clerk, Retries
from clerk_async.errors import (
    ClerkConnectionError,
    ClerkDecodeError,
    ClerkError,
    ClerkTimeoutError,
    ConfigurationError,
    NotFoundError,
    ResponseTooLargeError,
    ServerError,
)
from clerk_async.models import User

from ..conftest import FAST_RETRIES, SECRET
from ..stub_server import Reply, StubServer

USER = {"object": "user", "id": "user_1", "first_name": "Ada"}


def rendered(exc: BaseException) -> str:
    """Everything a crash reporter capturing locals would show of ``exc``."""
    text = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    return text + repr(exc) + str(exc)


# -- 1. wrong-shaped answers -------------------------------------------------------


@pytest.mark.parametrize("body", [b"[]", b'[{"id": "user_1"}]', b'"user_1"', b"3", b"true"])
async def test_a_wrong_shaped_answer_is_a_decode_error(
    stub: StubServer, clerk: Clerk, body: bytes
) -> None:
    stub.add("GET", "/v1/users/user_1", Reply(body=body))
    with pytest.raises(ClerkDecodeError, match="as User: expected a JSON object, got"):
        await clerk.users.get("user_1")
    assert stub.count() == 1  # not retried: the same answer would come back


async def test_list_items_of_the_wrong_shape_are_a_decode_error(
    stub: StubServer, clerk: Clerk
) -> None:
    stub.add("GET", "/v1/users", Reply(json=[USER, "user_2", 7]))
    with pytest.raises(ClerkDecodeError, match="array of objects, got an array holding a string"):
        await clerk.users.list(limit=3)
    # A well-shaped answer still decodes, unknown keys and enum values tolerated.
    stub.add("GET", "/v1/users", Reply(json=[{**USER, "brand_new": {"x": 1}}]))
    page = await clerk.users.list(limit=3)
    assert isinstance(page.data[0], User) and page.data[0].first_name == "Ada"


# -- 2. deep nesting -----------------------------------------------------------------

DEEP = b"[" * 200_000


async def test_a_deeply_nested_answer_is_a_decode_error(stub: StubServer, clerk: Clerk) -> None:
    stub.add("GET", "/v1/users/user_1", Reply(body=DEEP))
    with pytest.raises(ClerkDecodeError, match="nested too deeply"):
        await clerk.users.get("user_1")
    closed = b'{"a":' * 50_000 + b"1" + b"}" * 50_000  # valid JSON, too deep to parse
    stub.add("GET", "/v1/users/user_1", Reply(body=closed))
    with pytest.raises(ClerkDecodeError, match="nested too deeply"):
        await clerk.users.get("user_1")


async def test_a_deeply_nested_error_page_is_typed_and_retried(
    stub: StubServer, clerk: Clerk
) -> None:
    stub.add("GET", "/v1/users/user_1", Reply(status=503, body=DEEP))
    with pytest.raises(ServerError) as info:
        await clerk.users.get("user_1")
    assert info.value.status == 503 and info.value.attempts == 4
    assert stub.count() == 4
    stub.add("GET", "/v1/users/user_2", Reply(status=404, body=DEEP))
    with pytest.raises(NotFoundError):
        await clerk.users.get("user_2")


# -- 3. what an answer may cost --------------------------------------------------------


async def chunked(request: web.Request, status: int, size: int) -> web.StreamResponse:
    """``size`` bytes in 64 KiB chunks, without a Content-Length."""
    response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = b" " * 65536
    with contextlib.suppress(ConnectionError):
        for _ in range(size // len(chunk)):
            await response.write(chunk)
        await response.write_eof()
    return response


async def test_a_large_answer_stops_at_max_response_bytes(stub: StubServer) -> None:
    big = b'{"id": "' + b"a" * 3_000_000 + b'"}'
    stub.add("GET", "/v1/users/user_1", Reply(body=big))
    stub.add("GET", "/v1/users/user_2", lambda r: chunked(r, 200, 8_000_000))
    async with Clerk(
        SECRET, api_url=stub.url, retries=FAST_RETRIES, max_response_bytes=1_000_000
    ) as clerk:
        for user_id in ("user_1", "user_2"):
            with pytest.raises(ResponseTooLargeError, match="max_response_bytes=1000000") as info:
                await clerk.users.get(user_id)
            assert info.value.limit == 1_000_000
        assert stub.count() == 2  # never retried
        # Within the limit (and after dropping the connections above) all is well.
        stub.add("GET", "/v1/users/user_3", Reply(json=USER))
        assert (await clerk.users.get("user_3")).id == "user_1"
    async with Clerk(SECRET, api_url=stub.url, max_response_bytes=None) as unlimited:
        assert len((await unlimited.users.get("user_1")).id or "") == 3_000_000


async def test_a_large_error_page_keeps_its_status_and_is_retried(stub: StubServer) -> None:
    stub.add("GET", "/v1/users/user_1", lambda r: chunked(r, 502, 4_000_000))
    async with Clerk(
        SECRET, api_url=stub.url, retries=FAST_RETRIES, max_response_bytes=100_000
    ) as clerk:
        with pytest.raises(ServerError) as info:
            await clerk.users.get("user_1")
    assert info.value.status == 502 and info.value.attempts == 4
    assert stub.count() == 4


async def test_a_gzip_bomb_is_not_inflated_past_the_limit(stub: StubServer) -> None:
    inflated = 64 * 1024 * 1024
    bomb = gzip.compress(b'{"id": "' + b"a" * inflated + b'"}', compresslevel=9)
    assert len(bomb) < 200_000
    stub.add(
        "GET",
        "/v1/users/user_1",
        Reply(body=bomb, headers={"Content-Encoding": "gzip"}),
    )
    async with Clerk(SECRET, api_url=stub.url, max_response_bytes=1_000_000) as clerk:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError):
                await clerk.users.get("user_1")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # The whole bomb would be 64 MiB; what we held stayed near the 1 MB limit.
    assert peak < 16 * 1024 * 1024, peak


async def test_a_small_compressed_answer_decodes(stub: StubServer, clerk: Clerk) -> None:
    import json

    stub.add(
        "GET",
        "/v1/users/user_1",
        Reply(body=gzip.compress(json.dumps(USER).encode()), headers={"Content-Encoding": "gzip"}),
    )
    assert (await clerk.users.get("user_1")).first_name == "Ada"


def test_max_response_bytes_is_checked() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_response_bytes"):
            Clerk(SECRET, max_response_bytes=bad)  # type: ignore[arg-type]


# -- 4. path parameters ------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["../organizations/org_1", "a/b", "a\\b", "%2F", "%5C", "a\x00", "a\rb", "a\nb", "x" * 300],
)
async def test_path_parameters_that_could_name_another_resource(
    stub: StubServer, clerk: Clerk, bad: str
) -> None:
    with pytest.raises(ValueError, match="path parameter 'user_id'"):
        await clerk.users.get(bad)
    with pytest.raises(ValueError, match="path parameter"):
        await clerk.organization_memberships.delete("org_1", bad)
    assert stub.requests == []


# -- 5. the secret key ---------------------------------------------------------------------


async def echo_headers(request: web.Request, status: int) -> web.StreamResponse:
    """A proxy's error page that shows the request headers."""
    seen = sorted(request.headers.items(), key=lambda kv: kv[0] != "Authorization")
    shown = "".join(f"<li>{k}: {v}</li>" for k, v in seen)
    return web.Response(
        status=status,
        text=f"<html><body><h1>Bad gateway</h1><ul>{shown}</ul></body></html>",
        content_type="text/html",
        headers={"X-Seen-Authorization": request.headers.get("Authorization", "")},
    )


@pytest.mark.parametrize("status", [200, 401, 502])
async def test_an_echoed_secret_is_redacted(stub: StubServer, clerk: Clerk, status: int) -> None:
    stub.add("GET", "/v1/users/user_1", lambda r: echo_headers(r, status))
    with pytest.raises(ClerkError) as info:
        await clerk.users.get("user_1")
    exc = info.value
    assert SECRET not in rendered(exc)
    assert "<secret>" in str(exc)
    if status >= 400:
        assert SECRET not in (getattr(exc, "body_excerpt", "") or "")
        assert SECRET not in repr(dict(getattr(exc, "headers", {})))
        assert stub.count() == (4 if status == 502 else 1)


async def test_a_clerk_shaped_error_echoing_the_secret_is_redacted(
    stub: StubServer, clerk: Clerk
) -> None:
    stub.add(
        "GET",
        "/v1/users/user_1",
        Reply(
            status=400,
            json={"errors": [{"code": "bad", "message": f"key {SECRET}", "meta": {"k": SECRET}}]},
        ),
    )
    with pytest.raises(ClerkError) as info:
        await clerk.users.get("user_1")
    assert SECRET not in rendered(info.value)
    assert SECRET not in repr(info.value.errors)  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_no_frame_of_a_connection_error_shows_the_secret() -> None:
    async with Clerk(SECRET, api_url=f"http://127.0.0.1:{free_port()}", retries=1) as clerk:
        with pytest.raises(ClerkConnectionError) as info:
            await clerk.users.get("user_1")
    text = rendered(info.value)
    assert "ClientConnectorError" in text  # the cause is kept...
    assert SECRET not in text  # ...but not the locals of aiohttp's frames


@contextlib.asynccontextmanager
async def raw_server(
    handle: object,
) -> AsyncIterator[tuple[str, list[int]]]:
    """A TCP server on 127.0.0.1 whose connections ``handle(reader, writer, hits)`` runs."""
    hits: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handle(reader, writer, hits)  # type: ignore[operator]
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", hits
    finally:
        server.close()
        await server.wait_closed()


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hits: list[int]) -> None:
    await reader.readuntil(b"\r\n\r\n")
    hits.append(1)
    await asyncio.sleep(5)


async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hits: list[int]) -> None:
    """Read each request, then reset the connection without answering."""
    await reader.readuntil(b"\r\n\r\n")
    hits.append(1)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


async def test_no_frame_of_a_timeout_shows_the_secret() -> None:
    async with (
        raw_server(hang) as (url, _),
        Clerk(SECRET, api_url=url, timeout=0.2, retries=0) as c,
    ):
        with pytest.raises(ClerkTimeoutError) as info:
            await c.users.create(first_name="Ada")
    assert SECRET not in rendered(info.value)


async def test_no_frame_of_a_reset_shows_the_secret() -> None:
    async with raw_server(drop) as (url, _), Clerk(SECRET, api_url=url, retries=0) as c:
        with pytest.raises(ClerkConnectionError) as info:
            await c.users.get("user_1")
    assert SECRET not in rendered(info.value)


def test_no_frame_of_a_configuration_error_shows_the_secret() -> None:
    with pytest.raises(ConfigurationError) as info:
        Clerk(SECRET, api_url="http://[bad")
    assert SECRET not in rendered(info.value)


# -- 6. attempts counted exactly ---------------------------------------------------------------


@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_a_reset_connection_is_sent_once_per_attempt(max_retries: int) -> None:
    policy = Retries(max_retries=max_retries, backoff_base=0.001, backoff_max=0.005)
    async with raw_server(drop) as (url, hits), Clerk(SECRET, api_url=url, retries=policy) as c:
        with pytest.raises(ClerkConnectionError) as info:
            await c.users.get("user_1")
        assert info.value.attempts == max_retries + 1
        assert len(hits) == max_retries + 1  # aiohttp adds no hidden resend of its own


async def keep_alive_then_drop(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hits: list[int]
) -> None:
    """Answer the first request of a connection and keep it open; drop the next."""
    import json

    await reader.readuntil(b"\r\n\r\n")
    hits.append(1)
    body = json.dumps(USER).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    await drop(reader, writer, hits)


async def test_a_stale_keep_alive_connection_counts_as_one_attempt() -> None:
    policy = Retries(max_retries=1, backoff_base=0.001, backoff_max=0.005)
    async with (
        raw_server(keep_alive_then_drop) as (url, hits),
        Clerk(SECRET, api_url=url, retries=policy) as c,
    ):
        assert (await c.users.get("user_1")).id == "user_1"
        # The pooled connection is dropped at the next request; our one retry opens a
        # new connection, whose first request is answered.
        assert (await c.users.get("user_1")).id == "user_1"
        assert len(hits) == 3


# -- 7. a bad api_url -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://[bad", "ftp://api.clerk.com", "http://", "api.clerk.com", "http://h:99999"]
)
def test_a_bad_api_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="api_url"):
        Clerk(SECRET, api_url=url)


def test_no_frame_of_a_sync_configuration_error_shows_the_secret() -> None:
    import clerk_sync

    with pytest.raises(ConfigurationError) as info:
        clerk_sync.Clerk(SECRET, api_url="http://[bad")
    assert SECRET not in rendered(info.value)
