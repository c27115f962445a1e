"""Machine tokens against a local server speaking the verify endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from clerk_async import Clerk
from clerk_async.auth import (
    MachineAuth,
    TokenType,
    TokenVerificationError,
    TokenVerificationErrorReason,
    verify_machine_token,
)

from .helpers import SECRET_KEY, ClerkServer

R = TokenVerificationErrorReason

API_KEY = "ak_" + "1" * 32
M2M = "mt_" + "2" * 32
OAT = "oat_" + "3" * 32


def api_key_answer(**overrides: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "object": "api_key",
        "id": "ak_3beecc9c60adb5f9b850e91a8ee1e992",
        "type": "api_key",
        "subject": "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
        "name": "ci",
        "description": None,
        "claims": {"team": "infra"},
        "scopes": ["read", "write"],
        "revoked": False,
        "revocation_reason": None,
        "expired": False,
        "expiration": None,
        "created_by": None,
        "last_used_at": None,
        "created_at": 1716883200,
        "updated_at": 1716883200,
    }
    answer.update(overrides)
    return answer


M2M_ANSWER = {
    "object": "machine_to_machine_token",
    "id": "mt_f7f0ba8c3b4843ce7d85fcdd5e71853e",
    "subject": "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
    "claims": None,
    "scopes": ["mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em"],
    "revoked": False,
    "revocation_reason": None,
    "expired": False,
    "expiration": 1716883200000,
    "last_used_at": None,
    "created_at": 1716883200000,
    "updated_at": 1716883200000,
}

OAT_ANSWER = {
    "object": "clerk_idp_oauth_access_token",
    "id": "oat_0ef5a7a33d87ed87ee7954c845d80450",
    "client_id": "client_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
    "subject": "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
    "scopes": ["profile"],
    "revoked": False,
    "revocation_reason": None,
    "expired": False,
    "expiration": None,
    "created_at": 1716883200,
    "updated_at": 1716883200,
}


async def test_api_key(clerk: Clerk, server: ClerkServer) -> None:
    server.machine_answers[("/api_keys/verify", API_KEY)] = (200, api_key_answer())
    machine = await verify_machine_token(API_KEY, clerk=clerk)
    assert isinstance(machine, MachineAuth)
    assert machine.token_type is TokenType.API_KEY
    assert machine.id == "ak_3beecc9c60adb5f9b850e91a8ee1e992"
    assert machine.subject == machine.user_id == "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
    assert machine.org_id is None and machine.machine_id is None
    assert machine.scopes == ("read", "write")
    assert machine.claims == {"team": "infra"}
    assert machine.name == "ci"
    assert server.bodies == [("/api_keys/verify", {"secret": API_KEY})]
    assert API_KEY not in repr(machine)


async def test_m2m_token(clerk: Clerk, server: ClerkServer) -> None:
    server.machine_answers[("/m2m_tokens/verify", M2M)] = (200, M2M_ANSWER)
    machine = await verify_machine_token(M2M, clerk=clerk)
    assert machine.token_type is TokenType.M2M_TOKEN
    assert machine.machine_id == "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
    assert machine.scopes == ("mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em",)
    assert machine.expiration == 1716883200000
    assert server.bodies == [("/m2m_tokens/verify", {"token": M2M})]


async def test_oauth_token(clerk: Clerk, server: ClerkServer) -> None:
    server.machine_answers[("/oauth_applications/access_tokens/verify", OAT)] = (200, OAT_ANSWER)
    machine = await verify_machine_token(OAT, clerk=clerk)
    assert machine.token_type is TokenType.OAUTH_TOKEN
    assert machine.client_id == "client_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
    assert machine.user_id == "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
    assert server.bodies == [("/oauth_applications/access_tokens/verify", {"access_token": OAT})]


async def test_client_from_environment(
    server: ClerkServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("CLERK_API_URL", server.url)
    server.machine_answers[("/api_keys/verify", API_KEY)] = (200, api_key_answer())
    assert (await verify_machine_token(API_KEY)).name == "ci"


@pytest.mark.parametrize(
    ("path", "token", "status", "answer", "reason"),
    [
        ("/api_keys/verify", API_KEY, 404, {"errors": [{"code": "not_found"}]}, R.INVALID_TOKEN),
        ("/api_keys/verify", API_KEY, 400, {"errors": [{"code": "bad_request"}]}, R.INVALID_TOKEN),
        ("/api_keys/verify", API_KEY, 200, api_key_answer(revoked=True), R.TOKEN_REVOKED),
        ("/api_keys/verify", API_KEY, 200, api_key_answer(expired=True), R.EXPIRED),
        ("/m2m_tokens/verify", M2M, 200, {**M2M_ANSWER, "revoked": True}, R.TOKEN_REVOKED),
        ("/oauth_applications/access_tokens/verify", OAT, 200, {"active": False}, R.EXPIRED),
        (
            "/api_keys/verify",
            API_KEY,
            401,
            {"errors": [{"code": "auth"}]},
            R.VERIFICATION_UNAVAILABLE,
        ),
        (
            "/api_keys/verify",
            API_KEY,
            429,
            {"errors": [{"code": "slow"}]},
            R.VERIFICATION_UNAVAILABLE,
        ),
        (
            "/api_keys/verify",
            API_KEY,
            500,
            {"errors": [{"code": "boom"}]},
            R.VERIFICATION_UNAVAILABLE,
        ),
        ("/api_keys/verify", API_KEY, 200, ["not", "an", "object"], R.VERIFICATION_UNAVAILABLE),
    ],
)
async def test_rejections(
    clerk: Clerk,
    server: ClerkServer,
    path: str,
    token: str,
    status: int,
    answer: Any,
    reason: TokenVerificationErrorReason,
) -> None:
    server.machine_answers[(path, token)] = (status, answer)
    with pytest.raises(TokenVerificationError) as info:
        await verify_machine_token(token, clerk=clerk)
    assert info.value.reason is reason
    assert token not in str(info.value)


async def test_session_token_is_not_a_machine_token(clerk: Clerk) -> None:
    with pytest.raises(TokenVerificationError) as info:
        await verify_machine_token("eyJhbGciOi.x.y", clerk=clerk)
    assert info.value.reason is R.MALFORMED
