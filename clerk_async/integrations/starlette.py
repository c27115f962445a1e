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

Server-rendered pages: a page load whose session cookie went stale gets the
handshake (see :func:`~clerk_async.auth.authenticate_request`): the middleware
answers the ``307`` itself, with the headers of
:attr:`~clerk_async.auth.RequestState.headers`, and the browser comes back signed
in. Cookies a handshake resolved in place sets are added to the app's response.
Pass ``publishable_key=`` (or set ``CLERK_PUBLISHABLE_KEY``) to turn it on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

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


def scope_url(scope: Scope, headers: CIMultiDict[str]) -> str:
    """The absolute URL an ASGI scope asks for (forwarded headers are read later)."""
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme"))
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(scope.get("path", "/"))
    query = (scope.get("query_string") or b"").decode("latin-1")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


def _raw(state: RequestState) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in state.headers]


def _with_cookies(send: Send, state: RequestState) -> Send:
    cookies = [(b"set-cookie", c.encode("latin-1")) for c in state.set_cookies]

    async def wrapped(message: Message) -> None:
        if message.get("type") == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *cookies]}
        await send(message)

    return wrapped


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
        method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
        return await self._app_auth.authenticate(
            headers, url=scope_url(scope, headers), method=method
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._on_shutdown(send))
            return
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = await self.authenticate(scope)
        if state.is_handshake and scope["type"] == "http":
            await send({"type": "http.response.start", "status": 307, "headers": _raw(state)})
            await send({"type": "http.response.body", "body": b""})
            return
        scope_state = scope.setdefault("state", {})
        scope_state["auth_state"] = state
        scope_state["auth"] = state.to_auth()
        if state.set_cookies and scope["type"] == "http":
            send = _with_cookies(send, state)
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
