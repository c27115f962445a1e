"""The emulator's test clock: the one time source of everything it stamps and decides.

Every timestamp in an answer, every token's ``iat``/``nbf``/``exp``, session and
invitation expiry, the rate-limit windows and the webhook events read this clock, so
a test moves time forward instead of sleeping::

    async with Emulator(start_time="2030-01-01T00:00:00Z") as emu:
        ...
        emu.clock.advance(timedelta(days=8))   # sessions of 7 days read "expired" now

The clock runs with real time from its start (a monotonic source, so the wall clock
being set does not move it) and moves only forward: like a real instance's, the
emulator's past is fixed, and the ``created_at`` order of what exists stays true.
``freeze()`` stops it for tests that compare exact times; ``resume()`` lets it run on.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import date, datetime, timedelta, timezone

from ..errors import InvalidOptionError

__all__ = ["Clock", "TimeLike", "to_epoch"]

#: What names a moment: epoch seconds, an aware ``datetime``, a ``date`` (its
#: midnight UTC) or an ISO 8601 string with its offset (``2030-01-01T00:00:00Z``).
TimeLike = datetime | date | float | int | str


def to_epoch(when: TimeLike, what: str = "start_time") -> float:
    """Epoch seconds of ``when``.

    Raises:
        InvalidOptionError: a naive ``datetime`` or string without an offset (which
            time zone it means is a guess), an unparsable string, or not a finite number.
    """
    if isinstance(when, bool):
        raise InvalidOptionError(f"{what} must be a datetime, epoch seconds or ISO 8601 text")
    if isinstance(when, (int, float)):
        if not math.isfinite(when):
            raise InvalidOptionError(f"{what} must be a finite number of epoch seconds")
        return float(when)
    if isinstance(when, str):
        text = when.strip()
        try:
            if len(text) == 10:  # 2030-01-01: that day's midnight UTC
                return to_epoch(date.fromisoformat(text), what)
            # Python 3.10's fromisoformat does not read the "Z" suffix.
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise InvalidOptionError(
                f"{what} {when!r} is not an ISO 8601 time; write e.g. 2030-01-01T00:00:00Z"
            ) from None
        return to_epoch(parsed, what)
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise InvalidOptionError(
                f"{what} is a naive datetime; give its time zone, e.g. "
                "datetime(2030, 1, 1, tzinfo=timezone.utc), or end the text with Z"
            )
        return when.timestamp()
    if isinstance(when, date):
        return datetime(when.year, when.month, when.day, tzinfo=timezone.utc).timestamp()
    raise InvalidOptionError(
        f"{what} must be a datetime, date, epoch seconds or ISO 8601 text, "
        f"not {type(when).__name__}"
    )


class Clock:
    """The emulated instance's time (``emu.clock``).

    Args:
        start: the moment the clock starts at (default: now); see :data:`TimeLike`.
        frozen: start stopped; time then moves only by :meth:`advance` and :meth:`set`.

    Example::

        token = emu.mint_session_token(user_id, expires_in=60)
        emu.clock.advance(61)
        await verify_token(token, clerk=clerk, now=emu.clock.now)  # raises: expired
    """

    def __init__(self, start: TimeLike | None = None, *, frozen: bool = False) -> None:
        # Integer nanoseconds, so that milliseconds convert exactly both ways.
        # now = _base + (monotonic - _anchor) while running, _base while frozen.
        self._base = time.time_ns() if start is None else _ns(to_epoch(start))
        self._anchor = time.monotonic_ns()
        self._frozen = frozen
        # advance/set may come from a test's thread while the emulator serves in another.
        self._lock = threading.Lock()

    def _now_ns(self) -> int:
        if self._frozen:
            return self._base
        return self._base + (time.monotonic_ns() - self._anchor)

    def now(self) -> float:
        """The emulated time in epoch seconds: pass ``emu.clock.now`` as the ``now=``
        of :func:`clerk_async.auth.verify_token` or ``AuthenticateOptions``."""
        return self._now_ns() / 1e9

    def now_ms(self) -> int:
        """The emulated time in epoch milliseconds, as Clerk's ``*_at`` fields carry it."""
        return self._now_ns() // 1_000_000

    def reach_ms(self, when_ms: int) -> None:
        """Make the time at least ``when_ms``. The emulator stamps changes a millisecond
        apart (so ``created_at`` orders them) and a frozen clock keeps up with those
        stamps, so that ``advance(...)`` counts from the last change. (A running clock
        is left alone: pushed ahead of real time by a burst of changes, it would issue
        tokens that wall-clock verifiers see as issued in the future.)"""
        with self._lock:
            behind = when_ms * 1_000_000 - self._now_ns()
            if behind > 0:
                self._base += behind

    def as_datetime(self) -> datetime:
        """The emulated time as an aware UTC ``datetime``."""
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    @property
    def frozen(self) -> bool:
        """Whether the clock is stopped."""
        return self._frozen

    def advance(self, seconds: float | timedelta) -> float:
        """Move time forward by ``seconds`` (or a ``timedelta``); returns the new time.

        What falls due in between (session and invitation expiry, rate-limit windows,
        token ``exp``) has happened by the next request.

        Raises:
            InvalidOptionError: a negative or non-finite amount (time moves only forward).
        """
        amount = seconds.total_seconds() if isinstance(seconds, timedelta) else seconds
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise InvalidOptionError("advance() takes seconds (a number) or a timedelta")
        if not math.isfinite(amount) or amount < 0:
            raise InvalidOptionError(
                f"advance() takes a finite amount of 0 seconds or more, not {amount!r}: "
                "the emulator's clock moves only forward"
            )
        with self._lock:
            self._base += _ns(amount)
            return self.now()

    def set(self, when: TimeLike) -> None:
        """Move time forward to ``when`` (see :data:`TimeLike`).

        Raises:
            InvalidOptionError: ``when`` is before the current emulated time, or unreadable.
        """
        target = _ns(to_epoch(when, "set()"))
        with self._lock:
            current = self._now_ns()
            if target < current:
                raise InvalidOptionError(
                    f"set() to {_iso(target / 1e9)} would move the clock back from "
                    f"{_iso(current / 1e9)}: it moves only forward; start a new "
                    "Emulator(start_time=...) instead"
                )
            self._base, self._anchor = target, time.monotonic_ns()

    def freeze(self) -> None:
        """Stop the clock at the current time (``advance``/``set`` still move it)."""
        with self._lock:
            if not self._frozen:
                self._base = self._now_ns()
                self._frozen = True

    def resume(self) -> None:
        """Let a frozen clock run with real time again, from where it stands."""
        with self._lock:
            if self._frozen:
                self._anchor = time.monotonic_ns()
                self._frozen = False

    def __repr__(self) -> str:
        state = "frozen" if self._frozen else "running"
        return f"<Clock {_iso(self.now())} {state}>"


def _ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")
