"""The SDK against the emulator: every emulated operation, and its error paths."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import clerk_sync
from clerk_async import Clerk, errors, models
from clerk_async.auth import verify_token
from clerk_async.emulator import Emulator, Faults

from ..conftest import FAST_RETRIES


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(seed_users=40, seed=7) as emulator:
        yield emulator


@pytest.fixture
async def clerk(emu: Emulator) -> AsyncIterator[Clerk]:
    async with emu.client(retries=FAST_RETRIES) as client:
        yield client


async def test_users(clerk: Clerk) -> None:
    assert (await clerk.users.count()).total_count == 40
    everyone = [u async for u in clerk.users.list(limit=7)]
    assert len({u.id for u in everyone}) == 40
    created = [u.created_at or 0 for u in everyone]
    assert created == sorted(created, reverse=True)
    addresses = everyone[3].email_addresses
    assert addresses and addresses[0].email_address
    by_email = await clerk.users.list(email_address=[addresses[0].email_address])
    assert [u.id for u in by_email.data] == [everyone[3].id]
    assert len((await clerk.users.list(query=everyone[5].username or "")).data) == 1
    assert (
        len((await clerk.users.list(user_id=[everyone[0].id or "", everyone[1].id or ""])).data)
        == 2
    )
    oldest_first = [u.id async for u in clerk.users.list(order_by="created_at", limit=9)]
    assert oldest_first == [u.id for u in reversed(everyone)]
    by_name = [u.first_name async for u in clerk.users.list(order_by="first_name")]
    assert by_name == sorted(by_name, key=lambda n: n or "")

    user = await clerk.users.create(
        email_address=["new.person@example.com"],
        username="new_person",
        external_id="ext-new",
        password="a sturdy passphrase",
        public_metadata={"plan": "free", "nested": {"a": 1, "b": 2}},
    )
    assert isinstance(user, models.User) and user.id
    assert (await clerk.users.get(user.id)).username == "new_person"
    updated = await clerk.users.update(user.id, first_name="Nova")
    assert updated.first_name == "Nova"
    merged = await clerk.users.update_metadata(
        user.id, public_metadata={"nested": {"b": None, "c": 3}, "plan": "pro"}
    )
    assert merged.public_metadata == {"plan": "pro", "nested": {"a": 1, "c": 3}}
    replaced = await clerk.users.replace_metadata(user.id, public_metadata={"only": True})
    assert replaced.public_metadata == {"only": True}
    assert (await clerk.users.ban(user.id)).banned is True
    assert (await clerk.users.unban(user.id)).banned is False
    assert (await clerk.users.lock(user.id)).locked is True
    assert (await clerk.users.unlock(user.id)).locked is False
    deleted = await clerk.users.delete(user.id)
    assert deleted.deleted is True
    with pytest.raises(errors.NotFoundError) as info:
        await clerk.users.get(user.id)
    assert info.value.code == "resource_not_found"


async def test_user_errors(clerk: Clerk) -> None:
    first = await clerk.users.list(limit=1)
    taken = first.data[0].email_addresses[0].email_address  # type: ignore[index]
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.create(email_address=[taken or ""])
    assert info.value.code == "form_identifier_exists"
    assert info.value.errors[0].meta == {"param_name": "email_address"}
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.create(email_address=["short@example.com"], password="short")
    assert info.value.code == "form_password_length_too_short"
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.create(email_address=["pwned@example.com"], password="password1")
    assert info.value.code == "form_password_pwned"
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.create(first_name="Nobody")
    assert info.value.code == "form_param_missing"
    with pytest.raises(errors.NotFoundError):
        await clerk.users.update("user_missing", first_name="x")


async def test_cursor_walk_survives_deletions(emu: Emulator, clerk: Clerk) -> None:
    seen: list[str | None] = []
    async for user in clerk.users.list(limit=5):
        seen.append(user.id)
        if len(seen) == 7:
            for victim in seen[:4]:
                await clerk.users.delete(victim or "")
    assert len(seen) == 40 == len(set(seen))
    starting = [r for r in emu.request_log if r[1] == "/v1/users" and r[0] == "GET"]
    assert len(starting) == 40 // 5 + 1


async def test_organizations_memberships_invitations(clerk: Clerk) -> None:
    people = (await clerk.users.list(limit=3)).data
    owner, member, other = (p.id or "" for p in people)
    org = await clerk.organizations.create(name="Acme Rockets", created_by=owner)
    assert org.slug == "acme-rockets" and org.id
    assert (await clerk.organizations.get("acme-rockets")).id == org.id
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.organizations.create(name="Acme Rockets")
    assert info.value.code == "form_identifier_exists"
    listed = await clerk.organizations.list()
    assert listed.total_count == 1
    renamed = await clerk.organizations.update(org.id, name="Acme Space")
    assert renamed.name == "Acme Space"
    merged = await clerk.organizations.merge_metadata(org.id, public_metadata={"tier": "gold"})
    assert merged.public_metadata == {"tier": "gold"}
    merged = await clerk.organizations.merge_metadata(org.id, public_metadata={"seats": 5})
    assert merged.public_metadata == {"tier": "gold", "seats": 5}
    replaced = await clerk.organizations.replace_metadata(org.id, public_metadata={"seats": 9})
    assert replaced.public_metadata == {"seats": 9}

    membership = await clerk.organization_memberships.create(
        org.id, user_id=member, role="org:member"
    )
    assert membership.role == "org:member"
    with pytest.raises(errors.UnprocessableEntityError):
        await clerk.organization_memberships.create(org.id, user_id=member, role="org:member")
    members = [m async for m in clerk.organization_memberships.list(org.id)]
    assert {m.public_user_data.user_id for m in members if m.public_user_data} == {owner, member}
    promoted = await clerk.organization_memberships.update(org.id, member, role="org:admin")
    assert promoted.role == "org:admin"
    await clerk.organization_memberships.delete(org.id, member)
    assert (await clerk.organization_memberships.list(org.id)).total_count == 1

    invitation = await clerk.organization_invitations.create(
        org.id, email_address="guest@example.com", role="org:member", inviter_user_id=owner
    )
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.organization_invitations.create(
            org.id, email_address="guest@example.com", role="org:member"
        )
    assert info.value.code == "duplicate_record"
    pending = await clerk.organization_invitations.list(org.id, status="pending")
    assert [i.id for i in pending.data] == [invitation.id]
    revoked = await clerk.organization_invitations.revoke(
        org.id, invitation.id or "", requesting_user_id=other
    )
    assert revoked.status == "revoked"
    assert (await clerk.organizations.delete(org.id)).deleted is True
    with pytest.raises(errors.NotFoundError):
        await clerk.organizations.get(org.id)


async def test_invitations_and_allowlist(clerk: Clerk) -> None:
    invitation = await clerk.invitations.create(email_address="welcome@example.com")
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.invitations.create(email_address="welcome@example.com")
    assert info.value.code == "duplicate_record"
    assert [i.id async for i in clerk.invitations.list()] == [invitation.id]
    revoked = await clerk.invitations.revoke(invitation.id or "")
    assert revoked.status == "revoked"

    allowed = await clerk.allowlist_identifiers.create(identifier="vip@example.com")
    assert allowed.identifier_type == "email_address"
    assert [a.id async for a in clerk.allowlist_identifiers.list()] == [allowed.id]
    assert (await clerk.allowlist_identifiers.delete(allowed.id or "")).deleted is True
    assert [a async for a in clerk.allowlist_identifiers.list()] == []


async def test_sessions_tokens_clients(emu: Emulator, clerk: Clerk) -> None:
    user = (await clerk.users.list(limit=1)).data[0]
    session = await clerk.sessions.create(user_id=user.id or "")
    assert session.status == "active"
    assert [s.id async for s in clerk.sessions.list(user_id=user.id or "")] == [session.id]
    assert (await clerk.sessions.get(session.id or "")).user_id == user.id
    token = await clerk.sessions.create_token(session.id or "")
    assert token.jwt
    claims = await verify_token(token.jwt, jwt_key=emu.jwt_public_key_pem)
    assert claims.user_id == user.id and claims.session_id == session.id
    jwks_claims = await verify_token(token.jwt, clerk=clerk)  # keys from GET /v1/jwks
    assert jwks_claims.user_id == user.id
    client = await clerk.clients.verify(token=token.jwt)
    assert client.id == session.client_id
    assert (await clerk.clients.get(client.id or "")).session_ids == [session.id]
    with pytest.warns(DeprecationWarning, match="clients.list"):
        assert [c.id async for c in clerk.clients.list()] == [client.id]
    assert (await clerk.sessions.revoke(session.id or "")).status == "revoked"
    assert [s.id async for s in clerk.sessions.list(user_id=user.id or "", status="active")] == []


async def test_retired_and_unknown_operations(clerk: Clerk) -> None:
    with pytest.warns(DeprecationWarning), pytest.raises(errors.GoneError) as info:
        await clerk.sessions.verify("sess_1", token="x")
    assert info.value.code == "operation_retired"
    with pytest.warns(DeprecationWarning), pytest.raises(errors.GoneError):
        await clerk.emails.create(from_email_name="a", subject="s", body="b", email_address_id="i")
    with pytest.warns(DeprecationWarning), pytest.raises(errors.GoneError):
        await clerk.sms_messages.create(message="m", phone_number_id="p")
    # Every operation of the spec is answered (the rest by the generic emulation).
    assert [p async for p in clerk.organization_permissions.list()] == []


async def test_wrong_key_is_rejected(emu: Emulator) -> None:
    async with emu.client(secret_key="sk_live_not_for_the_emulator") as clerk:
        with pytest.raises(errors.AuthenticationError):
            await clerk.users.count()


async def test_fault_injection_and_retries() -> None:
    faults = Faults(
        rate_limit_rate=0.3, retry_after=0.01, error_rate=0.3, seed=3, exact_retry_after=True
    )
    async with Emulator(seed_users=50, faults=faults) as emu:
        async with emu.client(
            retries=FAST_RETRIES.__class__(max_retries=8, backoff_base=0.001)
        ) as clerk:
            users = [u.id async for u in clerk.users.list(limit=10)]
        statuses = [status for _, _, status in emu.request_log]
    assert len(set(users)) == 50
    assert 429 in statuses and any(s >= 500 for s in statuses)  # faults happened, retries hid them


async def test_scripted_429_and_dropped_connections() -> None:
    async with Emulator(seed_users=3, faults=Faults(exact_retry_after=True)) as emu:
        emu.faults.fail_next(429, count=2, retry_after=0.05)
        async with emu.client(retries=FAST_RETRIES) as clerk:
            assert (await clerk.users.count()).total_count == 3
            assert [s for _, _, s in emu.request_log] == [429, 429, 200]
            emu.faults.drop_rate = 1.0
            with pytest.raises(errors.ClerkConnectionError):
                await clerk.with_options(retries=0).users.create(email_address=["d@example.com"])


async def test_latency(emu: Emulator, clerk: Clerk) -> None:
    emu.faults.latency = 0.3
    with pytest.raises(errors.ClerkTimeoutError):
        await clerk.with_options(timeout=0.05, retries=0).users.count()
    await asyncio.sleep(0.3)  # let the slow answer finish before the emulator stops


async def test_pytest_fixture(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        await clerk.users.create(email_address=["fixture@example.com"])
        assert (await clerk.users.count()).total_count == 1


def test_pytest_fixture_in_a_thread_for_sync_code(clerk_emulator_in_thread: Emulator) -> None:
    emu = clerk_emulator_in_thread
    with emu.sync_client() as clerk:
        user = clerk.users.create(email_address=["sync@example.com"])
        fetched = clerk.users.get(user.id or "")
        assert [e.email_address for e in fetched.email_addresses or []] == ["sync@example.com"]
        assert clerk.users.count().total_count == 1
        # State set from the test's thread between requests, as a sequential test does.
        token = emu.mint_session_token(user.id or "")
        claims = clerk_sync.auth.verify_token(token, jwt_key=emu.jwt_public_key_pem)
        assert claims.sub == user.id
        emu.faults.fail_next(503)
        with pytest.raises(errors.ServerError) as info:
            clerk.with_options(retries=0).users.count()
        assert info.value.status == 503
    assert emu.request_log[-1] == ("GET", "/v1/users/count", 503)


async def test_user_filters_count_and_cursor(clerk: Clerk) -> None:
    everyone = [u async for u in clerk.users.list(limit=100)]
    phoned = await clerk.users.create(
        phone_number=["+15555550100"], username="phone_only", external_id="ext-phone"
    )
    assert [u.id for u in (await clerk.users.list(phone_number=["+15555550100"])).data] == [
        phoned.id
    ]
    names = [everyone[2].username or "", (everyone[6].username or "").upper()]
    by_name = await clerk.users.list(username=names)
    assert {u.id for u in by_name.data} == {everyone[2].id, everyone[6].id}
    ext = [everyone[1].external_id or "", everyone[9].external_id or ""]
    by_ext = await clerk.users.list(external_id=ext)
    assert {u.id for u in by_ext.data} == {everyone[1].id, everyone[9].id}

    assert (await clerk.users.count(phone_number=["+15555550100"])).total_count == 1
    assert (await clerk.users.count(username=names)).total_count == 2
    assert (await clerk.users.count(external_id=ext)).total_count == 2
    assert (await clerk.users.count(external_id=["ext-nobody"])).total_count == 0
    assert (await clerk.users.count(query="phone_only")).total_count == 1
    assert (await clerk.users.count()).total_count == 41

    after = everyone[4].id or ""
    newer_first = await clerk.users.list(starting_after=after, limit=3)
    assert [u.id for u in newer_first.data] == [u.id for u in everyone[5:8]]
    older_first = await clerk.users.list(starting_after=after, order_by="created_at", limit=3)
    assert [u.id for u in older_first.data] == [u.id for u in reversed(everyone[1:4])]
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.list(starting_after=after, order_by="first_name")
    assert info.value.errors[0].meta == {"param_name": "starting_after"}


async def test_duplicate_identifiers(clerk: Clerk) -> None:
    taken = (await clerk.users.list(limit=1)).data[0]
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.create(email_address=["x1@example.com"], username=taken.username)
    assert info.value.code == "form_identifier_exists"
    assert info.value.errors[0].meta == {"param_name": "username"}
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.create(email_address=["x2@example.com"], external_id=taken.external_id)
    assert info.value.code == "form_identifier_exists"
    assert info.value.errors[0].meta == {"param_name": "external_id"}
    assert (await clerk.users.count()).total_count == 40  # nothing half-created

    await clerk.allowlist_identifiers.create(identifier="VIP@example.com")
    await clerk.allowlist_identifiers.create(identifier="+15555550101")
    for again in ("vip@example.com", "+15555550101"):
        with pytest.raises(errors.UnprocessableEntityError) as info:
            await clerk.allowlist_identifiers.create(identifier=again)
        assert info.value.code == "duplicate_record"
        assert info.value.errors[0].meta == {"param_name": "identifier"}
    assert len([a async for a in clerk.allowlist_identifiers.list()]) == 2


async def test_update_frees_old_identifiers(clerk: Clerk) -> None:
    user = await clerk.users.create(
        email_address=["rename@example.com"], username="old_name", external_id="old-ext"
    )
    renamed = await clerk.users.update(user.id or "", username="new_name", external_id="new-ext")
    assert (renamed.username, renamed.external_id) == ("new_name", "new-ext")
    reuse = await clerk.users.create(
        email_address=["reuse@example.com"], username="OLD_NAME", external_id="old-ext"
    )
    assert reuse.username == "OLD_NAME"
    assert [u.id for u in (await clerk.users.list(username=["new_name"])).data] == [user.id]
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.create(email_address=["third@example.com"], username="new_name")
    assert info.value.code == "form_identifier_exists"
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.create(email_address=["third@example.com"], external_id="new-ext")
    assert info.value.code == "form_identifier_exists"
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.update(reuse.id or "", username="new_name")
    assert info.value.errors[0].meta == {"param_name": "username"}
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.update(reuse.id or "", external_id="new-ext")
    assert info.value.errors[0].meta == {"param_name": "external_id"}
    cleared = await clerk.users.update(user.id or "", username=None, external_id=None)
    assert (cleared.username, cleared.external_id) == (None, None)
    again = await clerk.users.update(reuse.id or "", username="new_name", external_id="new-ext")
    assert again.username == "new_name"


async def test_update_picks_the_primary_email_address(clerk: Clerk) -> None:
    user = await clerk.users.create(email_address=["mm-first@example.com", "zz-second@x.org"])
    other = await clerk.users.create(email_address=["nn@example.com"])
    first, second = user.email_addresses or []
    assert user.primary_email_address_id == first.id

    async def by_email() -> list[str | None]:
        ids = [u.id async for u in clerk.users.list(order_by="email_address")]
        return [i for i in ids if i in (user.id, other.id)]

    assert await by_email() == [user.id, other.id]
    updated = await clerk.users.update(user.id or "", primary_email_address_id=second.id)
    assert updated.primary_email_address_id == second.id
    assert await by_email() == [other.id, user.id]  # sorted by the primary address
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.update(
            user.id or "", primary_email_address_id="idn_not_theirs", first_name="Changed"
        )
    assert info.value.errors[0].meta == {"param_name": "primary_email_address_id"}
    unchanged = await clerk.users.get(user.id or "")
    assert (unchanged.primary_email_address_id, unchanged.first_name) == (second.id, None)


@pytest.mark.parametrize("username", ["abc", "x" * 65])
async def test_update_checks_username_length(clerk: Clerk, username: str) -> None:
    user = (await clerk.users.list(limit=1)).data[0]
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.update(user.id or "", username=username, first_name="Changed")
    assert info.value.code == "form_param_format_invalid"
    assert info.value.errors[0].meta == {"param_name": "username"}
    unchanged = await clerk.users.get(user.id or "")
    assert (unchanged.username, unchanged.first_name) == (user.username, user.first_name)


async def test_deleting_a_user_ends_their_sessions(clerk: Clerk) -> None:
    user = (await clerk.users.list(limit=1)).data[0]
    sessions = [await clerk.sessions.create(user_id=user.id or "") for _ in range(2)]
    await clerk.sessions.revoke(sessions[1].id or "")
    await clerk.users.delete(user.id or "")
    assert (await clerk.sessions.get(sessions[0].id or "")).status == "ended"
    assert (await clerk.sessions.get(sessions[1].id or "")).status == "revoked"
    for session in sessions:
        with pytest.raises(errors.NotFoundError) as info:
            await clerk.sessions.create_token(session.id or "")
        assert info.value.code == "session_not_active"
    listed = [s.status or "" async for s in clerk.sessions.list(user_id=user.id or "")]
    assert sorted(listed) == ["ended", "revoked"]
    assert [s async for s in clerk.sessions.list(user_id=user.id or "", status="active")] == []


async def test_sessions_by_client_and_minted_tokens(emu: Emulator, clerk: Clerk) -> None:
    user = (await clerk.users.list(limit=1)).data[0]
    first = await clerk.sessions.create(user_id=user.id or "")
    await clerk.sessions.create(user_id=user.id or "")
    by_client = [s.id async for s in clerk.sessions.list(client_id=first.client_id or "")]
    assert by_client == [first.id]
    assert len([s async for s in clerk.sessions.list(user_id=user.id or "")]) == 2

    # A token minted in process belongs to a session on a client the API knows.
    token = emu.mint_session_token(user.id or "")
    client = await clerk.clients.verify(token=token)
    assert client.id and client.session_ids and len(client.session_ids) == 1
    assert (await clerk.clients.get(client.id)).id == client.id
    minted = [s async for s in clerk.sessions.list(client_id=client.id)]
    assert [s.id for s in minted] == client.session_ids
    assert minted[0].user_id == user.id and minted[0].status == "active"


async def test_invitation_duplicates_ignore_case(clerk: Clerk) -> None:
    await clerk.invitations.create(email_address="Mixed.Case@Example.com")
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.invitations.create(email_address="mixed.case@example.COM")
    assert info.value.code == "duplicate_record"
    owner = (await clerk.users.list(limit=1)).data[0].id or ""
    org = await clerk.organizations.create(name="Case Org", created_by=owner)
    await clerk.organization_invitations.create(
        org.id or "", email_address="Guest@Example.com", role="org:member"
    )
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.organization_invitations.create(
            org.id or "", email_address="guest@example.com", role="org:member"
        )
    assert info.value.code == "duplicate_record"


async def test_member_counts_only_when_asked_and_always_current(clerk: Clerk) -> None:
    owner, first, second = [u.id or "" for u in (await clerk.users.list(limit=3)).data]
    org = await clerk.organizations.create(name="Counted", created_by=owner)
    oid = org.id or ""
    # The spec sends the counts only with include_members_count (list and get).
    assert org.members_count is None and org.pending_invitations_count is None
    created = await clerk.organization_memberships.create(oid, user_id=first, role="org:member")
    assert created.organization and created.organization.members_count is None
    assert (await clerk.organizations.get(oid)).members_count is None
    counted = await clerk.organizations.get(oid, include_members_count=True)
    assert (counted.members_count, counted.pending_invitations_count) == (2, 0)
    await clerk.organization_memberships.create(oid, user_id=second, role="org:member")
    await clerk.organization_invitations.create(
        oid, email_address="guest@example.com", role="org:member"
    )
    listed = (await clerk.organizations.list(include_members_count=True, query="Counted")).data
    assert [(o.members_count, o.pending_invitations_count) for o in listed] == [(3, 1)]
    plain = (await clerk.organizations.list(query="Counted")).data
    assert [o.members_count for o in plain] == [None]
    await clerk.organization_memberships.delete(oid, second)
    assert (await clerk.organizations.get(oid, include_members_count=True)).members_count == 2


async def test_unexpected_failure_is_a_clerk_shaped_500(
    emu: Emulator, clerk: Clerk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(user_id: str) -> object:
        raise RuntimeError("a bug in the emulator")

    monkeypatch.setattr(emu.store, "user", broken)
    with pytest.raises(errors.ServerError) as info:
        await clerk.with_options(retries=0).users.get("user_any")
    assert info.value.status == 500
    assert info.value.code == "internal_clerk_error"
    assert info.value.clerk_trace_id
    assert "a bug in the emulator" in caplog.text  # the traceback goes to the log


async def test_verify_password(clerk: Clerk) -> None:
    user = await clerk.users.create(
        email_address=["pw@example.com"], password="correct horse battery staple"
    )
    assert user.id
    verified = await clerk.users.verify_password(user.id, password="correct horse battery staple")
    assert verified.verified is True
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await clerk.users.verify_password(user.id, password="wrong horse battery staple")
    assert info.value.code == "form_password_incorrect"
    await clerk.users.update(user.id, password="a new long passphrase")
    assert (await clerk.users.verify_password(user.id, password="a new long passphrase")).verified
