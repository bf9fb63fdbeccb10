"""What a task run writes to the state log: skips, finished attempts, canceled runs, redacted.

Owned by :class:`~streamrec.runtime.tasks.runner.TaskRunner`, which makes one per runner; used by
the attempt (``runtime.tasks.attempt``) for ``task.started``/``task.finished``, by the admission
check (``runtime.tasks.admission``) for ``task.skipped``, and by the runner for runs stopped or
canceled between attempts. Every event passes :meth:`RunReporter.emit`, which appends it to the
state log and shows it, as written, to the observer (the CLI, the API); output tails and reasons
pass the redactor first, so a secret from the config or a task's ``env:`` never reaches the log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamrec.core.clock import Clock
from streamrec.core.events import Event, TaskFinished, TaskSkipped
from streamrec.core.redact import Redactor, env_secrets
from streamrec.core.runs import RunOutcome
from streamrec.core.timestamps import format_ts
from streamrec.log import logger
from streamrec.runtime.processes import shell_exit_code
from streamrec.runtime.tasks.values import EventLog, Observer
from streamrec.spec.model import Task


class RunReporter:
    """Writes a runner's events: one state log, one observer, one clock, the current redactor."""

    def __init__(
        self,
        journal: EventLog,
        *,
        observer: Observer | None,
        redactor: Redactor,
        clock: Clock,
        lookup: Callable[[str], Task | None],
    ) -> None:
        self.journal = journal
        self.observer = observer
        self.redactor = redactor
        """Hides known secrets in output tails and reasons; replaced when the config changes."""
        self.clock = clock
        """The wall time stamped on outcomes (``started_at``, ``ended_at``)."""
        self._lookup = lookup
        """The current definition of a task, whose ``env:`` secrets are hidden too."""

    def stamp(self) -> str:
        """Now, as the state log writes times."""
        return format_ts(self.clock.now())

    def emit(self, event: Event) -> dict[str, Any]:
        """Append an event to the state log and show it (as written) to the observer."""
        return self._show(self.journal.append(event))

    async def emit_async(self, event: Event) -> dict[str, Any]:
        """:meth:`emit` without blocking the loop on the disk, when the log can do that.

        A journal with ``append_async`` (``state.journal.Journal``) shares one fsync among the
        events appended meanwhile and resolves once the one covering this event is done; any
        other log (the API's in-memory one) is appended to at once.
        """
        append = getattr(self.journal, "append_async", None)
        written = await append(event) if append is not None else self.journal.append(event)
        return self._show(written)

    def _show(self, written: dict[str, Any]) -> dict[str, Any]:
        if self.observer is not None:
            try:
                self.observer(written)
            except Exception:  # an observer's bug must not break a run
                logger.exception("task observer failed on {}", written.get("type"))
        return written

    def skip(self, name: str, reason: str, trigger: str, detail: str) -> RunOutcome:
        """Record a run that will not happen, and why.

        The event carries no definition on purpose: the fold would put it over the definition
        of the last real run, and readiness asks which definition that run was for.
        """
        self.emit(TaskSkipped(task=name, reason=reason, trigger=trigger, detail=detail))
        logger.bind(task=name, event="task.skipped").info(
            "task {!r} skipped ({}): {}", name, reason, detail
        )
        return RunOutcome(task=name, status="skipped", trigger=trigger, reason=reason)

    def finished(self, outcome: RunOutcome) -> RunOutcome:
        """Write ``task.finished`` for one attempt's :meth:`outcome`; return it."""
        self.emit(TaskFinished(outcome=outcome))
        return self._logged(outcome)

    async def finished_async(self, outcome: RunOutcome) -> RunOutcome:
        """:meth:`finished` through :meth:`emit_async`: returns once the event is on disk."""
        await self.emit_async(TaskFinished(outcome=outcome))
        return self._logged(outcome)

    def outcome(
        self,
        common: dict[str, Any],
        status: str,
        returncode: int | None,
        started_at: str,
        duration: float,
        reason: str | None,
        tails: tuple[str, str],
    ) -> RunOutcome:
        """The outcome of one attempt, tails and reason redacted."""
        task = self._lookup(common["task"])
        redactor = self.redactor.with_secrets(env_secrets(task.env) if task else ())
        stdout_tail, stderr_tail = (redactor.text(tail) for tail in tails)
        reason = None if reason is None else redactor.text(reason)
        return RunOutcome(
            **common, status=status, exit_code=shell_exit_code(returncode),
            started_at=started_at, ended_at=self.stamp(), duration=duration,
            stdout_tail=stdout_tail, stderr_tail=stderr_tail, reason=reason,
        )  # fmt: skip

    def _logged(self, outcome: RunOutcome) -> RunOutcome:
        reason = outcome.reason
        logger.bind(task=outcome.task, run_id=outcome.run, event="task.finished").info(
            "task {!r} run {} attempt {}: {}{}",
            outcome.task, outcome.run, outcome.attempt, outcome.status,
            f" ({reason})" if reason else "",
        )  # fmt: skip
        return outcome

    def canceled(
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

    def abandoned(
        self, name: str, run: int, trigger: str, definition: str, last: RunOutcome | None
    ) -> None:
        """Record a run abandoned because its caller was canceled (shutdown, Ctrl-C)."""
        if last is None:
            self.skip(name, "canceled", trigger, "the caller stopped before the task started")
        else:
            self.canceled(name, run, trigger, definition, "canceled by its caller", last)
