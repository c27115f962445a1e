"""The example FastAPI app on a real uvicorn server, called over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import uvicorn

from clerk_async.integrations.fastapi import ClerkAuth
from examples.fastapi_app import create_app

from ..stub_server import StubServer
from .conftest import API_KEY, PARTY, SECRET, free_port, mint, org_token


class Running:
    def __init__(self, url: str, clerk_auth: ClerkAuth) -> None:
        self.url = url
        self.clerk_auth = clerk_auth


@pytest.fixture
async def server(clerk_api: StubServer) -> AsyncIterator[Running]:
    clerk_auth = ClerkAuth(
        secret_key=SECRET,
        api_url=clerk_api.url,
        authorized_parties=[PARTY],
        accepts_token=["session_token", "api_key"],
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(clerk_auth), host="127.0.0.1", port=port, lifespan="on", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    try:
        yield Running(f"http://127.0.0.1:{port}", clerk_auth)
    finally:
        server.should_exit = True
        await task


async def call(url: str, token: str | None = None, **headers: str) -> tuple[int, object]:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_signed_in_and_requirements(server: Running, clerk_api: StubServer) -> None:
    assert await call(server.url + "/me", mint()) == (
        200,
        {"user_id": "user_1", "token_type": "session_token"},
    )
    assert (await call(server.url + "/invoices", org_token()))[0] == 200
    assert (await call(server.url + "/admin", org_token()))[0] == 200
    assert (await call(server.url + "/org", org_token()))[0] == 200
    status, body = await call(server.url + "/org", mint())
    assert status == 403 and body == {
        "detail": {"error": "forbidden", "requires": "an active organization"}
    }
    status, body = await call(server.url + "/invoices", org_token(org_permissions=["org:other"]))
    assert status == 403
    assert (await call(server.url + "/admin", org_token(org_role="org:member")))[0] == 403
    # JWKS fetched once for all those requests.
    assert clerk_api.count("GET", "/v1/jwks") == 1


async def test_signed_out(server: Running) -> None:
    status, body = await call(server.url + "/me")
    assert status == 401 and body == {
        "detail": {"error": "unauthenticated", "reason": "session_token_and_uat_missing"}
    }
    cases = {
        "expired": mint(exp=1, iat=0, nbf=0),
        "unauthorized_party": mint(azp="https://evil.example"),
        "invalid_signature": mint()[:-4] + "AAAA",
        "malformed": "not-a-token",
    }
    for reason, token in cases.items():
        status, body = await call(server.url + "/me", token)
        assert status == 401, reason
        assert body == {"detail": {"error": "unauthenticated", "reason": reason}}
    # A cookie-borne session works too.
    status, _ = await call(server.url + "/me", Cookie=f"__session={mint()}; __client_uat=1")
    assert status == 200


async def test_machine_token(server: Running, clerk_api: StubServer) -> None:
    status, body = await call(server.url + "/me", API_KEY)
    assert status == 200 and body == {"user_id": "user_machine", "token_type": "api_key"}
    status, _ = await call(server.url + "/me", "ak_unknown_key")
    assert status == 401
    assert clerk_api.count("POST", "/v1/api_keys/verify") == 2


async def test_one_client_per_app(server: Running) -> None:
    for _ in range(5):
        assert (await call(server.url + "/me", mint()))[0] == 200
        assert (await call(server.url + "/client"))[0] == 200
    assert server.clerk_auth.clients_opened == 1


async def test_public_route_needs_nothing(server: Running) -> None:
    assert await call(server.url + "/public") == (200, {"ok": True})
