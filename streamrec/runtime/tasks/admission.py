"""Whether a run may start: its dependencies, then its concurrency policy under the task's lock.

Called by :meth:`~streamrec.runtime.tasks.runner.TaskRunner.run` before a run gets its id. The
two checks, in order:

1. :func:`check_dependencies` (unless the caller ordered the dependencies itself): each must have
   completed for its current definition (decided by ``core.lifecycle``), else ``task.skipped``
   (``dependency_not_completed``) and :class:`~streamrec.errors.DependenceError`.
2. :func:`admit`: concurrency, across processes, through the task's lock file
   (``runtime.tasks.files``): ``forbid`` (default) skips the trigger with ``task.skipped``
   (``already_running``); ``replace`` stops the running run first; ``allow`` shares the lock. A run
   whose runner died still counts as running while its process group lives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from streamrec.core.lifecycle import unmet_dependencies
from streamrec.core.runs import RunOutcome
from streamrec.errors import DependenceError
from streamrec.runtime.tasks.files import (
    RunFiles,
    RunLock,
    StateLayout,
    read_records,
    stop_task_runs,
)
from streamrec.runtime.tasks.reporting import RunReporter
from streamrec.spec.model import Task

REPLACED = "replaced by a newer run"
"""The reason a ``replace`` run gives the run it stops."""

LOCK_SLACK = 10.0
"""Seconds beyond the stop grace that a ``replace`` run waits for the stopped run's lock."""

Stop = Callable[[str, str], Awaitable[int]]
"""Stops every run of a task, with a reason (:meth:`TaskRunner.stop`)."""


def check_dependencies(
    name: str,
    tasks: Mapping[str, Task],
    seen: Mapping[str, Mapping[str, Any]],
    trigger: str,
    reporter: RunReporter,
) -> None:
    """Raise DependenceError (after logging the skip) when a dependency of ``name`` is not met."""
    if not tasks[name].depends_on:
        return
    unmet = unmet_dependencies(name, tasks, seen)
    if unmet:
        words = ", ".join(str(u) for u in unmet)
        reporter.skip(name, "dependency_not_completed", trigger, f"not completed: {words}")
        raise DependenceError(
            f"task {name!r} depends on {words}, not completed; nothing was run "
            f"(run it with its dependencies: streamrec task run {name} --with-deps)"
        )


async def admit(
    task: Task,
    name: str,
    files: RunFiles,
    trigger: str,
    *,
    reporter: RunReporter,
    stop: Stop,
    layout: StateLayout,
    stop_grace: float,
) -> RunLock | RunOutcome:
    """The task's lock, held, when the policy lets this run start; else the skip it recorded.

    The caller releases the returned lock when the run ends.
    """
    lock = RunLock(files.lock)
    shared = task.concurrency == "allow"
    if not lock.try_acquire(shared):
        if task.concurrency != "replace":
            holders = ", ".join(f"run {r.run} (pid {r.pid})" for r in read_records(files))
            return reporter.skip(
                name, "already_running", trigger, f"still running: {holders or 'another run'}"
            )
        await stop(name, REPLACED)
        if not await lock.acquire(shared, timeout=stop_grace + LOCK_SLACK):
            return reporter.skip(name, "already_running", trigger, "the running run did not stop")
    try:
        records = lock.records()
        gone = [r for r in records if not r.owner_alive() and r.group() is None]
        lock.drop({r.run for r in gone})  # a dead runner's record whose group is gone too
        orphans = [r for r in records if r not in gone and not r.owner_alive()]
        if orphans and not shared:
            # a runner died and left its task running: it still counts as running
            if task.concurrency != "replace":
                words = ", ".join(f"run {r.run} (pid {r.pid})" for r in orphans)
                detail = f"still running after its runner exited: {words}"
                skipped = reporter.skip(name, "already_running", trigger, detail)
                lock.release()
                return skipped
            await stop_task_runs(layout, name, stop_grace, REPLACED)
    except BaseException:  # canceled or failed while holding the lock: let go of it
        lock.release()
        raise
    return lock
