"""Machine tokens (API keys, M2M tokens, OAuth access tokens).

Opaque ones are told apart by prefix and checked with one API call each:

=============  =========  ==================================================
token type     prefix     endpoint and body
=============  =========  ==================================================
api_key        ``ak_``    ``POST /v1/api_keys/verify`` ``{"secret": …}``
m2m_token      ``mt_``    ``POST /v1/m2m_tokens/verify`` ``{"token": …}``
oauth_token    ``oat_``   ``POST /v1/oauth_applications/access_tokens/verify``
                          ``{"access_token": …}``
=============  =========  ==================================================

M2M tokens and OAuth access tokens may also be JWTs signed by the instance key:
an M2M JWT has a ``mch_…`` subject (and ``cat`` ``cl_B7d4PD333AAA`` when stamped),
an OAuth JWT the header ``typ: at+jwt``. Those are verified here, with no
request to Clerk beyond the (cached) key set, or none at all with ``jwt_key``.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import (
    AuthenticationError,
    ClerkAPIError,
    ClerkError,
    ConfigurationError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from ._client import requester_for
from ._errors import TokenVerificationError, TokenVerificationErrorReason
from ._verify import CATEGORY_M2M_TOKEN, check_times, decode_unverified, verify_signed

if TYPE_CHECKING:
    from .._client import Clerk

__all__ = ["MachineAuth", "TokenType", "token_type_of", "verify_machine_token"]

R = TokenVerificationErrorReason


class TokenType(str, enum.Enum):
    """Kinds of bearer token; ``ANY`` is only meaningful in ``accepts_token``."""

    SESSION_TOKEN = "session_token"
    API_KEY = "api_key"
    M2M_TOKEN = "m2m_token"
    OAUTH_TOKEN = "oauth_token"
    ANY = "any"


_PREFIXES: tuple[tuple[str, TokenType], ...] = (
    ("ak_", TokenType.API_KEY),
    ("mt_", TokenType.M2M_TOKEN),
    ("oat_", TokenType.OAUTH_TOKEN),
)
_ANY_PREFIX = tuple(prefix for prefix, _ in _PREFIXES)

_ENDPOINTS: dict[TokenType, tuple[str, str]] = {
    TokenType.API_KEY: ("/api_keys/verify", "secret"),
    TokenType.M2M_TOKEN: ("/m2m_tokens/verify", "token"),
    TokenType.OAUTH_TOKEN: ("/oauth_applications/access_tokens/verify", "access_token"),
}


#: ``typ`` headers of OAuth access tokens in JWT form (RFC 9068)
OAUTH_JWT_TYPES = ("at+jwt", "application/at+jwt")
M2M_SUBJECT_PREFIX = "mch_"


def jwt_machine_type(header: Mapping[str, Any], payload: Mapping[str, Any]) -> TokenType | None:
    """The machine token type of a decoded JWT, or None when it is no machine JWT."""
    sub = payload.get("sub")
    if isinstance(sub, str) and sub.startswith(M2M_SUBJECT_PREFIX):
        return TokenType.M2M_TOKEN
    if header.get("typ") in OAUTH_JWT_TYPES:
        return TokenType.OAUTH_TOKEN
    return None


def opaque_token_type(token: str) -> TokenType | None:
    """The type of an opaque machine token, named by its prefix; None for anything else."""
    if not token.startswith(_ANY_PREFIX):  # a JWT, mostly: one test, not one per prefix
        return None
    for prefix, kind in _PREFIXES:
        if token.startswith(prefix):
            return kind
    return None


def _machine_jwt(token: str) -> tuple[TokenType, dict[str, Any]] | None:
    """``(type, header)`` of an M2M or OAuth JWT (decoded, not verified); None for
    anything else, a malformed JWT included (verify_token refuses that as such)."""
    if token.count(".") != 2:
        return None
    try:
        header, payload = decode_unverified(token)
    except TokenVerificationError:
        return None
    machine = jwt_machine_type(header, payload)
    return None if machine is None else (machine, header)


def token_type_of(token: str) -> TokenType:
    """The type of a token: by its prefix when opaque; a JWT is a session token
    unless it is an M2M JWT (``mch_`` subject) or an OAuth one (``typ: at+jwt``)."""
    opaque = opaque_token_type(token)
    if opaque is not None:
        return opaque
    machine = _machine_jwt(token)
    return TokenType.SESSION_TOKEN if machine is None else machine[0]


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _opt_number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


@attrs.frozen(kw_only=True)
class MachineAuth:
    """A verified machine token, as Clerk described it.

    Attributes:
        token_type: api_key, m2m_token or oauth_token.
        id: the token's id (``ak_…``, ``mt_…``, ``oat_…``).
        subject: who it acts for: ``user_…``, ``org_…`` or ``mch_…`` (a machine).
        scopes: granted scopes (for M2M tokens: the machines it may call).
        claims: custom claims attached to the token, if any.
        name: the API key's name (API keys only).
        client_id: the OAuth application's client id (OAuth tokens only).
        expiration: expiry timestamp as Clerk sent it, or None for no expiry.
        raw: the whole verification answer.
    """

    token_type: TokenType
    id: str
    subject: str | None
    scopes: tuple[str, ...] = ()
    claims: Mapping[str, Any] | None = None
    name: str | None = None
    client_id: str | None = None
    expiration: float | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def user_id(self) -> str | None:
        """The subject when it is a user."""
        return self.subject if self.subject and self.subject.startswith("user_") else None

    @property
    def org_id(self) -> str | None:
        """The subject when it is an organization."""
        return self.subject if self.subject and self.subject.startswith("org_") else None

    @property
    def machine_id(self) -> str | None:
        """The subject when it is a machine."""
        return self.subject if self.subject and self.subject.startswith("mch_") else None


def _parse(kind: TokenType, answer: object) -> MachineAuth:
    if not isinstance(answer, Mapping):
        raise TokenVerificationError(R.VERIFICATION_UNAVAILABLE, "unexpected verification answer")
    if answer.get("active") is False or answer.get("expired") is True:
        raise TokenVerificationError(R.EXPIRED, f"the {kind.value} has expired")
    if answer.get("revoked") is True:
        raise TokenVerificationError(R.TOKEN_REVOKED, f"the {kind.value} was revoked")
    token_id = _opt_str(answer.get("id"))
    if token_id is None:
        raise TokenVerificationError(R.VERIFICATION_UNAVAILABLE, "the answer has no token id")
    scopes = answer.get("scopes")
    claims = answer.get("claims")
    return MachineAuth(
        token_type=kind,
        id=token_id,
        subject=_opt_str(answer.get("subject")),
        scopes=tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else (),
        claims=types.MappingProxyType(dict(claims)) if isinstance(claims, Mapping) else None,
        name=_opt_str(answer.get("name")),
        client_id=_opt_str(answer.get("client_id")),
        expiration=_opt_number(answer.get("expiration")),
        raw=types.MappingProxyType(dict(answer)),
    )


# Registered claims; the rest of a machine JWT's payload is its custom claims.
_REGISTERED = frozenset(
    {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "azp", "scope", "scopes", "scp", "client_id"}
)


def _from_jwt(kind: TokenType, payload: Mapping[str, Any]) -> MachineAuth:
    token_id = _opt_str(payload.get("jti"))
    if token_id is None:
        raise TokenVerificationError(R.MISSING_CLAIM, f"the {kind.value} JWT has no 'jti' claim")
    scopes: list[str] = []
    if kind is TokenType.M2M_TOKEN:
        raw = payload.get("scopes")
        aud = payload.get("aud")
        if isinstance(raw, str):
            scopes = raw.split()
        elif isinstance(aud, list):
            scopes = [a for a in aud if isinstance(a, str)]
        elif isinstance(aud, str):
            scopes = [aud]
    else:
        scp, scope = payload.get("scp"), payload.get("scope")
        if isinstance(scp, list):
            scopes = [s for s in scp if isinstance(s, str)]
        elif isinstance(scope, str):
            scopes = scope.split()
    custom = {k: v for k, v in payload.items() if k not in _REGISTERED}
    return MachineAuth(
        token_type=kind,
        id=token_id,
        subject=_opt_str(payload.get("sub")),
        scopes=tuple(scopes),
        claims=types.MappingProxyType(custom) if custom else None,
        client_id=_opt_str(payload.get("client_id")),
        expiration=_opt_number(payload.get("exp")),
        raw=types.MappingProxyType(dict(payload)),
    )


async def _verify_machine_jwt(
    token: str,
    kind: TokenType,
    header: Mapping[str, Any],
    *,
    clerk: Clerk | None,
    jwt_key: str | None,
    clock_skew: float,
    now: Callable[[], float] | None,
) -> MachineAuth:
    """An M2M or OAuth JWT of type ``kind`` whose unverified ``header`` was read."""
    cat = header.get("cat")
    if kind is TokenType.M2M_TOKEN and cat is not None and cat != CATEGORY_M2M_TOKEN:
        raise TokenVerificationError(R.INVALID_TOKEN, "the JWT's category is not an M2M token's")
    header, payload = await verify_signed(token, jwt_key=jwt_key, clerk=clerk)
    if kind is TokenType.OAUTH_TOKEN and header.get("typ") not in OAUTH_JWT_TYPES:
        raise TokenVerificationError(R.MALFORMED, "the OAuth token's 'typ' is not at+jwt")
    exp = _opt_number(payload.get("exp"))
    if exp is None:
        raise TokenVerificationError(R.MISSING_CLAIM, "the token has no numeric 'exp' claim")
    check_times(
        exp,
        _opt_number(payload.get("nbf")),
        _opt_number(payload.get("iat")),
        clock_skew,
        kind.value,
        now,
    )
    return _from_jwt(kind, payload)


async def verify_machine_token(
    token: str,
    *,
    clerk: Clerk | None = None,
    jwt_key: str | None = None,
    clock_skew: float = 5.0,
    now: Callable[[], float] | None = None,
) -> MachineAuth:
    """Verify an API key, M2M token or OAuth access token.

    Opaque tokens (``ak_``, ``mt_``, ``oat_``) are checked by Clerk. M2M and
    OAuth tokens issued as JWTs are verified here: their signature against
    ``jwt_key`` (or ``CLERK_JWT_KEY``), else against the instance's cached key
    set, and their ``exp``/``nbf``/``iat`` with ``clock_skew`` seconds of
    tolerance, judged at ``now()`` (epoch seconds; default the wall clock, and
    ``now=emu.clock.now`` against the emulator). ``clerk`` defaults to a temporary
    client configured from the environment.

    Raises:
        TokenVerificationError: ``malformed`` (not a machine token), ``invalid_token``
            (unknown to Clerk), ``token_revoked``, ``expired``, or
            ``verification_unavailable`` (network failure, rate limit, server error,
            or Clerk refused our secret key).
        ConfigurationError: no secret key.

    Example::

        machine = await verify_machine_token(request_token, clerk=clerk)
        print(machine.subject, machine.scopes)
    """
    opaque = opaque_token_type(token)
    if opaque is None:
        machine = _machine_jwt(token)
        if machine is None:
            raise TokenVerificationError(R.MALFORMED, "not an api_key, m2m_token or oauth_token")
        return await _verify_machine_jwt(
            token, *machine, clerk=clerk, jwt_key=jwt_key, clock_skew=clock_skew, now=now
        )
    kind = opaque
    path, field = _ENDPOINTS[kind]
    try:
        async with requester_for(clerk) as http:
            answer = await http.request("POST", path, body={field: token}, cast_to=object)
    except ConfigurationError:
        raise
    except (AuthenticationError, PermissionDeniedError, RateLimitError, ServerError) as exc:
        raise TokenVerificationError(
            R.VERIFICATION_UNAVAILABLE, f"Clerk could not verify the token (HTTP {exc.status})"
        ) from exc
    except ClerkAPIError as exc:
        # 400/404/422...: Clerk does not recognise this token.
        raise TokenVerificationError(
            R.INVALID_TOKEN, f"Clerk does not accept this {kind.value} (HTTP {exc.status})"
        ) from exc
    except ClerkError as exc:
        raise TokenVerificationError(
            R.VERIFICATION_UNAVAILABLE, f"Clerk could not be reached ({type(exc).__name__})"
        ) from exc
    return _parse(kind, answer)
