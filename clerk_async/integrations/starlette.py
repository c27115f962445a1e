"""An ASGI middleware that authenticates every request with Clerk.

It works with any ASGI app (Starlette, FastAPI, Quart, ...). Signed-out requests
are not rejected here: the verdict is stored for the app to act on, as
``request.state.auth`` (an :class:`~clerk_async.auth.Auth`) and
``request.state.auth_state`` (the :class:`~clerk_async.auth.RequestState`, with the
reason a request is signed out).

Example::

    from starlette.applications import Starlette
    from clerk_async.integrations.starlette import ClerkAuthMiddleware

    app = Starlette(routes=[...])
    app.add_middleware(ClerkAuthMiddleware, authorized_parties=["https://app.example.com"])

    async def me(request):
        auth = request.state.auth
        if not auth.is_authenticated:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        return JSONResponse({"user_id": auth.user_id})

Without ``jwt_key`` the keys come from ``GET /v1/jwks`` through one
:class:`~clerk_async.Clerk` the middleware opens on the first request that needs it
and closes at application shutdown (the ASGI lifespan; under a server running
without lifespan events, call :meth:`ClerkAuthMiddleware.aclose` yourself).
WebSocket connections are authenticated from their handshake headers the same
way; other scope types pass through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from .._client import Clerk
from ..auth import AuthenticateOptions, RequestState, TokenType, authenticate_request
from . import build_options, headers_from_scope, with_client

__all__ = ["ClerkAuthMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ClerkAuthMiddleware:
    """Pure ASGI middleware putting Clerk's verdict on ``scope["state"]``.

    Args:
        app: the wrapped ASGI app.
        options: an :class:`~clerk_async.auth.AuthenticateOptions`; the keyword
            arguments below override its fields.
        clerk: a client to fetch keys and verify machine tokens with; it stays yours
            (never closed here). By default the middleware creates one from
            ``secret_key``/``api_url`` (or ``CLERK_SECRET_KEY``/``CLERK_API_URL``)
            and closes it at shutdown.
        secret_key, api_url: for the client the middleware creates.
        authorized_parties, audience, jwt_key, publishable_key, accepts_token, clock_skew:
            see :func:`~clerk_async.auth.authenticate_request`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        options: AuthenticateOptions | None = None,
        clerk: Clerk | None = None,
        secret_key: str | None = None,
        api_url: str | None = None,
        authorized_parties: Sequence[str] | None = None,
        audience: str | Sequence[str] | None = None,
        jwt_key: str | None = None,
        publishable_key: str | None = None,
        accepts_token: TokenType | str | Sequence[TokenType | str] | None = None,
        clock_skew: float | None = None,
    ) -> None:
        self.app = app
        self.options = build_options(
            options,
            authorized_parties=authorized_parties,
            audience=audience,
            jwt_key=jwt_key,
            publishable_key=publishable_key,
            accepts_token=accepts_token,
            clock_skew=clock_skew,
        )
        self._clerk = clerk or self.options.clerk
        self._owns_clerk = self._clerk is None
        self._secret_key = secret_key
        self._api_url = api_url
        #: how many clients this middleware created (one per application life)
        self.clients_opened = 0

    def _client(self) -> Clerk:
        if self._clerk is None:
            self._clerk = Clerk(self._secret_key, api_url=self._api_url)
            self.clients_opened += 1
        return self._clerk

    async def authenticate(self, scope: Scope) -> RequestState:
        """Authenticate one HTTP or WebSocket scope (without touching it)."""
        headers, cookies = headers_from_scope(scope.get("headers") or [])
        options = with_client(self.options, self._client)
        return await authenticate_request(headers=headers, cookies=cookies, options=options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._on_shutdown(send))
            return
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = await self.authenticate(scope)
        scope_state = scope.setdefault("state", {})
        scope_state["auth_state"] = state
        scope_state["auth"] = state.to_auth()
        await self.app(scope, receive, send)

    def _on_shutdown(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message.get("type") in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.aclose()
            await send(message)

        return wrapped

    async def aclose(self) -> None:
        """Close the client the middleware created (called at lifespan shutdown)."""
        if self._owns_clerk and self._clerk is not None:
            await self._clerk.aclose()
            self._clerk = None
