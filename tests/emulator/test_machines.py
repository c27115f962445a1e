"""Machines and M2M tokens, through our SDK and aiohttp against the emulator."""

from __future__ import annotations

from typing import Any

import aiohttp
import jwt
import pytest

from clerk_async import Clerk, errors
from clerk_async.auth import (
    TokenVerificationError,
    TokenVerificationErrorReason,
    authenticate_request,
    verify_machine_token,
)
from clerk_async.emulator import Emulator

R = TokenVerificationErrorReason


async def call(
    emu: Emulator, method: str, path: str, key: str, body: Any = None
) -> tuple[int, Any]:
    """A raw request with ``key`` as the bearer credential: (status, JSON answer)."""
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session,
        session.request(method, emu.url + "/v1" + path, json=body) as resp,
    ):
        return resp.status, await resp.json()


async def test_machines_scopes_and_secret_keys() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        api = await clerk.machines.create(name="api", default_token_ttl=120)
        worker = await clerk.machines.create(name="worker", scoped_machines=[api.id or ""])
        assert (api.id or "").startswith("mch_") and api.id != worker.id
        assert api.default_token_ttl == 120 and worker.default_token_ttl == 3600
        assert [m.id for m in worker.scoped_machines or []] == [api.id]
        key = worker.secret_key or ""
        assert key.startswith("ak_")
        # The key shows at creation and from its endpoint, nowhere else.
        status, fetched = await call(emu, "GET", f"/machines/{worker.id}", emu.secret_key)
        assert status == 200 and fetched["id"] == worker.id
        assert "secret_key" not in fetched and key not in str(fetched)
        status, listed = await call(emu, "GET", "/machines?order_by=name", emu.secret_key)
        assert status == 200 and listed["total_count"] == 2
        assert [m["name"] for m in listed["data"]] == ["api", "worker"]
        assert all("secret_key" not in m for m in listed["data"])
        status, found = await call(emu, "GET", "/machines?query=WORK", emu.secret_key)
        assert [m["id"] for m in found["data"]] == [worker.id]
        status, newest = await call(emu, "GET", "/machines?limit=1", emu.secret_key)
        assert [m["id"] for m in newest["data"]] == [worker.id] and newest["total_count"] == 2
        assert (await clerk.machines.get_secret_key(worker.id or "")).secret == key

        updated = await clerk.machines.update(api.id or "", name="api-v2", default_token_ttl=60)
        assert updated.name == "api-v2" and updated.default_token_ttl == 60
        again = await clerk.machines.get(worker.id or "")
        assert [m.name for m in again.scoped_machines or []] == ["api-v2"]

        # Scopes: add, refuse a duplicate, an unknown machine and itself, remove.
        third = await clerk.machines.create(name="third")
        scope = await clerk.machines.create_scope(worker.id or "", to_machine_id=third.id or "")
        assert scope.from_machine_id == worker.id and scope.to_machine_id == third.id
        with pytest.raises(errors.ConflictError):
            await clerk.machines.create_scope(worker.id or "", to_machine_id=third.id or "")
        with pytest.raises(errors.NotFoundError) as missing:
            await clerk.machines.create_scope(worker.id or "", to_machine_id="mch_missing")
        assert missing.value.errors[0].meta.get("param_name") == "to_machine_id"
        with pytest.raises(errors.UnprocessableEntityError):
            await clerk.machines.create_scope(worker.id or "", to_machine_id=worker.id or "")
        removed = await clerk.machines.delete_scope(worker.id or "", third.id or "")
        assert removed.deleted is True
        with pytest.raises(errors.NotFoundError):
            await clerk.machines.delete_scope(worker.id or "", third.id or "")
        with pytest.raises(errors.UnprocessableEntityError) as unknown:
            await clerk.machines.create(name="x", scoped_machines=["mch_nobody"])
        assert unknown.value.errors[0].meta.get("param_name") == "scoped_machines"
        with pytest.raises(errors.UnprocessableEntityError):
            await clerk.machines.create(name="")

        # Deleting a machine removes it from the scopes of others.
        gone = await clerk.machines.delete(api.id or "")
        assert gone.deleted is True and gone.id == api.id
        assert (await clerk.machines.get(worker.id or "")).scoped_machines == []
        with pytest.raises(errors.NotFoundError):
            await clerk.machines.get(api.id or "")


async def test_m2m_token_lifecycle_end_to_end() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        target = await clerk.machines.create(name="target")
        caller = await clerk.machines.create(
            name="caller", scoped_machines=[target.id or ""], default_token_ttl=600
        )
        target_key = (await clerk.machines.get_secret_key(target.id or "")).secret or ""
        # Our client takes a machine secret key as its credential for these operations.
        async with Clerk(secret_key=caller.secret_key, api_url=emu.url) as machine:
            made = await machine.m2m.create_token(claims={"job": "sync"})
            assert (made.id or "").startswith("mt_") and (made.token or "").startswith("mt_")
            assert made.subject == caller.id and made.scopes == [target.id]
            assert made.expiration == (made.created_at or 0) + 600_000
            token = made.token or ""

            # Verified by Clerk: through our helper, and authenticate_request.
            auth = await verify_machine_token(token, clerk=clerk)
            assert auth.machine_id == caller.id and auth.scopes == (target.id,)
            assert dict(auth.claims or {}) == {"job": "sync"}
            state = await authenticate_request(
                headers={"Authorization": f"Bearer {token}"}, clerk=clerk, accepts_token="m2m_token"
            )
            assert state.is_signed_in and state.to_auth().machine_id == caller.id
            # The target machine may verify it (its scopes name it); the caller may not.
            async with Clerk(secret_key=target_key, api_url=emu.url) as as_target:
                assert (await verify_machine_token(token, clerk=as_target)).id == made.id
            with pytest.raises(TokenVerificationError) as foreign:
                await verify_machine_token(token, clerk=machine)
            assert foreign.value.reason is R.INVALID_TOKEN

            # The instance's key cannot make tokens; a machine key works nowhere else.
            with pytest.raises(errors.AuthenticationError):
                await clerk.m2m.create_token()
            with pytest.raises(errors.AuthenticationError):
                await machine.users.list()

            # Expiry follows the test clock.
            short = await machine.m2m.create_token(seconds_until_expiration=30)
            assert short.expiration == (short.created_at or 0) + 30_000
            emu.clock.advance(31)
            with pytest.raises(TokenVerificationError) as expired:
                await verify_machine_token(short.token or "", clerk=clerk)
            assert expired.value.reason is R.INVALID_TOKEN
            assert (await verify_machine_token(token, clerk=clerk)).id == made.id

            # Listing: live tokens by default, revoked and expired when asked.
            page = await machine.m2m.list_tokens(subject=caller.id or "")
            assert [t.id for t in page.data] == [made.id]
            everything = await clerk.m2m.list_tokens(subject=caller.id or "", expired=True)
            assert [t.id for t in everything.data] == [short.id, made.id]
            with pytest.raises(errors.PermissionDeniedError):
                await machine.m2m.list_tokens(subject=target.id or "")

            # Revoked: refused from then on, listed only when asked.
            revoked = await machine.m2m.revoke_token(made.id or "", revocation_reason="done")
            assert revoked.revoked is True and revoked.revocation_reason == "done"
            with pytest.raises(TokenVerificationError):
                await verify_machine_token(token, clerk=clerk)
            state = await authenticate_request(
                headers={"Authorization": f"Bearer {token}"}, clerk=clerk, accepts_token="m2m_token"
            )
            assert not state.is_signed_in
            assert (await machine.m2m.list_tokens(subject=caller.id or "")).data == []
            listed = await clerk.m2m.list_tokens(subject=caller.id or "", revoked=True)
            assert [t.id for t in listed.data] == [made.id]
            # A machine revokes only its own tokens.
            async with Clerk(secret_key=target_key, api_url=emu.url) as as_target:
                with pytest.raises(errors.NotFoundError):
                    await as_target.m2m.revoke_token(made.id or "")

        # Rotation: the old key keeps working for the grace period, then stops.
        old_key = caller.secret_key or ""
        rotated = await clerk.machines.rotate_secret_key(caller.id or "", previous_token_ttl=60)
        new_key = rotated.secret or ""
        assert new_key.startswith("ak_") and new_key != old_key
        status, _ = await call(emu, "POST", "/m2m_tokens", old_key, {})
        assert status == 201
        emu.clock.advance(61)
        status, refused = await call(emu, "POST", "/m2m_tokens", old_key, {})
        assert status == 401 and refused["errors"][0]["code"] == "authentication_invalid"
        status, fresh = await call(emu, "POST", "/m2m_tokens", new_key, {})
        assert status == 201
        assert (await verify_machine_token(fresh["token"], clerk=clerk)).id == fresh["id"]
        await clerk.machines.rotate_secret_key(caller.id or "", previous_token_ttl=0)
        status, _ = await call(emu, "POST", "/m2m_tokens", new_key, {})
        assert status == 401

        # Deleting the machine drops its keys and its tokens.
        current = (await clerk.machines.get_secret_key(caller.id or "")).secret or ""
        await clerk.machines.delete(caller.id or "")
        with pytest.raises(TokenVerificationError):
            await verify_machine_token(fresh["token"], clerk=clerk)
        status, _ = await call(emu, "POST", "/m2m_tokens", current, {})
        assert status == 401


async def test_jwt_format_tokens_verify_without_a_request() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        target = await clerk.machines.create(name="target")
        caller = await clerk.machines.create(name="caller", scoped_machines=[target.id or ""])
        async with Clerk(secret_key=caller.secret_key, api_url=emu.url) as machine:
            made = await machine.m2m.create_token(
                token_format="jwt", seconds_until_expiration=120, claims={"tier": "gold"}
            )
        token = made.token or ""
        header = jwt.get_unverified_header(token)
        assert header["cat"] == "cl_B7d4PD333AAA" and token.count(".") == 2
        before = emu.request_count
        auth = await verify_machine_token(token, jwt_key=emu.jwt_public_key_pem, now=emu.clock.now)
        assert emu.request_count == before  # checked here, not by the emulator
        assert auth.id == made.id and auth.machine_id == caller.id
        assert auth.scopes == (target.id,) and dict(auth.claims or {}) == {"tier": "gold"}
        # The verify endpoint takes a JWT-format token too; it is never listed.
        checked = await clerk.m2m.verify_token(token=token)
        assert checked.id == made.id and checked.subject == caller.id
        assert (await clerk.m2m.list_tokens(subject=caller.id or "")).data == []
        with pytest.raises(errors.NotFoundError):
            await clerk.m2m.revoke_token(made.id or "")
        emu.clock.advance(125)
        with pytest.raises(TokenVerificationError) as expired:
            await verify_machine_token(token, jwt_key=emu.jwt_public_key_pem, now=emu.clock.now)
        assert expired.value.reason is R.EXPIRED
        with pytest.raises(errors.NotFoundError):
            await clerk.m2m.verify_token(token=token)


async def test_token_reuse_and_bad_input() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        caller = await clerk.machines.create(name="caller", default_token_ttl=300)
        async with Clerk(secret_key=caller.secret_key, api_url=emu.url) as machine:
            first = await machine.m2m.create_token(min_remaining_ttl_seconds=100)
            again = await machine.m2m.create_token(min_remaining_ttl_seconds=100)
            assert again.id == first.id and again.token == first.token
            emu.clock.advance(250)  # 50 s left: less than asked, so a new one
            third = await machine.m2m.create_token(min_remaining_ttl_seconds=100)
            assert third.id != first.id
            with pytest.raises(errors.BadRequestError) as too_long:
                await machine.m2m.create_token(min_remaining_ttl_seconds=300)
            assert too_long.value.errors[0].meta.get("param_name") == "min_remaining_ttl_seconds"
            with pytest.raises(errors.UnprocessableEntityError):
                await machine.m2m.create_token(token_format="paper")
        with pytest.raises(errors.NotFoundError):
            await clerk.m2m.verify_token(token="mt_" + "0" * 32)
        with pytest.raises(errors.NotFoundError) as unknown:
            await clerk.m2m.list_tokens(subject="mch_" + "x" * 27)
        assert unknown.value.errors[0].meta.get("param_name") == "subject"
        status, body = await call(emu, "GET", "/m2m_tokens", emu.secret_key)
        assert status == 422 and body["errors"][0]["meta"]["param_name"] == "subject"
        status, body = await call(emu, "POST", "/m2m_tokens/verify", "ak_" + "1" * 32, {})
        assert status == 401


async def test_token_operations_are_served_unversioned_too() -> None:
    # Clerk's JS SDK calls /m2m_tokens without /v1; a key is asked for there as well.
    async with Emulator() as emu, emu.client() as clerk:
        machine = await clerk.machines.create(name="caller")
        async with aiohttp.ClientSession() as session:
            async with session.post(emu.url + "/m2m_tokens", json={}) as resp:
                assert resp.status == 401
            headers = {"Authorization": f"Bearer {machine.secret_key}"}
            async with session.post(emu.url + "/m2m_tokens", json={}, headers=headers) as resp:
                assert resp.status == 201
                made = await resp.json()
            async with session.get(
                emu.url + "/m2m_tokens", params={"subject": machine.id or ""}, headers=headers
            ) as resp:
                assert resp.status == 200
                assert [t["id"] for t in (await resp.json())["m2m_tokens"]] == [made["id"]]
            # A machine key opens nothing else, unversioned or not.
            async with session.get(emu.url + "/v1/users", headers=headers) as resp:
                assert resp.status == 401
        assert (await verify_machine_token(made["token"], clerk=clerk)).id == made["id"]


async def test_a_frozen_clock_decides_expiry_to_the_millisecond() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        emu.clock.freeze()
        machine = await clerk.machines.create(name="caller", default_token_ttl=10)
        async with Clerk(secret_key=machine.secret_key, api_url=emu.url) as as_machine:
            made = await as_machine.m2m.create_token()
        for _ in range(3):  # a token is good for any number of verifications
            await verify_machine_token(made.token or "", clerk=clerk)
        left = (made.expiration or 0) - emu.clock.now_ms()
        assert 0 < left <= 10_000
        emu.clock.advance((left - 1) / 1000)
        assert (await verify_machine_token(made.token or "", clerk=clerk)).id == made.id
        emu.clock.advance(0.001)
        with pytest.raises(TokenVerificationError):
            await verify_machine_token(made.token or "", clerk=clerk)
