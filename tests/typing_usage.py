"""How the public API reads to a type checker.

This module is never run; ``mypy --strict`` checks it (``nox -s typecheck``). Each
``assert_type`` states the type a user's editor shows, so a change that degrades a
public type to ``Any`` or to the wrong model fails the type check.
"""

from __future__ import annotations

from typing import Literal

from typing_extensions import assert_type

import clerk_sync
from clerk_async import UNSET, AsyncPaginator, Clerk, Page, Retries, errors, webhooks
from clerk_async.auth import Auth, RequestState, SessionClaims, verify_token
from clerk_async.emulator import Emulator
from clerk_async.models import DeletedObject, Organization, TotalCount, User
from clerk_async.webhooks import UserCreated, WebhookEvent, verify_webhook


async def async_worker() -> None:
    async with Clerk(retries=Retries(max_retries=5)) as clerk:
        assert_type(await clerk.users.get("user_1"), User)
        assert_type(await clerk.users.count(email_address=["a@example.com"]), TotalCount)
        assert_type(await clerk.users.delete("user_1"), DeletedObject)

        listing = clerk.users.list(order_by="-created_at", limit=100)
        assert_type(listing, AsyncPaginator[User])
        page = await listing
        assert_type(page, Page[User])
        assert_type(page.data, list[User])
        assert_type(page.total_count, int | None)
        assert_type(await page.next_page(), Page[User] | None)
        for item in page:
            assert_type(item, User)
        async for user in clerk.users.list():
            assert_type(user, User)
        async for org_page in clerk.organizations.list().pages():
            assert_type(org_page, Page[Organization])

        fast = clerk.with_options(timeout=2, retries=0)
        assert_type(fast, Clerk)
        org = await fast.organizations.create(name="Acme", created_by="user_1")
        assert_type(org, Organization)
        await clerk.users.update(user_id="user_1", first_name=UNSET, last_name=None)

        try:
            await clerk.users.get("user_1")
        except errors.NotFoundError as exc:
            assert_type(exc.status, int)
            assert_type(exc.clerk_trace_id, str | None)
            assert_type(exc.retry_after, float | None)


async def backend(token: str, body: bytes, headers: dict[str, str]) -> None:
    claims = await verify_token(token, jwt_key="-----BEGIN PUBLIC KEY-----...")
    assert_type(claims, SessionClaims)
    assert_type(claims.user_id, str)
    assert_type(claims.org_permissions, tuple[str, ...])
    event = verify_webhook(body, headers, secret="whsec_x")
    assert_type(event, WebhookEvent)
    assert_type(event.type, str)
    if isinstance(event, UserCreated):
        assert_type(event.data, webhooks.User)
        assert_type(event.type, Literal["user.created"])


def auth_of(state: RequestState) -> bool:
    auth = state.to_auth()
    assert_type(auth, Auth)
    return auth.has(permission="org:invoices:read")


def sync_script() -> None:
    with clerk_sync.Clerk() as clerk:
        assert_type(clerk.users.get("user_1"), User)
        listing = clerk.users.list(max_items=10)
        assert_type(listing, clerk_sync.SyncPaginator[User])
        for user in listing:
            assert_type(user, User)
        assert_type(clerk.with_options(timeout=1), clerk_sync.Clerk)


def offline_sync_test() -> None:
    with Emulator().running_in_thread() as emu, emu.sync_client() as clerk:
        assert_type(emu, Emulator)
        assert_type(clerk, clerk_sync.Clerk)
        assert_type(clerk.users.count(), TotalCount)
