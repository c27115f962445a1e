"""Sign-in, actor and testing tokens, and redeeming tickets, through our SDK."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from yarl import URL

from clerk_async import Clerk, errors
from clerk_async.auth import verify_token
from clerk_async.emulator import ApiError, Emulator


def param_of(exc: errors.ClerkAPIError) -> Any:
    return exc.errors[0].meta.get("param_name")


async def new_user(clerk: Clerk, name: str) -> str:
    user = await clerk.users.create(email_address=[f"{name}@example.com"])
    assert isinstance(user.id, str)
    return user.id


async def test_sign_in_token_create_and_revoke(clerk_emulator: Emulator) -> None:
    emu = clerk_emulator
    async with emu.client() as clerk:
        uid = await new_user(clerk, "ada")
        token = await clerk.sign_in_tokens.create(user_id=uid)
        assert token.status == "pending" and token.user_id == uid
        assert isinstance(token.token, str) and token.token
        url = URL(str(token.url))
        assert url.query["__clerk_ticket"] == token.token
        assert str(url.origin()) == emu.url
        revoked = await clerk.sign_in_tokens.revoke(str(token.id))
        assert revoked.status == "revoked"
        assert isinstance(revoked.updated_at, int) and isinstance(token.updated_at, int)
        assert revoked.updated_at > token.updated_at
        # Only a pending token can be revoked.
        with pytest.raises(errors.BadRequestError) as again:
            await clerk.sign_in_tokens.revoke(str(token.id))
        assert again.value.code == "sign_in_token_cannot_be_revoked"
        with pytest.raises(errors.NotFoundError):
            await clerk.sign_in_tokens.revoke("sit_missing")


async def test_sign_in_token_needs_an_existing_user(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        with pytest.raises(errors.NotFoundError) as missing:
            await clerk.sign_in_tokens.create(user_id="user_missing")
        assert param_of(missing.value) == "user_id"
        uid = await new_user(clerk, "grace")
        with pytest.raises(errors.UnprocessableEntityError) as short:
            await clerk.sign_in_tokens.create(user_id=uid, expires_in_seconds=0)
        assert param_of(short.value) == "expires_in_seconds"
        org = await clerk.organizations.create(
            name="Elsewhere", created_by=await new_user(clerk, "o")
        )
        with pytest.raises(errors.UnprocessableEntityError) as outsider:
            await clerk.sign_in_tokens.create(user_id=uid, org_id=str(org.id))
        assert param_of(outsider.value) == "org_id"


async def test_sign_in_ticket_signs_in_once(clerk_emulator: Emulator) -> None:
    emu = clerk_emulator
    async with emu.client() as clerk:
        uid = await new_user(clerk, "alan")
        token = await clerk.sign_in_tokens.create(user_id=uid)
        assert list(await clerk.sessions.list(user_id=uid)) == []
        session_token = emu.accept_ticket(str(token.token))
        claims = await verify_token(
            session_token, jwt_key=emu.jwt_public_key_pem, now=emu.clock.now
        )
        assert claims.user_id == uid and claims.act is None
        sessions = list(await clerk.sessions.list(user_id=uid))
        assert [s.id for s in sessions] == [claims.session_id]
        assert sessions[0].status == "active"
        # accepted now: neither redeemed again nor revoked
        with pytest.raises(ApiError) as reused:
            emu.accept_ticket(str(token.token))
        assert reused.value.code == "ticket_invalid"
        with pytest.raises(errors.BadRequestError):
            await clerk.sign_in_tokens.revoke(str(token.id))
        # a revoked token's ticket is refused; a pending one's works
        other = await clerk.sign_in_tokens.create(user_id=uid)
        await clerk.sign_in_tokens.revoke(str(other.id))
        with pytest.raises(ApiError) as revoked:
            emu.accept_ticket(str(other.token))
        assert revoked.value.code == "ticket_invalid"
        with pytest.raises(ApiError) as forged:
            emu.accept_ticket("not-a-ticket")
        assert forged.value.code == "ticket_invalid"


async def test_sign_in_ticket_expires_on_the_clock(clerk_emulator: Emulator) -> None:
    emu = clerk_emulator
    async with emu.client() as clerk:
        uid = await new_user(clerk, "edsger")
        short = await clerk.sign_in_tokens.create(user_id=uid, expires_in_seconds=60)
        default = await clerk.sign_in_tokens.create(user_id=uid)
        emu.clock.advance(61)
        with pytest.raises(ApiError) as expired:
            emu.accept_ticket(str(short.token))
        assert expired.value.code == "ticket_expired"
        emu.accept_ticket(str(default.token))  # 30 days by default
        late = await clerk.sign_in_tokens.create(user_id=uid)
        emu.clock.advance(30 * 86_400 + 1)
        with pytest.raises(ApiError):
            emu.accept_ticket(str(late.token))


async def test_sign_in_token_activates_its_organization(clerk_emulator: Emulator) -> None:
    emu = clerk_emulator
    async with emu.client() as clerk:
        uid = await new_user(clerk, "barbara")
        org = await clerk.organizations.create(name="Acme", created_by=uid)
        token = await clerk.sign_in_tokens.create(user_id=uid, org_id=str(org.id))
        claims = await verify_token(
            emu.accept_ticket(str(token.token)), jwt_key=emu.jwt_public_key_pem, now=emu.clock.now
        )
        assert claims.org_id == org.id


async def test_browser_follows_the_sign_in_url(clerk_emulator: Emulator) -> None:
    emu = clerk_emulator
    async with emu.client() as clerk, aiohttp.ClientSession() as browser:
        uid = await new_user(clerk, "donald")
        token = await clerk.sign_in_tokens.create(user_id=uid)
        back = "http://localhost:3000/dashboard"
        url = URL(str(token.url)).update_query(redirect_url=back)
        async with browser.get(url, allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"] == back
            cookies = {name: morsel.value for name, morsel in resp.cookies.items()}
        claims = await verify_token(
            cookies["__session"], jwt_key=emu.jwt_public_key_pem, now=emu.clock.now,
            authorized_parties=["http://localhost:3000"],
        )  # fmt: skip
        assert claims.user_id == uid
        # The browser is signed in: the handshake knows its __client cookie.
        handshake = URL(emu.url + "/v1/client/handshake").with_query(redirect_url=back)
        headers = {"Cookie": f"__client={cookies['__client']}"}
        async with browser.get(handshake, headers=headers, allow_redirects=False) as resp:
            assert resp.status == 307
        # The URL signs in once.
        async with browser.get(url, allow_redirects=False) as resp:
            assert resp.status == 400
            body = await resp.json()
        assert body["errors"][0]["code"] == "ticket_invalid"
        async with browser.get(emu.url + "/v1/tickets/accept") as resp:
            assert resp.status == 422
            assert (await resp.json())["errors"][0]["meta"]["param_name"] == "ticket"


async def test_actor_token_impersonates(clerk_emulator: Emulator) -> None:
    emu = clerk_emulator
    async with emu.client() as clerk:
        uid = await new_user(clerk, "frances")
        admin = await new_user(clerk, "admin")
        actor = {"sub": admin, "reason": "support"}
        token = await clerk.actor_tokens.create(
            user_id=uid, actor=actor, session_max_duration_in_seconds=600
        )
        assert token.status == "pending" and token.user_id == uid
        assert token.actor == actor
        assert URL(str(token.url)).query["ticket"] == token.token
        session_token = emu.accept_ticket(str(token.token))
        claims = await verify_token(
            session_token, jwt_key=emu.jwt_public_key_pem, now=emu.clock.now
        )
        assert claims.user_id == uid and claims.act == actor
        session = await clerk.sessions.get(str(claims.session_id))
        assert session.actor == actor
        assert isinstance(session.expire_at, int) and isinstance(session.created_at, int)
        assert session.expire_at - session.created_at == 600_000
        # later tokens of the session carry the actor too
        again = await clerk.sessions.create_token(str(claims.session_id))
        later = await verify_token(
            str(again.jwt), jwt_key=emu.jwt_public_key_pem, now=emu.clock.now
        )
        assert later.act == actor
        # the session ends at its maximum duration
        emu.clock.advance(601)
        assert (await clerk.sessions.get(str(claims.session_id))).status == "expired"
        with pytest.raises(errors.BadRequestError) as revoke:
            await clerk.actor_tokens.revoke(str(token.id))
        assert revoke.value.code == "actor_token_cannot_be_revoked"


async def test_actor_token_rules(clerk_emulator: Emulator) -> None:
    emu = clerk_emulator
    async with emu.client() as clerk:
        uid = await new_user(clerk, "ken")
        with pytest.raises(errors.UnprocessableEntityError) as missing:
            await clerk.actor_tokens.create(user_id="user_missing", actor={"sub": uid})
        assert param_of(missing.value) == "user_id"
        with pytest.raises(errors.UnprocessableEntityError) as no_sub:
            await clerk.actor_tokens.create(user_id=uid, actor={"name": "x"})
        assert param_of(no_sub.value) == "actor.sub"
        token = await clerk.actor_tokens.create(user_id=uid, actor={"sub": "user_admin"})
        revoked = await clerk.actor_tokens.revoke(str(token.id))
        assert revoked.status == "revoked"
        with pytest.raises(ApiError):
            emu.accept_ticket(str(token.token))
        # one hour by default
        hour = await clerk.actor_tokens.create(user_id=uid, actor={"sub": "user_admin"})
        emu.clock.advance(3601)
        with pytest.raises(ApiError) as expired:
            emu.accept_ticket(str(hour.token))
        assert expired.value.code == "ticket_expired"
        # a sign-in token's revoke does not reach actor tokens
        fresh = await clerk.actor_tokens.create(user_id=uid, actor={"sub": "user_admin"})
        with pytest.raises(errors.NotFoundError):
            await clerk.sign_in_tokens.revoke(str(fresh.id))


async def test_testing_token_expires_on_the_clock(clerk_emulator: Emulator) -> None:
    emu = clerk_emulator
    async with emu.client() as clerk:
        first = await clerk.testing_tokens.create()
        emu.clock.advance(100)
        second = await clerk.testing_tokens.create()
    assert first.object == "testing_token" and first.token and first.token != second.token
    now = int(emu.clock.now())
    assert second.expires_at == now + 3600 or second.expires_at == now + 3599
    assert isinstance(first.expires_at, int) and isinstance(second.expires_at, int)
    assert second.expires_at - first.expires_at in (100, 101)


@pytest.mark.clerk_emulator(webhooks=["http://127.0.0.1:9/hooks"], webhook_retry_delays=())
async def test_redeeming_a_ticket_announces_the_session(clerk_emulator: Emulator) -> None:
    emu = clerk_emulator
    async with emu.client() as clerk:
        uid = await new_user(clerk, "radia")
        token = await clerk.sign_in_tokens.create(user_id=uid)
        before = [d.type for d in emu.webhook_deliveries]
        assert "session.created" not in before
        claims = await verify_token(
            emu.accept_ticket(str(token.token)), jwt_key=emu.jwt_public_key_pem, now=emu.clock.now
        )
    created = [d for d in emu.webhook_deliveries if d.type == "session.created"]
    assert [d.resource for d in created] == [claims.session_id]
