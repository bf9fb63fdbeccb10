"""The daemon's timed work: task and queue schedules, window timers, ``once`` tasks.

``daemon.service`` makes one :class:`Schedules` and hands its :attr:`Schedules.scheduler` to the
channels (window timers). ``daemon.reconciler`` calls :meth:`Schedules.set` for each added or
changed task and queue, :meth:`Schedules.remove` for each removed one, :meth:`Schedules.configure`
when the settings changed, and :meth:`Schedules.run_once_tasks` after each apply. A timer that fires
(``runtime.scheduling``) hands its work to the task runner, or to the channels for a window, in a
background task and returns at once; a fire later than the grace is logged as ``schedule.missed``.

Which daemon schedules what is decided by the shard (``core.sharding``): a task or queue pinned to
a shard that does not exist is not scheduled anywhere, with a warning. In an etcd cluster
(``daemon.cluster``) the leader schedules everything, and the service calls :meth:`Schedules.configure`
again when leadership changes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from streamrec.core.clock import Clock
from streamrec.core.events import Emit, ScheduleMissed
from streamrec.core.sharding import Ownership, Shard
from streamrec.core.timestamps import format_ts
from streamrec.errors import StreamrecError, TaskError
from streamrec.log import logger
from streamrec.runtime.scheduling import Scheduler
from streamrec.runtime.tasks.graph import run_once_tasks, run_queue
from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.spec.model import Config, Queue, Task

Spawn = Callable[[Coroutine[Any, Any, Any], str], Any]
"""Run a coroutine in the background under a name (the daemon cancels them at shutdown)."""
Windows = Callable[[str], Coroutine[Any, Any, Any]]
"""Look again at channel ``name`` because one of its windows opened or closed."""


class Schedules:
    """The daemon's schedules on one ``runtime.scheduling.Scheduler`` (module docstring)."""

    def __init__(
        self,
        *,
        zone: str,
        runner: TaskRunner,
        windows: Windows,
        emit: Emit,
        spawn: Spawn,
        shard: Ownership,
        clock: Clock,
        grace: float = 60.0,
    ) -> None:
        self._runner = runner
        self._windows = windows
        self._emit = emit
        self._spawn = spawn
        self._shard = shard
        self._grace = grace
        self.scheduler = Scheduler(zone, self.fire, self._missed, grace=grace, clock=clock)

    def configure(self, config: Config) -> None:
        """The settings changed: the new time zone, and every task and queue scheduled again."""
        self.scheduler.set_zone(config.settings.timezone)
        for name, task in config.tasks.items():
            self.set(f"task/{name}", task)
        for name, queue in config.queues.items():
            self.set(f"queue/{name}", queue)

    def set(self, key: str, obj: Task | Queue) -> None:
        """(Re)schedule ``obj`` under ``key`` when this daemon owns its schedule, else unschedule."""
        schedule = obj.schedule
        if schedule is not None and schedule != "once" and self.owns(obj):
            self.scheduler.schedule(key, schedule, obj.jitter)
        else:
            self.scheduler.remove(key)

    def remove(self, key: str) -> None:
        """``key`` was removed from the config."""
        self.scheduler.remove(key)

    def owns(self, obj: Task | Queue) -> bool:
        """Whether this daemon schedules ``obj``: it has a time schedule and this shard owns it."""
        if obj.schedule is None or obj.schedule == "once":
            return False
        pinned = obj.shard
        if pinned is not None and isinstance(self._shard, Shard) and pinned >= self._shard.count:
            logger.warning(
                "pinned to shard {} but there are {} shards: not scheduled",
                pinned,
                self._shard.count,
            )
            return False
        return self._shard.owns_task(pinned)

    def owns_key(self, config: Config, key: str) -> bool:
        """Whether this daemon schedules the task or queue of ``key`` (``task/x``, ``queue/x``)."""
        kind, _, name = key.partition("/")
        obj = (config.tasks if kind == "task" else config.queues).get(name)
        return obj is not None and self.owns(obj)

    def run_once_tasks(self) -> None:
        """Run the ``schedule: once`` tasks due after an apply (they belong to shard 0, or to the
        cluster's leader)."""
        if self._shard.owns_task(None):
            self._spawn(self._once(), "once tasks")

    async def _once(self) -> None:
        try:
            await run_once_tasks(self._runner)
        except StreamrecError:
            logger.exception("once tasks failed")

    def fire(self, key: str, when: datetime) -> None:
        """A schedule or window timer fired for ``key`` (``task/x``, ``queue/x``, ``window/x``)."""
        kind, _, name = key.partition("/")
        if kind == "window":
            self._spawn(self._windows(name), f"window {name}")
        elif kind == "task":
            self._spawn(self._scheduled_task(name), f"scheduled {name}")
        elif kind == "queue":
            self._spawn(self._scheduled_queue(name), f"scheduled queue {name}")

    async def _scheduled_task(self, name: str) -> None:
        try:
            await self._runner.run(name, trigger="schedule")
        except TaskError as exc:  # logged by the runner as task.skipped
            logger.bind(task=name).warning("scheduled run of {!r}: {}", name, exc)

    async def _scheduled_queue(self, name: str) -> None:
        try:
            await run_queue(self._runner, name, trigger="schedule")
        except TaskError as exc:
            logger.bind(queue=name).warning("scheduled run of queue {!r}: {}", name, exc)

    def _missed(self, key: str, when: datetime) -> None:
        kind, _, name = key.partition("/")
        self._emit(
            ScheduleMissed(
                kind=kind,
                name=name,
                fire_time=format_ts(when),
                reason=f"fired more than {self._grace:.0f}s late (event loop blocked or "
                "machine suspended)",
            )
        )
