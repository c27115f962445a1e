"""The base class of the generated resource namespaces."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._http import Requester

__all__ = ["AsyncResource"]


class AsyncResource:
    """A group of related operations (``clerk.users``, ``clerk.organizations``...)."""

    __slots__ = ("_http",)

    def __init__(self, http: Requester) -> None:
        self._http = http

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._http!r}>"
