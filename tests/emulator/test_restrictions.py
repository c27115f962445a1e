"""Instance restrictions and settings, through our SDK against the emulator.

Each rule is shown refusing what it should and letting the opposite through, so a
rule the emulator ignored would fail its test.
"""

from __future__ import annotations

import pytest

from clerk_async import Clerk, errors
from clerk_async.emulator import Emulator


async def refused(call: object, param: str, code: str = "not_allowed_access") -> None:
    """Await ``call`` and check it is a 422 naming ``param`` with ``code``."""
    with pytest.raises(errors.UnprocessableEntityError) as caught:
        await call  # type: ignore[misc]
    detail = caught.value.errors[0]
    assert detail.code == code and detail.meta["param_name"] == param


async def test_the_allowlist_admits_only_listed_identifiers(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        # Off: anyone may be created.
        await clerk.users.create(email_address=["free@example.org"])
        restrictions = await clerk.instance_settings.update_restrictions(allowlist=True)
        assert restrictions.allowlist is True and restrictions.blocklist is False
        await clerk.allowlist_identifiers.create(identifier="ada@example.com")
        await clerk.allowlist_identifiers.create(identifier="*@corp.example")
        await clerk.allowlist_identifiers.create(identifier="+15555550100")
        await clerk.allowlist_identifiers.create(identifier="0xABCDEF0123")
        await clerk.users.create(email_address=["ADA@example.com"])  # case aside
        await clerk.users.create(email_address=["bob@corp.example"])  # by its domain
        await clerk.users.create(phone_number=["+15555550100"], web3_wallet=["0xabcdef0123"])
        await refused(clerk.users.create(email_address=["eve@example.com"]), "email_address")
        await refused(clerk.users.create(email_address=["eve@sub.corp.example"]), "email_address")
        await refused(clerk.users.create(phone_number=["+15555550199"]), "phone_number")
        await refused(clerk.users.create(web3_wallet=["0x999"]), "web3_wallet")
        # Deleting the entry takes the address off the allowlist again.
        entries = await clerk.allowlist_identifiers.list()
        corp = next(e for e in entries if e.identifier == "*@corp.example")
        await clerk.allowlist_identifiers.delete(corp.id or "")
        await refused(clerk.users.create(email_address=["carol@corp.example"]), "email_address")
        # The beta settings read and write the same switch.
        settings = await clerk.beta_features.update_instance_settings(restricted_to_allowlist=False)
        assert settings.restricted_to_allowlist is False
        await clerk.users.create(email_address=["carol@corp.example"])
        sender = await clerk.beta_features.update_instance_settings(from_email_address="hello")
        assert sender.from_email_address == "hello" and sender.restricted_to_allowlist is False
        await refused(
            clerk.beta_features.update_instance_settings(from_email_address="hello@example.com"),
            "from_email_address",
            "form_param_format_invalid",
        )


async def test_invitations_bypass_the_allowlist(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        await clerk.instance_settings.update_restrictions(allowlist=True)
        await refused(clerk.users.create(email_address=["guest@example.com"]), "email_address")
        await clerk.invitations.create(email_address="guest@example.com")
        user = await clerk.users.create(email_address=["guest@example.com"])
        assert [e.email_address for e in user.email_addresses or []] == ["guest@example.com"]
        # Another address still is not on the allowlist.
        await refused(clerk.users.create(email_address=["other@example.com"]), "email_address")
        # A revoked invitation no longer lets its address in.
        revoked = await clerk.invitations.create(email_address="late@example.com")
        await clerk.invitations.revoke(revoked.id or "")
        await refused(clerk.users.create(email_address=["late@example.com"]), "email_address")
        # An organization's invitation lets its address in as well.
        org = await clerk.organizations.create(name="Invites")
        await clerk.organization_invitations.create(
            org.id or "", email_address="member@example.com", role="org:member"
        )
        await clerk.users.create(email_address=["member@example.com"])


async def test_the_blocklist_refuses_listed_identifiers(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        blocked = await clerk.blocklist_identifiers.create(identifier="*@spam.example")
        assert blocked.identifier_type == "email_address"
        phone = await clerk.blocklist_identifiers.create(identifier="+15555550111")
        assert phone.identifier_type == "phone_number"
        # Entries are kept but only enforced once the blocklist is on.
        await clerk.users.create(email_address=["early@spam.example"])
        await clerk.instance_settings.update_restrictions(blocklist=True)
        await refused(clerk.users.create(email_address=["late@SPAM.example"]), "email_address")
        await refused(clerk.users.create(phone_number=["+15555550111"]), "phone_number")
        await clerk.users.create(email_address=["fine@ham.example"], phone_number=["+15555550112"])
        await refused(clerk.invitations.create(email_address="x@spam.example"), "email_address")
        await clerk.invitations.create(email_address="x@ham.example")
        listing = await clerk.blocklist_identifiers.list()
        assert listing.total_count == 2
        await clerk.blocklist_identifiers.delete(blocked.id or "")
        await clerk.users.create(email_address=["late@spam.example"])
        assert (await clerk.blocklist_identifiers.list()).total_count == 1
        with pytest.raises(errors.NotFoundError):
            await clerk.blocklist_identifiers.delete(blocked.id or "")


async def test_identifiers_are_unique_on_each_list(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        await clerk.blocklist_identifiers.create(identifier="dup@example.com")
        await refused(
            clerk.blocklist_identifiers.create(identifier="DUP@example.com"),
            "identifier",
            "duplicate_record",
        )
        await clerk.blocklist_identifiers.create(identifier="other@example.com")
        await clerk.allowlist_identifiers.create(identifier="dup@example.com")  # another list
        await refused(
            clerk.allowlist_identifiers.create(identifier="dup@example.com"),
            "identifier",
            "duplicate_record",
        )


async def test_subaddresses_and_disposable_domains(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        await clerk.users.create(email_address=["ada+one@example.com"])
        await clerk.users.create(email_address=["someone@mailinator.com"])
        answer = await clerk.instance_settings.update_restrictions(
            block_email_subaddresses=True, block_disposable_email_domains=True
        )
        assert answer.block_email_subaddresses and answer.block_disposable_email_domains
        for address in ("ada+two@example.com", "ada=x@example.com", "ada#x@example.com"):
            await refused(clerk.users.create(email_address=[address]), "email_address")
        await refused(clerk.users.create(email_address=["a@mailinator.com"]), "email_address")
        await refused(clerk.users.create(email_address=["a@eu.yopmail.com"]), "email_address")
        await refused(clerk.invitations.create(email_address="b@yopmail.com"), "email_address")
        # The rules only bite on the local part, and on disposable domains.
        await clerk.users.create(email_address=["ada.plain@example.com"])
        await clerk.users.create(email_address=["ops@notmailinator.com"])
        await clerk.instance_settings.update_restrictions(block_email_subaddresses=False)
        await clerk.users.create(email_address=["ada+two@example.com"])


async def test_email_addresses_and_phone_numbers_added_later(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        user = await clerk.users.create(username="restricted")
        await clerk.instance_settings.update_restrictions(blocklist=True)
        await clerk.blocklist_identifiers.create(identifier="*@blocked.example")
        await clerk.blocklist_identifiers.create(identifier="+15555550123")
        await refused(
            clerk.email_addresses.create(user_id=user.id or "", email_address="a@blocked.example"),
            "email_address",
        )
        await refused(
            clerk.phone_numbers.create(user_id=user.id or "", phone_number="+15555550123"),
            "phone_number",
        )
        added = await clerk.email_addresses.create(
            user_id=user.id or "", email_address="a@open.example"
        )
        assert added.email_address == "a@open.example"
        number = await clerk.phone_numbers.create(
            user_id=user.id or "", phone_number="+15555550124"
        )
        assert number.phone_number == "+15555550124"


async def test_organization_invitations_follow_the_restrictions(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        org = await clerk.organizations.create(name="Restricted")
        await clerk.instance_settings.update_restrictions(allowlist=True, blocklist=True)
        await clerk.blocklist_identifiers.create(identifier="no@example.com")
        await refused(
            clerk.organization_invitations.create(
                org.id or "", email_address="no@example.com", role="org:member"
            ),
            "email_address",
        )
        # Not on the allowlist, but invitations pass it.
        invitation = await clerk.organization_invitations.create(
            org.id or "", email_address="yes@example.com", role="org:member"
        )
        assert invitation.status == "pending"


async def instance_settings_round_trip(clerk: Clerk) -> None:
    await clerk.instance_settings.update(allowed_origins=["https://app.example"], hibp=False)
    instance = await clerk.instance_settings.get()
    assert instance.allowed_origins == ["https://app.example"]
    assert instance.environment_type == "development"

    protect = await clerk.instance_settings.get_protect()
    assert protect.rules_enabled is False
    changed = await clerk.instance_settings.update_protect(rules_enabled=True)
    assert changed.rules_enabled is True and changed.specter_enabled is False
    assert (await clerk.instance_settings.get_protect()).rules_enabled is True

    communication = await clerk.instance_settings.update_communication(
        blocked_country_codes=["RU", "CN"]
    )
    assert communication.blocked_country_codes == ["CN", "RU"]
    await clerk.instance_settings.update_communication()  # omitted: nothing changes
    read = await clerk.instance_settings.get_communication()
    assert read.blocked_country_codes == ["CN", "RU"]

    oauth = await clerk.instance_settings.update_oauth_application_settings(
        dynamic_oauth_client_registration=True, default_scopes=["openid"]
    )
    assert oauth.dynamic_oauth_client_registration is True and oauth.default_scopes == ["openid"]
    reset = await clerk.instance_settings.update_oauth_application_settings(default_scopes=None)
    assert reset.default_scopes == ["openid", "email", "profile"]
    assert (
        await clerk.instance_settings.get_oauth_application_settings()
    ).dynamic_oauth_client_registration is True

    orgs = await clerk.instance_settings.update_organization_settings(
        max_allowed_memberships=20, domains_enabled=True, creator_role_id="org:owner"
    )
    assert orgs.max_allowed_memberships == 20 and orgs.creator_role == "org:owner"
    again = await clerk.instance_settings.get_organization_settings()
    assert again.domains_enabled is True and again.max_allowed_memberships == 20
    await refused(
        clerk.instance_settings.update_organization_settings(domains_enrollment_modes=["magic"]),
        "domains_enrollment_modes",
        "form_param_value_invalid",
    )
    await clerk.instance_settings.update_organization_settings(
        domains_enrollment_modes=["automatic_invitation"]
    )
    assert (await clerk.instance_settings.get_organization_settings()).domains_enrollment_modes == [
        "automatic_invitation"
    ]


async def test_instance_settings_are_kept(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        await instance_settings_round_trip(clerk)
        with pytest.raises(errors.UnprocessableEntityError) as caught:
            await clerk.instance_settings.update_restrictions(allowlist="yes")  # type: ignore[arg-type]
        assert caught.value.errors[0].meta["param_name"] == "allowlist"


async def test_gmail_dots_are_ignored_when_switched_on(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        await clerk.users.create(email_address=["ada.lovelace@gmail.com"])
        # Off (the default): another spelling is another address.
        await clerk.users.create(email_address=["adalove.lace@gmail.com"])
        clerk_emulator.api.restrictions.ignore_dots_for_gmail_addresses = True
        await refused(
            clerk.users.create(email_address=["a.d.a.lovelace@gmail.com"]),
            "email_address",
            "form_identifier_exists",
        )
        await clerk.users.create(email_address=["ada.lovelace@example.com"])  # not Gmail
        await clerk.users.create(email_address=["grace.hopper@gmail.com"])
        # The lists match Gmail addresses without their dots too.
        await clerk.instance_settings.update_restrictions(blocklist=True)
        await clerk.blocklist_identifiers.create(identifier="turing@gmail.com")
        await refused(clerk.users.create(email_address=["tu.ring@gmail.com"]), "email_address")
        await clerk.users.create(email_address=["tu.ring@example.com"])
