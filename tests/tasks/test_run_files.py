"""What a run leaves in the state directory: after a task's first run, only its two log files;
its live record sits in the task's lock file while it runs."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

from taskkit import MakeRunner

from streamrec.runtime.tasks.files import RunFiles, live_record, read_records
from streamrec.state.paths import StatePaths


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


async def test_a_run_after_the_first_creates_only_its_two_log_files(
    make_runner: MakeRunner, paths: StatePaths
) -> None:
    runner = make_runner(job={"command": "true"})
    assert (await runner.run("job")).status == "completed"
    before = files_under(paths.root)
    assert (await runner.run("job")).status == "completed"
    created = files_under(paths.root) - before - {"events.jsonl"}
    assert created == {"logs/tasks/job/2.1.stdout.log", "logs/tasks/job/2.1.stderr.log"}
    lock = paths.locks / "task-job.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert [json.loads(line) for line in lock.read_text().splitlines()] == [{"last_run": 2}]


async def test_a_live_run_is_recorded_in_its_lock_file_and_removed_when_it_ends(
    make_runner: MakeRunner, paths: StatePaths
) -> None:
    runner = make_runner(nap={"command": "sleep 5"})
    files = RunFiles.of(paths, "task", "nap")
    running = asyncio.ensure_future(runner.run("nap"))
    for _ in range(500):
        record = live_record(files, 1)
        if record is not None and record.pid is not None:
            break
        await asyncio.sleep(0.01)
    assert record is not None and record.owner_pid == os.getpid() and record.owner_alive()
    assert record.group() == record.pid and record.stdout_log and record.attempt == 1
    assert await runner.stop("nap") == 1
    assert (await running).status == "terminated"
    assert read_records(files) == [] and live_record(files, 1) is None


async def test_run_ids_go_on_from_an_older_counter_file(
    make_runner: MakeRunner, paths: StatePaths
) -> None:
    """A state dir written by a version that kept ``locks/task-<name>.run`` keeps its numbering."""
    (paths.locks / "task-job.run").write_text("41".ljust(20))
    runner = make_runner(job={"command": "true"})
    assert (await runner.run("job")).run == 42
    assert (await runner.run("job")).run == 43
