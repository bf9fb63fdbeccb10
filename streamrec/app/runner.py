"""Building the task runner: the one place a ``runtime.tasks.runner.TaskRunner`` is made.

The daemon (its one runner, for schedules, hooks and on-demand runs), the CLI (``task run``,
``queue start``, ``apply``'s once tasks, hooks of ``record``) and the Python API (one runner per
state directory) call :func:`build_runner` with what they know: the declared tasks and queues (the
API adds its tasks later), the state directory and its log, where commands run, the
``max_parallel_tasks`` setting, the clock that stamps the runs, and whatever observes or redacts on
the way.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from streamrec.core.clock import Clock
from streamrec.core.redact import Redactor
from streamrec.runtime.tasks.files import StateLayout
from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.runtime.tasks.values import EventLog, Observer
from streamrec.spec.loading import LoadedConfig
from streamrec.spec.model import Queue, Task

DEFAULT_STOP_GRACE = 5.0
"""Seconds between SIGTERM and SIGKILL when a run is stopped (the daemon passes less)."""


def build_runner(
    *,
    layout: StateLayout,
    journal: EventLog,
    clock: Clock,
    base_dir: Path,
    tasks: Mapping[str, Task] | None = None,
    queues: Mapping[str, Queue] | None = None,
    max_parallel: int = 4,
    environ: Mapping[str, str] | None = None,
    stop_grace: float = DEFAULT_STOP_GRACE,
    observer: Observer | None = None,
    redactor: Redactor | None = None,
) -> TaskRunner:
    """A task runner over ``layout``'s logs, locks and pid files, logging to ``journal``, its runs
    timed by ``clock``."""
    return TaskRunner(
        dict(tasks or {}),
        queues=queues,
        layout=layout,
        journal=journal,
        base_dir=base_dir,
        max_parallel=max_parallel,
        environ=environ,
        stop_grace=stop_grace,
        observer=observer,
        redactor=redactor,
        clock=clock,
    )


def runner_for(
    loaded: LoadedConfig,
    *,
    layout: StateLayout,
    journal: EventLog,
    clock: Clock,
    environ: Mapping[str, str] | None = None,
    stop_grace: float = DEFAULT_STOP_GRACE,
    observer: Observer | None = None,
    redactor: Redactor | None = None,
) -> TaskRunner:
    """A task runner for the tasks and queues of a loaded config (commands run in its base)."""
    return build_runner(
        layout=layout,
        journal=journal,
        clock=clock,
        base_dir=loaded.base_dir,
        tasks=loaded.config.tasks,
        queues=loaded.config.queues,
        max_parallel=loaded.config.settings.max_parallel_tasks,
        environ=environ,
        stop_grace=stop_grace,
        observer=observer,
        redactor=redactor,
    )
