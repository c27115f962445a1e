"""What the emulator puts on the wire where the SDK cannot be made to send or see it:
bodies with wrong field types, the Retry-After header, errors that are never plain text."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from clerk_async import errors
from clerk_async.emulator import Emulator, Faults

from ..conftest import FAST_RETRIES


class Raw:
    def __init__(self, session: aiohttp.ClientSession, emu: Emulator) -> None:
        self.session = session
        self.emu = emu

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(method, self.emu.url + "/v1" + path, json=body) as resp:
            assert resp.content_type == "application/json"
            return resp.status, await resp.json()


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    async with Emulator(seed_users=2) as emu:
        headers = {"Authorization": f"Bearer {emu.secret_key}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            yield Raw(session, emu)


BAD_BODIES = [
    ("POST", "/users", {"email_address": ["t@example.com"], "external_id": 5}, "external_id"),
    ("POST", "/users", {"email_address": ["t@example.com"], "public_metadata": "s"}, "public_metadata"),
    ("POST", "/users", {"email_address": ["t@example.com"], "username": 1234}, "username"),
    ("POST", "/users", {"email_address": [7]}, "email_address"),
    ("POST", "/users", {"email_address": "a@b.com"}, "email_address"),
    ("POST", "/users", {"email_address": ["a@b.com"], "phone_number": "+15555550100"}, "phone_number"),
    ("POST", "/users", {"email_address": ["t@example.com"], "password": 12345678}, "password"),
    ("PATCH", "/users/{user}", {"external_id": 5}, "external_id"),
    ("PATCH", "/users/{user}", {"first_name": ["x"]}, "first_name"),
    ("PATCH", "/users/{user}/metadata", {"public_metadata": "str"}, "public_metadata"),
    ("PUT", "/users/{user}/metadata", {"unsafe_metadata": 3}, "unsafe_metadata"),
    ("POST", "/organizations", {"name": "X", "max_allowed_memberships": "abc"}, "max_allowed_memberships"),
    ("POST", "/organizations", {"name": "X", "max_allowed_memberships": True}, "max_allowed_memberships"),
    ("POST", "/organizations", {"name": ["X"]}, "name"),
    ("POST", "/organizations", {"name": "X", "public_metadata": "str"}, "public_metadata"),
    ("PATCH", "/organizations/{org}", {"max_allowed_memberships": "abc"}, "max_allowed_memberships"),
    ("PATCH", "/organizations/{org}", {"admin_delete_enabled": "yes"}, "admin_delete_enabled"),
    ("PUT", "/organizations/{org}/metadata", {"private_metadata": "str"}, "private_metadata"),
    ("POST", "/organizations/{org}/memberships", {"user_id": 1, "role": "org:member"}, "user_id"),
    ("PATCH", "/organizations/{org}/memberships/{user}", {"role": 3}, "role"),
    ("POST", "/organizations/{org}/invitations", {"email_address": 1, "role": "org:member"}, "email_address"),
    ("POST", "/invitations", {"email_address": "i@example.com", "expires_in_days": "7"}, "expires_in_days"),
    ("POST", "/allowlist_identifiers", {"identifier": 42}, "identifier"),
    ("POST", "/sessions", {"user_id": ["u"]}, "user_id"),
    ("POST", "/sessions/{session}/tokens", {"expires_in_seconds": "60"}, "expires_in_seconds"),
    ("POST", "/clients/verify", {"token": 1}, "token"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "template", "body", "param"), BAD_BODIES)
async def test_wrong_field_types_are_422(
    raw: Raw, method: str, template: str, body: dict[str, Any], param: str
) -> None:
    store = raw.emu.store
    user = next(iter(store.users))
    status, org = await raw.call("POST", "/organizations", {"name": "Org", "created_by": user})
    assert status == 200
    session = store.start_session(user)
    path = template.format(user=user, org=org["id"], session=session["id"])
    before = (len(store.users), len(store.organizations), dict(store.users[user]))

    status, answer = await raw.call(method, path, body)

    assert status == 422, answer
    (error,) = answer["errors"]
    assert error["code"] == "form_param_format_invalid"
    assert error["meta"] == {"param_name": param}
    assert answer["clerk_trace_id"]
    assert (len(store.users), len(store.organizations), store.users[user]) == before


async def send_raw(raw: Raw, method: str, path: str, data: bytes) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    url = raw.emu.url + "/v1" + path
    payload = io.BytesIO(data)  # aiohttp warns about large raw bytes
    async with raw.session.request(method, url, data=payload, headers=headers) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000,  # unterminated: too deep for the parser
        b'{"public_metadata": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001,  # parses, too deep
        b'{"email_address": ["d@example.com"], "public_metadata": '
        + b"[" * 100
        + b"]" * 100
        + b"}",
    ],
)
async def test_a_deeply_nested_body_is_a_clerk_shaped_400(raw: Raw, body: bytes) -> None:
    before = len(raw.emu.store.users)
    status, answer = await send_raw(raw, "POST", "/users", body)
    assert status == 400, answer
    assert answer["errors"][0]["code"] == "malformed_request"
    assert "nested too deeply" in answer["errors"][0]["message"]
    assert len(raw.emu.store.users) == before


async def test_a_body_over_the_limit_is_a_clerk_shaped_413(raw: Raw) -> None:
    big = b'{"email_address": ["b@example.com"], "first_name": "' + b"x" * 2_000_000 + b'"}'
    status, answer = await send_raw(raw, "POST", "/users", big)
    assert status == 413
    assert answer["errors"][0]["code"] == "request_body_too_large"
    assert answer["clerk_trace_id"]


async def test_external_id_is_kept_a_string(raw: Raw) -> None:
    status, user = await raw.call(
        "POST", "/users", {"email_address": ["s@example.com"], "external_id": "5"}
    )
    assert (status, user["external_id"]) == (200, "5")


async def test_unexpected_failure_answers_json(
    raw: Raw, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(body: object) -> object:
        raise ZeroDivisionError

    monkeypatch.setattr(raw.emu.store, "make_user", broken)
    status, answer = await raw.call("POST", "/users", {"email_address": ["z@example.com"]})
    assert status == 500
    assert answer["errors"][0]["code"] == "internal_clerk_error"
    assert answer["errors"][0]["message"] and answer["clerk_trace_id"]
    assert "ZeroDivisionError" in caplog.text


@pytest.mark.parametrize(
    ("retry_after", "exact", "header"),
    [(0.2, False, "1"), (1.0, False, "1"), (2.5, False, "3"), (0, False, "0"), (0.2, True, "0.2")],
)
async def test_retry_after_is_whole_seconds_unless_asked(
    retry_after: float, exact: bool, header: str
) -> None:
    faults = Faults(rate_limit_rate=1.0, retry_after=retry_after, exact_retry_after=exact)
    async with Emulator(faults=faults) as emu:
        auth = {"Authorization": f"Bearer {emu.secret_key}"}
        async with aiohttp.ClientSession(headers=auth) as session:
            async with session.get(emu.url + "/v1/users/count") as resp:
                assert resp.status == 429
                assert resp.headers["Retry-After"] == header
                assert (await resp.json())["errors"][0]["code"] == "too_many_requests"
            emu.faults.rate_limit_rate = 0.0
            emu.faults.fail_next(429, retry_after=retry_after)
            async with session.get(emu.url + "/v1/users/count") as resp:
                assert resp.headers["Retry-After"] == header


async def test_sdk_sees_whole_second_retry_after() -> None:
    async with Emulator() as emu, emu.client(retries=FAST_RETRIES) as clerk:
        emu.faults.fail_next(429, retry_after=0.3)
        with pytest.raises(errors.RateLimitError) as info:
            await clerk.with_options(retries=0).users.count()
        assert info.value.retry_after == 1.0
