"""The Starlette middleware on uvicorn and the aiohttp middleware on a real aiohttp server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import uvicorn
from aiohttp import web

from examples.aiohttp_app import create_app as create_aiohttp_app
from examples.starlette_app import create_app as create_starlette_app

from ..stub_server import StubServer
from .conftest import PARTY, SECRET, free_port, mint, org_token


async def get(url: str, token: str | None = None) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, await resp.json()


@pytest.fixture
async def starlette_url(
    clerk_api: StubServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    monkeypatch.setenv("CLERK_SECRET_KEY", SECRET)
    monkeypatch.setenv("CLERK_API_URL", clerk_api.url)
    port = free_port()
    app = create_starlette_app(authorized_parties=[PARTY])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_starlette_middleware(starlette_url: str, clerk_api: StubServer) -> None:
    assert await get(starlette_url + "/me", mint()) == (200, {"user_id": "user_1"})
    status, body = await get(starlette_url + "/me", mint(exp=1, iat=0, nbf=0))
    assert status == 401 and body == {"error": "unauthenticated", "reason": "expired"}
    status, body = await get(starlette_url + "/me", mint(azp="https://other.example"))
    assert status == 401 and body == {"error": "unauthenticated", "reason": "unauthorized_party"}
    assert (await get(starlette_url + "/me"))[0] == 401
    assert clerk_api.count("GET", "/v1/jwks") == 1


@pytest.fixture
async def aiohttp_url(clerk_api: StubServer) -> AsyncIterator[tuple[str, web.Application]]:
    app = create_aiohttp_app(secret_key=SECRET, api_url=clerk_api.url, authorized_parties=[PARTY])
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        await runner.cleanup()


async def test_aiohttp_middleware(
    aiohttp_url: tuple[str, web.Application], clerk_api: StubServer
) -> None:
    url, app = aiohttp_url
    assert await get(url + "/me", mint()) == (200, {"user_id": "user_1"})
    assert await get(url + "/invoices", org_token()) == (200, {"org_id": "org_1"})
    status, body = await get(url + "/invoices", org_token(org_permissions=[]))
    assert status == 403 and body == {"error": "forbidden", "requires": "org:invoices:read"}
    status, body = await get(url + "/me", mint(exp=1, iat=0, nbf=0))
    assert status == 401 and body == {"error": "unauthenticated", "reason": "expired"}
    status, body = await get(url + "/me")
    assert status == 401
    from clerk_async.integrations.aiohttp import CLERK

    clients = {id(app[CLERK])}
    for _ in range(3):
        assert (await get(url + "/client"))[0] == 200
        clients.add(id(app[CLERK]))
    assert len(clients) == 1  # one client for the app's whole life
    assert clerk_api.count("GET", "/v1/jwks") == 1
