"""The handshake: how a server-rendered page gets a fresh session cookie.

A session cookie holds a token that lives about a minute. When a browser loads a
page with an expired (or outdated, or missing) one while ``__client_uat`` says a
session exists, the page cannot tell signed in from signed out by itself; it
sends the browser on a round trip through the instance's Frontend API instead:

1. we answer ``307`` to ``{frontend_api}/v1/client/handshake?redirect_url=<page>&…``
   (:func:`handshake_location`), counting the redirect in a cookie;
2. the Frontend API, which knows the browser's client, redirects back to the page
   with the answer: a ``__clerk_handshake`` token (a JWT signed by the instance
   key whose ``handshake`` claim lists ``Set-Cookie`` directives) or a
   ``__clerk_handshake_nonce`` to exchange for those directives through the
   Backend API (``GET /v1/clients/handshake_payload``); in the query string for
   development instances, in a cookie for production ones;
3. we apply the directives (:func:`resolve`): the session cookie among them tells
   who is calling, and the response sets them all.

Only page loads take part (:func:`is_document_request`): an API call or a
``fetch`` gets no redirect, only "signed out". Three handshakes in a row (the
``__clerk_redirect_count`` cookie) end the loop signed out.

Also here: the Frontend API of a publishable key (``proxy_url``, ``domain`` and
``is_satellite`` for multi-domain setups) and organization sync
(:class:`OrganizationSyncOptions`), whose patterns pick the organization a URL
names.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote

import attrs
from yarl import URL

from .._client import DEFAULT_API_VERSION
from ..errors import ClerkError, ConfigurationError, InvalidOptionError
from ._client import requester_for
from ._errors import TokenVerificationError, TokenVerificationErrorReason
from ._http_input import header
from ._verify import is_non_session_category, verify_signed

if TYPE_CHECKING:
    from .._client import Clerk

__all__ = [
    "DEV_BROWSER",
    "HANDSHAKE",
    "HANDSHAKE_NONCE",
    "REDIRECT_COUNT",
    "REDIRECT_LOOP_LIMIT",
    "FrontendApi",
    "OrganizationSyncOptions",
    "OrganizationTarget",
    "cookie_name_value",
    "frontend_api_of",
    "handshake_directives",
    "handshake_location",
    "is_document_request",
    "redirect_count_cookie",
    "request_url",
    "without_handshake_params",
]

#: the handshake token, in the query string (development) or a cookie (production)
HANDSHAKE = "__clerk_handshake"
#: the handshake nonce, likewise
HANDSHAKE_NONCE = "__clerk_handshake_nonce"
#: the development browser token, passed on to the Frontend API
DEV_BROWSER = "__clerk_db_jwt"
#: how many handshakes in a row this browser made
REDIRECT_COUNT = "__clerk_redirect_count"
#: the handshakes in a row after which a request ends signed out instead
REDIRECT_LOOP_LIMIT = 3
#: seconds the redirect count lives: a loop runs within them, a later visit starts afresh
REDIRECT_COUNT_MAX_AGE = 5
#: query parameters of a handshake answer, removed from the URL once applied
ANSWER_PARAMS = (HANDSHAKE, HANDSHAKE_NONCE, DEV_BROWSER, "__clerk_help", "__dev_session")
#: where a satellite's sync round trip says it is done (``true``) or must run (``false``)
SYNCED = "__clerk_synced"
#: the satellite page a primary domain sends the browser back to after a sync
REDIRECT_URL = "__clerk_redirect_url"


# -- the Frontend API -------------------------------------------------------------------


@attrs.frozen
class FrontendApi:
    """The Frontend API a request's handshake goes to.

    Attributes:
        url: its base URL (``https://clerk.example.com``, or the proxy URL).
        development: whether the key is a development one (``pk_test_``).
    """

    url: str
    development: bool


def _decode_key(publishable_key: str) -> tuple[str, bool]:
    prefix, _, encoded = publishable_key.rpartition("_")
    if prefix not in ("pk_test", "pk_live") or not encoded:
        raise InvalidOptionError(
            "publishable_key must look like pk_test_… or pk_live_… (Dashboard → API keys)"
        )
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidOptionError(
            "publishable_key does not decode: copy it again from the Dashboard (API keys)"
        ) from None
    host = decoded[:-1]
    if not decoded.endswith("$") or "$" in host or "." not in host:
        raise InvalidOptionError("publishable_key does not name a Frontend API host")
    return host, prefix == "pk_test"


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in ("localhost", "127.0.0.1", "[::1]") or name.endswith(".localhost")


def frontend_api_of(
    publishable_key: str,
    *,
    proxy_url: str | None = None,
    domain: str | None = None,
    is_satellite: bool = False,
    request: URL | None = None,
) -> FrontendApi:
    """The Frontend API of a publishable key (whose payload is base64 of ``host$``).

    ``proxy_url`` replaces it (a path such as ``/__clerk`` is taken on the
    request's own origin); a production satellite's is ``clerk.<domain>``. A
    loopback host (a local emulator) is spoken to over plain http.

    Raises:
        InvalidOptionError: a key that is not a publishable key.
    """
    host, development = _decode_key(publishable_key)
    if proxy_url:
        if proxy_url.startswith("/") and request is not None:
            return FrontendApi(str(request.origin()) + proxy_url.rstrip("/"), development)
        return FrontendApi(proxy_url.rstrip("/"), development)
    if is_satellite and domain and not development:
        host = "clerk." + domain
    scheme = "http" if _is_loopback(host) else "https"
    return FrontendApi(f"{scheme}://{host}", development)


def check_satellite(
    *, is_satellite: bool, domain: str | None, proxy_url: str | None, sign_in_url: str | None
) -> None:
    """The options a satellite needs, checked once.

    Raises:
        InvalidOptionError: a satellite without ``domain`` or ``proxy_url``, or a
            ``sign_in_url`` that is not absolute.
    """
    if not is_satellite:
        return
    if not domain and not proxy_url:
        raise InvalidOptionError(
            "is_satellite=True needs domain= (the satellite's domain) or proxy_url="
        )
    if sign_in_url is not None and not URL(sign_in_url).absolute:
        raise InvalidOptionError(
            "sign_in_url must be an absolute URL on the primary domain "
            "(https://primary.example/sign-in)"
        )


# -- the request ------------------------------------------------------------------------


def _first(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(",", 1)[0].strip() or None


def request_url(url: str | URL, headers: Mapping[str, str]) -> URL:
    """The URL the browser asked for, behind proxies too (``X-Forwarded-Proto``/``-Host``)."""
    parsed = url if isinstance(url, URL) else URL(url)
    proto = _first(header(headers, "CloudFront-Forwarded-Proto")) or _first(
        header(headers, "X-Forwarded-Proto")
    )
    host = _first(header(headers, "X-Forwarded-Host"))
    if not host and not proto:
        return parsed
    scheme = proto if proto in ("http", "https") else parsed.scheme
    try:
        return URL(f"{scheme}://{host or parsed.raw_authority}{parsed.raw_path_qs}", encoded=True)
    except ValueError:
        return parsed


def is_document_request(method: str, headers: Mapping[str, str]) -> bool:
    """Whether a request is (very probably) a browser loading a page.

    A ``GET`` (the Frontend API answers nothing else) with ``Sec-Fetch-Dest:
    document`` or ``iframe``, or, from browsers that send no ``Sec-Fetch-Dest``,
    one that asks for ``text/html`` first.
    """
    if method.upper() != "GET":
        return False
    dest = header(headers, "Sec-Fetch-Dest")
    if dest:
        return dest in ("document", "iframe")
    accept = header(headers, "Accept") or ""
    return accept.startswith("text/html")


def without_handshake_params(url: URL) -> URL:
    """``url`` without the query parameters of a handshake answer."""
    kept = [(k, v) for k, v in url.query.items() if k not in ANSWER_PARAMS]
    return url.with_query(kept)


def handshake_location(
    frontend_api: FrontendApi,
    page: URL,
    *,
    reason: str,
    suffixed_cookies: bool,
    session_token: str | None,
    dev_browser: str | None,
    organization: OrganizationTarget | None,
) -> str:
    """Where a handshake sends the browser: the Frontend API's handshake endpoint."""
    back = page.with_query([(k, v) for k, v in page.query.items() if k not in ANSWER_PARAMS[2:]])
    params: list[tuple[str, str]] = [
        ("redirect_url", str(back)),
        ("__clerk_api_version", DEFAULT_API_VERSION),
        ("suffixed_cookies", "true" if suffixed_cookies else "false"),
        ("__clerk_hs_reason", reason),
        ("format", "nonce"),
    ]
    if session_token:
        params.append(("__session", session_token))
    if frontend_api.development and dev_browser:
        params.append((DEV_BROWSER, dev_browser))
    if organization is not None:
        params.append(("organization_id", organization.organization or ""))
    return str(URL(frontend_api.url + "/v1/client/handshake").with_query(params))


def redirect_count_cookie(count: int) -> str:
    """The ``Set-Cookie`` value that records ``count`` handshakes in a row."""
    return f"{REDIRECT_COUNT}={count}; Path=/; Max-Age={REDIRECT_COUNT_MAX_AGE}; SameSite=Lax; HttpOnly"


def redirect_count(cookies: Mapping[str, str]) -> int:
    """How many handshakes in a row the browser made (0 when unknown)."""
    try:
        return max(0, int(cookies.get(REDIRECT_COUNT, "0")))
    except ValueError:
        return 0


def cookie_name_value(directive: str) -> tuple[str, str]:
    """``(name, value)`` of a ``Set-Cookie`` directive (``name=value; Path=/; …``)."""
    pair = directive.split(";", 1)[0]
    name, _, value = pair.partition("=")
    return name.strip(), value.strip()


# -- resolving the answer ---------------------------------------------------------------


async def _nonce_directives(nonce: str, clerk: Clerk | None) -> list[str]:
    try:
        async with requester_for(clerk) as http:
            answer = await http.request(
                "GET", "/clients/handshake_payload", query={"nonce": nonce}, cast_to=object
            )
    except ConfigurationError:
        raise
    except ClerkError as exc:
        raise TokenVerificationError(
            TokenVerificationErrorReason.INVALID_TOKEN,
            f"Clerk did not resolve the handshake nonce ({type(exc).__name__})",
        ) from exc
    directives = answer.get("directives") if isinstance(answer, Mapping) else None
    return _strings(directives, "the handshake payload has no directives")


def _strings(value: object, message: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise TokenVerificationError(TokenVerificationErrorReason.MALFORMED, message)
    return list(value)


async def _token_directives(token: str, *, jwt_key: str | None, clerk: Clerk | None) -> list[str]:
    header_, payload = await verify_signed(token, jwt_key=jwt_key, clerk=clerk)
    # Minted in the session-token category: a JWT of another class signed by the
    # same key (a template token, whose claims its author chooses) is no handshake.
    if is_non_session_category(header_.get("cat")):
        raise TokenVerificationError(
            TokenVerificationErrorReason.INVALID_TOKEN, "the JWT's category is not a handshake's"
        )
    return _strings(payload.get("handshake"), "the handshake token lists no directives")


async def handshake_directives(
    *, token: str | None, nonce: str | None, jwt_key: str | None, clerk: Clerk | None
) -> list[str]:
    """The ``Set-Cookie`` directives a handshake answer carries (nonce first, as Clerk).

    Raises:
        TokenVerificationError: an answer that does not verify or resolve.
    """
    if nonce:
        return await _nonce_directives(nonce, clerk)
    assert token
    return await _token_directives(token, jwt_key=jwt_key, clerk=clerk)


# -- organization sync ------------------------------------------------------------------


@attrs.frozen
class OrganizationTarget:
    """What a URL asks to be active: an organization (id or slug), or the personal
    account (``organization`` None)."""

    organization: str | None
    by_id: bool = False


_PARAM = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


def _compile(pattern: str) -> re.Pattern[str]:
    """A path pattern (``/orgs/:slug``, ``/orgs/:id/(.*)``) as a regular expression.

    ``:name`` matches one path segment; a parenthesised group is a regular
    expression (``(.*)`` for "anything below"); everything else matches itself. A
    trailing slash is optional. The syntax is that of Clerk's own patterns, small
    enough that a path-matching dependency would be more than it needs.
    """
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise InvalidOptionError(
            f"organization sync pattern {pattern!r} must be a path starting with '/'"
        )
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == ":":
            match = _PARAM.match(pattern, i)
            if match is None:
                raise InvalidOptionError(f"pattern {pattern!r}: ':' must start a parameter name")
            out.append(f"(?P<{match.group(1)}>[^/]+)")
            i = match.end()
        elif char == "(":
            depth, j = 1, i + 1
            while j < len(pattern) and depth:
                depth += {"(": 1, ")": -1}.get(pattern[j], 0)
                j += 1
            if depth:
                raise InvalidOptionError(f"pattern {pattern!r}: unbalanced parenthesis")
            out.append(f"(?:{pattern[i + 1 : j - 1]})")
            i = j
        else:
            out.append(re.escape(char))
            i += 1
    source = "".join(out).rstrip("/") or ""
    try:
        return re.compile(f"{source}/?")
    except re.error as exc:
        raise InvalidOptionError(f"pattern {pattern!r}: {exc}") from None


def _patterns(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class OrganizationSyncOptions:
    """Which URLs name the organization to be active, so a page load activates it.

    Attributes:
        organization_patterns: paths naming an organization by ``:slug`` or ``:id``
            (``["/orgs/:slug", "/orgs/:slug/(.*)"]``).
        personal_account_patterns: paths of the personal account
            (``["/me", "/me/(.*)"]``).

    When a page's URL names an organization other than the session's active one,
    the request gets a handshake that activates it (the Frontend API leaves the
    active organization alone when the user is not a member). Malformed patterns
    raise :class:`~clerk_async.errors.InvalidOptionError` here.

    Example::

        options = AuthenticateOptions(
            organization_sync_options=OrganizationSyncOptions(
                organization_patterns=["/orgs/:slug", "/orgs/:slug/(.*)"]
            )
        )
    """

    organization_patterns: tuple[str, ...] = attrs.field(default=(), converter=_patterns)
    personal_account_patterns: tuple[str, ...] = attrs.field(default=(), converter=_patterns)
    _organization: tuple[re.Pattern[str], ...] = attrs.field(init=False, repr=False, eq=False)
    _personal: tuple[re.Pattern[str], ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        compiled = tuple(_compile(p) for p in self.organization_patterns)
        for regex, pattern in zip(compiled, self.organization_patterns, strict=True):
            if not {"id", "slug"} & set(regex.groupindex):
                raise InvalidOptionError(
                    f"organization pattern {pattern!r} names no :id or :slug parameter"
                )
        object.__setattr__(self, "_organization", compiled)
        object.__setattr__(
            self, "_personal", tuple(_compile(p) for p in self.personal_account_patterns)
        )

    def target(self, path: str) -> OrganizationTarget | None:
        """What ``path`` asks to be active, or None when no pattern matches."""
        for regex in self._organization:
            match = regex.fullmatch(path)
            if match is None:
                continue
            groups = match.groupdict()
            if groups.get("id"):
                return OrganizationTarget(unquote(groups["id"]), by_id=True)
            if groups.get("slug"):
                return OrganizationTarget(unquote(groups["slug"]))
        for regex in self._personal:
            if regex.fullmatch(path):
                return OrganizationTarget(None)
        return None


def organization_sync_options(
    value: OrganizationSyncOptions | Mapping[str, Sequence[str]] | None,
) -> OrganizationSyncOptions | None:
    """Options from an :class:`OrganizationSyncOptions` or a mapping of its fields."""
    if value is None or isinstance(value, OrganizationSyncOptions):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"organization_patterns", "personal_account_patterns"}
        if unknown:
            raise InvalidOptionError(
                f"organization_sync_options takes organization_patterns and "
                f"personal_account_patterns, not {sorted(unknown)}"
            )
        return OrganizationSyncOptions(**value)
    raise InvalidOptionError(
        "organization_sync_options must be an OrganizationSyncOptions or a mapping"
    )


def must_activate(target: OrganizationTarget, org_id: str | None, org_slug: str | None) -> bool:
    """Whether the session's active organization differs from what the URL names."""
    if target.organization is None:
        return org_id is not None
    if target.by_id:
        return target.organization != org_id
    return target.organization != org_slug


def satellite_sync_location(sign_in_url: str, page: URL) -> str:
    """A development satellite's sync: the primary's sign-in page, told where to come back."""
    return str(URL(sign_in_url).update_query({REDIRECT_URL: str(page)}))


def primary_sync_location(redirect_url: str, dev_browser: str | None) -> str:
    """The primary's answer to a sync: back to the satellite page, marked as synced."""
    url = URL(redirect_url)
    params: dict[str, str] = {SYNCED: "true"}
    if dev_browser:
        params[DEV_BROWSER] = dev_browser
    return str(url.update_query(params))


def cookie_pairs(directives: Sequence[str]) -> dict[str, str]:
    """The cookies ``directives`` set (a later one for the same name wins)."""
    return dict(cookie_name_value(d) for d in directives)
