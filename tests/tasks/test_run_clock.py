"""The runner and the journal take their wall time from an injected clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

from streamrec.core.clock import FakeClock
from streamrec.core.runs import RunOutcome
from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.spec.model import Task
from streamrec.state.journal import Journal
from streamrec.state.paths import StatePaths


def test_a_run_is_stamped_by_the_clocks_it_was_given(paths: StatePaths, workdir: Path) -> None:
    """started_at, ended_at and every event's ts come from the fake clock, not the system's."""
    clock = FakeClock(1_000_000_000.0)  # 2001: no real clock reads that
    with Journal(paths.root, fsync="never", clock=clock) as journal:
        runner = TaskRunner(
            {"t": Task(command="true")}, layout=paths, journal=journal, base_dir=workdir,
            clock=clock,
        )  # fmt: skip
        outcome = asyncio.run(runner.run("t"))
        events = list(journal.read())
    assert isinstance(outcome, RunOutcome) and outcome.ok
    stamp = "2001-09-09T01:46:40.000Z"
    assert (outcome.started_at, outcome.ended_at) == (stamp, stamp)
    assert [e["type"] for e in events] == ["task.started", "task.finished"]
    assert {e["ts"] for e in events} == {stamp}
    assert journal.state()["tasks"]["t"]["last_run"]["ended_at"] == stamp
