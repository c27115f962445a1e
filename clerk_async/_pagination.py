"""Auto-pagination for every list operation.

A list method returns an :class:`AsyncPaginator` without sending anything. Then:

* ``page = await clerk.users.list(limit=100)`` fetches one :class:`Page`;
* ``async for user in clerk.users.list():`` walks every item, one page at a time
  (500 per page, the API's maximum, unless ``limit`` says otherwise), so memory
  stays flat however many users there are;
* ``async for page in clerk.users.list().pages():`` walks page by page.

User listing ordered by ``created_at`` (the default) walks with the
``starting_after`` cursor, which neither skips nor repeats users while others
are created or deleted. Other lists walk by ``offset``; there ``concurrency=N``
fetches up to N pages ahead in parallel while items still come out in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._types import UNSET
from .errors import ClerkError

if TYPE_CHECKING:
    from ._client import Clerk

__all__ = ["AsyncPaginator", "Page", "PaginationError"]

T = TypeVar("T")

MAX_PAGE_SIZE = 500
_CURSOR_ORDERS = frozenset({"created_at", "+created_at", "-created_at"})


class PaginationError(ClerkError):
    """The server's pages did not advance (it ignored ``offset`` or the cursor)."""


def _item_id(item: object) -> object:
    if isinstance(item, Mapping):
        return item.get("id")
    return getattr(item, "id", None)


class Page(Generic[T]):
    """One page of a list: ``data``, ``total_count`` (when the API reports it)."""

    __slots__ = ("_paginator", "data", "offset", "total_count")

    def __init__(
        self,
        data: list[T],
        total_count: int | None,
        *,
        offset: int,
        paginator: AsyncPaginator[T],
    ) -> None:
        self.data = data
        self.total_count = total_count
        self.offset = offset
        self._paginator = paginator

    def __repr__(self) -> str:
        return f"Page(items={len(self.data)}, offset={self.offset}, total_count={self.total_count})"

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Any:
        return iter(self.data)

    def has_next_page(self) -> bool:
        """Whether another request could return more items."""
        return self._paginator._has_more(self)

    async def next_page(self) -> Page[T] | None:
        """Fetch the page after this one, or return ``None`` at the end."""
        if not self.has_next_page():
            return None
        return await self._paginator._fetch_after(self)


class AsyncPaginator(Generic[T]):
    """A lazy list request: await it for one page, iterate it for every item.

    Example::

        first = await clerk.users.list(limit=50)          # one Page
        async for user in clerk.users.list():             # every user
            ...
        async for page in clerk.organizations.list().pages():
            ...
        emails = [u async for u in clerk.users.list(max_items=1_000)]
    """

    def __init__(
        self,
        client: Clerk,
        path: str,
        *,
        query: Mapping[str, object] | None,
        item_type: type[T],
        envelope: bool | str,
        cursor: bool = False,
        max_items: int | None = None,
        concurrency: int = 1,
    ) -> None:
        if max_items is not None and max_items < 0:
            raise ValueError("max_items must be >= 0")
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self._client = client
        self._path = path
        self._query = {k: v for k, v in (query or {}).items() if v is not UNSET}
        self._item_type = item_type
        # The key of the item list in a ``{"<key>": [...], "total_count": n}`` answer,
        # or None for a bare array.
        self._items_key = "data" if envelope is True else (envelope or None)
        self._max_items = max_items
        self._concurrency = concurrency
        self._cursor = (
            cursor
            and "offset" not in self._query
            and str(self._query.get("order_by", "-created_at")) in _CURSOR_ORDERS
        )

    def __repr__(self) -> str:
        return f"AsyncPaginator({self._path!r})"

    # -- one page -------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._fetch(dict(self._query), self._int_param("offset", 0)).__await__()

    def _int_param(self, name: str, default: int) -> int:
        value = self._query.get(name, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a few list operations declare these as "number"
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {value!r}")
        return value

    def _page_size(self) -> int:
        return self._int_param("limit", MAX_PAGE_SIZE)

    async def _fetch(self, query: dict[str, object], offset: int) -> Page[T]:
        raw = await self._client._request("GET", self._path, query=query, cast_to=object)
        total: int | None = None
        items: Any = raw
        if self._items_key is not None and isinstance(raw, Mapping):
            items = raw.get(self._items_key) or []
            count = raw.get("total_count")
            if isinstance(count, (int, float)) and not isinstance(count, bool):
                total = int(count)
        if not isinstance(items, list):
            raise PaginationError(f"GET {self._path}: expected a list of items")
        data = self._client._structure(items, list[self._item_type])  # type: ignore[name-defined]
        return Page(data, total, offset=offset, paginator=self)

    def _has_more(self, page: Page[T]) -> bool:
        if not page.data:
            return False
        limit = self._query.get("limit")
        if isinstance(limit, int) and len(page.data) < limit:
            return False
        if page.total_count is not None:
            return page.offset + len(page.data) < page.total_count
        # Without a count, only a full page of the size we asked for says "maybe more".
        return not isinstance(limit, int) or len(page.data) >= limit

    async def _fetch_after(self, page: Page[T]) -> Page[T]:
        query = dict(self._query)
        if self._cursor:
            query["starting_after"] = _item_id(page.data[-1])
            return await self._fetch(query, page.offset + len(page.data))
        offset = page.offset + len(page.data)
        query["offset"] = offset
        return await self._fetch(query, offset)

    # -- every page / item ----------------------------------------------------

    def pages(self) -> AsyncIterator[Page[T]]:
        """Iterate page by page (``limit`` items each, 500 when not given)."""
        if self._cursor or self._concurrency == 1:
            return self._sequential_pages()
        return self._concurrent_pages()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        remaining = self._max_items
        if remaining == 0:
            return
        pages = self.pages()
        try:
            async for page in pages:
                for item in page.data:
                    yield item
                    if remaining is not None:
                        remaining -= 1
                        if remaining <= 0:
                            return
        finally:
            await pages.aclose()  # type: ignore[attr-defined]

    def _walk_query(self, limit: int) -> dict[str, object]:
        query = dict(self._query)
        query["limit"] = limit
        return query

    def _first_limit(self) -> int:
        size = self._page_size()
        if self._max_items is not None:
            return max(1, min(size, self._max_items))
        return size

    async def _sequential_pages(self) -> AsyncIterator[Page[T]]:
        size = self._page_size()
        limit = self._first_limit()
        query = self._walk_query(limit)
        offset = self._int_param("offset", 0)
        fetched = 0
        previous_first: object = None
        while True:
            page = await self._fetch(query, offset)
            if not page.data:
                return
            first = _item_id(page.data[0])
            if first is not None and first == previous_first:
                raise PaginationError(
                    f"GET {self._path}: the server returned the same page twice; "
                    "it ignored the offset or cursor"
                )
            previous_first = first
            yield page
            fetched += len(page.data)
            if len(page.data) < limit:
                return
            if page.total_count is not None and offset + len(page.data) >= page.total_count:
                return
            if self._max_items is not None:
                left = self._max_items - fetched
                if left <= 0:
                    return
                size = min(size, left)
            limit = size
            query = self._walk_query(limit)
            offset += len(page.data)
            if self._cursor:
                query["starting_after"] = _item_id(page.data[-1])
            else:
                query["offset"] = offset

    async def _concurrent_pages(self) -> AsyncIterator[Page[T]]:
        size = self._page_size()
        start = self._int_param("offset", 0)
        end: int | None = None  # first offset known to be past the last item
        if self._max_items is not None:
            end = start + self._max_items
        pending: dict[int, asyncio.Task[Page[T]]] = {}
        next_offset = start
        # The first page travels alone: its total_count (when the API gives one)
        # then bounds the fan-out, so no request goes past the end.
        width = 1

        def schedule() -> None:
            nonlocal next_offset
            while len(pending) < width and (end is None or next_offset < end):
                limit = size if end is None else min(size, end - next_offset)
                query = self._walk_query(limit)
                query["offset"] = next_offset
                pending[next_offset] = asyncio.ensure_future(self._fetch(query, next_offset))
                next_offset += limit

        try:
            offset = start
            schedule()
            while True:
                task = pending.pop(offset, None)
                if task is None:
                    return
                page = await task
                width = self._concurrency
                if page.total_count is not None:
                    end = page.total_count if end is None else min(end, page.total_count)
                asked = size if end is None else min(size, end - offset)
                if not page.data:
                    return
                offset += len(page.data)
                last = len(page.data) < asked or (end is not None and offset >= end)
                if not last:
                    schedule()  # keep the pipeline full while the consumer works
                yield page
                if last:
                    return
        finally:
            for task in pending.values():
                task.cancel()
            if pending:
                # Collect the outcomes so no "exception was never retrieved" warnings appear.
                await asyncio.gather(*pending.values(), return_exceptions=True)
