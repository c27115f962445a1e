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

Server-rendered pages: with a publishable key (``publishable_key=`` or
``CLERK_PUBLISHABLE_KEY``) a page load whose session cookie went stale is answered
with the handshake redirect (307) by any of these dependencies, and cookies a
handshake resolved in place sets reach the response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import HTTPException, Request, Response
from starlette.datastructures import Headers
from typing_extensions import Unpack

from .._client import Clerk
from ..auth import Auth, AuthenticateOptions, RequestState
from . import AppAuth, IntegrationOptions, Refusal, admit

__all__ = ["ClerkAuth"]

_STATE_KEY = "clerk_auth_state"


class ClerkAuth:
    """Options passed once, a lifespan owning the client, and dependencies.

    Args:
        options: an :class:`~clerk_async.auth.AuthenticateOptions`.
        settings: any field of ``AuthenticateOptions`` (overriding ``options``), and
            ``secret_key``/``api_url`` for the client opened in the lifespan
            (defaults from ``CLERK_SECRET_KEY`` / ``CLERK_API_URL``); see
            :class:`~clerk_async.integrations.IntegrationOptions`. A ``clerk`` of
            your own is used instead and stays yours (the lifespan neither opens
            nor closes it).
    """

    def __init__(
        self,
        *,
        options: AuthenticateOptions | None = None,
        **settings: Unpack[IntegrationOptions],
    ) -> None:
        self._app_auth = AppAuth(
            options, settings, missing="pass lifespan=clerk_auth.lifespan to FastAPI"
        )
        self.options = self._app_auth.options

    @property
    def clients_opened(self) -> int:
        """How many clients the lifespan opened (one per application life)."""
        return self._app_auth.clients_opened

    @asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """Open the app's one Clerk client, close it at shutdown.

        Pass it as ``FastAPI(lifespan=clerk_auth.lifespan)``, or enter it from your
        own lifespan: ``async with clerk_auth.lifespan(app): yield``.
        """
        async with self._app_auth.lifespan():
            yield

    def client(self) -> Clerk:
        """Dependency: the app's :class:`~clerk_async.Clerk` (inside the lifespan)."""
        return self._app_auth.client()

    async def state(self, request: Request, response: Response) -> RequestState:
        """Dependency: the :class:`~clerk_async.auth.RequestState`, computed once per request.

        A handshake is answered here (307 with its headers); cookies set by a
        handshake resolved in place go on the response.
        """
        # Kept in the request's ASGI scope: a dict lookup, where ``request.state`` costs
        # an object and a raised AttributeError per request before the first set.
        scope = request.scope
        cached = scope.get(_STATE_KEY)
        if isinstance(cached, RequestState):
            state = cached
        else:
            state = await self._app_auth.authenticate(request.headers, self.client, request=request)
            scope[_STATE_KEY] = state
            if state.headers:
                for cookie in state.set_cookies:
                    response.headers.append("set-cookie", cookie)
        if state.is_handshake:
            # Headers (not a dict): a handshake may set several cookies.
            raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in state.headers]
            raise HTTPException(307, detail="handshake", headers=Headers(raw=raw))
        return state

    async def auth(self, request: Request, response: Response) -> Auth:
        """Dependency: the request's :class:`~clerk_async.auth.Auth`, signed out or not."""
        recalled = self._recalled(request)
        if recalled is not None:
            return recalled
        return (await self.state(request, response)).to_auth()

    def _recalled(self, request: Request) -> Auth | None:
        """The Auth of a bearer token verified before, from the raw header, at once (see
        :meth:`AppAuth.recall`), unless this request's state was computed already."""
        scope = request.scope
        if _STATE_KEY in scope:
            return None
        return self._app_auth.recall(scope["headers"], self.client)

    def require_auth(self) -> Callable[[Request, Response], Awaitable[Auth]]:
        """Dependency factory: the verified ``Auth``, or 401."""
        return self._requiring(None, "")

    def require_org(self) -> Callable[[Request, Response], Awaitable[Auth]]:
        """Dependency factory: signed in with an active organization, else 401/403."""
        return self._requiring(lambda auth: auth.org_id is not None, "an active organization")

    def require_permission(self, permission: str) -> Callable[[Request, Response], Awaitable[Auth]]:
        """Dependency factory: signed in and holding ``permission``, else 401/403."""
        return self._requiring(lambda auth: auth.has(permission=permission), permission)

    def require_role(self, role: str) -> Callable[[Request, Response], Awaitable[Auth]]:
        """Dependency factory: signed in with organization role ``role``, else 401/403."""
        return self._requiring(lambda auth: auth.has(role=role), role)

    def _requiring(
        self, check: Callable[[Auth], bool] | None, what: str
    ) -> Callable[[Request, Response], Awaitable[Auth]]:
        async def dependency(request: Request, response: Response) -> Auth:
            auth = self._recalled(request)
            if auth is not None and (check is None or check(auth)):
                return auth
            verdict = admit(await self.state(request, response), check, what)
            if isinstance(verdict, Refusal):
                raise HTTPException(verdict.status, detail=verdict.body, headers=verdict.headers)
            return verdict

        return dependency
