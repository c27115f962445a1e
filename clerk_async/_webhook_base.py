"""The shape every webhook event shares; the typed events derive from it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

__all__ = ["EventBase", "UnknownWebhookEvent"]


@attrs.frozen(kw_only=True)
class EventBase:
    """A verified webhook delivery.

    Attributes:
        type: the event type, e.g. ``"user.created"``.
        data: the event's object (a user, session, organization...), a typed model
            on the typed events, the JSON as received on :class:`UnknownWebhookEvent`.
        object: always ``"event"`` for Clerk events.
        timestamp: when Clerk created the event (milliseconds since the epoch), if sent.
        id: the delivery id (the ``svix-id`` header), the same across retries:
            use it to make your handler idempotent.
        instance_id: the Clerk instance that sent it, if sent.
        event_attributes: the ``event_attributes`` object (the HTTP request that caused
            the event, when there was one), as JSON.
        raw: the whole JSON body.
    """

    #: The event type this class stands for (``None`` on the generic event).
    TYPE: ClassVar[str | None] = None

    type: str
    data: Any
    object: str | None
    timestamp: int | None
    id: str
    instance_id: str | None = None
    event_attributes: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class UnknownWebhookEvent(EventBase):
    """An event of a type this version of the SDK does not know; ``data`` is plain JSON."""
