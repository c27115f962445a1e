"""aiohttp.web integration: a middleware that authenticates every request with Clerk.

Example::

    from aiohttp import web
    from clerk_async.integrations.aiohttp import AUTH, CLERK, setup_clerk

    async def me(request: web.Request) -> web.Response:
        auth = request[AUTH]
        if not auth.is_authenticated:
            raise web.HTTPUnauthorized()
        user = await request.app[CLERK].users.get(auth.user_id)
        return web.json_response({"id": user.id})

    app = web.Application()
    setup_clerk(app, authorized_parties=["https://app.example.com"])
    app.router.add_get("/me", me)

``setup_clerk`` adds a cleanup context that opens one :class:`~clerk_async.Clerk` at
startup (``app[CLERK]``) and closes it at shutdown, and a middleware storing the
verdict on every request: ``request[AUTH]`` (:class:`~clerk_async.auth.Auth`) and
``request[AUTH_STATE]`` (:class:`~clerk_async.auth.RequestState`). Signed-out
requests are not rejected; use :func:`require_auth` for handlers that need it.
A page load whose session cookie went stale gets the handshake redirect (307)
from the middleware when a publishable key is configured; cookies a handshake
resolved in place sets are added to the handler's response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import overload

from aiohttp import web
from multidict import CIMultiDict
from typing_extensions import Unpack

from .._client import Clerk
from ..auth import Auth, AuthenticateOptions, RequestState
from . import AppAuth, IntegrationOptions, Refusal, admit

__all__ = ["AUTH", "AUTH_STATE", "CLERK", "require_auth", "setup_clerk"]

CLERK = web.AppKey("clerk", Clerk)
try:
    AUTH = web.RequestKey("clerk_auth", Auth)
    AUTH_STATE = web.RequestKey("clerk_auth_state", RequestState)
except AttributeError:  # aiohttp releases before RequestKey take plain string keys
    AUTH = "clerk_auth"  # type: ignore[assignment]
    AUTH_STATE = "clerk_auth_state"  # type: ignore[assignment]
_APP_AUTH = web.AppKey("clerk_app_auth", AppAuth)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_clerk(
    app: web.Application,
    *,
    options: AuthenticateOptions | None = None,
    **settings: Unpack[IntegrationOptions],
) -> None:
    """Install the client's cleanup context and the authentication middleware.

    Args:
        app: the application (before it starts).
        options: an :class:`~clerk_async.auth.AuthenticateOptions`.
        settings: any field of ``AuthenticateOptions`` (overriding ``options``), and
            ``secret_key``/``api_url`` for the client opened at startup (defaults
            from ``CLERK_SECRET_KEY`` / ``CLERK_API_URL``); see
            :class:`~clerk_async.integrations.IntegrationOptions`. A ``clerk`` of
            your own is used instead: stored as ``app[CLERK]`` but never closed here.
    """
    app_auth = AppAuth(options, settings)
    app[_APP_AUTH] = app_auth

    async def client_context(app: web.Application) -> AsyncIterator[None]:
        async with app_auth.lifespan() as client:
            app[CLERK] = client
            yield

    app.cleanup_ctx.append(client_context)
    app.middlewares.append(clerk_middleware)


@web.middleware
async def clerk_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate ``request`` and store ``request[AUTH]`` / ``request[AUTH_STATE]``."""
    app_auth = request.app[_APP_AUTH]
    state = await app_auth.authenticate(request.headers, app_auth.client, request=request)
    if state.is_handshake:
        return web.Response(status=307, headers=CIMultiDict(state.headers))
    request[AUTH_STATE] = state
    request[AUTH] = state.to_auth()
    response = await handler(request)
    for cookie in state.set_cookies:
        response.headers.add("Set-Cookie", cookie)
    return response


@overload
def require_auth(handler: Handler, /) -> Handler: ...


@overload
def require_auth(
    *, permission: str | None = None, role: str | None = None
) -> Callable[[Handler], Handler]: ...


def require_auth(
    handler: Handler | None = None, /, *, permission: str | None = None, role: str | None = None
) -> Handler | Callable[[Handler], Handler]:
    """Decorator: 401 (JSON) for signed-out requests, 403 when ``permission``/``role`` is missing.

    Use as ``@require_auth`` or ``@require_auth(permission="org:invoices:read")``.
    """

    def decorate(inner: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            verdict = admit(request[AUTH_STATE], allowed, permission or role or "")
            if isinstance(verdict, Refusal):
                return web.json_response(
                    verdict.body, status=verdict.status, headers=verdict.headers
                )
            return await inner(request)

        return wrapped

    def allowed(auth: Auth) -> bool:
        return (not permission or auth.has(permission=permission)) and (
            not role or auth.has(role=role)
        )

    return decorate(handler) if handler is not None else decorate
