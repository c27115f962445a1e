"""The client the auth helpers call Clerk through: yours, or a temporary one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from .._http import requester_of

if TYPE_CHECKING:
    from .._client import Clerk
    from .._http import Requester

__all__ = ["requester_for"]


@asynccontextmanager
async def requester_for(clerk: Clerk | None) -> AsyncIterator[Requester]:
    """The requester of ``clerk``; without one, of a client configured from the
    environment (``CLERK_SECRET_KEY``, ``CLERK_API_URL``), closed on exit."""
    if clerk is not None:
        yield requester_of(clerk)
        return
    from .._client import Clerk

    async with Clerk() as temporary:
        yield requester_of(temporary)
