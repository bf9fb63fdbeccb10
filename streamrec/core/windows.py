"""Recording windows: when a scheduled channel should be recording, as UTC intervals.

Pure: every function takes ``now`` (or a range) and a time zone. The daemon (``daemon.channels``)
asks :func:`active_interval` whether a channel should record right now (so a daemon started inside a
window records the rest of it) and :class:`WindowTiming` when to look again; ``status`` shows
:func:`upcoming` intervals. :class:`WindowTiming` answers like every other schedule
(``core.schedule.Timing``): the next change after an instant, the changes between two.

Local times are turned into instants by ``core.schedule`` (the one engine), with these rules across
DST:

- a local time that does not exist (inside a spring-forward gap) means the first valid minute after
  the gap: a window starting at 02:30 on the night clocks jump from 02:00 to 03:00 starts at 03:00;
- a local time that exists twice (inside a fall-back hour) means its first occurrence, and each cron
  fire time is used once, so the repeated hour is never recorded twice;
- windows that overlap (or touch, with padding) merge into one interval: one recording, not two.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from streamrec.core.schedule import MAX_FIRES, cron_fires, to_instant
from streamrec.spec.model import WEEKDAYS, AtWindow, CronWindow, Padding, WeeklyWindow, Window

_MAX_CRON_FIRES = 5000
"""Cron windows yield at most this many intervals per query (a `* * * * *` with a long duration)."""


@dataclass(frozen=True, order=True)
class Interval:
    """One span of time to record, in UTC, half-open: ``start <= t < end``."""

    start: datetime
    end: datetime

    def __contains__(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _weekly(
    window: WeeklyWindow, zone: ZoneInfo, start: datetime, end: datetime
) -> Iterator[Interval]:
    days = {WEEKDAYS.index(d) for d in window.days}
    first = start.astimezone(zone).date() - timedelta(days=2)
    last = end.astimezone(zone).date() + timedelta(days=1)
    day = first
    while day <= last:
        if day.weekday() in days:
            yield _local_span(day, window.start, window.end, zone)
        day += timedelta(days=1)


def _local_span(day: date, start: time, end: time, zone: ZoneInfo) -> Interval:
    end_day = day if end > start else day + timedelta(days=1)
    return Interval(
        to_instant(datetime.combine(day, start), zone),
        to_instant(datetime.combine(end_day, end), zone),
    )


def _cron(window: CronWindow, zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[Interval]:
    length = timedelta(seconds=window.duration)
    # a fire at or before start - length ends before start; one at or after end starts after it
    for count, instant in enumerate(cron_fires(window.cron, zone, start - length)):
        if instant >= end or count >= _MAX_CRON_FIRES:
            return
        yield Interval(instant, instant + length)


def _at(window: AtWindow, zone: ZoneInfo) -> Interval:
    at = window.at
    instant = to_instant(at, zone) if at.tzinfo is None else at.astimezone(timezone.utc)
    return Interval(instant, instant + timedelta(seconds=window.duration))


def _raw(window: Window, zone: ZoneInfo, start: datetime, end: datetime) -> Iterable[Interval]:
    if isinstance(window, WeeklyWindow):
        return _weekly(window, zone, start, end)
    if isinstance(window, CronWindow):
        return _cron(window, zone, start, end)
    return [_at(window, zone)]


def intervals(
    schedule: Iterable[Window],
    padding: Padding,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
) -> list[Interval]:
    """The merged, padded recording intervals that overlap ``[start, end)``, in order."""
    before, after = timedelta(seconds=padding.before), timedelta(seconds=padding.after)
    spans = sorted(
        Interval(i.start - before, i.end + after)
        for window in schedule
        for i in _raw(window, zone, start - before, end + after)
    )
    merged: list[Interval] = []
    for span in spans:
        if merged and span.start <= merged[-1].end:
            if span.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, span.end)
        else:
            merged.append(span)
    return [i for i in merged if i.end > start and i.start < end]


_HORIZON = timedelta(days=8)
"""How far ahead to look: a weekly window recurs within 7 days; a one-off or cron may not."""


def active_interval(
    schedule: Iterable[Window], padding: Padding, zone: ZoneInfo, now: datetime
) -> Interval | None:
    """The interval containing ``now``, or None when the channel should not record now."""
    schedule = tuple(schedule)
    for interval in intervals(schedule, padding, zone, now, now + timedelta(seconds=1)):
        if now in interval:
            return interval
    return None


def upcoming(
    schedule: Iterable[Window],
    padding: Padding,
    zone: ZoneInfo,
    now: datetime,
    count: int = 3,
    horizon: timedelta = _HORIZON,
) -> list[Interval]:
    """The next ``count`` intervals that end after ``now`` (the current one first, if any)."""
    return intervals(tuple(schedule), padding, zone, now, now + horizon)[:count]


def next_change(
    schedule: Iterable[Window],
    padding: Padding,
    zone: ZoneInfo,
    now: datetime,
    horizon: timedelta = _HORIZON,
) -> datetime | None:
    """The next instant after ``now`` at which recording should start or stop; None if never.

    Beyond ``horizon`` nothing is promised: the caller asks again at ``now + horizon``.
    """
    changes = WindowTiming(tuple(schedule), padding, zone).between(now, now + horizon, limit=1)
    return changes[0] if changes else None


_SEARCH = 50
"""How many horizons :meth:`WindowTiming.next_after` looks through (about 13 months)."""


@dataclass(frozen=True)
class WindowTiming:
    """A channel's windows as a :class:`~streamrec.core.schedule.Timing`.

    Its fire times are the changes: each start and end of a merged, padded interval, when recording
    should start or stop. ``daemon.channels`` arms its window timer at :meth:`next_after`.
    """

    windows: tuple[Window, ...]
    padding: Padding
    zone: ZoneInfo

    def next_after(self, instant: datetime) -> datetime | None:
        start = instant
        for _ in range(_SEARCH):
            found = self.between(start, start + _HORIZON, limit=1)
            if found:
                return found[0]
            start += _HORIZON
        return None

    def between(self, start: datetime, end: datetime, limit: int = MAX_FIRES) -> list[datetime]:
        # looked up one horizon further: an interval still going on at the end of a query has an
        # end there that is not real, so only changes well inside the query are trusted
        changes = sorted(
            edge
            for span in intervals(self.windows, self.padding, self.zone, start, end + _HORIZON)
            for edge in (span.start, span.end)
            if start < edge <= end
        )
        return changes[:limit]
