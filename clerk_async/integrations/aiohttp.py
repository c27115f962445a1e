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
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import overload

from aiohttp import web

from .._client import Clerk
from ..auth import Auth, AuthenticateOptions, RequestState, TokenType, authenticate_request
from . import build_options, cookies_from_header, describe, status_for, with_client

__all__ = ["AUTH", "AUTH_STATE", "CLERK", "require_auth", "setup_clerk"]

CLERK = web.AppKey("clerk", Clerk)
try:
    AUTH = web.RequestKey("clerk_auth", Auth)
    AUTH_STATE = web.RequestKey("clerk_auth_state", RequestState)
except AttributeError:  # aiohttp releases before RequestKey take plain string keys
    AUTH = "clerk_auth"  # type: ignore[assignment]
    AUTH_STATE = "clerk_auth_state"  # type: ignore[assignment]
_OPTIONS = web.AppKey("clerk_auth_options", AuthenticateOptions)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_clerk(
    app: web.Application,
    *,
    options: AuthenticateOptions | None = None,
    secret_key: str | None = None,
    api_url: str | None = None,
    clerk: Clerk | None = None,
    authorized_parties: Sequence[str] | None = None,
    audience: str | Sequence[str] | None = None,
    jwt_key: str | None = None,
    publishable_key: str | None = None,
    accepts_token: TokenType | str | Sequence[TokenType | str] | None = None,
    clock_skew: float | None = None,
) -> None:
    """Install the client's cleanup context and the authentication middleware.

    Args:
        app: the application (before it starts).
        options: an :class:`~clerk_async.auth.AuthenticateOptions`; the keyword
            arguments override its fields.
        secret_key, api_url: for the client opened at startup (defaults from
            ``CLERK_SECRET_KEY`` / ``CLERK_API_URL``).
        clerk: a client of your own to use instead; it stays yours (stored as
            ``app[CLERK]`` but never closed here).
        authorized_parties, audience, jwt_key, publishable_key, accepts_token, clock_skew:
            see :func:`~clerk_async.auth.authenticate_request`.
    """
    app[_OPTIONS] = build_options(
        options,
        authorized_parties=authorized_parties,
        audience=audience,
        jwt_key=jwt_key,
        publishable_key=publishable_key,
        accepts_token=accepts_token,
        clock_skew=clock_skew,
    )

    user_clerk = clerk or app[_OPTIONS].clerk

    async def client_context(app: web.Application) -> AsyncIterator[None]:
        if user_clerk is not None:
            app[CLERK] = user_clerk
            yield
            return
        async with Clerk(secret_key, api_url=api_url) as client:
            app[CLERK] = client
            yield

    app.cleanup_ctx.append(client_context)
    app.middlewares.append(clerk_middleware)


@web.middleware
async def clerk_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate ``request`` and store ``request[AUTH]`` / ``request[AUTH_STATE]``."""
    app = request.app
    options = with_client(app[_OPTIONS], lambda: app[CLERK])
    state = await authenticate_request(
        headers=request.headers,
        cookies=cookies_from_header(request.headers.getall("Cookie", [])),
        options=options,
    )
    request[AUTH_STATE] = state
    request[AUTH] = state.to_auth()
    return await handler(request)


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
            state = request[AUTH_STATE]
            if not state.is_signed_in:
                return web.json_response(
                    describe(state),
                    status=status_for(state),
                    headers={"WWW-Authenticate": "Bearer"},
                )
            auth = request[AUTH]
            if (permission and not auth.has(permission=permission)) or (
                role and not auth.has(role=role)
            ):
                return web.json_response(
                    {"error": "forbidden", "requires": permission or role}, status=403
                )
            return await inner(request)

        return wrapped

    return decorate(handler) if handler is not None else decorate
