"""The task runner: one run of a task, from trigger to ``task.finished``, dependably.

Called by the CLI (``task run``), the Python API (``streamrec.api``), ``runtime.tasks.graph`` (queues,
DAGs, ``--with-deps``, ``once`` tasks), the daemon's schedules and the recorder's hooks. The one
entry point for a single run is :meth:`TaskRunner.run`::

    result = await runner.run("remux-mp4", trigger="hook",
                              context={"STREAMREC_CHANNEL": "news", "STREAMREC_FILE": path})

What one run does, in order, and where each step lives:

1. Admission (``runtime.tasks.admission``): its dependencies, unless the caller ordered them
   itself, then its concurrency policy (``forbid``, ``replace``, ``allow``) under the task's lock.
2. A run id from the counter in the task's lock file and the run's record there
   (``runtime.tasks.files``), then attempts
   (``runtime.tasks.attempt``): each waits for one of the ``max_parallel`` slots, runs the command
   with its timeout, and writes ``task.started`` and ``task.finished`` with the tails of both logs
   (``runtime.tasks.reporting``). A failed or timed-out attempt is retried after ``backoff``
   (doubling, ``core.lifecycle.retry_delay``) up to ``retries.limit`` times; this module waits
   out the backoff, and a stop asked meanwhile (here or by another process) ends the run
   ``canceled``.

Stopping (:meth:`TaskRunner.stop`, ``stop_queue``, ``stop_all``) reaches this process's runs through
their :class:`~streamrec.runtime.tasks.values.ActiveRun` and other processes' through their
records in the lock files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from streamrec.core.clock import Clock
from streamrec.core.definitions import definition_hash
from streamrec.core.events import Event
from streamrec.core.lifecycle import Trigger, retry_delay
from streamrec.core.redact import Redactor
from streamrec.core.runs import RunOutcome
from streamrec.errors import TaskError
from streamrec.runtime.clock import SYSTEM_CLOCK
from streamrec.runtime.tasks import attempt as attempts
from streamrec.runtime.tasks.admission import admit, check_dependencies
from streamrec.runtime.tasks.attempt import TAIL_BYTES, Attempt
from streamrec.runtime.tasks.files import (
    RunEntry,
    RunFiles,
    RunLock,
    StateLayout,
    new_record,
    stop_queue_runs,
    stop_requested,
    stop_task_runs,
)
from streamrec.runtime.tasks.reporting import RunReporter
from streamrec.runtime.tasks.values import (
    ActiveRun,
    EventLog,
    Observer,
    QueueHandle,
    Slots,
)
from streamrec.spec.model import Queue, Task


class TaskRunner:
    """Runs the tasks of one config (or of the Python API) against one state directory."""

    def __init__(
        self,
        tasks: Mapping[str, Task],
        *,
        layout: StateLayout,
        journal: EventLog,
        base_dir: Path,
        queues: Mapping[str, Queue] | None = None,
        max_parallel: int = 4,
        environ: Mapping[str, str] | None = None,
        timeout_grace: float = 0.5,
        stop_grace: float = 5.0,
        observer: Observer | None = None,
        redactor: Redactor | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.tasks: dict[str, Task] = dict(tasks)
        self.queues: dict[str, Queue] = dict(queues or {})
        self.layout = layout
        self.journal = journal
        self.base_dir = base_dir
        self.environ = dict(os.environ if environ is None else environ)
        self.timeout_grace = timeout_grace
        """SIGTERM to SIGKILL after a timeout: short, so a group ends within a second."""
        self.stop_grace = stop_grace
        """SIGTERM to SIGKILL for ``stop`` and ``replace``."""
        self.reporter = RunReporter(
            journal,
            observer=observer,
            redactor=redactor or Redactor.of(environ=self.environ),
            clock=clock,
            lookup=lambda name: self.tasks.get(name),
        )
        """Writes every event of this runner's runs (redacted) and shows it to the observer."""
        self.slots = Slots(max_parallel)
        self.active: dict[str, list[ActiveRun]] = {}
        self.queue_runs: dict[str, list[QueueHandle]] = {}
        self._known_runs: dict[str, int] | None = None

    @property
    def max_parallel(self) -> int:
        """How many attempts may run at once."""
        return self.slots.limit

    @property
    def redactor(self) -> Redactor:
        """Hides known secrets in output tails and reasons before they reach the state log."""
        return self.reporter.redactor

    def update(
        self,
        tasks: Mapping[str, Task],
        queues: Mapping[str, Queue] | None = None,
        max_parallel: int | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        """Take a new config (and the redactor that knows its secrets); runs in progress keep the
        definition they started with."""
        self.tasks = dict(tasks)
        if redactor is not None:
            self.reporter.redactor = redactor
        if queues is not None:
            self.queues = dict(queues)
        if max_parallel is not None:
            self.slots.limit = max_parallel

    def seen(self) -> dict[str, Any]:
        """The fold's ``tasks`` table: what the state log knows of each task."""
        tasks: dict[str, Any] = self.journal.shared_state().get("tasks", {})
        return tasks

    def _last_run(self, name: str) -> int:
        """The last run id the state log knows (seeds a task's new run counter).

        Read once per runner: every later run of any task goes through the counter in its lock
        file, so a missing counter can only be for runs logged before this runner started.
        """
        if self._known_runs is None:
            self._known_runs = {
                task: int(entry.get("run") or 0) for task, entry in self.seen().items()
            }
        return self._known_runs.get(name, 0)

    def stamp(self) -> str:
        """Now, as the state log writes times."""
        return self.reporter.stamp()

    def emit(self, event: Event) -> dict[str, Any]:
        """Append an event to the state log and show it (as written) to the observer."""
        return self.reporter.emit(event)

    def task(self, name: str) -> Task:
        """The definition of task ``name``; TaskError naming the known tasks when there is none."""
        try:
            return self.tasks[name]
        except KeyError:
            known = ", ".join(sorted(self.tasks)) or "none"
            raise TaskError(f"there is no task named {name!r} (tasks: {known})") from None

    def skip(self, name: str, reason: str, trigger: str, detail: str) -> RunOutcome:
        """Record a run that will not happen, and why (see :meth:`RunReporter.skip`)."""
        return self.reporter.skip(name, reason, trigger, detail)

    async def run(
        self,
        name: str,
        *,
        trigger: Trigger = "cli",
        context: Mapping[str, str] | None = None,
        check_deps: bool = True,
        queue: str | None = None,
    ) -> RunOutcome:
        """Run task ``name`` once (with its retries) and return how it ended.

        Raises TaskError for an unknown task and DependenceError for an unmet dependency (after
        logging the skip); every other outcome, skips included, is a :class:`RunOutcome`.
        """
        task = self.task(name)
        if check_deps:
            check_dependencies(name, self.tasks, self.seen(), trigger, self.reporter)
        files = RunFiles.of(self.layout, "task", name)
        admitted = await admit(
            task, name, files, trigger, reporter=self.reporter, stop=self.stop,
            layout=self.layout, stop_grace=self.stop_grace,
        )  # fmt: skip
        if isinstance(admitted, RunOutcome):
            return admitted
        try:
            run = admitted.next_run(files, lambda: self._last_run(name))
            return await self._run(task, name, run, files, admitted, trigger, context or {}, queue)
        finally:
            admitted.release()

    async def _run(
        self,
        task: Task,
        name: str,
        run: int,
        files: RunFiles,
        lock: RunLock,
        trigger: Trigger,
        context: Mapping[str, str],
        queue: str | None,
    ) -> RunOutcome:
        """The attempts of one admitted run, with the backoff between them."""
        active = ActiveRun(run)
        self.active.setdefault(name, []).append(active)
        entry = RunEntry(lock, new_record(files, run, queue=queue))
        definition = definition_hash(task)
        cwd = attempts.workdir(self.base_dir, task)
        result: RunOutcome | None = None
        limit = task.retries.limit + 1
        try:
            for number in range(1, limit + 1):
                reason = active.stop_reason or stop_requested(files, run)
                if reason is not None:
                    break
                delay = retry_delay(task.retries.backoff, number) if number < limit else None
                env = attempts.environment(self.environ, task, name, run, number, trigger, context)
                outcome = await Attempt(
                    task, name, run, number, files, entry, active, trigger, env, cwd,
                    retry_in=delay, definition=definition,
                ).run_in(self.slots, self.reporter, self.timeout_grace)  # fmt: skip
                if outcome is None:  # stopped while it waited for a slot
                    reason = active.stop_reason
                    break
                result, retryable = outcome
                if not retryable or delay is None:
                    return result
                await self._backoff(delay, active, files)
            return self.reporter.canceled(name, run, trigger, definition, reason, result)
        except asyncio.CancelledError:
            if not active.closed:
                self.reporter.abandoned(name, run, trigger, definition, result)
            raise
        finally:
            self.active[name].remove(active)
            if not self.active[name]:
                del self.active[name]
            entry.close()

    async def _backoff(self, delay: float, active: ActiveRun, files: RunFiles) -> None:
        """Wait ``delay`` seconds, or less if a stop is asked (here, or by another process)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        active.wake.clear()
        while loop.time() < deadline and active.stop_reason is None:
            if stop_requested(files, active.run) is not None:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(active.wake.wait(), min(0.25, deadline - loop.time()))

    async def stop(
        self, name: str, reason: str = "stopped by request", grace: float | None = None
    ) -> int:
        """Stop every run of task ``name`` (this process's and others'); how many were found.

        Each stopped attempt ends ``terminated`` with ``reason``; a run waiting to retry ends
        ``canceled``. Returns once their process groups are gone.
        """
        grace = self.stop_grace if grace is None else grace
        mine = list(self.active.get(name, ()))
        waits: list[asyncio.Future[None]] = []
        for active in mine:
            active.stop_reason = active.stop_reason or reason
            active.wake.set()
            if active.proc is not None:
                if active.stopping is None:
                    active.stopping = asyncio.ensure_future(active.proc.stop(grace))
                waits.append(active.stopping)
        mine_runs = {active.run for active in mine}
        others = await stop_task_runs(self.layout, name, grace, reason, skip_runs=mine_runs)
        if waits:
            await asyncio.gather(*waits)
        return len(mine) + len(others)

    async def stop_queue(
        self, name: str, reason: str = "stopped by request", grace: float | None = None
    ) -> int:
        """Stop every run of queue ``name``: its current task ends, the rest is skipped."""
        grace = self.stop_grace if grace is None else grace
        mine = list(self.queue_runs.get(name, ()))
        for handle in mine:
            handle.stop_reason = handle.stop_reason or reason
            if handle.current is not None:
                await self.stop(handle.current, reason, grace)
        others = await stop_queue_runs(
            self.layout, name, grace, reason, skip_runs={h.run for h in mine}
        )
        return len(mine) + len(others)

    async def stop_all(
        self, reason: str = "the runner is shutting down", grace: float | None = None
    ) -> None:
        """Stop every run and queue run of this runner (shutdown)."""
        for queue in list(self.queue_runs):
            for handle in self.queue_runs.get(queue, ()):
                handle.stop_reason = handle.stop_reason or reason
        await asyncio.gather(*(self.stop(name, reason, grace) for name in list(self.active)))


__all__ = [
    "TAIL_BYTES",
    "EventLog",
    "Observer",
    "QueueHandle",
    "RunOutcome",
    "TaskRunner",
]
