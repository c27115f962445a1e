"""When a failed request is sent again, and how long we wait before doing so.

The rules keep retries safe: a request that may already have been applied by
Clerk is only repeated when the method is idempotent.

* ``GET``, ``HEAD``, ``PUT``, ``DELETE`` (idempotent): retried on 429, 502, 503,
  504, on connection errors and on timeouts.
* ``POST`` and ``PATCH``: retried on 429 (Clerk rejected the request before doing
  anything) and when the request provably never left this machine (connection
  refused, DNS failure, connect timeout); never on 5xx or a timeout after sending.
"""

from __future__ import annotations

import email.utils
import random
import time

import attrs

__all__ = ["IDEMPOTENT_METHODS", "Retries", "parse_retry_after"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@attrs.frozen
class Retries:
    """A retry policy.

    Args:
        max_retries: retries after the first attempt (so ``3`` means at most 4 sends).
        backoff_base: the first backoff ceiling in seconds; doubles every retry.
        backoff_max: the largest backoff ceiling in seconds.
        retry_after_max: the longest ``Retry-After`` we honour; longer waits fail fast.
        deadline: seconds after the first send when no further attempt is started
            (``None``: no deadline).
        statuses: statuses retried for idempotent methods (429 is retried for all).

    Example::

        clerk = Clerk(retries=Retries(max_retries=5, deadline=20.0))
        no_retries = clerk.with_options(retries=0)
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 60.0
    deadline: float | None = 60.0
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def __attrs_post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must not be negative")
        if self.deadline is not None and not self.deadline > 0:
            raise ValueError("deadline must be a positive number of seconds or None")

    @classmethod
    def coerce(cls, value: Retries | int | None) -> Retries:
        """Accept a policy, a number of retries, or ``None`` (no retries)."""
        if isinstance(value, Retries):
            return value
        if value is None:
            return cls(max_retries=0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("retries must be a Retries policy or a non-negative int")
        return cls(max_retries=value)

    def retry_status(self, method: str, status: int) -> bool:
        """Whether a response with ``status`` may be retried for ``method``."""
        if status == 429:
            return True
        return method in IDEMPOTENT_METHODS and status in self.statuses

    def retry_connection_error(self, method: str, *, request_sent: bool) -> bool:
        """Whether a failure without a response may be retried for ``method``."""
        return method in IDEMPOTENT_METHODS or not request_sent

    def backoff(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based).

        Full jitter: a uniform draw below an exponentially growing ceiling, so many
        clients that failed together do not come back together. A server-sent
        ``Retry-After`` wins when present.
        """
        if retry_after is not None:
            return max(0.0, min(retry_after, self.retry_after_max))
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (retry - 1)))
        return random.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds == float("inf"):  # NaN / inf
        return None
    return max(0.0, seconds)
