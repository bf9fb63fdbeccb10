"""The one schedule engine: when a task's or queue's schedule fires, asked by everyone. Pure.

Every answer about time comes from here, with the time as an argument: the daemon's timers
(``runtime.scheduling`` wakes the loop at the fire times this module gives), the catch-up of runs
missed while no daemon ran (``daemon.catchup``), and the ``next`` column of ``status``
(``state.report``). Channel windows (``core.windows``) are built on the same local-time and cron
rules and answer through the same :class:`Timing` protocol, so what ``status`` shows is what the
daemon fires.

A :class:`Timing` answers two questions: :meth:`~Timing.next_after` (the first fire strictly after an
instant) and :meth:`~Timing.between` (every fire in ``(start, end]``, in order). The rules:

- **cron** (:class:`CronTiming`): the expression is read in ``settings.timezone`` on wall-clock time.
  A fire time inside a spring-forward gap fires at the first valid instant after the gap (a 02:30 cron
  on the night clocks jump from 02:00 to 03:00 fires at 03:00); a fire time in a repeated (fall-back)
  hour fires once, at its first occurrence (:func:`to_instant`).
- **every** (:class:`EveryTiming`): ``every: D`` fires at each instant whose Unix time is a whole
  multiple of ``D`` (``every: 6h`` fires at 00:00, 06:00, 12:00 and 18:00 UTC). The grid is anchored
  at the epoch, so it depends neither on when a job was created, nor on when the daemon restarted,
  nor on when the task last ran; time zones and DST do not move it.
- **once** and no schedule have no fire times (:func:`timing_of` returns None).
- **jitter**: each object's fire times are moved later by a fixed offset in ``[0, jitter)`` derived
  from its key (``task/NAME``, ``queue/NAME``; :func:`jitter_offset`), so many objects with one cron
  spread out and every process computes the same times.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

from croniter import croniter

from streamrec.spec.model import Every

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
"""The anchor of every ``every:`` grid."""

_MICRO = timedelta(microseconds=1)

MAX_FIRES = 100_000
"""The most fire times :meth:`Timing.between` lists (a minutely cron over ten weeks)."""


class Timing(Protocol):
    """Fire times of one schedule, all in UTC."""

    def next_after(self, instant: datetime) -> datetime | None:
        """The first fire strictly after ``instant``; None when there is none."""
        ...

    def between(self, start: datetime, end: datetime, limit: int = MAX_FIRES) -> list[datetime]:
        """The fires in ``(start, end]``, oldest first, at most ``limit`` (the oldest ones)."""
        ...


def to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall-clock time as a UTC instant, by the DST rules of this module."""
    first = local.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(timezone.utc)
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant  # exists (if twice, fold=0 picked the first occurrence)
    # inside a gap: the first valid minute is the transition itself, between the two readings
    low = local.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
    high = instant
    if low > high:
        low, high = high, low
    after = (high + timedelta(hours=1)).astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(zone).utcoffset() == after:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0)


def cron_fires(expression: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """The fire times of a cron expression strictly after ``after`` (UTC), each instant once.

    Cron is matched on naive local times, so no wall-clock time is produced twice; each is turned
    into an instant by :func:`to_instant`. That mapping never goes backwards, so starting at the
    local reading of ``after`` misses nothing, and dropping instants not later than the last one
    keeps a spring-forward gap to one fire.
    """
    fires = croniter(expression, after.astimezone(zone).replace(tzinfo=None))
    last = after
    while True:
        instant = to_instant(fires.get_next(datetime), zone)
        if instant > last:
            last = instant
            yield instant


def jitter_offset(key: str, jitter: float) -> float:
    """A stable offset in ``[0, jitter)`` seconds for ``key``."""
    if jitter <= 0:
        return 0.0
    digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return (digest / 2**64) * jitter


@dataclass(frozen=True)
class CronTiming:
    """A cron expression in a time zone, every fire moved later by ``offset``."""

    expression: str
    zone: ZoneInfo
    offset: timedelta = timedelta(0)

    def next_after(self, instant: datetime) -> datetime | None:
        for fire in cron_fires(self.expression, self.zone, instant - self.offset):
            return fire + self.offset
        return None  # pragma: no cover  # croniter's iteration does not end

    def between(self, start: datetime, end: datetime, limit: int = MAX_FIRES) -> list[datetime]:
        found: list[datetime] = []
        if end <= start:
            return found
        for fire in cron_fires(self.expression, self.zone, start - self.offset):
            shifted = fire + self.offset
            if shifted > end or len(found) >= limit:
                break
            found.append(shifted)
        return found


@dataclass(frozen=True)
class EveryTiming:
    """``every: seconds``: the multiples of the interval since the epoch, moved later by ``offset``."""

    seconds: float
    offset: timedelta = timedelta(0)

    def _step(self) -> int:
        return max(1, round(self.seconds * 1_000_000))

    def _index_after(self, instant: datetime) -> int:
        """The index of the first grid point strictly after ``instant``."""
        micros = (instant - EPOCH - self.offset) // _MICRO
        return micros // self._step() + 1

    def _at(self, index: int) -> datetime:
        return EPOCH + self.offset + index * self._step() * _MICRO

    def next_after(self, instant: datetime) -> datetime | None:
        return self._at(self._index_after(instant))

    def between(self, start: datetime, end: datetime, limit: int = MAX_FIRES) -> list[datetime]:
        if end <= start:
            return []
        first, last = self._index_after(start), self._index_after(end) - 1
        return [self._at(i) for i in range(first, min(last, first + limit - 1) + 1)]


def schedule_key(kind: str, name: str) -> str:
    """The key of a task's or queue's schedule: its timer's name and the seed of its jitter."""
    return f"{kind}/{name}"


def timing_of(
    key: str, schedule: str | Every | None, jitter: float, zone: str | ZoneInfo
) -> CronTiming | EveryTiming | None:
    """The timing of one task or queue schedule; None for ``once`` and no schedule."""
    if schedule is None or schedule == "once":
        return None
    offset = timedelta(seconds=jitter_offset(key, jitter))
    if isinstance(schedule, Every):
        return EveryTiming(schedule.every, offset)
    return CronTiming(schedule, zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone), offset)
