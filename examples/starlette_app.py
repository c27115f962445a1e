"""A Starlette app with Clerk's verdict on ``request.state.auth``.

Run: ``CLERK_SECRET_KEY=sk_test_... uvicorn examples.starlette_app:app``
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clerk_async.integrations import describe, status_for
from clerk_async.integrations.starlette import ClerkAuthMiddleware


async def me(request: Request) -> JSONResponse:
    auth = request.state.auth
    if not auth.is_authenticated:
        # 401 naming the reason (503 when Clerk could not be reached).
        state = request.state.auth_state
        return JSONResponse(describe(state), status_code=status_for(state))
    return JSONResponse({"user_id": auth.user_id})


routes = [Route("/me", me)]


def create_app(**options: object) -> Starlette:
    """The app, with ``options`` for :class:`ClerkAuthMiddleware`."""
    return Starlette(
        routes=routes,
        middleware=[Middleware(ClerkAuthMiddleware, **options)],  # type: ignore[arg-type]
    )


app = create_app()
