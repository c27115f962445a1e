"""Auto-pagination for every list operation.

A list method returns an :class:`AsyncPaginator` without sending anything. Then:

* ``page = await clerk.users.list(limit=100)`` fetches one :class:`Page`
  (10 items, the API's default, when ``limit`` is not given);
* ``async for user in clerk.users.list():`` walks every item, one page at a time
  (the operation's largest page, 500 for most lists and 100 for API keys and M2M
  tokens, unless ``limit`` says otherwise), so memory stays flat however many
  users there are;
* ``async for page in clerk.users.list().pages():`` walks page by page.

User listing ordered by ``created_at`` (the default) walks with the
``starting_after`` cursor, which neither skips nor repeats users while others
are created or deleted. Other lists (and a user listing given a non-zero
``offset``) walk by ``offset``; there ``concurrency=N`` fetches up to N pages
ahead in parallel while items still come out in order.

A walk ends on an empty or short page, or when ``total_count`` is reached. A
server that answers the same page twice (it ignored ``offset`` or the cursor)
raises :class:`PaginationError` instead of looping forever.

How it works: one rule says where the page after a page starts
(``AsyncPaginator._next_query``: the next offset, or the cursor of the last
item) and one whether a page is the last (``AsyncPaginator._is_last``: empty,
short, at ``total_count`` or at ``max_items``). Awaiting one page, the sequential
walk and the concurrent prefetch all use those two; ``max_items`` is applied
there too, by asking for smaller pages and trimming, so no iterator counts items.
"""

from __future__ import annotations

import asyncio
import json
import typing
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._convert import ItemsOf, Listing
from ._types import UNSET
from .errors import PaginationError

if TYPE_CHECKING:
    from ._http import Requester

__all__ = ["AsyncPaginator", "Page", "PaginationError"]

T = TypeVar("T")

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 10  # what the API answers when no limit is sent
_CURSOR_ORDERS = frozenset({"created_at", "+created_at", "-created_at"})


def _item_id(item: object) -> object:
    if isinstance(item, Mapping):
        return item.get("id")
    return getattr(item, "id", None)


def _whole(value: object) -> int | None:
    """``value`` as an int when it is one (a few list operations declare their
    ``limit``/``offset`` as "number", so ``10.0`` counts), else ``None``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _count(value: object) -> int | None:
    """An answer's ``total_count``, when it is a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    return None


def _fingerprint(item: object) -> object:
    """What identifies an item (decoded JSON, or a model read from the bytes): its
    ``id``, else its whole content."""
    ident = item.get("id") if isinstance(item, Mapping) else getattr(item, "id", None)
    if isinstance(ident, str) and ident:
        return ident
    try:
        return json.dumps(item, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(item)


def _page_key(items: list[Any]) -> object:
    # Two consecutive pages with the same key mean the server did not move on.
    if not items:
        return None
    return (len(items), _fingerprint(items[0]), _fingerprint(items[-1]))


class Page(Generic[T]):
    """One page of a list: ``data``, ``total_count`` (when the API reports it)."""

    __slots__ = ("_key", "_limit", "_paginator", "data", "offset", "total_count")

    def __init__(
        self,
        data: list[T],
        total_count: int | None,
        *,
        offset: int,
        paginator: AsyncPaginator[T],
        limit: int | None = None,
        key: object = None,
    ) -> None:
        self.data = data
        self.total_count = total_count
        self.offset = offset
        self._paginator = paginator
        self._limit = limit  # the page size asked for
        self._key = key

    def __repr__(self) -> str:
        return f"Page(items={len(self.data)}, offset={self.offset}, total_count={self.total_count})"

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[T]:
        """The page's items: ``for user in page:``."""
        return iter(self.data)

    def has_next_page(self) -> bool:
        """Whether another request could return more items.

        False after an empty page, a page shorter than the size asked for, once
        ``total_count`` items have been seen, or once ``max_items`` is reached.
        """
        return not self._paginator._is_last(self)

    async def next_page(self) -> Page[T] | None:
        """Fetch the page after this one (same size), or return ``None`` at the end.

        Without a ``total_count``, a full page can be the last one: then the
        request is made, comes back empty, and ``None`` is returned.
        """
        query = self._paginator._next_query(self)
        if query is None:
            return None
        after = await self._paginator._fetch(query, self.offset + len(self.data))
        self._paginator._check_moved_on(after, self._key)
        return after if after.data else None


class AsyncPaginator(Generic[T]):
    """A lazy list request: await it for one page, iterate it for every item.

    Example::

        first = await clerk.users.list(limit=50)          # one Page
        async for user in clerk.users.list():             # every user
            ...
        async for page in clerk.organizations.list().pages():
            ...
        emails = [u async for u in clerk.users.list(max_items=1_000)]

    Requests made by a walk over ``n`` items with page size ``limit``:

    * the API reports ``total_count``: ``ceil(n / limit)`` (at least one),
      whatever ``concurrency`` is;
    * a bare array, sequential or cursor walk: ``floor(n / limit) + 1`` (the
      end is seen on a short or empty page);
    * a bare array with ``concurrency=N``: at most ``floor(n / limit) + N``
      (one when ``n < limit``: the first page travels alone). Without a count
      the end is only known when the short page arrives; up to ``N - 1``
      requests for pages past it may already be out by then, and are cancelled.
    """

    def __init__(
        self,
        http: Requester,
        path: str,
        *,
        query: Mapping[str, object] | None,
        item_type: type[T],
        envelope: bool | str,
        cursor: str | None = None,
        max_items: int | None = None,
        concurrency: int = 1,
        max_limit: int = MAX_PAGE_SIZE,
    ) -> None:
        if max_items is not None and max_items < 0:
            raise ValueError("max_items must be >= 0")
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if max_limit < 1:
            raise ValueError("max_limit must be >= 1")
        self._http = http
        self._path = path
        self._query = {k: v for k, v in (query or {}).items() if v is not UNSET}
        self._item_type = item_type
        # The key of the item list in a ``{"<key>": [...], "total_count": n}`` answer,
        # or None for a bare array.
        self._items_key = "data" if envelope is True else (envelope or None)
        self._max_items = max_items
        self._concurrency = concurrency
        # The largest page this operation accepts (the spec's ``limit`` maximum).
        self._walk_size = min(MAX_PAGE_SIZE, max_limit)
        self._start = self._int_param("offset", 0)
        # The cursor parameter, when this list takes one and the walk can use it: the
        # cursor follows ``created_at``, and only from the start (offset=0 is where a
        # cursor walk starts anyway; a real offset asks for an offset walk).
        self._cursor = (
            cursor
            if cursor
            and str(self._query.get("order_by", "-created_at")) in _CURSOR_ORDERS
            and self._start == 0
            else None
        )

    def __repr__(self) -> str:
        return f"AsyncPaginator({self._path!r})"

    def _int_param(self, name: str, default: int) -> int:
        value = self._query.get(name, default)
        whole = _whole(value)
        if whole is None:
            raise TypeError(f"{name} must be an int, got {value!r}")
        return whole

    # -- the one next-page strategy ---------------------------------------------

    def _size(self, offset: int, size: int) -> int:
        """The page size to ask for at ``offset``: ``size``, capped by ``max_items``."""
        if self._max_items is None:
            return size
        return max(1, min(size, self._start + self._max_items - offset))

    def _query_at(self, offset: int, size: int) -> dict[str, object]:
        """The query of the page that starts at ``offset`` (offset walks, first pages)."""
        query = dict(self._query)
        query["limit"] = self._size(offset, size)
        if self._cursor is None:
            if offset or "offset" in query:
                query["offset"] = offset
        else:
            query.pop("offset", None)  # 0 at most: the cursor says where to go on
        return query

    def _is_last(self, page: Page[T]) -> bool:
        """Whether no page follows ``page``: it is empty or short, or it reaches
        ``total_count`` or ``max_items``."""
        if not page.data:
            return True
        if page._limit is not None and len(page.data) < page._limit:
            return True
        seen = page.offset + len(page.data)
        if page.total_count is not None and seen >= page.total_count:
            return True
        return self._max_items is not None and seen - self._start >= self._max_items

    def _next_query(self, page: Page[T]) -> dict[str, object] | None:
        """The query of the page after ``page`` (same size), or ``None`` after the last."""
        if self._is_last(page):
            return None
        query = self._query_at(page.offset + len(page.data), page._limit or self._page_size())
        if self._cursor is not None:
            query[self._cursor] = _item_id(page.data[-1])
        return query

    def _page_size(self) -> int:
        return self._int_param("limit", self._walk_size)

    async def _fetch(self, query: dict[str, object], offset: int) -> Page[T]:
        raw: object = await self._http.request(
            "GET",
            self._path,
            query=query,
            cast_to=ItemsOf[self._item_type],  # type: ignore[name-defined]
        )
        if isinstance(raw, Listing):
            # Read from the answer's bytes (see model_from_json): items are models already.
            return self._page(raw.items, _count(raw.total_count), query, offset)
        total: int | None = None
        items: Any = raw
        # A bare-array list answers an envelope when asked to (``paginated=True`` on
        # sessions, clients, invitations, the allowlist): read it as one.
        items_key = self._items_key
        if items_key is None and isinstance(raw, Mapping) and "data" in raw:
            items_key = "data"
        if items_key is not None and isinstance(raw, Mapping):
            items = raw.get(items_key) or []
            total = _count(raw.get("total_count"))
        if not isinstance(items, list):
            raise PaginationError(f"GET {self._path}: expected a list of items")
        return self._page(items, total, query, offset, decoded=False)

    def _page(
        self,
        items: list[Any],
        total: int | None,
        query: dict[str, object],
        offset: int,
        *,
        decoded: bool = True,
    ) -> Page[T]:
        key = _page_key(items)
        if self._max_items is not None:
            # A server that sends more than asked for still stops at max_items.
            del items[max(0, self._start + self._max_items - offset) :]
        data = items if decoded else self._http.decode(items, list[self._item_type])  # type: ignore[name-defined]
        return Page(
            data, total, offset=offset, paginator=self, limit=_whole(query.get("limit")), key=key
        )

    def _check_moved_on(self, page: Page[T], previous_key: object) -> None:
        """Raise when ``page`` repeats the page before it (offset or cursor ignored)."""
        if page._key is not None and page._key == previous_key:
            raise PaginationError(
                f"GET {self._path}: the server returned the same page twice; "
                "it ignored the offset or cursor"
            )

    # -- one page -----------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Page[T]]:
        # ``limit`` sent explicitly so a short page can be told from a full one.
        size = self._int_param("limit", min(DEFAULT_PAGE_SIZE, self._walk_size))
        query = dict(self._query)
        query["limit"] = self._size(self._start, size)
        return self._fetch(query, self._start).__await__()

    # -- every page / item ----------------------------------------------------

    def pages(self) -> AsyncIterator[Page[T]]:
        """Iterate page by page (``limit`` items each; the largest page the
        operation accepts, at most 500, when not given)."""
        if self._max_items == 0:
            return _no_pages()
        if self._cursor is not None or self._concurrency == 1:
            return self._sequential_pages()
        return self._concurrent_pages()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        pages = self.pages()
        try:
            async for page in pages:
                for item in page.data:
                    yield item
        finally:
            await pages.aclose()  # type: ignore[attr-defined]

    async def _sequential_pages(self) -> AsyncIterator[Page[T]]:
        query: dict[str, object] | None = self._query_at(self._start, self._page_size())
        offset = self._start
        previous: object = None
        while query is not None:
            page = await self._fetch(query, offset)
            if not page.data:
                return
            self._check_moved_on(page, previous)
            previous = page._key
            yield page
            query = self._next_query(page)
            offset += len(page.data)

    async def _concurrent_pages(self) -> AsyncIterator[Page[T]]:
        size = self._page_size()
        end: int | None = None  # first offset known to be past the last item
        if self._max_items is not None:
            end = self._start + self._max_items
        pending: dict[int, asyncio.Task[Page[T]]] = {}
        next_offset = self._start
        # The first page travels alone: its total_count (when the API gives one)
        # then bounds the fan-out, so no request goes past the end.
        width = 1

        def schedule() -> None:
            nonlocal next_offset
            while len(pending) < width and (end is None or next_offset < end):
                query = self._query_at(
                    next_offset, size if end is None else min(size, end - next_offset)
                )
                pending[next_offset] = asyncio.ensure_future(self._fetch(query, next_offset))
                next_offset += typing.cast(int, query["limit"])

        try:
            offset = self._start
            previous: object = None
            schedule()
            while True:
                task = pending.pop(offset, None)
                if task is None:
                    return
                page = await task
                width = self._concurrency
                if page.total_count is not None:
                    end = page.total_count if end is None else min(end, page.total_count)
                if not page.data:
                    return
                self._check_moved_on(page, previous)
                previous = page._key
                offset += len(page.data)
                last = self._is_last(page)
                if not last:
                    schedule()  # keep the pipeline full while the consumer works
                yield page
                if last:
                    return
        finally:
            # The consumer stopped (end, break, error, max_items): pages fetched ahead
            # are not wanted. cancel() also marks a page that already failed as seen,
            # so the loop never reports "Task exception was never retrieved"; waiting
            # for the cancelled requests means none is still running once aclose()
            # returns, and collects whatever they end with.
            for task in pending.values():
                task.cancel()
            if pending:
                await asyncio.gather(*pending.values(), return_exceptions=True)


async def _no_pages() -> AsyncIterator[Any]:
    return
    yield  # an async generator that yields nothing
