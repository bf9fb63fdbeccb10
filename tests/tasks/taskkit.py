"""Helpers for the task tests (imported by name: ``conftest`` is not a module to import from)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.state.journal import Journal

MakeRunner = Callable[..., TaskRunner]


def group_gone(pgid: int) -> bool:
    """Whether no process is left in the group (``killpg(pgid, 0)`` raises ProcessLookupError)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def events(
    journal: Journal, type_: str | None = None, task: str | None = None
) -> list[dict[str, Any]]:
    """The events in the log, optionally of one type and one task."""
    return [
        e
        for e in journal.read()
        if (type_ is None or e["type"] == type_) and (task is None or e.get("task") == task)
    ]
