"""One attempt of a task run: a slot, one ``/bin/sh -c`` process, its timeout, its log tails.

Called by :class:`~streamrec.runtime.tasks.runner.TaskRunner` once per attempt of a run (the
runner owns the retries and the backoff between them). :meth:`Attempt.run` waits for one of the
runner's ``max_parallel`` slots, starts the command through ``runtime.processes`` in the task's
working directory with the environment below, records it in the run's record in the lock file, writes
``task.started``, waits for it with the task's ``timeout:``, ends what is left of its process group
and writes ``task.finished`` (``runtime.tasks.reporting``) with the status, exit code, times and
the tail of both log files. It says whether a failure of this kind may be retried.

Environment (:func:`environment`): the runner's (the daemon's) environment, then the task's
``env:``, then ``context`` (keys without the ``STREAMREC_`` prefix get it, upper-cased), then
``STREAMREC_TASK``, ``STREAMREC_RUN_ID``, ``STREAMREC_ATTEMPT`` and ``STREAMREC_TRIGGER``, which
nothing overrides. The working directory (:func:`workdir`) is the config directory's parent, or
``workdir:`` relative to it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamrec.core.events import TaskStarted
from streamrec.core.lifecycle import Trigger
from streamrec.core.runs import RunOutcome
from streamrec.log import logger
from streamrec.runtime.processes import ShellProcess, exit_words, open_private, read_tail
from streamrec.runtime.tasks.files import RunEntry, RunFiles, stop_requested
from streamrec.runtime.tasks.reporting import RunReporter
from streamrec.runtime.tasks.values import ActiveRun, Slots
from streamrec.spec.model import Task
from streamrec.spec.units import format_duration

TAIL_BYTES = 4096
"""How much of each log file the finishing event carries."""

_HINTS = {
    126: " (the command is not executable)",
    127: " (command not found)",
}


def environment(
    environ: Mapping[str, str],
    task: Task,
    name: str,
    run: int,
    attempt: int,
    trigger: str,
    context: Mapping[str, str],
) -> dict[str, str]:
    """The child's environment (see the module doc for the order)."""
    env = {**environ, **task.env}
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


def workdir(base_dir: Path, task: Task) -> Path:
    """Where the command runs: the config dir's parent, or ``workdir:`` relative to it."""
    if not task.workdir:
        return base_dir
    path = Path(task.workdir).expanduser()
    return path if path.is_absolute() else base_dir / path


@dataclass
class Attempt:
    """Attempt ``number`` of run ``run`` of task ``name``, with everything it needs to start."""

    task: Task
    name: str
    run: int
    number: int
    files: RunFiles
    entry: RunEntry
    active: ActiveRun
    trigger: Trigger
    env: dict[str, str]
    cwd: Path
    retry_in: float | None
    """The backoff before the next attempt, None when this is the last one."""
    definition: str

    async def run_in(
        self, slots: Slots, reporter: RunReporter, timeout_grace: float
    ) -> tuple[RunOutcome, bool] | None:
        """Wait for a slot, start, wait (with the timeout), end the group, record.

        Returns the result and whether a failure of this kind may be retried; None when the run
        was stopped while it waited for the slot. The slot is held while the process lives, not
        while the outcome is written. ``timeout_grace`` is SIGTERM to SIGKILL after a timeout.
        """
        active, task, cwd = self.active, self.task, self.cwd
        stdout, stderr = self.files.log_paths(self.run, self.number)
        common: dict[str, Any] = {
            "task": self.name, "run": self.run, "attempt": self.number, "trigger": self.trigger,
            "definition": self.definition, "stdout_log": str(stdout),
            "stderr_log": str(stderr),
        }  # fmt: skip
        retry_in = self.retry_in
        then = (
            f"; retrying in {format_duration(retry_in)} (attempt {self.number + 1})"
            if retry_in
            else ""
        )
        timed_out = left_behind = False
        async with slots:
            if active.stop_reason is not None:
                return None
            started_at = reporter.stamp()
            try:
                proc = await ShellProcess.start(
                    task.command, cwd=cwd, env=self.env, stdout=stdout, stderr=stderr
                )
            except OSError as exc:
                proc = None
                why = f"could not start in {cwd}: {exc.strerror or exc}"
            if proc is not None:
                active.proc = proc
                self._record(proc, stdout, stderr)
                logger.debug(
                    "task {!r} run {} attempt {} started (pid {})",
                    self.name, self.run, self.number, proc.pid,
                )  # fmt: skip
                try:
                    # on disk before anyone is told; the child runs meanwhile
                    await reporter.emit_async(TaskStarted(pid=proc.pid, **common))
                    if not await proc.wait(task.timeout):
                        timed_out = active.stop_reason is None
                        if active.stopping is None:
                            await proc.stop(timeout_grace)
                    if active.stopping is not None:
                        await active.stopping
                    else:
                        left_behind = await proc.clean_up(timeout_grace)
                except asyncio.CancelledError:
                    await asyncio.shield(proc.stop(timeout_grace))
                    why = "canceled by its caller (the runner is shutting down)"
                    reporter.finished(reporter.outcome(
                        common, "canceled", proc.returncode, started_at, _elapsed(proc), why,
                        _tails(proc),
                    ))  # fmt: skip
                    active.closed = True
                    raise
                finally:
                    active.proc = None
        if proc is None:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
            with os.fdopen(open_private(stderr, flags), "a", encoding="utf-8") as err:
                err.write(f"streamrec: {why}\n")
            tails = (read_tail(stdout, TAIL_BYTES), read_tail(stderr, TAIL_BYTES))
            failed = reporter.finished(
                reporter.outcome(common, "failed", None, started_at, 0.0, why + then, tails)
            )
            return failed, True
        code = proc.returncode
        stop_reason = active.stop_reason or stop_requested(self.files, self.run)
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
        result = await reporter.finished_async(
            reporter.outcome(common, status, code, started_at, _elapsed(proc), reason, _tails(proc))
        )
        return result, retryable

    def _record(self, proc: ShellProcess, stdout: Path, stderr: Path) -> None:
        """Write the started process into the run's record (how other processes find it)."""
        record = self.entry.record
        record.attempt, record.pid, record.pgid = self.number, proc.pid, proc.pgid
        record.start_ticks = proc.start_ticks
        record.stdout_log, record.stderr_log = str(stdout), str(stderr)
        self.entry.write()


def _tails(proc: ShellProcess) -> tuple[str, str]:
    """The end of both log files of an ended process, which is then closed."""
    tails = proc.tails(TAIL_BYTES)
    proc.close()
    return tails


def _elapsed(proc: ShellProcess) -> float:
    return round((proc.ended or proc.started) - proc.started, 6)
