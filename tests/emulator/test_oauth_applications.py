"""OAuth applications and their opaque access tokens, through our SDK against the
emulator: client secrets shown at create and rotate only, and access tokens refused
after revoke, expiry and the application's deletion."""

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

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


async def new_user(clerk: Clerk, email: str = "ada@example.com") -> str:
    user = await clerk.users.create(email_address=[email])
    assert user.id
    return user.id


async def refused(clerk: Clerk, token: str) -> TokenVerificationErrorReason:
    with pytest.raises(TokenVerificationError) as caught:
        await verify_machine_token(token, clerk=clerk)
    return caught.value.reason


async def test_crud_secret_only_at_create_and_rotate() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        app = await clerk.oauth_applications.create(
            name="Dashboard", redirect_uris=["https://app.example/cb", "myapp://cb"]
        )
        assert app.id and app.client_id and app.client_secret
        assert app.scopes == "profile email" and app.public is False
        assert app.redirect_uris == ["https://app.example/cb", "myapp://cb"]
        assert app.callback_url == "https://app.example/cb"
        assert app.consent_screen_enabled is True and app.pkce_required is False
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.secret_key}"}) as http,
            http.get(f"{emu.url}/v1/oauth_applications/{app.id}") as resp,
        ):
            assert "client_secret" not in await resp.json()
        first = app.client_secret
        assert emu.api.oauth_apps.check_secret(app.client_id, first)
        rotated = await clerk.oauth_applications.rotate_secret(app.id)
        assert rotated.client_secret and rotated.client_secret != first
        assert not emu.api.oauth_apps.check_secret(app.client_id, first)
        assert emu.api.oauth_apps.check_secret(app.client_id, rotated.client_secret)

        updated = await clerk.oauth_applications.update(
            app.id, name="Renamed", scopes="profile email public_metadata", pkce_required=True
        )
        assert updated.name == "Renamed" and updated.pkce_required is True
        assert updated.scopes == "profile email public_metadata"
        assert updated.redirect_uris == app.redirect_uris  # untouched by a partial update

        public = await clerk.oauth_applications.create(name="SPA", public=True)
        assert public.client_secret == "" and public.public is True
        listed = await clerk.oauth_applications.list()
        assert listed.total_count == 2 and [a.name for a in listed.data] == ["SPA", "Renamed"]
        by_name = await clerk.oauth_applications.list(order_by="+name")
        assert [a.name for a in by_name.data] == ["Renamed", "SPA"]
        found = await clerk.oauth_applications.list(name_query=public.client_id or "")
        assert [a.id for a in found.data] == [public.id]

        logo = await clerk.oauth_applications.upload_logo(
            app.id, file=("logo.png", PNG, "image/png")
        )
        assert logo.client_image_url and app.id in logo.client_image_url
        with pytest.raises(errors.BadRequestError) as caught:
            await clerk.oauth_applications.upload_logo(
                app.id, file=("notes.txt", b"hello", "text/plain")
            )
        assert caught.value.errors[0].meta.get("param_name") == "file"

        with pytest.raises(errors.UnprocessableEntityError) as bad:
            await clerk.oauth_applications.create(name="Bad", redirect_uris=["not a url"])
        assert bad.value.errors[0].meta.get("param_name") == "redirect_uris"

        deleted = await clerk.oauth_applications.delete(public.id or "")
        assert deleted.deleted is True
        with pytest.raises(errors.NotFoundError):
            await clerk.oauth_applications.get(public.id or "")


async def test_access_token_lifecycle_through_our_sdk() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        uid = await new_user(clerk)
        other = await new_user(clerk, "grace@example.com")
        app = await clerk.oauth_applications.create(name="CLI", scopes="profile email")
        assert app.id and app.client_id
        token = emu.issue_oauth_token(app.id, uid, scopes=["profile"], expires_in=600)
        assert token.startswith("oat_")
        machine = await verify_machine_token(token, clerk=clerk)
        assert machine.token_type is TokenType.OAUTH_TOKEN
        assert machine.user_id == uid and machine.client_id == app.client_id
        assert machine.scopes == ("profile",) and machine.id.startswith("oat_")
        state = await authenticate_request(
            headers={"Authorization": f"Bearer {token}"}, clerk=clerk, accepts_token="oauth_token"
        )
        assert state.is_signed_in and state.machine is not None
        assert await refused(clerk, "oat_" + "x" * 32) is TokenVerificationErrorReason.INVALID_TOKEN

        # revoke_token revokes every token of the grant (application + user), not others'
        sibling = emu.issue_oauth_token(app.client_id, uid)
        bystander = emu.issue_oauth_token(app.id, other)
        await clerk.oauth_applications.revoke_token(app.id, token=token)
        assert await refused(clerk, token) is TokenVerificationErrorReason.INVALID_TOKEN
        assert await refused(clerk, sibling) is TokenVerificationErrorReason.INVALID_TOKEN
        assert (await verify_machine_token(bystander, clerk=clerk)).user_id == other
        state = await authenticate_request(
            headers={"Authorization": f"Bearer {token}"}, clerk=clerk, accepts_token="oauth_token"
        )
        assert not state.is_signed_in
        with pytest.raises(errors.NotFoundError):
            await clerk.oauth_applications.revoke_token(app.id, token="oat_unknown")

        short = emu.issue_oauth_token(app.id, uid, expires_in=30)
        await verify_machine_token(short, clerk=clerk)
        emu.clock.advance(31)
        assert await refused(clerk, short) is TokenVerificationErrorReason.INVALID_TOKEN
        with pytest.raises(errors.NotFoundError) as caught:
            await clerk.oauth_access_tokens.verify(access_token=short)
        assert caught.value.errors[0].meta.get("param_name") == "access_token"

        await clerk.oauth_applications.delete(app.id)
        assert await refused(clerk, bystander) is TokenVerificationErrorReason.INVALID_TOKEN


async def test_issuing_checks_application_user_scopes_and_secret() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        uid = await new_user(clerk)
        app = await clerk.oauth_applications.create(name="CLI")
        assert app.id and app.client_id and app.client_secret
        with pytest.raises(LookupError):
            emu.issue_oauth_token("oa_missing", uid)
        with pytest.raises(LookupError):
            emu.issue_oauth_token(app.id, "user_missing")
        with pytest.raises(ValueError):
            emu.issue_oauth_token(app.id, uid, scopes=["private_metadata"])
        token = emu.issue_oauth_token(app.id, uid, client_secret=app.client_secret)
        assert (await verify_machine_token(token, clerk=clerk)).scopes == ("profile", "email")
        await clerk.oauth_applications.rotate_secret(app.id)
        with pytest.raises(PermissionError):
            emu.issue_oauth_token(app.id, uid, client_secret=app.client_secret)


async def test_tokens_of_a_deleted_user_stop_verifying() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        uid = await new_user(clerk)
        app = await clerk.oauth_applications.create(name="CLI")
        assert app.id
        token = emu.issue_oauth_token(app.id, uid)
        await verify_machine_token(token, clerk=clerk)
        await clerk.users.delete(uid)
        assert await refused(clerk, token) is TokenVerificationErrorReason.INVALID_TOKEN
