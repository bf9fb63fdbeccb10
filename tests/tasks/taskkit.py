"""Helpers for the task tests (imported by name: ``conftest`` is not a module to import from)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
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


class _ApiScript:
    """Runs a script of the Python API in a process of its own, ``STATE`` bound to a state dir."""

    def source(self, state: Path, body: str) -> str:
        """The script's text: ``from streamrec import Queue, Task`` and ``STATE``, then ``body``."""
        return f"from streamrec import Queue, Task\nSTATE = {str(state)!r}\n{body}\n"

    def __call__(self, state: Path, body: str) -> subprocess.CompletedProcess[str]:
        """Run it to its end (60 s at most); its output is text."""
        return subprocess.run(
            [sys.executable, "-c", self.source(state, body)],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip


api_script = _ApiScript()


def started_order(state: Path) -> list[str]:
    """The tasks in the order the state log of ``state`` saw them start."""
    with Journal(state) as journal:
        return [str(e["task"]) for e in events(journal, "task.started")]
