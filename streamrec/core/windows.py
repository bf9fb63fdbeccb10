"""Recording windows: when a scheduled channel should be recording, as UTC intervals.

Pure: every function takes ``now`` (or a range) and a time zone. The daemon asks
:func:`active_interval` whether a channel should record right now (so a daemon started inside a window
records the rest of it) and :func:`next_change` when to look again; ``status`` shows
:func:`upcoming` intervals.

Local times are turned into instants with these rules, across DST:

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

from croniter import croniter

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
    # naive local times: croniter then never produces a wall-clock time twice
    cursor = (start - length).astimezone(zone).replace(tzinfo=None) - timedelta(minutes=1)
    stop = end.astimezone(zone).replace(tzinfo=None) + timedelta(hours=2)
    fires = croniter(window.cron, cursor)
    seen: set[datetime] = set()
    for _ in range(_MAX_CRON_FIRES):
        local: datetime = fires.get_next(datetime)
        if local > stop:
            return
        instant = to_instant(local, zone)
        if instant not in seen:
            seen.add(instant)
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
    for interval in upcoming(schedule, padding, zone, now, count=2, horizon=horizon):
        if interval.start > now:
            return interval.start
        if interval.end > now:
            return interval.end
    return None


def next_cron(expression: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The next fire time of a cron expression after ``now`` (UTC), by the same DST rules."""
    local = now.astimezone(zone).replace(tzinfo=None)
    fires = croniter(expression, local)
    while True:
        candidate = to_instant(fires.get_next(datetime), zone)
        if candidate > now:
            return candidate
