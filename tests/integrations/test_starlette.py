"""The Starlette (pure ASGI) middleware: the example app on uvicorn, and raw ASGI scopes."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.applications import Starlette

from clerk_async import Clerk
from clerk_async.auth import Auth, AuthReason, RequestState
from clerk_async.integrations.starlette import ClerkAuthMiddleware
from examples.starlette_app import create_app, routes

from ..stub_server import StubServer
from .conftest import (
    API_KEY,
    PARTY,
    PUBLIC_PEM,
    SECRET,
    UNCHECKABLE_API_KEY,
    Sessions,
    call,
    mint,
    org_token,
    uvicorn_server,
)

Message = MutableMapping[str, Any]


async def test_example_app(clerk_api: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The example reads the client's settings from the environment.
    monkeypatch.setenv("CLERK_SECRET_KEY", SECRET)
    monkeypatch.setenv("CLERK_API_URL", clerk_api.url)
    app = create_app(authorized_parties=[PARTY], accepts_token=["session_token", "api_key"])
    async with uvicorn_server(app) as url:
        assert (await call(url + "/me", mint()))[:2] == (200, {"user_id": "user_1"})
        assert (await call(url + "/me", org_token()))[:2] == (200, {"user_id": "user_1"})
        cases = {
            "expired": mint(exp=1, iat=0, nbf=0),
            "unauthorized_party": mint(azp="https://other.example"),
            "invalid_signature": mint()[:-4] + "AAAA",
            "session_token_and_uat_missing": None,
        }
        for reason, token in cases.items():
            status, body, _ = await call(url + "/me", token)
            assert (status, body) == (401, {"error": "unauthenticated", "reason": reason})
        assert (await call(url + "/me", API_KEY))[:2] == (200, {"user_id": "user_machine"})
        assert (await call(url + "/me", "ak_unknown"))[0] == 401
        status, body, _ = await call(url + "/me", UNCHECKABLE_API_KEY)
        assert (status, body["reason"]) == (503, "verification_unavailable")
    assert clerk_api.count("GET", "/v1/jwks") == 1
    assert clerk_api.count("POST", "/v1/api_keys/verify") == 3


async def test_one_client_per_app_closed_at_shutdown(
    clerk_api: StubServer, sessions: Sessions
) -> None:
    # Wrapping the app by hand: the middleware is an ordinary ASGI app.
    app = ClerkAuthMiddleware(
        Starlette(routes=routes),
        secret_key=SECRET,
        api_url=clerk_api.url,
        authorized_parties=[PARTY],
        accepts_token="any",
    )
    async with uvicorn_server(app) as url:
        for _ in range(5):
            assert (await call(url + "/me", mint()))[0] == 200
            assert (await call(url + "/me", API_KEY))[0] == 200
    assert app.clients_opened == 1
    assert len(sessions.created) == 1
    assert sessions.all_closed


async def test_networkless_with_a_pem_key(clerk_api: StubServer, sessions: Sessions) -> None:
    app = ClerkAuthMiddleware(
        Starlette(routes=routes), jwt_key=PUBLIC_PEM, authorized_parties=[PARTY]
    )
    async with uvicorn_server(app) as url:
        assert (await call(url + "/me", mint()))[0] == 200
        assert (await call(url + "/me", mint(azp="https://other.example")))[0] == 401
    assert app.clients_opened == 0
    assert len(sessions.created) == 0
    assert len(clerk_api.requests) == 0


class Recorder:
    """A bare ASGI app recording the scopes it sees; it answers lifespan events."""

    def __init__(self, fail_shutdown: bool = False) -> None:
        self.scopes: list[MutableMapping[str, Any]] = []
        self.fail_shutdown = fail_shutdown

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    kind = "failed" if self.fail_shutdown else "complete"
                    await send({"type": f"lifespan.shutdown.{kind}"})
                    return


async def run_lifespan(app: ClerkAuthMiddleware) -> list[str]:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    return sent


async def noop_receive() -> Message:
    raise AssertionError("not called")


async def noop_send(message: Message) -> None:
    raise AssertionError("not called")


def scope(kind: str, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": kind, "path": "/", "headers": list(headers)}


async def test_websocket_scopes_are_authenticated(clerk_api: StubServer) -> None:
    inner = Recorder()
    app = ClerkAuthMiddleware(
        inner, secret_key=SECRET, api_url=clerk_api.url, authorized_parties=[PARTY]
    )
    token = mint().encode()
    await app(scope("websocket", (b"authorization", b"Bearer " + token)), noop_receive, noop_send)
    await app(
        scope("websocket", (b"cookie", b"__session=" + token + b"; __client_uat=1")),
        noop_receive,
        noop_send,
    )
    await app(scope("websocket"), noop_receive, noop_send)
    signed_in, by_cookie, signed_out = (s["state"] for s in inner.scopes)
    assert signed_in["auth"].user_id == "user_1" and by_cookie["auth"].user_id == "user_1"
    assert signed_out["auth"] == Auth() and not signed_out["auth"].is_authenticated
    state = signed_out["auth_state"]
    assert isinstance(state, RequestState)
    assert state.reason is AuthReason.SESSION_TOKEN_AND_UAT_MISSING
    assert await run_lifespan(app) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_other_scopes_pass_through_untouched() -> None:
    inner = Recorder()
    app = ClerkAuthMiddleware(inner, jwt_key=PUBLIC_PEM)
    other = scope("custom.protocol")
    await app(other, noop_receive, noop_send)
    assert inner.scopes == [other] and "state" not in other
    await run_lifespan(app)
    assert inner.scopes[1]["type"] == "lifespan" and "state" not in inner.scopes[1]
    assert app.clients_opened == 0


@pytest.mark.parametrize("fail_shutdown", [False, True])
async def test_lifespan_shutdown_closes_the_client(
    clerk_api: StubServer, sessions: Sessions, fail_shutdown: bool
) -> None:
    app = ClerkAuthMiddleware(Recorder(fail_shutdown), secret_key=SECRET, api_url=clerk_api.url)
    await app(
        scope("http", (b"authorization", b"Bearer " + mint().encode())), noop_receive, noop_send
    )
    assert app.clients_opened == 1
    [session] = sessions.created
    assert not session.closed
    await run_lifespan(app)
    assert sessions.all_closed


async def test_a_client_of_your_own_is_left_open(clerk_api: StubServer) -> None:
    async with Clerk(secret_key=SECRET, api_url=clerk_api.url) as mine:
        inner = Recorder()
        app = ClerkAuthMiddleware(inner, clerk=mine)
        await app(
            scope("http", (b"authorization", b"Bearer " + mint().encode())), noop_receive, noop_send
        )
        assert inner.scopes[0]["state"]["auth"].user_id == "user_1"
        await run_lifespan(app)
        assert not mine.is_closed and app.clients_opened == 0
