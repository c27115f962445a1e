"""A change made through one operation shows through the others, through our SDK
against the emulator: memberships and invitations from the user's side and across
the instance, email addresses and phone numbers on the user, second factors,
passwords, OAuth tokens of linked accounts, images and session refresh."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

import jwt
import pytest

from clerk_async import Clerk, errors, models
from clerk_async.emulator import Emulator


async def make_user(clerk: Clerk, email: str, **fields: object) -> str:
    user = await clerk.users.create(email_address=[email], **fields)  # type: ignore[arg-type]
    assert user.id
    return user.id


# -- memberships and invitations ----------------------------------------------------


async def test_memberships_show_from_the_user_and_the_instance() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com", first_name="Ada")
        bob = await make_user(clerk, "bob@example.com", first_name="Bob")
        acme = (await clerk.organizations.create(name="Acme")).id or ""
        globex = (await clerk.organizations.create(name="Globex")).id or ""
        await clerk.organization_memberships.create(acme, user_id=ada, role="org:admin")
        await clerk.organization_memberships.create(globex, user_id=ada, role="org:member")
        await clerk.organization_memberships.create(acme, user_id=bob, role="org:member")

        page = await clerk.users.get_organization_memberships(ada)
        assert page.total_count == 2
        # newest first; the organization is the one created above
        assert [m.organization.id for m in page.data if m.organization] == [globex, acme]
        assert (await clerk.users.get_organization_memberships(ada, limit=1, offset=1)).data[
            0
        ].role == "org:admin"

        everyone = await clerk.users.get_instance_organization_memberships(
            order_by="+email_address"
        )
        assert everyone.total_count == 3
        assert [m.public_user_data.identifier for m in everyone.data if m.public_user_data] == [
            "ada@example.com",
            "ada@example.com",
            "bob@example.com",
        ]
        with pytest.raises(errors.UnprocessableEntityError) as exc:
            await clerk.users.get_instance_organization_memberships(order_by="role")
        assert exc.value.errors[0].meta["param_name"] == "order_by"

        # a removed membership and a deleted organization drop out of both lists
        await clerk.organization_memberships.delete(acme, bob)
        assert (await clerk.users.get_organization_memberships(bob)).total_count == 0
        await clerk.organizations.delete(globex)
        assert (await clerk.users.get_organization_memberships(ada)).total_count == 1
        assert (await clerk.users.get_instance_organization_memberships()).total_count == 1
        with pytest.raises(errors.NotFoundError):
            await clerk.users.get_organization_memberships("user_missing")


async def test_membership_metadata_merges_and_shows_in_the_lists() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com")
        org = (await clerk.organizations.create(name="Acme")).id or ""
        await clerk.organization_memberships.create(
            org, user_id=ada, role="org:member", public_metadata={"a": 1, "b": {"c": 2}}
        )
        merged = await clerk.organization_memberships.update_metadata(
            org, ada, public_metadata={"b": {"d": 3}, "a": None}, private_metadata={"seat": 7}
        )
        assert merged.public_metadata == {"b": {"c": 2, "d": 3}}
        listed = (await clerk.organization_memberships.list(org)).data[0]
        assert listed.public_metadata == {"b": {"c": 2, "d": 3}}
        assert listed.private_metadata == {"seat": 7}
        mine = (await clerk.users.get_organization_memberships(ada)).data[0]
        assert mine.private_metadata == {"seat": 7}
        with pytest.raises(errors.NotFoundError):
            await clerk.organization_memberships.update_metadata(org, "user_missing")


async def test_organization_invitations_show_from_the_user_and_the_instance() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com")
        acme = (await clerk.organizations.create(name="Acme")).id or ""
        globex = (await clerk.organizations.create(name="Globex")).id or ""
        first = await clerk.organization_invitations.create(
            acme, email_address="ADA@example.com", role="org:member"
        )
        await clerk.organization_invitations.create(
            globex, email_address="ada@example.com", role="org:admin"
        )
        await clerk.organization_invitations.create(
            acme, email_address="zed@example.com", role="org:member"
        )
        await clerk.organization_invitations.revoke(acme, first.id or "")

        mine = await clerk.users.get_organization_invitations(ada)
        assert mine.total_count == 2
        assert {i.public_organization_data.name for i in mine.data if i.public_organization_data}
        pending = await clerk.users.get_organization_invitations(ada, status="pending")
        assert [i.organization_id for i in pending.data] == [globex]

        everywhere = await clerk.organization_invitations.get_all(order_by="email_address")
        assert [i.email_address for i in everywhere.data] == [
            "ADA@example.com",
            "ada@example.com",
            "zed@example.com",
        ]
        assert (await clerk.organization_invitations.get_all(query="zed")).total_count == 1
        revoked = await clerk.organization_invitations.get_all(status="revoked")
        assert [i.id for i in revoked.data] == [first.id]

        got = await clerk.organization_invitations.get(acme, first.id or "")
        assert got.status == "revoked"
        with pytest.raises(errors.NotFoundError):
            await clerk.organization_invitations.get(globex, first.id or "")
        with pytest.warns(DeprecationWarning):
            waiting = await clerk.organization_invitations.list_pending(acme)
        assert [i.email_address for i in waiting.data] == ["zed@example.com"]


# -- email addresses and phone numbers ------------------------------------------------


async def test_email_addresses_change_the_user() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com")
        bob = await make_user(clerk, "bob@example.com")
        added = await clerk.email_addresses.create(
            user_id=ada, email_address="ada@work.example", verified=True
        )
        user = await clerk.users.get(ada)
        assert [e.email_address for e in user.email_addresses or []] == [
            "ada@example.com",
            "ada@work.example",
        ]
        assert user.primary_email_address_id != added.id  # the first one stays primary
        # the new address finds the user, and nobody else may take it
        assert [u.id for u in await clerk.users.list(email_address=["ADA@work.example"])] == [ada]
        with pytest.raises(errors.UnprocessableEntityError) as exc:
            await clerk.email_addresses.create(user_id=bob, email_address="Ada@Work.example")
        assert exc.value.errors[0].code == "form_identifier_exists"
        assert exc.value.errors[0].meta["param_name"] == "email_address"

        await clerk.email_addresses.update(added.id or "", primary=True)
        assert (await clerk.users.get(ada)).primary_email_address_id == added.id
        assert (await clerk.email_addresses.get(added.id or "")).email_address == "ada@work.example"
        unverified = await clerk.email_addresses.update(added.id or "", verified=False)
        assert unverified.verification and unverified.verification.status == "unverified"

        # deleting the primary hands it to the one left, and frees the address
        await clerk.email_addresses.delete(added.id or "")
        user = await clerk.users.get(ada)
        assert [e.email_address for e in user.email_addresses or []] == ["ada@example.com"]
        assert user.primary_email_address_id == (user.email_addresses or [])[0].id
        await clerk.email_addresses.create(user_id=bob, email_address="ada@work.example")
        with pytest.raises(errors.NotFoundError):
            await clerk.email_addresses.get(added.id or "")
        with pytest.raises(errors.UnprocessableEntityError) as exc:
            await clerk.email_addresses.create(user_id=bob, email_address="not-an-address")
        assert exc.value.errors[0].meta["param_name"] == "email_address"
        with pytest.raises(errors.NotFoundError):
            await clerk.email_addresses.create(user_id="user_missing", email_address="x@y.example")


async def test_replacing_the_primary_email_address() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com")
        replaced = await clerk.email_addresses.replace_for_user(
            ada, email_address="lovelace@example.com"
        )
        user = await clerk.users.get(ada)
        assert [e.email_address for e in user.email_addresses or []] == ["lovelace@example.com"]
        assert user.primary_email_address_id == replaced.id
        # the old address is free again
        await make_user(clerk, "ada@example.com")


async def test_phone_numbers_change_the_user_and_its_second_factor() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com")
        bob = await make_user(clerk, "bob@example.com")
        phone = await clerk.phone_numbers.create(
            user_id=ada, phone_number="+14155550100", verified=True
        )
        user = await clerk.users.get(ada)
        assert user.primary_phone_number_id == phone.id  # the first one becomes primary
        assert not user.two_factor_enabled
        assert [u.id for u in await clerk.users.list(phone_number=["+14155550100"])] == [ada]
        with pytest.raises(errors.UnprocessableEntityError) as exc:
            await clerk.phone_numbers.create(user_id=bob, phone_number="+14155550100")
        assert exc.value.errors[0].code == "form_identifier_exists"
        with pytest.raises(errors.UnprocessableEntityError) as exc:
            await clerk.phone_numbers.create(user_id=bob, phone_number="555-0100")
        assert exc.value.errors[0].meta["param_name"] == "phone_number"

        reserved = await clerk.phone_numbers.update(phone.id or "", reserved_for_second_factor=True)
        assert reserved.reserved_for_second_factor and reserved.default_second_factor
        user = await clerk.users.get(ada)
        assert user.two_factor_enabled and user.mfa_enabled_at is not None
        unverified = await clerk.phone_numbers.create(user_id=ada, phone_number="+14155550111")
        with pytest.raises(errors.UnprocessableEntityError) as exc:
            await clerk.phone_numbers.update(unverified.id or "", reserved_for_second_factor=True)
        assert exc.value.errors[0].meta["param_name"] == "reserved_for_second_factor"

        # disabling MFA releases the number; the user no longer has two factors
        assert (await clerk.users.disable_mfa(ada)).user_id == ada
        user = await clerk.users.get(ada)
        assert not user.two_factor_enabled and user.mfa_disabled_at is not None
        assert not (await clerk.phone_numbers.get(phone.id or "")).reserved_for_second_factor

        replaced = await clerk.phone_numbers.replace_for_user(ada, phone_number="+14155550199")
        user = await clerk.users.get(ada)
        assert user.primary_phone_number_id == replaced.id
        assert [p.phone_number for p in user.phone_numbers or []] == [
            "+14155550111",
            "+14155550199",
        ]
        deleted = await clerk.phone_numbers.delete(unverified.id or "")
        assert deleted.deleted
        assert [p.id for p in (await clerk.users.get(ada)).phone_numbers or []] == [replaced.id]


# -- what a user signs in with ---------------------------------------------------------


async def test_removing_wallets_accounts_and_images_shows_on_the_user() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        user = await clerk.users.create(web3_wallet=["0xabc", "0xdef"])
        uid = user.id or ""
        first, second = user.web3_wallets or []
        await clerk.users.delete_web3_wallet(uid, first.id or "")
        after = await clerk.users.get(uid)
        assert [w.id for w in after.web3_wallets or []] == [second.id]
        assert after.primary_web3_wallet_id == second.id
        with pytest.raises(errors.NotFoundError):
            await clerk.users.delete_web3_wallet(uid, first.id or "")

        account = emu.link_external_account(uid, "oauth_google", "g-42")
        tokens = await clerk.users.get_oauth_access_token(uid, "oauth_google")
        assert [t.provider_user_id for t in tokens] == ["g-42"]
        again = await clerk.users.get_oauth_access_token(uid, "google")
        assert [t.token for t in again] == [t.token for t in tokens]  # the same until it expires
        assert len(await clerk.users.get_oauth_access_token(uid, "oauth_github")) == 0
        await clerk.users.delete_external_account(uid, account["id"])
        assert (await clerk.users.get(uid)).external_accounts == []
        assert len(await clerk.users.get_oauth_access_token(uid, "oauth_google")) == 0

        with_image = await clerk.users.set_profile_image(uid, file=("me.png", b"\x89PNG"))
        assert with_image.has_image
        assert (await clerk.users.get(uid)).image_url == with_image.image_url
        await clerk.users.delete_profile_image(uid)
        assert not (await clerk.users.get(uid)).has_image
        with pytest.raises(errors.NotFoundError):
            await clerk.users.delete_profile_image(uid)

        org = await clerk.organizations.create(name="Acme", created_by=uid)
        logo = await clerk.organizations.upload_logo(org.id or "", file=("l.png", b"\x89PNG"))
        assert logo.has_image
        got = await clerk.organizations.get(org.id or "")
        assert got.has_image and got.image_url == logo.image_url
        membership = (await clerk.users.get_organization_memberships(uid)).data[0]
        assert membership.organization and membership.organization.has_image
        await clerk.organizations.delete_logo(org.id or "")
        assert not (await clerk.organizations.get(org.id or "")).has_image


async def test_password_removal_and_bulk_bans_reach_sessions() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        secret = "a-long-secret-1"
        ada = await make_user(clerk, "ada@example.com", password=secret)
        bob = await make_user(clerk, "bob@example.com")
        session = await clerk.sessions.create(user_id=ada)
        assert (await clerk.users.verify_password(ada, password=secret)).verified

        await clerk.users.set_password_compromised(ada)
        await clerk.users.unset_password_compromised(ada)
        user = await clerk.users.remove_password(ada, sign_out_of_other_sessions=True)
        assert not user.password_enabled
        with pytest.raises(errors.UnprocessableEntityError):
            await clerk.users.verify_password(ada, password=secret)
        assert (await clerk.sessions.get(session.id or "")).status == "revoked"
        with pytest.raises(errors.UnprocessableEntityError):
            await clerk.users.set_password_compromised(ada)  # no password left

        other = await clerk.sessions.create(user_id=bob)
        banned = await clerk.users.bulk_ban(user_ids=[ada, bob])
        assert [u.banned for u in banned] == [True, True]
        assert (await clerk.users.get(bob)).banned
        assert (await clerk.sessions.get(other.id or "")).status == "revoked"
        assert [u.id for u in await clerk.users.list(banned=True)] == [bob, ada]
        with pytest.raises(errors.NotFoundError):
            await clerk.users.bulk_unban(user_ids=[ada, "user_missing"])
        assert (await clerk.users.get(ada)).banned  # nobody changed
        await clerk.users.bulk_unban(user_ids=[ada, bob])
        assert not (await clerk.users.get(ada)).banned


# -- session refresh -------------------------------------------------------------------


async def test_session_refresh_mints_a_token_for_the_session() -> None:
    async with Emulator(freeze_time=True) as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com")
        session = await clerk.sessions.create(user_id=ada)
        sid = session.id or ""
        old = (await clerk.sessions.create_token(sid)).jwt or ""
        emu.clock.advance(120)  # the old token has expired
        fresh = await clerk.sessions.refresh(
            sid, expired_token=old, refresh_token="r", request_origin="https://app.example"
        )
        assert isinstance(fresh, models.Token) and fresh.object == "token"
        claims = jwt.decode(
            fresh.jwt or "",
            emu.jwt_public_key_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
        assert claims["sid"] == sid and claims["sub"] == ada
        assert claims["azp"] == "https://app.example"
        assert claims["exp"] > int(emu.clock.now())

        cookies = await clerk.sessions.refresh(
            sid, expired_token=old, refresh_token="r", request_origin="x", format="cookie"
        )
        assert isinstance(cookies, models.Cookies) and cookies.object == "cookies"
        assert cookies.cookies and cookies.cookies[0].startswith("__session=")

        other = await clerk.sessions.create(user_id=ada)
        with pytest.raises(errors.AuthenticationError):
            await clerk.sessions.refresh(
                other.id or "", expired_token=old, refresh_token="r", request_origin="x"
            )
        with pytest.raises(errors.AuthenticationError):
            await clerk.sessions.refresh(
                sid, expired_token="not-a-jwt", refresh_token="r", request_origin="x"
            )
        await clerk.sessions.revoke(sid)
        with pytest.raises(errors.NotFoundError) as exc:
            await clerk.sessions.refresh(
                sid, expired_token=old, refresh_token="r", request_origin="x"
            )
        assert exc.value.errors[0].code == "session_not_active"


# -- second factors and verifications -----------------------------------------------


def rfc6238(secret: str, when: float) -> str:
    """The TOTP code of ``secret`` at ``when`` (an independent reference, RFC 6238)."""
    key = base64.b32decode(secret)
    digest = hmac.new(key, struct.pack(">Q", int(when) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"


async def test_totp_and_backup_codes_given_to_a_user_verify_and_can_be_removed() -> None:
    secret = "JBSWY3DPEHPK3PXP"
    async with Emulator(freeze_time=True) as emu, emu.client() as clerk:
        user = await clerk.users.create(
            email_address=["ada@example.com"], totp_secret=secret, backup_codes=["one", "two"]
        )
        uid = user.id or ""
        assert user.totp_enabled and user.backup_code_enabled and user.two_factor_enabled
        checked = await clerk.users.verify_totp(uid, code=rfc6238(secret, emu.clock.now()))
        assert checked.verified and checked.code_type == "totp"
        emu.clock.advance(300)  # codes of long ago no longer verify
        with pytest.raises(errors.UnprocessableEntityError) as exc:
            await clerk.users.verify_totp(uid, code=rfc6238(secret, emu.clock.now() - 300))
        assert exc.value.errors[0].meta["param_name"] == "code"
        used = await clerk.users.verify_totp(uid, code="one")
        assert used.code_type == "backup_code"
        with pytest.raises(errors.UnprocessableEntityError):
            await clerk.users.verify_totp(uid, code="one")  # a backup code works once

        await clerk.users.delete_totp(uid)
        after = await clerk.users.get(uid)
        assert not after.totp_enabled and after.two_factor_enabled  # backup codes remain
        with pytest.raises(errors.UnprocessableEntityError):
            await clerk.users.verify_totp(uid, code=rfc6238(secret, emu.clock.now()))
        await clerk.users.delete_backup_codes(uid)
        after = await clerk.users.get(uid)
        assert not after.backup_code_enabled and not after.two_factor_enabled
        assert after.mfa_disabled_at is not None

        # an update can give them again; a secret that is not base32 is refused
        again = await clerk.users.update(uid, totp_secret=secret)
        assert again.totp_enabled and again.two_factor_enabled
        with pytest.raises(errors.UnprocessableEntityError) as exc:
            await clerk.users.create(email_address=["bob@example.com"], totp_secret="not base32!")
        assert exc.value.errors[0].meta["param_name"] == "totp_secret"
        assert [u.id for u in await clerk.users.list(email_address=["bob@example.com"])] == []


async def test_verifying_an_email_address_with_a_code() -> None:
    async with Emulator(freeze_time=True) as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com")
        added = await clerk.email_addresses.create(user_id=ada, email_address="ada@work.example")
        eid = added.id or ""
        started = await clerk.email_addresses.prepare_verification(eid)
        assert started.status == "unverified" and started.attempts == 0
        wrong = await clerk.email_addresses.attempt_verification(
            eid, verification_id=started.id or "", code="000000"
        )
        assert wrong.status == "unverified" and wrong.attempts == 1
        right = await clerk.email_addresses.attempt_verification(
            eid, verification_id=started.id or "", code="424242"
        )
        assert right.status == "verified"
        user = await clerk.users.get(ada)
        shown = next(e for e in user.email_addresses or [] if e.id == eid)
        assert shown.verification and shown.verification.status == "verified"
        with pytest.raises(errors.BadRequestError) as exc:
            await clerk.email_addresses.attempt_verification(
                eid, verification_id=started.id or "", code="424242"
            )
        assert exc.value.errors[0].code == "verification_already_verified"

        phone = await clerk.phone_numbers.create(user_id=ada, phone_number="+14155550100")
        late = await clerk.phone_numbers.prepare_verification(phone.id or "")
        emu.clock.advance(11 * 60)
        expired = await clerk.phone_numbers.attempt_verification(
            phone.id or "", verification_id=late.id or "", code="424242"
        )
        assert expired.status == "expired"
        still = (await clerk.phone_numbers.get(phone.id or "")).verification
        assert still is not None and still.status == "unverified"
        with pytest.raises(errors.NotFoundError):
            await clerk.phone_numbers.attempt_verification(
                phone.id or "", verification_id=started.id or "", code="424242"
            )
        assert (await clerk.users.list_trusted_devices(ada)).total_count == 0
        with pytest.raises(errors.NotFoundError):
            await clerk.users.list_trusted_devices("user_missing")


async def test_memberships_show_the_member_as_they_are_now() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com", first_name="Ada")
        org = (await clerk.organizations.create(name="Acme")).id or ""
        await clerk.organization_memberships.create(org, user_id=ada, role="org:member")
        work = await clerk.email_addresses.create(
            user_id=ada, email_address="ada@work.example", primary=True, verified=True
        )
        assert work.id
        await clerk.users.update(ada, first_name="Augusta")
        member = (await clerk.organization_memberships.list(org)).data[0].public_user_data
        assert member and member.first_name == "Augusta"
        assert member.identifier == "ada@work.example"
        assert [m.public_user_data.user_id for m in (await clerk.organization_memberships.list(
            org, email_address=["ada@work.example"])).data if m.public_user_data] == [ada]  # fmt: skip


async def test_changes_to_users_organizations_and_memberships_send_their_events() -> None:
    # Nothing listens at the endpoint: the deliveries are recorded all the same.
    async with Emulator(webhooks=["http://127.0.0.1:9/hook"]) as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com", password="a-long-secret-1")
        org = (await clerk.organizations.create(name="Acme")).id or ""
        await clerk.organization_memberships.create(org, user_id=ada, role="org:member")
        before = len(emu.webhook_deliveries)
        await clerk.users.set_profile_image(ada, file=b"\x89PNG")
        await clerk.users.remove_password(ada)
        await clerk.organizations.upload_logo(org, file=b"\x89PNG")
        await clerk.organization_memberships.update_metadata(org, ada, public_metadata={"a": 1})
        assert [(d.type, d.resource) for d in emu.webhook_deliveries[before:]] == [
            ("user.updated", ada),
            ("user.updated", ada),
            ("organization.updated", org),
            ("organizationMembership.updated", emu.webhook_deliveries[-1].resource),
        ]
        assert (emu.webhook_deliveries[-1].resource or "").startswith("orgmem_")

        # a change through an email address or phone number is an update of its user
        before = len(emu.webhook_deliveries)
        email = await clerk.email_addresses.create(user_id=ada, email_address="ada@work.example")
        await clerk.email_addresses.delete(email.id or "")
        await clerk.phone_numbers.create(user_id=ada, phone_number="+14155550100")
        await clerk.users.disable_mfa(ada)
        sent = emu.webhook_deliveries[before:]
        assert [(d.type, d.resource) for d in sent] == [("user.updated", ada)] * 4
        assert '"email_addresses":[{' in sent[0].body and "ada@work.example" in sent[0].body
        assert "ada@work.example" not in sent[1].body


# -- billing credits -------------------------------------------------------------------


async def test_credit_balances_follow_their_adjustments() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com")
        org = (await clerk.organizations.create(name="Acme")).id or ""
        fresh = await clerk.users.get_billing_credit_balance(ada)
        assert fresh.balance is None
        grant = await clerk.users.adjust_billing_credit_balance(
            ada, amount=2500, action="increase", idempotency_key="k1", note="welcome"
        )
        assert grant.amount and grant.amount.amount == 2500
        assert grant.amount.amount_formatted == "$25.00"
        again = await clerk.users.adjust_billing_credit_balance(
            ada, amount=9999, action="increase", idempotency_key="k1"
        )
        assert again.id == grant.id  # the same key changes nothing
        spent = await clerk.users.adjust_billing_credit_balance(
            ada, amount=1000, action="decrease", idempotency_key="k2"
        )
        assert spent.amount and spent.amount.amount == -1000
        balance = (await clerk.users.get_billing_credit_balance(ada)).balance
        assert balance and balance.amount == 1500 and balance.currency == "USD"
        with pytest.raises(errors.UnprocessableEntityError) as exc:
            await clerk.users.adjust_billing_credit_balance(
                ada, amount=1501, action="decrease", idempotency_key="k3"
            )
        assert exc.value.errors[0].meta["param_name"] == "amount"
        with pytest.raises(errors.UnprocessableEntityError) as exc:
            await clerk.users.adjust_billing_credit_balance(
                ada, amount=1, action="increase", idempotency_key="k4", currency="EUR"
            )
        assert exc.value.errors[0].meta["param_name"] == "currency"

        # an organization's balance is its own
        assert (await clerk.organizations.get_billing_credit_balance(org)).balance is None
        await clerk.organizations.adjust_billing_credit_balance(
            org, amount=700, action="increase", idempotency_key="k1", currency="EUR"
        )
        org_balance = (await clerk.organizations.get_billing_credit_balance(org)).balance
        assert org_balance and org_balance.amount_formatted == "€7.00"
        assert (await clerk.users.get_billing_credit_balance(ada)).balance == balance
        with pytest.raises(errors.NotFoundError):
            await clerk.users.get_billing_credit_balance("user_missing")
        with pytest.raises(errors.NotFoundError):
            await clerk.organizations.adjust_billing_credit_balance(
                "org_missing", amount=1, action="increase", idempotency_key="k"
            )


async def test_banning_one_user_revokes_their_sessions_too() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        ada = await make_user(clerk, "ada@example.com")
        session = await clerk.sessions.create(user_id=ada)
        await clerk.users.ban(ada)
        assert (await clerk.sessions.get(session.id or "")).status == "revoked"
        with pytest.raises(errors.PermissionDeniedError):
            await clerk.sessions.create(user_id=ada)


async def test_deleting_an_organization_ends_it_as_a_sessions_active_organization() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        user = await clerk.users.create(email_address=["org-gone@example.com"])
        org = await clerk.organizations.create(name="Short-lived", created_by=user.id)
        kept = await clerk.organizations.create(name="Kept", created_by=user.id)
        in_org = await clerk.sessions.create(
            user_id=user.id or "", active_organization_id=org.id or ""
        )
        in_kept = await clerk.sessions.create(
            user_id=user.id or "", active_organization_id=kept.id or ""
        )
        await clerk.organizations.delete(org.id or "")
        assert (await clerk.sessions.get(in_org.id or "")).last_active_organization_id is None
        assert (await clerk.sessions.get(in_kept.id or "")).last_active_organization_id == kept.id
        token = await clerk.sessions.create_token(in_org.id or "")
        claims = jwt.decode(token.jwt or "", emu.jwt_public_key_pem, algorithms=["RS256"])
        assert "o" not in claims and "org_id" not in claims
