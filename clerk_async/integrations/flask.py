"""Flask integration: ``g.auth`` on every request, and decorators requiring it.

Example::

    from flask import Flask, g
    from clerk_async.integrations.flask import ClerkAuth, require_auth

    app = Flask(__name__)
    app.config["CLERK_AUTHORIZED_PARTIES"] = ["https://app.example.com"]
    clerk_auth = ClerkAuth(app)  # or ClerkAuth() then clerk_auth.init_app(app)

    @app.get("/me")
    @require_auth()
    def me():
        return {"user_id": g.auth.user_id}

    @app.get("/admin")
    @require_auth(role="org:admin")
    def admin():
        user = clerk_auth.clerk.users.get(g.auth.user_id)  # the app's clerk_sync client
        ...

Configuration comes from ``app.config``: ``CLERK_SECRET_KEY``, ``CLERK_API_URL``,
``CLERK_JWT_KEY``, ``CLERK_AUTHORIZED_PARTIES``, ``CLERK_AUDIENCE``, ``CLERK_ISSUER``,
``CLERK_ACCEPTS_TOKEN``, ``CLERK_CLOCK_SKEW``, ``CLERK_PUBLISHABLE_KEY`` (the keys
falling back to the environment), then the keyword arguments of :class:`ClerkAuth`.
Signed-out requests to a protected view get 401 (503 when Clerk was unreachable)
with a JSON body naming the reason; signed-in ones lacking a requirement get 403.
Requests are verified through :mod:`clerk_sync`, one client per process.

Server-rendered pages: with ``CLERK_PUBLISHABLE_KEY`` set, a page load whose
session cookie went stale is answered with the handshake redirect (307) before
any view runs, and cookies a handshake resolved in place sets reach the response.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, jsonify
from flask import request as flask_request

from ..auth import Auth, AuthenticateOptions, RequestState
from . import Refusal, admit
from ._wsgi import SyncAppAuth, requirement, settings_from

__all__ = ["ClerkAuth", "current_auth", "require_auth"]

F = TypeVar("F", bound=Callable[..., Any])
_EXTENSION = "clerk"


class ClerkAuth:
    """The Flask extension: verifies each request and sets ``g.auth`` (and ``g.clerk_state``).

    Args:
        app: the application (or call :meth:`init_app` later).
        options: an :class:`~clerk_async.auth.AuthenticateOptions`.
        settings: any field of ``AuthenticateOptions``, ``secret_key``/``api_url``, or
            ``clerk`` (a :class:`clerk_sync.Clerk` of yours); they override ``app.config``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        options: AuthenticateOptions | None = None,
        **settings: Any,
    ) -> None:
        self._options = options
        self._settings = settings
        self._app_auth: SyncAppAuth | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read ``app.config`` and hook into the app's requests."""
        settings = settings_from(app.config.get) | self._settings
        self._app_auth = SyncAppAuth(self._options, settings)
        app.extensions[_EXTENSION] = self
        app.before_request(self._before_request)
        app.after_request(self._after_request)

    @property
    def app_auth(self) -> SyncAppAuth:
        if self._app_auth is None:
            raise RuntimeError("ClerkAuth is not attached to an app: call init_app(app)")
        return self._app_auth

    @property
    def clerk(self) -> Any:
        """The app's :class:`clerk_sync.Clerk` (one per process, opened on first use)."""
        return self.app_auth.client()

    def state(self) -> RequestState:
        """The current request's :class:`~clerk_async.auth.RequestState` (computed once)."""
        cached = g.get("clerk_state")
        if isinstance(cached, RequestState):
            return cached
        state = self.app_auth.authenticate(
            dict(flask_request.headers.items()), url=flask_request.url, method=flask_request.method
        )
        g.clerk_state = state
        return state

    def _before_request(self) -> Response | None:
        state = self.state()
        if state.is_handshake:
            return Response(status=307, headers=list(state.headers))
        g.auth = state.to_auth()
        return None

    def _after_request(self, response: Response) -> Response:
        state = g.get("clerk_state")
        if isinstance(state, RequestState) and not state.is_handshake:
            for cookie in state.set_cookies:
                response.headers.add("Set-Cookie", cookie)
        return response

    def close(self) -> None:
        """Close the client opened here (yours stays open)."""
        self.app_auth.close()


def require_auth(
    *, permission: str | None = None, role: str | None = None, organization: bool = False
) -> Callable[[F], F]:
    """Decorator: the view runs only for a signed-in request meeting the requirement.

    With no argument it requires sign-in; ``permission=``, ``role=`` (``"org:admin"``)
    or ``organization=True`` (an active organization) add a requirement, whose lack
    answers 403.
    """
    check, what = requirement(permission=permission, role=role, organization=organization)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            extension = cast(ClerkAuth, current_app.extensions[_EXTENSION])
            verdict = admit(extension.state(), check, what)
            if isinstance(verdict, Refusal):
                response = jsonify(verdict.body)
                response.status_code = verdict.status
                response.headers.update(verdict.headers or {})
                return response
            g.auth = verdict
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate


def current_auth() -> Auth:
    """The current request's :class:`~clerk_async.auth.Auth` (signed out or not)."""
    return cast(ClerkAuth, current_app.extensions[_EXTENSION]).state().to_auth()
