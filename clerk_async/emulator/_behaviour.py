"""What a module of hand-written emulator behaviour offers the application.

Each behaviour (JWT templates, machines and their tokens, sign-up restrictions, ...)
lives in a module of its own and hands :class:`~clerk_async.emulator._app.Api` its
routes; the application adds them to its table, so they take precedence over the
generic emulation of the same operations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from ._store import Store

Handler = Callable[[web.Request], Awaitable[Any]]
RouteEntry = tuple[str, str, Handler]


class Behaviour(Protocol):
    """A group of emulated operations."""

    def routes(self) -> list[RouteEntry]:
        """``(method, /v1 path, handler)`` of every operation it answers."""

    def authenticates(self, request: web.Request) -> bool:
        """Whether ``request`` carries a credential of this behaviour's own (a machine's
        secret key, ...) that the path accepts instead of the instance's secret key."""


def seconds(store: Store) -> int:
    """The emulator's present time in whole seconds, read from its test clock."""
    return int(store.clock.now())


def bearer(request: web.Request) -> str:
    """The bearer credential of ``request``, or ``""``."""
    auth = request.headers.get("Authorization", "")
    return auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
