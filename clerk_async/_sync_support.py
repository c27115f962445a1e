"""Runtime support for the generated synchronous twin (``clerk_sync``).

A sync client owns one :class:`PortalRunner`: an event loop in a daemon thread,
driven through an ``anyio`` blocking portal, started on first use and kept for
the client's whole life. Every sync method hands its async twin to that loop and
waits, so the aiohttp session is created, used and closed on one loop only.

The portal owns the loop thread and the client's lifetime (starting, closing the
session, stopping). A call itself takes a cheaper road, measured in the benchmark's
"sync handoff" group against ``portal.call`` (a concurrent future, a task group task,
its cancel scope, a condition to wait on) and ``asyncio.run_coroutine_threadsafe``:
one ``call_soon_threadsafe`` that starts a task, and one lock the task's done callback
releases. Most of what any of them costs is waking the thread that waits, which is
dearest when its core has gone idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Generic, ParamSpec, TypeVar

import anyio
import attrs
from anyio.from_thread import BlockingPortal

from ._client import Clerk
from ._pagination import AsyncPaginator, Page

__all__ = [
    "PortalRunner",
    "SyncClient",
    "SyncPage",
    "SyncPaginator",
    "run",
    "shared_runner",
]

T = TypeVar("T")
P = ParamSpec("P")
C = TypeVar("C", bound="SyncClient")


class _Call(Generic[T]):
    """One call handed to the loop: the lock its caller waits on, and the outcome."""

    __slots__ = ("done", "error", "lock", "result", "taken", "task")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()  # released (once) when the outcome is known
        self.done = False
        self.taken = False  # the lock acquired by the caller: the outcome is theirs
        self.result: T | None = None
        self.error: BaseException | None = None
        self.task: asyncio.Task[T] | None = None

    def finish(self, task: asyncio.Task[T]) -> None:
        # On the loop thread, as every other write to ``done``: no race between them.
        if self.done:
            return
        if task.cancelled():
            self.error = RuntimeError("the call was cancelled: its client was closed")
        else:
            self.error = task.exception()
            if self.error is None:
                self.result = task.result()
        self.done = True
        self.lock.release()

    def abandon(self, error: BaseException) -> None:
        if not self.done:
            self.error = error
            self.done = True
            self.lock.release()


async def _drive(fn: Callable[[], Awaitable[T]]) -> T:
    # ``fn`` may return any awaitable (``__anext__`` of an async generator, say),
    # and is called here, on the loop, where it may look for the running loop.
    return await fn()


class PortalRunner:
    """One event loop thread with a blocking portal, safe to share between threads."""

    def __init__(self, name: str = "clerk-sync") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._portal: BlockingPortal | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # Calls handed over and not yet answered, so that none waits forever if the
        # loop ends before answering (close() from another thread, say).
        self._calls: set[_Call[Any]] = set()
        # Tasks running calls (touched on the loop thread only): the loop holds tasks
        # weakly, so a running one must be referenced somewhere. A call still running
        # when close() stops the loop is cancelled then, its caller told why.
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def thread(self) -> threading.Thread | None:
        """The loop's thread, once started."""
        return self._thread

    def _start(self) -> BlockingPortal:
        ready = threading.Event()
        box: dict[str, BlockingPortal] = {}
        failure: list[BaseException] = []

        async def serve() -> None:
            async with BlockingPortal() as portal:
                self._loop = asyncio.get_running_loop()
                box["portal"] = portal
                ready.set()
                await portal.sleep_until_stopped()

        def run() -> None:
            try:
                anyio.run(serve)
            except BaseException as exc:  # surfaced to the thread that started us
                failure.append(exc)
                ready.set()
            finally:
                # The loop is closed: a call it never answered gets an error rather
                # than a wait without end. A call handed over later finds the loop
                # closed (call_soon_threadsafe raises), so none slips past this.
                for call in list(self._calls):
                    call.abandon(RuntimeError("this client is closed"))

        # A daemon thread: a client that is never closed cannot hold the process open.
        thread = threading.Thread(target=run, name=self._name, daemon=True)
        thread.start()
        ready.wait()
        if failure:
            raise RuntimeError("could not start the event loop thread") from failure[0]
        self._thread = thread
        return box["portal"]

    def portal(self) -> BlockingPortal:
        portal = self._portal
        if portal is not None:
            return portal
        with self._lock:
            if self._closed:
                raise RuntimeError("this client is closed")
            if self._portal is None:
                self._portal = self._start()
            return self._portal

    def run(self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``await fn(*args, **kwargs)`` on the loop thread and return its result."""
        return self.wait(self.submit(fn, *args, **kwargs))

    def submit(
        self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> _Call[T]:
        """Start ``await fn(*args, **kwargs)`` on the loop thread; :meth:`wait` gives its
        outcome, :meth:`discard` stops it."""
        bound: Callable[[], Awaitable[T]] = functools.partial(fn, *args, **kwargs)
        if self._portal is None:
            self.portal()  # starts the loop thread, or raises once closed
        loop = self._loop
        assert loop is not None
        if threading.current_thread() is self._thread:
            raise RuntimeError("a sync client cannot be called from its own event loop thread")
        call: _Call[T] = _Call()
        calls = self._calls
        tasks = self._tasks

        def start() -> None:
            task = call.task = loop.create_task(_drive(bound))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            task.add_done_callback(call.finish)

        calls.add(call)
        try:
            loop.call_soon_threadsafe(start)
        except RuntimeError:  # the loop is closed
            calls.discard(call)
            raise RuntimeError("this client is closed") from None
        return call

    def wait(self, call: _Call[T]) -> T:
        """The outcome of a :meth:`submit`: its result, or its exception raised here."""
        try:
            call.lock.acquire()
        except BaseException:  # KeyboardInterrupt while waiting: stop the call too
            self._calls.discard(call)
            self._stop(call)
            raise
        call.taken = True
        self._calls.discard(call)
        error = call.error
        if error is not None:
            call.error = None  # no cycle through the traceback's frames
            raise error
        return call.result  # type: ignore[return-value]  # set with done, no error

    def discard(self, call: _Call[Any]) -> None:
        """Stop a :meth:`submit` whose outcome is not wanted, and wait until it has ended
        (whatever it ended with); nothing to do once :meth:`wait` had its outcome."""
        if call.taken:
            return
        self._stop(call)
        call.lock.acquire()
        call.taken = True
        self._calls.discard(call)
        call.error = None

    def _stop(self, call: _Call[Any]) -> None:
        loop = self._loop
        if loop is not None and not call.done:
            # A closed loop raises RuntimeError: the call was abandoned already.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._cancel, call)

    @staticmethod
    def _cancel(call: _Call[Any]) -> None:
        if call.task is not None:
            call.task.cancel()

    def close(self, final: Callable[[], Awaitable[Any]] | None = None) -> None:
        """Run ``final`` (closing the session) on the loop, then stop the loop thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            portal, self._portal = self._portal, None
        if portal is None:
            return
        try:
            if final is not None:
                portal.call(final)
        finally:
            portal.call(portal.stop)
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=10)


_SHARED: PortalRunner | None = None
_SHARED_LOCK = threading.Lock()


def shared_runner() -> PortalRunner:
    """A process-wide runner for sync helpers called without a client."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = PortalRunner("clerk-sync-shared")
        return _SHARED


# The loop thread each async client driven by a sync client lives on: its session
# belongs to that loop, so whatever is handed that async client must run there too.
_OWNERS: weakref.WeakKeyDictionary[Clerk, PortalRunner] = weakref.WeakKeyDictionary()


def _async_client(value: object) -> Clerk | None:
    return value.async_client if isinstance(value, SyncClient) else None


def _held_clients(value: object) -> Iterator[object]:
    """``value`` and, for an attrs or dataclass instance (an options object), its fields."""
    yield value
    kind = type(value)
    if attrs.has(kind):
        yield from (getattr(value, f.name) for f in attrs.fields(kind))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield from (getattr(value, f.name) for f in dataclasses.fields(value))


def run(fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
    """Run ``await fn(*args, **kwargs)`` for sync code, on the right event loop thread.

    That is the loop of the first client found among the arguments: a sync client
    (passed on to ``fn`` as its async client), an async client a sync client drives,
    or either held by an options object (an attrs or dataclass instance) among the
    arguments. Without one, the process-wide :func:`shared_runner`.
    """
    args = tuple(_async_client(a) or a for a in args)
    kwargs = {k: _async_client(v) or v for k, v in kwargs.items()}
    for arg in (*args, *kwargs.values()):
        for value in _held_clients(arg):
            runner = _OWNERS.get(value) if isinstance(value, Clerk) else None
            if runner is not None:
                return runner.run(fn, *args, **kwargs)
    return shared_runner().run(fn, *args, **kwargs)


class SyncClient:
    """The base of ``clerk_sync.Clerk``: one async client, driven on one loop thread."""

    _finalizer: weakref.finalize[..., SyncClient]

    def __init__(self, client: Clerk, runner: PortalRunner | None = None) -> None:
        self._async = client
        self._runner = runner or PortalRunner()
        _OWNERS[client] = self._runner
        # A copy (runner given) leaves closing to the client it was made from.
        final = (lambda: None) if runner else functools.partial(self._runner.close, client.aclose)
        self._finalizer = weakref.finalize(self, final)

    def _wrap(self: C, client: Clerk) -> C:
        """``client`` (a copy of this one's async client) on this client's loop."""
        clone = object.__new__(type(self))
        SyncClient.__init__(clone, client, self._runner)
        return clone

    def _close(self) -> None:
        self._runner.close(self._async.aclose)

    def __repr__(self) -> str:
        inner = getattr(self, "_async", None)  # None while __init__ has not finished
        return (
            f"<Sync{type(self).__name__} (not initialised)>"
            if inner is None
            else "Sync" + repr(inner)
        )

    @property
    def async_client(self) -> Clerk:
        """The async client this one drives."""
        return self._async

    @property
    def runner(self) -> PortalRunner:
        """The event loop thread of this client."""
        return self._runner


class SyncPage(Generic[T]):
    """One page of a list, fetched through the portal: ``data``, ``total_count``."""

    __slots__ = ("_page", "_runner")

    def __init__(self, runner: PortalRunner, page: Page[T]) -> None:
        self._runner = runner
        self._page = page

    @property
    def data(self) -> list[T]:
        """The items of this page."""
        return self._page.data

    @property
    def total_count(self) -> int | None:
        """How many items the whole list holds, when the API says."""
        return self._page.total_count

    @property
    def offset(self) -> int:
        """How many items of the list come before this page."""
        return self._page.offset

    def __len__(self) -> int:
        return len(self._page.data)

    def __iter__(self) -> Iterator[T]:
        return iter(self._page.data)

    def __repr__(self) -> str:
        return repr(self._page)

    def has_next_page(self) -> bool:
        """Whether another request could return more items."""
        return self._page.has_next_page()

    def next_page(self) -> SyncPage[T] | None:
        """Fetch the next page, or return ``None`` at the end."""
        page = self._runner.run(self._page.next_page)
        return None if page is None else SyncPage(self._runner, page)


class SyncPaginator(Generic[T]):
    """A lazy list request for sync code: iterate it for every item, or call
    :meth:`first_page` for one page. Pages (not items) cross the thread boundary.

    Example::

        for user in clerk.users.list():
            print(user.id)
    """

    __slots__ = ("_paginator", "_runner")

    def __init__(self, runner: PortalRunner, paginator: AsyncPaginator[T]) -> None:
        self._runner = runner
        self._paginator = paginator

    def __repr__(self) -> str:
        return f"Sync{self._paginator!r}"

    def first_page(self) -> SyncPage[T]:
        """Fetch one page (what awaiting the async paginator gives)."""
        return SyncPage(self._runner, self._runner.run(_await, self._paginator))

    def pages(self) -> Iterator[SyncPage[T]]:
        """Iterate page by page, the next page fetched while this one is worked through
        (one page ahead: a walk stopped early has sent at most one request too many, its
        answer dropped)."""
        runner = self._runner
        pages = self._paginator.pages()
        ahead = runner.submit(pages.__anext__)
        try:
            while True:
                try:
                    page = runner.wait(ahead)
                except StopAsyncIteration:
                    return
                # On the loop thread while the caller works: the wait for the next answer
                # and its decoding overlap the caller's work and the handoff between threads.
                ahead = runner.submit(pages.__anext__)
                yield SyncPage(runner, page)
        finally:
            # Stopped early (break, error): the page ahead is not wanted. Once waited for
            # (the end, or an error raised here), there is nothing left to discard.
            runner.discard(ahead)
            aclose = getattr(pages, "aclose", None)
            if aclose is not None:
                runner.run(aclose)

    def __iter__(self) -> Iterator[T]:
        # Pages stop at max_items already (see AsyncPaginator._is_last).
        for page in self.pages():
            yield from page.data


async def _await(paginator: AsyncPaginator[T]) -> Page[T]:
    return await paginator
