"""Rate limits: coordinated backoff (always on), :class:`RateLimit` pacing, a Redis-shared budget.

Clerk limits requests per instance (1000 per 10 s in production, 100 per 10 s in
development) and, more strictly, some endpoints (see :data:`ENDPOINT_LIMITS`). It
answers a request over the limit with 429 and ``Retry-After`` (whole seconds), and
refuses that endpoint until then. The :class:`Governor` of a client sits before every
attempt of the retry loop:

* **coordinated backoff** (every client): a 429 pauses every request of the client to
  that bucket until ``Retry-After`` has passed, rather than each task retrying on its
  own and being refused again together. Afterwards the bucket is paced at a rate
  learned from what the server accepted (additive increase, multiplicative decrease).
* **pacing** (``Clerk(rate_limit=RateLimit(...))``): requests wait, in the order they
  came, for a slot of a known budget, so that they are not refused at all.
* **a shared budget** (``RateLimit(redis_url=...)``): the slots are taken from Redis, so
  every process and machine using the same instance shares one budget.

The Redis budget is the moving window of the ``limits`` library (its atomic Lua
scripts, on redis-py's asyncio client); the in-process queue in front of it is ours,
because ``limits`` answers "yes or no now" and a client needs to *wait* for a slot,
in fair order, without polling.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import math
import time
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .errors import ClerkError

if TYPE_CHECKING:
    import redis.asyncio

__all__ = [
    "ENDPOINT_LIMITS",
    "EndpointLimit",
    "Governor",
    "RateLimit",
    "RateLimitBackendError",
    "RateLimitStats",
    "classify",
]

log = logging.getLogger("clerk_async.ratelimit")
_monotonic = time.monotonic

# Learned pacing (no RateLimit given): after a 429, go on at BETA times the rate the
# server accepted, and probe upwards by INCREASE of that rate per second.
_BETA = 0.9
_INCREASE = 0.02
_MIN_RATE = 0.5
# A learned rate is forgotten after this long without a 429.
_FORGET = 120.0
# Our windows are a little longer than the server's, so that network jitter does not
# make two windows' worth of requests arrive in one.
_CUSHION = 0.01
_CUSHION_MIN = 0.05
# With Redis unreachable, try it again after this many seconds.
_REDIS_RETRY = 30.0
_REDIS_TIMEOUT = 5.0
_LATENESS_DECAY = 0.99
# Idle per-user/organization buckets are swept after this many are created.
_SWEEP_EVERY = 1024


def _cushion(window: float) -> float:
    return max(window * _CUSHION, _CUSHION_MIN)


class RateLimitBackendError(ClerkError):
    """The shared rate-limit budget (Redis) could not be reached, and
    ``RateLimit(on_redis_error="closed")`` asked not to send without it."""


@attrs.frozen
class EndpointLimit:
    """One of Clerk's stricter per-endpoint buckets.

    Attributes:
        name: the bucket's name (in logs and Redis keys).
        requests, per: the budget, ``requests`` per ``per`` seconds.
        keyed_by: what one bucket covers: ``"instance"``, ``"user"``,
            ``"organization"`` or ``"membership"``.
    """

    name: str
    requests: int
    per: float
    keyed_by: Literal["instance", "user", "organization", "membership"] = "instance"


_HOUR = 3600.0
_USER = EndpointLimit("user_update", 10, 10.0, "user")
_ORG = EndpointLimit("organization_update", 10, 10.0, "organization")
_MEMBERSHIP = EndpointLimit("membership_update", 10, 10.0, "membership")

#: Clerk's documented stricter buckets, by (method, path shape); ``*`` is an id.
ENDPOINT_LIMITS: dict[tuple[str, str], EndpointLimit] = {
    ("POST", "invitations"): EndpointLimit("invitations", 100, _HOUR),
    ("POST", "invitations/bulk"): EndpointLimit("invitations_bulk", 25, _HOUR),
    ("POST", "organizations/*/invitations"): EndpointLimit("organization_invitations", 250, _HOUR),
    ("POST", "organizations/*/invitations/bulk"): EndpointLimit(
        "organization_invitations_bulk", 50, _HOUR
    ),
    ("PATCH", "users/*"): _USER,
    ("PATCH", "users/*/metadata"): _USER,
    ("PUT", "users/*/metadata"): _USER,
    ("PATCH", "organizations/*"): _ORG,
    ("PATCH", "organizations/*/metadata"): _ORG,
    ("PUT", "organizations/*/metadata"): _ORG,
    ("PATCH", "organizations/*/memberships/*"): _MEMBERSHIP,
    ("PATCH", "organizations/*/memberships/*/metadata"): _MEMBERSHIP,
}
# Not limited at all: neither the instance budget nor a bucket of its own.
UNLIMITED = frozenset({("GET", "jwks")})
_LIMITED_ROOTS = frozenset({"users", "organizations", "invitations"})
_PATTERNS: dict[tuple[str, int], list[tuple[list[str], EndpointLimit]]] = {}
for (_method, _shape), _limit in ENDPOINT_LIMITS.items():
    _parts = _shape.split("/")
    _PATTERNS.setdefault((_method, len(_parts)), []).append((_parts, _limit))
_METHODS_WITH_BUCKETS = frozenset({"POST", "PATCH", "PUT"})


def classify(method: str, path: str) -> tuple[EndpointLimit, str] | Literal[False] | None:
    """The stricter bucket of a request and the key of its instance of it
    (``"user_123"``, ``"org_1/user_2"``, or ``""`` per instance); ``None`` when only
    the instance budget applies; ``False`` when the endpoint is not limited.

    ``path`` is the part after ``/v1`` (``/users/user_123/metadata``), query excluded.
    """
    if method not in _METHODS_WITH_BUCKETS:
        if method == "GET" and path == "/jwks":
            return False
        return None
    parts = path.strip("/").split("/")
    if parts[0] not in _LIMITED_ROOTS:
        return None
    limit = next(
        (
            limit
            for pattern, limit in _PATTERNS.get((method, len(parts)), ())
            if all(want in ("*", got) for want, got in zip(pattern, parts, strict=True))
        ),
        None,
    )
    if limit is None:
        return None
    if limit.keyed_by == "instance":
        return limit, ""
    if limit.keyed_by == "membership":
        return limit, f"{parts[1]}/{parts[3]}"
    return limit, parts[1]


def _time_scale(_: object, __: object, value: float) -> None:
    if not value > 0:
        raise ValueError("time_scale must be a positive number")


@attrs.frozen
class RateLimit:
    """Pace a client's requests within a budget instead of being refused (opt-in).

    Args:
        requests: requests allowed per ``per`` seconds for the whole instance;
            ``None`` picks Clerk's documented number from the secret key's prefix
            (1000 for ``sk_live_…``, 100 otherwise).
        per: the window of ``requests``, in seconds.
        endpoints: also keep Clerk's stricter buckets (:data:`ENDPOINT_LIMITS`: 10
            updates per user per 10 s, invitations per hour...).
        time_scale: multiplies every window (``per`` and the endpoints'); below 1 it
            shrinks them, for tests against the emulator (``0.1``: 100 per second).
        redis_url: keep the budget in Redis (``redis://host:6379/0``) so that every
            process using the same instance shares it; needs ``clerk-async[redis]``.
        redis: a ``redis.asyncio.Redis`` to use instead of ``redis_url`` (it stays
            yours; create it on the loop the client runs on).
        on_redis_error: ``"open"`` (default): with Redis unreachable, pace in this
            process only and log one warning; ``"closed"``: raise
            :class:`RateLimitBackendError` instead of sending.
        key_prefix: prefix of the Redis keys (the instance is named by a hash of the
            secret key, never by the key).

    Example::

        clerk = Clerk(rate_limit=RateLimit())                       # from the key
        clerk = Clerk(rate_limit=RateLimit.production())            # 1000 per 10 s
        clerk = Clerk(rate_limit=RateLimit(requests=50, per=10))    # a share of it
        clerk = Clerk(rate_limit=RateLimit(redis_url="redis://localhost:6379"))
    """

    requests: int | None = None
    per: float = 10.0
    endpoints: bool = True
    time_scale: float = attrs.field(default=1.0, validator=_time_scale)
    redis_url: str | None = None
    redis: redis.asyncio.Redis | None = attrs.field(default=None, eq=False, repr=False)
    on_redis_error: Literal["open", "closed"] = "open"
    key_prefix: str = "clerk-async"

    def __attrs_post_init__(self) -> None:
        if self.requests is not None and self.requests < 1:
            raise ValueError("requests must be a positive number")
        if not self.per > 0:
            raise ValueError("per must be a positive number of seconds")
        if self.on_redis_error not in ("open", "closed"):
            raise ValueError('on_redis_error must be "open" or "closed"')

    @classmethod
    def production(cls, **options: Any) -> RateLimit:
        """Clerk's documented production budget: 1000 requests per 10 s."""
        return cls(requests=1000, per=10.0, **options)

    @classmethod
    def development(cls, **options: Any) -> RateLimit:
        """Clerk's documented development budget: 100 requests per 10 s."""
        return cls(requests=100, per=10.0, **options)

    @classmethod
    def for_secret_key(cls, secret_key: str | None, **options: Any) -> RateLimit:
        """The documented budget of the instance a secret key belongs to."""
        if secret_key and secret_key.startswith("sk_live_"):
            return cls.production(**options)
        return cls.development(**options)

    @property
    def shared(self) -> bool:
        """Whether the budget lives in Redis."""
        return self.redis_url is not None or self.redis is not None

    def resolved(self, secret_key: str | None) -> RateLimit:
        """This budget with ``requests`` filled in from the secret key when ``None``."""
        if self.requests is not None:
            return self
        preset = RateLimit.for_secret_key(secret_key)
        return attrs.evolve(self, requests=preset.requests, per=preset.per)

    def window(self) -> float:
        """The instance window in seconds, ``time_scale`` applied."""
        return self.per * self.time_scale


@attrs.frozen
class RateLimitStats:
    """What the rate limiting of a client did so far (``clerk.rate_limit_stats``).

    Attributes:
        requests: attempts sent (retries included).
        rate_limited: answers 429 received.
        waits: attempts that waited before being sent (pacing, or a pause after a 429).
        seconds_waited: the total of those waits, in seconds.
    """

    requests: int = 0
    rate_limited: int = 0
    waits: int = 0
    seconds_waited: float = 0.0

    @property
    def share_rate_limited(self) -> float:
        """The fraction of attempts answered 429."""
        return self.rate_limited / self.requests if self.requests else 0.0


class _Bucket:
    """One budget in this process: a queue of waiters, served in order.

    A slot is free when the bucket is not paused after a 429, when fewer than
    ``limit`` requests are in flight or were answered in the last ``window`` seconds
    (only when ``enforce``), and when the learned rate allows one (after a 429, with
    no budget given).

    A request holds its slot until its answer, and ``window`` seconds after: the
    server saw it at the latest then, so no later request can reach the server within
    the same window, whatever the network delays (a slot counted from when it was
    given would let a burst sent on new connections, which arrives late, share a
    server window with the next burst on warm ones).
    """

    __slots__ = (
        "accepted",
        "calm",
        "enforce",
        "epoch",
        "in_flight",
        "last_429",
        "limit",
        "name",
        "next_at",
        "paused_until",
        "per",
        "rate",
        "rate_at",
        "releases",
        "since",
        "step",
        "timer",
        "waiters",
        "window",
    )

    def __init__(self, name: str, limit: int, window: float, *, enforce: bool) -> None:
        self.name = name
        self.limit = limit
        self.per = window
        self.window = window + _cushion(window)
        self.enforce = enforce
        self.calm = not enforce
        self.in_flight = 0
        self.releases: collections.deque[float] = collections.deque(maxlen=limit)
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.paused_until = 0.0
        self.epoch = 0
        self.rate: float | None = None  # learned requests per second
        self.rate_at = 0.0
        self.step = 0.0
        self.next_at = 0.0
        self.accepted = 0
        self.since = time.monotonic()
        self.last_429 = 0.0
        self.timer: asyncio.TimerHandle | None = None

    def ready_at(self, now: float) -> float:
        at = self.paused_until
        if not self.enforce and self.rate is None and at <= now:
            self.calm = True
        if self.enforce:
            releases = self.releases
            window = self.window
            while releases and releases[0] + window <= now:
                releases.popleft()
            over = self.in_flight + len(releases) - self.limit
            if over >= 0:
                # Wait for enough answered slots to leave the window, or for an answer.
                at = max(at, releases[over] + window if over < len(releases) else math.inf)
        if self.rate is not None:
            if now - self.last_429 > _FORGET:
                self.rate = None
            else:
                at = max(at, self.next_at)
        return at

    def grant(self, now: float) -> None:
        self.in_flight += 1
        if self.rate is not None:
            self.pace(now)

    def pace(self, now: float) -> None:
        # Additive increase: probe a little faster for every second without a 429.
        rate = (self.rate or _MIN_RATE) + self.step * max(0.0, now - self.rate_at)
        self.rate = rate
        self.rate_at = now
        self.next_at = max(now, self.next_at) + 1.0 / rate

    def give_back(self) -> None:
        """A slot given but never used."""
        self.in_flight -= 1
        if self.rate is not None:
            self.next_at -= 1.0 / self.rate
        self.dispatch()

    def full(self, now: float) -> bool:
        """Whether ``limit`` requests are in flight or were answered in the last window."""
        recent = sum(1 for t in self.releases if now - t < self.window)
        return self.in_flight + recent >= self.limit

    def idle(self, now: float) -> bool:
        return (
            not self.waiters
            and now >= self.paused_until
            and self.in_flight == 0
            and (not self.releases or now - self.releases[-1] > self.window)
            and self.rate is None
        )

    async def take(self) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self.waiters.append(waiter)
        if len(self.waiters) == 1:
            self.schedule(loop)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give_back()  # granted, but cancelled before it could be used
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(waiter)
                self.dispatch()
            raise

    def schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.waiters:
            return
        now = time.monotonic()
        at = self.ready_at(now)
        if at <= now:
            self.dispatch()
        elif at != math.inf:  # else an answer will wake the queue
            self.timer = loop.call_later(at - now, self.dispatch)

    def dispatch(self) -> None:
        self.timer = None
        waiters = self.waiters
        now = time.monotonic()
        while waiters:
            if waiters[0].done():  # cancelled while waiting
                waiters.popleft()
                continue
            if self.ready_at(now) > now:
                break
            self.grant(now)
            waiters.popleft().set_result(None)
        if waiters:
            self.schedule(asyncio.get_running_loop())

    def repace(self) -> None:
        """The pause or the rate changed: wake the queue at its new time."""
        if self.waiters:
            self.schedule(asyncio.get_running_loop())

    def refused(self, now: float, pause: float, learn: bool) -> None:
        """A fresh 429: pause, and (learning) slow down to what the server took."""
        self.epoch += 1
        self.calm = False
        self.paused_until = max(self.paused_until, now + pause)
        self.last_429 = now
        if learn:
            span = max(now - self.since, pause, 1.0)
            accepted = self.accepted / span
            base = accepted if self.rate is None else min(self.rate, accepted)
            self.rate = max(_MIN_RATE, _BETA * base)
            self.step = _INCREASE * self.rate
            self.rate_at = self.paused_until
            self.next_at = self.paused_until
        self.accepted = 0
        self.since = self.paused_until
        self.repace()


Route = tuple[_Bucket, ...]
# The epochs of the route's buckets when the slot was given, then that time.
Ticket = tuple[float, ...]


class _SharedBudget:
    """The budget kept in Redis: a ``limits`` moving window per bucket."""

    def __init__(self, config: RateLimit, instance: str) -> None:
        try:
            from limits import RateLimitItemPerSecond
            from limits.aio.storage import RedisStorage
            from limits.aio.strategies import MovingWindowRateLimiter
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "RateLimit(redis_url=...) needs the redis extra: pip install 'clerk-async[redis]'"
            ) from exc
        options: dict[str, Any] = {}
        if config.redis is not None:
            options["connection_pool"] = config.redis.connection_pool
            uri = "async+redis://"
        else:
            assert config.redis_url is not None
            uri = "async+" + config.redis_url
            # An unreachable host fails in seconds (then we fail open or closed), not
            # after the system's connect timeout.
            options.update(socket_connect_timeout=_REDIS_TIMEOUT, socket_timeout=_REDIS_TIMEOUT)
        self.storage = RedisStorage(
            uri,
            implementation="redispy",
            key_prefix=f"{config.key_prefix}:{instance}",
            wrap_exceptions=True,
            **options,
        )
        self.limiter = MovingWindowRateLimiter(self.storage)
        self._item = RateLimitItemPerSecond
        self.items: dict[tuple[int, float], Any] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.owned = config.redis is None
        # How long after its slot a request may still reach the server: at most the
        # time until its answer (the most seen lately). Waiting processes come back
        # that long after a slot frees, so that a burst slowed on its way (new
        # connections, a loaded machine) does not share a server window with the next.
        self.lateness = 0.0

    def note(self, lateness: float) -> None:
        self.lateness = max(lateness, self.lateness * _LATENESS_DECAY)

    def item(self, limit: int, window: float) -> Any:
        found = self.items.get((limit, window))
        if found is None:
            # The limits library counts windows in whole seconds.
            found = self._item(limit, max(1, math.ceil(window)))
            self.items[(limit, window)] = found
        return found

    async def take(self, bucket: _Bucket, key: str) -> None:
        """Wait for a slot of ``bucket`` in Redis (one task of this process at a time,
        so they are served in order and do not all poll Redis)."""
        lock = self.locks.get(key)
        if lock is None:
            lock = self.locks[key] = asyncio.Lock()
        item = self.item(bucket.limit, bucket.per)
        # Waiting processes come back a little after a slot frees, so that a burst
        # let through at a window's end does not reach the server inside it.
        cushion = max(_cushion(bucket.per), self.lateness)
        async with lock:
            while not await self.limiter.hit(item, key):
                stats = await self.limiter.get_window_stats(item, key)
                await asyncio.sleep(max(0.001, stats.reset_time + cushion - time.time()))

    async def aclose(self) -> None:
        if self.owned:
            client = getattr(self.storage.bridge, "storage", None)
            if client is not None:
                await client.aclose()


class Governor:
    """Decides when each attempt of a client may be sent (shared by its copies).

    :meth:`route` names the buckets of a request, :meth:`try_acquire` / :meth:`acquire`
    take a slot in each (waiting without blocking the loop), and :meth:`answered` /
    :meth:`refused` tell it what came back.
    """

    def __init__(self, config: RateLimit | None, secret_key: str | None) -> None:
        self.config = config.resolved(secret_key) if config is not None else None
        digest = hashlib.sha256((secret_key or "").encode()).hexdigest()[:16]
        enforce = self.config is not None
        if self.config is not None:
            assert self.config.requests is not None
            limit, window = self.config.requests, self.config.window()
        else:
            limit, window = 1, 1.0  # not enforced: only pauses and learned pacing
        self.instance = _Bucket("instance", limit, window, enforce=enforce)
        self._instance_route: Route = (self.instance,)
        self._enforce_endpoints = enforce and self.config is not None and self.config.endpoints
        self._scale = self.config.time_scale if self.config is not None else 1.0
        self._endpoint_buckets: dict[tuple[str, str], _Bucket] = {}
        self._created = 0
        self._shared: _SharedBudget | None = None
        self._shared_mode = self.config is not None and self.config.shared
        self._shared_keys: dict[int, str] = {}
        self._digest = digest
        self._redis_down_until = 0.0
        self._warned = False
        self.requests = 0
        self.rate_limited = 0
        self.waits = 0
        self.seconds_waited = 0.0

    # -- what the requester asks --------------------------------------------------------

    def route(self, method: str, path: str) -> Route:
        """The buckets a request takes a slot in (the stricter one first); ``()`` for an
        endpoint that is not limited."""
        found = classify(method, path)
        if found is None:
            return self._instance_route
        if found is False:
            return ()
        limit, key = found
        bucket = self._endpoint_buckets.get((limit.name, key))
        if bucket is None:
            bucket = self._endpoint_bucket(limit, key)
        return (bucket, self.instance)

    def try_acquire(self, route: Route) -> Ticket | None:
        """A ticket when every bucket has a free slot now and nobody waits (the common,
        await-free path), else ``None``: then call :meth:`acquire`."""
        self.requests += 1
        if self._shared_mode and self._shared_active():
            return None
        now = _monotonic()
        for bucket in route:
            # A calm bucket (no budget, no pause, no learned rate) is free: no arithmetic.
            if bucket.waiters or (not bucket.calm and bucket.ready_at(now) > now):
                return None
        for bucket in route:
            bucket.in_flight += 1
            if bucket.rate is not None:
                bucket.pace(now)
        return (*[b.epoch for b in route], now)

    async def acquire(self, route: Route) -> Ticket:
        """Wait for a slot in every bucket of ``route``, in order of arrival.

        Cancelled while waiting, it gives back the slots it had taken.
        """
        started = time.monotonic()
        taken: list[_Bucket] = []
        try:
            for bucket in route:
                now = time.monotonic()
                if not bucket.waiters and bucket.ready_at(now) <= now:
                    bucket.grant(now)
                else:
                    await bucket.take()
                taken.append(bucket)
            if self._shared_active():
                await self._take_shared(route)
        except BaseException:
            for bucket in taken:
                bucket.give_back()
            raise
        waited = time.monotonic() - started
        if waited > 0.001:
            self.waits += 1
            self.seconds_waited += waited
            if log.isEnabledFor(logging.DEBUG):
                name = route[0].name if route else "-"
                log.debug(
                    "waited %.3fs for a slot of %s",
                    waited,
                    name,
                    extra={"bucket": name, "seconds": waited},
                )
        return (*[b.epoch for b in route], time.monotonic())

    def answered(self, route: Route, ticket: Ticket, *, accepted: bool) -> None:
        """The attempt is over: answered (``accepted`` unless 429), failed or cancelled.
        Its slots start to age."""
        now = _monotonic()
        if self._shared is not None:
            self._shared.note(now - ticket[-1])
        for bucket in route:
            bucket.in_flight -= 1
            bucket.releases.append(now)
            if accepted:
                bucket.accepted += 1
            if bucket.waiters:
                bucket.repace()

    def refused(self, route: Route, ticket: Ticket, pause: float) -> bool:
        """The attempt was answered 429: pause its bucket for ``pause`` seconds.

        Returns whether this refusal is news, i.e. counts as a retry of this request.
        It is not when another request's 429 already paused the bucket after this one
        was sent: this one was refused for the same reason, and waits with the rest.
        """
        self.rate_limited += 1
        if not route:
            return True
        now = time.monotonic()
        index = len(route) - 1  # the instance budget, unless the stricter one is used up
        for i, bucket in enumerate(route[:-1]):
            if bucket.full(now):
                index = i
                break
        bucket = route[index]
        if bucket.epoch != ticket[index]:
            return False
        if log.isEnabledFor(logging.INFO):
            log.info(
                "rate limited (429): pausing requests to %s for %.1fs",
                bucket.name,
                pause,
                extra={"bucket": bucket.name, "seconds": pause},
            )
        bucket.refused(now, pause, learn=not bucket.enforce)
        return True

    def stats(self) -> RateLimitStats:
        """A snapshot of the counters."""
        return RateLimitStats(
            requests=self.requests,
            rate_limited=self.rate_limited,
            waits=self.waits,
            seconds_waited=self.seconds_waited,
        )

    async def aclose(self) -> None:
        """Close the Redis connection we opened (a ``redis.asyncio.Redis`` given stays open)."""
        shared, self._shared = self._shared, None
        if shared is not None:
            await shared.aclose()

    # -- below ----------------------------------------------------------------------------

    def _endpoint_bucket(self, limit: EndpointLimit, key: str) -> _Bucket:
        self._created += 1
        if self._created % _SWEEP_EVERY == 0:
            now = time.monotonic()
            for held, old in list(self._endpoint_buckets.items()):
                if old.idle(now):
                    del self._endpoint_buckets[held]
        name = f"{limit.name}:{key}" if key else limit.name
        bucket = _Bucket(
            name, limit.requests, limit.per * self._scale, enforce=self._enforce_endpoints
        )
        self._endpoint_buckets[(limit.name, key)] = bucket
        return bucket

    def _shared_active(self) -> bool:
        config = self.config
        if config is None or not config.shared:
            return False
        return time.monotonic() >= self._redis_down_until

    async def _take_shared(self, route: Route) -> None:
        assert self.config is not None
        try:
            if self._shared is None:
                self._shared = _SharedBudget(self.config, self._digest)
            for bucket in route:
                if bucket.enforce:
                    await self._shared.take(bucket, bucket.name)
        except ImportError:
            raise
        except Exception as exc:
            if self.config.on_redis_error == "closed":
                raise RateLimitBackendError(
                    f"the shared rate-limit budget is unreachable: {exc}"
                ) from exc
            self._redis_down_until = time.monotonic() + _REDIS_RETRY
            if not self._warned:
                self._warned = True
                log.warning(
                    "Redis unreachable (%s): pacing requests in this process only, "
                    "trying Redis again every %.0fs",
                    exc,
                    _REDIS_RETRY,
                )
