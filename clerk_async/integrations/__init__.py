"""Framework integrations: FastAPI, Starlette (any ASGI app) and aiohttp.web.

Each module imports its framework, so import the one you use:
``clerk_async.integrations.fastapi``, ``.starlette`` or ``.aiohttp``
(extras ``clerk-async[fastapi]``, ``[starlette]``, ``[aiohttp]``).

All three take the same settings: ``options=`` (an
:class:`~clerk_async.auth.AuthenticateOptions`), any of its fields as keyword
overrides, and ``secret_key=``/``api_url=`` for the client they open
(:class:`IntegrationOptions`). What they share lives here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import attrs

from .. import _config
from ..auth import (
    Auth,
    AuthenticateOptions,
    AuthenticateOverrides,
    AuthReason,
    RequestState,
    TokenType,
    TokenVerificationErrorReason,
    authenticate_request,
)
from ..auth._http_input import parse_cookies
from ..auth._request import RequestLike, recalled_bearer, with_overrides

if TYPE_CHECKING:
    from .._client import Clerk

__all__ = [
    "AppAuth",
    "IntegrationOptions",
    "Refusal",
    "admit",
    "cookies_from_header",
    "describe",
    "needs_client",
    "status_for",
]

# Signed out because Clerk (or its key set) could not be reached: a 503, not a 401.
_UNAVAILABLE = frozenset(
    {
        TokenVerificationErrorReason.JWKS_UNAVAILABLE,
        TokenVerificationErrorReason.VERIFICATION_UNAVAILABLE,
    }
)

#: Parse ``Cookie`` header values into a dict (first occurrence wins); the one
#: cookie parser of the package, kept under this name for existing callers.
cookies_from_header = parse_cookies


def status_for(state: RequestState) -> int:
    """The HTTP status for a signed-out request: 503 when Clerk was unreachable, else 401."""
    return 503 if state.reason in _UNAVAILABLE else 401


def describe(state: RequestState) -> dict[str, str | None]:
    """A small JSON body explaining why a request is not authenticated."""
    reason = state.reason
    value = (
        reason.value if isinstance(reason, (AuthReason, TokenVerificationErrorReason)) else reason
    )
    return {"error": "unauthenticated", "reason": value}


def needs_client(options: AuthenticateOptions) -> bool:
    """Whether verifying requests may call the API: no local key, machine tokens
    accepted, or handshakes (whose nonces the Backend API resolves)."""
    session_only = options.accepts_token == frozenset({TokenType.SESSION_TOKEN})
    handshakes = options.handshake and _config.publishable_key(options.publishable_key)
    return not (options.jwt_key is not None and session_only and not handshakes)


class IntegrationOptions(AuthenticateOverrides, total=False):
    """The keyword arguments of every integration.

    Any :class:`~clerk_async.auth.AuthenticateOverrides` (a field of
    :class:`~clerk_async.auth.AuthenticateOptions`, overriding ``options=``), and
    the client: ``clerk``, one of yours (it stays yours), or else ``secret_key``
    and ``api_url`` for the one the integration opens (defaults:
    ``CLERK_SECRET_KEY`` / ``CLERK_API_URL``).
    """

    clerk: Clerk | None
    secret_key: str | None
    api_url: str | None


@attrs.frozen
class Refusal:
    """Why a request may not reach a handler, as the HTTP answer to give.

    Attributes:
        status: 401 (or 503 when Clerk was unreachable) when signed out, 403 when
            signed in without what the handler requires.
        body: the JSON body.
        headers: extra response headers (``WWW-Authenticate`` for a 401/503).
    """

    status: int
    body: dict[str, str | None]
    headers: dict[str, str] | None = None


def admit(
    state: RequestState, check: Callable[[Auth], bool] | None = None, requires: str = ""
) -> Auth | Refusal:
    """The request's :class:`~clerk_async.auth.Auth` when it is signed in and passes
    ``check``; else the :class:`Refusal` to answer with (``requires`` names what
    ``check`` wants, for the 403 body)."""
    if not state.is_signed_in:
        return Refusal(status_for(state), describe(state), {"WWW-Authenticate": "Bearer"})
    auth = state.to_auth()
    if check is not None and not check(auth):
        return Refusal(403, {"error": "forbidden", "requires": requires})
    return auth


_SESSION_ONLY = frozenset({TokenType.SESSION_TOKEN})


class AppAuth:
    """What every integration holds: its options and the application's one client.

    Args:
        options: the base options; ``settings`` override their fields.
        settings: :class:`IntegrationOptions`; an unknown name raises ``TypeError``.
        missing: the hint of the ``RuntimeError`` :meth:`client` raises when no
            client is open.

    The client is ``settings["clerk"]`` (or ``options.clerk``), which stays the
    caller's, else one opened from ``secret_key``/``api_url`` by :meth:`open` and
    closed by :meth:`aclose`.
    """

    def __init__(
        self,
        options: AuthenticateOptions | None,
        settings: IntegrationOptions,
        *,
        missing: str = "the application has not started",
    ) -> None:
        clerk = settings.pop("clerk", None)
        self._secret_key = settings.pop("secret_key", None)
        self._api_url = settings.pop("api_url", None)
        self.options = with_overrides(options, settings, clerk)
        self._clerk = self.options.clerk
        self._owned = self._clerk is None
        self._missing = missing
        #: how many clients were opened here (one per application life)
        self.clients_opened = 0
        # needs_client() of the options (it reads the environment), decided on the first
        # request; and the options carrying the client, made once per client.
        self._needs_client: bool | None = None
        self._with_client: AuthenticateOptions | None = None

    def open(self) -> Clerk:
        """The application's client, opening one if none is open yet."""
        if self._clerk is None:
            from .._client import Clerk

            self._clerk = Clerk(self._secret_key, api_url=self._api_url)
            self.clients_opened += 1
        return self._clerk

    def client(self) -> Clerk:
        """The open client; ``RuntimeError`` when none is (outside the app's life)."""
        if self._clerk is None:
            raise RuntimeError(f"no Clerk client: {self._missing}")
        return self._clerk

    async def aclose(self) -> None:
        """Close the client opened here; a client of the caller's stays open."""
        clerk = self._clerk
        if self._owned and clerk is not None:
            self._clerk = None
            await clerk.aclose()

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[Clerk]:
        """The client for the application's life: opened on entry, closed on exit."""
        clerk = self.open()
        try:
            yield clerk
        finally:
            await self.aclose()

    def authenticate(
        self,
        headers: Mapping[str, str],
        client: Callable[[], Clerk] | None = None,
        *,
        url: str | None = None,
        method: str | None = None,
        request: RequestLike | None = None,
    ) -> Coroutine[Any, Any, RequestState]:
        """Authenticate a request from its headers (cookies from its ``Cookie`` headers),
        its ``url`` and ``method`` (for the handshake of page loads).

        ``client`` gives the client when verification needs one (a JWKS fetch, a
        machine token, a handshake nonce); by default :meth:`open`. Given the
        framework's ``request`` instead of ``url``/``method``, they are read from it
        only when the cookie rules need them: a request with a bearer token never
        builds its URL (Starlette's ``request.url`` is a parse of the scope).
        """
        # The coroutine itself, awaited by the caller: one frame fewer per request.
        return authenticate_request(
            request, headers=headers, url=url, method=method, options=self._resolved(client)
        )

    def recall(
        self, raw_headers: Sequence[tuple[bytes, bytes]], client: Callable[[], Clerk] | None = None
    ) -> Auth | None:
        """The signed-in :class:`~clerk_async.auth.Auth` of a request whose bearer
        session token was verified before, from its ASGI headers (lower-case names),
        with the options :meth:`authenticate` would use; None when the request must be
        authenticated the whole way (see :func:`~clerk_async.auth._request.recalled_bearer`)."""
        for name, value in raw_headers:
            if name == b"authorization":  # the first one, as authenticate reads it
                return recalled_bearer(value, self._resolved(client))
        return None

    def _resolved(self, client: Callable[[], Clerk] | None) -> AuthenticateOptions:
        """The options requests are verified with: these, carrying the client when
        verification may need one (made once per client)."""
        options = self.options
        if options.clerk is None:
            needed = self._needs_client
            if needed is None:
                needed = self._needs_client = needs_client(options)
            if needed:
                clerk = (client or self.open)()
                prepared = self._with_client
                if prepared is None or prepared.clerk is not clerk:
                    prepared = self._with_client = attrs.evolve(options, clerk=clerk)
                options = prepared
        return options
