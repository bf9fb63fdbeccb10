"""How one task run ended: the one record from the task runner to the event log and the fold.

:class:`RunOutcome` is what ``runtime.tasks.runner.TaskRunner.run`` returns (``runtime.tasks.graph`` collects
them per task and per queue), what ``task.finished`` carries (``core.events.TaskFinished`` holds one
and writes its fields flat, exactly as before), and what the fold keeps as a task's ``last_run``
(:meth:`RunOutcome.entry`), so readiness can ask the last real run even after a later skip. A skip
is an outcome too (status ``skipped``, no run id), returned to the caller but never kept as a run.
Times are state-log stamps (``core.timestamps.format_ts``). Pure data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOutcome:
    """How one run (or one attempt of it) ended, or why it never started."""

    task: str
    status: str
    trigger: str = ""
    run: int | None = None
    attempt: int = 0
    definition: str | None = None
    exit_code: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration: float | None = None
    reason: str | None = None
    stdout_log: str | None = None
    stderr_log: str | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        """True when the run completed."""
        return self.status == "completed"

    def entry(self) -> dict[str, Any]:
        """The fold's ``last_run`` of a task: this outcome without the output tails."""
        kept = asdict(self)
        del kept["stdout_tail"], kept["stderr_tail"]
        return kept

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> RunOutcome:
        """Back from :meth:`entry` (unknown keys ignored, so a newer fold still reads)."""
        return cls(**{name: entry[name] for name in RUN_FIELDS if name in entry})


RUN_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RunOutcome))
"""The names of a run outcome's fields, as ``task.finished`` writes them."""
