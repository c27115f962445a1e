"""verify_token: claims, the attack table, the signature cache."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from clerk_async import Clerk
from clerk_async.auth import (
    SessionClaims,
    TokenVerificationError,
    TokenVerificationErrorReason,
    _verify,
    clear_caches,
    verify_token,
)
from clerk_async.errors import ClerkError, ConfigurationError

from .helpers import SECRET_KEY, ClerkServer, b64, claims, mint, public_pem, sign_raw

R = TokenVerificationErrorReason
PEM = public_pem()


async def rejected(token: str, **kwargs: Any) -> TokenVerificationError:
    kwargs.setdefault("jwt_key", PEM)
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(token, **kwargs)
    error = info.value
    assert isinstance(error, ClerkError)
    # The token (or any sizeable part of it) never appears in what gets logged.
    if len(token) >= 20:
        for text in (str(error), repr(error), error.message):
            assert token[:20] not in text
            assert token[-20:] not in text
    return error


async def test_valid_token_with_pem_key() -> None:
    token = mint(claims(act={"sub": "user_admin"}, sts="active"))
    result = await verify_token(token, jwt_key=PEM)
    assert isinstance(result, SessionClaims)
    assert result.user_id == result.sub == "user_123"
    assert result.session_id == "sess_123"
    assert result.azp == "https://app.example.com"
    assert result.iss == "https://clerk.example.com"
    assert result.act == {"sub": "user_admin"}
    assert result.session_status == "active"
    assert result.raw["sid"] == "sess_123"
    assert result.version == 1


async def test_pem_from_environment_and_escaped_newlines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_JWT_KEY", PEM.replace("\n", "\\n"))
    assert (await verify_token(mint())).sub == "user_123"


async def test_bad_pem_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        await verify_token(mint(), jwt_key="not a key")


async def test_no_key_source_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        await verify_token(mint())


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
async def test_rsa_algorithms_accepted(alg: str) -> None:
    assert (await verify_token(mint(alg=alg), jwt_key=PEM)).sub == "user_123"


async def test_v1_organization_claims() -> None:
    token = mint(
        claims(
            org_id="org_1",
            org_role="org:admin",
            org_slug="acme",
            org_permissions=["org:invoices:read"],
        )
    )
    result = await verify_token(token, jwt_key=PEM)
    assert (result.org_id, result.org_role, result.org_slug) == ("org_1", "org:admin", "acme")
    assert result.org_permissions == ("org:invoices:read",)


async def test_v2_compact_organization_claims() -> None:
    token = mint(
        claims(
            v=2,
            sts="active",
            fea="o:dashboard,u:profile,ou:billing,o:reports",
            fva=[3, -1],
            o={
                "id": "org_2",
                "rol": "admin",
                "slg": "acme",
                "per": "read,manage,delete",
                "fpm": "3,4,0",
            },
        )
    )
    result = await verify_token(token, jwt_key=PEM)
    assert result.version == 2
    assert (result.org_id, result.org_role, result.org_slug) == ("org_2", "org:admin", "acme")
    # dashboard: 0b011 -> read, manage; billing: 0b100 -> delete; reports: 0 -> none
    assert result.org_permissions == (
        "org:dashboard:read",
        "org:dashboard:manage",
        "org:billing:delete",
    )
    assert result.session_status == "active"
    assert result.features == "o:dashboard,u:profile,ou:billing,o:reports"
    assert result.factor_verification_age == (3, -1)


async def test_v2_without_organization() -> None:
    result = await verify_token(mint(claims(v=2, fea="u:profile")), jwt_key=PEM)
    assert result.org_id is None and result.org_permissions == ()


def _hs256_with_public_key() -> str:
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "ins_main"}).encode())
    payload = b64(json.dumps(claims()).encode())
    mac = hmac.new(PEM.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(mac)}"


def _alg_none() -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims()).encode())}."


def _tampered() -> str:
    header, _, signature = mint().split(".")
    payload = b64(json.dumps(claims(sub="user_admin")).encode())
    return f"{header}.{payload}.{signature}"


def _bad_base64() -> str:
    header, payload, signature = mint().split(".")
    return f"{header}.{payload[:-3]}$%!.{signature}"


def _header_not_json() -> str:
    _, payload, signature = mint().split(".")
    return f"{b64(b'{not json')}.{payload}.{signature}"


NOW = int(time.time())

ATTACKS: list[tuple[str, Any, dict[str, Any], TokenVerificationErrorReason]] = [
    ("alg none", _alg_none, {}, R.ALGORITHM_NOT_ALLOWED),
    (
        "alg NONE",
        lambda: _alg_none().replace(b64(b'"none"'), b64(b'"NONE"')),
        {},
        R.ALGORITHM_NOT_ALLOWED,
    ),
    ("HS256 keyed with the public key", _hs256_with_public_key, {}, R.ALGORITHM_NOT_ALLOWED),
    (
        "ES256 header",
        lambda: sign_raw({"alg": "ES256", "kid": "ins_main"}, claims()),
        {},
        R.ALGORITHM_NOT_ALLOWED,
    ),
    ("alg missing", lambda: sign_raw({"kid": "ins_main"}, claims()), {}, R.ALGORITHM_NOT_ALLOWED),
    ("RS256 by another key", lambda: mint(key="attacker", kid="ins_main"), {}, R.INVALID_SIGNATURE),
    ("tampered payload", _tampered, {}, R.INVALID_SIGNATURE),
    ("signature stripped", lambda: mint().rsplit(".", 1)[0] + ".", {}, R.MALFORMED),
    ("expired", lambda: mint(claims(exp=NOW - 60)), {}, R.EXPIRED),
    (
        "expired beyond a custom skew",
        lambda: mint(claims(exp=NOW - 20)),
        {"clock_skew": 10},
        R.EXPIRED,
    ),
    ("nbf in the future", lambda: mint(claims(nbf=NOW + 60)), {}, R.NOT_YET_VALID),
    ("iat in the future", lambda: mint(claims(iat=NOW + 60, nbf=None)), {}, R.ISSUED_IN_FUTURE),
    (
        "wrong azp",
        lambda: mint(claims(azp="https://evil.example")),
        {"authorized_parties": ["https://app.example.com"]},
        R.UNAUTHORIZED_PARTY,
    ),
    (
        "missing azp",
        lambda: mint(claims(azp=None)),
        {"authorized_parties": ["https://app.example.com"]},
        R.UNAUTHORIZED_PARTY,
    ),
    ("wrong aud", lambda: mint(claims(aud="other")), {"audience": "api"}, R.INVALID_AUDIENCE),
    ("missing aud", lambda: mint(), {"audience": ["api", "web"]}, R.INVALID_AUDIENCE),
    ("wrong iss", lambda: mint(), {"issuer": "https://clerk.other.com"}, R.INVALID_ISSUER),
    ("missing sub", lambda: mint(claims(sub=None)), {}, R.MISSING_CLAIM),
    ("empty sub", lambda: mint(claims(sub="")), {}, R.MISSING_CLAIM),
    ("missing exp", lambda: mint(claims(exp=None)), {}, R.MISSING_CLAIM),
    ("string exp", lambda: sign_raw({"alg": "RS256"}, claims(exp="later")), {}, R.MISSING_CLAIM),
    ("boolean iat", lambda: sign_raw({"alg": "RS256"}, claims(iat=True)), {}, R.MISSING_CLAIM),
    ("two segments", lambda: "abc.def", {}, R.MALFORMED),
    ("four segments", lambda: mint() + ".x", {}, R.MALFORMED),
    ("empty", lambda: "", {}, R.MALFORMED),
    ("bad base64", _bad_base64, {}, R.MALFORMED),
    ("header not JSON", _header_not_json, {}, R.MALFORMED),
    ("header a JSON list", lambda: sign_raw(b'["RS256"]', claims()), {}, R.MALFORMED),
    ("payload not JSON (signed)", lambda: sign_raw({"alg": "RS256"}, b"{nope"), {}, R.MALFORMED),
    ("payload a JSON list (signed)", lambda: sign_raw({"alg": "RS256"}, b"[1]"), {}, R.MALFORMED),
    (
        "NaN exp (signed)",
        lambda: sign_raw({"alg": "RS256"}, b'{"sub": "user_1", "exp": NaN}'),
        {},
        R.MALFORMED,
    ),
    ("crit header", lambda: sign_raw({"alg": "RS256", "crit": ["exp"]}, claims()), {}, R.MALFORMED),
    ("1 MB token", lambda: mint(claims(pad="A" * (1 << 20))), {}, R.TOKEN_TOO_LARGE),
    ("1 MB of junk", lambda: "x" * (1 << 20), {}, R.TOKEN_TOO_LARGE),
]


@pytest.mark.parametrize(
    ("make", "kwargs", "reason"),
    [pytest.param(make, kwargs, reason, id=name) for name, make, kwargs, reason in ATTACKS],
)
async def test_attack_table(
    make: Any, kwargs: dict[str, Any], reason: TokenVerificationErrorReason
) -> None:
    error = await rejected(make(), **kwargs)
    assert error.reason is reason


async def test_attack_table_is_also_enforced_through_jwks(clerk: Clerk) -> None:
    for name, make, kwargs, reason in ATTACKS:
        with pytest.raises(TokenVerificationError) as info:
            await verify_token(make(), clerk=clerk, **kwargs)
        assert info.value.reason is reason, name


@pytest.mark.parametrize(
    ("overrides", "kwargs"),
    [
        ({"exp": NOW - 2}, {}),
        ({"nbf": NOW + 2}, {}),
        ({"iat": NOW + 2, "nbf": None}, {}),
        ({"exp": NOW - 20}, {"clock_skew": 60}),
        ({"azp": None}, {}),
        (
            {"azp": "https://b.example"},
            {"authorized_parties": ["https://a.example", "https://b.example"]},
        ),
        ({"aud": ["web", "api"]}, {"audience": "api"}),
        ({"aud": "api"}, {"audience": ["api", "web"]}),
        ({}, {"issuer": "https://clerk.example.com"}),
    ],
)
async def test_accepted_within_the_rules(overrides: dict[str, Any], kwargs: dict[str, Any]) -> None:
    # The cases are written against NOW (import time); shift them to the present so a
    # slow collection cannot push a token near its edge over it.
    shift = int(time.time()) - NOW
    moved = {
        k: v + shift if k in ("exp", "nbf", "iat") and isinstance(v, int) else v
        for k, v in overrides.items()
    }
    token = mint(claims(**moved))
    assert (await verify_token(token, jwt_key=PEM, **kwargs)).sub == "user_123"


async def test_unknown_kid_through_jwks(clerk: Clerk, server: ClerkServer) -> None:
    error = await rejected(mint(key="attacker", kid="ins_attacker"), clerk=clerk, jwt_key=None)
    assert error.reason is R.UNKNOWN_KID


async def test_token_without_kid_through_jwks(clerk: Clerk) -> None:
    token = sign_raw(b'{"alg": "RS256"}', claims())
    assert (await rejected(token, clerk=clerk, jwt_key=None)).reason is R.UNKNOWN_KID


async def test_jwks_verification(clerk: Clerk, server: ClerkServer) -> None:
    assert (await verify_token(mint(), clerk=clerk)).sub == "user_123"
    assert server.counts["jwks"] == 1
    assert server.auth_headers == [f"Bearer {SECRET_KEY}"]


async def test_instance_from_environment(
    server: ClerkServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", "sk_test_from_env")
    monkeypatch.setenv("CLERK_API_URL", server.url)
    assert (await verify_token(mint())).sub == "user_123"
    assert (await verify_token(mint(claims(sid="sess_2")))).session_id == "sess_2"
    assert server.counts["jwks"] == 1


# -- the signature cache ------------------------------------------------------


async def test_repeated_token_skips_rsa_but_rechecks_time(monkeypatch: pytest.MonkeyPatch) -> None:
    token = mint(claims(exp=NOW + 100))
    hits = _verify._signatures.hits
    first = await verify_token(token, jwt_key=PEM)
    second = await verify_token(token, jwt_key=PEM)
    assert second is first
    assert _verify._signatures.hits == hits + 1

    monkeypatch.setattr(_verify, "_now", lambda: NOW + 200.0)
    assert (await rejected(token)).reason is R.EXPIRED
    assert _verify._signatures.hits == hits + 2  # still served from the cache, still rejected


async def test_cached_token_still_checks_parties_audience_issuer() -> None:
    token = mint(claims(aud="api"))
    await verify_token(token, jwt_key=PEM)
    assert (
        await rejected(token, authorized_parties=["https://x.example"])
    ).reason is R.UNAUTHORIZED_PARTY
    assert (await rejected(token, audience="web")).reason is R.INVALID_AUDIENCE
    assert (await rejected(token, issuer="https://other")).reason is R.INVALID_ISSUER


async def test_cache_entry_does_not_vouch_for_another_key() -> None:
    token = mint()
    await verify_token(token, jwt_key=PEM)
    error = await rejected(token, jwt_key=public_pem("attacker"))
    assert error.reason is R.INVALID_SIGNATURE


async def test_cache_entry_does_not_vouch_across_instances(
    clerk: Clerk, server: ClerkServer
) -> None:
    token = mint()
    await verify_token(token, jwt_key=PEM)
    server.jwks = {"keys": []}
    assert (await rejected(token, clerk=clerk, jwt_key=None)).reason is R.UNKNOWN_KID


async def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_verify._signatures, "size", 3)
    for i in range(5):
        await verify_token(mint(claims(sid=f"sess_{i}")), jwt_key=PEM)
    assert len(_verify._signatures) == 3


async def test_failed_tokens_are_not_cached() -> None:
    token = mint(claims(sub=None))
    await rejected(token)
    assert len(_verify._signatures) == 0


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param(lambda seg: seg[:-2] + "+A", id="plus"),
        pytest.param(lambda seg: seg[:-2] + "/A", id="slash"),
        pytest.param(lambda seg: seg + "==", id="padding"),
        pytest.param(lambda seg: seg[:4] + " " + seg[4:], id="space"),
        pytest.param(lambda seg: seg[:4] + "\n" + seg[4:], id="newline"),
        pytest.param(lambda seg: seg[:-1] + "é", id="non-ascii"),
        pytest.param(lambda seg: seg[: (len(seg) // 4) * 4 + 1], id="one char over"),
    ],
)
@pytest.mark.parametrize("part", [0, 1, 2], ids=["header", "payload", "signature"])
async def test_each_segment_is_strict_base64url(alter: Any, part: int) -> None:
    segments = mint().split(".")
    segments[part] = alter(segments[part])
    error = await rejected(".".join(segments))
    assert error.reason is R.MALFORMED
    assert "not base64url" in error.message


async def test_a_remembered_header_still_checks_each_token() -> None:
    # The second token reuses the first one's header segment (parsed once, remembered):
    # its own signature, claims and payload are still checked.
    clear_caches()
    good = mint()
    assert (await verify_token(good, jwt_key=PEM)).sub == "user_123"
    forged = mint(claims(sub="user_evil"), key="attacker", kid="ins_main")
    assert forged.split(".")[0] == good.split(".")[0]
    assert (await rejected(forged)).reason is R.INVALID_SIGNATURE
    expired = mint(claims(exp=NOW - 60))
    assert (await rejected(expired)).reason is R.EXPIRED
    # A header refused once is refused again (refusals are not remembered).
    bad = sign_raw({"alg": "HS256"}, claims())
    for _ in range(2):
        assert (await rejected(bad)).reason is R.ALGORITHM_NOT_ALLOWED


async def test_verify_signed_hands_out_its_own_header() -> None:
    from clerk_async.auth._verify import verify_signed

    token = mint(headers={"cat": "cl_B7d4PD111AAA"})
    header, payload = await verify_signed(token, jwt_key=PEM)
    assert header["cat"] == "cl_B7d4PD111AAA" and payload["sub"] == "user_123"
    header["alg"] = "none"  # a caller changing its copy changes nothing for the next
    again, _ = await verify_signed(token, jwt_key=PEM)
    assert again["alg"] == "RS256"
