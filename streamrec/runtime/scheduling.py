"""Timed triggers for the daemon: task and queue schedules, and channel window changes.

A thin wrapper around APScheduler 3 (the only module that imports it). APScheduler is only the timer
that wakes the event loop: *when* a schedule fires is asked of ``core.schedule`` (the one engine,
which ``status`` and the catch-up ask too), through a trigger that hands APScheduler the engine's
next fire after the previous one. What happens is the daemon's callback, which hands the work to the
task runner and returns at once, so APScheduler never sees a job overlap (overlap is the task's
concurrency policy's business). ``daemon.service`` builds the :class:`Scheduler`; ``daemon.channels``
sets its window timers with :meth:`Scheduler.at`.

Decisions made here, deliberately (APScheduler's defaults skip missed runs silently):

- ``misfire_grace_time`` is the daemon's grace (default 60 s): a fire that is late by less (a busy
  event loop, a suspended machine) still runs; a later one is reported to ``on_missed`` (the daemon
  logs ``schedule.missed``). ``coalesce`` folds a backlog into one run.
- The first fire of a job is the engine's next fire after the injected clock's ``now``; each later
  one is the next after the previous fire, so a chain of fire times never depends on when APScheduler
  woke up. Crons in ``settings.timezone``, ``every:`` grids, DST and jitter are the engine's rules.
- Runs missed while the daemon was down are ``daemon.catchup``'s business, since the job store is in
  memory by design: the state log is the record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger

from streamrec.core.clock import Clock
from streamrec.core.schedule import Timing, timing_of
from streamrec.log import logger
from streamrec.spec.model import Every

Fire = Callable[[str, datetime], None]
"""Called with the job key and the scheduled fire time (UTC)."""


class _Asking(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """A trigger whose fire times are the engine's: the next after the previous one (or ``now``)."""

    def __init__(self, timing: Timing, clock: Clock) -> None:
        self.timing = timing
        self.clock = clock

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
        # APScheduler's ``now`` is its own clock reading; the first fire is after the injected one
        return self.timing.next_after(previous if previous is not None else self.clock.now())

    def __str__(self) -> str:
        return f"asking {self.timing}"


class Scheduler:
    """Keyed jobs on the running event loop; replacing a key replaces its job."""

    def __init__(
        self,
        zone: str,
        fire: Fire,
        on_missed: Fire,
        grace: float = 60.0,
        *,
        clock: Clock,
    ) -> None:
        self.zone = ZoneInfo(zone)
        self.clock = clock
        self._fire = fire
        self._on_missed = on_missed
        self._scheduler = AsyncIOScheduler(
            timezone=self.zone,
            job_defaults={"misfire_grace_time": int(grace), "coalesce": True, "max_instances": 1},
        )
        self._scheduler.add_listener(self._missed, EVENT_JOB_MISSED)

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def set_zone(self, zone: str) -> None:
        """A new settings.timezone: jobs added from now on use it (the daemon re-adds all)."""
        self.zone = ZoneInfo(zone)

    def schedule(self, key: str, schedule: str | Every, jitter: float = 0.0) -> None:
        """Run ``fire(key, …)`` on a cron expression or an interval; replaces any job of ``key``."""
        timing = timing_of(key, schedule, jitter, self.zone)
        if timing is None:  # ``once`` has no times; the daemon runs it after each apply
            self.remove(key)
            return
        self._scheduler.add_job(
            self._fire_now,
            _Asking(timing, self.clock),
            args=[key],
            id=key,
            replace_existing=True,
            name=key,
        )

    def at(self, key: str, when: datetime) -> None:
        """Run ``fire(key, when)`` once at ``when``; replaces any job of ``key``."""
        self._scheduler.add_job(
            self._fire_at,
            DateTrigger(run_date=when),
            args=[key, when],
            id=key,
            replace_existing=True,
            misfire_grace_time=None,  # a late window change must still happen
        )

    async def _fire_now(self, key: str) -> None:
        # a coroutine function: AsyncIOScheduler runs it on the event loop, not in a thread
        self._fire(key, self.clock.now().replace(microsecond=0))

    async def _fire_at(self, key: str, when: datetime) -> None:
        self._fire(key, when)

    def remove(self, key: str) -> None:
        if self._scheduler.get_job(key) is not None:
            self._scheduler.remove_job(key)

    def job_keys(self) -> set[str]:
        return {job.id for job in self._scheduler.get_jobs()}

    def next_fire(self, key: str) -> datetime | None:
        """When the job of ``key`` runs next (UTC), or None."""
        job = self._scheduler.get_job(key)
        if job is None or job.next_run_time is None:
            return None
        when: datetime = job.next_run_time
        return when.astimezone(timezone.utc)

    def _missed(self, event: JobExecutionEvent) -> None:
        when: datetime = event.scheduled_run_time
        logger.warning("schedule: {} missed its run at {}", event.job_id, when)
        self._on_missed(event.job_id, when.astimezone(timezone.utc))
