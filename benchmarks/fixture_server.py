"""A minimal Clerk-shaped HTTP server for benchmarks, run in its own process.

Every answer is pre-serialized, so the server costs as little as possible and the
clients are what gets measured::

    python -m benchmarks.fixture_server --port 8788 --users 10000
"""

from __future__ import annotations

import argparse
import bisect
import json

from aiohttp import web

from clerk_async.emulator._store import Store


def build(users: int) -> web.Application:
    store = Store(seed=1)
    template = store.make_user(
        {
            "email_address": ["template@example.com"],
            "first_name": "Bench",
            "last_name": "Mark",
            "username": "benchmark",
            "external_id": "ext-bench",
            "public_metadata": {"plan": "pro", "seats": 5},
        }
    )
    base = template["created_at"]
    bodies: list[bytes] = []
    ids: list[str] = []
    for i in range(users):
        template["id"] = f"user_{i:08d}"
        template["created_at"] = base - i  # newest first, like Clerk's default order
        template["username"] = f"bench{i}"
        ids.append(template["id"])
        bodies.append(json.dumps(template, separators=(",", ":")).encode())
    one_user = bodies[0] if bodies else b"{}"
    jwks = json.dumps({"keys": []}).encode()

    async def get_user(request: web.Request) -> web.Response:
        return web.Response(body=one_user, content_type="application/json")

    async def list_users(request: web.Request) -> web.Response:
        query = request.query
        limit = int(query.get("limit", "10"))
        offset = int(query.get("offset", "0"))
        start = 0
        after = query.get("starting_after")
        if after is not None:
            start = bisect.bisect_right(ids, after)
        chunk = bodies[start + offset : start + offset + limit]
        return web.Response(body=b"[" + b",".join(chunk) + b"]", content_type="application/json")

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"object": "total_count", "total_count": users})

    async def get_jwks(request: web.Request) -> web.Response:
        return web.Response(body=jwks, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/users", list_users)
    app.router.add_get("/v1/users/count", count)
    app.router.add_get("/v1/users/{user_id}", get_user)
    app.router.add_get("/v1/jwks", get_jwks)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()
    app = build(args.users)
    print("ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
