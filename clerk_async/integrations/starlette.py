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

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from multidict import CIMultiDict
from typing_extensions import Unpack

from ..auth import AuthenticateOptions, RequestState
from . import AppAuth, IntegrationOptions

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
        options: an :class:`~clerk_async.auth.AuthenticateOptions`.
        settings: any field of ``AuthenticateOptions`` (overriding ``options``), and
            ``secret_key``/``api_url`` for the client the middleware creates
            (defaults ``CLERK_SECRET_KEY``/``CLERK_API_URL``) and closes at shutdown;
            see :class:`~clerk_async.integrations.IntegrationOptions`. A ``clerk``
            of your own is used instead and stays yours (never closed here).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        options: AuthenticateOptions | None = None,
        **settings: Unpack[IntegrationOptions],
    ) -> None:
        self.app = app
        self._app_auth = AppAuth(options, settings)
        self.options = self._app_auth.options

    @property
    def clients_opened(self) -> int:
        """How many clients this middleware created (one per application life)."""
        return self._app_auth.clients_opened

    async def authenticate(self, scope: Scope) -> RequestState:
        """Authenticate one HTTP or WebSocket scope (without touching it)."""
        # ASGI header names are lower-case bytes, values latin-1 bytes (the spec).
        headers = CIMultiDict(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope.get("headers") or ()
        )
        return await self._app_auth.authenticate(headers)

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
        await self._app_auth.aclose()
