"""``authenticate_request``: who is calling, from an incoming request's headers and cookies."""

from __future__ import annotations

import base64
import enum
import hashlib
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

import attrs
from typing_extensions import Unpack
from yarl import URL

from .. import _config
from ..errors import InvalidOptionError
from . import _handshake as hs
from ._claims import SessionClaims, split_features_by_scope
from ._errors import TokenVerificationError, TokenVerificationErrorReason
from ._handshake import OrganizationSyncOptions, organization_sync_options
from ._http_input import cookies_of, header
from ._machine import (
    MachineAuth,
    TokenType,
    jwt_machine_type,
    opaque_token_type,
    verify_machine_token,
)
from ._verify import (
    MAX_TOKEN_LENGTH,
    SIGNATURE_CACHE_SIZE,
    DigestCache,
    SessionChecks,
    _Verified,
    decode_unverified,
    is_non_session_category,
    recalled,
    token_digest,
    verified,
)

if TYPE_CHECKING:
    from .._client import Clerk

__all__ = [
    "Auth",
    "AuthReason",
    "AuthStatus",
    "AuthenticateOptions",
    "AuthenticateOverrides",
    "RequestLike",
    "RequestState",
    "authenticate_request",
    "with_overrides",
]

SESSION_COOKIE = "__session"
CLIENT_UAT_COOKIE = "__client_uat"


class AuthStatus(str, enum.Enum):
    """Outcome of :func:`authenticate_request`."""

    SIGNED_IN = "signed_in"
    SIGNED_OUT = "signed_out"
    #: a page load to send through the Frontend API (answer 307 with ``state.headers``)
    HANDSHAKE = "handshake"


class AuthReason(str, enum.Enum):
    """Why a request is signed out, when no token was rejected as such.

    A rejected token gives a :class:`TokenVerificationErrorReason` instead.
    """

    #: no ``Authorization`` header, no session cookie and no active client (``__client_uat``)
    SESSION_TOKEN_AND_UAT_MISSING = "session_token_and_uat_missing"
    #: a session cookie but ``__client_uat`` is ``0`` or absent (the browser signed out)
    SESSION_TOKEN_WITHOUT_CLIENT_UAT = "session_token_without_client_uat"
    #: ``__client_uat`` says signed in but no session cookie came with it
    CLIENT_UAT_WITHOUT_SESSION_TOKEN = "client_uat_without_session_token"
    #: the session cookie was issued before the last client change (``iat < __client_uat``)
    SESSION_TOKEN_OUTDATED = "session_token_outdated"
    #: a valid-looking token of a type this endpoint does not accept
    TOKEN_TYPE_NOT_ACCEPTED = "token_type_not_accepted"
    #: no token at all where only machine tokens are accepted
    TOKEN_MISSING = "token_missing"
    #: the session is ``pending`` (the user has tasks left, such as choosing an
    #: organization) and ``treat_pending_as_signed_out`` is on
    SESSION_PENDING = "session_pending"
    #: the page names an organization other than the active one (organization sync)
    ACTIVE_ORGANIZATION_MISMATCH = "active_organization_mismatch"
    #: a satellite page load that must learn the primary domain's session
    SATELLITE_NEEDS_SYNCING = "satellite_needs_syncing"
    #: the primary domain sends a development satellite's browser back, synced
    PRIMARY_RESPONDS_TO_SYNCING = "primary_responds_to_syncing"
    #: a development browser token arrived in the URL
    DEV_BROWSER_SYNC = "dev_browser_sync"
    #: a handshake answer in the URL was applied: 307 to the same URL without it
    HANDSHAKE_RESOLVED = "handshake_resolved"
    #: a handshake answer that did not verify or resolve; ignored
    HANDSHAKE_INVALID = "handshake_invalid"
    #: the handshake answered with no session (the browser is signed out)
    SESSION_TOKEN_MISSING = "session_token_missing"
    #: three handshakes in a row did not settle the session: given up, signed out
    HANDSHAKE_REDIRECT_LOOP = "handshake_redirect_loop"


def _tuple_or_none(value: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _audience(value: Sequence[str] | str | None) -> str | tuple[str, ...] | None:
    if value is None or isinstance(value, str):
        return value
    return tuple(value)


def _accepts(value: TokenType | str | Sequence[TokenType | str]) -> frozenset[TokenType]:
    items = [value] if isinstance(value, (str, TokenType)) else list(value)
    kinds = frozenset(TokenType(item) for item in items)
    if TokenType.ANY in kinds:
        return frozenset(TokenType) - {TokenType.ANY}
    return kinds


@attrs.frozen(kw_only=True)
class AuthenticateOptions:
    """Options for :func:`authenticate_request`, built once and reused.

    Attributes:
        authorized_parties: origins accepted in a session token's ``azp``.
        audience: expected ``aud`` of session tokens.
        issuer: expected ``iss`` of session tokens.
        jwt_key: PEM public key for networkless session verification
            (defaults to ``CLERK_JWT_KEY``).
        accepts_token: which token types are accepted: a :class:`TokenType`, its
            value, a list of them, or ``"any"``. Default: session tokens only.
        clock_skew: seconds of tolerance for time claims.
        now: the time source (epoch seconds) time claims are judged by; default the
            wall clock. Against the emulator, ``now=emu.clock.now`` makes tokens
            expire when its clock is advanced.
        clerk: the client used for JWKS and machine token verification.
        publishable_key: your publishable key (defaults to ``CLERK_PUBLISHABLE_KEY``);
            it names the suffixed cookies (``__session_<suffix>``) Clerk sets when
            several apps share a domain, and the Frontend API of the handshake.
        treat_pending_as_signed_out: a session whose status is ``pending`` (the user
            has tasks left) counts as signed out (reason ``session_pending``, its
            claims kept on the state). Default True.
        handshake: page loads whose session cookie is expired, outdated or missing
            while the browser has a session get status ``handshake`` (a redirect
            through the Frontend API that brings fresh cookies). Needs the
            publishable key and the request's URL. Default True.
        sign_in_url: the primary domain's sign-in page (a development satellite
            syncs through it).
        proxy_url: where your Frontend API proxy answers (absolute, or a path
            such as ``/__clerk`` on the request's origin).
        domain: a satellite's domain (its Frontend API is ``clerk.<domain>``).
        is_satellite: this app is a satellite of another domain's sessions.
        organization_sync_options: URL patterns naming the organization to activate
            (:class:`~clerk_async.auth.OrganizationSyncOptions` or a mapping of its
            fields).

    Example::

        options = AuthenticateOptions(clerk=clerk, authorized_parties=["https://app.example"])
        state = await authenticate_request(request, options=options)
    """

    authorized_parties: tuple[str, ...] | None = attrs.field(default=None, converter=_tuple_or_none)
    audience: str | tuple[str, ...] | None = attrs.field(default=None, converter=_audience)
    issuer: str | None = None
    jwt_key: str | None = attrs.field(default=None, repr=False)
    accepts_token: frozenset[TokenType] = attrs.field(
        default=TokenType.SESSION_TOKEN, converter=_accepts
    )
    clock_skew: float = 5.0
    now: Callable[[], float] | None = None
    clerk: Clerk | None = None
    publishable_key: str | None = None
    treat_pending_as_signed_out: bool = True
    handshake: bool = True
    sign_in_url: str | None = None
    proxy_url: str | None = None
    domain: str | None = None
    is_satellite: bool = False
    organization_sync_options: OrganizationSyncOptions | None = attrs.field(
        default=None, converter=organization_sync_options
    )
    # What session tokens are verified with, gathered once from the fields above.
    _session_checks: SessionChecks = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        hs.check_satellite(
            is_satellite=self.is_satellite,
            domain=self.domain,
            proxy_url=self.proxy_url,
            sign_in_url=self.sign_in_url,
        )
        checks = SessionChecks(
            jwt_key=self.jwt_key,
            clerk=self.clerk,
            authorized_parties=self.authorized_parties,
            audience=self.audience,
            issuer=self.issuer,
            clock_skew=self.clock_skew,
            now=self.now,
        )
        object.__setattr__(self, "_session_checks", checks)  # frozen: set once, here


class AuthenticateOverrides(TypedDict, total=False):
    """The keyword arguments that override :class:`AuthenticateOptions` fields.

    :func:`authenticate_request` and every integration take them as
    ``**overrides``: the same names and accepted types as the options'
    constructor (a test holds the two in step), each one optional. An unknown
    name raises ``TypeError``. The one field left out, ``clerk``, is a parameter
    of its own wherever a client is taken (as in :func:`verify_token`), because
    the sync twins hand a client over to its event loop by that parameter.
    """

    authorized_parties: Sequence[str] | str | None
    audience: Sequence[str] | str | None
    issuer: str | None
    jwt_key: str | None
    accepts_token: TokenType | str | Sequence[TokenType | str]
    clock_skew: float
    now: Callable[[], float] | None
    publishable_key: str | None
    treat_pending_as_signed_out: bool
    handshake: bool
    sign_in_url: str | None
    proxy_url: str | None
    domain: str | None
    is_satellite: bool
    organization_sync_options: OrganizationSyncOptions | Mapping[str, Sequence[str]] | None


_DEFAULT_OPTIONS = AuthenticateOptions()


def with_overrides(
    options: AuthenticateOptions | None,
    overrides: AuthenticateOverrides,
    clerk: Clerk | None = None,
) -> AuthenticateOptions:
    """``options`` (or the defaults) with the given fields replaced (``clerk`` when not None).

    Raises:
        TypeError: an override that names no field of :class:`AuthenticateOptions`.
    """
    base = _DEFAULT_OPTIONS if options is None else options
    if clerk is not None:
        return attrs.evolve(base, clerk=clerk, **overrides)
    # No copy on the hot path: a request authenticated with prepared options.
    return attrs.evolve(base, **overrides) if overrides else base


@attrs.frozen(kw_only=True)
class Auth:
    """The authentication context of a request, whatever the token type.

    Signed-out requests give an ``Auth`` whose ids are all None.

    Example::

        auth = state.to_auth()
        if not auth.has(permission="org:invoices:read"):
            raise Forbidden()
    """

    token_type: TokenType | None = None
    user_id: str | None = None
    session_id: str | None = None
    org_id: str | None = None
    org_role: str | None = None
    org_slug: str | None = None
    org_permissions: tuple[str, ...] = ()
    session_status: str | None = None
    actor: Mapping[str, Any] | None = None
    features: str | None = None
    plans: str | None = None
    claims: Mapping[str, Any] | None = None
    machine: MachineAuth | None = None
    #: minutes since the first and second factors were verified (``fva``; -1: none)
    factor_verification_age: tuple[int, int] | None = None

    @property
    def is_authenticated(self) -> bool:
        """Whether a token was verified."""
        return self.token_type is not None

    @property
    def machine_id(self) -> str | None:
        """The machine a machine token acts for, if any."""
        return None if self.machine is None else self.machine.machine_id

    @property
    def scopes(self) -> tuple[str, ...]:
        """Scopes of a machine token (empty for session tokens)."""
        return () if self.machine is None else self.machine.scopes

    def has(
        self,
        *,
        permission: str | None = None,
        role: str | None = None,
        feature: str | None = None,
        plan: str | None = None,
        scope: str | None = None,
        reverification: Reverification | None = None,
    ) -> bool:
        """Whether every given condition holds (an ``org:`` prefix is optional).

        ``permission``/``role`` look at the active organization; ``feature``/``plan``
        at the billing claims (``fea``/``pla``; ``org:x``/``user:x`` pick a scope);
        ``scope`` at a machine token's scopes. With no condition: ``False``.

        ``reverification`` asks how recently the user proved who they are (the
        ``fva`` claim): ``"strict_mfa"`` (both factors within 10 minutes),
        ``"strict"`` (the second factor within 10), ``"moderate"`` (60), ``"lax"``
        (1440), or ``(minutes, level)`` with level ``"first_factor"``,
        ``"second_factor"`` or ``"multi_factor"``. A user with no second factor
        enrolled is judged by the first. Anything else raises
        :class:`~clerk_async.errors.InvalidOptionError` (a ``ValueError``).

        Example::

            if not auth.has(reverification="strict"):
                return Response(status_code=403)  # ask the user to verify again
        """
        rule = None if reverification is None else _reverification_rule(reverification)
        if not self.is_authenticated or all(
            c is None for c in (permission, role, feature, plan, scope, rule)
        ):
            return False
        if rule is not None and not _fresh_enough(self.factor_verification_age, *rule):
            return False
        if permission is not None and (
            self.org_id is None or _org(permission) not in self.org_permissions
        ):
            return False
        if role is not None and (
            self.org_id is None or self.org_role is None or _org(self.org_role) != _org(role)
        ):
            return False
        if feature is not None and not _entitled(self.features, feature):
            return False
        if plan is not None and not _entitled(self.plans, plan):
            return False
        return scope is None or scope in self.scopes


#: ``has(reverification=…)``: a named rule, or ``(minutes, level)``
Reverification = str | tuple[int, str]

_REVERIFICATION_RULES: dict[str, tuple[int, str]] = {
    "strict_mfa": (10, "multi_factor"),
    "strict": (10, "second_factor"),
    "moderate": (60, "second_factor"),
    "lax": (1_440, "second_factor"),
}
_LEVELS = frozenset({"first_factor", "second_factor", "multi_factor"})


def _reverification_rule(value: object) -> tuple[int, str]:
    if isinstance(value, str):
        rule = _REVERIFICATION_RULES.get(value)
        if rule is None:
            raise InvalidOptionError(
                f"unknown reverification rule {value!r}: use one of "
                f"{sorted(_REVERIFICATION_RULES)} or (minutes, level)"
            )
        return rule
    if isinstance(value, tuple) and len(value) == 2:
        minutes, level = value
        if (
            isinstance(minutes, int)
            and not isinstance(minutes, bool)
            and minutes > 0
            and level in _LEVELS
        ):
            return minutes, level
    raise InvalidOptionError(
        f"reverification must be a rule name or (minutes > 0, level in {sorted(_LEVELS)}), "
        f"not {value!r}"
    )


def _fresh_enough(fva: tuple[int, int] | None, minutes: int, level: str) -> bool:
    if fva is None:
        return False
    first, second = fva
    if first < -1 or second < -1 or (first == -1 and second == -1):
        return False  # nothing enrolled, or nonsense: fail closed
    first_ok = first != -1 and first < minutes
    second_ok = second != -1 and second < minutes
    if level == "first_factor":
        return first_ok
    if second == -1:  # no second factor enrolled: judged by the first
        return first_ok
    if level == "second_factor":
        return second_ok
    return first_ok and second_ok  # multi_factor (a second factor without a first fails)


def _org(value: str) -> str:
    while value.startswith("org:"):
        value = value[4:]
    return "org:" + value


def _entitled(claim: str | None, wanted: str) -> bool:
    org, user = split_features_by_scope(claim)
    scope, sep, name = wanted.partition(":")
    if not sep:
        return wanted in org or wanted in user
    if scope in ("org", "o"):
        return name in org
    if scope in ("user", "u"):
        return name in user
    return False


@attrs.frozen(kw_only=True)
class RequestState:
    """What :func:`authenticate_request` found.

    Attributes:
        status: signed in, signed out, or ``handshake`` (a page load to redirect).
        reason: why signed out or why a handshake (an :class:`AuthReason` or a
            :class:`TokenVerificationErrorReason`); None when signed in.
        message: a human-readable explanation (never contains the token).
        token: the token that was verified (None when signed out).
        token_type: the kind of token found, when one was found.
        claims: the session token's claims (session tokens only; kept for a
            pending session counted as signed out).
        machine: the machine token's details (machine tokens only).
        error: the verification error, for callers that tell "bad token" (401)
            from "Clerk unreachable" (503).
        headers: response headers to send, in order (several ``Set-Cookie``): for a
            handshake the redirect (``Location``, ``Cache-Control``, cookies); after
            a handshake resolved in place, the cookies it sets. Empty otherwise.

    Example (any framework)::

        state = await authenticate_request(request, options=options)
        if state.is_handshake:
            return Response(status_code=307, headers=state.headers)
    """

    status: AuthStatus
    reason: AuthReason | TokenVerificationErrorReason | None = None
    message: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    token_type: TokenType | None = None
    claims: SessionClaims | None = None
    machine: MachineAuth | None = None
    error: TokenVerificationError | None = attrs.field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    # to_auth()'s answer, built once (a repeated token's comes with its cached claims).
    _auth: Auth | None = attrs.field(default=None, init=False, repr=False, eq=False)

    @property
    def is_signed_in(self) -> bool:
        """Whether the request carried a valid token (session or machine)."""
        return self.status is AuthStatus.SIGNED_IN

    @property
    def is_handshake(self) -> bool:
        """Whether the answer must be the handshake redirect (307 with :attr:`headers`)."""
        return self.status is AuthStatus.HANDSHAKE

    @property
    def location(self) -> str | None:
        """Where a handshake redirects to (its ``Location`` header)."""
        for name, value in self.headers:
            if name == "Location":
                return value
        return None

    @property
    def set_cookies(self) -> tuple[str, ...]:
        """The ``Set-Cookie`` values the response must carry."""
        return tuple(value for name, value in self.headers if name == "Set-Cookie")

    def to_auth(self) -> Auth:
        """The request's :class:`Auth` (all ids None when signed out)."""
        auth = self._auth
        if auth is None:
            auth = self._build_auth()
            object.__setattr__(self, "_auth", auth)  # frozen: set once, here
        return auth

    def _build_auth(self) -> Auth:
        claims = self.claims
        if not self.is_signed_in:
            return Auth(session_status=None if claims is None else claims.session_status)
        if claims is not None:
            return Auth(
                token_type=TokenType.SESSION_TOKEN,
                user_id=claims.sub,
                session_id=claims.session_id,
                org_id=claims.org_id,
                org_role=claims.org_role,
                org_slug=claims.org_slug,
                org_permissions=claims.org_permissions,
                session_status=claims.session_status,
                actor=claims.act,
                features=claims.features,
                plans=claims.plans,
                claims=claims.raw,
                factor_verification_age=claims.factor_verification_age,
            )
        machine = self.machine
        assert machine is not None
        return Auth(
            token_type=machine.token_type,
            user_id=machine.user_id,
            org_id=machine.org_id,
            claims=machine.claims,
            machine=machine,
        )


class RequestLike(Protocol):
    """Anything with a ``headers`` mapping: a Starlette/FastAPI ``Request``, an
    aiohttp ``web.Request``, a Django or Flask request, ...

    Cookies are read from its ``Cookie`` header(s), by the rules of
    :mod:`clerk_async.auth._http_input`, whatever the framework's own parser does.
    """

    @property
    def headers(self) -> Mapping[str, str]:
        """The request's headers (any mapping; names matched case-insensitively)."""
        ...


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = header(headers, "Authorization")
    if not value:
        return None
    if value.startswith("Bearer "):  # the usual form: no split, one slice
        return value[7:].strip() or None
    parts = value.strip().split(None, 1)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]  # a bare token, as Clerk's own SDKs accept
    scheme, token = parts
    return token.strip() or None if scheme.lower() == "bearer" else None


def cookie_suffix(publishable_key: str) -> str:
    """The suffix Clerk appends to cookie names for a publishable key."""
    digest = hashlib.sha1(publishable_key.encode(), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).decode()[:8]


def _session_cookies(
    cookies: Mapping[str, str], publishable_key: str | None
) -> tuple[str | None, str | None, bool]:
    """``(session token, client_uat, suffixed)`` from the right cookie family."""
    suffix: str | None = None
    if publishable_key:
        candidate = cookie_suffix(publishable_key)
        if f"{CLIENT_UAT_COOKIE}_{candidate}" in cookies:
            suffix = candidate
    elif SESSION_COOKIE not in cookies and CLIENT_UAT_COOKIE not in cookies:
        prefix = CLIENT_UAT_COOKIE + "_"
        suffixes = {name[len(prefix) :] for name in cookies if name.startswith(prefix)}
        if len(suffixes) == 1:
            suffix = suffixes.pop()
    if suffix is None:
        return cookies.get(SESSION_COOKIE) or None, cookies.get(CLIENT_UAT_COOKIE), False
    return (
        cookies.get(f"{SESSION_COOKIE}_{suffix}") or None,
        cookies.get(f"{CLIENT_UAT_COOKIE}_{suffix}"),
        True,
    )


def _signed_out(
    reason: AuthReason | TokenVerificationErrorReason,
    message: str,
    *,
    token_type: TokenType | None = None,
    error: TokenVerificationError | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> RequestState:
    return RequestState(
        status=AuthStatus.SIGNED_OUT,
        reason=reason,
        message=message,
        token_type=token_type,
        error=error,
        headers=headers,
    )


async def authenticate_request(
    request: RequestLike | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    cookies: Mapping[str, str] | None = None,
    url: str | None = None,
    method: str | None = None,
    options: AuthenticateOptions | None = None,
    clerk: Clerk | None = None,
    **overrides: Unpack[AuthenticateOverrides],
) -> RequestState:
    """Authenticate an incoming request to your backend.

    Pass the framework's request object (Starlette/FastAPI ``Request``, aiohttp
    ``web.Request``: anything with ``headers``, and ``url``/``method`` when it has
    them), or a ``headers`` mapping (with ``url`` and ``method`` for handshakes);
    cookies are read from the ``Cookie`` header(s) unless a ``cookies`` mapping is
    given. Options come from ``options``; ``clerk`` and the other keyword arguments
    (any field of :class:`AuthenticateOptions`, see :class:`AuthenticateOverrides`)
    replace its fields for this call. An unknown keyword raises ``TypeError``.

    The token is taken from ``Authorization: Bearer <token>`` first (any case of
    "Bearer"; a bare token works too), else from the ``__session`` cookie (or its
    ``__session_<suffix>`` variant). Header tokens starting with ``ak_``, ``mt_`` or
    ``oat_`` are machine tokens, verified by Clerk, and so are JWTs with an
    ``mch_`` subject (M2M) or ``typ: at+jwt`` (OAuth), verified here; a type
    outside ``accepts_token`` gives signed out with reason
    ``token_type_not_accepted``, and so does a JWT whose ``cat`` header marks
    another class (a JWT-template token, an M2M JWT) presented as a session token.

    Cookie rules, from the ``__client_uat`` cookie Clerk's frontend maintains: no
    session cookie and ``__client_uat`` absent or ``0`` → signed out. A session
    cookie that is expired, or older than ``__client_uat``, or missing while
    ``__client_uat`` says signed in, or present while it says signed out: on a page
    load (a ``GET`` with ``Sec-Fetch-Dest: document``, or asking for ``text/html``)
    status ``handshake``, whose :attr:`RequestState.headers` are the 307 redirect
    to send; on any other request (an API call, a ``fetch``), signed out. Back from
    the Frontend API, the handshake's answer is verified and applied: in the URL
    (development instances) it gives one more ``handshake`` redirect to the same
    page without it, carrying the fresh cookies; in a cookie (production) the
    request is signed in on the spot, ``headers`` holding the cookies to set.
    After three handshakes in a row: signed out (``handshake_redirect_loop``).
    Without a publishable key or a URL there is no handshake.

    A rejected token never raises: it gives a signed-out state whose ``reason``
    says why. Configuration problems (no key source at all) do raise.

    Example::

        state = await authenticate_request(request, clerk=clerk,
                                           authorized_parties=["https://app.example"])
        if state.is_handshake:
            return web.Response(status=307, headers=state.headers)
        if not state.is_signed_in:
            return web.json_response({"error": state.reason}, status=401)
        auth = state.to_auth()
    """
    opts = with_overrides(options, overrides, clerk)
    if headers is None:
        headers = request.headers if request is not None else {}
    header_token = _bearer(headers)
    if header_token is not None:
        state = _authenticate_token(header_token, opts, from_cookie=False)
        return state if isinstance(state, RequestState) else await state

    if cookies is None:
        cookies = cookies_of(headers)
    publishable_key = _config.publishable_key(opts.publishable_key)
    session_token, client_uat, suffixed = _session_cookies(cookies, publishable_key)
    if TokenType.SESSION_TOKEN not in opts.accepts_token:
        if session_token is None:
            return _signed_out(AuthReason.TOKEN_MISSING, "no Authorization header")
        return _signed_out(
            AuthReason.TOKEN_TYPE_NOT_ACCEPTED,
            "session tokens are not accepted here",
            token_type=TokenType.SESSION_TOKEN,
        )
    if url is None and request is not None:
        found = getattr(request, "url", None)
        url = None if found is None else str(found)
    if method is None:
        method = str(getattr(request, "method", None) or "GET")
    page = _page(url, headers)
    flow = _CookieFlow(
        opts=opts,
        headers=headers,
        cookies=cookies,
        page=page,
        method=method,
        publishable_key=publishable_key,
        session_token=session_token,
        suffixed=suffixed,
    )
    return await flow.run(_uat(client_uat))


def _page(url: str | None, headers: Mapping[str, str]) -> URL | None:
    if not url:
        return None
    try:
        page = hs.request_url(url, headers)
    except ValueError:
        return None
    return page if page.absolute else None


def _uat(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(value.strip())
    except ValueError:
        return 0


_HANDSHAKE_ERRORS = frozenset(
    {
        TokenVerificationErrorReason.EXPIRED,
        TokenVerificationErrorReason.NOT_YET_VALID,
        TokenVerificationErrorReason.ISSUED_IN_FUTURE,
    }
)


@attrs.define(kw_only=True)
class _CookieFlow:
    """One request authenticated from its cookies, handshake included."""

    opts: AuthenticateOptions
    headers: Mapping[str, str]
    cookies: Mapping[str, str]
    page: URL | None
    method: str
    publishable_key: str | None
    session_token: str | None
    suffixed: bool

    @property
    def _frontend_api(self) -> hs.FrontendApi | None:
        if not self.publishable_key:
            return None
        return hs.frontend_api_of(
            self.publishable_key,
            proxy_url=self.opts.proxy_url,
            domain=self.opts.domain,
            is_satellite=self.opts.is_satellite,
            request=self.page,
        )

    def _dev_browser(self) -> str | None:
        query = self.page.query.get(hs.DEV_BROWSER) if self.page is not None else None
        return query or self.cookies.get(hs.DEV_BROWSER) or None

    def _eligible(self) -> bool:
        return (
            self.opts.handshake
            and bool(self.publishable_key)
            and self.page is not None
            and hs.is_document_request(self.method, self.headers)
        )

    def handshake(
        self,
        reason: AuthReason | TokenVerificationErrorReason,
        message: str,
        *,
        location: str | None = None,
        organization: hs.OrganizationTarget | None = None,
        error: TokenVerificationError | None = None,
    ) -> RequestState:
        """A handshake redirect when this request may get one, else signed out."""
        kind = TokenType.SESSION_TOKEN if self.session_token else None
        if not self._eligible():
            return _signed_out(reason, message, token_type=kind, error=error)
        count = hs.redirect_count(self.cookies)
        if count >= hs.REDIRECT_LOOP_LIMIT:
            return _signed_out(
                AuthReason.HANDSHAKE_REDIRECT_LOOP,
                f"{count} handshakes in a row did not settle the session (last reason: "
                f"{reason.value}); check that the publishable and secret keys are of "
                "the same instance",
                token_type=kind,
                error=error,
            )
        if location is None:
            frontend_api = self._frontend_api
            assert frontend_api is not None and self.page is not None
            location = hs.handshake_location(
                frontend_api,
                self.page,
                reason=reason.value,
                suffixed_cookies=self.suffixed,
                session_token=self.session_token,
                dev_browser=self._dev_browser(),
                organization=organization,
            )
        return RequestState(
            status=AuthStatus.HANDSHAKE,
            reason=reason,
            message=message,
            token_type=kind,
            error=error,
            headers=(
                ("Location", location),
                ("Cache-Control", "no-store"),
                ("Set-Cookie", hs.redirect_count_cookie(count + 1)),
            ),
        )

    async def run(self, client_uat: int) -> RequestState:
        answer = await self._handshake_answer()
        if answer is not None:
            return answer
        synced = await self._multi_domain(client_uat)
        if synced is not None:
            return synced
        token = self.session_token
        active_client = client_uat > 0
        if token is None:
            if active_client:
                return self.handshake(
                    AuthReason.CLIENT_UAT_WITHOUT_SESSION_TOKEN,
                    "the client is signed in but sent no session cookie",
                )
            return _signed_out(AuthReason.SESSION_TOKEN_AND_UAT_MISSING, "no credentials")
        if not active_client:
            return self.handshake(
                AuthReason.SESSION_TOKEN_WITHOUT_CLIENT_UAT,
                "a session cookie without an active client",
            )
        digest = _digest_of(token)
        try:
            facts = _jwt_facts(token, digest)
        except TokenVerificationError as exc:
            return _signed_out(
                exc.reason, exc.message, token_type=TokenType.SESSION_TOKEN, error=exc
            )
        mismatch = _category_mismatch(facts)
        if mismatch is not None:
            return mismatch
        iat = facts.iat
        if isinstance(iat, (int, float)) and not isinstance(iat, bool) and iat < client_uat:
            return self.handshake(
                AuthReason.SESSION_TOKEN_OUTDATED,
                "the session cookie predates the client's last change",
            )
        state = await _verify_session(token, self.opts, digest, routed=True)
        if state.reason in _HANDSHAKE_ERRORS:
            assert isinstance(state.reason, TokenVerificationErrorReason)
            return self.handshake(state.reason, state.message or "", error=state.error)
        if state.is_signed_in:
            return self._organization_sync(state)
        return state

    async def _handshake_answer(self) -> RequestState | None:
        """The state a handshake answer (in the URL or a cookie) settles, if one came."""
        query = self.page.query if self.page is not None else {}
        in_query = bool(query.get(hs.HANDSHAKE) or query.get(hs.HANDSHAKE_NONCE))
        source: Mapping[str, str] = query if in_query else self.cookies
        token, nonce = source.get(hs.HANDSHAKE) or None, source.get(hs.HANDSHAKE_NONCE) or None
        if token is None and nonce is None:
            return None
        try:
            directives = await hs.handshake_directives(
                token=token, nonce=nonce, jwt_key=self.opts.jwt_key, clerk=self.opts.clerk
            )
        except TokenVerificationError as exc:
            return _signed_out(
                AuthReason.HANDSHAKE_INVALID,
                f"the handshake answer was ignored: {exc.message}",
                error=exc,
            )
        cookies = tuple(("Set-Cookie", d) for d in directives)
        if in_query and self.page is not None:
            return RequestState(
                status=AuthStatus.HANDSHAKE,
                reason=AuthReason.HANDSHAKE_RESOLVED,
                message="the handshake answer was applied; the page loads again without it",
                headers=(
                    ("Location", str(hs.without_handshake_params(self.page))),
                    ("Cache-Control", "no-store"),
                    *cookies,
                ),
            )
        token = self._session_from(directives)
        if token is None:
            return _signed_out(
                AuthReason.SESSION_TOKEN_MISSING,
                "the handshake answered with no session",
                headers=cookies,
            )
        state = await _verify_session(token, self.opts)
        return attrs.evolve(state, headers=cookies)

    def _session_from(self, directives: list[str]) -> str | None:
        pairs = hs.cookie_pairs(directives)
        names = [SESSION_COOKIE]
        if self.suffixed and self.publishable_key:
            names.insert(0, f"{SESSION_COOKIE}_{cookie_suffix(self.publishable_key)}")
        for name in names:
            if pairs.get(name):
                return pairs[name]
        found = [v for k, v in pairs.items() if k.startswith(SESSION_COOKIE) and v]
        return found[-1] if found else None

    async def _multi_domain(self, client_uat: int) -> RequestState | None:
        """Satellite syncing, on the satellite and on the primary domain."""
        page = self.page
        if page is None or not self._eligible():
            return None
        frontend_api = self._frontend_api
        assert frontend_api is not None
        opts = self.opts
        if opts.is_satellite and header(self.headers, "Sec-Fetch-Dest") == "document":
            synced = page.query.get(hs.SYNCED)
            has_cookies = self.session_token is not None or client_uat > 0
            if synced != "true" and (synced == "false" or not has_cookies):
                if synced != "false":
                    # A first visit without cookies stays signed out: the user
                    # signs in on the primary domain, which sends them back marked.
                    return _signed_out(AuthReason.SESSION_TOKEN_AND_UAT_MISSING, "no credentials")
                if not frontend_api.development:
                    return self.handshake(
                        AuthReason.SATELLITE_NEEDS_SYNCING, "the satellite syncs its session"
                    )
                if not opts.sign_in_url:
                    raise InvalidOptionError(
                        "a development satellite needs sign_in_url= (the primary domain's "
                        "sign-in page) to sync its session"
                    )
                if URL(opts.sign_in_url).origin() == page.origin():
                    raise InvalidOptionError(
                        "sign_in_url must be on the primary domain, not on the satellite's origin"
                    )
                return self.handshake(
                    AuthReason.SATELLITE_NEEDS_SYNCING,
                    "the satellite syncs its session through the primary's sign-in page",
                    location=hs.satellite_sync_location(opts.sign_in_url, page),
                )
        if not frontend_api.development:
            return None
        back = page.query.get(hs.REDIRECT_URL)
        if not opts.is_satellite and back:
            return self.handshake(
                AuthReason.PRIMARY_RESPONDS_TO_SYNCING,
                "the primary domain sends the satellite's browser back",
                location=hs.primary_sync_location(back, self._dev_browser()),
            )
        if page.query.get(hs.DEV_BROWSER):
            return self.handshake(AuthReason.DEV_BROWSER_SYNC, "a development browser token")
        return None

    def _organization_sync(self, state: RequestState) -> RequestState:
        sync = self.opts.organization_sync_options
        claims = state.claims
        if sync is None or claims is None or self.page is None or not self._eligible():
            return state
        target = sync.target(self.page.path)
        if target is None or not hs.must_activate(target, claims.org_id, claims.org_slug):
            return state
        if hs.redirect_count(self.cookies) >= hs.REDIRECT_LOOP_LIMIT:
            # Activation was tried and did not take (not a member, no such
            # organization): the page gets the session as it is.
            return state
        return self.handshake(
            AuthReason.ACTIVE_ORGANIZATION_MISMATCH,
            "the page names another organization than the active one",
            organization=target,
        )


@attrs.frozen
class _JwtFacts:
    """What routing reads from a JWT's header and payload before verifying it."""

    #: the machine token type its claims name (an ``mch_`` subject, ``typ: at+jwt``)
    machine: TokenType | None
    #: whether its ``cat`` header names a class other than a session token
    other_class: bool
    #: its ``iat`` claim as sent (for the ``__client_uat`` rule)
    iat: object


#: The facts of recent JWTs. They depend on the token's bytes alone, so a repeated
#: token's header and payload are decoded once, not on every request; keyed by digest
#: like the signature cache, so no token is kept.
_jwt_facts_seen: DigestCache[_JwtFacts] = DigestCache(SIGNATURE_CACHE_SIZE)


def _digest_of(token: str) -> bytes | None:
    # A token over the limit is refused as such by decoding; it is never hashed.
    return token_digest(token) if len(token) <= MAX_TOKEN_LENGTH else None


def _jwt_facts(token: str, digest: bytes | None) -> _JwtFacts:
    """The routing facts of a JWT; :class:`TokenVerificationError` when it cannot be
    decoded at all (never remembered, so it is decoded, and refused, each time)."""
    facts = None if digest is None else _jwt_facts_seen.get(digest)
    if facts is None:
        header_, payload = decode_unverified(token)
        facts = _JwtFacts(
            machine=jwt_machine_type(header_, payload),
            other_class=is_non_session_category(header_.get("cat")),
            iat=payload.get("iat"),
        )
        if digest is not None:
            _jwt_facts_seen.put(digest, facts)
    return facts


def _category_mismatch(facts: _JwtFacts) -> RequestState | None:
    """Signed out when a JWT signed by the instance key is of another class than a
    session token (a template token outlives the session; an M2M JWT has none)."""
    if facts.other_class or facts.machine is not None:
        return _signed_out(
            AuthReason.TOKEN_TYPE_NOT_ACCEPTED,
            "the JWT is not a session token (its 'cat' header or type says another class)",
            token_type=TokenType.SESSION_TOKEN,
        )
    return None


async def _verify_session(
    token: str, opts: AuthenticateOptions, digest: bytes | None = None, *, routed: bool = False
) -> RequestState:
    """Verify a session token; ``routed`` when its header and claims were read and found
    a session token's, which the cache entry then records (see :func:`_recalled_session`)."""
    try:
        entry = await verified(token, opts._session_checks, digest)
    except TokenVerificationError as exc:
        return _refused_session(exc)
    if routed:
        entry.routed = True
    return _session_state(token, opts, entry)


def _recalled_session(token: str, opts: AuthenticateOptions, digest: bytes) -> RequestState | None:
    """The state of a session token verified before, whose header and claims were read
    then (a routed entry of the signature cache, see
    :func:`~clerk_async.auth._verify.recalled`), without reading them again or an await;
    None when the token must go the whole way."""
    try:
        entry = recalled(digest, opts._session_checks, routed=True)
    except TokenVerificationError as exc:
        return _refused_session(exc)
    return None if entry is None else _session_state(token, opts, entry)


def recalled_bearer(authorization: bytes, opts: AuthenticateOptions) -> Auth | None:
    """The :class:`Auth` of a request whose ``Authorization`` header (its raw value, as
    an ASGI server gives it) is ``Bearer <token>`` of a session token the signature
    cache vouches for, checked now as :func:`authenticate_request` would; None whenever
    the request must go the whole way (another form of header, a token not seen or not
    routed, a check that fails, a pending session): no decoding, no state, no await.

    It answers only what the whole way answers too: the same cache entry, the same
    checks, the same ``Auth`` (built once per token from its claims).
    """
    if not authorization.startswith(b"Bearer ") or len(authorization) > _LONGEST_BEARER:
        return None
    if TokenType.SESSION_TOKEN not in opts.accepts_token:
        return None
    try:
        entry = recalled(token_digest(authorization[7:]), opts._session_checks, routed=True)
    except TokenVerificationError:
        return None  # refused the whole way, with its reason
    if entry is None or entry.auth is None:
        return None
    if _held_pending(opts, entry.claims):
        return None
    auth: Auth = entry.auth
    return auth


# "Bearer " and the longest token that is hashed at all (see _digest_of).
_LONGEST_BEARER = 7 + MAX_TOKEN_LENGTH


def _held_pending(opts: AuthenticateOptions, claims: SessionClaims) -> bool:
    """Whether a valid session token counts as signed out: its session is pending (the
    user has tasks to finish) and the options say pending sessions are signed out."""
    return opts.treat_pending_as_signed_out and claims.session_status == "pending"


def _refused_session(exc: TokenVerificationError) -> RequestState:
    return _signed_out(exc.reason, exc.message, token_type=TokenType.SESSION_TOKEN, error=exc)


def _session_state(token: str, opts: AuthenticateOptions, entry: _Verified) -> RequestState:
    kind = TokenType.SESSION_TOKEN
    claims = entry.claims
    if _held_pending(opts, claims):
        return RequestState(
            status=AuthStatus.SIGNED_OUT,
            reason=AuthReason.SESSION_PENDING,
            message="the session is pending: the user has tasks to finish first",
            token_type=kind,
            claims=claims,
        )
    state = RequestState(status=AuthStatus.SIGNED_IN, token=token, token_type=kind, claims=claims)
    # The Auth of a repeated token is the one built from its claims before.
    if entry.auth is None:
        entry.auth = state.to_auth()
    else:
        object.__setattr__(state, "_auth", entry.auth)
    return state


def _authenticate_token(
    token: str, opts: AuthenticateOptions, *, from_cookie: bool
) -> RequestState | Coroutine[Any, Any, RequestState]:
    """The state for ``token``: at once when no await is needed (a refusal by type or
    form, a session token the signature cache vouches for), else the coroutine that
    verifies it (await it)."""
    kind = None if from_cookie else opaque_token_type(token)
    facts: _JwtFacts | None = None
    error: TokenVerificationError | None = None
    digest: bytes | None = None
    if kind is None:
        # A JWT: a session token, unless (in a header) its claims name a machine type.
        digest = _digest_of(token)
        if digest is not None and TokenType.SESSION_TOKEN in opts.accepts_token:
            # Seen before and found a session token's: the cache answers, unread.
            known = _recalled_session(token, opts, digest)
            if known is not None:
                return known
        try:
            facts = _jwt_facts(token, digest)
        except TokenVerificationError as exc:
            error = exc  # refused below as a malformed session token
        named = None if from_cookie or facts is None else facts.machine
        kind = named or TokenType.SESSION_TOKEN
    if kind not in opts.accepts_token:
        return _signed_out(
            AuthReason.TOKEN_TYPE_NOT_ACCEPTED,
            f"{kind.value} tokens are not accepted here",
            token_type=kind,
        )
    if kind is TokenType.SESSION_TOKEN:
        if error is not None:
            return _signed_out(error.reason, error.message, token_type=kind, error=error)
        assert facts is not None
        mismatch = _category_mismatch(facts)
        if mismatch is not None:
            return mismatch
        return _verify_session(token, opts, digest, routed=True)
    return _verify_machine(token, kind, opts)


async def _verify_machine(token: str, kind: TokenType, opts: AuthenticateOptions) -> RequestState:
    try:
        machine = await verify_machine_token(
            token,
            clerk=opts.clerk,
            jwt_key=opts.jwt_key,
            clock_skew=opts.clock_skew,
            now=opts.now,
        )
    except TokenVerificationError as exc:
        return _signed_out(exc.reason, exc.message, token_type=kind, error=exc)
    return RequestState(status=AuthStatus.SIGNED_IN, token=token, token_type=kind, machine=machine)
