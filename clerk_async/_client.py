"""The async client: one :class:`~clerk_async._http.Requester` and the lazy resource namespaces."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING

import attrs

from . import _config
from ._config import DEFAULT_API_URL
from ._http import DEFAULT_MAX_RESPONSE_BYTES, ClientOptions, Requester, Secret
from ._ratelimit import RateLimit, RateLimitStats
from ._retry import Retries
from ._types import UNSET, Unset
from .resources._namespaces import ResourceNamespaces

if TYPE_CHECKING:
    import aiohttp

__all__ = ["DEFAULT_API_URL", "DEFAULT_API_VERSION", "Clerk"]

DEFAULT_API_VERSION = "2026-05-12"
DEFAULT_TIMEOUT = 30.0


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
        max_response_bytes: the largest answer body read, counted after decompression
            (32 MiB by default, ``None`` for no limit); a larger successful answer raises
            :class:`~clerk_async.errors.ResponseTooLargeError` without being read whole.
        rate_limit: a :class:`~clerk_async.RateLimit` to pace requests within a budget
            (in this process, or shared through Redis). Without one, a 429 still pauses
            every request of the client to the refused bucket until ``Retry-After``
            and paces it afterwards at a rate learned from the answers.

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
        rate_limit: RateLimit | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        # Held where no repr shows it, and the argument dropped: a traceback with its
        # frames' locals captured (Sentry, ``capture_locals=True``) must not show the key.
        key = Secret.of(_config.secret_key(secret_key))
        del secret_key
        options = ClientOptions(
            api_url=_config.api_url(api_url),
            api_version=api_version,
            timeout=timeout,
            retries=Retries.coerce(retries),
            user_agent=user_agent,
            default_headers=dict(default_headers or {}),
            rate_limit=rate_limit,
            max_response_bytes=max_response_bytes,
        )
        super().__init__(
            Requester.create(options, key, session=session, max_connections=max_connections)
        )

    @property
    def options(self) -> ClientOptions:
        """This client's options (frozen; :meth:`with_options` makes a copy with others)."""
        return self._http.options

    @property
    def api_url(self) -> str:
        """The API origin; requests go to ``{api_url}/v1/…``."""
        return self._http.options.api_url

    @property
    def api_version(self) -> str:
        """The ``Clerk-API-Version`` this client sends."""
        return self._http.options.api_version

    @property
    def timeout(self) -> float | None:
        """Seconds for one attempt."""
        return self._http.options.timeout

    @property
    def retries(self) -> Retries:
        """The retry policy."""
        return self._http.options.retries

    @property
    def rate_limit_stats(self) -> RateLimitStats:
        """What the rate limiting did so far, for this client and its
        :meth:`with_options` copies: attempts sent, 429s received, seconds waited."""
        return self._http.rate_limit_stats

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
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._http.closed

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
        changes: dict[str, object] = {}
        if not isinstance(timeout, Unset):
            changes["timeout"] = timeout
        if not isinstance(api_version, Unset):
            changes["api_version"] = api_version
        if not isinstance(retries, Unset):
            policy = Retries.coerce(retries)  # validates a number too
            if isinstance(retries, int):
                # A bare number changes how many retries, keeping the backoff and deadline.
                policy = attrs.evolve(self.retries, max_retries=policy.max_retries)
            changes["retries"] = policy
        clone = object.__new__(type(self))
        ResourceNamespaces.__init__(clone, self._http.with_options(**changes))
        return clone

    def __repr__(self) -> str:
        http = getattr(self, "_http", None)  # None while __init__ has not finished
        if http is None:
            return f"<{type(self).__name__} (not initialised)>"
        key = "set" if http.has_secret_key else "missing"
        return (
            f"Clerk(api_url={self.api_url!r}, api_version={self.api_version!r}, "
            f"timeout={self.timeout!r}, retries={self.retries.max_retries}, secret_key=<{key}>)"
        )
