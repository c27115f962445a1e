"""The HTTP seam: the only module that talks to aiohttp for client requests.

It owns the ``aiohttp.ClientSession`` (created lazily inside the running loop,
or supplied by the user and then never closed by us) and turns aiohttp's
exceptions into :class:`~clerk_async.errors.ClerkConnectionError` and
:class:`~clerk_async.errors.ClerkTimeoutError`, recording whether the request
may have reached the server (which decides whether a POST can be retried).
``asyncio.CancelledError`` is never caught.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from ._types import Unset
from .errors import (
    ClerkConnectionError,
    ClerkTimeoutError,
    ConfigurationError,
    ResponseTooLargeError,
)

__all__ = ["AIOHTTP_VERSION", "CONTENT_TYPE", "RawResponse", "Transport"]

AIOHTTP_VERSION = aiohttp.__version__
CONTENT_TYPE = aiohttp.hdrs.CONTENT_TYPE  # case-insensitive already: the quickest lookup

# Failures raised before a single byte of the request left this machine.
_NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError,)
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    t for t in (getattr(aiohttp, "ConnectionTimeoutError", None),) if t is not None
)


class RawResponse:
    """Status, headers and body of one HTTP exchange (``truncated``: the body of an
    error answer was cut at the size limit)."""

    __slots__ = ("body", "headers", "status", "truncated")

    def __init__(
        self,
        status: int,
        headers: CIMultiDictProxy[str] | Mapping[str, str],
        body: bytes,
        truncated: bool = False,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.truncated = truncated

    def __repr__(self) -> str:
        return f"RawResponse(status={self.status}, body={len(self.body)} bytes)"


class Transport:
    """Sends requests over one pooled, keep-alive ``aiohttp.ClientSession``."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        connection_limit: int = 100,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._connection_limit = connection_limit
        self._closed = False
        #: The headers a request sends when it passes none of its own. The session we
        #: create sends them by default, which saves aiohttp merging them per request.
        self.default_headers = default_headers

    @property
    def closed(self) -> bool:
        return self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or (self._owns_session and session.closed):
            if self._closed:
                raise ConfigurationError("this Clerk client is closed; create a new one")
            # Created here, inside the running loop, so it binds to the right loop.
            connector = aiohttp.TCPConnector(
                limit=self._connection_limit, keepalive_timeout=30, ttl_dns_cache=300
            )
            session = aiohttp.ClientSession(
                connector=connector,
                headers=self.default_headers,
                auto_decompress=True,
                raise_for_status=False,
            )
            # aiohttp resends an idempotent request once, unseen, when a reused
            # keep-alive connection turns out closed; our retry loop already does that
            # and counts it, so a GET with max_retries=3 reaches the server 4 times, not 8.
            # (A private attribute, hence the guard; a user's own session keeps its habit.)
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            self._session = session
        else:
            running = asyncio.get_running_loop()
            # aiohttp keeps the session's loop as ``_loop`` (nothing to compare without it).
            if getattr(session, "_loop", running) is not running:
                # aiohttp would fail later with "Event loop is closed" or a hang; say why now.
                whose = "this client's session" if self._owns_session else "the session you passed"
                raise ConfigurationError(
                    f"{whose} belongs to another event loop: create the Clerk client (and any "
                    "aiohttp session given to it) inside the loop that uses it, e.g. one client "
                    "per asyncio.run()"
                )
        return session

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        data: bytes | aiohttp.FormData | None,
        timeout: float | None,
        max_bytes: int | None = None,
    ) -> RawResponse:
        """Send one request (``headers=None``: :attr:`default_headers`); raise our
        connection errors instead of aiohttp's.

        At most ``max_bytes`` of body are read, counted after decompression: a larger
        successful answer raises :class:`~clerk_async.errors.ResponseTooLargeError`
        (the connection is dropped, nothing more is inflated); a larger error answer
        comes back cut at the limit, ``truncated``, so its status still decides.
        """
        session = self._get_session()
        if headers is None and not self._owns_session:
            headers = self.default_headers  # a user's session does not send ours
        try:
            resp = await session.request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=data,
                timeout=_client_timeout(timeout),
                allow_redirects=False,
            )
            try:
                length = resp.content_length
                if max_bytes is None or (
                    length is not None
                    and length <= max_bytes
                    and aiohttp.hdrs.CONTENT_ENCODING not in resp.headers
                ):
                    # The common case: a declared, plain length within the limit
                    # (aiohttp reads no more than it declares).
                    body, over = await resp.read(), False
                else:
                    body, over = await _read_bounded(resp, max_bytes)
            except BaseException:
                resp.close()  # a half-read answer: the connection cannot be reused
                raise
            if over:
                resp.close()  # the rest is never read
                return _too_large(method, url, resp, body, max_bytes)
            resp.release()
            return RawResponse(resp.status, resp.headers, body)
        # Our errors keep aiohttp's as their cause, but without its traceback: the frames
        # inside aiohttp hold the request headers (the secret key) as locals, which
        # tools that capture locals (Sentry, ``capture_locals=True``) would show.
        except _CONNECT_TIMEOUT as exc:
            raise _timeout(method, url, exc, request_sent=False) from _detached(exc)
        except asyncio.TimeoutError as exc:
            raise _timeout(method, url, exc, request_sent=True) from _detached(exc)
        except _NOT_SENT_ERRORS as exc:
            raise _connection(method, url, exc, request_sent=False) from _detached(exc)
        except (aiohttp.ClientError, OSError) as exc:
            raise _connection(method, url, exc, request_sent=True) from _detached(exc)

    async def aclose(self) -> None:
        """Close the session if we created it; a user's session is left open."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()


def build_form(files: Mapping[str, object]) -> aiohttp.FormData:
    """A multipart form from ``name -> bytes | file | (filename, bytes, type) | str``."""
    form = aiohttp.FormData()
    for name, value in files.items():
        if isinstance(value, tuple):
            filename, content, *rest = value
            form.add_field(
                name, content, filename=str(filename), content_type=rest[0] if rest else None
            )
        elif isinstance(value, (bytes, bytearray)) or hasattr(value, "read"):
            form.add_field(name, value, filename=name)
        elif isinstance(value, bool):
            form.add_field(name, "true" if value else "false")
        elif value is not None and not isinstance(value, Unset):
            form.add_field(name, str(value))
    return form


async def _read_bounded(resp: aiohttp.ClientResponse, max_bytes: int) -> tuple[bytes, bool]:
    """(body, whether it went over): reading stops as soon as more than ``max_bytes``
    arrived, counted decompressed (aiohttp inflates chunk by chunk as we read, so a
    bomb stops near the limit); the body is then cut at the limit."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await resp.content.readany()
        if not chunk:
            return b"".join(chunks), False
        total += len(chunk)
        chunks.append(chunk)
        if total > max_bytes:
            return b"".join(chunks)[:max_bytes], True


def _too_large(
    method: str, url: str, resp: aiohttp.ClientResponse, head: bytes, max_bytes: int | None
) -> RawResponse:
    if resp.status >= 400:
        return RawResponse(resp.status, resp.headers, head, truncated=True)
    raise ResponseTooLargeError(
        f"{method} {url.split('?', 1)[0]}: HTTP {resp.status} answer is larger than "
        f"max_response_bytes={max_bytes}; it was not read further (raise the limit with "
        "Clerk(max_response_bytes=...) if such answers are expected)",
        limit=max_bytes or 0,
    )


def _detached(exc: BaseException) -> BaseException:
    """``exc`` and the exceptions chained to it, without their tracebacks."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        todo += [current.__cause__, current.__context__]
    return exc


@functools.lru_cache(maxsize=64)
def _client_timeout(total: float | None) -> aiohttp.ClientTimeout:
    # Most calls use the client's own timeout: build its ClientTimeout once.
    return aiohttp.ClientTimeout(total=total)


def _connection(
    method: str, url: str, exc: BaseException, *, request_sent: bool
) -> ClerkConnectionError:
    return ClerkConnectionError(
        f"{method} {url.split('?', 1)[0]}: could not reach Clerk ({type(exc).__name__}: {exc})",
        request_sent=request_sent,
    )


def _timeout(method: str, url: str, exc: BaseException, *, request_sent: bool) -> ClerkTimeoutError:
    phase = "waiting for the answer" if request_sent else "connecting"
    return ClerkTimeoutError(
        f"{method} {url.split('?', 1)[0]}: timed out while {phase}", request_sent=request_sent
    )
