"""The scheduler wrapper fires on time, keeps jitter stable, and reports what it missed."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from streamrec.core.schedule import jitter_offset, timing_of
from streamrec.runtime.clock import SYSTEM_CLOCK
from streamrec.runtime.scheduling import Scheduler
from streamrec.spec.model import Every

UTC = timezone.utc


def test_jitter_is_deterministic_and_within_bounds():
    """The same key always gets the same offset below the jitter; keys spread out."""
    offsets = [jitter_offset(f"task/t{i}", 300) for i in range(200)]
    assert offsets == [jitter_offset(f"task/t{i}", 300) for i in range(200)]
    assert all(0 <= o < 300 for o in offsets)
    assert len({round(o) for o in offsets}) > 100
    assert jitter_offset("task/x", 0) == 0


def test_missed_fires_lists_cron_times_in_the_zone():
    """Cron fire times between two instants are listed in UTC, evaluated in the settings zone."""
    since = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    now = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    cron = timing_of("task/t", "30 3 * * *", 0, "Europe/Istanbul")
    assert cron is not None
    assert cron.between(since, now) == [datetime(2026, 12, 1, 0, 30, tzinfo=UTC)]  # 03:30 at UTC+3


def test_every_fires_on_a_grid_anchored_at_the_epoch():
    """`every: 6h` fires at 00, 06, 12 and 18 UTC whatever the zone, and jitter shifts the grid."""
    since = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    now = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    every = timing_of("task/t", Every(every=6 * 3600), 0, "Europe/Istanbul")
    assert every is not None
    assert every.between(since, now) == [since + timedelta(hours=h) for h in (6, 12, 18, 24)]
    shifted = timing_of("task/t", Every(every=6 * 3600), 600, "UTC")
    assert shifted is not None
    offset = timedelta(seconds=jitter_offset("task/t", 600))
    assert shifted.next_after(since) == since + offset


async def test_interval_jobs_and_one_off_timers_fire_on_the_event_loop():
    """An every-1s job fires repeatedly and an `at` timer fires once, both in the loop's thread."""
    fired: list[tuple[str, datetime]] = []
    loop = asyncio.get_running_loop()
    scheduler = Scheduler(
        "UTC", lambda key, when: fired.append((key, when)), lambda *_: None, clock=SYSTEM_CLOCK
    )
    scheduler.start()
    try:
        scheduler.schedule("task/tick", Every(every=1))
        scheduler.at("window/x", datetime.now(UTC) + timedelta(milliseconds=300))
        assert scheduler.next_fire("task/tick") is not None
        await asyncio.sleep(2.6)
        assert asyncio.get_running_loop() is loop
    finally:
        scheduler.shutdown()
    keys = [key for key, _ in fired]
    assert keys.count("window/x") == 1
    assert 2 <= keys.count("task/tick") <= 3
    scheduler.remove("task/tick")
    assert "task/tick" not in scheduler.job_keys()
