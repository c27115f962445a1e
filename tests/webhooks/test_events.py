"""Every event type decodes into its typed event; unknown types into the generic one.

The sample payloads are built from the generated models themselves (not from the
spec), so these run without the spec beside the repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
import typing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import attrs
import pytest
from standardwebhooks.webhooks import Webhook

from clerk_async import webhooks
from clerk_async._convert import ResponseModel

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REPO = Path(__file__).resolve().parents[2]
SPEC = REPO.parent / "shared" / "clerk-bapi" / "webhooks-2025-04-15.yml"
MAX_DEPTH = 4


def _members(tp: Any) -> list[Any]:
    if get_origin(tp) in (Union, types.UnionType):
        return [m for m in get_args(tp) if m is not type(None)]
    return [tp]


def _fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(typing.cast(Any, cls))
    return fields


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def sample(tp: Any, depth: int = 0) -> Any:
    """A JSON value of type ``tp`` (the first member of a union)."""
    tp = _members(tp)[0]
    if isinstance(tp, type) and issubclass(tp, ResponseModel):
        if depth >= MAX_DEPTH:
            return {}
        hints = _hints(tp)
        return {
            f.metadata.get("json", f.name): sample(hints[f.name], depth + 1) for f in _fields(tp)
        }
    origin = get_origin(tp)
    if origin is list:
        return [sample(get_args(tp)[0], depth + 1)]
    if origin is dict or tp is dict:
        return {"key": "value"}
    return {str: "text", int: 7, float: 1.5, bool: True}.get(tp, "anything")


def check(value: Any, tp: Any, raw: Any) -> None:
    """``value`` is ``raw`` decoded as ``tp``: the right model at every level."""
    member = _members(tp)[0]
    if isinstance(member, type) and issubclass(member, ResponseModel):
        assert isinstance(value, tuple(_members(tp)))
        model = type(value)
        hints = _hints(model)
        for f in _fields(model):
            key = f.metadata.get("json", f.name)
            if key in raw:
                check(getattr(value, f.name), hints[f.name], raw[key])
    elif get_origin(member) is list:
        assert len(value) == len(raw)
        for item, item_raw in zip(value, raw, strict=True):
            check(item, get_args(member)[0], item_raw)
    else:
        assert value == raw


def deliver(payload: dict[str, Any], msg_id: str = "msg_1") -> webhooks.WebhookEvent:
    body = json.dumps(payload)
    now = datetime.now(tz=timezone.utc)
    headers = {
        "svix-id": msg_id,
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": Webhook(SECRET).sign(msg_id, now, body),
    }
    return webhooks.verify_webhook(body.encode(), headers, secret=SECRET)


def test_the_spec_has_45_event_types() -> None:
    assert len(webhooks.EVENT_TYPES) == 45
    assert len(get_args(webhooks.WebhookEvent)) == 46  # and the generic event


@pytest.mark.parametrize("event_type", sorted(webhooks.EVENT_TYPES))
def test_sample_of_each_event_type_decodes_into_its_class(event_type: str) -> None:
    cls = webhooks.EVENT_TYPES[event_type]
    data_type = _hints(cls)["data"]
    data = sample(data_type)
    payload = {
        "object": "event",
        "type": event_type,
        "timestamp": 1716883200,
        "instance_id": "ins_123",
        "event_attributes": {"http_request": {"client_ip": "127.0.0.1"}},
        "data": data,
    }
    event = deliver(payload, msg_id=f"msg_{event_type}")
    assert type(event) is cls
    assert cls.TYPE == event.type == event_type
    assert event.id == f"msg_{event_type}"
    assert event.instance_id == "ins_123"
    assert event.event_attributes == {"http_request": {"client_ip": "127.0.0.1"}}
    check(event.data, data_type, data)


def test_named_events_carry_their_models() -> None:
    created = deliver({"object": "event", "type": "user.created", "data": {"id": "user_1"}})
    assert isinstance(created, webhooks.UserCreated)
    assert isinstance(created.data, webhooks.User)
    ended = deliver({"type": "session.ended", "data": {"id": "sess_1", "user": {"id": "u"}}})
    assert isinstance(ended, webhooks.SessionEnded)
    assert isinstance(ended.data.user, webhooks.User)
    membership = deliver({"type": "organizationMembership.created", "data": {"role": "org:admin"}})
    assert isinstance(membership, webhooks.OrganizationMembershipCreated)
    assert membership.data.role == "org:admin"


def test_unknown_type_arrives_as_generic_event() -> None:
    event = deliver({"object": "event", "type": "brand.new", "data": {"x": [1, 2]}})
    assert type(event) is webhooks.UnknownWebhookEvent
    assert event.type == "brand.new"
    assert event.data == {"x": [1, 2]}


def test_data_of_the_wrong_shape_is_kept_not_an_error() -> None:
    event = deliver({"type": "user.created", "data": "not an object"})
    assert isinstance(event, webhooks.UserCreated)
    assert event.data == typing.cast(Any, "not an object")


@pytest.mark.skipif(not SPEC.exists(), reason="the webhook spec is not beside the repository")
def test_generated_module_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "tools/generate_webhooks.py", str(SPEC), "--check"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
