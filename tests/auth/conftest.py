from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from clerk_async import Clerk
from clerk_async.auth import clear_caches

from .helpers import SECRET_KEY, ClerkServer

ENV = (
    "CLERK_JWT_KEY",
    "CLERK_SECRET_KEY",
    "CLERK_API_URL",
    "CLERK_PUBLISHABLE_KEY",
    "CLERK_WEBHOOK_SIGNING_SECRET",
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
async def server() -> AsyncIterator[ClerkServer]:
    srv = ClerkServer()
    await srv.server.start_server()
    try:
        yield srv
    finally:
        if srv.gate is not None:
            srv.gate.set()
        await srv.server.close()


@pytest.fixture
async def clerk(server: ClerkServer) -> AsyncIterator[Clerk]:
    async with Clerk(secret_key=SECRET_KEY, api_url=server.url, retries=0) as client:
        yield client
