"""Webhook delivery: every change the emulator makes, POSTed to the registered endpoints.

Events are shaped and signed as Clerk's are (Clerk delivers through Svix): a JSON body
``{"object": "event", "type": "user.created", "data": {...}, ...}`` with the headers
``svix-id``, ``svix-timestamp`` and ``svix-signature`` (``v1,<base64 HMAC-SHA256>``
under a ``whsec_`` secret), so :func:`clerk_async.webhooks.verify_webhook` and any
other Svix verifier accept them.

Each endpoint receives its events one at a time, in the order the changes were made:
an answer other than 2xx (or no answer) is retried after each delay of
``retry_delays`` in turn, and the events behind it wait, so the order per resource
(and overall) is kept. An event still failing after its last retry is recorded as
failed and the next one goes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

import aiohttp
import attrs
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from ._store import JSON, Store

__all__ = ["DEFAULT_RETRY_DELAYS", "Delivery", "WebhookDispatcher", "event_for", "new_secret"]

log = logging.getLogger("clerk_async.emulator")

#: Seconds between attempts (Svix waits minutes to hours; an emulator is for tests).
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
ATTEMPT_TIMEOUT = 10.0
INSTANCE_ID = "ins_emulator"
#: What an event is about when it is not the answer itself (a handler that changes a
#: user through one of their email addresses puts the user here).
SUBJECT = web.RequestKey("clerk_event_subject", dict)

# (method, route) -> event type, for the routes whose answer is the changed object.
_ROUTE_EVENTS: dict[tuple[str, str], str] = {
    ("POST", "/v1/users"): "user.created",
    ("PATCH", "/v1/users/{user_id}"): "user.updated",
    ("PATCH", "/v1/users/{user_id}/metadata"): "user.updated",
    ("PUT", "/v1/users/{user_id}/metadata"): "user.updated",
    ("POST", "/v1/users/{user_id}/ban"): "user.updated",
    ("POST", "/v1/users/{user_id}/unban"): "user.updated",
    ("POST", "/v1/users/{user_id}/lock"): "user.updated",
    ("POST", "/v1/users/{user_id}/unlock"): "user.updated",
    ("POST", "/v1/users/{user_id}/profile_image"): "user.updated",
    ("DELETE", "/v1/users/{user_id}/profile_image"): "user.updated",
    ("POST", "/v1/users/{user_id}/remove_password"): "user.updated",
    ("POST", "/v1/users/{user_id}/password/set_compromised"): "user.updated",
    ("POST", "/v1/users/{user_id}/password/unset_compromised"): "user.updated",
    # Changes to what a user holds, whose handlers name the user as the event's subject.
    **{
        route: "user.updated"
        for route in (
            ("POST", "/v1/email_addresses"),
            ("PATCH", "/v1/email_addresses/{email_address_id}"),
            ("DELETE", "/v1/email_addresses/{email_address_id}"),
            ("PUT", "/v1/users/{user_id}/email_address"),
            ("POST", "/v1/phone_numbers"),
            ("PATCH", "/v1/phone_numbers/{phone_number_id}"),
            ("DELETE", "/v1/phone_numbers/{phone_number_id}"),
            ("PUT", "/v1/users/{user_id}/phone_number"),
            ("DELETE", "/v1/users/{user_id}/web3_wallets/{item_id}"),
            ("DELETE", "/v1/users/{user_id}/passkeys/{item_id}"),
            ("DELETE", "/v1/users/{user_id}/external_accounts/{item_id}"),
            ("DELETE", "/v1/users/{user_id}/mfa"),
            ("DELETE", "/v1/users/{user_id}/totp"),
            ("DELETE", "/v1/users/{user_id}/backup_code"),
        )
    },
    ("DELETE", "/v1/users/{user_id}"): "user.deleted",
    ("POST", "/v1/organizations"): "organization.created",
    ("PATCH", "/v1/organizations/{org}"): "organization.updated",
    ("PATCH", "/v1/organizations/{org}/metadata"): "organization.updated",
    ("PUT", "/v1/organizations/{org}/metadata"): "organization.updated",
    ("PUT", "/v1/organizations/{org}/logo"): "organization.updated",
    ("DELETE", "/v1/organizations/{org}/logo"): "organization.updated",
    ("DELETE", "/v1/organizations/{org}"): "organization.deleted",
    ("POST", "/v1/organizations/{org}/memberships"): "organizationMembership.created",
    ("PATCH", "/v1/organizations/{org}/memberships/{user_id}"): "organizationMembership.updated",
    (
        "PATCH",
        "/v1/organizations/{org}/memberships/{user_id}/metadata",
    ): "organizationMembership.updated",
    ("DELETE", "/v1/organizations/{org}/memberships/{user_id}"): "organizationMembership.deleted",
    ("POST", "/v1/organizations/{org}/invitations"): "organizationInvitation.created",
    (
        "POST",
        "/v1/organizations/{org}/invitations/{inv}/revoke",
    ): "organizationInvitation.revoked",
    ("POST", "/v1/sessions"): "session.created",
    ("POST", "/v1/sessions/{session_id}/revoke"): "session.revoked",
}


def new_secret() -> str:
    """A fresh signing secret in Svix's format, ``whsec_<base64 of 24 random bytes>``."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def event_for(method: str, route: str) -> str | None:
    """The event type a successful ``method route`` causes, if any."""
    return _ROUTE_EVENTS.get((method, route))


@attrs.define
class Delivery:
    """One event sent to one endpoint.

    Attributes:
        id: the ``svix-id`` (the same on every attempt).
        type: the event type.
        url: the endpoint.
        resource: the id of the object the event is about.
        attempts: the HTTP attempts made so far.
        statuses: the answer of each attempt (0 when there was none).
        state: ``"pending"``, ``"delivered"`` or ``"failed"`` (retries exhausted).
    """

    id: str
    type: str
    url: str
    resource: str | None
    body: str = attrs.field(repr=False)
    attempts: int = 0
    statuses: list[int] = attrs.field(factory=list)
    state: str = "pending"


class WebhookDispatcher:
    """Queues, signs and delivers the emulator's events to its endpoints."""

    def __init__(
        self,
        store: Store,
        urls: Iterable[str],
        *,
        secret: str | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        self.store = store
        self.urls = list(urls)
        self.secret = secret or new_secret()
        self.retry_delays = tuple(retry_delays)
        self.deliveries: list[Delivery] = []
        self._signer = Webhook(self.secret)
        self._queues: dict[str, asyncio.Queue[Delivery]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._count = 0

    # -- what the emulator calls -----------------------------------------------------

    def on_change(self, request: web.Request, answer: JSON) -> None:
        """The hook of :class:`~clerk_async.emulator._app.Api`: an event per change."""
        route = request.match_info.route.resource
        event_type = event_for(request.method, route.canonical if route else "")
        if event_type is None:
            return
        attributes = {
            "http_request": {
                "client_ip": request.remote or "",
                "user_agent": request.headers.get("User-Agent", ""),
            }
        }
        subject = request.get(SUBJECT, answer)
        self.emit(event_type, self._data(event_type, subject), attributes)

    def emit(self, event_type: str, data: JSON, attributes: JSON | None = None) -> None:
        """Queue ``event_type`` about ``data`` for every endpoint (safe from any thread)."""
        self._count += 1
        msg_id = f"msg_emulator_{self._count:08d}"
        # Serialised now: the object may change again before the delivery goes out.
        body = json.dumps(
            {
                "object": "event",
                "type": event_type,
                "timestamp": self.store.now(),
                "instance_id": INSTANCE_ID,
                "event_attributes": attributes or {},
                "data": data,
            },
            separators=(",", ":"),
        )
        resource = data.get("id")
        for url in self.urls:
            delivery = Delivery(msg_id, event_type, url, resource, body)
            self.deliveries.append(delivery)
            queue = self._queues.get(url)
            if queue is None or self._loop is None:
                continue  # not started: the deliveries stay pending
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is self._loop:
                queue.put_nowait(delivery)
            else:
                self._loop.call_soon_threadsafe(queue.put_nowait, delivery)

    def _data(self, event_type: str, answer: JSON) -> JSON:
        if event_type.startswith("session."):
            # Clerk's session events carry the user too.
            user = self.store.users.get(answer.get("user_id", ""))
            return {**answer, "user": user}
        return answer

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT))
        for url in self.urls:
            queue: asyncio.Queue[Delivery] = asyncio.Queue()
            for delivery in self.deliveries:
                if delivery.url == url and delivery.state == "pending":
                    queue.put_nowait(delivery)
            self._queues[url] = queue
            self._workers.append(asyncio.create_task(self._deliver_all(queue)))

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        self._queues.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def wait_idle(self) -> None:
        """Return when every queued delivery has been delivered or has failed."""
        for queue in list(self._queues.values()):
            await queue.join()

    # -- delivery --------------------------------------------------------------------

    async def _deliver_all(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._deliver(delivery)
            finally:
                queue.task_done()

    async def _deliver(self, delivery: Delivery) -> None:
        delays = iter(self.retry_delays)
        while True:
            status = await self._attempt(delivery)
            delivery.attempts += 1
            delivery.statuses.append(status)
            if 200 <= status < 300:
                delivery.state = "delivered"
                return
            delay = next(delays, None)
            if delay is None:
                delivery.state = "failed"
                log.warning(
                    "webhook %s to %s failed %d times", delivery.id, delivery.url, delivery.attempts
                )
                return
            await asyncio.sleep(delay)

    async def _attempt(self, delivery: Delivery) -> int:
        assert self._session is not None
        # The wall time, not the emulator's clock: svix-timestamp guards against replays
        # and receivers check it against their own clock (5 minutes' tolerance), so a
        # moved test clock must not make every delivery fail verification. The event's
        # "timestamp" and data carry the emulated time.
        now = datetime.now(tz=timezone.utc)
        headers = {
            "content-type": "application/json",
            "svix-id": delivery.id,
            "svix-timestamp": str(int(now.timestamp())),
            # Signed per attempt, as Svix does: the timestamp is the attempt's.
            "svix-signature": self._signer.sign(delivery.id, now, delivery.body),
        }
        try:
            async with self._session.post(
                delivery.url, data=delivery.body, headers=headers
            ) as answer:
                await answer.read()
                return answer.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return 0
