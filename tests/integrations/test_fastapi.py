"""The example FastAPI app on a real uvicorn server, called over HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI

from clerk_async import Clerk
from clerk_async.auth import Auth, _verify
from clerk_async.auth._request import cookie_suffix
from clerk_async.integrations.fastapi import ClerkAuth
from examples.fastapi_app import create_app

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


class Running:
    def __init__(self, url: str, clerk_auth: ClerkAuth) -> None:
        self.url = url
        self.clerk_auth = clerk_auth


def make_clerk_auth(stub: StubServer) -> ClerkAuth:
    return ClerkAuth(
        secret_key=SECRET,
        api_url=stub.url,
        authorized_parties=[PARTY],
        accepts_token=["session_token", "api_key"],
    )


@pytest.fixture
async def server(clerk_api: StubServer) -> AsyncIterator[Running]:
    clerk_auth = make_clerk_auth(clerk_api)
    async with uvicorn_server(create_app(clerk_auth)) as url:
        yield Running(url, clerk_auth)


async def test_signed_in_and_requirements(server: Running, clerk_api: StubServer) -> None:
    status, body, _ = await call(server.url + "/me", mint())
    assert (status, body) == (200, {"user_id": "user_1", "token_type": "session_token"})
    assert (await call(server.url + "/invoices", org_token()))[:2] == (200, {"org_id": "org_1"})
    assert (await call(server.url + "/admin", org_token()))[0] == 200
    assert (await call(server.url + "/org", org_token()))[0] == 200
    # Verified, but short of what the route requires: 403.
    status, body, _ = await call(server.url + "/org", mint())
    assert status == 403
    assert body == {"detail": {"error": "forbidden", "requires": "an active organization"}}
    status, body, _ = await call(server.url + "/invoices", org_token(org_permissions=["org:x"]))
    assert status == 403
    assert body == {"detail": {"error": "forbidden", "requires": "org:invoices:read"}}
    assert (await call(server.url + "/admin", org_token(org_role="org:member")))[0] == 403
    # JWKS fetched once for all those requests.
    assert clerk_api.count("GET", "/v1/jwks") == 1


async def test_signed_out(server: Running) -> None:
    status, body, headers = await call(server.url + "/me")
    assert status == 401
    assert body == {
        "detail": {"error": "unauthenticated", "reason": "session_token_and_uat_missing"}
    }
    assert headers["WWW-Authenticate"] == "Bearer"
    cases = {
        "expired": mint(exp=1, iat=0, nbf=0),
        "unauthorized_party": mint(azp="https://evil.example"),
        "invalid_signature": mint()[:-4] + "AAAA",
        "malformed": "not-a-token",
    }
    for reason, token in cases.items():
        for path in ("/me", "/invoices", "/admin", "/org"):
            status, body, _ = await call(server.url + path, token)
            assert status == 401, (reason, path)
            assert body == {"detail": {"error": "unauthenticated", "reason": reason}}


async def test_session_cookie(server: Running) -> None:
    status, body, _ = await call(server.url + "/me", Cookie=f"__session={mint()}; __client_uat=1")
    assert (status, body["user_id"]) == (200, "user_1")
    # A session cookie without an active client is signed out.
    status, body, _ = await call(server.url + "/me", Cookie=f"__session={mint()}")
    assert status == 401
    assert body["detail"]["reason"] == "session_token_without_client_uat"


async def test_machine_token(server: Running, clerk_api: StubServer) -> None:
    status, body, _ = await call(server.url + "/me", API_KEY)
    assert (status, body) == (200, {"user_id": "user_machine", "token_type": "api_key"})
    status, _, _ = await call(server.url + "/me", "ak_unknown_key")
    assert status == 401
    # Machine tokens carry no organization permissions: 403 on a permission route.
    assert (await call(server.url + "/invoices", API_KEY))[0] == 403
    assert clerk_api.count("POST", "/v1/api_keys/verify") == 3
    # A type the app does not accept is signed out without asking Clerk.
    status, body, _ = await call(server.url + "/me", "mt_some_m2m_token")
    assert status == 401 and body["detail"]["reason"] == "token_type_not_accepted"
    assert clerk_api.count("POST", "/v1/m2m_tokens/verify") == 0


async def test_clerk_unable_to_verify_is_503(server: Running) -> None:
    status, body, _ = await call(server.url + "/me", UNCHECKABLE_API_KEY)
    assert status == 503
    assert body == {"detail": {"error": "unauthenticated", "reason": "verification_unavailable"}}


async def test_public_route_needs_nothing(server: Running, clerk_api: StubServer) -> None:
    assert (await call(server.url + "/public"))[:2] == (200, {"ok": True})
    assert len(clerk_api.requests) == 0


async def test_one_client_per_app_closed_at_shutdown(
    clerk_api: StubServer, sessions: Sessions
) -> None:
    clerk_auth = make_clerk_auth(clerk_api)
    async with uvicorn_server(create_app(clerk_auth)) as url:
        client = clerk_auth.client()
        for _ in range(5):
            assert (await call(url + "/me", mint()))[0] == 200
            assert (await call(url + "/me", API_KEY))[0] == 200
            assert (await call(url + "/client"))[:2] == (200, {"api_url": clerk_api.url})
        assert clerk_auth.client() is client
        assert not clerk_auth.client().is_closed
    assert clerk_auth.clients_opened == 1
    assert len(sessions.created) == 1  # JWKS and 5 machine verifications, one HTTP session
    assert client.is_closed and sessions.all_closed
    with pytest.raises(RuntimeError, match="lifespan"):
        clerk_auth.client()


async def test_client_of_your_own_and_your_own_lifespan(clerk_api: StubServer) -> None:
    started: list[bool] = []
    async with Clerk(secret_key=SECRET, api_url=clerk_api.url) as mine:
        clerk_auth = ClerkAuth(clerk=mine, authorized_parties=[PARTY])

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            started.append(True)
            async with clerk_auth.lifespan(app):
                yield

        app = FastAPI(lifespan=lifespan)

        @app.get("/whoami")
        async def whoami(
            clerk: Clerk = Depends(clerk_auth.client),  # noqa: B008
        ) -> dict[str, bool]:
            return {"mine": clerk is mine}

        async with uvicorn_server(app) as url:
            assert (await call(url + "/whoami"))[:2] == (200, {"mine": True})
        assert started == [True]
        assert clerk_auth.clients_opened == 0
        assert not mine.is_closed  # still the caller's to close


async def test_networkless_with_a_pem_key(clerk_api: StubServer, sessions: Sessions) -> None:
    clerk_auth = ClerkAuth(secret_key=SECRET, jwt_key=PUBLIC_PEM, authorized_parties=[PARTY])
    async with uvicorn_server(create_app(clerk_auth)) as url:
        assert (await call(url + "/me", mint()))[0] == 200
        assert (await call(url + "/me", mint(exp=1, iat=0, nbf=0)))[0] == 401
    assert len(clerk_api.requests) == 0
    assert len(sessions.created) == 0


async def test_publishable_key_picks_the_suffixed_cookies(clerk_api: StubServer) -> None:
    # Apps sharing a domain tell their cookies apart by a suffix derived from the key.
    key = "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"
    suffix = cookie_suffix(key)
    clerk_auth = ClerkAuth(
        secret_key=SECRET, jwt_key=PUBLIC_PEM, authorized_parties=[PARTY], publishable_key=key
    )
    assert clerk_auth.options.publishable_key == key
    other_app = mint(sub="user_other")
    cookies = (
        f"__session={other_app}; __client_uat=1; "
        f"__session_{suffix}={mint()}; __client_uat_{suffix}=1"
    )
    async with uvicorn_server(create_app(clerk_auth)) as url:
        status, body, _ = await call(url + "/me", Cookie=cookies)
    assert status == 200
    assert body["user_id"] == "user_1"


def _answers_app(clerk_auth: ClerkAuth) -> FastAPI:
    """Every dependency that may answer a repeated bearer token from the cache."""
    app = create_app(clerk_auth)

    @app.get("/whoever")
    async def whoever(
        auth: Auth = Depends(clerk_auth.auth),  # noqa: B008
    ) -> dict[str, str | None]:
        return {"user_id": auth.user_id, "session_status": auth.session_status}

    return app


async def test_repeated_bearer_token_gets_the_answer_of_the_first_time(
    clerk_api: StubServer,
) -> None:
    # A token seen before is answered from the signature cache by the raw Authorization
    # header; each answer below is what the first request got, request after request.
    clock = [time.time()]
    clerk_auth = ClerkAuth(
        secret_key=SECRET, jwt_key=PUBLIC_PEM, authorized_parties=[PARTY], now=lambda: clock[0]
    )
    signed_in = mint(exp=int(clock[0]) + 30)
    pending = mint(sts="pending")
    member = org_token(org_permissions=["org:x"])
    hits_before = _verify._signatures.hits
    async with uvicorn_server(_answers_app(clerk_auth)) as url:
        for _ in range(3):
            status, body, _ = await call(url + "/me", signed_in)
            assert (status, body) == (200, {"user_id": "user_1", "token_type": "session_token"})
            assert (await call(url + "/whoever", signed_in))[1]["user_id"] == "user_1"
            # A pending session stays signed out, though its token is cached.
            status, body, _ = await call(url + "/me", pending)
            assert (status, body["detail"]["reason"]) == (401, "session_pending")
            assert (await call(url + "/whoever", pending))[1] == {
                "user_id": None,
                "session_status": "pending",
            }
            # Verified but without the permission: 403 every time.
            assert (await call(url + "/invoices", member))[0] == 403
            assert (await call(url + "/me", member))[0] == 200
        assert _verify._signatures.hits > hits_before  # the repeats were recalled
        # Time is checked on every request: past its exp, the cached token is refused.
        clock[0] += 60
        status, body, _ = await call(url + "/me", signed_in)
        assert (status, body["detail"]["reason"]) == (401, "expired")
        assert (await call(url + "/whoever", signed_in))[1]["user_id"] is None


async def test_a_token_cached_for_one_app_is_checked_by_the_rules_of_another(
    clerk_api: StubServer,
) -> None:
    token = mint()
    first = ClerkAuth(secret_key=SECRET, jwt_key=PUBLIC_PEM, authorized_parties=[PARTY])
    elsewhere = ClerkAuth(
        secret_key=SECRET, jwt_key=PUBLIC_PEM, authorized_parties=["https://other.example"]
    )
    other_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    rotated = ClerkAuth(secret_key=SECRET, jwt_key=other_key, authorized_parties=[PARTY])
    sessions_only = ClerkAuth(
        secret_key=SECRET, jwt_key=PUBLIC_PEM, authorized_parties=[PARTY], accepts_token="api_key"
    )
    # A pending session, let in by an app that allows pending sessions.
    pending = mint(sts="pending")
    lenient = ClerkAuth(
        secret_key=SECRET,
        jwt_key=PUBLIC_PEM,
        authorized_parties=[PARTY],
        treat_pending_as_signed_out=False,
    )
    for clerk_auth, sent in ((first, token), (lenient, pending)):
        async with uvicorn_server(create_app(clerk_auth)) as url:
            for _ in range(2):
                assert (await call(url + "/me", sent))[0] == 200
    expected = [
        (elsewhere, token, "unauthorized_party"),
        (rotated, token, "invalid_signature"),
        (sessions_only, token, "token_type_not_accepted"),
        (first, pending, "session_pending"),
    ]
    for clerk_auth, sent, reason in expected:
        async with uvicorn_server(create_app(clerk_auth)) as url:
            for _ in range(2):
                status, body, _ = await call(url + "/me", sent)
                assert (status, body["detail"]["reason"]) == (401, reason)


async def test_other_forms_of_the_header_go_the_whole_way(clerk_api: StubServer) -> None:
    clerk_auth = ClerkAuth(secret_key=SECRET, jwt_key=PUBLIC_PEM, authorized_parties=[PARTY])
    token = mint()
    async with uvicorn_server(create_app(clerk_auth)) as url:
        assert (await call(url + "/me", token))[0] == 200
        for value in (f"bearer {token}", f"Bearer  {token} ", token, f"BEARER {token}"):
            assert (await call(url + "/me", Authorization=value))[0] == 200, value
        for value in (f"Basic {token}", f"Bearer {token}x", "Bearer ", "Bearer " + "a" * 20000):
            assert (await call(url + "/me", Authorization=value))[0] == 401, value
