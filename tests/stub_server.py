"""A scriptable Clerk-like HTTP server on 127.0.0.1 that records what it receives."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict, MultiDict

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.define
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    raw_path: str
    query: MultiDict[str]
    headers: CIMultiDict[str]
    body: bytes
    peer: object = None  # the client's (host, port): one per connection

    def json(self) -> Any:
        return json.loads(self.body)


@attrs.define
class Reply:
    """A canned answer."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"


class StubServer:
    """Routes ``(METHOD, path)`` to queues of replies; the last reply repeats."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str], deque[Reply | Handler]] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def add(self, method: str, path: str, *replies: Reply | Handler) -> None:
        self._routes[(method.upper(), path)] = deque(replies or [Reply()])

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                request.raw_path.split("?", 1)[0],
                MultiDict(request.query),
                CIMultiDict(request.headers),
                body,
                peer=request.transport.get_extra_info("peername") if request.transport else None,
            )
        )
        queue = self._routes.get((request.method, request.raw_path.split("?", 1)[0]))
        if queue is None:
            queue = self._routes.get((request.method, request.path))
        if queue is None:
            return web.json_response(
                {"errors": [{"code": "resource_not_found", "message": "not found"}]}, status=404
            )
        reply = queue.popleft() if len(queue) > 1 else queue[0]
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if callable(reply):
                return await reply(request)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.body is not None:
                return web.Response(
                    status=reply.status,
                    body=reply.body,
                    headers={"Content-Type": reply.content_type, **reply.headers},
                )
            if reply.status == 204:
                return web.Response(status=204, headers=reply.headers)
            return web.Response(
                status=reply.status,
                text=json.dumps(reply.json),
                headers=reply.headers,
                content_type=reply.content_type,
            )
        finally:
            self.in_flight -= 1
