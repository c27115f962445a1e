"""FastAPI integration: the verified :class:`~clerk_async.auth.Auth` as a dependency.

Example::

    from fastapi import Depends, FastAPI
    from clerk_async.auth import Auth
    from clerk_async.integrations.fastapi import ClerkAuth

    clerk_auth = ClerkAuth(authorized_parties=["https://app.example.com"])
    app = FastAPI(lifespan=clerk_auth.lifespan)

    @app.get("/me")
    async def me(auth: Auth = Depends(clerk_auth.require_auth())) -> dict[str, str | None]:
        return {"user_id": auth.user_id}

    @app.get("/invoices")
    async def invoices(auth: Auth = Depends(clerk_auth.require_permission("org:invoices:read"))):
        ...

    @app.get("/users/{user_id}")
    async def user(user_id: str, clerk: Clerk = Depends(clerk_auth.client)):
        return await clerk.users.get(user_id)

Signed-out requests get 401 (503 when Clerk was unreachable) with a JSON body
naming the reason; valid tokens that fail a requirement get 403. One
:class:`~clerk_async.Clerk` serves the whole app: opened in the lifespan, closed at
shutdown (pass ``lifespan=clerk_auth.lifespan``, or enter
``clerk_auth.lifespan(app)`` inside your own lifespan).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import HTTPException, Request

from .._client import Clerk
from ..auth import Auth, AuthenticateOptions, RequestState, TokenType, authenticate_request
from . import build_options, cookies_from_header, describe, status_for, with_client

__all__ = ["ClerkAuth"]

_STATE_KEY = "clerk_auth_state"


class ClerkAuth:
    """Options passed once, a lifespan owning the client, and dependencies.

    Args:
        options: an :class:`~clerk_async.auth.AuthenticateOptions`; the keyword
            arguments override its fields.
        secret_key, api_url: for the client opened in the lifespan (defaults from
            ``CLERK_SECRET_KEY`` / ``CLERK_API_URL``).
        clerk: a client of your own to use instead; it stays yours (the lifespan
            neither opens nor closes it).
        authorized_parties, audience, jwt_key, publishable_key, accepts_token, clock_skew:
            see :func:`~clerk_async.auth.authenticate_request`.
    """

    def __init__(
        self,
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
        self.options = build_options(
            options,
            authorized_parties=authorized_parties,
            audience=audience,
            jwt_key=jwt_key,
            publishable_key=publishable_key,
            accepts_token=accepts_token,
            clock_skew=clock_skew,
        )
        self._secret_key = secret_key
        self._api_url = api_url
        self._user_clerk = clerk or self.options.clerk
        self._clerk: Clerk | None = self._user_clerk
        #: how many clients the lifespan opened (one per application life)
        self.clients_opened = 0

    @asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """Open the app's one Clerk client, close it at shutdown.

        Pass it as ``FastAPI(lifespan=clerk_auth.lifespan)``, or enter it from your
        own lifespan: ``async with clerk_auth.lifespan(app): yield``.
        """
        if self._user_clerk is not None:
            yield
            return
        self._clerk = Clerk(self._secret_key, api_url=self._api_url)
        self.clients_opened += 1
        try:
            yield
        finally:
            clerk, self._clerk = self._clerk, None
            await clerk.aclose()

    def client(self) -> Clerk:
        """Dependency: the app's :class:`~clerk_async.Clerk` (inside the lifespan)."""
        if self._clerk is None:
            raise RuntimeError("no Clerk client: pass lifespan=clerk_auth.lifespan to FastAPI")
        return self._clerk

    async def state(self, request: Request) -> RequestState:
        """Dependency: the :class:`~clerk_async.auth.RequestState`, computed once per request."""
        cached = getattr(request.state, _STATE_KEY, None)
        if isinstance(cached, RequestState):
            return cached
        options = with_client(self.options, self.client)
        state = await authenticate_request(
            headers=request.headers,
            cookies=cookies_from_header(request.headers.getlist("cookie")),
            options=options,
        )
        setattr(request.state, _STATE_KEY, state)
        return state

    async def auth(self, request: Request) -> Auth:
        """Dependency: the request's :class:`~clerk_async.auth.Auth`, signed out or not."""
        return (await self.state(request)).to_auth()

    def require_auth(self) -> Callable[[Request], Awaitable[Auth]]:
        """Dependency factory: the verified ``Auth``, or 401."""
        return self._requiring(None, "")

    def require_org(self) -> Callable[[Request], Awaitable[Auth]]:
        """Dependency factory: signed in with an active organization, else 401/403."""
        return self._requiring(lambda auth: auth.org_id is not None, "an active organization")

    def require_permission(self, permission: str) -> Callable[[Request], Awaitable[Auth]]:
        """Dependency factory: signed in and holding ``permission``, else 401/403."""
        return self._requiring(lambda auth: auth.has(permission=permission), permission)

    def require_role(self, role: str) -> Callable[[Request], Awaitable[Auth]]:
        """Dependency factory: signed in with organization role ``role``, else 401/403."""
        return self._requiring(lambda auth: auth.has(role=role), role)

    def _requiring(
        self, check: Callable[[Auth], bool] | None, what: str
    ) -> Callable[[Request], Awaitable[Auth]]:
        async def dependency(request: Request) -> Auth:
            state = await self.state(request)
            if not state.is_signed_in:
                raise HTTPException(
                    status_for(state),
                    detail=describe(state),
                    headers={"WWW-Authenticate": "Bearer"},
                )
            auth = state.to_auth()
            if check is not None and not check(auth):
                raise HTTPException(403, detail={"error": "forbidden", "requires": what})
            return auth

        return dependency
