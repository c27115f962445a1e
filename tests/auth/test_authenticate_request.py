"""authenticate_request: where the token comes from, cookie rules, token types, Auth."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from starlette.requests import Request as StarletteRequest

from clerk_async import Clerk
from clerk_async.auth import (
    Auth,
    AuthenticateOptions,
    AuthReason,
    AuthStatus,
    RequestState,
    TokenType,
    TokenVerificationErrorReason,
    authenticate_request,
)
from clerk_async.auth._request import cookie_suffix

from .helpers import ClerkServer, claims, mint, public_pem
from .test_machine import API_KEY, M2M, M2M_ANSWER, api_key_answer

R = TokenVerificationErrorReason
PEM = public_pem()
OPTIONS = AuthenticateOptions(jwt_key=PEM)
NOW = int(time.time())


async def auth(headers: dict[str, str] | None = None, **kwargs: Any) -> RequestState:
    kwargs.setdefault("options", OPTIONS)
    return await authenticate_request(headers=headers or {}, **kwargs)


# -- the Authorization header ---------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
async def test_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    token = mint()
    state = await auth({"Authorization": f"{scheme} {token}"})
    assert state.status is AuthStatus.SIGNED_IN and state.is_signed_in
    assert state.reason is None
    assert state.token == token
    assert state.token_type is TokenType.SESSION_TOKEN
    assert state.claims is not None and state.claims.sub == "user_123"
    assert token not in repr(state)


async def test_header_name_is_case_insensitive_in_plain_dicts() -> None:
    assert (await auth({"authorization": f"Bearer {mint()}"})).is_signed_in


async def test_bare_token_in_header() -> None:
    assert (await auth({"Authorization": mint()})).is_signed_in


async def test_other_schemes_fall_through_to_cookies() -> None:
    state = await auth({"Authorization": "Basic dXNlcjpwYXNz"})
    assert state.reason is AuthReason.SESSION_TOKEN_AND_UAT_MISSING


async def test_header_wins_over_cookie() -> None:
    cookies = {"__session": "garbage", "__client_uat": str(NOW)}
    assert (await auth({"Authorization": f"Bearer {mint()}"}, cookies=cookies)).is_signed_in
    good_cookie = {"__session": mint(), "__client_uat": str(NOW - 100)}
    state = await auth({"Authorization": "Bearer nope"}, cookies=good_cookie)
    assert state.status is AuthStatus.SIGNED_OUT and state.reason is R.MALFORMED


async def test_rejected_header_token_gives_the_reason() -> None:
    state = await auth({"Authorization": f"Bearer {mint(claims(exp=NOW - 100))}"})
    assert state.status is AuthStatus.SIGNED_OUT
    assert state.reason is R.EXPIRED
    assert state.error is not None and state.error.reason is R.EXPIRED
    assert state.token is None and state.claims is None
    assert state.to_auth() == Auth()


# -- cookies ----------------------------------------------------------------------


@pytest.mark.parametrize("cookies", [{}, {"__client_uat": "0"}, {"other": "x"}])
async def test_no_session_and_no_active_client(cookies: dict[str, str]) -> None:
    state = await auth(cookies=cookies)
    assert state.status is AuthStatus.SIGNED_OUT
    assert state.reason is AuthReason.SESSION_TOKEN_AND_UAT_MISSING


async def test_session_cookie_with_uat() -> None:
    state = await auth(cookies={"__session": mint(), "__client_uat": str(NOW - 100)})
    assert state.is_signed_in


@pytest.mark.parametrize("uat", [None, "0", "junk"])
async def test_session_cookie_without_active_client(uat: str | None) -> None:
    cookies = {"__session": mint()}
    if uat is not None:
        cookies["__client_uat"] = uat
    state = await auth(cookies=cookies)
    assert state.reason is AuthReason.SESSION_TOKEN_WITHOUT_CLIENT_UAT


async def test_active_client_without_session_cookie() -> None:
    state = await auth(cookies={"__client_uat": str(NOW)})
    assert state.reason is AuthReason.CLIENT_UAT_WITHOUT_SESSION_TOKEN


async def test_token_issued_before_client_uat_is_outdated() -> None:
    token = mint(claims(iat=NOW - 50))
    state = await auth(cookies={"__session": token, "__client_uat": str(NOW - 10)})
    assert state.reason is AuthReason.SESSION_TOKEN_OUTDATED
    state = await auth(cookies={"__session": token, "__client_uat": str(NOW - 50)})
    assert state.is_signed_in


async def test_malformed_cookie_token() -> None:
    state = await auth(cookies={"__session": "x.y", "__client_uat": str(NOW)})
    assert state.reason is R.MALFORMED


async def test_suffixed_cookies() -> None:
    cookies = {"__session_AbCd1234": mint(), "__client_uat_AbCd1234": str(NOW - 100)}
    assert (await auth(cookies=cookies)).is_signed_in


async def test_suffix_from_publishable_key(monkeypatch: pytest.MonkeyPatch) -> None:
    pk = "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"
    suffix = cookie_suffix(pk)
    assert len(suffix) == 8
    cookies = {
        "__session": "stale-other-app",
        "__client_uat": str(NOW),
        f"__session_{suffix}": mint(),
        f"__client_uat_{suffix}": str(NOW - 100),
        "__session_zzzzzzzz": "another-app",
        "__client_uat_zzzzzzzz": str(NOW),
    }
    options = AuthenticateOptions(jwt_key=PEM, publishable_key=pk)
    assert (await auth(cookies=cookies, options=options)).is_signed_in
    monkeypatch.setenv("CLERK_PUBLISHABLE_KEY", pk)
    assert (await auth(cookies=cookies)).is_signed_in


async def test_cookies_read_from_the_cookie_header() -> None:
    header = f"theme=dark; __session={mint()}; __client_uat={NOW - 100}"
    assert (await auth({"Cookie": header})).is_signed_in
    assert (await auth({"Cookie": 'bad"cookie'})).reason is AuthReason.SESSION_TOKEN_AND_UAT_MISSING


# -- request objects ---------------------------------------------------------------------


async def test_aiohttp_request_object() -> None:
    request = make_mocked_request("GET", "/", headers={"Authorization": f"Bearer {mint()}"})
    assert (await authenticate_request(request, options=OPTIONS)).is_signed_in
    cookie = f"__session={mint()}; __client_uat={NOW - 100}"
    request = make_mocked_request("GET", "/", headers={"Cookie": cookie})
    assert (await authenticate_request(request, options=OPTIONS)).is_signed_in


def starlette_request(headers: dict[str, str]) -> StarletteRequest:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return StarletteRequest({"type": "http", "method": "GET", "path": "/", "headers": raw})


async def test_starlette_request_object() -> None:
    request = starlette_request({"Authorization": f"Bearer {mint()}"})
    assert (await authenticate_request(request, options=OPTIONS)).is_signed_in
    request = starlette_request({"Cookie": f"__session={mint()}; __client_uat={NOW - 100}"})
    assert (await authenticate_request(request, jwt_key=PEM)).is_signed_in


# -- options ---------------------------------------------------------------------------


async def test_keyword_arguments_override_options() -> None:
    options = AuthenticateOptions(jwt_key=PEM, authorized_parties=["https://other.example"])
    headers = {"Authorization": f"Bearer {mint()}"}
    assert (await auth(headers, options=options)).reason is R.UNAUTHORIZED_PARTY
    state = await auth(headers, options=options, authorized_parties=["https://app.example.com"])
    assert state.is_signed_in


async def test_options_are_normalised() -> None:
    options = AuthenticateOptions(
        authorized_parties=["https://a"], audience=["x", "y"], accepts_token="any"
    )
    assert options.authorized_parties == ("https://a",)
    assert options.audience == ("x", "y")
    assert TokenType.ANY not in options.accepts_token
    assert options.accepts_token == {
        TokenType.SESSION_TOKEN,
        TokenType.API_KEY,
        TokenType.M2M_TOKEN,
        TokenType.OAUTH_TOKEN,
    }
    assert "BEGIN" not in repr(AuthenticateOptions(jwt_key=PEM))
    with pytest.raises(ValueError):
        AuthenticateOptions(accepts_token="password")


async def test_options_audience_issuer_skew() -> None:
    headers = {"Authorization": f"Bearer {mint(claims(aud='api', exp=NOW - 20))}"}
    assert (await auth(headers)).reason is R.EXPIRED
    assert (await auth(headers, clock_skew=60, audience="api")).is_signed_in
    assert (await auth(headers, clock_skew=60, audience="web")).reason is R.INVALID_AUDIENCE
    assert (await auth(headers, clock_skew=60, issuer="nope")).reason is R.INVALID_ISSUER


# -- token types --------------------------------------------------------------------------


async def test_machine_token_not_accepted_by_default(server: ClerkServer, clerk: Clerk) -> None:
    state = await auth({"Authorization": f"Bearer {API_KEY}"}, clerk=clerk)
    assert state.reason is AuthReason.TOKEN_TYPE_NOT_ACCEPTED
    assert state.token_type is TokenType.API_KEY
    assert server.bodies == []  # rejected without asking Clerk


async def test_api_key_accepted(server: ClerkServer, clerk: Clerk) -> None:
    server.machine_answers[("/api_keys/verify", API_KEY)] = (200, api_key_answer())
    state = await auth({"Authorization": f"Bearer {API_KEY}"}, clerk=clerk, accepts_token="api_key")
    assert state.is_signed_in and state.token_type is TokenType.API_KEY
    assert state.machine is not None and state.claims is None
    result = state.to_auth()
    assert result.token_type is TokenType.API_KEY
    assert result.user_id == "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
    assert result.scopes == ("read", "write")
    assert result.has(scope="read") and not result.has(scope="admin")
    assert not result.has(permission="org:x:y")


async def test_list_and_any(server: ClerkServer, clerk: Clerk) -> None:
    server.machine_answers[("/m2m_tokens/verify", M2M)] = (200, M2M_ANSWER)
    headers = {"Authorization": f"Bearer {M2M}"}
    accepts: Any
    for accepts in (["api_key", TokenType.M2M_TOKEN], "any", TokenType.ANY):
        state = await auth(headers, clerk=clerk, accepts_token=accepts)
        assert state.is_signed_in, accepts
        assert state.to_auth().machine_id == "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
    state = await auth(headers, clerk=clerk, accepts_token=["api_key", "oauth_token"])
    assert state.reason is AuthReason.TOKEN_TYPE_NOT_ACCEPTED
    session = await auth({"Authorization": f"Bearer {mint()}"}, accepts_token="any")
    assert session.is_signed_in


async def test_unknown_machine_token(server: ClerkServer, clerk: Clerk) -> None:
    state = await auth({"Authorization": f"Bearer {API_KEY}"}, clerk=clerk, accepts_token="any")
    assert state.reason is R.INVALID_TOKEN


async def test_session_token_not_accepted() -> None:
    only_machines = ["api_key", "m2m_token"]
    state = await auth({"Authorization": f"Bearer {mint()}"}, accepts_token=only_machines)
    assert state.reason is AuthReason.TOKEN_TYPE_NOT_ACCEPTED
    cookies = {"__session": mint(), "__client_uat": str(NOW)}
    state = await auth(cookies=cookies, accepts_token=only_machines)
    assert state.reason is AuthReason.TOKEN_TYPE_NOT_ACCEPTED
    assert (await auth(accepts_token=only_machines)).reason is AuthReason.TOKEN_MISSING


async def test_machine_prefix_in_a_cookie_is_a_session_token(clerk: Clerk) -> None:
    cookies = {"__session": API_KEY, "__client_uat": str(NOW)}
    state = await auth(cookies=cookies, clerk=clerk, accepts_token="any")
    assert state.reason is R.MALFORMED


# -- Auth -------------------------------------------------------------------------------------


async def test_to_auth_and_has_v1() -> None:
    token = mint(
        claims(
            org_id="org_1",
            org_role="org:admin",
            org_slug="acme",
            org_permissions=["org:invoices:read"],
            fea="o:reports,u:profile",
            pla="u:pro",
        )
    )
    result = (await auth({"Authorization": f"Bearer {token}"})).to_auth()
    assert result.is_authenticated
    assert (result.user_id, result.session_id, result.org_id) == ("user_123", "sess_123", "org_1")
    assert (result.org_role, result.org_slug) == ("org:admin", "acme")
    assert result.token_type is TokenType.SESSION_TOKEN
    assert result.claims is not None and result.claims["sid"] == "sess_123"
    assert result.has(permission="org:invoices:read")
    assert result.has(permission="invoices:read")
    assert not result.has(permission="org:invoices:write")
    assert result.has(role="admin") and result.has(role="org:admin")
    assert not result.has(role="member")
    assert result.has(role="admin", permission="invoices:read")
    assert not result.has(role="member", permission="invoices:read")
    assert result.has(feature="reports") and result.has(feature="org:reports")
    assert not result.has(feature="user:reports")
    assert result.has(feature="user:profile") and result.has(plan="pro")
    assert not result.has(plan="org:pro")
    assert not result.has()


async def test_to_auth_and_has_v2() -> None:
    token = mint(
        claims(
            v=2,
            fea="o:invoices",
            o={"id": "org_9", "rol": "billing", "slg": "acme", "per": "read,write", "fpm": "1"},
        )
    )
    result = (await auth({"Authorization": f"Bearer {token}"})).to_auth()
    assert result.org_permissions == ("org:invoices:read",)
    assert result.has(permission="invoices:read") and not result.has(permission="invoices:write")
    assert result.has(role="org:billing")


async def test_signed_out_auth_has_nothing() -> None:
    result = (await auth()).to_auth()
    assert not result.is_authenticated
    assert result.user_id is None and result.token_type is None
    assert not result.has(permission="org:x:y") and not result.has(role="admin")


async def test_no_org_means_no_permission() -> None:
    token = mint(claims(org_permissions=["org:invoices:read"], org_role="org:admin"))
    result = (await auth({"Authorization": f"Bearer {token}"})).to_auth()
    assert not result.has(permission="org:invoices:read") and not result.has(role="admin")


async def test_a_repeated_token_reuses_its_auth_and_the_cache_keeps_no_token() -> None:
    import attrs

    from clerk_async.auth import _verify

    token = mint()
    first = await auth({"Authorization": f"Bearer {token}"})
    second = await auth({"Authorization": f"Bearer {token}"})
    assert first is not second and first == second
    assert first.to_auth() is second.to_auth()  # built once, from the cached claims
    assert first.to_auth().user_id == "user_123"
    # The same Auth as one built afresh from the state's own fields.
    rebuilt = RequestState(
        status=first.status, token=token, token_type=first.token_type, claims=first.claims
    )
    assert rebuilt.to_auth() == first.to_auth() and rebuilt.to_auth() is not first.to_auth()
    for entry in list(_verify._signatures._entries.values()):
        assert token not in repr(attrs.asdict(entry, recurse=False))
    # A token that stops verifying (expired) gets no Auth from before.
    expired = mint(claims(exp=NOW - 3600))
    assert (await auth({"Authorization": f"Bearer {expired}"})).to_auth().user_id is None


async def test_a_repeated_token_is_decoded_once_and_routed_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from clerk_async.auth import _request, _verify, clear_caches

    clear_caches()
    calls: list[str] = []
    real = _verify.decode_unverified

    def counted(token: str) -> Any:
        calls.append(token)
        return real(token)

    monkeypatch.setattr(_request, "decode_unverified", counted)
    session = mint()
    template = mint(headers={"cat": "cl_B7d4PD222AAA"})
    for _ in range(3):
        assert (await auth({"Authorization": f"Bearer {session}"})).is_signed_in
        refused = await auth({"Authorization": f"Bearer {template}"})
        assert refused.reason is AuthReason.TOKEN_TYPE_NOT_ACCEPTED
    assert calls == [session, template]  # each decoded once, then its facts remembered
    # The cookie rule reads the remembered iat: older than __client_uat, a handshake
    # on a page load, still.
    old = mint(claims(iat=NOW - 100, nbf=NOW - 100))
    cookie = {"Cookie": f"__session={old}; __client_uat={NOW - 200}"}
    assert (await auth(cookie)).is_signed_in
    cookie = {"Cookie": f"__session={old}; __client_uat={NOW - 10}"}
    for _ in range(2):
        state = await auth(cookie)
        assert state.reason is AuthReason.SESSION_TOKEN_OUTDATED
    assert calls.count(old) == 1
    # Undecodable tokens are refused each time and never remembered.
    for _ in range(2):
        assert (await auth({"Authorization": "Bearer a.b.c"})).reason is R.MALFORMED
    assert calls.count("a.b.c") == 2
    assert len(_request._jwt_facts_seen) == 3
    clear_caches()
    assert len(_request._jwt_facts_seen) == 0
