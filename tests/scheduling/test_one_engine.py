"""What `status` shows as next is what the daemon's scheduler fires, across DST and with jitter."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamrec.core.clock import FakeClock
from streamrec.core.schedule import Timing, timing_of
from streamrec.core.timestamps import format_ts
from streamrec.core.windows import WindowTiming
from streamrec.daemon.channels import ChannelSet
from streamrec.runtime.scheduling import Scheduler
from streamrec.spec.model import Config
from streamrec.state.report import build_status

UTC = timezone.utc
ZONES = ["Europe/Berlin", "America/New_York"]
SWITCHES = [  # DST changes after today, so the real scheduler never sees them as missed runs
    datetime(2030, 3, 10, 7, 0, tzinfo=UTC),  # New York springs forward
    datetime(2030, 3, 31, 1, 0, tzinfo=UTC),  # Berlin springs forward
    datetime(2030, 10, 27, 1, 0, tzinfo=UTC),  # Berlin falls back
    datetime(2030, 11, 3, 6, 0, tzinfo=UTC),  # New York falls back
    datetime(2031, 3, 30, 1, 0, tzinfo=UTC),
    datetime(2031, 11, 2, 6, 0, tzinfo=UTC),
]
CRONS = ["30 2 * * *", "*/20 * * * *", "0 * * * *", "15 1-3 * * *", "0 9 * * 1-5", "@daily"]
EVERY = ["1m", "45m", "1h", "6h", "7h", "1d"]
JITTER = ["0s", "30s", "10m", "2h"]

near_edges = st.builds(  # on, just before and just after quarter hours, where fire times are
    lambda quarters, nudge: quarters * 900 + nudge,
    st.integers(-36 * 4, 36 * 4),
    st.sampled_from([0, -1, 1, -59, 59]),
)
instants = st.builds(
    lambda switch, seconds, micros: switch + timedelta(seconds=seconds, microseconds=micros),
    st.sampled_from(SWITCHES),
    st.one_of(st.integers(-36 * 3600, 36 * 3600), near_edges),
    st.sampled_from([0, 1, 500_000]),
)
task_schedules = st.one_of(
    st.sampled_from(CRONS), st.sampled_from(EVERY).map(lambda e: {"every": e})
)
windows = st.one_of(
    st.builds(
        lambda days, start, end: {"days": days, "start": start, "end": end},
        st.lists(
            st.sampled_from(["mon", "tue", "sat", "sun"]), min_size=1, max_size=3, unique=True
        ),
        st.sampled_from(["01:30", "02:30", "03:00", "22:00"]),
        st.sampled_from(["02:15", "03:30", "04:00", "01:00"]),
    ),
    st.builds(
        lambda cron, duration: {"cron": cron, "duration": duration},
        st.sampled_from(["30 2 * * *", "0 */3 * * *", "45 1 * * 0"]),
        st.sampled_from(["10m", "1h", "90m"]),
    ),
    st.builds(
        lambda hours: {
            "at": (SWITCHES[1] + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M"),
            "duration": "2h",
        },
        st.integers(-48, 48),
    ),
)
nudges = st.one_of(st.none(), st.sampled_from([0, -1, 1, -59, 59]))
"""Seconds from a fire time or window change to look from; None: from the drawn instant."""
examples = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def config_of(zone: str, **sections: Any) -> Config:
    return Config.model_validate({"settings": {"timezone": zone}, **sections})


def status_at(config: Config, now: datetime) -> dict[str, Any]:
    return build_status(
        config, {}, now, live=None, directory="cfg", revision="r", applied_revision="r"
    )


def scheduler_next_fire(
    zone: str, now: datetime, key: str, schedule: Any, jitter: float
) -> datetime | None:
    """Where the daemon's real scheduler puts the job of ``key`` when its clock says ``now``."""

    async def ask() -> datetime | None:
        scheduler = Scheduler(zone, lambda *_: None, lambda *_: None, clock=FakeClock(now))
        scheduler.start()
        try:
            scheduler.schedule(key, schedule, jitter)
            return scheduler.next_fire(key)
        finally:
            scheduler.shutdown()

    return asyncio.run(ask())


def iterated(timing: Timing, start: datetime, end: datetime) -> list[datetime]:
    found: list[datetime] = []
    cursor = timing.next_after(start)
    while cursor is not None and cursor <= end:
        found.append(cursor)
        cursor = timing.next_after(cursor)
    return found


@examples
@given(
    st.sampled_from(ZONES), instants, task_schedules, st.sampled_from(JITTER), st.booleans(), nudges
)
def test_status_next_is_the_time_the_scheduler_fires_a_task_or_queue(
    zone, now, schedule, jitter, queue, nudge
):
    """For cron and every:, with jitter, around DST changes: status's next equals the job's next fire, twice in a row."""
    kind = "queue" if queue else "task"
    task = {"command": "true", "schedule": schedule, "jitter": jitter}
    sections = {"tasks": {"t": task}, "queues": {}}
    if queue:
        sections = {
            "tasks": {"t": {"command": "true"}},
            "queues": {"q": {"tasks": ["t"], "schedule": schedule, "jitter": jitter}},
        }
    config = config_of(zone, **sections)
    name = "q" if queue else "t"
    obj = (config.queues if queue else config.tasks)[name]
    timing = timing_of(f"{kind}/{name}", obj.schedule, obj.jitter, zone)
    first = timing.next_after(now) if timing is not None else None
    if nudge is not None and first is not None:  # on or next to a fire time
        now = first + timedelta(seconds=nudge)
    for _ in range(2):  # the fire after the first one: where the daemon goes next
        shown = status_at(config, now)[f"{kind}s"][name]["next_fire"]
        fires = scheduler_next_fire(zone, now, f"{kind}/{name}", obj.schedule, obj.jitter)
        assert fires is not None and fires > now
        assert shown == format_ts(fires)  # the state log's stamp of the fire time
        now = fires


@examples
@given(
    st.sampled_from(ZONES),
    instants,
    st.lists(windows, min_size=1, max_size=3),
    st.sampled_from([0, 300, 900]),
    nudges,
    st.integers(0, 30),
)
def test_the_daemon_window_timer_is_the_next_change_status_shows(
    tmp_path_factory, zone, now, schedule, padding, nudge, pick
):
    """A channel's window timer in the real scheduler is the first window start or end after now that status lists."""
    config = config_of(
        zone,
        channels={
            "c": {
                "url": "http://127.0.0.1/a.m3u8",
                "schedule": schedule,
                "padding": {"before": padding, "after": padding},
            }
        },
    )
    channel = config.channels["c"]
    timing = WindowTiming(tuple(channel.schedule), channel.padding, ZoneInfo(zone))
    near = timing.between(now - timedelta(days=2), now + timedelta(days=2))
    if nudge is not None and near:  # on or next to a window start or end, where it matters most
        now = near[pick % len(near)] + timedelta(seconds=nudge)
    listed = status_at(config, now)["channels"]["c"]["windows"]
    edges = sorted(
        e
        for w in listed
        for e in (datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"]))
        if e > now
    )
    pids = tmp_path_factory.mktemp("pids")

    async def armed() -> datetime | None:
        scheduler = Scheduler(zone, lambda *_: None, lambda *_: None, clock=FakeClock(now))
        channels = ChannelSet(
            make_recorder=lambda _name, _channel: IdleRecorder(),  # type: ignore[arg-type,return-value]
            set_timer=scheduler.at,
            cancel_timer=scheduler.remove,
            pids_dir=Path(pids),
            emit=lambda *_a, **_k: None,
            zone=zone,
            clock=FakeClock(now),
        )
        scheduler.start()
        try:
            await channels.set("c", channel)
            return scheduler.next_fire(channels.timer_key("c"))
        finally:
            await channels.stop_all("test over")
            scheduler.shutdown()

    timer = asyncio.run(armed())
    if edges:
        assert timer == edges[0] == timing.next_after(now)
    else:  # nothing in status's eight days: the daemon looks again later, at the latest in a week
        assert timer is not None and timer >= now + timedelta(days=7)


@examples
@given(
    st.sampled_from(ZONES), instants, task_schedules, st.sampled_from(JITTER), st.integers(1, 96)
)
def test_fires_between_agrees_with_iterating_next_after_for_tasks(
    zone, start, schedule, jitter, hours
):
    """Listing fires in (a, b] gives exactly the chain of next-after answers, DST and jitter included."""
    task = config_of(
        zone, tasks={"t": {"command": "true", "schedule": schedule, "jitter": jitter}}
    ).tasks["t"]
    timing = timing_of("task/t", task.schedule, task.jitter, zone)
    assert timing is not None
    end = start + timedelta(hours=hours)
    assert timing.between(start, end) == iterated(timing, start, end)


@examples
@given(
    st.sampled_from(ZONES), instants, st.lists(windows, min_size=1, max_size=3), st.integers(1, 240)
)
def test_window_changes_between_agree_with_iterating_next_after(zone, start, schedule, hours):
    """A channel's window changes in (a, b] are the chain of its next-change answers."""
    channel = config_of(
        zone, channels={"c": {"url": "http://127.0.0.1/a", "schedule": schedule}}
    ).channels["c"]
    timing = WindowTiming(tuple(channel.schedule), channel.padding, ZoneInfo(zone))
    end = start + timedelta(hours=hours)
    assert timing.between(start, end) == iterated(timing, start, end)


@examples
@given(st.sampled_from(ZONES), instants, st.sampled_from(CRONS))
def test_cron_fires_are_matching_wall_times_used_once_or_the_end_of_a_gap(zone, start, expression):
    """Each fire reads as a wall time the cron matches (or is the instant a DST gap ends), never twice."""
    local_zone = ZoneInfo(zone)
    timing = timing_of("task/t", expression, 0, zone)
    assert timing is not None
    fires = timing.between(start, start + timedelta(hours=30))
    readings = [f.astimezone(local_zone).replace(tzinfo=None) for f in fires]
    assert len(set(readings)) == len(readings)
    for fire, reading in zip(fires, readings, strict=True):
        gap_ends_here = (fire - timedelta(seconds=1)).astimezone(
            local_zone
        ).utcoffset() != fire.astimezone(local_zone).utcoffset()
        assert croniter.match(expression, reading) or gap_ends_here


class IdleRecorder:
    """A recorder that records nothing until stopped (the window timer is what is looked at)."""

    def __init__(self) -> None:
        self._stopped = asyncio.Event()

    async def run(self, duration: float | None) -> str:
        await self._stopped.wait()
        return "stopped"

    def stop(self, reason: str) -> None:
        self._stopped.set()
