"""Task and queue states, triggers, and the decisions made from them: readiness, ``once``, retries.

The vocabulary every part shares (the runner writes these words into the state log, ``status``
and the API show them) and the pure decisions the runner takes before it starts anything:

- :func:`unmet_dependencies`: a task is ready when each dependency's latest run, for that
  dependency's *current* definition, completed. Read from the fold of the state log (a later
  skip does not count: the fold's ``last_run`` says how the last real run ended).
- :func:`once_due`: ``schedule: once`` tasks whose current definition has never run.
- :func:`retry_delay`: the backoff before attempt ``n`` (doubling).
- :func:`safe_name`: a task or queue name as a file name (names may be hostile: ``../x``).

Statuses: ``created`` (asked for, not started: waiting for a lock or a slot), ``running``,
``completed`` (exit 0), ``failed`` (non-zero exit, or could not start), ``terminated`` (we ended
it: timeout, ``task stop``, replaced by a newer run), ``canceled`` (abandoned by its caller before
or between attempts, or while the runner shut down), ``skipped`` (never started: overlap,
dependency not completed, upstream failed, queue stopped).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from streamrec.core.definitions import definition_hash
from streamrec.spec.model import Task

Status = Literal["created", "running", "completed", "failed", "terminated", "canceled", "skipped"]
STATUSES: tuple[Status, ...] = (
    "created",
    "running",
    "completed",
    "failed",
    "terminated",
    "canceled",
    "skipped",
)
DISPLAY: dict[str, str] = {status: status.capitalize() for status in STATUSES}
"""The display name of each status (``Completed``); ``display()`` also knows the fold's extras."""
FINAL: frozenset[str] = frozenset({"completed", "failed", "terminated", "canceled", "skipped"})

Trigger = Literal["schedule", "queue", "hook", "cli", "api", "once"]
TRIGGERS: tuple[Trigger, ...] = ("schedule", "queue", "hook", "cli", "api", "once")

MAX_BACKOFF = 3600.0
"""No wait between attempts is longer than an hour, however many attempts."""


def display(status: str | None) -> str:
    """``completed`` -> ``Completed``; states the fold adds (idle, interrupted) read the same way."""
    if not status:
        return "Idle"
    return DISPLAY.get(status, status.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Unmet:
    """A dependency that is not ready, and the state it is in, in words."""

    name: str
    state: str

    def __str__(self) -> str:
        return f"{self.name!r} ({self.state})"


def dependency_state(
    name: str, tasks: Mapping[str, Task], seen: Mapping[str, Mapping[str, Any]]
) -> str | None:
    """Why dependency ``name`` is not ready, or None when its latest run completed for its
    current definition. ``seen`` is the fold's ``tasks`` table."""
    entry = seen.get(name)
    if not entry or entry.get("run") is None:
        return "never run"
    status = entry.get("status")
    task = tasks.get(name)
    if task is not None and entry.get("definition") != definition_hash(task):
        return f"last run {status} for an older definition"
    if status == "completed":
        return None
    if status == "skipped":
        # the fold shows a skip over the run before it; a skip is not a run, so ask that run,
        # which the fold keeps as ``last_run`` (a snapshot from before it: the fields it left)
        last = entry.get("last_run")
        if isinstance(last, Mapping):
            return None if last.get("status") == "completed" else "skipped"
        return None if entry.get("exit_code") == 0 and entry.get("ended_at") else "skipped"
    return str(status or "never run")


def unmet_dependencies(
    name: str, tasks: Mapping[str, Task], seen: Mapping[str, Mapping[str, Any]]
) -> list[Unmet]:
    """The direct dependencies of task ``name`` that are not ready, in declared order."""
    unmet: list[Unmet] = []
    for dep in tasks[name].depends_on:
        state = dependency_state(dep, tasks, seen)
        if state is not None:
            unmet.append(Unmet(dep, state))
    return unmet


def once_due(tasks: Mapping[str, Task], seen: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``schedule: once`` tasks with no run for their current definition (like a Job per spec).

    A run that failed counts: a once task runs once per definition, and an edit runs it again.
    A run that was interrupted (its daemon died under it) does not count: it runs again.
    """
    due = []
    for name, task in tasks.items():
        if task.schedule != "once":
            continue
        entry = seen.get(name) or {}
        if (
            entry.get("run") is None
            or entry.get("definition") != definition_hash(task)
            or entry.get("status") == "interrupted"
        ):
            due.append(name)
    return due


def retry_delay(backoff: float, attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): backoff, 2x, 4x... capped."""
    return float(min(MAX_BACKOFF, backoff * (2 ** max(0, attempt - 1))))


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def safe_name(name: str, limit: int = 64) -> str:
    """``name`` usable as one file-name component, distinct for distinct names.

    Letters, digits, ``_`` and ``-`` are kept; anything else (dots, slashes, spaces, unicode)
    becomes ``_``, and then a short hash of the real name is appended so that ``a b`` and ``a_b``
    stay apart. The result never is ``.``/``..``, never starts with a dot and is never empty.
    """
    base = _UNSAFE.sub("_", name)[:limit]
    if base == name and base:
        return base
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{base or '_'}-{digest}"
