"""verify_webhook against deliveries signed here by hand (HMAC-SHA256, Svix scheme)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from standardwebhooks import webhooks as standard

from clerk_async.errors import ClerkError
from clerk_async.webhooks import (
    User,
    UserCreated,
    WebhookVerificationError,
    WebhookVerificationErrorReason,
    verify_webhook,
)

W = WebhookVerificationErrorReason
RAW_SECRET = b"clerk-webhook-test-secret-bytes!"
SECRET = "whsec_" + base64.b64encode(RAW_SECRET).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"some-other-secret-entirely......").decode()

EVENT = {
    "data": {"id": "user_29w83sxmDNGwOuEthce5gg56FcC", "object": "user"},
    "event_attributes": {"http_request": {"client_ip": "0.0.0.0"}},
    "instance_id": "ins_123",
    "object": "event",
    "timestamp": 1654012591835,
    "type": "user.created",
}
BODY = json.dumps(EVENT).encode()


def signature(body: bytes, msg_id: str, stamp: int | str, key: bytes = RAW_SECRET) -> str:
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(
    body: bytes = BODY,
    *,
    stamp: int | None = None,
    msg_id: str = "msg_2Zbtmt7ZSa1Xq8yNBzJ3pBDdOEa",
    prefix: str = "svix",
    sig: str | None = None,
) -> dict[str, str]:
    when = int(time.time()) if stamp is None else stamp
    return {
        f"{prefix}-id": msg_id,
        f"{prefix}-timestamp": str(when),
        f"{prefix}-signature": sig if sig is not None else signature(body, msg_id, when),
    }


@pytest.fixture(autouse=True)
def _no_env_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLERK_WEBHOOK_SIGNING_SECRET", raising=False)


def rejected(body: bytes, hdrs: dict[str, str], **kwargs: Any) -> WebhookVerificationErrorReason:
    kwargs.setdefault("secret", SECRET)
    with pytest.raises(WebhookVerificationError) as info:
        verify_webhook(body, hdrs, **kwargs)
    assert isinstance(info.value, ClerkError)
    assert SECRET not in str(info.value)
    return info.value.reason


def test_valid_delivery() -> None:
    event = verify_webhook(BODY, headers(), secret=SECRET)
    assert isinstance(event, UserCreated)
    assert event.type == "user.created"
    assert event.object == "event"
    assert isinstance(event.data, User)
    assert event.data.id == "user_29w83sxmDNGwOuEthce5gg56FcC"
    assert event.timestamp == 1654012591835
    assert event.instance_id == "ins_123"
    assert event.id == "msg_2Zbtmt7ZSa1Xq8yNBzJ3pBDdOEa"
    assert event.raw == EVENT


def test_webhook_prefixed_headers_and_any_case() -> None:
    assert verify_webhook(BODY, headers(prefix="webhook"), secret=SECRET).type == "user.created"
    upper = {k.upper(): v for k, v in headers().items()}
    assert verify_webhook(BODY, upper, secret=SECRET).type == "user.created"


def test_str_body_and_unprefixed_secret() -> None:
    unprefixed = SECRET.removeprefix("whsec_")
    assert verify_webhook(BODY.decode(), headers(), secret=unprefixed).type == "user.created"


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
    assert verify_webhook(BODY, headers()).type == "user.created"


def test_tampered_body() -> None:
    tampered = BODY.replace(b"user.created", b"user.deleted")
    assert rejected(tampered, headers()) is W.INVALID_SIGNATURE


def test_tampered_id_or_timestamp() -> None:
    good = headers()
    assert rejected(BODY, {**good, "svix-id": "msg_other"}) is W.INVALID_SIGNATURE
    shifted = {**good, "svix-timestamp": str(int(good["svix-timestamp"]) - 1)}
    assert rejected(BODY, shifted) is W.INVALID_SIGNATURE


def test_wrong_secret() -> None:
    assert rejected(BODY, headers(), secret=OTHER_SECRET) is W.INVALID_SIGNATURE


def test_old_and_future_timestamps() -> None:
    now = int(time.time())
    assert rejected(BODY, headers(stamp=now - 400)) is W.TIMESTAMP_TOO_OLD
    assert rejected(BODY, headers(stamp=now + 400)) is W.TIMESTAMP_IN_FUTURE
    # Within the default five minutes either way.
    assert verify_webhook(BODY, headers(stamp=now - 250), secret=SECRET)
    assert verify_webhook(BODY, headers(stamp=now + 250), secret=SECRET)


def test_tolerance_is_honoured() -> None:
    now = int(time.time())
    assert verify_webhook(BODY, headers(stamp=now - 3000), secret=SECRET, tolerance=3600)
    assert verify_webhook(BODY, headers(stamp=now + 3000), secret=SECRET, tolerance=3600)
    assert rejected(BODY, headers(stamp=now - 120), tolerance=60) is W.TIMESTAMP_TOO_OLD
    assert rejected(BODY, headers(stamp=now + 120), tolerance=60) is W.TIMESTAMP_IN_FUTURE


def test_wide_tolerance_still_checks_signatures_and_its_own_window() -> None:
    now = int(time.time())
    wide = {"tolerance": 3600}
    assert rejected(BODY, headers(stamp=now - 3000), secret=OTHER_SECRET, **wide) is (
        W.INVALID_SIGNATURE
    )
    tampered = BODY.replace(b"user.created", b"user.deleted")
    assert rejected(tampered, headers(stamp=now + 3000), **wide) is W.INVALID_SIGNATURE
    assert rejected(BODY, headers(stamp=now - 4000), **wide) is W.TIMESTAMP_TOO_OLD
    # Every v1 signature is tried there too (a secret being rotated).
    good = signature(BODY, "msg_wide", now - 3000)
    bad = signature(BODY, "msg_wide", now - 3000, key=b"rotated-out-old-secret")
    rotated = headers(msg_id="msg_wide", stamp=now - 3000, sig=f"v2,abc {bad} {good}")
    assert verify_webhook(BODY, rotated, secret=SECRET, **wide).id == "msg_wide"
    assert rejected(BODY, headers(stamp=now + 4000), **wide) is W.TIMESTAMP_IN_FUTURE


def test_the_package_checks_the_signatures(monkeypatch: pytest.MonkeyPatch) -> None:
    verified: list[dict[str, str]] = []
    signed: list[tuple[str, int]] = []
    original_verify, original_sign = standard.Webhook.verify, standard.Webhook.sign

    def verify(self: standard.Webhook, data: Any, hdrs: dict[str, str], **kwargs: Any) -> Any:
        verified.append(hdrs)
        return original_verify(self, data, hdrs, **kwargs)

    def sign(self: standard.Webhook, msg_id: str, timestamp: Any, data: Any) -> str:
        signed.append((msg_id, int(timestamp.timestamp())))
        return original_sign(self, msg_id, timestamp, data)

    monkeypatch.setattr(standard.Webhook, "verify", verify)
    now = int(time.time())
    verify_webhook(BODY, headers(stamp=now), secret=SECRET)
    assert rejected(BODY, headers(stamp=now), secret=OTHER_SECRET) is W.INVALID_SIGNATURE
    assert len(verified) == 2
    # svix-* headers reach the package under its webhook-* names.
    assert set(verified[0]) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert verified[0]["webhook-timestamp"] == str(now)

    # Beyond its fixed five-minute window the package signs (a public method), we compare.
    monkeypatch.setattr(standard.Webhook, "sign", sign)
    verify_webhook(BODY, headers(stamp=now - 3000), secret=SECRET, tolerance=3600)
    assert len(verified) == 2
    assert signed == [("msg_2Zbtmt7ZSa1Xq8yNBzJ3pBDdOEa", now - 3000)]


def test_a_rejection_by_the_package_is_mapped_by_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    # The package raises one exception type whatever went wrong; the reason is
    # decided here (our own window checked again), never read from its message.
    now = time.time()
    clock = [now]
    monkeypatch.setattr(time, "time", lambda: clock[0])

    def refuse(self: standard.Webhook, data: Any, hdrs: dict[str, str], **kwargs: Any) -> Any:
        raise standard.WebhookVerificationError("Message timestamp too old")

    monkeypatch.setattr(standard.Webhook, "verify", refuse)
    assert rejected(BODY, headers(stamp=int(now))) is W.INVALID_SIGNATURE

    def refuse_later(self: standard.Webhook, data: Any, hdrs: dict[str, str], **kwargs: Any) -> Any:
        clock[0] = now + 400  # the clock crossed the window's edge meanwhile
        raise standard.WebhookVerificationError("No matching signature found")

    monkeypatch.setattr(standard.Webhook, "verify", refuse_later)
    assert rejected(BODY, headers(stamp=int(now))) is W.TIMESTAMP_TOO_OLD


@pytest.mark.parametrize("missing", ["svix-id", "svix-timestamp", "svix-signature"])
def test_missing_headers(missing: str) -> None:
    hdrs = headers()
    del hdrs[missing]
    assert rejected(BODY, hdrs) is W.MISSING_HEADERS
    assert rejected(BODY, {**hdrs, missing: ""}) is W.MISSING_HEADERS


def test_no_headers_at_all() -> None:
    assert rejected(BODY, {}) is W.MISSING_HEADERS


def test_multiple_signatures() -> None:
    now = int(time.time())
    msg_id = "msg_multi"
    good = signature(BODY, msg_id, now)
    bad = signature(BODY, msg_id, now, key=b"rotated-out-old-secret")
    for sig in (
        f"{bad} {good}",
        f"{good} {bad}",
        f"v2,abc {good}",
        f"junk {good}",
        f"v1,!!! {good}",
        f"v1,abc {good}",  # bad padding
        f"v1,a,b {good}",
        f"v1, {good}",
        f"{bad}   {good}\t",
    ):
        hdrs = headers(msg_id=msg_id, stamp=now, sig=sig)
        assert verify_webhook(BODY, hdrs, secret=SECRET).type == "user.created", sig
    assert (
        rejected(BODY, headers(msg_id=msg_id, stamp=now, sig=f"{bad} {bad}")) is W.INVALID_SIGNATURE
    )
    v2_only = "v2," + good.partition(",")[2]
    assert rejected(BODY, headers(msg_id=msg_id, stamp=now, sig=v2_only)) is W.INVALID_SIGNATURE
    with pytest.raises(WebhookVerificationError, match="no 'v1,<base64>' signature"):
        verify_webhook(BODY, headers(msg_id=msg_id, stamp=now, sig="junk v1,abc"), secret=SECRET)


def test_malformed_timestamp() -> None:
    for stamp in ("yesterday", "1.5e9", "-5", "0x10"):
        hdrs = {**headers(), "svix-timestamp": stamp}
        assert rejected(BODY, hdrs) is W.MALFORMED, stamp


def test_signed_but_malformed_bodies() -> None:
    for body in (b"not json", b"[1, 2]", b'{"data": {}}', b"\xff\xfe"):
        assert rejected(body, headers(body)) is W.MALFORMED, body


def test_missing_and_invalid_secret() -> None:
    assert rejected(BODY, headers(), secret=None) is W.MISSING_SECRET
    assert rejected(BODY, headers(), secret="  ") is W.MISSING_SECRET
    assert rejected(BODY, headers(), secret="whsec_***not base64***") is W.INVALID_SECRET
    assert rejected(BODY, headers(), secret="whsec_") is W.INVALID_SECRET


def test_error_pickles_with_its_reason() -> None:
    import pickle

    error = WebhookVerificationError(W.INVALID_SIGNATURE, "no match")
    again = pickle.loads(pickle.dumps(error))
    assert again.reason is W.INVALID_SIGNATURE and str(again) == str(error)
