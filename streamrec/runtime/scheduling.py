"""Timed triggers for the daemon: task and queue schedules, and channel window changes.

A thin wrapper around APScheduler 3 (the only module that imports it). APScheduler only says *when*;
what happens is the daemon's callback, which hands the work to the task runner and returns at once,
so APScheduler never sees a job overlap (overlap is the task's concurrency policy's business).

Decisions made here, deliberately (APScheduler's defaults skip missed runs silently):

- ``misfire_grace_time`` is the daemon's grace (default 60 s): a fire that is late by less (a busy
  event loop, a suspended machine) still runs; a later one is reported to ``on_missed`` (the daemon
  logs ``schedule.missed``). ``coalesce`` folds a backlog into one run.
- Crons are evaluated in ``settings.timezone``; a cron time inside a DST gap fires when the gap ends
  (APScheduler's behaviour), a repeated hour fires once.
- Jitter is deterministic: each job is shifted by a fixed offset in ``[0, jitter)`` derived from its
  key, so a fleet of tasks with the same cron spreads out, and restarts keep the same times.
- Runs missed while the daemon was down are the daemon's business (see ``missed_fires``), since the
  job store is in memory by design: the state log is the record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from croniter import croniter
from loguru import logger

from streamrec.spec.model import Every

Fire = Callable[[str, datetime], None]
"""Called with the job key and the scheduled fire time (UTC)."""


def jitter_offset(key: str, jitter: float) -> float:
    """A stable offset in ``[0, jitter)`` seconds for ``key``."""
    if jitter <= 0:
        return 0.0
    digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return (digest / 2**64) * jitter


class _Shifted(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """Another trigger, every fire time moved later by a fixed offset."""

    def __init__(self, inner: BaseTrigger, offset: float) -> None:
        self.inner = inner
        self.offset = timedelta(seconds=offset)

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
        prev = previous - self.offset if previous is not None else None
        nxt: datetime | None = self.inner.get_next_fire_time(prev, now - self.offset)
        return nxt + self.offset if nxt is not None else None

    def __str__(self) -> str:
        return f"{self.inner} + {self.offset.total_seconds():.0f}s"


def _trigger(schedule: str | Every, zone: tzinfo, key: str, jitter: float) -> BaseTrigger:
    trigger: BaseTrigger
    if isinstance(schedule, Every):
        trigger = IntervalTrigger(seconds=schedule.every, timezone=zone)
    else:
        trigger = CronTrigger.from_crontab(_crontab(schedule), timezone=zone)
    offset = jitter_offset(key, jitter)
    return _Shifted(trigger, offset) if offset else trigger


_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def _crontab(expression: str) -> str:
    return _NICKNAMES.get(expression, expression)


class Scheduler:
    """Keyed jobs on the running event loop; replacing a key replaces its job."""

    def __init__(self, zone: str, fire: Fire, on_missed: Fire, grace: float = 60.0) -> None:
        self.zone = ZoneInfo(zone)
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
        self._scheduler.add_job(
            self._fire_now,
            _trigger(schedule, self.zone, key, jitter),
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
        self._fire(key, datetime.now(timezone.utc).replace(microsecond=0))

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


def missed_fires(
    schedule: str | Every, zone: str, since: datetime, now: datetime, limit: int = 1000
) -> list[datetime]:
    """Cron fire times in ``(since, now]`` (UTC): what a daemon that was down missed.

    Interval schedules have no fixed times; the daemon treats an interval whose last run is older
    than one interval as one missed fire (see the daemon), so this returns [] for them.
    """
    if isinstance(schedule, Every):
        return []
    local_zone = ZoneInfo(zone)
    cursor = since.astimezone(local_zone)
    fires = croniter(_crontab(schedule), cursor)
    found: list[datetime] = []
    for _ in range(limit):
        when: datetime = fires.get_next(datetime)
        if when > now:
            break
        found.append(when.astimezone(timezone.utc))
    return found
