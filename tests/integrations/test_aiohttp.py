"""The aiohttp.web middleware: the example app on a real aiohttp server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from clerk_async import Clerk
from clerk_async.integrations.aiohttp import CLERK
from examples.aiohttp_app import create_app

from ..stub_server import StubServer
from .conftest import (
    API_KEY,
    PARTY,
    PUBLIC_PEM,
    SECRET,
    UNCHECKABLE_API_KEY,
    Sessions,
    call,
    free_port,
    mint,
    org_token,
)


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def make_app(stub: StubServer, **options: Any) -> web.Application:
    return create_app(
        secret_key=SECRET,
        api_url=stub.url,
        authorized_parties=[PARTY],
        accepts_token=["session_token", "api_key"],
        **options,
    )


async def test_middleware_and_require_auth(clerk_api: StubServer) -> None:
    async with serve(make_app(clerk_api)) as url:
        assert (await call(url + "/me", mint()))[:2] == (200, {"user_id": "user_1"})
        assert (await call(url + "/invoices", org_token()))[:2] == (200, {"org_id": "org_1"})
        status, body, _ = await call(url + "/invoices", org_token(org_permissions=[]))
        assert (status, body) == (403, {"error": "forbidden", "requires": "org:invoices:read"})
        assert (await call(url + "/invoices", mint()))[0] == 403  # no active organization
        cases = {
            "expired": mint(exp=1, iat=0, nbf=0),
            "unauthorized_party": mint(azp="https://other.example"),
            "invalid_signature": mint()[:-4] + "AAAA",
            "session_token_and_uat_missing": None,
        }
        for reason, token in cases.items():
            for path in ("/me", "/invoices"):
                status, body, headers = await call(url + path, token)
                assert (status, body) == (401, {"error": "unauthenticated", "reason": reason})
                assert headers["WWW-Authenticate"] == "Bearer"
        # Routes without require_auth still run for signed-out callers.
        assert (await call(url + "/client"))[:2] == (200, {"api_url": clerk_api.url})
    assert clerk_api.count("GET", "/v1/jwks") == 1


async def test_machine_token(clerk_api: StubServer) -> None:
    async with serve(make_app(clerk_api)) as url:
        assert (await call(url + "/me", API_KEY))[:2] == (200, {"user_id": "user_machine"})
        assert (await call(url + "/me", "ak_unknown"))[0] == 401
        assert (await call(url + "/invoices", API_KEY))[0] == 403
        status, body, _ = await call(url + "/me", UNCHECKABLE_API_KEY)
        assert (status, body["reason"]) == (503, "verification_unavailable")
        status, body, _ = await call(url + "/me", "oat_some_oauth_token")
        assert (status, body["reason"]) == (401, "token_type_not_accepted")
    assert clerk_api.count("POST", "/v1/api_keys/verify") == 4


async def test_one_client_per_app_closed_at_cleanup(
    clerk_api: StubServer, sessions: Sessions
) -> None:
    app = make_app(clerk_api)
    async with serve(app) as url:
        client = app[CLERK]
        for _ in range(5):
            assert (await call(url + "/me", mint()))[0] == 200
            assert (await call(url + "/me", API_KEY))[0] == 200
            assert (await call(url + "/client"))[0] == 200
        assert app[CLERK] is client
        assert not app[CLERK].is_closed
    assert len(sessions.created) == 1
    assert client.is_closed and sessions.all_closed


async def test_a_client_of_your_own_is_left_open(clerk_api: StubServer) -> None:
    async with Clerk(secret_key=SECRET, api_url=clerk_api.url) as mine:
        app = create_app(clerk=mine, authorized_parties=[PARTY])
        async with serve(app) as url:
            assert (await call(url + "/me", mint()))[0] == 200
            assert app[CLERK] is mine
        assert not mine.is_closed


async def test_networkless_with_a_pem_key(clerk_api: StubServer, sessions: Sessions) -> None:
    app = create_app(secret_key=SECRET, jwt_key=PUBLIC_PEM, authorized_parties=[PARTY])
    async with serve(app) as url:
        assert (await call(url + "/me", mint()))[0] == 200
        assert (await call(url + "/me", mint(exp=1, iat=0, nbf=0)))[0] == 401
    assert len(sessions.created) == 0
    assert len(clerk_api.requests) == 0
