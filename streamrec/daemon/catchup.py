"""Runs missed while no daemon was running: run once if recent enough, else say so.

Called once by ``daemon.service`` after the first reconcile. The misfire policy, stated:

- For each task and queue with a cron schedule, the fire times between the moment the previous daemon
  was last alive and now are the missed runs (an ``every:`` interval counts as missed when its last
  run is older than one interval).
- If the latest missed run is at most ``grace`` old (default 60 s), it runs now, once; any older
  missed runs are coalesced into it and logged as one ``schedule.missed`` with their count.
- Otherwise nothing runs and one ``schedule.missed`` says which run was missed, by how much, and why.

No previous daemon (a fresh state directory), no missed runs: nothing to say.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from loguru import logger

from streamrec.runtime.scheduling import missed_fires
from streamrec.spec.model import Config, Every
from streamrec.spec.units import format_duration

if TYPE_CHECKING:  # pragma: no cover
    from streamrec.daemon.service import Daemon


def _since(entry: dict[str, Any] | None) -> datetime | None:
    started = (entry or {}).get("started_at")
    if isinstance(started, str):
        try:
            return datetime.fromisoformat(started.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def catch_up(daemon: Daemon, config: Config, last_alive: datetime | None, grace: float) -> None:
    """Run or report what was missed while no daemon ran (see the module docstring)."""
    if last_alive is None:
        return
    now = datetime.now(timezone.utc)
    state = daemon.journal.state()
    zone = config.settings.timezone
    objects: list[tuple[str, str, Any]] = [
        *(("task", n, t.schedule) for n, t in config.tasks.items()),
        *(("queue", n, q.schedule) for n, q in config.queues.items()),
    ]
    for kind, name, schedule in objects:
        if schedule is None or schedule == "once":
            continue
        if f"{kind}/{name}" not in daemon.current.hashes or not daemon.owns(kind, name):
            continue
        if isinstance(schedule, Every):
            entry = (state.get(f"{kind}s") or {}).get(name)
            last = _since(entry) or last_alive
            due = last + timedelta(seconds=schedule.every)
            fires = [due] if last_alive < due <= now else []
        else:
            fires = missed_fires(schedule, zone, last_alive, now)
        if not fires:
            continue
        latest = fires[-1]
        late = (now - latest).total_seconds()
        if late <= grace:
            logger.info(
                "{} {!r}: running the run missed at {} ({:.0f}s ago)", kind, name, latest, late
            )
            if len(fires) > 1:
                daemon.emit(
                    "schedule.missed",
                    kind=kind,
                    name=name,
                    fire_time=fires[0].isoformat(),
                    count=len(fires) - 1,
                    reason="daemon was not running; coalesced into one catch-up run",
                )
            daemon.fire(f"{kind}/{name}", latest)
        else:
            daemon.emit(
                "schedule.missed",
                kind=kind,
                name=name,
                fire_time=latest.isoformat(),
                count=len(fires),
                reason=(
                    f"daemon was not running at {latest:%Y-%m-%d %H:%M:%S}Z; now "
                    f"{format_duration(round(late))} late, beyond the "
                    f"{format_duration(grace)} grace: not run"
                ),
            )
