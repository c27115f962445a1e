"""The async client: configuration, headers, the retry loop and decoding."""

from __future__ import annotations

import asyncio
import enum
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import attrs

from ._convert import structure, unstructure
from ._pagination import AsyncPaginator
from ._retry import Retries, parse_retry_after
from ._transport import AIOHTTP_VERSION, CONTENT_TYPE, RawResponse, Transport
from ._types import UNSET, Unset
from ._version import __version__
from .errors import (
    ClerkAPIError,
    ClerkConnectionError,
    ClerkDecodeError,
    ClerkTimeoutError,
    ConfigurationError,
    ErrorDetail,
    error_class_for_status,
)
from .resources._namespaces import ResourceNamespaces

if TYPE_CHECKING:
    import aiohttp

__all__ = ["DEFAULT_API_URL", "DEFAULT_API_VERSION", "Clerk"]

T = TypeVar("T")

DEFAULT_API_URL = "https://api.clerk.com"
DEFAULT_API_VERSION = "2026-05-12"
DEFAULT_TIMEOUT = 30.0
_EXCERPT = 200
_NONE_TYPE = type(None)

USER_AGENT = (
    f"clerk-async/{__version__} "
    f"python/{sys.version_info.major}.{sys.version_info.minor} aiohttp/{AIOHTTP_VERSION}"
)


class _Secret:
    """Holds the secret key so that no repr, vars() dump or traceback shows it."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret>"


class _Headers(dict[str, str]):
    """The request headers of a client; its repr hides the ``Authorization`` value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr({k: ("<secret>" if k == "Authorization" else v) for k, v in self.items()})


class _Shared:
    """What a client and all its ``with_options`` copies share."""

    __slots__ = ("secret", "transport")

    def __init__(self, secret: _Secret | None, transport: Transport) -> None:
        self.secret = secret
        self.transport = transport


def _query_value(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, enum.Enum):
        value = value.value
    return quote(str(value), safe="")


def encode_query(query: Mapping[str, object]) -> str:
    """Encode query parameters the way Clerk reads them.

    Lists become repeated keys, booleans ``true``/``false``; ``0`` and ``False``
    are sent; only ``UNSET`` (and ``None``, which a query string cannot carry)
    is left out.
    """
    parts: list[str] = []
    for key, value in query.items():
        if value is UNSET or value is None:
            continue
        name = quote(key, safe="")
        if isinstance(value, (list, tuple, set, frozenset)):
            parts.extend(f"{name}={_query_value(v)}" for v in value if v is not None)
        else:
            parts.append(f"{name}={_query_value(value)}")
    return "&".join(parts)


class Clerk(ResourceNamespaces):
    """The asynchronous Clerk Backend API client.

    Args:
        secret_key: your instance's secret key (``sk_live_…``/``sk_test_…``); defaults to
            the ``CLERK_SECRET_KEY`` environment variable. A missing key is reported
            at the first request, not here.
        api_url: the API origin; defaults to ``CLERK_API_URL`` or ``https://api.clerk.com``.
            Requests go to ``{api_url}/v1/…``.
        api_version: sent as ``Clerk-API-Version`` unless your own headers set it.
        timeout: seconds for one attempt (connect, send and read), ``None`` for none.
        retries: a :class:`~clerk_async.Retries` policy or a number of retries.
        session: an ``aiohttp.ClientSession`` to use; it stays yours and is never closed here.
        user_agent: text appended to our ``User-Agent``.
        default_headers: extra headers for every request.
        max_connections: size of the connection pool of the session we create.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with Clerk() as clerk:
            user = await clerk.users.get("user_123")
            async for user in clerk.users.list():
                ...
    """

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        api_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: Retries | int | None = 3,
        session: aiohttp.ClientSession | None = None,
        user_agent: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_connections: int = 100,
    ) -> None:
        key = secret_key if secret_key is not None else os.environ.get("CLERK_SECRET_KEY")
        secret = _Secret(key.strip()) if key and key.strip() else None
        self._shared = _Shared(secret, Transport(session=session, connection_limit=max_connections))
        url = api_url or os.environ.get("CLERK_API_URL") or DEFAULT_API_URL
        self._configure(
            api_url=url,
            api_version=api_version,
            timeout=timeout,
            retries=Retries.coerce(retries),
            user_agent=user_agent,
            default_headers=dict(default_headers or {}),
        )

    def _configure(
        self,
        *,
        api_url: str,
        api_version: str,
        timeout: float | None,
        retries: Retries,
        user_agent: str | None,
        default_headers: dict[str, str],
    ) -> None:
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds or None")
        api_url = api_url.rstrip("/")
        self.api_url = api_url[: -len("/v1")] if api_url.endswith("/v1") else api_url
        self.api_version = api_version
        self.timeout = timeout
        self.retries = retries
        # The first attempt of a request has the whole retry deadline ahead of it.
        limits = [t for t in (timeout, retries.deadline) if t is not None]
        self._first_timeout = min(limits) if limits else None
        self._user_agent = user_agent
        self._default_headers = default_headers
        self._base = self.api_url + "/v1"
        self._headers: _Headers | None = None

    def _build_headers(self) -> _Headers:
        secret = self._shared.secret
        if secret is None:
            raise ConfigurationError(
                "no Clerk secret key: pass Clerk(secret_key=...) or set CLERK_SECRET_KEY"
            )
        agent = USER_AGENT if not self._user_agent else f"{USER_AGENT} {self._user_agent}"
        headers = {"Accept": "application/json", "User-Agent": agent}
        user_set = {k.lower() for k in self._default_headers}
        session_headers = self._shared.transport.session_header_names()
        if "clerk-api-version" not in user_set and "clerk-api-version" not in session_headers:
            headers["Clerk-API-Version"] = self.api_version
        headers.update(self._default_headers)
        headers["Authorization"] = f"Bearer {secret.value}"
        return _Headers(headers)

    # -- lifecycle --------------------------------------------------------------

    async def __aenter__(self) -> Clerk:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (when we created it). Copies made by
        :meth:`with_options` share it and are closed too."""
        await self._shared.transport.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._shared.transport.closed

    def with_options(
        self,
        *,
        timeout: float | Unset | None = UNSET,
        retries: Retries | int | Unset | None = UNSET,
        api_version: str | Unset = UNSET,
    ) -> Clerk:
        """A copy with other options that shares this client's session and key.

        It is cheap (no new connection pool), so use it per call::

            await clerk.with_options(timeout=5, retries=0).users.get(user_id)

        A number for ``retries`` keeps this client's backoff and deadline and changes
        only how many retries; a :class:`~clerk_async.Retries` replaces the policy.
        """
        clone = object.__new__(type(self))
        clone._shared = self._shared
        clone._configure(
            api_url=self.api_url,
            api_version=self.api_version if isinstance(api_version, Unset) else api_version,
            timeout=self.timeout if isinstance(timeout, Unset) else timeout,
            retries=self._derive_retries(retries),
            user_agent=self._user_agent,
            default_headers=self._default_headers,
        )
        return clone

    def _derive_retries(self, retries: Retries | int | Unset | None) -> Retries:
        # A bare number changes how many retries, keeping this client's backoff and deadline.
        if isinstance(retries, Unset):
            return self.retries
        policy = Retries.coerce(retries)  # validates a number too
        if isinstance(retries, int):
            return attrs.evolve(self.retries, max_retries=policy.max_retries)
        return policy

    def __repr__(self) -> str:
        key = "set" if self._shared.secret is not None else "missing"
        return (
            f"Clerk(api_url={self.api_url!r}, api_version={self.api_version!r}, "
            f"timeout={self.timeout!r}, retries={self.retries.max_retries}, secret_key=<{key}>)"
        )

    # -- requests ---------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, object] | None = None,
        body: object = None,
        files: Mapping[str, object] | None = None,
        cast_to: type[T],
    ) -> T:
        """Send one API request (with retries) and decode the answer into ``cast_to``."""
        headers = self._headers
        if headers is None:
            headers = self._headers = self._build_headers()
            self._shared.transport.offer_default_headers(headers)
        url = self._base + path
        if query:
            encoded = encode_query(query)
            if encoded:
                url = f"{url}?{encoded}"
        make_data: Callable[[], Any]
        if files is not None:
            make_data = _form_factory(files)
        elif body is not None:
            payload = json.dumps(unstructure(body), separators=(",", ":")).encode()
            headers = _Headers({**headers, "Content-Type": "application/json"})
            make_data = lambda: payload  # noqa: E731
        else:
            make_data = _no_data
        response = await self._send(method, url, headers, make_data)
        return self._decode(method, url, response, cast_to)

    async def _send(
        self, method: str, url: str, headers: Mapping[str, str], make_data: Callable[[], Any]
    ) -> RawResponse:
        policy = self.retries
        transport = self._shared.transport
        started = time.monotonic()
        timeout = self._first_timeout
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1 and policy.deadline is not None:
                remaining = started + policy.deadline - time.monotonic()
                if remaining <= 0:
                    raise ClerkTimeoutError(
                        f"{method} {_strip_query(url)}: retry deadline of {policy.deadline}s ran out",
                        attempts=attempt - 1,
                    )
                timeout = remaining if self.timeout is None else min(self.timeout, remaining)
            try:
                response = await transport.send(method, url, headers, make_data(), timeout)
            except ClerkConnectionError as exc:
                exc.attempts = attempt
                if attempt > policy.max_retries or not policy.retry_connection_error(
                    method, request_sent=exc.request_sent
                ):
                    raise
                delay = policy.backoff(attempt, None)
                if _past_deadline(policy, started, time.monotonic() + delay):
                    raise
                await asyncio.sleep(delay)
                continue
            if response.status < 400:
                return response
            error = _api_error(method, url, response, attempt)
            if attempt > policy.max_retries or not policy.retry_status(method, response.status):
                raise error
            if error.retry_after is not None and error.retry_after > policy.retry_after_max:
                raise error  # the server asked for a longer pause than we are allowed to wait
            delay = policy.backoff(attempt, error.retry_after)
            if _past_deadline(policy, started, time.monotonic() + delay):
                raise error
            await asyncio.sleep(delay)

    def _decode(self, method: str, url: str, response: RawResponse, cast_to: type[T]) -> T:
        if cast_to is _NONE_TYPE:
            return None  # type: ignore[return-value]
        body = response.body
        if response.status != 204 and body:
            try:
                data = _parse_json(body, response.headers.get(CONTENT_TYPE))
            except ValueError:
                excerpt = body[:_EXCERPT].decode("utf-8", "replace")
                raise ClerkDecodeError(
                    f"{method} {_strip_query(url)}: HTTP {response.status} answer is not JSON: "
                    f"{excerpt!r}"
                ) from None
            if data is not None:
                return self._structure(data, cast_to)
        if response.status != 204 and attrs.has(cast_to):
            # Said plainly rather than handing back None typed as a model.
            raise ClerkDecodeError(
                f"{method} {_strip_query(url)}: HTTP {response.status} answer is empty where "
                f"a {cast_to.__name__} was expected"
            )
        return None  # type: ignore[return-value]

    def _structure(self, data: object, cast_to: type[T]) -> T:
        try:
            return structure(data, cast_to)
        except Exception as exc:
            raise ClerkDecodeError(
                f"could not decode the answer as {getattr(cast_to, '__name__', cast_to)}: {exc}"
            ) from exc

    def _paginate(
        self,
        path: str,
        *,
        query: Mapping[str, object] | None,
        item_type: type[T],
        envelope: bool | str,
        cursor: bool = False,
        max_items: int | None = None,
        concurrency: int = 1,
        max_limit: int = 500,
    ) -> AsyncPaginator[T]:
        """A lazy paginated ``GET`` (see :class:`~clerk_async.AsyncPaginator`)."""
        return AsyncPaginator(
            self,
            path,
            query=query,
            item_type=item_type,
            envelope=envelope,
            cursor=cursor,
            max_items=max_items,
            concurrency=concurrency,
            max_limit=max_limit,
        )


def _no_data() -> None:
    return None


def _form_factory(files: Mapping[str, object]) -> Callable[[], Any]:
    from ._transport import build_form

    # A form can be sent once only, so every attempt gets a fresh one.
    return lambda: build_form(files)


def _past_deadline(policy: Retries, started: float, when: float) -> bool:
    return policy.deadline is not None and when >= started + policy.deadline


_UTF_CHARSETS = frozenset({"", "utf-8", "utf8", "utf-16", "utf-32"})
# Content types whose body is UTF-8 JSON for sure: the one-step decoding below applies.
_UTF8_JSON = frozenset(
    [None, "application/json"]
    + [
        f"application/json;{space}charset={utf8}"
        for space in ("", " ")
        for utf8 in ("utf-8", "UTF-8")
    ]
)
_JSON_DECODER = json.JSONDecoder()
_JSON_SPACE = " \t\n\r"


def _parse_json(body: bytes, content_type: str | None) -> Any:
    """The JSON value of a response body; :class:`ValueError` if it is not JSON.

    Clerk answers UTF-8 JSON without a byte order mark, which is decoded and then
    scanned directly. ``json.loads`` would first sniff the encoding and match leading
    whitespace with a regular expression: small steps, but they show on every call.
    Anything else (a BOM, UTF-16, another charset) goes through ``json.loads``.
    """
    if content_type in _UTF8_JSON:
        try:
            text = body.decode()
            value, end = _JSON_DECODER.raw_decode(text)
        except ValueError:
            pass  # leading whitespace, a BOM, UTF-16...: json.loads below knows them all
        else:
            if end == len(text) or not text[end:].strip(_JSON_SPACE):
                return value
    return json.loads(_text(body, content_type))


def _text(body: bytes, content_type: str | None) -> bytes | str:
    """The body as ``json.loads`` wants it: bytes for UTF encodings (detected by
    ``json`` itself), text decoded with the declared charset otherwise."""
    if not content_type or "charset" not in content_type:
        return body
    charset = content_type.split("charset=", 1)[-1].split(";", 1)[0].strip().strip('"').lower()
    if charset in _UTF_CHARSETS:
        return body
    try:
        return body.decode(charset)
    except LookupError:  # a charset Python does not know: try the JSON default
        return body


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def _api_error(method: str, url: str, response: RawResponse, attempts: int) -> ClerkAPIError:
    headers = response.headers
    details: list[ErrorDetail] = []
    trace_id: str | None = None
    excerpt: str | None = None
    try:
        payload = json.loads(response.body) if response.body else None
    except ValueError:
        payload = None
    if isinstance(payload, Mapping) and isinstance(payload.get("errors"), list):
        details = [ErrorDetail.from_json(e) for e in payload["errors"]]
        raw_trace = payload.get("clerk_trace_id")
        trace_id = str(raw_trace) if raw_trace else None
    elif response.body:
        excerpt = response.body[:_EXCERPT].decode("utf-8", "replace").strip()
    cls = error_class_for_status(response.status)
    return cls(
        response.status,
        errors=details,
        clerk_trace_id=trace_id or headers.get("cf-ray"),
        retry_after=parse_retry_after(headers.get("Retry-After")),
        headers=headers,
        method=method,
        url=_strip_query(url),
        body_excerpt=excerpt,
        attempts=attempts,
    )
