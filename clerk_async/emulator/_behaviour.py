"""What a module of hand-written emulator behaviour offers the application.

Each behaviour (JWT templates, machines and their tokens, sign-up restrictions, ...)
lives in a module of its own and hands :class:`~clerk_async.emulator._app.Api` its
routes; the application adds them to its table, so they take precedence over the
generic emulation of the same operations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[Any]]
RouteEntry = tuple[str, str, Handler]


class Behaviour(Protocol):
    """A group of emulated operations."""

    def routes(self) -> list[RouteEntry]:
        """``(method, /v1 path, handler)`` of every operation it answers (the application
        also serves those Clerk answers unversioned without the prefix, see
        ``_app.UNVERSIONED``)."""


@runtime_checkable
class Authenticator(Protocol):
    """A behaviour that accepts credentials of its own on its own paths (a machine's
    secret key for M2M tokens, ...) where the application asks for the instance's
    secret key everywhere else."""

    def authenticates(self, request: web.Request) -> bool:
        """Whether ``request`` carries a credential this behaviour accepts for its path."""
