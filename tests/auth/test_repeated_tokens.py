"""A repeated token is answered from the caches, and nobody can tell from the answer.

The first time a session token comes in a header, ``authenticate_request`` reads its
header and claims (is it a session token at all?) and checks its signature; the cache
entry then records that it was found a session token's, and later requests with the same
token go straight to it. These tests show the second answer is the first one's for every
rule that can change between requests (options, the clock, the key), and that the short
way is really taken.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from clerk_async.auth import (
    AuthReason,
    RequestState,
    TokenType,
    _request,
    authenticate_request,
    verify_token,
)
from clerk_async.auth._verify import CATEGORY_JWT_TEMPLATE

from .helpers import claims, mint, public_pem

PEM = public_pem()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def facts(state: RequestState) -> tuple[Any, ...]:
    return (state.status, state.reason, state.token_type, state.claims, state.to_auth())


async def twice(token: str, **options: Any) -> tuple[RequestState, RequestState]:
    first = await authenticate_request(headers=bearer(token), jwt_key=PEM, **options)
    second = await authenticate_request(headers=bearer(token), jwt_key=PEM, **options)
    return first, second


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each time a token's routing facts (header and claims) are asked for."""
    reads: list[str] = []
    real = _request._jwt_facts

    def counted(token: str, digest: bytes | None) -> Any:
        reads.append(token)
        return real(token, digest)

    monkeypatch.setattr(_request, "_jwt_facts", counted)
    return reads


async def test_the_second_request_is_answered_from_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = count_reads(monkeypatch)
    token = mint()
    first, second = await twice(token, authorized_parties=["https://app.example.com"])
    assert first.is_signed_in and facts(second) == facts(first)
    assert second.token == token
    assert len(reads) == 1  # the routing facts were asked for the first time only
    assert second.to_auth() is first.to_auth()  # the Auth built once, kept with the entry


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"authorized_parties": ["https://other.example.com"]}, "unauthorized_party"),
        ({"audience": "api"}, "invalid_audience"),
        ({"issuer": "https://someone.else"}, "invalid_issuer"),
        ({"now": lambda: time.time() + 3600}, "expired"),
        ({"now": lambda: time.time() - 3600}, "not_yet_valid"),
    ],
)
async def test_options_and_the_clock_still_apply_to_a_repeated_token(
    options: dict[str, Any], reason: str
) -> None:
    token = mint()
    assert (await authenticate_request(headers=bearer(token), jwt_key=PEM)).is_signed_in
    again = await authenticate_request(headers=bearer(token), jwt_key=PEM, **options)
    assert not again.is_signed_in
    assert again.reason is not None and again.reason.value == reason
    fresh = await authenticate_request(headers=bearer(mint()), jwt_key=PEM, **options)
    assert fresh.reason == again.reason  # as a token seen for the first time


async def test_a_repeated_token_of_a_type_not_accepted_is_refused_as_before() -> None:
    token = mint()
    assert (await authenticate_request(headers=bearer(token), jwt_key=PEM)).is_signed_in
    again = await authenticate_request(
        headers=bearer(token), jwt_key=PEM, accepts_token=[TokenType.M2M_TOKEN]
    )
    assert again.reason is AuthReason.TOKEN_TYPE_NOT_ACCEPTED
    assert again.token_type is TokenType.SESSION_TOKEN


async def test_a_repeated_token_under_another_key_is_checked_again() -> None:
    token = mint()
    assert (await authenticate_request(headers=bearer(token), jwt_key=PEM)).is_signed_in
    other = await authenticate_request(headers=bearer(token), jwt_key=public_pem("other"))
    assert other.reason is not None and other.reason.value == "invalid_signature"


async def test_pending_sessions_follow_the_option_on_every_request() -> None:
    token = mint(claims(sts="pending"))
    first, second = await twice(token)
    assert first.reason is second.reason is AuthReason.SESSION_PENDING
    allowed = await authenticate_request(
        headers=bearer(token), jwt_key=PEM, treat_pending_as_signed_out=False
    )
    assert allowed.is_signed_in


async def test_a_token_verified_elsewhere_is_read_once_in_a_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """verify_token() fills the signature cache without reading the token's class: the
    first request with it still reads it, and refuses a template token."""
    reads = count_reads(monkeypatch)
    template = mint(headers={"cat": CATEGORY_JWT_TEMPLATE})
    await verify_token(template, jwt_key=PEM)
    for _ in range(2):
        state = await authenticate_request(headers=bearer(template), jwt_key=PEM)
        assert state.reason is AuthReason.TOKEN_TYPE_NOT_ACCEPTED
    assert len(reads) == 2  # never taken for a session token's, so asked each time
    session = mint()
    await verify_token(session, jwt_key=PEM)
    first, second = await twice(session)
    assert first.is_signed_in and facts(second) == facts(first)
    assert len(reads) == 3


async def test_a_machine_jwt_is_never_answered_as_a_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = count_reads(monkeypatch)
    m2m = mint(claims(sub="mch_1", sid=None, azp=None))
    first, second = await twice(m2m, accepts_token="any")
    assert first.token_type is second.token_type is TokenType.M2M_TOKEN
    assert len(reads) == 2
