"""API keys through our SDK against the emulator: the secret shown once, listing,
updates, and verification refused after revoke, expiry and delete."""

from __future__ import annotations

import aiohttp
import pytest

from clerk_async import Clerk, errors
from clerk_async.auth import (
    TokenType,
    TokenVerificationError,
    TokenVerificationErrorReason,
    authenticate_request,
    verify_machine_token,
)
from clerk_async.emulator import Emulator


async def new_user(clerk: Clerk, email: str = "ada@example.com") -> str:
    user = await clerk.users.create(email_address=[email])
    assert user.id
    return user.id


async def refused(clerk: Clerk, secret: str) -> TokenVerificationErrorReason:
    with pytest.raises(TokenVerificationError) as caught:
        await verify_machine_token(secret, clerk=clerk)
    return caught.value.reason


async def test_secret_is_answered_once_and_by_the_secret_route() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        uid = await new_user(clerk)
        key = await clerk.api_keys.create(
            name="ci-key",
            subject=uid,
            description="for CI",
            scopes=["read", "write"],
            claims={"team": "infra"},
            created_by=uid,
        )
        secret = key.secret
        assert isinstance(secret, str) and secret.startswith("ak_")
        assert key.id and key.id.startswith("ak_") and key.id != secret
        assert key.scopes == ["read", "write"] and key.claims == {"team": "infra"}
        assert key.expiration is None and key.revoked is False and key.created_by == uid
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {emu.secret_key}"}
        ) as http:
            async with http.get(f"{emu.url}/v1/api_keys/{key.id}") as resp:
                assert "secret" not in await resp.json()
            async with http.get(f"{emu.url}/v1/api_keys", params={"subject": uid}) as resp:
                listed = await resp.json()
            assert listed["total_count"] == 1 and "secret" not in listed["data"][0]
        shown = await clerk.api_keys.get_secret(key.id)
        assert shown.secret == secret


async def test_list_filters_pages_and_hides_invalid_keys() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        uid = await new_user(clerk)
        other = await new_user(clerk, "grace@example.com")
        ids: list[str] = []
        for name in ("alpha", "beta", "gamma"):
            key = await clerk.api_keys.create(name=f"{name}-key", subject=uid)
            assert key.id
            ids.append(key.id)
        await clerk.api_keys.create(name="alpha-key", subject=other)
        page = await clerk.api_keys.list(subject=uid, limit=2)
        assert page.total_count == 3 and [k.id for k in page.data] == ids[::-1][:2]
        everything = [k.id async for k in clerk.api_keys.list(subject=uid)]
        assert everything == ids[::-1]  # newest first
        found = await clerk.api_keys.list(subject=uid, query="BET")
        assert [k.name for k in found.data] == ["beta-key"]
        await clerk.api_keys.revoke(ids[0], revocation_reason="leaked")
        assert (await clerk.api_keys.list(subject=uid)).total_count == 2
        with_invalid = await clerk.api_keys.list(subject=uid, include_invalid="true")
        assert with_invalid.total_count == 3
        revoked = next(k for k in with_invalid.data if k.id == ids[0])
        assert revoked.revoked is True and revoked.revocation_reason == "leaked"


async def test_create_refuses_unknown_subjects_and_duplicate_names() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        uid = await new_user(clerk)
        with pytest.raises(errors.BadRequestError) as caught:
            await clerk.api_keys.create(name="k-1", subject="user_" + "x" * 27)
        assert caught.value.errors[0].meta.get("param_name") == "subject"
        with pytest.raises(errors.ClerkAPIError) as bad_shape:
            await clerk.api_keys.create(name="k-1", subject="nobody")
        assert bad_shape.value.errors[0].meta.get("param_name") == "subject"
        await clerk.api_keys.create(name="k-1", subject=uid)
        with pytest.raises(errors.ConflictError):
            await clerk.api_keys.create(name="k-1", subject=uid)
        org = await clerk.organizations.create(name="Acme", created_by=uid)
        assert org.id
        org_key = await clerk.api_keys.create(name="k-1", subject=org.id)
        assert org_key.subject == org.id
        auth = await verify_machine_token(org_key.secret or "", clerk=clerk)
        assert auth.org_id == org.id and auth.user_id is None


async def test_update_changes_scopes_claims_description_and_expiry() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        emu.clock.freeze()
        uid = await new_user(clerk)
        key = await clerk.api_keys.create(name="svc", subject=uid, seconds_until_expiration=60)
        assert key.id and key.expiration is not None and key.created_at is not None
        assert key.expiration - key.created_at == pytest.approx(60_000, abs=5)
        updated = await clerk.api_keys.update(
            key.id,
            scopes=["admin"],
            claims={"tier": 2},
            description="rotated",
            seconds_until_expiration=3600,
        )
        assert updated.scopes == ["admin"] and updated.claims == {"tier": 2}
        assert updated.description == "rotated"
        assert updated.expiration is not None and updated.expiration > key.expiration + 3_000_000
        emu.clock.advance(120)  # past the first expiry, within the new one
        auth = await verify_machine_token(key.secret or "", clerk=clerk)
        assert auth.scopes == ("admin",) and auth.claims == {"tier": 2}
        never = await clerk.api_keys.update(key.id, seconds_until_expiration=None)
        assert never.expiration is None and never.expired is False


async def test_verification_lifecycle_through_our_sdk() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        uid = await new_user(clerk)
        key = await clerk.api_keys.create(name="live", subject=uid, scopes=["read"])
        secret = key.secret or ""
        machine = await verify_machine_token(secret, clerk=clerk)
        assert machine.token_type is TokenType.API_KEY
        assert machine.id == key.id and machine.user_id == uid and machine.name == "live"
        assert machine.scopes == ("read",)
        assert (await clerk.api_keys.get(key.id or "")).last_used_at is not None
        state = await authenticate_request(
            headers={"Authorization": f"Bearer {secret}"}, clerk=clerk, accepts_token="api_key"
        )
        assert state.is_signed_in and state.machine is not None and state.machine.id == key.id
        assert await refused(clerk, "ak_" + "0" * 32) is TokenVerificationErrorReason.INVALID_TOKEN

        await clerk.api_keys.revoke(key.id or "", revocation_reason="rotated")
        assert await refused(clerk, secret) is TokenVerificationErrorReason.INVALID_TOKEN
        state = await authenticate_request(
            headers={"Authorization": f"Bearer {secret}"}, clerk=clerk, accepts_token="api_key"
        )
        assert not state.is_signed_in
        with pytest.raises(errors.NotFoundError) as caught:
            await clerk.api_keys.verify(secret=secret)
        assert caught.value.errors[0].meta.get("param_name") == "secret"

        expiring = await clerk.api_keys.create(
            name="short", subject=uid, seconds_until_expiration=30
        )
        await verify_machine_token(expiring.secret or "", clerk=clerk)
        emu.clock.advance(31)
        assert await refused(clerk, expiring.secret or "") is (
            TokenVerificationErrorReason.INVALID_TOKEN
        )
        assert (await clerk.api_keys.get(expiring.id or "")).expired is True
        assert (await clerk.api_keys.list(subject=uid)).total_count == 0

        doomed = await clerk.api_keys.create(name="doomed", subject=uid)
        await verify_machine_token(doomed.secret or "", clerk=clerk)
        deleted = await clerk.api_keys.delete(doomed.id or "")
        assert deleted.deleted is True and deleted.id == doomed.id
        assert await refused(clerk, doomed.secret or "") is (
            TokenVerificationErrorReason.INVALID_TOKEN
        )
        with pytest.raises(errors.NotFoundError):
            await clerk.api_keys.get(doomed.id or "")


async def test_served_without_the_version_prefix_as_clerks_js_sdk_calls_it() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        uid = await new_user(clerk)
        key = await clerk.api_keys.create(name="bare", subject=uid)
        async with aiohttp.ClientSession() as http:
            body = {"secret": key.secret}
            async with http.post(f"{emu.url}/api_keys/verify", json=body) as resp:
                assert resp.status == 401  # the secret key is required here too
            auth = {"Authorization": f"Bearer {emu.secret_key}"}
            async with http.post(f"{emu.url}/api_keys/verify", json=body, headers=auth) as resp:
                assert resp.status == 200 and (await resp.json())["id"] == key.id
            async with http.get(f"{emu.url}/api_keys/{key.id}", headers=auth) as resp:
                assert resp.status == 200 and "secret" not in await resp.json()
            verify = f"{emu.url}/oauth_applications/access_tokens/verify"
            async with http.post(verify, json={"access_token": "oat_x"}, headers=auth) as resp:
                assert resp.status == 404
            async with http.get(f"{emu.url}/users", headers=auth) as resp:
                assert resp.status == 404  # other operations are under /v1 only


async def test_keys_of_a_deleted_user_or_organization_stop_verifying() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        uid = await new_user(clerk)
        owner = await new_user(clerk, "grace@example.com")
        org = await clerk.organizations.create(name="Acme", created_by=owner)
        assert org.id
        user_key = await clerk.api_keys.create(name="mine", subject=uid)
        org_key = await clerk.api_keys.create(name="ours", subject=org.id)
        await verify_machine_token(user_key.secret or "", clerk=clerk)
        await clerk.users.delete(uid)
        assert await refused(clerk, user_key.secret or "") is (
            TokenVerificationErrorReason.INVALID_TOKEN
        )
        await verify_machine_token(org_key.secret or "", clerk=clerk)
        await clerk.organizations.delete(org.id)
        assert await refused(clerk, org_key.secret or "") is (
            TokenVerificationErrorReason.INVALID_TOKEN
        )
