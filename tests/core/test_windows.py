"""Recording windows give the right UTC intervals, across midnight and across DST."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from streamrec.core.schedule import to_instant
from streamrec.core.windows import active_interval, intervals, next_change, upcoming
from streamrec.spec.model import AtWindow, CronWindow, Padding, WeeklyWindow

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
NO_PADDING = Padding()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly(days: list[str], start: str, end: str) -> WeeklyWindow:
    return WeeklyWindow.model_validate({"days": days, "start": start, "end": end})


def test_window_crossing_midnight_belongs_to_its_start_day():
    """A Friday 22:00-02:00 window runs into Saturday and not on Saturday night."""
    window = weekly(["fri"], "22:00", "02:00")
    # 2026-12-04 is a Friday; Berlin is UTC+1 in December
    found = intervals([window], NO_PADDING, BERLIN, utc(2026, 12, 3), utc(2026, 12, 7))
    assert [(i.start, i.end) for i in found] == [(utc(2026, 12, 4, 21), utc(2026, 12, 5, 1))]


def test_daemon_started_inside_a_window_gets_the_rest_of_it():
    """At 23:30 inside a 22:00-02:00 window the active interval is the whole window."""
    window = weekly(["fri"], "22:00", "02:00")
    active = active_interval([window], NO_PADDING, BERLIN, utc(2026, 12, 4, 22, 30))
    assert active is not None
    assert active.end == utc(2026, 12, 5, 1)
    assert active_interval([window], NO_PADDING, BERLIN, utc(2026, 12, 5, 1)) is None


def test_padding_extends_both_ends_and_merges_neighbours():
    """Padding widens windows; two windows that then touch become one interval."""
    windows = [weekly(["mon"], "20:00", "21:00"), weekly(["mon"], "21:05", "22:00")]
    padding = Padding(before=120, after=300)
    found = intervals(windows, padding, ZoneInfo("UTC"), utc(2026, 12, 7), utc(2026, 12, 8))
    assert [(i.start, i.end) for i in found] == [
        (utc(2026, 12, 7, 19, 58), utc(2026, 12, 7, 22, 5))
    ]


def test_window_starting_in_spring_forward_gap_starts_at_first_valid_minute():
    """On 2026-03-29 Berlin skips 02:00-03:00: a 02:30 start begins at 03:00 local (01:00 UTC)."""
    window = weekly(["sun"], "02:30", "04:00")
    found = intervals([window], NO_PADDING, BERLIN, utc(2026, 3, 28), utc(2026, 3, 30))
    assert [(i.start, i.end) for i in found] == [(utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))]
    assert to_instant(datetime(2026, 3, 29, 2, 59), BERLIN) == utc(2026, 3, 29, 1)


def test_fall_back_hour_is_recorded_once():
    """On 2026-10-25 Berlin repeats 02:00-03:00: a daily 02:30 cron window fires once."""
    window = CronWindow.model_validate({"cron": "30 2 * * *", "duration": "10m"})
    found = intervals([window], NO_PADDING, BERLIN, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    assert [(i.start, i.end) for i in found] == [
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 40))
    ]


def test_cron_in_spring_forward_gap_fires_at_first_valid_minute():
    """A daily 02:30 cron on the spring-forward night fires once, at 03:00 local."""
    window = CronWindow.model_validate({"cron": "30 2 * * *", "duration": "10m"})
    found = intervals([window], NO_PADDING, BERLIN, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert [i.start for i in found] == [utc(2026, 3, 29, 1)]


def test_one_off_window_in_local_time_and_with_offset():
    """An `at` without offset is local; with an offset it is that instant."""
    local = AtWindow.model_validate({"at": "2026-12-31T23:00", "duration": "2h"})
    aware = AtWindow.model_validate({"at": "2026-12-31T23:00+00:00", "duration": "1h"})
    found = intervals([local, aware], NO_PADDING, BERLIN, utc(2026, 12, 31), utc(2027, 1, 2))
    assert [(i.start, i.end) for i in found] == [(utc(2026, 12, 31, 22), utc(2027, 1, 1, 0))]


def test_next_change_walks_starts_and_ends():
    """next_change gives the next start when outside, the end when inside, None when over."""
    window = AtWindow.model_validate({"at": "2026-12-31T23:00", "duration": "2h"})
    zone = ZoneInfo("UTC")
    assert next_change([window], NO_PADDING, zone, utc(2026, 12, 31, 12)) == utc(2026, 12, 31, 23)
    assert next_change([window], NO_PADDING, zone, utc(2026, 12, 31, 23, 30)) == utc(2027, 1, 1, 1)
    assert next_change([window], NO_PADDING, zone, utc(2027, 1, 2)) is None
    mondays = upcoming(
        [weekly(["mon"], "10:00", "11:00")],
        NO_PADDING,
        zone,
        utc(2026, 12, 1),
        horizon=timedelta(days=15),
    )
    assert [i.start for i in mondays] == [utc(2026, 12, 7, 10), utc(2026, 12, 14, 10)]


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
    st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]),
)
def test_local_times_map_to_instants_that_read_back_the_same_or_later(local, name):
    """Every wall-clock time maps to an instant that shows that time, or the end of its DST gap."""
    zone = ZoneInfo(name)
    instant = to_instant(local, zone)
    shown = instant.astimezone(zone).replace(tzinfo=None)
    assert shown >= local
    assert shown - local <= timedelta(hours=1)
