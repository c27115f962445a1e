from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from clerk_async import Clerk, Retries

from .stub_server import StubServer

SECRET = "sk_test_0123456789abcdefSECRET"

FAST_RETRIES = Retries(max_retries=3, backoff_base=0.001, backoff_max=0.005, deadline=10.0)


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    server = StubServer()
    await server.server.start_server()
    try:
        yield server
    finally:
        await server.server.close()


@pytest.fixture
async def clerk(stub: StubServer) -> AsyncIterator[Clerk]:
    async with Clerk(secret_key=SECRET, api_url=stub.url, retries=FAST_RETRIES) as client:
        yield client
