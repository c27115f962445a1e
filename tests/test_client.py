"""The client against a real local server: headers, encoding, errors, retries."""

from __future__ import annotations

import asyncio
import email.utils
import platform
import time

import aiohttp
import pytest
from aiohttp import web

from clerk_async import UNSET, Clerk, Retries, errors
from clerk_async._http import requester_of
from clerk_async._urls import encode_segment

from .conftest import FAST_RETRIES, SECRET
from .stub_server import Reply, StubServer

USER = {"id": "user_1", "object": "user"}


async def test_headers(stub: StubServer, clerk: Clerk) -> None:
    stub.add("GET", "/v1/users/user_1", Reply(json=USER))
    assert await requester_of(clerk).request("GET", "/users/user_1", cast_to=object) == USER
    headers = stub.requests[0].headers
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert headers["Clerk-API-Version"] == "2026-05-12"
    agent = headers["User-Agent"]
    assert agent.startswith("clerk-async/")
    assert f"python/{platform.python_version_tuple()[0]}." in agent
    assert f"aiohttp/{aiohttp.__version__}" in agent


async def test_user_set_api_version_is_kept(stub: StubServer) -> None:
    stub.add("GET", "/v1/jwks", Reply(json={}))
    async with Clerk(
        secret_key=SECRET, api_url=stub.url, default_headers={"clerk-api-version": "2025-11-10"}
    ) as clerk:
        await requester_of(clerk).request("GET", "/jwks", cast_to=object)
    async with aiohttp.ClientSession(headers={"Clerk-API-Version": "2024-10-01"}) as session:
        clerk = Clerk(secret_key=SECRET, api_url=stub.url, session=session)
        await requester_of(clerk).request("GET", "/jwks", cast_to=object)
        await clerk.aclose()
        assert not session.closed  # the user's session stays the user's
    assert stub.requests[0].headers.getall("Clerk-API-Version") == ["2025-11-10"]
    assert stub.requests[1].headers.getall("Clerk-API-Version") == ["2024-10-01"]


async def test_api_version_option_and_user_agent_suffix(stub: StubServer) -> None:
    stub.add("GET", "/v1/jwks", Reply(json={}))
    async with Clerk(secret_key=SECRET, api_url=stub.url + "/v1/", user_agent="myapp/2") as c:
        await requester_of(c.with_options(api_version="2025-04-10")).request(
            "GET", "/jwks", cast_to=object
        )
    assert stub.requests[0].path == "/v1/jwks"
    assert stub.requests[0].headers["Clerk-API-Version"] == "2025-04-10"
    assert stub.requests[0].headers["User-Agent"].endswith(" myapp/2")


async def test_each_request_sends_its_own_headers_once(stub: StubServer) -> None:
    # Our session sends the headers of the first request by default; every other
    # request must still go out with exactly its own (a copy's version, a body's type).
    stub.add("GET", "/v1/jwks", Reply(json={}))
    stub.add("POST", "/v1/users", Reply(json=USER))
    async with Clerk(secret_key=SECRET, api_url=stub.url) as clerk:
        old = clerk.with_options(api_version="2025-04-10")
        await requester_of(old).request("GET", "/jwks", cast_to=object)
        await requester_of(clerk).request("GET", "/jwks", cast_to=object)
        await requester_of(clerk).request("POST", "/users", body={"a": 1}, cast_to=object)
        await requester_of(old).request("GET", "/jwks", cast_to=object)
    seen = [
        (r.headers.getall("Clerk-API-Version"), r.headers.getall("Content-Type", []))
        for r in stub.requests
    ]
    assert seen == [
        (["2025-04-10"], []),
        (["2026-05-12"], []),
        (["2026-05-12"], ["application/json"]),
        (["2025-04-10"], []),
    ]
    for request in stub.requests:
        assert request.headers.getall("Authorization") == [f"Bearer {SECRET}"]
        assert len(request.headers.getall("User-Agent")) == 1


async def test_query_encoding(stub: StubServer, clerk: Clerk) -> None:
    stub.add("GET", "/v1/users", Reply(json=[]))
    await requester_of(clerk).request(
        "GET",
        "/users",
        query={
            "email_address": ["a@x.com", "b+1@x.com"],
            "banned": False,
            "offset": 0,
            "limit": 10,
            "query": UNSET,
            "external_id": ["+ext 1"],
            "name": "",
        },
        cast_to=object,
    )
    seen = stub.requests[0].query
    assert seen.getall("email_address") == ["a@x.com", "b+1@x.com"]
    assert seen["banned"] == "false"
    assert seen["offset"] == "0"
    assert seen["limit"] == "10"
    assert "query" not in seen
    assert seen["external_id"] == "+ext 1"
    assert seen["name"] == ""


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("user_1", "user_1"),
        ("a b?c#d", "a%20b%3Fc%23d"),
        ("%2e%2e", "%252e%252e"),
    ],
)
def test_path_encoding(value: str, encoded: str) -> None:
    if value == "%2e%2e":
        with pytest.raises(ValueError):
            encode_segment("user_id", value)
        return
    assert encode_segment("user_id", value) == encoded


@pytest.mark.parametrize(
    "bad",
    [
        *("", " ", ".", "..", "%2E", "%2e%2E", "a/b", "../organizations/org_1", "a\\b"),
        *("%2F", "%5c", "a\x00", "a\r\nb", "a\x7f", "a%0A", "x" * 257),
    ],
)
async def test_path_rejects_before_io(stub: StubServer, clerk: Clerk, bad: str) -> None:
    with pytest.raises(ValueError, match="user_id"):
        await clerk.users.get(bad)
    assert stub.requests == []


async def test_encoded_path_reaches_server_as_one_segment(stub: StubServer, clerk: Clerk) -> None:
    stub.add("GET", "/v1/users/a%3Fb%20c%23", Reply(json=USER))
    await clerk.users.get("a?b c#")
    assert stub.requests[0].raw_path == "/v1/users/a%3Fb%20c%23"


async def test_json_with_charset_and_204(stub: StubServer, clerk: Clerk) -> None:
    stub.add(
        "GET",
        "/v1/users/user_1",
        Reply(body=b'{"id":"user_1"}', content_type="application/json; charset=utf-8"),
    )
    stub.add("DELETE", "/v1/things/t", Reply(status=204))
    assert await requester_of(clerk).request("GET", "/users/user_1", cast_to=object) == {
        "id": "user_1"
    }
    deleted: object = await requester_of(clerk).request("DELETE", "/things/t", cast_to=type(None))
    assert deleted is None


async def test_non_json_success_is_a_decode_error(stub: StubServer, clerk: Clerk) -> None:
    stub.add(
        "GET", "/v1/users/user_1", Reply(body=b"<html>portal</html>", content_type="text/html")
    )
    with pytest.raises(errors.ClerkDecodeError, match="portal"):
        await requester_of(clerk).request("GET", "/users/user_1", cast_to=object)


async def test_json_body_drops_unset_keeps_none(stub: StubServer, clerk: Clerk) -> None:
    stub.add("POST", "/v1/users", Reply(json=USER))
    await requester_of(clerk).request(
        "POST", "/users", body={"first_name": None, "last_name": UNSET, "n": 0}, cast_to=object
    )
    assert stub.requests[0].json() == {"first_name": None, "n": 0}
    assert stub.requests[0].headers["Content-Type"] == "application/json"


async def test_multipart(stub: StubServer, clerk: Clerk) -> None:
    stub.add("POST", "/v1/users/user_1/profile_image", Reply(json=USER))
    await requester_of(clerk).request(
        "POST",
        "/users/user_1/profile_image",
        files={"file": ("me.png", b"\x89PNG", "image/png")},
        cast_to=object,
    )
    seen = stub.requests[0]
    assert seen.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="me.png"' in seen.body
    assert b"Content-Type: image/png" in seen.body
    assert b"\x89PNG" in seen.body


# -- errors ------------------------------------------------------------------------

ERROR_CASES = [
    (400, errors.BadRequestError),
    (401, errors.AuthenticationError),
    (402, errors.PaymentRequiredError),
    (403, errors.PermissionDeniedError),
    (404, errors.NotFoundError),
    (409, errors.ConflictError),
    (410, errors.GoneError),
    (422, errors.UnprocessableEntityError),
    (423, errors.LockedError),
    (429, errors.RateLimitError),
    (500, errors.ServerError),
    (502, errors.ServerError),
    (418, errors.ClerkAPIError),
]


@pytest.mark.parametrize(("status", "cls"), ERROR_CASES)
async def test_error_classes(stub: StubServer, status: int, cls: type[Exception]) -> None:
    body = {
        "errors": [
            {
                "code": "form_identifier_exists",
                "message": "taken",
                "long_message": "That email address is taken.",
                "meta": {"param_name": "email_address", "nested": {"a": [1]}},
            }
        ],
        "clerk_trace_id": "trace_abc",
    }
    stub.add("POST", "/v1/users", Reply(status=status, json=body))
    async with Clerk(secret_key=SECRET, api_url=stub.url, retries=0) as clerk:
        with pytest.raises(cls) as info:
            await requester_of(clerk).request("POST", "/users", body={}, cast_to=object)
    exc = info.value
    assert isinstance(exc, errors.ClerkAPIError)
    assert type(exc) is cls
    assert exc.status == status
    assert exc.code == "form_identifier_exists"
    assert exc.errors[0].meta == {"param_name": "email_address", "nested": {"a": [1]}}
    assert exc.clerk_trace_id == "trace_abc"
    assert "That email address is taken." in str(exc)


@pytest.mark.parametrize(("status", "cls"), ERROR_CASES)
async def test_error_classes_from_html_page(
    stub: StubServer, status: int, cls: type[Exception]
) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    stub.add(
        "GET",
        "/v1/users/user_1",
        Reply(status=status, body=page, content_type="text/html", headers={"cf-ray": "8a1-FRA"}),
    )
    async with Clerk(secret_key=SECRET, api_url=stub.url, retries=0) as clerk:
        with pytest.raises(cls) as info:
            await requester_of(clerk).request("GET", "/users/user_1", cast_to=object)
    exc = info.value
    assert isinstance(exc, errors.ClerkAPIError)
    assert type(exc) is cls
    assert exc.errors == []
    assert exc.clerk_trace_id == "8a1-FRA"
    assert "502 Bad Gateway" in str(exc)


async def test_missing_key_errors_at_first_request(
    stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    clerk = Clerk(api_url=stub.url)  # no error here
    with pytest.raises(errors.ConfigurationError, match="CLERK_SECRET_KEY"):
        await requester_of(clerk).request("GET", "/jwks", cast_to=object)
    await clerk.aclose()
    assert stub.requests == []


async def test_env_fallbacks(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", "sk_test_fromenv")
    monkeypatch.setenv("CLERK_API_URL", stub.url)
    stub.add("GET", "/v1/jwks", Reply(json={}))
    async with Clerk() as clerk:
        await requester_of(clerk).request("GET", "/jwks", cast_to=object)
    assert stub.requests[0].headers["Authorization"] == "Bearer sk_test_fromenv"


async def test_secret_never_in_reprs_or_errors(stub: StubServer) -> None:
    stub.add("GET", "/v1/users/user_1", Reply(status=401, json={"errors": [{"code": "x"}]}))
    clerk = Clerk(secret_key=SECRET, api_url=stub.url, retries=0)
    texts = [repr(clerk), str(clerk), repr(clerk.with_options(timeout=3)), repr(vars(clerk))]
    texts.append(repr(clerk.retries))
    with pytest.raises(errors.AuthenticationError) as info:
        await requester_of(clerk).request("GET", "/users/user_1", cast_to=object)
    texts += [str(info.value), repr(info.value), repr(info.value.headers)]
    # The key did go out, and dumps of the client and its parts taken after a request hide it.
    assert stub.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    texts += [repr(vars(clerk)), repr(clerk.users), repr(requester_of(clerk))]
    texts += [repr(clerk.options), repr(requester_of(clerk).options)]
    await clerk.aclose()
    closed = Clerk(secret_key=SECRET, api_url="http://127.0.0.1:9")
    with pytest.raises(errors.ClerkConnectionError) as conn:
        await requester_of(closed.with_options(retries=0)).request("GET", "/users", cast_to=object)
    texts += [str(conn.value), repr(conn.value)]
    await closed.aclose()
    for text in texts:
        assert SECRET not in text
        assert "0123456789abcdef" not in text


async def test_with_options_shares_session(stub: StubServer, clerk: Clerk) -> None:
    stub.add("GET", "/v1/jwks", Reply(json={}))
    fast = clerk.with_options(timeout=2, retries=0)
    assert fast.timeout == 2 and fast.retries.max_retries == 0
    assert clerk.timeout == 30.0
    await requester_of(clerk).request("GET", "/jwks", cast_to=object)
    await requester_of(fast).request("GET", "/jwks", cast_to=object)
    # One connection pool: both requests went over one keep-alive connection.
    assert len({r.peer for r in stub.requests}) == 1


def test_with_options_retry_count_keeps_the_policy() -> None:
    clerk = Clerk(secret_key=SECRET, retries=Retries(max_retries=2, deadline=5.0, backoff_base=0.1))
    assert clerk.with_options(retries=7).retries == Retries(
        max_retries=7, deadline=5.0, backoff_base=0.1
    )
    assert clerk.with_options(retries=None).retries.max_retries == 0
    assert clerk.with_options(retries=Retries()).retries == Retries()
    with pytest.raises(ValueError):
        clerk.with_options(retries=-1)


async def test_closed_client_refuses(stub: StubServer) -> None:
    clerk = Clerk(secret_key=SECRET, api_url=stub.url)
    await clerk.aclose()
    assert clerk.is_closed
    with pytest.raises(errors.ConfigurationError, match="closed"):
        await requester_of(clerk).request("GET", "/jwks", cast_to=object)


# -- retries --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_idempotent_retried(stub: StubServer, clerk: Clerk, method: str, status: int) -> None:
    stub.add(method, "/v1/x", Reply(status=status, json={"errors": []}), Reply(json={"ok": 1}))
    assert await requester_of(clerk).request(method, "/x", cast_to=object) == {"ok": 1}
    assert stub.count(method, "/v1/x") == 2


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_post_not_retried_on_5xx(
    stub: StubServer, clerk: Clerk, method: str, status: int
) -> None:
    stub.add(method, "/v1/x", Reply(status=status, json={"errors": []}), Reply(json={"ok": 1}))
    with pytest.raises(errors.ServerError) as info:
        await requester_of(clerk).request(method, "/x", body={}, cast_to=object)
    assert stub.count(method, "/v1/x") == 1  # reached the server exactly once
    assert info.value.attempts == 1


@pytest.mark.parametrize("method", ["POST", "PATCH", "GET"])
async def test_429_retried_for_every_method(stub: StubServer, clerk: Clerk, method: str) -> None:
    stub.add(method, "/v1/x", Reply(status=429, json={"errors": []}), Reply(json={"ok": 1}))
    assert await requester_of(clerk).request(method, "/x", body={}, cast_to=object) == {"ok": 1}
    assert stub.count(method, "/v1/x") == 2


async def test_gives_up_with_attempt_count(stub: StubServer, clerk: Clerk) -> None:
    stub.add("GET", "/v1/x", Reply(status=503, json={"errors": [{"code": "down"}]}))
    with pytest.raises(errors.ServerError) as info:
        await requester_of(clerk).request("GET", "/x", cast_to=object)
    assert stub.count() == 4
    assert info.value.attempts == 4
    assert "after 4 attempts" in str(info.value)


async def test_retry_after_honoured(stub: StubServer) -> None:
    stub.add(
        "GET",
        "/v1/x",
        Reply(status=429, json={"errors": []}, headers={"Retry-After": "0.3"}),
        Reply(json={"ok": 1}),
    )
    async with Clerk(secret_key=SECRET, api_url=stub.url, retries=FAST_RETRIES) as clerk:
        started = time.monotonic()
        await requester_of(clerk).request("GET", "/x", cast_to=object)
        assert time.monotonic() - started >= 0.3


async def test_retry_after_too_long_fails_fast(stub: StubServer, clerk: Clerk) -> None:
    stub.add(
        "GET", "/v1/x", Reply(status=429, json={"errors": []}, headers={"Retry-After": "3600"})
    )
    with pytest.raises(errors.RateLimitError) as info:
        await requester_of(clerk).request("GET", "/x", cast_to=object)
    assert info.value.retry_after == 3600
    assert stub.count() == 1


async def test_retry_after_http_date_honoured(stub: StubServer) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)  # whole seconds: 1-2 s away
    stub.add(
        "GET",
        "/v1/x",
        Reply(status=503, json={"errors": []}, headers={"Retry-After": when}),
        Reply(json={"ok": 1}),
    )
    async with Clerk(secret_key=SECRET, api_url=stub.url, retries=FAST_RETRIES) as clerk:
        started = time.monotonic()
        assert await requester_of(clerk).request("GET", "/x", cast_to=object) == {"ok": 1}
        assert time.monotonic() - started >= 0.9
    assert stub.count() == 2


async def test_deadline_respected(stub: StubServer) -> None:
    stub.add("GET", "/v1/x", Reply(status=503, json={"errors": []}, headers={"Retry-After": "0.2"}))
    policy = Retries(max_retries=50, deadline=0.5)
    async with Clerk(secret_key=SECRET, api_url=stub.url, retries=policy) as clerk:
        started = time.monotonic()
        with pytest.raises(errors.ServerError):
            await requester_of(clerk).request("GET", "/x", cast_to=object)
        assert time.monotonic() - started < 0.5 + 0.3
    assert 2 <= stub.count() <= 4


async def test_deadline_cuts_a_slow_answer(stub: StubServer) -> None:
    stub.add("GET", "/v1/x", Reply(json={}, delay=3.0))
    policy = Retries(max_retries=5, deadline=0.6)
    async with Clerk(secret_key=SECRET, api_url=stub.url, retries=policy, timeout=None) as clerk:
        started = time.monotonic()
        with pytest.raises(errors.ClerkTimeoutError) as info:
            await requester_of(clerk).request("GET", "/x?email=a%40example.com", cast_to=object)
        assert time.monotonic() - started < 0.6 + 0.4
    assert "example.com" not in str(info.value)  # queries may carry personal data


@pytest.mark.parametrize("body", [b"", b"null"])
async def test_empty_answer_where_a_model_was_expected(
    stub: StubServer, clerk: Clerk, body: bytes
) -> None:
    stub.add("GET", "/v1/users/user_1", Reply(body=body))
    with pytest.raises(errors.ClerkDecodeError, match="empty where a User was expected"):
        await clerk.users.get("user_1")
    stub.add("GET", "/v1/jwks", Reply(status=204, body=b""))
    assert await requester_of(clerk).request("GET", "/jwks", cast_to=object) is None


async def test_json_in_a_declared_charset(stub: StubServer, clerk: Clerk) -> None:
    latin = '{"first_name":"Ren\u00e9e"}'.encode("latin-1")
    stub.add("GET", "/v1/x", Reply(body=latin, content_type="application/json; charset=ISO-8859-1"))
    assert await requester_of(clerk).request("GET", "/x", cast_to=object) == {
        "first_name": "Ren\u00e9e"
    }


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b' \r\n {"a": [1, "\xc3\xa9"]} \n', "application/json"),  # whitespace around
        (b'\xef\xbb\xbf{"a": [1, "\xc3\xa9"]}', "application/json"),  # a UTF-8 BOM
        ('{"a": [1, "\u00e9"]}'.encode("utf-16"), "application/json"),  # UTF-16, sniffed
        ('{"a": [1, "\u00e9"]}'.encode("utf-16-le"), "application/json; charset=utf-16"),
    ],
)
async def test_json_in_every_form_json_allows(
    stub: StubServer, clerk: Clerk, body: bytes, content_type: str
) -> None:
    stub.add("GET", "/v1/x", Reply(body=body, content_type=content_type))
    assert await requester_of(clerk).request("GET", "/x", cast_to=object) == {"a": [1, "\u00e9"]}


@pytest.mark.parametrize("body", [b'{"a": 1} {"b": 2}', b'{"a": 1', b"\xff\xfe{}x", b"[1,]"])
async def test_not_quite_json_is_a_decode_error(
    stub: StubServer, clerk: Clerk, body: bytes
) -> None:
    stub.add("GET", "/v1/x", Reply(body=body, content_type="application/json"))
    with pytest.raises(errors.ClerkDecodeError, match="not JSON"):
        await requester_of(clerk).request("GET", "/x", cast_to=object)


async def test_error_headers_are_case_insensitive(stub: StubServer, clerk: Clerk) -> None:
    stub.add("GET", "/v1/x", Reply(status=404, json={"errors": []}, headers={"X-Thing": "1"}))
    with pytest.raises(errors.NotFoundError) as info:
        await requester_of(clerk).request("GET", "/x", cast_to=object)
    assert info.value.headers["x-thing"] == info.value.headers["X-THING"] == "1"


async def test_timeout_is_typed_and_post_not_retried(stub: StubServer) -> None:
    stub.add("POST", "/v1/x", Reply(json={}, delay=1.0))
    stub.add("GET", "/v1/y", Reply(json={}, delay=1.0))
    async with Clerk(
        secret_key=SECRET, api_url=stub.url, timeout=0.1, retries=FAST_RETRIES
    ) as clerk:
        with pytest.raises(errors.ClerkTimeoutError):
            await requester_of(clerk).request("POST", "/x", body={}, cast_to=object)
        with pytest.raises(errors.ClerkTimeoutError) as info:
            await requester_of(clerk).request("GET", "/y", cast_to=object)
    assert stub.count("POST") == 1
    assert stub.count("GET") == 4
    assert info.value.attempts == 4


async def test_connection_refused_retried_even_for_post() -> None:
    # Nothing listens on this port: the request provably never reached a server.
    async with Clerk(secret_key=SECRET, api_url="http://127.0.0.1:9", retries=FAST_RETRIES) as c:
        with pytest.raises(errors.ClerkConnectionError) as info:
            await requester_of(c).request("POST", "/users", body={}, cast_to=object)
    assert info.value.attempts == 4
    assert not info.value.request_sent


async def test_dropped_connection_post_not_retried(stub: StubServer, clerk: Clerk) -> None:
    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    stub.add("POST", "/v1/x", drop)
    stub.add("GET", "/v1/x", drop)
    with pytest.raises(errors.ClerkConnectionError):
        await requester_of(clerk).request("POST", "/x", body={}, cast_to=object)
    assert stub.count("POST") == 1
    with pytest.raises(errors.ClerkConnectionError) as info:
        await requester_of(clerk).request("GET", "/x", cast_to=object)
    assert info.value.attempts == 4
    # aiohttp itself resends an idempotent request once on a stale keep-alive connection.
    assert 4 <= stub.count("GET") <= 8


async def test_cancellation_of_many_requests(stub: StubServer) -> None:
    stub.add("GET", "/v1/slow", Reply(json={}, delay=5))
    stub.add("GET", "/v1/fast", Reply(json={"ok": 1}))
    connector = aiohttp.TCPConnector(limit=300)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        Clerk(secret_key=SECRET, api_url=stub.url, session=session) as clerk,
    ):
        tasks = [
            asyncio.ensure_future(requester_of(clerk).request("GET", "/slow", cast_to=object))
            for _ in range(200)
        ]
        for _ in range(500):
            if stub.count("GET", "/v1/slow") == 200:
                break
            await asyncio.sleep(0.01)
        assert stub.count("GET", "/v1/slow") == 200
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        # The client stays usable and the pool holds no leaked connection.
        assert await requester_of(clerk).request("GET", "/fast", cast_to=object) == {"ok": 1}
        assert hasattr(connector, "_acquired")  # the pool's checked-out connections
        acquired = connector._acquired
        assert len(acquired) == 0


def test_session_of_another_loop_is_a_clear_error() -> None:
    # Port 9 refuses: the first call fails, but its session now belongs to that loop.
    clerk = Clerk(secret_key=SECRET, api_url="http://127.0.0.1:9", retries=0)

    async def first() -> None:
        with pytest.raises(errors.ClerkConnectionError):
            await requester_of(clerk).request("GET", "/jwks", cast_to=object)

    async def second() -> None:
        with pytest.raises(errors.ConfigurationError, match="another event loop"):
            await requester_of(clerk).request("GET", "/jwks", cast_to=object)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(first())
        asyncio.run(second())
        loop.run_until_complete(clerk.aclose())
    finally:
        loop.close()
