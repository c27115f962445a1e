"""Redirect URLs, instance domains and organization domains, through our SDK."""

from __future__ import annotations

from typing import Any

import pytest
from yarl import URL

from clerk_async import Clerk, errors
from clerk_async.emulator import Emulator


def param_of(exc: errors.ClerkAPIError) -> Any:
    return exc.errors[0].meta.get("param_name")


async def test_redirect_urls(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        assert list(await clerk.redirect_urls.list()) == []
        web = await clerk.redirect_urls.create(url="https://app.example.com/oauth-callback")
        native = await clerk.redirect_urls.create(url="my-app://oauth-callback")
        local = await clerk.redirect_urls.create(url="http://localhost:3000/callback")
        assert web.object == "redirect_url" and native.url == "my-app://oauth-callback"
        got = await clerk.redirect_urls.get(str(web.id))
        assert got.url == "https://app.example.com/oauth-callback"
        listed = [u.id async for u in clerk.redirect_urls.list(limit=2)]
        assert listed == [web.id, native.id, local.id]
        page = await clerk.redirect_urls.list(limit=1, offset=1)
        assert [u.id for u in page] == [native.id]
        # one of each URL
        with pytest.raises(errors.UnprocessableEntityError) as dup:
            await clerk.redirect_urls.create(url="https://app.example.com/oauth-callback")
        assert dup.value.code == "duplicate_record" and param_of(dup.value) == "url"
        for bad in ("app.example.com/callback", "https://", "not a url", "://x", "https:///path"):
            with pytest.raises(errors.UnprocessableEntityError) as invalid:
                await clerk.redirect_urls.create(url=bad)
            assert param_of(invalid.value) == "url", bad
        deleted = await clerk.redirect_urls.delete(str(web.id))
        assert deleted.deleted is True and deleted.id == web.id
        with pytest.raises(errors.NotFoundError):
            await clerk.redirect_urls.get(str(web.id))
        with pytest.raises(errors.NotFoundError):
            await clerk.redirect_urls.delete(str(web.id))
        # once deleted, the URL can be added again
        await clerk.redirect_urls.create(url="https://app.example.com/oauth-callback")


async def test_instance_starts_with_its_primary_domain(clerk_emulator: Emulator) -> None:
    emu = clerk_emulator
    async with emu.client() as clerk:
        domains = await clerk.domains.list()
        assert domains.total_count == 1 and domains.data is not None
        (primary,) = domains.data
        host = URL(emu.url)
        assert primary.name == f"{host.host}:{host.port}"
        assert primary.is_satellite is False and primary.frontend_api_url == emu.url
        # the same primary every time
        again = await clerk.domains.list()
        assert again.data is not None and again.data[0].id == primary.id
        with pytest.raises(errors.PermissionDeniedError) as refused:
            await clerk.domains.delete(str(primary.id))
        assert refused.value.code == "primary_domain_cannot_be_deleted"


async def test_satellite_domains(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        sat = await clerk.domains.add(
            name="Satellite.example.com",
            is_satellite=True,
            proxy_url="https://proxy.example.com/__clerk",
        )
        assert sat.is_satellite is True and sat.name == "satellite.example.com"
        assert sat.proxy_url == "https://proxy.example.com/__clerk"
        assert sat.accounts_portal_url is None
        listed = await clerk.domains.list()
        assert listed.total_count == 2 and listed.data is not None
        assert listed.data[1].id == sat.id
        # is_satellite must be true
        with pytest.raises(errors.UnprocessableEntityError) as primary:
            await clerk.domains.add(name="second.example.com", is_satellite=False)
        assert param_of(primary.value) == "is_satellite"
        # names are unique, and are names
        with pytest.raises(errors.UnprocessableEntityError) as dup:
            await clerk.domains.add(name="satellite.example.com", is_satellite=True)
        assert dup.value.code == "duplicate_record" and param_of(dup.value) == "name"
        for bad in ("https://x.example.com", "x.example.com/path", "bad name"):
            with pytest.raises(errors.UnprocessableEntityError) as invalid:
                await clerk.domains.add(name=bad, is_satellite=True)
            assert param_of(invalid.value) == "name", bad
        with pytest.raises(errors.UnprocessableEntityError) as proxy:
            await clerk.domains.add(name="p.example.com", is_satellite=True, proxy_url="ftp://p")
        assert param_of(proxy.value) == "proxy_url"
        dev = await clerk.domains.add(name="localhost:3001", is_satellite=True)
        assert dev.name == "localhost:3001"
        # PATCH: name (unique) and proxy_url (null clears it)
        renamed = await clerk.domains.update(str(sat.id), name="moon.example.com")
        assert renamed.name == "moon.example.com" and renamed.proxy_url is not None
        assert renamed.frontend_api_url == "https://clerk.moon.example.com"
        with pytest.raises(errors.UnprocessableEntityError):
            await clerk.domains.update(str(dev.id), name="moon.example.com")
        same = await clerk.domains.update(str(sat.id), name="moon.example.com")
        assert same.name == "moon.example.com"  # its own name is no clash
        cleared = await clerk.domains.update(str(sat.id), proxy_url=None)
        assert cleared.proxy_url is None
        deleted = await clerk.domains.delete(str(sat.id))
        assert deleted.deleted is True
        with pytest.raises(errors.NotFoundError):
            await clerk.domains.update(str(sat.id), name="x.example.com")
        remaining = await clerk.domains.list()
        assert remaining.total_count == 2


async def org(clerk: Clerk, name: str) -> str:
    user = await clerk.users.create(email_address=[f"{name.lower()}-owner@example.com"])
    created = await clerk.organizations.create(name=name, created_by=str(user.id))
    return str(created.id)


async def test_organization_domains(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        acme = await org(clerk, "Acme")
        globex = await org(clerk, "Globex")
        domain = await clerk.organization_domains.create(acme, name="Acme.com")
        assert domain.name == "acme.com" and domain.organization_id == acme
        assert domain.enrollment_mode == "manual_invitation"
        assert domain.affiliation_verification is not None
        assert domain.affiliation_verification.status == "verified"  # verified by default
        assert domain.ownership_verification is None
        assert domain.public_organization_data is not None
        assert domain.public_organization_data.name == "Acme"
        unverified = await clerk.organization_domains.create(
            acme, name="acme.dev", enrollment_mode="automatic_invitation", verified=False
        )
        assert unverified.affiliation_verification is not None
        assert unverified.affiliation_verification.status == "unverified"
        # a domain name belongs to one organization
        with pytest.raises(errors.UnprocessableEntityError) as taken:
            await clerk.organization_domains.create(globex, name="acme.com")
        assert taken.value.code == "duplicate_record" and param_of(taken.value) == "name"
        with pytest.raises(errors.UnprocessableEntityError) as mode:
            await clerk.organization_domains.create(globex, name="globex.com", enrollment_mode="x")
        assert param_of(mode.value) == "enrollment_mode"
        with pytest.raises(errors.UnprocessableEntityError) as bad_name:
            await clerk.organization_domains.create(globex, name="localhost")
        assert param_of(bad_name.value) == "name"
        with pytest.raises(errors.NotFoundError):
            await clerk.organization_domains.create("org_missing", name="missing.com")
        # verify_ownership records the manual override, once
        verified = await clerk.organization_domains.verify_ownership(acme, str(unverified.id))
        ownership = verified.ownership_verification
        assert ownership is not None and ownership.status == "verified"
        assert ownership.strategy == "manual_override" and isinstance(ownership.verified_at, int)
        twice = await clerk.organization_domains.verify_ownership(acme, str(unverified.id))
        assert twice.ownership_verification is not None
        assert twice.ownership_verification.verified_at == ownership.verified_at
        # PATCH: enrollment mode and affiliation
        updated = await clerk.organization_domains.update(
            acme, str(unverified.id), enrollment_mode="automatic_suggestion", verified=True
        )
        assert updated.enrollment_mode == "automatic_suggestion"
        assert updated.affiliation_verification is not None
        assert updated.affiliation_verification.status == "verified"
        with pytest.raises(errors.UnprocessableEntityError):
            await clerk.organization_domains.update(acme, str(unverified.id), enrollment_mode="no")
        # a domain is reached through its own organization only
        with pytest.raises(errors.NotFoundError):
            await clerk.organization_domains.update(globex, str(domain.id), verified=False)
        gone = await clerk.organization_domains.delete(acme, str(domain.id))
        assert gone.deleted is True
        with pytest.raises(errors.NotFoundError):
            await clerk.organization_domains.delete(acme, str(domain.id))
        # a deleted domain's name is free again
        moved = await clerk.organization_domains.create(globex, name="acme.com")
        assert moved.organization_id == globex


async def test_listing_organization_domains(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        acme = await org(clerk, "Acme")
        globex = await org(clerk, "Globex")
        made = [
            await clerk.organization_domains.create(acme, name="acme.com"),
            await clerk.organization_domains.create(
                acme, name="acme.io", enrollment_mode="enterprise_sso", verified=False
            ),
            await clerk.organization_domains.create(
                globex, name="globex.com", enrollment_mode="automatic_suggestion"
            ),
        ]
        ids = [d.id for d in made]
        per_org = await clerk.organization_domains.list(acme)
        assert per_org.total_count == 2
        assert [d.id for d in per_org] == [ids[1], ids[0]]  # newest first
        only_verified = await clerk.organization_domains.list(acme, verified="true")
        assert [d.id for d in only_verified] == [ids[0]]
        not_sso = await clerk.organization_domains.list(acme, enrollment_mode="-enterprise_sso")
        assert [d.id for d in not_sso] == [ids[0]]
        everything = await clerk.organization_domains.list_all()
        assert everything.total_count == 3
        assert [d.id for d in everything] == ids[::-1]
        by_name = await clerk.organization_domains.list_all(order_by="name")
        assert [d.name for d in by_name] == ["acme.com", "acme.io", "globex.com"]
        of_globex = await clerk.organization_domains.list_all(organization_id=globex)
        assert [d.id for d in of_globex] == [ids[2]]
        searched = await clerk.organization_domains.list_all(query="ACME")
        assert {d.id for d in searched} == {ids[0], ids[1]}
        by_org = await clerk.organization_domains.list_all(query=globex)
        assert [d.id for d in by_org] == [ids[2]]
        exact = await clerk.organization_domains.list_all(domains=["acme.io", "globex.com"])
        assert {d.id for d in exact} == {ids[1], ids[2]}
        modes = await clerk.organization_domains.list_all(
            enrollment_mode=["manual_invitation", "automatic_suggestion"]
        )
        assert {d.id for d in modes} == {ids[0], ids[2]}
        unverified = await clerk.organization_domains.list_all(verified="false")
        assert [d.id for d in unverified] == [ids[1]]
        paged = await clerk.organization_domains.list_all(limit=1, offset=1)
        assert [d.id for d in paged] == [ids[1]] and paged.total_count == 3
        with pytest.raises(errors.UnprocessableEntityError) as blank:
            await clerk.organization_domains.list_all(query="  ")
        assert param_of(blank.value) == "query"
        with pytest.raises(errors.UnprocessableEntityError) as order:
            await clerk.organization_domains.list_all(order_by="-updated_at")
        assert param_of(order.value) == "order_by"
        # deleting an organization deletes its domains
        await clerk.organizations.delete(acme)
        left = await clerk.organization_domains.list_all()
        assert [d.id for d in left] == [ids[2]]
        with pytest.raises(errors.NotFoundError):
            await clerk.organization_domains.list(acme)
        again = await clerk.organization_domains.create(globex, name="acme.com")
        assert again.organization_id == globex
