"""Runs missed while no daemon was running: run once if recent enough, else say so.

Called once by ``daemon.service`` after the first reconcile, with the config, the moment the previous
daemon was last alive, the clock, and the daemon's ``emit`` and ``fire``; it knows nothing else of the
daemon. The misfire policy, stated:

- For each task and queue this daemon schedules, the missed runs are its fire times (cron, ``every:``
  and jitter by the one engine, ``core.schedule``, as the daemon's timers fire them) after the
  moment the previous daemon was last alive, up to now.
- If the latest missed run is at most ``grace`` old (default 60 s), it runs now, once; any older
  missed runs are coalesced into it and logged as one ``schedule.missed`` with their count.
- Otherwise nothing runs and one ``schedule.missed`` says which run was missed, by how much, and why.

No previous daemon (a fresh state directory), no missed runs: nothing to say.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from streamrec.core.clock import Clock
from streamrec.core.events import Emit, ScheduleMissed
from streamrec.core.schedule import Timing, schedule_key, timing_of
from streamrec.core.timestamps import format_ts
from streamrec.log import logger
from streamrec.spec.model import Config
from streamrec.spec.units import format_duration

Fire = Callable[[str, datetime], None]
"""``fire(key, when)``: runs the task or queue of ``key`` now, for its fire time ``when``."""

_LIMIT = 10_000
"""The most missed fire times listed per object (a minutely cron down for a week)."""
_TAIL = timedelta(days=1)
"""When more runs were missed than the engine lists, the latest is looked for in this last stretch."""


def _missed(timing: Timing, since: datetime, now: datetime) -> tuple[list[datetime], datetime]:
    """The missed fire times (the oldest ones, if very many) and the latest of all."""
    fires = timing.between(since, now, limit=_LIMIT)
    latest = fires[-1] if fires else since
    if len(fires) == _LIMIT:  # the list stops short of now: the latest is near the end
        tail = timing.between(max(since, now - _TAIL), now)
        latest = tail[-1] if tail else latest
    return fires, latest


def catch_up(
    config: Config,
    last_alive: datetime | None,
    *,
    clock: Clock,
    grace: float,
    emit: Emit,
    fire: Fire,
    schedules: Callable[[str], bool],
) -> None:
    """Run or report what was missed while no daemon ran (see the module docstring).

    ``schedules(key)`` says whether this daemon schedules the task or queue of ``key``
    (``task/NAME``, ``queue/NAME``): applied by it and owned by its shard.
    """
    if last_alive is None:
        return
    now = clock.now()
    zone = config.settings.timezone
    objects = [
        *(("task", n, t.schedule, t.jitter) for n, t in config.tasks.items()),
        *(("queue", n, q.schedule, q.jitter) for n, q in config.queues.items()),
    ]
    for kind, name, schedule, jitter in objects:
        key = schedule_key(kind, name)
        timing = timing_of(key, schedule, jitter, zone)
        if timing is None or not schedules(key):
            continue
        fires, latest = _missed(timing, last_alive, now)
        if not fires:
            continue
        late = (now - latest).total_seconds()
        if late <= grace:
            logger.bind(**{kind: name}).info(
                "{} {!r}: running the run missed at {} ({:.0f}s ago)", kind, name, latest, late
            )
            if len(fires) > 1:
                emit(
                    ScheduleMissed(
                        kind=kind,
                        name=name,
                        fire_time=format_ts(fires[0]),
                        count=len(fires) - 1,
                        reason="daemon was not running; coalesced into one catch-up run",
                    )
                )
            fire(key, latest)
        else:
            emit(
                ScheduleMissed(
                    kind=kind,
                    name=name,
                    fire_time=format_ts(latest),
                    count=len(fires),
                    reason=(
                        f"daemon was not running at {latest:%Y-%m-%d %H:%M:%S}Z; now "
                        f"{format_duration(round(late))} late, beyond the "
                        f"{format_duration(grace)} grace: not run"
                    ),
                )
            )
