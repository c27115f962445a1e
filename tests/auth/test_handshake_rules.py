"""The handshake's rules, against the emulator's Frontend API stand-in."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Mapping

import aiohttp
import jwt
import pytest
from yarl import URL

from clerk_async import Clerk
from clerk_async.auth import (
    AuthenticateOptions,
    AuthReason,
    AuthStatus,
    OrganizationSyncOptions,
    RequestState,
    TokenVerificationErrorReason,
    authenticate_request,
)
from clerk_async.auth._handshake import (
    FrontendApi,
    frontend_api_of,
    is_document_request,
    request_url,
)
from clerk_async.emulator import Emulator
from clerk_async.errors import InvalidOptionError

from .helpers import claims, mint, public_pem

PAGE = "http://127.0.0.1:5000/dashboard?tab=1"
DOCUMENT = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Dest": "document"}


def pk(host: str, live: bool = False) -> str:
    encoded = base64.b64encode(f"{host}$".encode()).decode().rstrip("=")
    return ("pk_live_" if live else "pk_test_") + encoded


def cookie_header(cookies: Mapping[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


# -- pure rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "headers", "document"),
    [
        ("GET", {"Sec-Fetch-Dest": "document"}, True),
        ("GET", {"Sec-Fetch-Dest": "iframe"}, True),
        ("GET", {"Sec-Fetch-Dest": "empty", "Accept": "text/html"}, False),  # a fetch()
        ("GET", {"Accept": "text/html,*/*"}, True),  # no Sec-Fetch-*: an older browser
        ("GET", {"Accept": "application/json"}, False),
        ("GET", {}, False),
        ("POST", {"Sec-Fetch-Dest": "document"}, False),  # a form post: never redirected
        ("get", {"sec-fetch-dest": "document"}, True),
    ],
)
def test_which_requests_are_page_loads(
    method: str, headers: dict[str, str], document: bool
) -> None:
    assert is_document_request(method, headers) is document


def test_the_frontend_api_comes_from_the_publishable_key() -> None:
    assert frontend_api_of(pk("clerk.example.com", live=True)) == FrontendApi(
        "https://clerk.example.com", False
    )
    assert frontend_api_of(pk("happy-cat-1.clerk.accounts.dev")).development
    assert frontend_api_of(pk("127.0.0.1:8787")).url == "http://127.0.0.1:8787"
    assert frontend_api_of(
        pk("clerk.example.com", live=True), proxy_url="https://app.example/__clerk/"
    ).url == ("https://app.example/__clerk")
    page = URL("https://app.example/x")
    assert frontend_api_of(pk("clerk.example.com"), proxy_url="/__clerk", request=page).url == (
        "https://app.example/__clerk"
    )
    satellite = frontend_api_of(
        pk("clerk.primary.example", live=True), domain="satellite.example", is_satellite=True
    )
    assert satellite.url == "https://clerk.satellite.example"


@pytest.mark.parametrize(
    "key",
    [
        "sk_test_abc",
        "pk_test_",
        "pk_test_!!!",
        pk("nodot"),
        "pk_test_" + base64.b64encode(b"a.b").decode(),
    ],
)
def test_a_malformed_publishable_key_raises(key: str) -> None:
    with pytest.raises(InvalidOptionError):
        frontend_api_of(key)


def test_satellite_options_are_checked_once() -> None:
    with pytest.raises(InvalidOptionError, match="domain"):
        AuthenticateOptions(is_satellite=True)
    with pytest.raises(InvalidOptionError, match="absolute"):
        AuthenticateOptions(is_satellite=True, domain="sat.example", sign_in_url="/sign-in")
    AuthenticateOptions(is_satellite=True, proxy_url="https://sat.example/__clerk")


def test_the_page_url_behind_a_proxy() -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example, inner"}
    assert str(request_url("http://10.0.0.1:8000/a?b=1", forwarded)) == "https://app.example/a?b=1"
    assert str(request_url("http://10.0.0.1:8000/a", {})) == "http://10.0.0.1:8000/a"


def test_organization_patterns() -> None:
    sync = OrganizationSyncOptions(
        organization_patterns=["/orgs/:slug", "/orgs/:slug/(.*)", "/by-id/:id"],
        personal_account_patterns=["/me", "/me/(.*)"],
    )
    assert sync.target("/orgs/acme") is not None
    target = sync.target("/orgs/acme/settings/billing")
    assert target is not None and (target.organization, target.by_id) == ("acme", False)
    target = sync.target("/by-id/org_1/")
    assert target is not None and (target.organization, target.by_id) == ("org_1", True)
    personal = sync.target("/me/profile")
    assert personal is not None and personal.organization is None
    assert sync.target("/orgsacme") is None and sync.target("/other") is None
    with pytest.raises(InvalidOptionError, match="names no :id or :slug"):
        OrganizationSyncOptions(organization_patterns=["/orgs/:name"])
    with pytest.raises(InvalidOptionError, match="unbalanced"):
        OrganizationSyncOptions(organization_patterns=["/orgs/:slug/(.*"])
    with pytest.raises(InvalidOptionError):
        AuthenticateOptions(organization_sync_options={"patterns": ["/x"]})


# -- against the emulator --------------------------------------------------------------


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as running:
        yield running


@pytest.fixture
async def clerk(emu: Emulator) -> AsyncIterator[Clerk]:
    async with emu.client(retries=0) as client:
        yield client


@pytest.fixture
async def user_id(clerk: Clerk) -> str:
    user = await clerk.users.create(email_address=["page@example.com"])
    assert user.id is not None
    return user.id


def options(emu: Emulator, clerk: Clerk, **extra: object) -> AuthenticateOptions:
    return AuthenticateOptions(clerk=clerk, publishable_key=emu.publishable_key, **extra)  # type: ignore[arg-type]


async def page_load(
    opts: AuthenticateOptions,
    cookies: Mapping[str, str],
    url: str = PAGE,
    headers: Mapping[str, str] = DOCUMENT,
) -> RequestState:
    return await authenticate_request(
        headers={**headers, "Cookie": cookie_header(cookies)}, url=url, method="GET", options=opts
    )


async def follow(location: str, cookies: Mapping[str, str]) -> str:
    """What the emulator's Frontend API answers a browser sent to ``location``."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        headers = {"Cookie": cookie_header(cookies)}
        async with session.get(location, headers=headers, allow_redirects=False) as answer:
            assert answer.status == 307, await answer.text()
            assert answer.headers["Cache-Control"] == "no-store"
            return answer.headers["Location"]


def applied(cookies: Mapping[str, str], state: RequestState) -> dict[str, str]:
    jar = dict(cookies)
    for directive in state.set_cookies:
        name, _, value = directive.split(";", 1)[0].partition("=")
        jar[name] = value
    return jar


async def test_an_expired_cookie_on_a_page_load_goes_round_and_ends_signed_in(
    emu: Emulator, clerk: Clerk, user_id: str
) -> None:
    opts = options(emu, clerk)
    cookies = emu.browser_cookies(user_id, expired=True)
    first = await page_load(opts, cookies)
    assert (first.status, first.reason) == (
        AuthStatus.HANDSHAKE,
        TokenVerificationErrorReason.EXPIRED,
    )
    location = URL(first.location or "")
    assert str(location.origin()) == emu.url and location.path == "/v1/client/handshake"
    assert location.query["redirect_url"] == PAGE and location.query["format"] == "nonce"
    assert dict(first.headers)["Cache-Control"] == "no-store"
    assert first.set_cookies == (
        "__clerk_redirect_count=1; Path=/; Max-Age=5; SameSite=Lax; HttpOnly",
    )

    back = await follow(str(location), cookies)
    assert URL(back).query["tab"] == "1" and "__clerk_handshake_nonce" in URL(back).query
    jar = applied(cookies, first)
    second = await page_load(opts, jar, back)
    assert (second.status, second.reason) == (AuthStatus.HANDSHAKE, AuthReason.HANDSHAKE_RESOLVED)
    assert second.location == PAGE  # the answer leaves the URL
    jar = applied(jar, second)
    assert jar["__session"] != cookies["__session"]

    third = await page_load(opts, jar)
    assert third.is_signed_in and third.to_auth().user_id == user_id
    # The nonce was answered once: a replay is ignored, signed out, no new round.
    replay = await page_load(opts, jar, back)
    assert (replay.status, replay.reason) == (AuthStatus.SIGNED_OUT, AuthReason.HANDSHAKE_INVALID)


async def test_a_handshake_token_answer_in_a_cookie_signs_in_on_the_spot(
    emu: Emulator, clerk: Clerk, user_id: str
) -> None:
    opts = options(emu, clerk)
    cookies = emu.browser_cookies(user_id, expired=True)
    first = await page_load(opts, cookies)
    token_url = URL(first.location or "").update_query(format="token")
    back = URL(await follow(str(token_url), cookies))
    # Production instances hand the answer over in a cookie instead of the URL.
    jar = {**cookies, "__clerk_handshake": back.query["__clerk_handshake"]}
    state = await page_load(opts, jar)
    assert state.is_signed_in and state.to_auth().user_id == user_id
    assert {d.split("=", 1)[0] for d in state.set_cookies} == {"__session", "__client_uat"}


async def test_a_forged_handshake_token_is_ignored(
    emu: Emulator, clerk: Clerk, user_id: str
) -> None:
    opts = options(emu, clerk)
    cookies = emu.browser_cookies(user_id, expired=True)
    now = int(time.time())
    forged = mint({"handshake": ["__session=x; Path=/"], "iat": now, "exp": now + 60}, key="other")
    for carrier in ("query", "cookie"):
        url = f"{PAGE}&__clerk_handshake={forged}" if carrier == "query" else PAGE
        jar = cookies if carrier == "query" else {**cookies, "__clerk_handshake": forged}
        state = await page_load(opts, jar, url)
        assert (state.status, state.reason, state.set_cookies) == (
            AuthStatus.SIGNED_OUT,
            AuthReason.HANDSHAKE_INVALID,
            (),
        )


async def test_a_signed_out_browser_ends_signed_out_after_one_round(
    emu: Emulator, clerk: Clerk, user_id: str
) -> None:
    opts = options(emu, clerk)
    cookies = emu.browser_cookies(user_id, expired=True)
    await clerk.sessions.revoke(session_of(cookies))
    first = await page_load(opts, cookies)
    assert first.is_handshake
    back = await follow(first.location or "", cookies)
    second = await page_load(opts, applied(cookies, first), back)
    jar = applied(applied(cookies, first), second)
    assert jar["__client_uat"] == "0" and jar["__session"] == ""
    final = await page_load(opts, jar)
    assert (final.status, final.reason) == (
        AuthStatus.SIGNED_OUT,
        AuthReason.SESSION_TOKEN_AND_UAT_MISSING,
    )


def session_of(cookies: Mapping[str, str]) -> str:
    """The session id the browser's (expired) token names."""
    sid: str = jwt.decode(cookies["__session"], options={"verify_signature": False})["sid"]
    return sid


@pytest.mark.parametrize(
    ("headers", "method"),
    [
        ({"Accept": "application/json"}, "GET"),
        ({"Sec-Fetch-Dest": "empty"}, "GET"),
        (DOCUMENT, "POST"),
    ],
)
async def test_no_handshake_outside_page_loads(
    emu: Emulator, clerk: Clerk, user_id: str, headers: dict[str, str], method: str
) -> None:
    cookies = emu.browser_cookies(user_id, expired=True)
    state = await authenticate_request(
        headers={**headers, "Cookie": cookie_header(cookies)},
        url=PAGE,
        method=method,
        options=options(emu, clerk),
    )
    assert (state.status, state.reason, state.headers) == (
        AuthStatus.SIGNED_OUT,
        TokenVerificationErrorReason.EXPIRED,
        (),
    )


async def test_no_handshake_without_publishable_key_url_or_when_off(
    emu: Emulator, clerk: Clerk, user_id: str
) -> None:
    cookies = emu.browser_cookies(user_id, expired=True)
    headers = {**DOCUMENT, "Cookie": cookie_header(cookies)}
    no_key = await authenticate_request(headers=headers, url=PAGE, clerk=clerk)
    no_url = await authenticate_request(headers=headers, options=options(emu, clerk))
    off = await authenticate_request(
        headers=headers, url=PAGE, options=options(emu, clerk, handshake=False)
    )
    assert {s.status for s in (no_key, no_url, off)} == {AuthStatus.SIGNED_OUT}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda c: {"__client_uat": c["__client_uat"]},
            AuthReason.CLIENT_UAT_WITHOUT_SESSION_TOKEN,
        ),
        (lambda c: {"__session": c["__session"]}, AuthReason.SESSION_TOKEN_WITHOUT_CLIENT_UAT),
        (
            lambda c: {**c, "__client_uat": str(int(time.time()) + 30)},
            AuthReason.SESSION_TOKEN_OUTDATED,
        ),
    ],
)
async def test_the_other_stale_cookie_states_get_a_handshake(
    emu: Emulator, clerk: Clerk, user_id: str, make: object, reason: AuthReason
) -> None:
    cookies = emu.browser_cookies(user_id)
    state = await page_load(options(emu, clerk), make(cookies))  # type: ignore[operator]
    assert (state.status, state.reason) == (AuthStatus.HANDSHAKE, reason)


async def test_the_loop_is_cut_after_three(emu: Emulator, clerk: Clerk, user_id: str) -> None:
    cookies = emu.browser_cookies(user_id, expired=True)
    for count in (0, 1, 2):
        state = await page_load(
            options(emu, clerk), {**cookies, "__clerk_redirect_count": str(count)}
        )
        assert state.is_handshake and f"__clerk_redirect_count={count + 1};" in state.set_cookies[0]
    state = await page_load(options(emu, clerk), {**cookies, "__clerk_redirect_count": "3"})
    assert (state.status, state.reason) == (
        AuthStatus.SIGNED_OUT,
        AuthReason.HANDSHAKE_REDIRECT_LOOP,
    )


async def test_organization_sync_activates_the_named_organization(
    emu: Emulator, clerk: Clerk, user_id: str
) -> None:
    org = await clerk.organizations.create(name="Acme", slug="acme", created_by=user_id)
    opts = options(
        emu,
        clerk,
        organization_sync_options={"organization_patterns": ["/orgs/:slug", "/orgs/:slug/(.*)"]},
    )
    cookies = emu.browser_cookies(user_id)  # fresh, no active organization
    url = "http://127.0.0.1:5000/orgs/acme/invoices"
    first = await page_load(opts, cookies, url)
    assert (first.status, first.reason) == (
        AuthStatus.HANDSHAKE,
        AuthReason.ACTIVE_ORGANIZATION_MISMATCH,
    )
    assert URL(first.location or "").query["organization_id"] == "acme"
    back = await follow(first.location or "", cookies)
    jar = applied(cookies, first)
    jar = applied(jar, await page_load(opts, jar, back))
    final = await page_load(opts, jar, url)
    assert final.is_signed_in and (final.to_auth().org_id, final.to_auth().org_slug) == (
        org.id,
        "acme",
    )
    # An organization the user is not in: tried, then left alone after the loop limit.
    stranger = await page_load(
        opts, {**jar, "__clerk_redirect_count": "3"}, "http://127.0.0.1:5000/orgs/other"
    )
    assert stranger.is_signed_in and stranger.to_auth().org_slug == "acme"
    # Pages no pattern names, and API calls, keep the session as it is.
    assert (await page_load(opts, jar, "http://127.0.0.1:5000/home")).is_signed_in


async def test_a_development_satellite_syncs_through_the_sign_in_page(
    emu: Emulator, clerk: Clerk
) -> None:
    opts = options(
        emu,
        clerk,
        is_satellite=True,
        domain="sat.example",
        sign_in_url="https://primary.example/sign-in",
    )
    first_visit = await page_load(opts, {}, "https://sat.example/page")
    assert (first_visit.status, first_visit.reason) == (
        AuthStatus.SIGNED_OUT,
        AuthReason.SESSION_TOKEN_AND_UAT_MISSING,
    )
    state = await page_load(opts, {}, "https://sat.example/page?__clerk_synced=false")
    assert (state.status, state.reason) == (
        AuthStatus.HANDSHAKE,
        AuthReason.SATELLITE_NEEDS_SYNCING,
    )
    target = URL(state.location or "")
    assert str(target.with_query(None)) == "https://primary.example/sign-in"
    assert target.query["__clerk_redirect_url"] == "https://sat.example/page?__clerk_synced=false"
    done = await page_load(opts, {}, "https://sat.example/page?__clerk_synced=true")
    assert done.status is AuthStatus.SIGNED_OUT
    # The primary's answer: back to the satellite, marked as synced.
    primary = options(emu, clerk)
    answer = await page_load(
        primary, {}, "http://127.0.0.1:5000/sign-in?__clerk_redirect_url=https://sat.example/page"
    )
    assert answer.reason is AuthReason.PRIMARY_RESPONDS_TO_SYNCING
    assert answer.location == "https://sat.example/page?__clerk_synced=true"


async def test_a_production_satellite_handshakes_with_its_own_frontend_api() -> None:
    opts = AuthenticateOptions(
        publishable_key=pk("clerk.primary.example", live=True),
        is_satellite=True,
        domain="sat.example",
        jwt_key=public_pem(),
    )
    state = await page_load(opts, {}, "https://sat.example/page?__clerk_synced=false")
    assert state.is_handshake
    assert (state.location or "").startswith("https://clerk.sat.example/v1/client/handshake?")
    token = mint(claims(exp=int(time.time()) - 100, iat=int(time.time()) - 200))
    cookies = {"__session": token, "__client_uat": str(int(time.time()) - 300)}
    state = await page_load(opts, cookies, "https://sat.example/page")
    assert state.reason is TokenVerificationErrorReason.EXPIRED and state.is_handshake


async def test_a_header_token_never_gets_a_handshake(
    emu: Emulator, clerk: Clerk, user_id: str
) -> None:
    expired = emu.browser_cookies(user_id, expired=True)["__session"]
    state = await authenticate_request(
        headers={**DOCUMENT, "Authorization": f"Bearer {expired}"},
        url=PAGE,
        options=options(emu, clerk),
    )
    assert (state.status, state.reason) == (
        AuthStatus.SIGNED_OUT,
        TokenVerificationErrorReason.EXPIRED,
    )
