"""Fixtures for the task tests: a state directory, a journal, a runner built from task texts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from taskkit import MakeRunner

from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.spec.model import Queue, Task
from streamrec.state.journal import Journal
from streamrec.state.paths import StatePaths


@pytest.fixture
def paths(tmp_path: Path) -> StatePaths:
    """A fresh state directory."""
    return StatePaths.at(tmp_path / "state").ensure()


@pytest.fixture
def journal(paths: StatePaths) -> Iterator[Journal]:
    """The state log of the test's state directory (no fsync: tests need no power-cut safety)."""
    with Journal(paths.root, fsync="never") as opened:
        yield opened


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The directory tasks run in (stands for the config directory's parent)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def make_runner(paths: StatePaths, journal: Journal, workdir: Path) -> MakeRunner:
    """A runner over tasks given as ``name=dict(command=..., ...)`` (and ``queues=``)."""

    def make(
        queues: dict[str, dict[str, Any]] | None = None,
        max_parallel: int = 4,
        stop_grace: float = 1.0,
        **tasks: dict[str, Any],
    ) -> TaskRunner:
        return TaskRunner(
            {name: Task.model_validate(body) for name, body in tasks.items()},
            queues={name: Queue.model_validate(body) for name, body in (queues or {}).items()},
            layout=paths,
            journal=journal,
            base_dir=workdir,
            max_parallel=max_parallel,
            stop_grace=stop_grace,
        )

    return make
