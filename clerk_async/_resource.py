"""The base class of the generated resource namespaces."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._client import Clerk

__all__ = ["AsyncResource"]


class AsyncResource:
    """A group of related operations (``clerk.users``, ``clerk.organizations``...)."""

    __slots__ = ("_client",)

    def __init__(self, client: Clerk) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"
