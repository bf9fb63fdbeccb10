"""Runs missed while no daemon ran are run once when recent, else logged as schedule.missed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from streamrec.core.clock import FakeClock
from streamrec.core.events import Event
from streamrec.daemon.catchup import catch_up
from streamrec.spec.model import Config
from streamrec.state.journal import Journal


class FakeDaemon:
    """What catch_up is handed: the log to emit to, the trigger, which keys it schedules, a clock."""

    def __init__(self, root: Path, keys: list[str], now: datetime | None = None) -> None:
        self.journal = Journal(root)
        self.keys = set(keys)
        self.fired: list[tuple[str, datetime]] = []
        self.clock = FakeClock(now or datetime.now(timezone.utc))

    def emit(self, event: Event, /) -> dict[str, Any]:
        return self.journal.append(event)

    def fire(self, key: str, when: datetime) -> None:
        self.fired.append((key, when))

    def catch_up(self, config: Config, last_alive: datetime | None, grace: float) -> None:
        catch_up(
            config,
            last_alive,
            clock=self.clock,
            grace=grace,
            emit=self.emit,
            fire=self.fire,
            schedules=lambda key: key in self.keys,
        )


def config_with(schedule: Any) -> Config:
    return Config.model_validate(
        {"tasks": {"t": {"command": "true", "schedule": schedule}}, "queues": {}}
    )


def test_recent_missed_cron_run_runs_once_and_older_ones_are_coalesced(tmp_path):
    """Down across several minutely fires with the last one seconds ago: one run, one log line."""
    now = datetime.now(timezone.utc)
    daemon = FakeDaemon(tmp_path, ["task/t"], now)
    daemon.catch_up(config_with("* * * * *"), now - timedelta(minutes=5), grace=120)
    assert [key for key, _ in daemon.fired] == ["task/t"]
    missed = [e for e in daemon.journal.read() if e["type"] == "schedule.missed"]
    assert len(missed) == 1 and missed[0]["count"] >= 3
    assert "coalesced" in missed[0]["reason"]


def test_old_missed_run_is_logged_with_its_reason_and_not_run(tmp_path):
    """A daily run missed hours ago is beyond the grace: logged, not run."""
    now = datetime.now(timezone.utc)
    daemon = FakeDaemon(tmp_path, ["task/t"], now)
    hour = (now - timedelta(hours=2)).hour
    daemon.catch_up(config_with(f"0 {hour} * * *"), now - timedelta(hours=3), grace=60)
    assert daemon.fired == []
    (missed,) = [e for e in daemon.journal.read() if e["type"] == "schedule.missed"]
    assert missed["name"] == "t" and missed["kind"] == "task"
    assert "beyond the 1m grace: not run" in missed["reason"]


def test_nothing_is_said_without_a_previous_daemon_or_for_new_tasks(tmp_path):
    """A fresh state dir, or a task that was not applied before, has missed nothing."""
    now = datetime.now(timezone.utc)
    daemon = FakeDaemon(tmp_path, [], now)
    daemon.catch_up(config_with("* * * * *"), None, grace=60)
    daemon.catch_up(config_with("* * * * *"), now - timedelta(hours=1), grace=60)
    assert daemon.fired == []
    assert list(daemon.journal.read()) == []


def test_missed_every_runs_are_the_epoch_grid_points_since_the_last_daemon(tmp_path):
    """`every: 1h` down from 20:10 to 01:00:30 missed 21:00 to 01:00: the 01:00 run runs, four coalesced."""
    now = datetime(2030, 3, 31, 1, 0, 30, tzinfo=timezone.utc)
    daemon = FakeDaemon(tmp_path, ["task/t"], now)
    daemon.catch_up(
        config_with({"every": "1h"}), datetime(2030, 3, 30, 20, 10, tzinfo=timezone.utc), grace=60
    )
    assert daemon.fired == [("task/t", datetime(2030, 3, 31, 1, 0, tzinfo=timezone.utc))]
    (missed,) = [e for e in daemon.journal.read() if e["type"] == "schedule.missed"]
    assert missed["count"] == 4 and missed["fire_time"] == "2030-03-30T21:00:00.000Z"


def test_the_latest_of_very_many_missed_runs_is_the_one_that_runs(tmp_path):
    """Down for ten days under a minutely cron: the run of the last minute runs, not an old one."""
    now = datetime(2030, 1, 11, 12, 0, 20, tzinfo=timezone.utc)
    daemon = FakeDaemon(tmp_path, ["task/t"], now)
    daemon.catch_up(config_with("* * * * *"), now - timedelta(days=10), grace=60)
    assert daemon.fired == [("task/t", datetime(2030, 1, 11, 12, 0, tzinfo=timezone.utc))]
