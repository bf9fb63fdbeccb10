"""Runs of many tasks: a DAG in parallel, a queue in order, ``--with-deps``, ``once`` tasks.

Called by the CLI (``task run --with-deps``, ``queue start``), the Python API (``Queue.start``),
and later the scheduler and ``apply``. The decisions come from ``core.ordering`` (the order, the
ready set, who is blocked by whom); every task run goes through :meth:`TaskRunner.run`, so each
keeps its own lock, retries, timeout and events, and the runner's ``max_parallel`` bounds them all.

- :func:`run_graph`: independent branches run in parallel (graphlib's ``get_ready``/``done``), at
  most ``max_parallel`` started at once; dependents of a task that did not complete are skipped
  with reason ``upstream_failed``.
- :func:`run_sequence` / :func:`run_queue`: one task after another in queue order. ``on_failure:
  stop`` ends at the first failure and skips the rest (``queue_stopped``); ``continue`` runs what
  does not depend on the failure. A stop request skips the rest with ``queue_stopped`` too. Writes
  ``queue.started`` and ``queue.finished`` (status ``completed``, ``failed`` or ``terminated``,
  results ``{task: status}``); a second start while it runs writes ``queue.skipped``.
- :func:`run_with_deps`: runs the dependencies that are not completed first, then the task.
- :func:`run_once_tasks`: ``schedule: once`` tasks whose current definition never ran.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from streamrec.core.events import QueueFinished, QueueSkipped, QueueStarted
from streamrec.core.lifecycle import Trigger, dependency_state, once_due
from streamrec.core.ordering import Deps, ReadySet, blocked_by, missing_dependencies, queue_order
from streamrec.core.runs import RunOutcome
from streamrec.errors import TaskError
from streamrec.log import logger
from streamrec.runtime.tasks.files import (
    RunEntry,
    RunFiles,
    RunLock,
    new_record,
    stop_requested,
)
from streamrec.runtime.tasks.runner import QueueHandle, TaskRunner


def task_deps(runner: TaskRunner) -> dict[str, Sequence[str]]:
    """The dependency mapping of the runner's tasks."""
    return {name: task.depends_on for name, task in runner.tasks.items()}


async def run_graph(
    runner: TaskRunner,
    names: Sequence[str],
    *,
    trigger: Trigger = "cli",
    context: Mapping[str, str] | None = None,
    check_deps: bool = False,
    include_deps: bool = True,
    limit: int | None = None,
) -> dict[str, RunOutcome]:
    """Run ``names`` and their dependencies as a DAG; a result for every task, in queue order.

    Without ``include_deps`` exactly ``names`` run: dependencies among them order the run, those
    outside are taken as met, unless ``check_deps`` asks the state log about them (for triggers
    that did not order them, like ``once``): a task whose check fails is skipped, and so are its
    dependents. ``limit`` narrows the runner's ``max_parallel`` for this graph.
    """
    deps = task_deps(runner)
    order = queue_order(names, deps)
    if not include_deps:
        members = set(names)
        order = [name for name in order if name in members]
    graph = _Graph(runner, ReadySet(order, deps), trigger, context, check_deps)
    # twice the parallel limit run at once: the extra ones take their lock and run id while the
    # others run, then wait for a slot (the runner's limit holds)
    width = 2 * (limit or runner.max_parallel)
    workers = [asyncio.ensure_future(graph.work()) for _ in range(width)]
    try:
        await asyncio.gather(*workers)
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return {name: graph.results[name] for name in order if name in graph.results}


class _Graph:
    """One DAG run: its ready set, its results, and the workers that take the next ready task.

    A worker whose run ends takes the next ready name itself, in the same step (no trip through
    the event loop to a coordinator), and wakes idle workers only for what is left over.
    """

    def __init__(
        self,
        runner: TaskRunner,
        ready: ReadySet,
        trigger: Trigger,
        context: Mapping[str, str] | None,
        check_deps: bool,
    ) -> None:
        self.runner, self.ready, self.trigger = runner, ready, trigger
        self.context, self.check_deps = context, check_deps
        self.results: dict[str, RunOutcome] = {}
        self.waiting: deque[str] = deque()
        self.idle: deque[asyncio.Future[None]] = deque()
        self.busy = 0

    def _refill(self) -> None:
        """Queue what became runnable; record what is skipped because a dependency failed."""
        runnable, skipped = self.ready.take()
        for name, culprit in skipped:
            why = f"dependency {culprit!r} {self.ready.outcomes[culprit]}"
            self.results[name] = self.runner.skip(name, "upstream_failed", self.trigger, why)
        self.waiting.extend(runnable)
        for _ in range(min(len(self.waiting), len(self.idle))):
            idle = self.idle.popleft()
            if not idle.done():
                idle.set_result(None)

    async def work(self) -> None:
        """Run ready tasks until none is left and none is running."""
        loop = asyncio.get_running_loop()
        while True:
            if not self.waiting:
                self._refill()
            if self.waiting:
                name = self.waiting.popleft()
                self.busy += 1
                try:
                    result = await _run_one(
                        self.runner, name, self.trigger, self.context, self.check_deps
                    )
                finally:
                    self.busy -= 1
                self.results[name] = result
                self.ready.finish(name, result.status)
                continue
            if not self.busy or not self.ready.active:
                for idle in self.idle:  # nothing left for anyone
                    if not idle.done():
                        idle.set_result(None)
                return
            woken: asyncio.Future[None] = loop.create_future()
            self.idle.append(woken)
            await woken


async def _run_one(
    runner: TaskRunner,
    name: str,
    trigger: Trigger,
    context: Mapping[str, str] | None,
    check_deps: bool,
    queue: str | None = None,
) -> RunOutcome:
    """One run inside a graph or queue; an error becomes a result instead of ending the graph."""
    try:
        return await runner.run(
            name, trigger=trigger, context=context, check_deps=check_deps, queue=queue
        )
    except TaskError as exc:  # logged as task.skipped by the runner (dependency not completed)
        return RunOutcome(task=name, status="skipped", trigger=trigger, reason=str(exc))


@dataclass
class QueueResult:
    """How one queue run ended."""

    queue: str
    status: str
    run: int | None = None
    order: list[str] = field(default_factory=list)
    results: dict[str, RunOutcome] = field(default_factory=dict)
    started_at: str | None = None
    ended_at: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every task completed."""
        return self.status == "completed"


async def run_queue(
    runner: TaskRunner,
    name: str,
    *,
    trigger: Trigger = "cli",
    context: Mapping[str, str] | None = None,
) -> QueueResult:
    """Run queue ``name`` of the config (see :func:`run_sequence`)."""
    try:
        queue = runner.queues[name]
    except KeyError:
        known = ", ".join(sorted(runner.queues)) or "none"
        raise TaskError(f"there is no queue named {name!r} (queues: {known})") from None
    return await run_sequence(
        runner, name, queue.tasks, on_failure=queue.on_failure, trigger=trigger, context=context
    )


async def run_sequence(
    runner: TaskRunner,
    queue: str,
    tasks: Sequence[str],
    *,
    on_failure: Literal["stop", "continue"] = "stop",
    trigger: Trigger = "cli",
    context: Mapping[str, str] | None = None,
    preset: Mapping[str, str] | None = None,
) -> QueueResult:
    """Run ``tasks`` (dependencies inserted first) one after another as queue ``queue``.

    ``preset`` gives outcomes decided beforehand (the API's tasks that completed already): those
    tasks are not run again and count as their status for their dependents.
    """
    deps: Deps = task_deps(runner)
    order = queue_order(tasks, deps)
    files = RunFiles.of(runner.layout, "queue", queue)
    lock = RunLock(files.lock)
    if not lock.try_acquire():
        runner.emit(QueueSkipped(queue=queue, reason="already_running", trigger=trigger))
        logger.warning("queue {!r} is already running; this start is skipped", queue)
        return QueueResult(queue=queue, status="skipped", order=order, reason="already_running")
    try:
        seen = runner.journal.shared_state().get("queues", {})
        run = lock.next_run(files, lambda: int((seen.get(queue) or {}).get("run") or 0))
        handle = QueueHandle(queue, run)
        runner.queue_runs.setdefault(queue, []).append(handle)
        entry = RunEntry(lock, new_record(files, run))
        try:
            return await _sequence(
                runner, handle, files, order, deps, on_failure, trigger, context, preset or {}
            )
        finally:
            runner.queue_runs[queue].remove(handle)
            if not runner.queue_runs[queue]:
                del runner.queue_runs[queue]
            entry.close()
    finally:
        lock.release()


async def _sequence(
    runner: TaskRunner,
    handle: QueueHandle,
    files: RunFiles,
    order: list[str],
    deps: Deps,
    on_failure: str,
    trigger: Trigger,
    context: Mapping[str, str] | None,
    preset: Mapping[str, str],
) -> QueueResult:
    queue, run = handle.name, handle.run
    started_at = runner.stamp()
    runner.emit(QueueStarted(queue=queue, run=run, order=order, trigger=trigger))
    log = logger.bind(queue=queue, run_id=run)
    log.bind(event="queue.started").info(
        "queue {!r} run {} started: {}", queue, run, " -> ".join(order)
    )
    env = {**(context or {}), "STREAMREC_QUEUE": queue, "STREAMREC_QUEUE_RUN": str(run)}
    outcomes: dict[str, str] = {}
    results: dict[str, RunOutcome] = {}
    stopped: str | None = None  # why the rest is skipped
    status = "completed"
    try:
        for name in order:
            if name in preset:
                outcomes[name] = preset[name]
                continue
            asked = handle.stop_reason or stop_requested(files, run)
            if asked is not None and stopped is None:
                stopped, status = asked, "terminated"
            culprit = blocked_by(name, deps, outcomes)
            if stopped is not None:
                result = runner.skip(name, "queue_stopped", "queue", stopped)
            elif culprit is not None:
                why = f"dependency {culprit!r} {outcomes[culprit]}"
                result = runner.skip(name, "upstream_failed", "queue", why)
            else:
                handle.current = name
                result = await _run_one(runner, name, "queue", env, False, queue=queue)
                handle.current = None
            results[name], outcomes[name] = result, result.status
            if result.status != "completed" and status == "completed":
                status = "failed"
            asked = handle.stop_reason or stop_requested(files, run)
            if asked is not None and stopped is None:
                stopped, status = asked, "terminated"
            if result.status == "failed" and on_failure == "stop" and stopped is None:
                stopped = f"stopped after {name!r} failed (on_failure: stop)"
    except asyncio.CancelledError:
        status = "canceled"
        raise
    finally:
        summary = {name: outcomes.get(name, "canceled") for name in order}
        runner.emit(QueueFinished(queue=queue, run=run, status=status, results=summary))
        log.bind(event="queue.finished").info("queue {!r} run {}: {}", queue, run, status)
    return QueueResult(
        queue=queue, status=status, run=run, order=order, results=results,
        started_at=started_at, ended_at=runner.stamp(), reason=stopped,
    )  # fmt: skip


async def run_with_deps(
    runner: TaskRunner,
    name: str,
    *,
    trigger: Trigger = "cli",
    context: Mapping[str, str] | None = None,
) -> dict[str, RunOutcome]:
    """Run what ``name`` misses first (in parallel where independent), then ``name``."""
    runner.task(name)
    seen = runner.seen()
    tasks = runner.tasks
    missing = missing_dependencies(
        name, task_deps(runner), lambda dep: dependency_state(dep, tasks, seen) is None
    )
    if not missing:
        return {name: await runner.run(name, trigger=trigger, context=context)}
    return await run_graph(
        runner, [*missing, name], trigger=trigger, context=context, include_deps=False
    )


async def run_once_tasks(runner: TaskRunner) -> dict[str, RunOutcome]:
    """Run the ``schedule: once`` tasks whose current definition has not run yet (on apply)."""
    due = once_due(runner.tasks, runner.seen())
    if not due:
        return {}
    logger.info("running once tasks: {}", ", ".join(due))
    return await run_graph(runner, due, trigger="once", check_deps=True, include_deps=False)
