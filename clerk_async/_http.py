"""The requester: the one way down for every API request.

Resources, the paginator (:class:`~clerk_async.AsyncPaginator`, which a list method
builds around the requester) and the auth helpers send through a :class:`Requester`;
:class:`~clerk_async.Clerk` composes one from its options. Below it, in order:
the retry loop (policy in :mod:`._retry`), which asks the rate governor
(:mod:`._ratelimit`, one per client, shared by its copies) before every attempt,
the transport (:mod:`._transport`, the only module that talks to aiohttp) and
decoding (:mod:`._convert`). Nothing below
calls back up, and nothing outside this module touches a client's private
attributes: code that holds a :class:`~clerk_async.Clerk` reaches its requester
through :func:`requester_of`.

The secret key lives in a :class:`Secret` (its repr hides it) and goes into the
request headers built here; the transport receives those headers once, when the
requester is created, and is never asked to give anything back.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, get_args, get_origin

import attrs
from multidict import CIMultiDict

from ._config import api_origin, instance_key
from ._convert import model_from_json, parse_json, structure, unstructure
from ._ratelimit import Governor, RateLimit, RateLimitStats, Route, Ticket
from ._retry import Retries
from ._transport import AIOHTTP_VERSION, CONTENT_TYPE, RawResponse, Transport
from ._urls import encode_query
from ._version import __version__
from .errors import (
    ClerkAPIError,
    ClerkConnectionError,
    ClerkDecodeError,
    ClerkTimeoutError,
    ConfigurationError,
)

if TYPE_CHECKING:
    import aiohttp

    from ._client import Clerk

__all__ = ["USER_AGENT", "ClientOptions", "Requester", "Secret", "requester_of"]

T = TypeVar("T")

_NONE_TYPE = type(None)
_EXCERPT = 200
#: The default ``max_response_bytes``: far above any answer Clerk gives (a page of 500
#: users with full metadata is a few MB), far below what would hurt a process.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_REDACTED = "<secret>"
# Attempts of one request refused for the same reason as others (so not counted as
# retries) are bounded by the deadline, and by this when there is none.
_MAX_ATTEMPTS = 50

USER_AGENT = (
    f"clerk-async/{__version__} "
    f"python/{sys.version_info.major}.{sys.version_info.minor} aiohttp/{AIOHTTP_VERSION}"
)


def _check_timeout(_: object, __: object, value: float | None) -> None:
    if value is not None and value <= 0:
        raise ValueError("timeout must be a positive number of seconds or None")


def _check_max_bytes(_: object, __: object, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ValueError("max_response_bytes must be a positive number of bytes or None")


def _frozen_headers(headers: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(headers or {}))


@attrs.frozen
class ClientOptions:
    """What a client sends with and how: one frozen object, copied by ``with_options``.

    Attributes:
        api_url: the API origin, without ``/v1`` (requests go to ``{api_url}/v1/…``).
        api_version: sent as ``Clerk-API-Version`` unless the user's headers set it.
        timeout: seconds for one attempt, ``None`` for none.
        retries: the retry policy.
        user_agent: text appended to our ``User-Agent``.
        default_headers: extra headers for every request.
        rate_limit: the :class:`~clerk_async.RateLimit` budget paced within, or ``None``
            (then only the coordinated backoff after a 429).
        max_response_bytes: the largest answer body read (decompressed), ``None`` for
            no limit.
    """

    api_url: str = attrs.field(converter=api_origin)
    api_version: str
    timeout: float | None = attrs.field(validator=_check_timeout)
    retries: Retries
    user_agent: str | None = None
    default_headers: Mapping[str, str] = attrs.field(
        factory=dict, converter=_frozen_headers, hash=False
    )
    rate_limit: RateLimit | None = None
    max_response_bytes: int | None = attrs.field(
        default=DEFAULT_MAX_RESPONSE_BYTES, validator=_check_max_bytes
    )


class Secret:
    """Holds the secret key so that no repr, vars() dump or traceback shows it."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    @classmethod
    def of(cls, value: str | Secret | None) -> Secret | None:
        """``value`` held, stripped; ``None`` for no key or a blank one."""
        if isinstance(value, Secret) or value is None:
            return value
        value = value.strip()
        return cls(value) if value else None

    def __repr__(self) -> str:
        return "<secret>"


class _Headers(dict[str, str]):
    """Request headers; the repr hides the ``Authorization`` value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr({k: ("<secret>" if k == "Authorization" else v) for k, v in self.items()})


def _build_headers(
    options: ClientOptions, secret: Secret | None, preset: frozenset[str]
) -> _Headers | None:
    """Every request's headers, or ``None`` without a secret key. ``preset`` names
    (lower-cased) the headers a user's own session already sends."""
    if secret is None:
        return None
    agent = USER_AGENT if not options.user_agent else f"{USER_AGENT} {options.user_agent}"
    headers = {"Accept": "application/json", "User-Agent": agent}
    user_set = preset | {k.lower() for k in options.default_headers}
    if "clerk-api-version" not in user_set:
        headers["Clerk-API-Version"] = options.api_version
    headers.update(options.default_headers)
    headers["Authorization"] = f"Bearer {secret.value}"
    return _Headers(headers)


class Requester:
    """Sends API requests with retries and decodes the answers.

    One requester per client; ``with_options`` copies share the secret and the
    transport (so the connection pool). Create the first with :meth:`create`.
    """

    __slots__ = (
        "_base",
        "_first_timeout",
        "_governor",
        "_headers",
        "_preset",
        "_secret",
        "_transport",
        "options",
    )

    def __init__(
        self,
        options: ClientOptions,
        secret: Secret | None,
        transport: Transport,
        preset: frozenset[str],
        headers: _Headers | None,
        governor: Governor,
    ) -> None:
        self.options = options
        self._governor = governor
        self._secret = secret
        self._transport = transport
        self._preset = preset
        self._headers = headers
        self._base = options.api_url + "/v1"
        # The first attempt of a request has the whole retry deadline ahead of it.
        limits = [t for t in (options.timeout, options.retries.deadline) if t is not None]
        self._first_timeout = min(limits) if limits else None

    @classmethod
    def create(
        cls,
        options: ClientOptions,
        secret_key: str | Secret | None,
        *,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
    ) -> Requester:
        """The requester of a new client (a new transport, or the user's ``session``)."""
        secret = Secret.of(secret_key)
        del secret_key
        # Headers the user's session sends by default (its Clerk-API-Version wins).
        preset = (
            frozenset(k.lower() for k in session.headers) if session is not None else frozenset()
        )
        headers = _build_headers(options, secret, preset)
        transport = Transport(
            session=session, connection_limit=max_connections, default_headers=headers
        )
        # One governor per client: its with_options copies pause and pace together.
        governor = Governor(options.rate_limit, secret.value if secret else None)
        return cls(options, secret, transport, preset, headers, governor)

    def with_options(self, **changes: Any) -> Requester:
        """A requester with some options changed, sharing the secret and the transport."""
        options = attrs.evolve(self.options, **changes)
        headers = self._headers
        if options.api_version != self.options.api_version:
            headers = _build_headers(options, self._secret, self._preset)
        return Requester(
            options, self._secret, self._transport, self._preset, headers, self._governor
        )

    @property
    def instance_key(self) -> tuple[str, str]:
        """(API URL, SHA-256 of the secret key): names the Clerk instance, for caches."""
        if self._secret is None:
            return self.options.api_url, f"id:{id(self._transport)}"
        return instance_key(self.options.api_url, self._secret.value)

    @property
    def has_secret_key(self) -> bool:
        """Whether a secret key was given (or found in the environment)."""
        return self._secret is not None

    @property
    def rate_limit_stats(self) -> RateLimitStats:
        """Counters of the rate limiting: attempts sent, 429s received, time waited."""
        return self._governor.stats()

    @property
    def closed(self) -> bool:
        """Whether the transport was closed."""
        return self._transport.closed

    async def aclose(self) -> None:
        """Close the transport (and our session; a user's session stays open)."""
        await self._governor.aclose()
        await self._transport.aclose()

    def __repr__(self) -> str:
        return f"<Requester {self.options.api_url}>"

    # -- requests ---------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, object] | None = None,
        body: object = None,
        files: Mapping[str, object] | None = None,
        cast_to: type[T],
    ) -> Coroutine[Any, Any, T]:
        """Send one API request (with retries) and decode the answer into ``cast_to``:
        ``await requester.request(...)``.

        ``path`` starts after ``/v1`` and is already encoded (path parameters through
        :func:`~clerk_async._urls.encode_segment`); ``query`` is encoded here; ``body``
        goes as JSON (models and ``UNSET`` handled), ``files`` as a multipart form.

        A plain function returning the coroutine of the exchange (:meth:`_send`), not a
        coroutine function of its own: the request is checked and encoded when called
        (a missing key or a body that cannot be sent raises then), and the coroutine
        every call awaits is one frame shallower, which each resume of it passes through.
        """
        headers = self._headers
        if headers is None:
            raise ConfigurationError(
                "no Clerk secret key: pass Clerk(secret_key=...) or set CLERK_SECRET_KEY"
            )
        url = self._base + path
        if query:
            encoded = encode_query(query)
            if encoded:
                url = f"{url}?{encoded}"
        make_data: Callable[[], Any]
        send_headers: Mapping[str, str] | None = (
            None if headers is self._transport.default_headers else headers
        )
        if files is not None:
            make_data = _form_factory(files)
        elif body is not None:
            payload = json.dumps(unstructure(body), separators=(",", ":")).encode()
            send_headers = _Headers({**headers, "Content-Type": "application/json"})
            make_data = lambda: payload  # noqa: E731
        else:
            make_data = _no_data
        return self._send(method, url, path, send_headers, make_data, cast_to)

    def decode(self, data: object, cast_to: type[T]) -> T:
        """Structure decoded JSON into ``cast_to``; :class:`ClerkDecodeError` if it does not fit.

        The top level is checked here, at the boundary: a model wants a JSON object, a
        ``list[Model]`` an array of objects. Below it decoding stays tolerant (a field of
        an unexpected type is kept as it came).
        """
        shape = _top_shape(cast_to)
        if shape is not None:
            wanted, item_wanted = shape
            if data.__class__ is not wanted or (
                item_wanted is not None and not all(x.__class__ is item_wanted for x in data)  # type: ignore[attr-defined]
            ):
                raise ClerkDecodeError(
                    f"could not decode the answer as {_type_name(cast_to)}: expected "
                    f"{_describe_shape(shape)}, got {_describe_value(data)}"
                )
        try:
            return structure(data, cast_to)
        except RecursionError:
            raise ClerkDecodeError(
                f"could not decode the answer as {_type_name(cast_to)}: nested too deeply"
            ) from None
        except Exception as exc:
            raise ClerkDecodeError(
                f"could not decode the answer as {_type_name(cast_to)}: {exc}"
            ) from exc

    def _scrub(self, text: str) -> str:
        """``text`` with the secret key replaced (a proxy may echo our headers back)."""
        secret = self._secret
        if secret is not None and secret.value in text:
            return text.replace(secret.value, _REDACTED)
        return text

    def _scrub_error(self, exc: ClerkConnectionError) -> None:
        exc.args = tuple(self._scrub(a) if isinstance(a, str) else a for a in exc.args)

    def _error_from(
        self, response: RawResponse, method: str, url: str, attempt: int
    ) -> ClerkAPIError:
        """The error of an error answer, the secret key removed from its body and headers."""
        body = response.body
        headers: Mapping[str, str] = response.headers
        secret = self._secret
        if secret is not None:
            raw = secret.value.encode()
            if raw in body:
                body = body.replace(raw, _REDACTED.encode())
            if any(secret.value in v for v in headers.values()):
                headers = CIMultiDict((k, self._scrub(v)) for k, v in headers.items())
        return ClerkAPIError.from_response(
            response.status, headers, body, method=method, url=url, attempts=attempt
        )

    # -- below the seam ---------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        path: str,
        headers: Mapping[str, str] | None,
        make_data: Callable[[], Any],
        cast_to: type[T],
    ) -> T:
        """The retry loop: send until an answer below 400, or the policy gives up;
        then the answer decoded into ``cast_to``.

        Before each attempt the governor gives a slot (pacing, or a pause after a 429).
        A 429 counts as a retry only when it is news: one refused for the same reason
        as another request's earlier 429 waits with the rest, within the deadline.
        """
        options = self.options
        policy = options.retries
        transport = self._transport
        governor = self._governor
        route = governor.route(method, path)
        ticket = governor.try_acquire(route)
        if ticket is None:
            ticket = await governor.acquire(route)
        # The deadline counts from the first send, not from a wait for the first slot.
        started = time.monotonic()
        timeout = self._first_timeout
        attempt = 0
        retries = 0
        error: ClerkAPIError | None = None
        while True:
            attempt += 1
            if attempt > 1:
                ticket = governor.try_acquire(route)
                if ticket is None:
                    ticket = await self._acquire_within(route, policy, started, method, url, error)
                if policy.deadline is not None:
                    remaining = started + policy.deadline - time.monotonic()
                    if remaining <= 0:
                        raise ClerkTimeoutError(
                            f"{method} {_strip_query(url)}: retry deadline of {policy.deadline}s ran out",
                            attempts=attempt - 1,
                        )
                    timeout = (
                        remaining if options.timeout is None else min(options.timeout, remaining)
                    )
            try:
                try:
                    response = await transport.send(
                        method, url, headers, make_data(), timeout, options.max_response_bytes
                    )
                except BaseException:  # no answer (or cancelled): the slot starts to age
                    governor.answered(route, ticket, accepted=False)
                    raise
            except ClerkConnectionError as exc:
                exc.attempts = attempt
                self._scrub_error(exc)
                retries += 1
                if retries > policy.max_retries or not policy.retry_connection_error(
                    method, request_sent=exc.request_sent
                ):
                    raise
                delay = policy.backoff(retries, None)
                if _past_deadline(policy, started, time.monotonic() + delay):
                    raise
                error = None
                await asyncio.sleep(delay)
                continue
            governor.answered(route, ticket, accepted=response.status != 429)
            if response.status < 400:
                return self._decode_response(method, url, response, cast_to)
            error = self._error_from(response, method, url, attempt)
            if response.status == 429:
                pause = policy.backoff(retries + 1, error.retry_after)
                if governor.refused(route, ticket, pause) or not route:
                    retries += 1
                elif attempt > _MAX_ATTEMPTS:
                    raise error
                if policy.max_retries == 0 or retries > policy.max_retries:
                    raise error
                if error.retry_after is not None and error.retry_after > policy.retry_after_max:
                    raise error  # the server asked for a longer pause than we are allowed to wait
                if _past_deadline(policy, started, time.monotonic() + pause):
                    raise error
                if not route:  # an endpoint with no bucket: wait by ourselves
                    await asyncio.sleep(pause)
                continue
            retries += 1
            if retries > policy.max_retries or not policy.retry_status(method, response.status):
                raise error
            delay = policy.backoff(retries, error.retry_after)
            if _past_deadline(policy, started, time.monotonic() + delay):
                raise error
            await asyncio.sleep(delay)

    async def _acquire_within(
        self,
        route: Route,
        policy: Retries,
        started: float,
        method: str,
        url: str,
        error: ClerkAPIError | None,
    ) -> Ticket:
        """A slot for a retry, or the last error once the deadline would pass first."""
        if policy.deadline is None:
            return await self._governor.acquire(route)
        remaining = started + policy.deadline - time.monotonic()
        try:
            return await asyncio.wait_for(self._governor.acquire(route), max(remaining, 0.0))
        except asyncio.TimeoutError:
            if error is not None:
                raise error from None
            raise ClerkTimeoutError(
                f"{method} {_strip_query(url)}: retry deadline of {policy.deadline}s ran out "
                "waiting for a rate-limit slot"
            ) from None

    def _decode_response(self, method: str, url: str, response: RawResponse, cast_to: type[T]) -> T:
        if cast_to is _NONE_TYPE:
            return None  # type: ignore[return-value]
        # ``response.body`` read each time, never held in a local: a traceback with
        # locals captured would show it, and it may echo the secret key.
        if response.status != 204 and response.body:
            content_type = response.headers.get(CONTENT_TYPE)
            # A model straight from the bytes; else (not a model, or msgspec refuses the
            # body) the JSON value first, then the model, which says what is wrong.
            model = model_from_json(response.body, content_type, cast_to)
            if model is not None:
                return model  # type: ignore[no-any-return]
            try:
                data = parse_json(response.body, content_type)
            except RecursionError:
                raise ClerkDecodeError(
                    f"{method} {_strip_query(url)}: HTTP {response.status} answer is nested "
                    "too deeply to decode"
                ) from None
            except ValueError:
                excerpt = self._scrub(response.body.decode("utf-8", "replace"))[:_EXCERPT]
                raise ClerkDecodeError(
                    f"{method} {_strip_query(url)}: HTTP {response.status} answer is not JSON: "
                    f"{excerpt!r}"
                ) from None
            if data is not None:
                return self.decode(data, cast_to)
        if response.status != 204 and attrs.has(cast_to):
            # Said plainly rather than handing back None typed as a model.
            raise ClerkDecodeError(
                f"{method} {_strip_query(url)}: HTTP {response.status} answer is empty where "
                f"a {cast_to.__name__} was expected"
            )
        return None  # type: ignore[return-value]


# cast_to -> (the class its JSON must be, the class of each item or None), or None when
# anything goes (object, unions, scalars); filled on first use, a handful of entries.
_Shape = tuple[type, type | None]
_TOP_SHAPES: dict[Any, _Shape | None] = {}


def _top_shape(cast_to: Any) -> _Shape | None:
    try:
        return _TOP_SHAPES[cast_to]
    except KeyError:
        pass
    shape: _Shape | None = None
    if isinstance(cast_to, type) and attrs.has(cast_to):
        shape = (dict, None)
    elif get_origin(cast_to) is list:
        args = get_args(cast_to)
        item = args[0] if args else None
        shape = (list, dict if isinstance(item, type) and attrs.has(item) else None)
    _TOP_SHAPES[cast_to] = shape
    return shape


def _type_name(cast_to: Any) -> str:
    return getattr(cast_to, "__name__", None) or str(cast_to)


def _describe_shape(shape: _Shape) -> str:
    if shape[0] is dict:
        return "a JSON object"
    return "a JSON array of objects" if shape[1] is dict else "a JSON array"


_JSON_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def _describe_value(data: object) -> str:
    if isinstance(data, list):
        bad = next((x for x in data if x.__class__ is not dict), data)
        if bad is data:
            return "an array of objects" if data else "an empty array"
        return "an array holding " + _json_kind(bad)
    return _json_kind(data)


def _json_kind(data: object) -> str:
    if data is None:
        return "null"
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return "a number"
    return _JSON_NAMES.get(type(data), type(data).__name__)


def requester_of(clerk: Clerk) -> Requester:
    """The requester a client sends through (for the auth helpers and extensions)."""
    return clerk._http


def _no_data() -> None:
    return None


def _form_factory(files: Mapping[str, object]) -> Callable[[], Any]:
    from ._transport import build_form

    # A form can be sent once only, so every attempt gets a fresh one.
    return lambda: build_form(files)


def _past_deadline(policy: Retries, started: float, when: float) -> bool:
    return policy.deadline is not None and when >= started + policy.deadline


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]
