"""clerk-async: an asyncio-native SDK for the Clerk Backend API.

Example::

    from clerk_async import Clerk

    async with Clerk() as clerk:              # CLERK_SECRET_KEY from the environment
        user = await clerk.users.get("user_123")
        async for user in clerk.users.list(order_by="-created_at"):
            print(user.id)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from ._client import DEFAULT_API_URL, DEFAULT_API_VERSION, Clerk
from ._pagination import AsyncPaginator, Page, PaginationError
from ._ratelimit import RateLimit, RateLimitBackendError, RateLimitStats
from ._retry import Retries
from ._types import UNSET, Unset
from ._version import __version__
from .errors import (
    ClerkAPIError,
    ClerkConnectionError,
    ClerkError,
    ClerkTimeoutError,
    NotFoundError,
    RateLimitError,
)

if TYPE_CHECKING:
    from ._operations import OPERATIONS as OPERATIONS
    from ._operations import Operation as Operation

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_API_VERSION",
    "OPERATIONS",
    "UNSET",
    "AsyncPaginator",
    "Clerk",
    "ClerkAPIError",
    "ClerkConnectionError",
    "ClerkError",
    "ClerkTimeoutError",
    "NotFoundError",
    "Operation",
    "Page",
    "PaginationError",
    "RateLimit",
    "RateLimitBackendError",
    "RateLimitError",
    "RateLimitStats",
    "Retries",
    "Unset",
    "__version__",
    "errors",
]


def __getattr__(name: str) -> Any:
    # The operation registry is only loaded when asked for, to keep imports fast.
    if name in ("OPERATIONS", "Operation"):
        from . import _operations

        return getattr(_operations, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
