"""Failure modes a real server cannot produce on demand, injected with aioresponses.

(aioresponses only raises exceptions here: its canned responses do not build
against every aiohttp release, and the real-server tests cover answers anyway.)
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import aiohttp
import pytest
from aioresponses import aioresponses

from clerk_async import Clerk, errors
from clerk_async._http import requester_of

from .conftest import FAST_RETRIES, SECRET

URL = "https://api.clerk.test"
USERS = re.compile(r"^https://api\.clerk\.test/v1/users.*$")


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as mock:
        yield mock


def sends(mock: aioresponses) -> int:
    return sum(len(calls) for calls in mock.requests.values())


async def test_dns_failure_is_retried_even_for_post(mocked: aioresponses) -> None:
    key = aiohttp.client_reqrep.ConnectionKey("api.clerk.test", 443, True, True, None, None, None)
    for _ in range(4):
        mocked.post(USERS, exception=aiohttp.ClientConnectorError(key, OSError(-2, "no such host")))
    async with Clerk(secret_key=SECRET, api_url=URL, retries=FAST_RETRIES) as clerk:
        with pytest.raises(errors.ClerkConnectionError) as info:
            await requester_of(clerk).request("POST", "/users", body={}, cast_to=object)
    assert not info.value.request_sent
    assert info.value.attempts == 4 == sends(mocked)
    assert SECRET not in str(info.value)


async def test_read_timeout_not_retried_for_post(mocked: aioresponses) -> None:
    mocked.post(USERS, exception=asyncio.TimeoutError())
    async with Clerk(secret_key=SECRET, api_url=URL, retries=FAST_RETRIES) as clerk:
        with pytest.raises(errors.ClerkTimeoutError) as info:
            await requester_of(clerk).request("POST", "/users", body={}, cast_to=object)
    assert info.value.request_sent
    assert info.value.attempts == 1 == sends(mocked)


async def test_reset_connection_retried_for_get(mocked: aioresponses) -> None:
    for _ in range(4):
        mocked.get(USERS, exception=aiohttp.ServerDisconnectedError())
    async with Clerk(secret_key=SECRET, api_url=URL, retries=FAST_RETRIES) as clerk:
        with pytest.raises(errors.ClerkConnectionError) as info:
            await requester_of(clerk).request("GET", "/users", cast_to=object)
    assert info.value.attempts == 4 == sends(mocked)


async def test_cancellation_is_not_wrapped(mocked: aioresponses) -> None:
    mocked.get(USERS, exception=asyncio.CancelledError())
    async with Clerk(secret_key=SECRET, api_url=URL, retries=FAST_RETRIES) as clerk:
        with pytest.raises(asyncio.CancelledError):
            await requester_of(clerk).request("GET", "/users", cast_to=object)
    assert sends(mocked) == 1
