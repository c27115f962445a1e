"""Authenticate the callers of your backend: Clerk session tokens and machine tokens.

* :func:`verify_token`: verify a session token (JWT), offline with a PEM key or
  with the instance's cached JWKS;
* :func:`verify_machine_token`: verify an API key, M2M token or OAuth access token
  with Clerk;
* :func:`authenticate_request`: find and verify the token of an incoming request
  (``Authorization`` header or ``__session`` cookie) and say who is calling; for
  page loads with a stale session cookie, the handshake redirect that refreshes it.

Example (aiohttp)::

    from clerk_async import Clerk
    from clerk_async.auth import AuthenticateOptions, authenticate_request

    clerk = Clerk()
    options = AuthenticateOptions(clerk=clerk, authorized_parties=["https://app.example"])

    async def handler(request: web.Request) -> web.Response:
        state = await authenticate_request(request, options=options)
        if not state.is_signed_in:
            raise web.HTTPUnauthorized(reason=str(state.reason))
        auth = state.to_auth()
        return web.json_response({"user_id": auth.user_id})
"""

from __future__ import annotations

from ._claims import SessionClaims
from ._errors import TokenVerificationError, TokenVerificationErrorReason
from ._handshake import OrganizationSyncOptions
from ._jwks import clear_caches as _clear_jwks_caches
from ._machine import MachineAuth, TokenType, verify_machine_token
from ._request import (
    Auth,
    AuthenticateOptions,
    AuthenticateOverrides,
    AuthReason,
    AuthStatus,
    RequestLike,
    RequestState,
    authenticate_request,
)
from ._request import _jwt_facts_seen as _request_facts
from ._verify import clear_signature_cache, verify_token

__all__ = [
    "Auth",
    "AuthReason",
    "AuthStatus",
    "AuthenticateOptions",
    "AuthenticateOverrides",
    "MachineAuth",
    "OrganizationSyncOptions",
    "RequestLike",
    "RequestState",
    "SessionClaims",
    "TokenType",
    "TokenVerificationError",
    "TokenVerificationErrorReason",
    "authenticate_request",
    "clear_caches",
    "verify_machine_token",
    "verify_token",
]


def clear_caches() -> None:
    """Forget all cached key sets, parsed PEM keys and verified signatures.

    Useful in tests, or after rotating an instance's keys by hand.
    """
    _clear_jwks_caches()
    clear_signature_cache()
    _request_facts.clear()
