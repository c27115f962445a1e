"""Bulk invitations and the waitlist, through our SDK against the emulator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from clerk_async import errors, models
from clerk_async.emulator import Emulator

DAY = timedelta(days=1)


async def test_bulk_invitations_are_created_and_listed(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        made = await clerk.invitations.bulk_create(
            body=[
                {"email_address": "one@example.com", "expires_in_days": 1},
                {"email_address": "two@example.com", "public_metadata": {"team": "b"}},
            ]
        )
        assert [i.email_address for i in made] == ["one@example.com", "two@example.com"]
        assert made[1].public_metadata == {"team": "b"}
        listed = {i.id: i.status for i in await clerk.invitations.list()}
        assert listed == {made[0].id: "pending", made[1].id: "pending"}
        # expires_in_days runs on the emulator's clock, entry by entry.
        clerk_emulator.clock.advance(DAY * 2)
        listed = {i.id: i.status for i in await clerk.invitations.list()}
        assert listed == {made[0].id: "expired", made[1].id: "pending"}


async def test_one_bad_entry_refuses_the_whole_batch(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        await clerk.invitations.create(email_address="pending@example.com")
        await clerk.users.create(email_address=["member@example.com"])
        for bad in (
            {"email_address": "not-an-address"},
            {"email_address": "pending@example.com"},  # a pending invitation exists
            {"email_address": "member@example.com", "ignore_existing": True},  # a user exists
            {"email_address": "fresh@example.com"},  # twice in one batch
        ):
            with pytest.raises(errors.UnprocessableEntityError) as caught:
                await clerk.invitations.bulk_create(
                    body=[{"email_address": "fresh@example.com"}, bad]
                )
            assert caught.value.errors[0].meta["param_name"] == "email_address"
            assert "Entry 1" in (caught.value.errors[0].long_message or "")
            # Nothing of the batch was kept: the good entry is not pending.
            assert [i.email_address for i in await clerk.invitations.list()] == [
                "pending@example.com"
            ]
        # With ignore_existing the pending invitation no longer refuses the entry.
        made = await clerk.invitations.bulk_create(
            body=[
                {"email_address": "fresh@example.com"},
                {"email_address": "pending@example.com", "ignore_existing": True},
            ]
        )
        assert len(made) == 2 and len(await clerk.invitations.list()) == 3


async def test_bulk_invitations_follow_the_restrictions(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        await clerk.instance_settings.update_restrictions(blocklist=True)
        await clerk.blocklist_identifiers.create(identifier="*@blocked.example")
        with pytest.raises(errors.UnprocessableEntityError) as caught:
            await clerk.invitations.bulk_create(
                body=[{"email_address": "a@open.example"}, {"email_address": "b@blocked.example"}]
            )
        assert caught.value.code == "not_allowed_access"
        assert len(await clerk.invitations.list()) == 0
        made = await clerk.invitations.bulk_create(body=[{"email_address": "b@open.example"}])
        assert made[0].status == "pending"


async def test_bulk_invitations_take_at_most_ten(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        # The typed request items serialize like the dicts above.
        entries: list[models.CreateBulkInvitationsBodyItemParams | dict[str, Any]] = [
            models.CreateBulkInvitationsBodyItemParams(email_address=f"u{n}@example.com")
            for n in range(11)
        ]
        with pytest.raises(errors.UnprocessableEntityError):
            await clerk.invitations.bulk_create(body=entries)
        assert len(await clerk.invitations.bulk_create(body=entries[:10])) == 10


async def test_organization_bulk_invitations(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        org = await clerk.organizations.create(name="Bulk Org")
        made = await clerk.organization_invitations.bulk_create(
            org.id or "",
            body=[
                {"email_address": "a@example.com", "role": "org:member"},
                {"email_address": "b@example.com", "role": "org:admin", "expires_in_days": 2},
            ],
        )
        made_items = made.data or []
        assert [i.role for i in made_items] == ["org:member", "org:admin"]
        assert made.total_count == 2
        listed = await clerk.organization_invitations.list(org.id or "")
        assert {i.id for i in listed.data} == {i.id for i in made_items}
        # A duplicate of a pending invitation refuses the batch; nothing is added.
        with pytest.raises(errors.UnprocessableEntityError) as caught:
            await clerk.organization_invitations.bulk_create(
                org.id or "",
                body=[
                    {"email_address": "c@example.com", "role": "org:member"},
                    {"email_address": "A@example.com", "role": "org:member"},
                ],
            )
        assert caught.value.code == "duplicate_record"
        assert (await clerk.organization_invitations.list(org.id or "")).total_count == 2
        clerk_emulator.clock.advance(DAY * 3)
        expired = await clerk.organization_invitations.list(org.id or "", status="expired")
        assert [i.email_address for i in expired.data] == ["b@example.com"]
        with pytest.raises(errors.NotFoundError):
            await clerk.organization_invitations.bulk_create(
                "org_missing", body=[{"email_address": "x@example.com", "role": "org:member"}]
            )


async def test_waitlist_bulk_entries_are_listed_once(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        first = await clerk.waitlist_entries.create(email_address="early@example.com")
        again = await clerk.waitlist_entries.create(email_address="EARLY@example.com")
        assert again.id == first.id  # already on the waitlist: the same entry
        entries = await clerk.waitlist_entries.bulk_create(
            body=[
                {"email_address": "b@example.com"},
                {"email_address": "early@example.com", "notify": False},
                {"email_address": "a@example.com"},
            ]
        )
        assert entries[1].id == first.id
        listing = await clerk.waitlist_entries.list()
        assert listing.total_count == 3
        assert [e.email_address for e in listing.data] == [
            "a@example.com",
            "b@example.com",
            "early@example.com",
        ]
        by_email = await clerk.waitlist_entries.list(order_by="+email_address")
        assert [e.email_address for e in by_email.data] == [
            "a@example.com",
            "b@example.com",
            "early@example.com",
        ]
        descending = await clerk.waitlist_entries.list(order_by="-email_address")
        assert descending.data[0].email_address == "early@example.com"
        with pytest.raises(errors.UnprocessableEntityError) as caught:
            await clerk.waitlist_entries.bulk_create(
                body=[{"email_address": "c@example.com"}, {"email_address": "C@example.com"}]
            )
        assert caught.value.code == "duplicate_record"
        assert (await clerk.waitlist_entries.list()).total_count == 3
        found = await clerk.waitlist_entries.list(query="b@ex")
        assert [e.email_address for e in found.data] == ["b@example.com"]


async def test_waitlist_invite_reject_and_delete(clerk_emulator: Emulator) -> None:
    async with clerk_emulator.client() as clerk:
        a, b, c = await clerk.waitlist_entries.bulk_create(
            body=[
                {"email_address": "a@example.com"},
                {"email_address": "b@example.com"},
                {"email_address": "c@example.com"},
            ]
        )
        invited = await clerk.waitlist_entries.invite(a.id or "")
        assert invited.status == "invited" and invited.invitation is not None
        assert invited.invitation.status == "pending"
        assert [i.email_address for i in await clerk.invitations.list()] == ["a@example.com"]
        with pytest.raises(errors.ConflictError):
            await clerk.waitlist_entries.invite(a.id or "")
        rejected = await clerk.waitlist_entries.reject(a.id or "")
        assert rejected.status == "rejected"
        assert [i.status for i in await clerk.invitations.list()] == ["revoked"]
        await clerk.waitlist_entries.reject(b.id or "")
        with pytest.raises(errors.ConflictError):
            await clerk.waitlist_entries.delete(b.id or "")  # only pending ones
        await clerk.waitlist_entries.delete(c.id or "")
        statuses = {e.email_address: e.status for e in await clerk.waitlist_entries.list()}
        assert statuses == {"a@example.com": "rejected", "b@example.com": "rejected"}
        pending = await clerk.waitlist_entries.list(status="rejected")
        assert pending.total_count == 2
        with pytest.raises(errors.NotFoundError):
            await clerk.waitlist_entries.reject(c.id or "")
