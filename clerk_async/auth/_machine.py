"""Machine tokens (API keys, M2M tokens, OAuth access tokens), verified by Clerk.

They are opaque strings told apart by prefix and checked with one API call each:

=============  =========  ==================================================
token type     prefix     endpoint and body
=============  =========  ==================================================
api_key        ``ak_``    ``POST /v1/api_keys/verify`` ``{"secret": …}``
m2m_token      ``mt_``    ``POST /v1/m2m_tokens/verify`` ``{"token": …}``
oauth_token    ``oat_``   ``POST /v1/oauth_applications/access_tokens/verify``
                          ``{"access_token": …}``
=============  =========  ==================================================
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping
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

_ENDPOINTS: dict[TokenType, tuple[str, str]] = {
    TokenType.API_KEY: ("/api_keys/verify", "secret"),
    TokenType.M2M_TOKEN: ("/m2m_tokens/verify", "token"),
    TokenType.OAUTH_TOKEN: ("/oauth_applications/access_tokens/verify", "access_token"),
}


def token_type_of(token: str) -> TokenType:
    """The type of a token judged by its prefix; anything else is a session token (JWT)."""
    for prefix, kind in _PREFIXES:
        if token.startswith(prefix):
            return kind
    return TokenType.SESSION_TOKEN


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


async def verify_machine_token(token: str, *, clerk: Clerk | None = None) -> MachineAuth:
    """Ask Clerk whether an API key, M2M token or OAuth access token is valid.

    The type is chosen by the prefix (``ak_``, ``mt_``, ``oat_``); ``clerk`` defaults
    to a temporary client configured from the environment.

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
    kind = token_type_of(token)
    if kind is TokenType.SESSION_TOKEN:
        raise TokenVerificationError(R.MALFORMED, "not an api_key, m2m_token or oauth_token")
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
