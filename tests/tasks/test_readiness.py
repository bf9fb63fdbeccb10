"""Readiness after a skip: the fold's last real run decides, not the skip shown over it."""

from __future__ import annotations

from typing import Any

from streamrec.core.definitions import definition_hash
from streamrec.core.lifecycle import dependency_state
from streamrec.spec.model import Task
from streamrec.state.fold import fold

TASKS = {"dep": Task(command="true")}
DEFINITION = definition_hash(TASKS["dep"])


def _events(status: str, exit_code: int | None) -> list[dict[str, Any]]:
    finished = {
        "seq": 1, "ts": "2026-05-01T10:00:00.000Z", "type": "task.finished", "task": "dep",
        "run": 1, "attempt": 1, "trigger": "cli", "definition": DEFINITION, "status": status,
        "exit_code": exit_code, "started_at": "2026-05-01T09:59:59.000Z",
        "ended_at": "2026-05-01T10:00:00.000Z", "duration": 1.0, "reason": None,
    }  # fmt: skip
    skipped = {"seq": 2, "ts": "2026-05-01T10:01:00.000Z", "type": "task.skipped", "task": "dep",
               "reason": "already_running", "trigger": "schedule"}  # fmt: skip
    return [finished, skipped]


def test_a_completed_run_stays_ready_after_a_later_skip() -> None:
    """A skip after a completed run leaves the dependency ready."""
    seen = fold(None, _events("completed", 0))["tasks"]
    assert seen["dep"]["status"] == "skipped"
    assert dependency_state("dep", TASKS, seen) is None


def test_a_terminated_run_that_exited_zero_is_not_ready_after_a_skip() -> None:
    """The last run's status decides, not its exit code: a stopped run is not a completed one."""
    seen = fold(None, _events("terminated", 0))["tasks"]
    assert dependency_state("dep", TASKS, seen) == "skipped"


def test_a_failed_run_is_not_ready_after_a_skip() -> None:
    """A skip does not hide that the last real run failed."""
    seen = fold(None, _events("failed", 1))["tasks"]
    assert dependency_state("dep", TASKS, seen) == "skipped"
