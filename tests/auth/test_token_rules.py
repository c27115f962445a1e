"""Token rules: pending sessions, ``cat`` categories, reverification, networkless machine JWTs."""

from __future__ import annotations

import time
from typing import Any

import pytest

from clerk_async import Clerk
from clerk_async.auth import (
    Auth,
    AuthReason,
    TokenType,
    TokenVerificationError,
    TokenVerificationErrorReason,
    authenticate_request,
    verify_machine_token,
)
from clerk_async.auth._verify import (
    CATEGORY_IGNORE,
    CATEGORY_JWT_TEMPLATE,
    CATEGORY_M2M_TOKEN,
    CATEGORY_SESSION_TOKEN,
)
from clerk_async.emulator import Emulator
from clerk_async.errors import InvalidOptionError

from .helpers import ClerkServer, claims, mint, public_pem

PEM = public_pem()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cookie_headers(token: str, uat: int | None = None) -> dict[str, str]:
    uat = int(time.time()) - 60 if uat is None else uat
    return {"Cookie": f"__session={token}; __client_uat={uat}"}


# -- pending sessions ------------------------------------------------------------------


@pytest.mark.parametrize("carrier", ["header", "cookie"])
async def test_a_pending_session_is_signed_out_by_default(carrier: str) -> None:
    token = mint(claims(sts="pending"))
    headers = bearer(token) if carrier == "header" else cookie_headers(token)
    state = await authenticate_request(headers=headers, jwt_key=PEM)
    assert not state.is_signed_in
    assert state.reason is AuthReason.SESSION_PENDING
    assert state.claims is not None and state.claims.session_status == "pending"
    auth = state.to_auth()
    assert (auth.user_id, auth.session_status, auth.is_authenticated) == (None, "pending", False)


async def test_a_pending_session_is_signed_in_when_allowed() -> None:
    token = mint(claims(sts="pending"))
    state = await authenticate_request(
        headers=bearer(token), jwt_key=PEM, treat_pending_as_signed_out=False
    )
    assert state.is_signed_in
    assert state.to_auth().session_status == "pending"


async def test_an_active_session_is_signed_in() -> None:
    state = await authenticate_request(headers=bearer(mint(claims(sts="active"))), jwt_key=PEM)
    assert state.is_signed_in and state.to_auth().session_status == "active"


# -- token categories ------------------------------------------------------------------

CATEGORIES = [
    (None, True),  # tokens minted before Clerk stamped categories
    (CATEGORY_SESSION_TOKEN, True),
    (CATEGORY_IGNORE, True),
    (CATEGORY_JWT_TEMPLATE, False),
    (CATEGORY_M2M_TOKEN, False),
    ("cl_unknown", False),
]


@pytest.mark.parametrize(("cat", "accepted"), CATEGORIES)
@pytest.mark.parametrize("carrier", ["header", "cookie"])
async def test_only_session_categories_pass_as_session_tokens(
    cat: str | None, accepted: bool, carrier: str
) -> None:
    token = mint(claims(), headers={} if cat is None else {"cat": cat})
    headers = bearer(token) if carrier == "header" else cookie_headers(token)
    state = await authenticate_request(headers=headers, jwt_key=PEM)
    assert state.is_signed_in is accepted
    if not accepted:
        assert state.reason is AuthReason.TOKEN_TYPE_NOT_ACCEPTED


async def test_an_m2m_jwt_in_the_session_cookie_is_not_a_session() -> None:
    token = mint(claims(sub="mch_robot", sid=None))  # no cat: judged by its subject
    state = await authenticate_request(headers=cookie_headers(token), jwt_key=PEM)
    assert state.reason is AuthReason.TOKEN_TYPE_NOT_ACCEPTED


async def test_an_m2m_jwt_as_bearer_is_an_m2m_token_not_accepted_by_default() -> None:
    token = mint(claims(sub="mch_robot", jti="mt_1"), headers={"cat": CATEGORY_M2M_TOKEN})
    state = await authenticate_request(headers=bearer(token), jwt_key=PEM)
    assert (state.reason, state.token_type) == (
        AuthReason.TOKEN_TYPE_NOT_ACCEPTED,
        TokenType.M2M_TOKEN,
    )


# -- reverification --------------------------------------------------------------------


def with_fva(first: int, second: int) -> Auth:
    return Auth(
        token_type=TokenType.SESSION_TOKEN,
        user_id="user_1",
        factor_verification_age=(first, second),
    )


REVERIFICATION = [
    # rule, (first, second) ages in minutes, expected
    ("strict", (0, 9), True),
    ("strict", (0, 10), False),  # the boundary: 10 minutes is no longer "within 10"
    ("strict", (9, -1), True),  # no second factor enrolled: the first decides
    ("strict", (10, -1), False),
    ("strict", (-1, 5), True),
    ("strict", (-1, -1), False),  # nothing enrolled: fail closed
    ("strict_mfa", (9, 9), True),
    ("strict_mfa", (9, 10), False),
    ("strict_mfa", (10, 9), False),
    ("strict_mfa", (5, -1), True),  # graceful: no second factor
    ("strict_mfa", (-1, 5), False),  # a second factor without a first cannot be multi
    ("moderate", (0, 59), True),
    ("moderate", (0, 60), False),
    ("lax", (0, 1439), True),
    ("lax", (0, 1440), False),
    ((30, "first_factor"), (29, 100), True),
    ((30, "first_factor"), (30, 0), False),
    ((30, "first_factor"), (-1, 0), False),
    ((30, "second_factor"), (100, 29), True),
    ((30, "multi_factor"), (29, 29), True),
    ((30, "multi_factor"), (29, 31), False),
]


@pytest.mark.parametrize(("rule", "fva", "expected"), REVERIFICATION)
def test_reverification_levels_at_their_boundaries(
    rule: Any, fva: tuple[int, int], expected: bool
) -> None:
    assert with_fva(*fva).has(reverification=rule) is expected


def test_reverification_without_fva_fails_closed() -> None:
    auth = Auth(token_type=TokenType.SESSION_TOKEN, user_id="user_1")
    assert auth.has(reverification="lax") is False


def test_reverification_combines_with_other_conditions() -> None:
    auth = Auth(
        token_type=TokenType.SESSION_TOKEN,
        user_id="user_1",
        org_id="org_1",
        org_role="org:admin",
        factor_verification_age=(1, 1),
    )
    assert auth.has(role="admin", reverification="strict")
    assert not auth.has(role="member", reverification="strict")
    assert not Auth().has(reverification="lax")  # signed out


@pytest.mark.parametrize(
    "rule", ["strictest", "", (0, "first_factor"), (10, "third_factor"), (True, "first_factor"), 10]
)
def test_an_unknown_reverification_rule_raises(rule: Any) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        with_fva(0, 0).has(reverification=rule)
    assert isinstance(caught.value, ValueError)
    assert "reverification" in str(caught.value)


async def test_fva_reaches_auth_from_a_verified_token() -> None:
    state = await authenticate_request(headers=bearer(mint(claims(fva=[3, -1]))), jwt_key=PEM)
    auth = state.to_auth()
    assert auth.factor_verification_age == (3, -1)
    assert auth.has(reverification="strict") and not with_fva(11, -1).has(reverification="strict")


# -- machine JWTs, networkless ---------------------------------------------------------


def m2m_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "mch_robot",
        "jti": "mt_abc",
        "iat": now - 5,
        "nbf": now - 5,
        "exp": now + 600,
        "scopes": "mch_a mch_b",
        "aud": ["mch_a", "mch_b"],
        "team": "ops",
    }
    base.update(overrides)
    return base


async def test_an_m2m_jwt_is_verified_without_any_request(server: ClerkServer) -> None:
    token = mint(m2m_claims(), headers={"cat": CATEGORY_M2M_TOKEN})
    state = await authenticate_request(
        headers=bearer(token), jwt_key=PEM, accepts_token="m2m_token"
    )
    assert state.is_signed_in and state.machine is not None
    assert (state.machine.id, state.machine.subject, state.machine.scopes) == (
        "mt_abc",
        "mch_robot",
        ("mch_a", "mch_b"),
    )
    assert state.machine.claims == {"team": "ops"}
    assert state.to_auth().machine_id == "mch_robot"
    assert sum(server.counts.values()) == 0


async def test_an_m2m_jwt_through_the_instance_jwks(server: ClerkServer, clerk: Clerk) -> None:
    token = mint(m2m_claims())
    for _ in range(3):
        machine = await verify_machine_token(token, clerk=clerk)
        assert machine.token_type is TokenType.M2M_TOKEN
    # The key set once, cached; never the M2M verify endpoint.
    assert dict(server.counts) == {"jwks": 1}


async def test_an_oauth_jwt_is_verified_without_any_request(server: ClerkServer) -> None:
    now = int(time.time())
    payload = {
        "sub": "user_1",
        "jti": "oat_1",
        "client_id": "client_9",
        "scp": ["read", "write"],
        "iat": now,
        "exp": now + 60,
    }
    token = mint(payload, headers={"typ": "at+jwt"})
    state = await authenticate_request(
        headers=bearer(token), jwt_key=PEM, accepts_token="oauth_token"
    )
    assert state.is_signed_in and state.machine is not None
    assert (state.machine.client_id, state.machine.scopes, state.to_auth().user_id) == (
        "client_9",
        ("read", "write"),
        "user_1",
    )
    assert sum(server.counts.values()) == 0


@pytest.mark.parametrize(
    ("payload", "headers", "reason"),
    [
        (m2m_claims(exp=int(time.time()) - 60), {}, TokenVerificationErrorReason.EXPIRED),
        (m2m_claims(), {"cat": CATEGORY_JWT_TEMPLATE}, TokenVerificationErrorReason.INVALID_TOKEN),
        (m2m_claims(jti=None), {}, TokenVerificationErrorReason.MISSING_CLAIM),
        (m2m_claims(exp=None), {}, TokenVerificationErrorReason.MISSING_CLAIM),
    ],
)
async def test_bad_machine_jwts_are_rejected(
    payload: dict[str, Any], headers: dict[str, Any], reason: TokenVerificationErrorReason
) -> None:
    token = mint({k: v for k, v in payload.items() if v is not None}, headers=headers)
    with pytest.raises(TokenVerificationError) as caught:
        await verify_machine_token(token, jwt_key=PEM)
    assert caught.value.reason is reason


async def test_a_machine_jwt_signed_by_another_key_is_rejected() -> None:
    token = mint(m2m_claims(), key="other")
    with pytest.raises(TokenVerificationError) as caught:
        await verify_machine_token(token, jwt_key=PEM)
    assert caught.value.reason is TokenVerificationErrorReason.INVALID_SIGNATURE


async def test_opaque_machine_tokens_still_go_to_clerk(server: ClerkServer, clerk: Clerk) -> None:
    server.machine_answers[("/m2m_tokens/verify", "mt_opaque")] = (
        200,
        {"id": "mt_1", "subject": "mch_1", "scopes": []},
    )
    machine = await verify_machine_token("mt_opaque", clerk=clerk)
    assert machine.subject == "mch_1" and server.counts["/m2m_tokens/verify"] == 1


async def test_emulator_tokens_carry_categories_and_claims() -> None:
    async with Emulator() as emu, emu.client() as clerk:
        user = await clerk.users.create(email_address=["cat@example.com"])
        assert user.id is not None
        key = emu.jwt_public_key_pem
        session = emu.mint_session_token(user.id, fva=(2, -1))
        signed_in = await authenticate_request(headers=bearer(session), jwt_key=key)
        assert signed_in.is_signed_in and signed_in.to_auth().has(reverification="strict")
        pending = emu.mint_session_token(user.id, status="pending")
        state = await authenticate_request(headers=bearer(pending), jwt_key=key)
        assert state.reason is AuthReason.SESSION_PENDING
        template = emu.mint_template_jwt(user.id)
        state = await authenticate_request(headers=bearer(template), jwt_key=key)
        assert state.reason is AuthReason.TOKEN_TYPE_NOT_ACCEPTED
        before = emu.request_count
        m2m = await authenticate_request(
            headers=bearer(emu.mint_m2m_jwt("mch_x", scopes=["mch_y"])),
            jwt_key=key,
            accepts_token="any",
        )
        oauth = await authenticate_request(
            headers=bearer(emu.mint_oauth_jwt(user.id, scopes=["email"])),
            jwt_key=key,
            accepts_token="any",
        )
        assert m2m.to_auth().machine_id == "mch_x" and m2m.to_auth().scopes == ("mch_y",)
        assert oauth.to_auth().user_id == user.id and oauth.to_auth().scopes == ("email",)
        assert emu.request_count == before  # networkless
