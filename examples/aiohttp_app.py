"""An aiohttp.web backend authenticated by Clerk.

Run: ``CLERK_SECRET_KEY=sk_test_... python -m examples.aiohttp_app``
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from clerk_async.integrations.aiohttp import AUTH, CLERK, require_auth, setup_clerk


@require_auth
async def me(request: web.Request) -> web.Response:
    return web.json_response({"user_id": request[AUTH].user_id})


@require_auth(permission="org:invoices:read")
async def invoices(request: web.Request) -> web.Response:
    return web.json_response({"org_id": request[AUTH].org_id})


async def client(request: web.Request) -> web.Response:
    return web.json_response({"api_url": request.app[CLERK].api_url})


def create_app(**options: Any) -> web.Application:
    app = web.Application()
    setup_clerk(app, **options)
    app.router.add_get("/me", me)
    app.router.add_get("/invoices", invoices)
    app.router.add_get("/client", client)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=8080)
