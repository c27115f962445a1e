"""Verify the webhooks Clerk sends you (signed the Svix / Standard Webhooks way).

Each delivery carries three headers: an id, a Unix timestamp and one or more
space-separated signatures ``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"``
under your endpoint's signing secret (``whsec_…``). Both header spellings are
accepted: ``svix-id``/``svix-timestamp``/``svix-signature`` (what Clerk sends) and
``webhook-id``/``webhook-timestamp``/``webhook-signature``.

The signatures are checked by the ``standardwebhooks`` package (``Webhook.verify``:
HMAC-SHA256, every ``v1`` signature compared in constant time). Around it this module
adds what the package leaves out: the ``svix-*`` header names, precise rejection
reasons, strict timestamp parsing and a ``tolerance`` other than five minutes.

Example (Starlette/FastAPI)::

    from clerk_async.webhooks import WebhookVerificationError, verify_webhook

    @app.post("/clerk/webhooks")
    async def clerk_webhook(request: Request) -> Response:
        try:
            event = verify_webhook(await request.body(), request.headers)
        except WebhookVerificationError:
            return Response(status_code=400)
        if event.type == "user.created":
            ...
        return Response(status_code=204)
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import os
import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook
from standardwebhooks.webhooks import WebhookVerificationError as _PackageError

from .errors import ClerkError

__all__ = [
    "DEFAULT_TOLERANCE",
    "WebhookEvent",
    "WebhookVerificationError",
    "WebhookVerificationErrorReason",
    "verify_webhook",
]

#: Seconds a delivery's timestamp may differ from our clock (either way).
DEFAULT_TOLERANCE = 300.0

SECRET_ENV = "CLERK_WEBHOOK_SIGNING_SECRET"

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


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """A verified webhook delivery.

    Attributes:
        type: the event type, e.g. ``"user.created"``.
        data: the event's object (a user, session, organization...) as JSON.
        object: always ``"event"`` for Clerk events.
        timestamp: when Clerk created the event (milliseconds since the epoch), if sent.
        id: the delivery id (the ``svix-id`` header), the same across retries:
            use it to make your handler idempotent.
        instance_id: the Clerk instance that sent it, if sent.
        raw: the whole JSON body.
    """

    type: str
    data: Any
    object: str | None
    timestamp: int | None
    id: str
    instance_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


def _fail(reason: WebhookVerificationErrorReason, message: str) -> WebhookVerificationError:
    return WebhookVerificationError(reason, message)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): v for k, v in headers.items()}


def _pick_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    lowered = _lower(headers)
    for family in ("svix", "webhook"):
        msg_id = lowered.get(f"{family}-id")
        stamp = lowered.get(f"{family}-timestamp")
        signature = lowered.get(f"{family}-signature")
        if msg_id and stamp and signature:
            return msg_id, stamp.strip(), signature
    raise _fail(
        WebhookVerificationErrorReason.MISSING_HEADERS,
        "expected svix-id, svix-timestamp and svix-signature (or webhook-*) headers",
    )


class _WindowCheckedByCaller(Webhook):
    """``Webhook`` whose ``verify`` leaves the timestamp window to its caller.

    The package's ``verify`` fixes the window at five minutes (in its private
    ``__verify_timestamp``), which would refuse deliveries a wider ``tolerance``
    accepts. This subclass replaces that step with parsing only, so everything else
    (the HMAC, the constant-time comparison of every signature) stays the package's.
    Only used when ``tolerance`` exceeds five minutes, after :func:`verify_webhook`
    has checked the timestamp itself; a test pins the hook this relies on.
    """

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:
        return datetime.fromtimestamp(int(timestamp_header), tz=timezone.utc)


def _load_secret(secret: str | None, *, wide_window: bool) -> Webhook:
    value = secret if secret is not None else os.environ.get(SECRET_ENV)
    if not value or not value.strip():
        raise _fail(
            WebhookVerificationErrorReason.MISSING_SECRET,
            f"pass secret= or set {SECRET_ENV}",
        )
    value = value.strip()
    encoded = value[len("whsec_") :] if value.startswith("whsec_") else value
    try:
        # standardwebhooks decodes leniently (skipping stray characters); check first.
        base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        return _WindowCheckedByCaller(value) if wide_window else Webhook(value)
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


def _v1_signatures(header: str) -> list[str]:
    # The package splits on single spaces and unpacks each entry around one comma,
    # so an entry like "junk" or "v1,a,b" would crash it. Pass only well-formed v1
    # entries; other versions are skipped by the package anyway.
    kept = []
    for candidate in header.split():
        version, sep, encoded = candidate.partition(",")
        if version != "v1" or not sep:
            continue
        try:
            base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        kept.append(candidate)
    return kept


def _from_package(error: _PackageError) -> WebhookVerificationError:
    # Our own checks ran first, so a mismatch is what is left; a timestamp failure
    # is only possible when the clock moved past the five-minute edge in between.
    text = str(error).lower()
    if "too old" in text:
        return _fail(
            WebhookVerificationErrorReason.TIMESTAMP_TOO_OLD,
            f"the delivery is more than {DEFAULT_TOLERANCE:g}s old",
        )
    if "too new" in text:
        return _fail(
            WebhookVerificationErrorReason.TIMESTAMP_IN_FUTURE,
            f"the delivery is dated more than {DEFAULT_TOLERANCE:g}s ahead",
        )
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
    secret is being rotated), each compared in constant time by ``standardwebhooks``.
    The timestamp is checked here first against ``tolerance``, which gives a precise
    reason; at the default five minutes that is the package's own rule, which then
    runs again inside ``Webhook.verify``. A wider ``tolerance`` replaces the package's
    window (it cannot be configured), a narrower one is simply the stricter check.

    Raises:
        WebhookVerificationError: with a ``reason``.
    """
    webhook = _load_secret(secret, wide_window=tolerance > DEFAULT_TOLERANCE)
    msg_id, stamp, signatures = _pick_headers(headers)
    if not _DIGITS.fullmatch(stamp):
        raise _fail(WebhookVerificationErrorReason.MALFORMED, "the timestamp is not a Unix time")
    _check_window(int(stamp), tolerance)
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
    standard = {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": " ".join(v1)}
    try:
        webhook.verify(text, standard, json_parse=False)
    except _PackageError as exc:
        raise _from_package(exc) from None

    try:
        payload = json.loads(text)
    except ValueError:
        raise _fail(WebhookVerificationErrorReason.MALFORMED, "the body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise _fail(
            WebhookVerificationErrorReason.MALFORMED, "the body is not an event with a 'type'"
        )
    stamp_ms = payload.get("timestamp")
    obj = payload.get("object")
    instance = payload.get("instance_id")
    return WebhookEvent(
        type=payload["type"],
        data=payload.get("data"),
        object=obj if isinstance(obj, str) else None,
        timestamp=stamp_ms
        if isinstance(stamp_ms, int) and not isinstance(stamp_ms, bool)
        else None,
        id=msg_id,
        instance_id=instance if isinstance(instance, str) else None,
        raw=payload,
    )
