"""Runs missed while no daemon ran are run once when recent, else logged as schedule.missed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from streamrec.core.planning import Applied
from streamrec.daemon.catchup import catch_up
from streamrec.spec.model import Config
from streamrec.state.journal import Journal


class FakeDaemon:
    """The parts of the daemon catch_up uses: the log, what is applied, and the trigger."""

    def __init__(self, root: Path, keys: list[str]) -> None:
        self.journal = Journal(root)
        self.current = Applied(revision="r", hashes={k: "h" for k in keys})
        self.fired: list[tuple[str, datetime]] = []

    def emit(self, type_: str, /, **fields: Any) -> dict[str, Any]:
        return self.journal.append(type_, **fields)

    def fire(self, key: str, when: datetime) -> None:
        self.fired.append((key, when))

    def owns(self, kind: str, name: str) -> bool:
        return True


def config_with(schedule: Any) -> Config:
    return Config.model_validate(
        {"tasks": {"t": {"command": "true", "schedule": schedule}}, "queues": {}}
    )


def test_recent_missed_cron_run_runs_once_and_older_ones_are_coalesced(tmp_path):
    """Down across several minutely fires with the last one seconds ago: one run, one log line."""
    daemon = FakeDaemon(tmp_path, ["task/t"])
    now = datetime.now(timezone.utc)
    catch_up(daemon, config_with("* * * * *"), now - timedelta(minutes=5), grace=120)  # type: ignore[arg-type]
    assert [key for key, _ in daemon.fired] == ["task/t"]
    missed = [e for e in daemon.journal.read() if e["type"] == "schedule.missed"]
    assert len(missed) == 1 and missed[0]["count"] >= 3
    assert "coalesced" in missed[0]["reason"]


def test_old_missed_run_is_logged_with_its_reason_and_not_run(tmp_path):
    """A daily run missed hours ago is beyond the grace: logged, not run."""
    daemon = FakeDaemon(tmp_path, ["task/t"])
    now = datetime.now(timezone.utc)
    hour = (now - timedelta(hours=2)).hour
    catch_up(daemon, config_with(f"0 {hour} * * *"), now - timedelta(hours=3), grace=60)  # type: ignore[arg-type]
    assert daemon.fired == []
    (missed,) = [e for e in daemon.journal.read() if e["type"] == "schedule.missed"]
    assert missed["name"] == "t" and missed["kind"] == "task"
    assert "beyond the 1m grace: not run" in missed["reason"]


def test_nothing_is_said_without_a_previous_daemon_or_for_new_tasks(tmp_path):
    """A fresh state dir, or a task that was not applied before, has missed nothing."""
    daemon = FakeDaemon(tmp_path, [])
    now = datetime.now(timezone.utc)
    catch_up(daemon, config_with("* * * * *"), None, grace=60)  # type: ignore[arg-type]
    catch_up(daemon, config_with("* * * * *"), now - timedelta(hours=1), grace=60)  # type: ignore[arg-type]
    assert daemon.fired == []
    assert list(daemon.journal.read()) == []
