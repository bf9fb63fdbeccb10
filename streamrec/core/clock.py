"""The one clock every part of streamrec reads the wall time from.

Pure code never reads a clock: it takes ``now`` as an argument. Code at the edges that needs the wall
time (stamping an event, asking "what is due now", an uptime) is handed a :class:`Clock` by whoever
builds it, so that a test can pass a :class:`FakeClock` instead of patching modules. Waits and
timeouts use the event loop's own monotonic clock (``loop.time()``), which is not the wall time and
needs no injection.

The real clock, :class:`~streamrec.runtime.clock.SystemClock`, lives in ``runtime`` (the core reads
no clock); the fake one lives here because it is pure.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    """The wall time: one instant, as an aware UTC datetime or as epoch seconds."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def time(self) -> float:
        """The current time in seconds since the epoch (the same instant as :meth:`now`)."""
        ...


class FakeClock:
    """A clock that stands still until moved: for tests, and for replaying what happened."""

    def __init__(self, start: datetime | float = 1_700_000_000.0) -> None:
        if isinstance(start, datetime):
            if start.tzinfo is None:
                raise ValueError("FakeClock needs an aware datetime (tzinfo set)")
            start = start.timestamp()
        self._now = float(start)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, timezone.utc)

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float | timedelta) -> None:
        """Move the clock forward (or back, with a negative amount)."""
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self._now += seconds

    def set(self, when: datetime | float) -> None:
        """Jump to ``when``."""
        self._now = when.timestamp() if isinstance(when, datetime) else float(when)
