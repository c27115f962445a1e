"""The emulator delivers signed events to a real uvicorn app, in order, with retries."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clerk_async import webhooks
from clerk_async.emulator import Emulator

from ..integrations.conftest import free_port, uvicorn_server

FAST_RETRIES = (0.05, 0.1, 0.2)


class Receiver:
    """A webhook endpoint verifying every delivery; ``fail_first`` answers 500 that often."""

    def __init__(self, secret: str | None = None, fail_first: int = 0) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.events: list[webhooks.WebhookEvent] = []
        self.attempts: list[str] = []  # svix-id of every request, failed ones too
        self.app = Starlette(routes=[Route("/clerk/webhooks", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        self.attempts.append(request.headers["svix-id"])
        if len(self.attempts) <= self.fail_first:
            return Response(status_code=500)
        try:
            event = webhooks.verify_webhook(body, request.headers, secret=self.secret)
        except webhooks.WebhookVerificationError:
            return Response(status_code=400)
        self.events.append(event)
        return Response(status_code=204)


async def test_scripted_scenario_arrives_signed_typed_and_in_order() -> None:
    receiver = Receiver()
    async with uvicorn_server(receiver.app) as url:
        endpoint = f"{url}/clerk/webhooks"
        async with Emulator(webhooks=[endpoint]) as emu:
            receiver.secret = emu.webhook_secret
            assert emu.webhook_secret.startswith("whsec_")
            async with emu.client() as clerk:
                user = await clerk.users.create(
                    email_address=["ada@example.com"], external_id="ext_ada"
                )
                assert user.id
                await clerk.users.update(user.id, first_name="Ada")
                org = await clerk.organizations.create(name="Acme", created_by=user.id)
                assert org.id
                await clerk.organizations.update(org.id, name="Acme Inc")
                other = await clerk.users.create(email_address=["grace@example.com"])
                assert other.id
                await clerk.organization_memberships.create(
                    org.id, user_id=other.id, role="org:member"
                )
                session = await clerk.sessions.create(user_id=user.id)
                assert session.id
                await clerk.sessions.revoke(session.id)
                await clerk.organization_memberships.delete(org.id, other.id)
                await clerk.users.delete(other.id)
                await emu.wait_for_webhooks()

    kinds = [type(e) for e in receiver.events]
    assert kinds == [
        webhooks.UserCreated,
        webhooks.UserUpdated,
        webhooks.OrganizationCreated,
        webhooks.OrganizationUpdated,
        webhooks.UserCreated,
        webhooks.OrganizationMembershipCreated,
        webhooks.SessionCreated,
        webhooks.SessionRevoked,
        webhooks.OrganizationMembershipDeleted,
        webhooks.UserDeleted,
    ]
    created, updated = receiver.events[0], receiver.events[1]
    assert isinstance(created, webhooks.UserCreated)
    assert isinstance(updated, webhooks.UserUpdated)
    assert created.data.id == user.id
    assert created.data.external_id == "ext_ada"
    assert created.data.first_name is None  # the state when the event happened
    assert updated.data.first_name == "Ada"
    renamed = receiver.events[3]
    assert isinstance(renamed, webhooks.OrganizationUpdated)
    assert renamed.data.name == "Acme Inc"
    membership = receiver.events[5]
    assert isinstance(membership, webhooks.OrganizationMembershipCreated)
    assert membership.data.role == "org:member"
    revoked = receiver.events[7]
    assert isinstance(revoked, webhooks.SessionRevoked)
    assert revoked.data.status == "revoked"
    assert isinstance(revoked.data.user, webhooks.User)
    assert revoked.data.user.id == user.id
    deleted = receiver.events[9]
    assert isinstance(deleted, webhooks.UserDeleted)
    assert deleted.data.deleted is True
    assert deleted.data.id == other.id
    ids = [e.id for e in receiver.events]
    assert len(set(ids)) == len(ids)
    assert all(e.instance_id == "ins_emulator" and e.object == "event" for e in receiver.events)
    assert [d.state for d in emu.webhook_deliveries] == ["delivered"] * len(ids)


async def test_an_endpoint_answering_500_gets_the_delivery_again() -> None:
    receiver = Receiver(fail_first=2)
    async with uvicorn_server(receiver.app) as url:
        endpoint = f"{url}/clerk/webhooks"
        async with Emulator(webhooks=[endpoint], webhook_retry_delays=FAST_RETRIES) as emu:
            receiver.secret = emu.webhook_secret
            async with emu.client() as clerk:
                first = await clerk.users.create(email_address=["a@example.com"])
                second = await clerk.users.create(email_address=["b@example.com"])
                await emu.wait_for_webhooks()

    first_delivery, second_delivery = emu.webhook_deliveries
    # The first event was tried three times (500, 500, 204) under one id; the second
    # waited behind it, keeping the order.
    assert receiver.attempts == [first_delivery.id] * 3 + [second_delivery.id]
    assert first_delivery.statuses == [500, 500, 204]
    assert first_delivery.state == second_delivery.state == "delivered"
    assert [e.data.id for e in receiver.events] == [first.id, second.id]


async def test_retries_run_out_and_the_next_event_goes() -> None:
    receiver = Receiver(fail_first=10)
    async with uvicorn_server(receiver.app) as url:
        endpoint = f"{url}/clerk/webhooks"
        async with Emulator(webhooks=[endpoint], webhook_retry_delays=FAST_RETRIES) as emu:
            receiver.secret = emu.webhook_secret
            receiver.fail_first = len(FAST_RETRIES) + 1  # every attempt of the first event
            async with emu.client() as clerk:
                await clerk.users.create(email_address=["a@example.com"])
                second = await clerk.users.create(email_address=["b@example.com"])
                await emu.wait_for_webhooks()

    failed, delivered = emu.webhook_deliveries
    assert failed.state == "failed"
    assert failed.statuses == [500] * (len(FAST_RETRIES) + 1)
    assert delivered.state == "delivered"
    assert [e.data.id for e in receiver.events] == [second.id]


async def test_an_unreachable_endpoint_is_retried_then_given_up() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/nothing-listens"
    async with Emulator(webhooks=[endpoint], webhook_retry_delays=(0.01,)) as emu:
        async with emu.client() as clerk:
            await clerk.users.create(email_address=["a@example.com"])
        await asyncio.wait_for(emu.wait_for_webhooks(), 10)
    (delivery,) = emu.webhook_deliveries
    assert delivery.statuses == [0, 0]
    assert delivery.state == "failed"


async def test_no_endpoint_no_deliveries() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        await clerk.users.create(email_address=["a@example.com"])
    assert emu.webhook_deliveries == []


def test_minted_sessions_are_delivered_from_a_thread() -> None:
    received: list[Any] = []

    async def scenario() -> None:
        receiver = Receiver()
        async with (
            uvicorn_server(receiver.app) as url,
            Emulator(webhooks=[f"{url}/clerk/webhooks"]) as emu,
        ):
            receiver.secret = emu.webhook_secret
            user_id = emu.store.make_user({"email_address": ["t@example.com"]})["id"]
            await asyncio.to_thread(emu.mint_session_token, user_id)
            await asyncio.sleep(0)  # the thread-safe hand-over runs on the loop
            await emu.wait_for_webhooks()
        received.extend(receiver.events)

    asyncio.run(scenario())
    (event,) = received
    assert isinstance(event, webhooks.SessionCreated)
    assert event.data.status == "active"
