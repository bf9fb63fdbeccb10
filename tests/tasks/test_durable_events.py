"""The runner under the default durability: a dependent starts only once its dependency's
``task.finished`` is on disk, and events of parallel runs share fsyncs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from streamrec.runtime.tasks.graph import run_graph
from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.spec.model import Task
from streamrec.state.journal import Journal
from streamrec.state.paths import StatePaths


async def test_a_dependent_starts_only_after_its_dependency_finished_is_synced(
    paths: StatePaths, workdir: Path
) -> None:
    durable: list[int] = []

    def sync(fd: int) -> None:
        os.fsync(fd)
        durable.append(os.fstat(fd).st_size)

    tasks = {
        "a": Task(command="true"),
        "b": Task(command="true", depends_on=("a",)),
        "c": Task(command="true", depends_on=("b",)),
        "d": Task(command="true"),
        "e": Task(command="true", depends_on=("d", "c")),
    }
    with Journal(paths.root, fsync="always", sync=sync) as journal:
        runner = TaskRunner(tasks, layout=paths, journal=journal, base_dir=workdir, max_parallel=2)
        results = await run_graph(runner, list(tasks))
        batches = journal.batches
    assert all(r.ok for r in results.values())
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    offset = 0
    for line in (paths.root / "events.jsonl").read_bytes().splitlines(keepends=True):
        event = json.loads(line)
        spans[(event["type"], event["task"])] = (offset, offset + len(line))
        offset += len(line)
    for name, task in tasks.items():
        start_of_started = spans[("task.started", name)][0]
        for dep in task.depends_on:
            end_of_finished = spans[("task.finished", dep)][1]
            assert any(end_of_finished <= size <= start_of_started for size in durable), name
    assert offset in durable  # the last event is on disk too
    assert len(durable) == batches <= 10
