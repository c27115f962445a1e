"""``authenticate_request``: who is calling, from an incoming request's headers and cookies."""

from __future__ import annotations

import base64
import enum
import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

import attrs
from typing_extensions import Unpack

from .. import _config
from ._claims import SessionClaims, split_features_by_scope
from ._errors import TokenVerificationError, TokenVerificationErrorReason
from ._http_input import cookies_of, header
from ._machine import MachineAuth, TokenType, token_type_of, verify_machine_token
from ._verify import decode_unverified_payload, verified

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
        clerk: the client used for JWKS and machine token verification.
        publishable_key: your publishable key (defaults to ``CLERK_PUBLISHABLE_KEY``);
            it names the suffixed cookies (``__session_<suffix>``) Clerk sets when
            several apps share a domain.

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
    clerk: Clerk | None = None
    publishable_key: str | None = None


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
    publishable_key: str | None


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
    ) -> bool:
        """Whether every given condition holds (an ``org:`` prefix is optional).

        ``permission``/``role`` look at the active organization; ``feature``/``plan``
        at the billing claims (``fea``/``pla``; ``org:x``/``user:x`` pick a scope);
        ``scope`` at a machine token's scopes. With no condition: ``False``.
        """
        if not self.is_authenticated or all(
            c is None for c in (permission, role, feature, plan, scope)
        ):
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
        status: signed in or signed out.
        reason: why signed out (an :class:`AuthReason` or a
            :class:`TokenVerificationErrorReason`); None when signed in.
        message: a human-readable explanation (never contains the token).
        token: the token that was verified (None when signed out).
        token_type: the kind of token found, when one was found.
        claims: the session token's claims (session tokens only).
        machine: the machine token's details (machine tokens only).
        error: the verification error, for callers that tell "bad token" (401)
            from "Clerk unreachable" (503).
    """

    status: AuthStatus
    reason: AuthReason | TokenVerificationErrorReason | None = None
    message: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    token_type: TokenType | None = None
    claims: SessionClaims | None = None
    machine: MachineAuth | None = None
    error: TokenVerificationError | None = attrs.field(default=None, repr=False)
    # to_auth()'s answer, built once (a repeated token's comes with its cached claims).
    _auth: Auth | None = attrs.field(default=None, init=False, repr=False, eq=False)

    @property
    def is_signed_in(self) -> bool:
        """Whether the request carried a valid token (session or machine)."""
        return self.status is AuthStatus.SIGNED_IN

    def to_auth(self) -> Auth:
        """The request's :class:`Auth` (all ids None when signed out)."""
        auth = self._auth
        if auth is None:
            auth = self._build_auth()
            object.__setattr__(self, "_auth", auth)  # frozen: set once, here
        return auth

    def _build_auth(self) -> Auth:
        if not self.is_signed_in:
            return Auth()
        claims = self.claims
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
) -> tuple[str | None, str | None]:
    """``(session token, client_uat)`` from the right cookie family."""
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
        return cookies.get(SESSION_COOKIE) or None, cookies.get(CLIENT_UAT_COOKIE)
    return (
        cookies.get(f"{SESSION_COOKIE}_{suffix}") or None,
        cookies.get(f"{CLIENT_UAT_COOKIE}_{suffix}"),
    )


def _signed_out(
    reason: AuthReason | TokenVerificationErrorReason,
    message: str,
    *,
    token_type: TokenType | None = None,
    error: TokenVerificationError | None = None,
) -> RequestState:
    return RequestState(
        status=AuthStatus.SIGNED_OUT,
        reason=reason,
        message=message,
        token_type=token_type,
        error=error,
    )


async def authenticate_request(
    request: RequestLike | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    cookies: Mapping[str, str] | None = None,
    options: AuthenticateOptions | None = None,
    clerk: Clerk | None = None,
    **overrides: Unpack[AuthenticateOverrides],
) -> RequestState:
    """Authenticate an incoming request to your backend.

    Pass the framework's request object (Starlette/FastAPI ``Request``, aiohttp
    ``web.Request``: anything with ``headers``), or a ``headers`` mapping; cookies
    are read from the ``Cookie`` header(s) unless a ``cookies`` mapping is given.
    Options come from ``options``; ``clerk`` and the other keyword arguments (any
    field of :class:`AuthenticateOptions`, see :class:`AuthenticateOverrides`)
    replace its fields for this call. An unknown keyword raises ``TypeError``.

    The token is taken from ``Authorization: Bearer <token>`` first (any case of
    "Bearer"; a bare token works too), else from the ``__session`` cookie (or its
    ``__session_<suffix>`` variant). Header tokens starting with ``ak_``, ``mt_`` or
    ``oat_`` are machine tokens, verified by Clerk; a type outside
    ``accepts_token`` gives signed out with reason ``token_type_not_accepted``.

    Cookie rules, from the ``__client_uat`` cookie Clerk's frontend maintains:
    no session cookie and ``__client_uat`` absent or ``0`` → signed out;
    a session cookie whose ``iat`` is older than ``__client_uat`` → signed out
    (``session_token_outdated``); a session cookie without an active client, or an
    active client without a session cookie → signed out.

    Unlike Clerk's JavaScript middleware this never redirects: the "handshake"
    (sending a browser to Clerk to refresh an expired or outdated session
    cookie) only makes sense for page loads, and is left to your frontend, where
    Clerk's JS SDK refreshes the cookie on its own. A backend API simply answers
    401 and the client retries with a fresh token.

    A rejected token never raises: it gives a signed-out state whose ``reason``
    says why. Configuration problems (no key source at all) do raise.

    Example::

        state = await authenticate_request(request, clerk=clerk,
                                           authorized_parties=["https://app.example"])
        if not state.is_signed_in:
            return web.json_response({"error": state.reason}, status=401)
        auth = state.to_auth()
    """
    opts = with_overrides(options, overrides, clerk)
    if headers is None:
        headers = request.headers if request is not None else {}
    header_token = _bearer(headers)
    if header_token is not None:
        return await _authenticate_token(header_token, opts, from_cookie=False)

    if cookies is None:
        cookies = cookies_of(headers)
    publishable_key = _config.publishable_key(opts.publishable_key)
    session_token, client_uat = _session_cookies(cookies, publishable_key)
    if TokenType.SESSION_TOKEN not in opts.accepts_token:
        if session_token is None:
            return _signed_out(AuthReason.TOKEN_MISSING, "no Authorization header")
        return _signed_out(
            AuthReason.TOKEN_TYPE_NOT_ACCEPTED,
            "session tokens are not accepted here",
            token_type=TokenType.SESSION_TOKEN,
        )
    active_client = _uat(client_uat) > 0
    if session_token is None:
        if active_client:
            return _signed_out(
                AuthReason.CLIENT_UAT_WITHOUT_SESSION_TOKEN,
                "the client is signed in but sent no session cookie",
            )
        return _signed_out(AuthReason.SESSION_TOKEN_AND_UAT_MISSING, "no credentials")
    if not active_client:
        return _signed_out(
            AuthReason.SESSION_TOKEN_WITHOUT_CLIENT_UAT,
            "a session cookie without an active client",
            token_type=TokenType.SESSION_TOKEN,
        )
    try:
        iat = decode_unverified_payload(session_token).get("iat")
    except TokenVerificationError as exc:
        return _signed_out(exc.reason, exc.message, token_type=TokenType.SESSION_TOKEN, error=exc)
    if isinstance(iat, (int, float)) and not isinstance(iat, bool) and iat < _uat(client_uat):
        return _signed_out(
            AuthReason.SESSION_TOKEN_OUTDATED,
            "the session cookie predates the client's last change",
            token_type=TokenType.SESSION_TOKEN,
        )
    return await _authenticate_token(session_token, opts, from_cookie=True)


def _uat(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(value.strip())
    except ValueError:
        return 0


async def _authenticate_token(
    token: str, opts: AuthenticateOptions, *, from_cookie: bool
) -> RequestState:
    kind = TokenType.SESSION_TOKEN if from_cookie else token_type_of(token)
    if kind not in opts.accepts_token:
        return _signed_out(
            AuthReason.TOKEN_TYPE_NOT_ACCEPTED,
            f"{kind.value} tokens are not accepted here",
            token_type=kind,
        )
    try:
        if kind is TokenType.SESSION_TOKEN:
            entry = await verified(
                token,
                jwt_key=opts.jwt_key,
                clerk=opts.clerk,
                authorized_parties=opts.authorized_parties,
                audience=opts.audience,
                issuer=opts.issuer,
                clock_skew=opts.clock_skew,
            )
            state = RequestState(
                status=AuthStatus.SIGNED_IN, token=token, token_type=kind, claims=entry.claims
            )
            # The Auth of a repeated token is the one built from its claims before.
            if entry.auth is None:
                entry.auth = state.to_auth()
            else:
                object.__setattr__(state, "_auth", entry.auth)
            return state
        machine = await verify_machine_token(token, clerk=opts.clerk)
    except TokenVerificationError as exc:
        return _signed_out(exc.reason, exc.message, token_type=kind, error=exc)
    return RequestState(status=AuthStatus.SIGNED_IN, token=token, token_type=kind, machine=machine)
