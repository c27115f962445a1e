"""Verify the webhooks Clerk sends you (signed the Svix / Standard Webhooks way).

Each delivery carries three headers: an id, a Unix timestamp and one or more
space-separated signatures ``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"``
under your endpoint's signing secret (``whsec_…``). Both header spellings are
accepted: ``svix-id``/``svix-timestamp``/``svix-signature`` (what Clerk sends) and
``webhook-id``/``webhook-timestamp``/``webhook-signature``.

The signatures are checked by the ``standardwebhooks`` package, through its public
API: ``Webhook.verify`` (HMAC-SHA256, every ``v1`` signature compared in constant
time, a five-minute window) or, for a ``tolerance`` wider than that window,
``Webhook.sign`` and a constant-time comparison here. Around it this module adds
what the package leaves out: the ``svix-*`` header names, precise rejection
reasons, strict timestamp parsing and a ``tolerance`` other than five minutes.

Example (Starlette/FastAPI)::

    from clerk_async.webhooks import WebhookVerificationError, verify_webhook

    @app.post("/clerk/webhooks")
    async def clerk_webhook(request: Request) -> Response:
        try:
            event = verify_webhook(await request.body(), request.headers)
        except WebhookVerificationError:
            return Response(status_code=400)
        if isinstance(event, UserCreated):
            print(event.data.email_addresses)  # a typed User-shaped model
        return Response(status_code=204)
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
import json
import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook
from standardwebhooks.webhooks import WebhookVerificationError as _PackageError

from . import _config, _webhook_events
from ._convert import structure
from ._webhook_base import EventBase as EventBase
from ._webhook_base import UnknownWebhookEvent as UnknownWebhookEvent
from ._webhook_events import *  # noqa: F403  (the typed events and their payload models)
from ._webhook_events import EVENT_DATA, EVENT_TYPES, WebhookEvent
from .auth._http_input import header
from .errors import ClerkError

# Sorted as isort sorts (constants, classes, functions), as the typed events join them.
__all__ = sorted(
    {
        "DEFAULT_TOLERANCE",
        "EventBase",
        "UnknownWebhookEvent",
        "WebhookVerificationError",
        "WebhookVerificationErrorReason",
        "decode_event",
        "verify_webhook",
        *_webhook_events.__all__,
    },
    key=lambda name: (not name.isupper(), not name[0].isupper(), name),
)

#: Seconds a delivery's timestamp may differ from our clock (either way).
DEFAULT_TOLERANCE = 300.0

SECRET_ENV = _config.WEBHOOK_SECRET_ENV

_DIGITS = re.compile(r"[0-9]{1,12}")


class WebhookVerificationErrorReason(str, enum.Enum):
    """Why a webhook delivery was rejected."""

    #: no secret passed and ``CLERK_WEBHOOK_SIGNING_SECRET`` is not set
    MISSING_SECRET = "missing_secret"
    #: the secret is not a ``whsec_`` base64 secret
    INVALID_SECRET = "invalid_secret"
    #: the id, timestamp or signature header is absent
    MISSING_HEADERS = "missing_headers"
    #: the timestamp header is not a Unix time, or the body is not a JSON object
    MALFORMED = "malformed"
    #: the delivery is older than the tolerance (a replay, or a clock far behind)
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    #: the delivery is dated further ahead than the tolerance
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    #: no signature matches the body under this secret
    INVALID_SIGNATURE = "invalid_signature"


class WebhookVerificationError(ClerkError):
    """A webhook delivery failed verification; answer it with a 400.

    Attributes:
        reason: a :class:`WebhookVerificationErrorReason`.
    """

    reason: WebhookVerificationErrorReason

    def __init__(self, reason: WebhookVerificationErrorReason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message

    def __reduce__(self) -> tuple[type[WebhookVerificationError], tuple[object, ...]]:
        return (type(self), (self.reason, self.message))


def _fail(reason: WebhookVerificationErrorReason, message: str) -> WebhookVerificationError:
    return WebhookVerificationError(reason, message)


def _pick_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    for family in ("svix", "webhook"):
        msg_id = header(headers, f"{family}-id")
        stamp = header(headers, f"{family}-timestamp")
        signature = header(headers, f"{family}-signature")
        if msg_id and stamp and signature:
            return msg_id, stamp.strip(), signature
    raise _fail(
        WebhookVerificationErrorReason.MISSING_HEADERS,
        "expected svix-id, svix-timestamp and svix-signature (or webhook-*) headers",
    )


def _load_secret(secret: str | None) -> Webhook:
    value = _config.webhook_secret(secret)
    if value is None:
        raise _fail(
            WebhookVerificationErrorReason.MISSING_SECRET,
            f"pass secret= or set {SECRET_ENV}",
        )
    encoded = value[len("whsec_") :] if value.startswith("whsec_") else value
    try:
        # standardwebhooks decodes leniently (skipping stray characters); check first.
        base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        return Webhook(value)
    except (binascii.Error, ValueError, EmptyWebhookSecretError):
        raise _fail(
            WebhookVerificationErrorReason.INVALID_SECRET, "the secret is not a whsec_ secret"
        ) from None


def _check_window(sent_at: int, tolerance: float) -> None:
    now = time.time()
    if sent_at < now - tolerance:
        raise _fail(
            WebhookVerificationErrorReason.TIMESTAMP_TOO_OLD,
            f"the delivery is more than {tolerance:g}s old",
        )
    if sent_at > now + tolerance:
        raise _fail(
            WebhookVerificationErrorReason.TIMESTAMP_IN_FUTURE,
            f"the delivery is dated more than {tolerance:g}s ahead",
        )


def _v1_signatures(value: str) -> list[str]:
    # Only well-formed "v1,<base64>" entries are compared: other versions can never
    # match, and a header holding none at all deserves its own message.
    kept = []
    for candidate in value.split():
        version, sep, encoded = candidate.partition(",")
        if version != "v1" or not sep:
            continue
        try:
            base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        kept.append(candidate)
    return kept


def _check_signatures(
    webhook: Webhook, msg_id: str, sent_at: int, body: str, signatures: list[str], tolerance: float
) -> None:
    if tolerance <= DEFAULT_TOLERANCE:
        # Within the package's own five-minute window: it does the whole check.
        standard = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(sent_at),
            "webhook-signature": " ".join(signatures),
        }
        try:
            webhook.verify(body, standard, json_parse=False)
        except _PackageError:
            # Our window was checked first; the clock may have crossed its edge
            # since, which is then the reason. Otherwise no signature matched.
            _check_window(sent_at, tolerance)
            raise _no_match() from None
        return
    # The package's window is fixed at five minutes; a wider one was checked by
    # _check_window, so the signature is computed by the package (its public
    # ``sign``) and compared here, in constant time, with each one sent.
    expected = webhook.sign(msg_id, datetime.fromtimestamp(sent_at, tz=timezone.utc), body)
    if not any(hmac.compare_digest(expected.encode(), sig.encode()) for sig in signatures):
        raise _no_match()


def _no_match() -> WebhookVerificationError:
    return _fail(
        WebhookVerificationErrorReason.INVALID_SIGNATURE,
        "no signature matches the body under this secret",
    )


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> WebhookEvent:
    """Verify a webhook delivery and return its event.

    Args:
        body: the request body exactly as received (do not re-serialise parsed JSON).
        headers: the request headers (any mapping; names are matched case-insensitively).
        secret: the endpoint's signing secret, ``whsec_…``; defaults to
            ``CLERK_WEBHOOK_SIGNING_SECRET``.
        tolerance: seconds the delivery's timestamp may be off from now, either way.

    Every ``v1`` signature in the header is tried (Clerk sends several while a
    secret is being rotated), each compared in constant time. The timestamp is
    checked here first against ``tolerance``, which gives a precise reason; up to
    the default five minutes ``standardwebhooks``' ``Webhook.verify`` then checks
    the signatures (and its own five-minute window again). A wider ``tolerance``
    is beyond that window, which cannot be configured: the expected signature
    then comes from the package's ``Webhook.sign``.

    Raises:
        WebhookVerificationError: with a ``reason``.
    """
    webhook = _load_secret(secret)
    msg_id, stamp, signatures = _pick_headers(headers)
    if not _DIGITS.fullmatch(stamp):
        raise _fail(WebhookVerificationErrorReason.MALFORMED, "the timestamp is not a Unix time")
    sent_at = int(stamp)
    _check_window(sent_at, tolerance)
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise _fail(WebhookVerificationErrorReason.MALFORMED, "the body is not UTF-8") from None

    v1 = _v1_signatures(signatures)
    if not v1:
        raise _fail(
            WebhookVerificationErrorReason.INVALID_SIGNATURE,
            "the signature header holds no 'v1,<base64>' signature",
        )
    _check_signatures(webhook, msg_id, sent_at, text, v1, tolerance)

    try:
        payload = json.loads(text)
    except ValueError:
        raise _fail(WebhookVerificationErrorReason.MALFORMED, "the body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise _fail(
            WebhookVerificationErrorReason.MALFORMED, "the body is not an event with a 'type'"
        )
    return decode_event(payload, msg_id)


def decode_event(payload: Mapping[str, Any], delivery_id: str) -> WebhookEvent:
    """Turn a verified event body into its typed event.

    A ``type`` this SDK knows gives its class (``user.created`` -> :class:`UserCreated`,
    whose ``data`` is a :class:`User`); any other type gives an
    :class:`UnknownWebhookEvent` holding ``data`` as plain JSON, never an error.
    """
    event_type = payload["type"]
    cls: type[EventBase] = EVENT_TYPES.get(event_type, UnknownWebhookEvent)
    data = payload.get("data")
    if cls is not UnknownWebhookEvent:
        data = structure(data, EVENT_DATA[event_type])
    stamp_ms = payload.get("timestamp")
    obj = payload.get("object")
    instance = payload.get("instance_id")
    attributes = payload.get("event_attributes")
    event = cls(
        type=event_type,
        data=data,
        object=obj if isinstance(obj, str) else None,
        timestamp=stamp_ms
        if isinstance(stamp_ms, int) and not isinstance(stamp_ms, bool)
        else None,
        id=delivery_id,
        instance_id=instance if isinstance(instance, str) else None,
        event_attributes=attributes if isinstance(attributes, dict) else None,
        raw=payload,
    )
    return event  # type: ignore[return-value]  # cls is one member of the union
