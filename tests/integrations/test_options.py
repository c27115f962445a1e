"""The integrations take ``options=`` plus overrides of its fields, the same names as
:class:`~clerk_async.auth.AuthenticateOptions` (one declaration), on real servers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from clerk_async.auth import AuthenticateOptions, AuthenticateOverrides, authenticate_request
from clerk_async.integrations import IntegrationOptions
from clerk_async.integrations.aiohttp import setup_clerk
from clerk_async.integrations.fastapi import ClerkAuth
from clerk_async.integrations.starlette import ClerkAuthMiddleware
from examples.aiohttp_app import create_app as aiohttp_app
from examples.fastapi_app import create_app as fastapi_app
from examples.starlette_app import create_app as starlette_app

from .conftest import PARTY, PUBLIC_PEM, call, mint, uvicorn_server
from .test_aiohttp import serve

ELSEWHERE = "https://elsewhere.example"
# Networkless (a PEM key), and a party the tokens of these tests do not name.
BASE = AuthenticateOptions(jwt_key=PUBLIC_PEM, authorized_parties=[ELSEWHERE])
KINDS = ["fastapi", "starlette", "aiohttp"]


@asynccontextmanager
async def running(kind: str, **settings: Any) -> AsyncIterator[str]:
    if kind == "fastapi":
        async with uvicorn_server(fastapi_app(ClerkAuth(options=BASE, **settings))) as url:
            yield url
    elif kind == "starlette":
        async with uvicorn_server(starlette_app(options=BASE, **settings)) as url:
            yield url
    else:
        async with serve(aiohttp_app(options=BASE, **settings)) as url:
            yield url


def reason(body: Any) -> str:
    """The reason a signed-out request was refused (FastAPI wraps it in ``detail``)."""
    found: str = (body.get("detail") or body)["reason"]
    return found


@pytest.mark.parametrize("kind", KINDS)
async def test_an_override_reaches_verification(kind: str) -> None:
    token = mint()  # azp: PARTY
    async with running(kind) as url:
        status, body, _ = await call(url + "/me", token)
        assert (status, reason(body)) == (401, "unauthorized_party")
    async with running(kind, authorized_parties=[PARTY]) as url:
        status, body, _ = await call(url + "/me", token)
        assert (status, body["user_id"]) == (200, "user_1")


@pytest.mark.parametrize("kind", KINDS)
async def test_overrides_combine_with_the_options_they_do_not_name(kind: str) -> None:
    # jwt_key still comes from BASE (no Clerk is reachable here); two fields overridden.
    now = int(time.time())
    lately_expired = mint(iat=now - 100, nbf=now - 100, exp=now - 30)
    settings = {"authorized_parties": [PARTY]}
    async with running(kind, **settings) as url:
        status, body, _ = await call(url + "/me", lately_expired)
        assert (status, reason(body)) == (401, "expired")
    async with running(kind, **settings, clock_skew=60) as url:
        status, body, _ = await call(url + "/me", lately_expired)
        assert (status, body["user_id"]) == (200, "user_1")


async def test_an_unknown_override_is_a_type_error() -> None:
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    # mypy rejects each call as well (the ignores would be reported unused otherwise).
    with pytest.raises(TypeError, match="authorised_parties"):
        ClerkAuth(options=BASE, authorised_parties=[PARTY])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="authorised_parties"):
        ClerkAuthMiddleware(inner, authorised_parties=[PARTY])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="authorised_parties"):
        setup_clerk(web.Application(), authorised_parties=[PARTY])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="authorised_parties"):
        await authenticate_request(headers={}, authorised_parties=[PARTY])  # type: ignore[call-arg]


def test_the_integrations_take_the_overrides_and_the_client_settings() -> None:
    assert set(IntegrationOptions.__annotations__) == {
        *AuthenticateOverrides.__annotations__,
        "clerk",
        "secret_key",
        "api_url",
    }
