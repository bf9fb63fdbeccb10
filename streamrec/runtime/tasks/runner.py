"""The task runner: one run of a task, from trigger to ``task.finished``, dependably.

Called by the CLI (``task run``), the Python API (``streamrec.api``), ``runtime.tasks.graph`` (queues,
DAGs, ``--with-deps``, ``once`` tasks), and later the scheduler and the recorder's hooks. The one
entry point for a single run is :meth:`TaskRunner.run`::

    result = await runner.run("remux-mp4", trigger="hook",
                              context={"STREAMREC_CHANNEL": "news", "STREAMREC_FILE": path})

What one run does, in order:

1. Dependencies (unless the caller ordered them itself): each must have completed for its current
   definition, else ``task.skipped`` (``dependency_not_completed``) and :class:`DependenceError`.
2. Concurrency, across processes, through the task's lock file: ``forbid`` (default) skips the
   trigger with ``task.skipped`` (``already_running``); ``replace`` stops the running run first;
   ``allow`` shares the lock.
3. A run id from the per-task counter, a pid file, then attempts: each waits for one of the
   ``max_parallel`` slots, starts ``/bin/sh -c`` (``runtime.processes``) in the working directory
   with the environment below, writes ``task.started`` and, when it ends, ``task.finished`` with
   the status, exit code, times and the tail of both log files. A failed or timed-out attempt is
   retried after ``backoff`` (doubling) up to ``retries.limit`` times.

Environment: the runner's (the daemon's) environment, then the task's ``env:``, then ``context``
(keys without the ``STREAMREC_`` prefix get it, upper-cased), then ``STREAMREC_TASK``,
``STREAMREC_RUN_ID``, ``STREAMREC_ATTEMPT`` and ``STREAMREC_TRIGGER``, which nothing overrides.
The working directory is the config directory's parent, or ``workdir:`` relative to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loguru import logger

from streamrec.core.clock import Clock
from streamrec.core.definitions import definition_hash
from streamrec.core.events import Event, TaskFinished, TaskSkipped, TaskStarted
from streamrec.core.lifecycle import Trigger, retry_delay, unmet_dependencies
from streamrec.core.redact import Redactor, env_secrets
from streamrec.core.runs import RunOutcome
from streamrec.core.timestamps import format_ts
from streamrec.errors import DependenceError, TaskError
from streamrec.runtime.clock import SYSTEM_CLOCK
from streamrec.runtime.processes import (
    ShellProcess,
    exit_words,
    open_private,
    read_tail,
    shell_exit_code,
)
from streamrec.runtime.tasks.files import (
    PidFile,
    RunFiles,
    RunLock,
    StateLayout,
    clear_record,
    new_record,
    read_records,
    stop_queue_runs,
    stop_requested,
    stop_task_runs,
)
from streamrec.runtime.tasks.values import (
    ActiveRun,
    EventLog,
    Observer,
    QueueHandle,
    Slots,
)
from streamrec.spec.model import Queue, Task
from streamrec.spec.units import format_duration

TAIL_BYTES = 4096
"""How much of each log file the finishing event carries."""


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
        self.observer = observer
        self.redactor = redactor or Redactor.of(environ=self.environ)
        """Hides known secrets in output tails and reasons before they reach the state log."""
        self.clock = clock
        """The wall time stamped on outcomes (``started_at``, ``ended_at``)."""
        self.slots = Slots(max_parallel)
        self.active: dict[str, list[ActiveRun]] = {}
        self.queue_runs: dict[str, list[QueueHandle]] = {}
        self._known_runs: dict[str, int] | None = None

    @property
    def max_parallel(self) -> int:
        """How many attempts may run at once."""
        return self.slots.limit

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
            self.redactor = redactor
        if queues is not None:
            self.queues = dict(queues)
        if max_parallel is not None:
            self.slots.limit = max_parallel

    def seen(self) -> dict[str, Any]:
        """The fold's ``tasks`` table: what the state log knows of each task."""
        tasks: dict[str, Any] = self.journal.state().get("tasks", {})
        return tasks

    def _last_run(self, name: str) -> int:
        """The last run id the state log knows (seeds a task's new run counter).

        Read once per runner: every later run of any task goes through its counter file, so a
        missing counter can only be for runs logged before this runner started.
        """
        if self._known_runs is None:
            self._known_runs = {
                task: int(entry.get("run") or 0) for task, entry in self.seen().items()
            }
        return self._known_runs.get(name, 0)

    def stamp(self) -> str:
        """Now, as the state log writes times."""
        return format_ts(self.clock.now())

    def emit(self, event: Event) -> dict[str, Any]:
        """Append an event to the state log and show it (as written) to the observer."""
        return self._observed(self.journal.append(event))

    def _observed(self, event: dict[str, Any]) -> dict[str, Any]:
        type_ = event.get("type")
        if self.observer is not None:
            try:
                self.observer(event)
            except Exception:  # an observer's bug must not break a run
                logger.exception("task observer failed on {}", type_)
        return event

    def task(self, name: str) -> Task:
        """The definition of task ``name``; TaskError naming the known tasks when there is none."""
        try:
            return self.tasks[name]
        except KeyError:
            known = ", ".join(sorted(self.tasks)) or "none"
            raise TaskError(f"there is no task named {name!r} (tasks: {known})") from None

    def skip(self, name: str, reason: str, trigger: str, detail: str) -> RunOutcome:
        """Record a run that will not happen, and why.

        The event carries no definition on purpose: the fold would put it over the definition
        of the last real run, and readiness asks which definition that run was for.
        """
        self.emit(TaskSkipped(task=name, reason=reason, trigger=trigger, detail=detail))
        logger.info("task {!r} skipped ({}): {}", name, reason, detail)
        return RunOutcome(task=name, status="skipped", trigger=trigger, reason=reason)

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
        if check_deps and task.depends_on:
            unmet = unmet_dependencies(name, self.tasks, self.seen())
            if unmet:
                words = ", ".join(str(u) for u in unmet)
                self.skip(name, "dependency_not_completed", trigger, f"not completed: {words}")
                raise DependenceError(
                    f"task {name!r} depends on {words}, not completed; nothing was run "
                    f"(run it with its dependencies: streamrec task run {name} --with-deps)"
                )
        files = RunFiles.of(self.layout, "task", name)
        lock = RunLock(files.lock)
        shared = task.concurrency == "allow"
        if not lock.try_acquire(shared):
            if task.concurrency != "replace":
                holders = ", ".join(f"run {r.run} (pid {r.pid})" for r in read_records(files))
                return self.skip(
                    name, "already_running", trigger, f"still running: {holders or 'another run'}"
                )
            await self.stop(name, reason="replaced by a newer run")
            if not await lock.acquire(shared, timeout=self.stop_grace + 10):
                return self.skip(name, "already_running", trigger, "the running run did not stop")
        try:
            orphans = [r for r in read_records(files) if not r.owner_alive() and r.group()]
            if orphans and not shared:
                # a runner died and left its task running: it still counts as running
                if task.concurrency != "replace":
                    words = ", ".join(f"run {r.run} (pid {r.pid})" for r in orphans)
                    detail = f"still running after its runner exited: {words}"
                    return self.skip(name, "already_running", trigger, detail)
                await stop_task_runs(self.layout, name, self.stop_grace, "replaced by a newer run")
            run = files.next_run(lambda: self._last_run(name))
            return await self._run(task, name, run, files, lock, trigger, context or {}, queue)
        finally:
            lock.release()

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
        active = ActiveRun(run)
        self.active.setdefault(name, []).append(active)
        pid_file = PidFile(files, new_record(files, run, queue=queue))
        definition = definition_hash(task)
        result: RunOutcome | None = None
        attempts = task.retries.limit + 1
        try:
            for attempt in range(1, attempts + 1):
                reason = active.stop_reason or stop_requested(files, run)
                if reason is not None:
                    break
                delay = retry_delay(task.retries.backoff, attempt) if attempt < attempts else None
                outcome = await self._attempt(
                    task, name, run, attempt, files, pid_file, active, trigger, context,
                    retry_in=delay, definition=definition,
                )  # fmt: skip
                if outcome is None:  # stopped while it waited for a slot
                    reason = active.stop_reason
                    break
                result, retryable = outcome
                if not retryable or delay is None:
                    return result
                await self._backoff(delay, active, files)
            return self._canceled(name, run, trigger, definition, reason, result)
        except asyncio.CancelledError:
            if not active.closed:
                self._cancel_event(name, run, trigger, definition, result)
            raise
        finally:
            self.active[name].remove(active)
            if not self.active[name]:
                del self.active[name]
            pid_file.close()
            clear_record(files, run)

    def _cancel_event(
        self, name: str, run: int, trigger: str, definition: str, last: RunOutcome | None
    ) -> None:
        """Record a run abandoned because its caller was canceled (shutdown, Ctrl-C)."""
        if last is None:
            self.skip(name, "canceled", trigger, "the caller stopped before the task started")
        else:
            self._canceled(name, run, trigger, definition, "canceled by its caller", last)

    def _canceled(
        self,
        name: str,
        run: int,
        trigger: str,
        definition: str,
        reason: str | None,
        last: RunOutcome | None,
    ) -> RunOutcome:
        """A run stopped between attempts (or before its first): ``canceled``."""
        outcome = RunOutcome(
            task=name, status="canceled", trigger=trigger, run=run,
            attempt=last.attempt if last else 0, definition=definition,
            exit_code=last.exit_code if last else None,
            started_at=last.started_at if last else None, ended_at=self.stamp(),
            duration=last.duration if last else None, reason=reason or "stopped by request",
            stdout_log=last.stdout_log if last else None,
            stderr_log=last.stderr_log if last else None,
            stdout_tail=last.stdout_tail if last else "",
            stderr_tail=last.stderr_tail if last else "",
        )  # fmt: skip
        self.emit(TaskFinished(outcome=outcome))
        return outcome

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

    def environment(
        self,
        task: Task,
        name: str,
        run: int,
        attempt: int,
        trigger: str,
        context: Mapping[str, str],
    ) -> dict[str, str]:
        """The child's environment (see the module doc for the order)."""
        env = {**self.environ, **task.env}
        for key, value in context.items():
            key = key if key.startswith("STREAMREC_") else f"STREAMREC_{key.upper()}"
            env[key] = str(value)
        env.update(
            STREAMREC_TASK=name,
            STREAMREC_RUN_ID=str(run),
            STREAMREC_ATTEMPT=str(attempt),
            STREAMREC_TRIGGER=trigger,
        )
        return env

    def workdir(self, task: Task) -> Path:
        """Where the command runs: the config dir's parent, or ``workdir:`` relative to it."""
        if not task.workdir:
            return self.base_dir
        path = Path(task.workdir).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    async def _attempt(
        self,
        task: Task,
        name: str,
        run: int,
        attempt: int,
        files: RunFiles,
        pid_file: PidFile,
        active: ActiveRun,
        trigger: Trigger,
        context: Mapping[str, str],
        retry_in: float | None,
        definition: str,
    ) -> tuple[RunOutcome, bool] | None:
        """One attempt: wait for a slot, start, wait (with the timeout), end the group, record.

        Returns the result and whether a failure of this kind may be retried; None when the run
        was stopped while it waited for the slot. The slot is held while the process lives, not
        while the outcome is written.
        """
        stdout, stderr = files.log_paths(run, attempt)
        cwd = self.workdir(task)
        common: dict[str, Any] = {
            "task": name, "run": run, "attempt": attempt, "trigger": trigger,
            "definition": definition, "stdout_log": str(stdout),
            "stderr_log": str(stderr),
        }  # fmt: skip
        then = (
            f"; retrying in {format_duration(retry_in)} (attempt {attempt + 1})" if retry_in else ""
        )
        timed_out = left_behind = False
        async with self.slots:
            if active.stop_reason is not None:
                return None
            started_at = self.stamp()
            try:
                proc = await ShellProcess.start(
                    task.command,
                    cwd=cwd,
                    env=self.environment(task, name, run, attempt, trigger, context),
                    stdout=stdout,
                    stderr=stderr,
                )
            except OSError as exc:
                proc = None
                why = f"could not start in {cwd}: {exc.strerror or exc}"
            if proc is not None:
                active.proc = proc
                record = pid_file.record
                record.attempt, record.pid, record.pgid = attempt, proc.pid, proc.pgid
                record.start_ticks = proc.start_ticks
                record.stdout_log, record.stderr_log = str(stdout), str(stderr)
                pid_file.write()
                self.emit(TaskStarted(pid=proc.pid, **common))
                logger.debug(
                    "task {!r} run {} attempt {} started (pid {})", name, run, attempt, proc.pid
                )
                try:
                    if not await proc.wait(task.timeout):
                        timed_out = active.stop_reason is None
                        if active.stopping is None:
                            await proc.stop(self.timeout_grace)
                    if active.stopping is not None:
                        await active.stopping
                    else:
                        left_behind = await proc.clean_up(self.timeout_grace)
                except asyncio.CancelledError:
                    await asyncio.shield(proc.stop(self.timeout_grace))
                    why = "canceled by its caller (the runner is shutting down)"
                    self._finished(
                        common, "canceled", proc.returncode, started_at, _elapsed(proc), why, proc
                    )
                    active.closed = True
                    raise
                finally:
                    active.proc = None
        if proc is None:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
            with os.fdopen(open_private(stderr, flags), "a", encoding="utf-8") as err:
                err.write(f"streamrec: {why}\n")
            return self._finished(common, "failed", None, started_at, 0.0, why + then), True
        code = proc.returncode
        stop_reason = active.stop_reason or stop_requested(files, run)
        retryable = False
        reason: str | None
        if stop_reason is not None:
            status, reason = "terminated", stop_reason
        elif timed_out:
            assert task.timeout is not None
            status, reason = "terminated", f"timed out after {format_duration(task.timeout)}"
            retryable = True
        elif code == 0:
            status, reason = "completed", None
        else:
            status, reason = "failed", exit_words(code) + _HINTS.get(code or 0, "")
            retryable = True
        if retryable:
            reason = f"{reason}{then}"
        if left_behind:
            note = "left processes behind in its group, which were stopped"
            reason = f"{reason}; {note}" if reason else note
        result = self._finished(common, status, code, started_at, _elapsed(proc), reason, proc)
        return result, retryable

    def _finished(
        self,
        common: dict[str, Any],
        status: str,
        returncode: int | None,
        started_at: str,
        duration: float,
        reason: str | None,
        proc: ShellProcess | None = None,
    ) -> RunOutcome:
        """Write ``task.finished`` for one attempt and return it as a result."""
        if proc is not None:
            stdout_tail, stderr_tail = proc.tails(TAIL_BYTES)
            proc.close()
        else:
            stdout_tail = read_tail(Path(common["stdout_log"]), TAIL_BYTES)
            stderr_tail = read_tail(Path(common["stderr_log"]), TAIL_BYTES)
        task = self.tasks.get(common["task"])
        redactor = self.redactor.with_secrets(env_secrets(task.env) if task else ())
        stdout_tail, stderr_tail = redactor.text(stdout_tail), redactor.text(stderr_tail)
        reason = None if reason is None else redactor.text(reason)
        outcome = RunOutcome(
            **common, status=status, exit_code=shell_exit_code(returncode),
            started_at=started_at, ended_at=self.stamp(), duration=duration,
            stdout_tail=stdout_tail, stderr_tail=stderr_tail, reason=reason,
        )  # fmt: skip
        self.emit(TaskFinished(outcome=outcome))
        logger.info(
            "task {!r} run {} attempt {}: {}{}",
            outcome.task, outcome.run, outcome.attempt, status, f" ({reason})" if reason else "",
        )  # fmt: skip
        return outcome

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


def _elapsed(proc: ShellProcess) -> float:
    return round((proc.ended or proc.started) - proc.started, 6)


_HINTS = {
    126: " (the command is not executable)",
    127: " (command not found)",
}

__all__ = [
    "EventLog",
    "Observer",
    "QueueHandle",
    "RunOutcome",
    "TaskRunner",
]
