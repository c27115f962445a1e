"""Clerk's rate limits, enforced by the emulator when asked (``Emulator(rate_limits=...)``).

The instance budget and the stricter endpoint buckets are those of
:mod:`clerk_async._ratelimit` (one table for the client and the emulator). Each
bucket counts requests in fixed windows; the request over the budget is answered 429
with ``Retry-After`` in whole seconds (the rest of the window, rounded up), and the
bucket refuses every request until that time has passed, as Clerk does. Windows run
on the emulator's clock (``emu.clock``): advancing it refills the buckets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

from .._ratelimit import RateLimit, classify

__all__ = ["Enforcer", "RateLimitSetting", "enforcer_for"]

RateLimitSetting = Literal["development", "production"] | RateLimit


class _Window:
    __slots__ = ("blocked_until", "count", "limit", "per", "start")

    def __init__(self, limit: int, per: float) -> None:
        self.limit = limit
        self.per = per
        self.start = 0.0
        self.count = 0
        self.blocked_until = 0.0

    def refusal(self, now: float) -> float | None:
        """Seconds the request must wait, or ``None`` when it fits (not yet counted)."""
        if now < self.blocked_until:
            return self.blocked_until - now
        if now - self.start >= self.per:
            self.start, self.count = now, 0
        if self.count < self.limit:
            return None
        # Over the budget: refused, and the bucket is closed for the whole seconds sent.
        wait = max(1, math.ceil(self.start + self.per - now))
        self.blocked_until = now + wait
        return float(wait)


class Enforcer:
    """Decides, per request, whether the emulated instance is over a limit."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        assert limit.requests is not None
        self.config = limit
        self._clock = clock
        self.instance = _Window(limit.requests, limit.window())
        self.buckets: dict[tuple[str, str], _Window] = {}
        self.refused = 0

    def check(self, method: str, path: str) -> int | None:
        """``Retry-After`` (whole seconds) for a request over a limit, else ``None``
        (the request is counted). ``path`` is the full path (``/v1/users``)."""
        if not path.startswith("/v1/"):
            return None
        found = classify(method, path[3:])
        if found is False:
            return None
        windows = [self.instance]
        if found is not None and self.config.endpoints:
            endpoint, key = found
            window = self.buckets.get((endpoint.name, key))
            if window is None:
                window = _Window(endpoint.requests, endpoint.per * self.config.time_scale)
                self.buckets[(endpoint.name, key)] = window
            windows.insert(0, window)
        now = self._clock()
        for window in windows:
            wait = window.refusal(now)
            if wait is not None:
                self.refused += 1
                return max(1, math.ceil(wait))
        for window in windows:
            window.count += 1
        return None


def enforcer_for(
    setting: RateLimitSetting | None,
    secret_key: str,
    clock: Callable[[], float] = time.monotonic,
) -> Enforcer | None:
    """The enforcer of an ``Emulator(rate_limits=...)`` setting (``None``: no limits),
    its windows timed by ``clock`` (seconds)."""
    if setting is None:
        return None
    if setting == "development":
        return Enforcer(RateLimit.development(), clock)
    if setting == "production":
        return Enforcer(RateLimit.production(), clock)
    if isinstance(setting, RateLimit):
        return Enforcer(setting.resolved(secret_key), clock)
    raise ValueError('rate_limits must be "development", "production" or a RateLimit')


def parse_setting(text: str, *, time_scale: float = 1.0) -> RateLimitSetting:
    """A ``--rate-limits`` value: ``development``, ``production``, or ``N/SECONDS``
    (``40/2``: 40 requests per 2 s), its windows multiplied by ``time_scale``."""
    if text in ("development", "production"):
        preset = RateLimit.development() if text == "development" else RateLimit.production()
        return (
            preset
            if time_scale == 1.0
            else RateLimit(requests=preset.requests, per=preset.per, time_scale=time_scale)
        )
    requests, _sep, per = text.partition("/")
    try:
        return RateLimit(requests=int(requests), per=float(per or "nan"), time_scale=time_scale)
    except ValueError:
        raise ValueError(
            f"--rate-limits takes development, production or N/SECONDS, not {text!r}"
        ) from None
