"""What the emulator sends where the spec is particular: organizations' ``created_by`` and
member counts, the ``azp`` of the session tokens it mints over HTTP, and the
``{data, total_count}`` envelope of bare-array lists asked for with ``paginated=true``
(read by our paginator)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from yarl import URL

from clerk_async import Clerk
from clerk_async.auth import TokenVerificationError, TokenVerificationErrorReason, verify_token
from clerk_async.emulator import Emulator

from ..conftest import FAST_RETRIES

APP = "http://localhost:3000"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(seed_users=3, authorized_party=APP) as emulator:
        yield emulator


@pytest.fixture
async def clerk(emu: Emulator) -> AsyncIterator[Clerk]:
    async with emu.client(retries=FAST_RETRIES) as client:
        yield client


async def raw_get(emu: Emulator, path: str, **headers: str) -> Any:
    headers["Authorization"] = f"Bearer {emu.secret_key}"
    async with (
        aiohttp.ClientSession() as session,
        session.get(emu.url + "/v1" + path, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json()


def first_user(emu: Emulator) -> str:
    return next(iter(emu.store.users))


async def test_created_by_is_absent_not_null_and_counts_only_when_asked(
    emu: Emulator, clerk: Clerk
) -> None:
    orphan = await clerk.organizations.create(name="Nobody's")
    owned = await clerk.organizations.create(name="Someone's", created_by=first_user(emu))
    plain = await raw_get(emu, f"/organizations/{orphan.id}")
    assert "created_by" not in plain  # the spec types it as a string, never null
    for key in ("members_count", "pending_invitations_count"):
        assert key not in plain
    counted = await raw_get(emu, f"/organizations/{owned.id}?include_members_count=true")
    assert counted["created_by"] == first_user(emu)
    assert (counted["members_count"], counted["pending_invitations_count"]) == (1, 0)
    listed = await raw_get(emu, "/organizations?include_members_count=true")
    assert sorted(o["members_count"] for o in listed["data"]) == [0, 1]
    assert all("members_count" not in o for o in (await raw_get(emu, "/organizations"))["data"])
    memberships = await raw_get(emu, f"/organizations/{owned.id}/memberships")
    assert "members_count" not in memberships["data"][0]["organization"]
    flagged = await raw_get(
        emu, f"/organizations/{orphan.id}?include_missing_member_with_elevated_permissions=true"
    )
    assert flagged["missing_member_with_elevated_permissions"] is True


async def verified_party(emu: Emulator, token: str, parties: list[str]) -> str | None:
    claims = await verify_token(token, jwt_key=emu.jwt_public_key_pem, authorized_parties=parties)
    return claims.azp


async def test_tokens_minted_over_http_carry_the_configured_party(
    emu: Emulator, clerk: Clerk
) -> None:
    session = await clerk.sessions.create(user_id=first_user(emu))
    token = (await clerk.sessions.create_token(session.id or "")).jwt or ""
    assert await verified_party(emu, token, [APP]) == APP
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(
            token, jwt_key=emu.jwt_public_key_pem, authorized_parties=["https://evil.example"]
        )
    assert info.value.reason is TokenVerificationErrorReason.UNAUTHORIZED_PARTY
    # The in-process helper takes the same default, and an explicit azp still wins.
    minted = emu.mint_session_token(first_user(emu))
    assert await verified_party(emu, minted, [APP]) == APP
    other = emu.mint_session_token(first_user(emu), azp="https://other.example")
    assert await verified_party(emu, other, ["https://other.example"]) == "https://other.example"


async def test_a_session_created_with_an_origin_mints_tokens_for_it(emu: Emulator) -> None:
    headers = {"Authorization": f"Bearer {emu.secret_key}", "Origin": "https://shop.example"}
    async with aiohttp.ClientSession(headers=headers) as http:
        url = emu.url + "/v1/sessions"
        async with http.post(url, json={"user_id": first_user(emu)}) as resp:
            session = await resp.json()
        async with http.post(f"{url}/{session['id']}/tokens", json={}) as resp:
            token = (await resp.json())["jwt"]
    assert await verified_party(emu, token, ["https://shop.example"]) == "https://shop.example"
    with pytest.raises(TokenVerificationError):
        await verify_token(token, jwt_key=emu.jwt_public_key_pem, authorized_parties=[APP])


async def test_the_default_party_is_the_emulator_itself() -> None:
    async with Emulator(seed_users=1) as emu, emu.client(retries=FAST_RETRIES) as clerk:
        session = await clerk.sessions.create(user_id=first_user(emu))
        token = (await clerk.sessions.create_token(session.id or "")).jwt or ""
        assert await verified_party(emu, token, [emu.url]) == emu.url


async def test_the_handshake_mints_for_the_app_it_returns_to(emu: Emulator) -> None:
    cookies = emu.browser_cookies(first_user(emu), expired=True)
    page = "http://app.test:8000/dashboard?tab=1"
    url = URL(emu.url + "/v1/client/handshake").with_query(redirect_url=page, format="token")
    async with (
        aiohttp.ClientSession(cookies=cookies) as http,
        http.get(url, allow_redirects=False) as resp,
    ):
        assert resp.status == 307
        back = URL(resp.headers["Location"])
    handshake = jwt.decode(
        back.query["__clerk_handshake"], emu.jwt_public_key_pem, algorithms=["RS256"]
    )
    (session_cookie,) = [d for d in handshake["handshake"] if d.startswith("__session=")]
    token = session_cookie.split(";", 1)[0].removeprefix("__session=")
    assert await verified_party(emu, token, ["http://app.test:8000"]) == "http://app.test:8000"


async def test_paginated_true_walks_bare_array_lists(emu: Emulator, clerk: Clerk) -> None:
    user = first_user(emu)
    for _ in range(5):
        await clerk.sessions.create(user_id=user)
    for i in range(5):
        await clerk.invitations.create(email_address=f"guest{i}@example.com")
        await clerk.allowlist_identifiers.create(identifier=f"allowed{i}@example.com")
    page = await clerk.sessions.list(user_id=user, paginated=True, limit=2)
    assert (len(page.data), page.total_count) == (2, 5)
    walks = {
        "sessions": [
            s.id async for s in clerk.sessions.list(user_id=user, paginated=True, limit=2)
        ],
        "invitations": [i.id async for i in clerk.invitations.list(paginated=True, limit=2)],
        "allowlist": [
            a.id async for a in clerk.allowlist_identifiers.list(paginated=True, limit=2)
        ],
    }
    with pytest.warns(DeprecationWarning, match="GET /clients"):
        clients = clerk.clients.list(paginated=True, limit=2)
    walks["clients"] = [c.id async for c in clients]  # one client per session
    assert {name: len(set(ids)) for name, ids in walks.items()} == dict.fromkeys(walks, 5)
    # Without the flag the same lists are bare arrays, walked the same way.
    plain = [s.id async for s in clerk.sessions.list(user_id=user, limit=2)]
    assert plain == walks["sessions"]
    requests = len(emu.request_log)
    assert [s.id async for s in clerk.sessions.list(user_id=user, paginated=True, limit=2)]
    # total_count ends the walk: ceil(5 / 2) requests, no empty page after the last.
    assert len(emu.request_log) - requests == 3
