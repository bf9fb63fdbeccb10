"""The files a task or queue run keeps in the state directory: its lock file and its logs.

Used by the runner (``runtime.tasks.runner``, ``runtime.tasks.graph``) while it runs, and by other processes
that act on a run they do not own: ``task stop``/``queue stop`` (:func:`stop_task_runs`,
:func:`stop_queue_runs`), ``logs`` (:func:`logged_runs`, :func:`attempt_logs`, :func:`live_record`)
and the daemon's startup recovery (:func:`interrupted_runs`). Names are made safe with
:func:`~streamrec.core.lifecycle.safe_name`; the layout::

    locks/task-<name>.lock        flock held for the whole run (shared for concurrency: allow);
                                  its lines: the last run id given out, and each live run's
                                  record (pid and process group, owner, log files), see
                                  ``runtime.tasks.lockfile``
    pids/task-<name>.<run>.stop   asks the run to stop; the owner then records "terminated"
    logs/tasks/<name>/<run>.<attempt>.stdout.log   (and .stderr.log)
    locks/queue-<name>.lock, pids/queue-<name>.<run>.stop

A safe name holds no dot, so ``<name>.<run>`` is unambiguous. After a task's first run, a run
creates no file in the state directory but its two log files: the lock file exists and is
rewritten in place (creating a file costs far more than rewriting one). Directories are created
only when an open finds them missing: the common path costs no ``mkdir``. Files are 0600 and
directories 0700 (``processes.open_private``): who may read them learns what runs and what it
printed. A live run's record is written when it gets its id, rewritten per attempt, and removed
when it ends; a runner that dies leaves its record behind, which is how others find its runs
(owner dead, group maybe still alive).

Run ids come from the counter in the lock file, taken under the file's ``fcntl`` lock, so they
are unique across processes; a lock file without one starts from the older counter file
(``locks/task-<name>.run``) if there is one, else from the last run the state log knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from streamrec.core.lifecycle import safe_name
from streamrec.runtime import processes
from streamrec.runtime.tasks import lockfile

Kind = Literal["task", "queue"]


class StateLayout(Protocol):
    """The directories of a state dir that runs use (``state.paths.StatePaths`` has them)."""

    @property
    def logs(self) -> Path: ...
    @property
    def locks(self) -> Path: ...
    @property
    def pids(self) -> Path: ...


def open_creating(path: Path, flags: int) -> int:
    """``os.open`` of a private run file (0600; parent directories 0700, made only if missing)."""
    return processes.open_private(path, flags)


@dataclass(frozen=True)
class RunFiles:
    """Where one task's (or queue's) lock, counter, pid files and logs are."""

    kind: Kind
    name: str
    safe: str
    lock: Path
    counter: Path
    pids: Path
    log_dir: Path

    @classmethod
    def of(cls, layout: StateLayout, kind: Kind, name: str) -> RunFiles:
        """The files of task (or queue) ``name``; nothing is created."""
        safe = safe_name(name)
        return cls(
            kind=kind,
            name=name,
            safe=safe,
            lock=layout.locks / f"{kind}-{safe}.lock",
            counter=layout.locks / f"{kind}-{safe}.run",
            pids=layout.pids,
            log_dir=layout.logs / f"{kind}s" / safe,
        )

    def stop_marker(self, run: int) -> Path:
        """The file that asks run ``run`` to stop."""
        return self.pids / f"{self.kind}-{self.safe}.{run}.stop"

    def log_paths(self, run: int, attempt: int) -> tuple[Path, Path]:
        """stdout and stderr files of one attempt."""
        return (
            self.log_dir / f"{run}.{attempt}.stdout.log",
            self.log_dir / f"{run}.{attempt}.stderr.log",
        )

    def legacy_last_run(self) -> int | None:
        """The last run id in the counter file older versions kept beside the lock, if any."""
        try:
            text = self.counter.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None


class RunLock:
    """An flock on a run's lock file; exclusive for one run at a time, shared for ``allow``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def try_acquire(self, shared: bool = False) -> bool:
        """Take the lock if nobody conflicting holds it; False otherwise."""
        if self.fd is not None:
            return True
        fd = open_creating(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    async def acquire(self, shared: bool = False, timeout: float | None = None) -> bool:
        """Wait for the lock (polling, so the event loop is never blocked); False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self.try_acquire(shared):
            if deadline is not None and loop.time() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def release(self) -> None:
        """Let go of the lock (the task's group may still hold an inherited descriptor)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _held(self) -> int:
        if self.fd is None:
            raise RuntimeError(f"{self.path} is not locked by this run")
        return self.fd

    def next_run(self, files: RunFiles, seed: Callable[[], int]) -> int:
        """The next run id, from the counter in the lock file (held).

        A lock file without one starts from the older counter file, else from ``seed()``, the
        last run the state log knows.
        """
        given: list[int] = []

        def bump(lines: list[lockfile.Line]) -> list[lockfile.Line]:
            last = lockfile.last_run(lines)
            if last is None:
                last = files.legacy_last_run()
            run = (seed() if last is None else last) + 1
            given.append(run)
            return lockfile.with_last_run(lines, run)

        lockfile.edit(self._held(), bump)
        return given[0]

    def records(self) -> list[RunRecord]:
        """The live-run records in the lock file (held), oldest run first."""
        return _records(lockfile.read_fd(self._held()), self.path)

    def put(self, record: RunRecord) -> None:
        """Write ``record`` into the lock file (held), replacing the one of the same run."""
        line = record.line()
        lockfile.edit(self._held(), lambda lines: [*_without(lines, {record.run}), line])

    def drop(self, runs: Collection[int]) -> None:
        """Remove the records of ``runs`` from the lock file (held)."""
        if runs:
            lockfile.edit(self._held(), lambda lines: _without(lines, runs))


def _without(lines: list[lockfile.Line], runs: Collection[int]) -> list[lockfile.Line]:
    return [line for line in lines if "last_run" in line or line.get("run") not in runs]


def _records(lines: list[lockfile.Line], path: Path) -> list[RunRecord]:
    found = []
    for line in lockfile.runs(lines):
        try:
            record = RunRecord(**line)
        except TypeError:  # not a record this version understands
            continue
        record.path = path
        found.append(record)
    return sorted(found, key=lambda r: r.run)


@dataclass
class RunRecord:
    """What the lock file says about one live run."""

    kind: Kind
    name: str
    run: int
    owner_pid: int
    owner_ticks: int | None
    attempt: int | None = None
    pid: int | None = None
    pgid: int | None = None
    start_ticks: int | None = None
    stdout_log: str | None = None
    stderr_log: str | None = None
    queue: str | None = None
    path: Path | None = field(default=None, compare=False)
    """The lock file the record was read from."""

    def line(self) -> dict[str, Any]:
        """The record as a line of its lock file."""
        return {k: v for k, v in vars(self).items() if k != "path"}

    def owner_alive(self) -> bool:
        """Whether the process that owns the run is still the one running."""
        ticks = processes.start_ticks(self.owner_pid)
        if ticks is None:  # gone, or hidden from this user's /proc: ask kill(0)
            return processes.process_exists(self.owner_pid)
        return self.owner_ticks is None or ticks == self.owner_ticks

    def group(self) -> int | None:
        """The run's process group if it is still the one we started (pids get reused)."""
        if self.pgid is None:
            return None
        ticks = processes.start_ticks(self.pgid)
        if ticks is not None and self.start_ticks is not None and ticks != self.start_ticks:
            return None  # the leader's pid now belongs to someone else
        return self.pgid if processes.group_alive(self.pgid) else None


_OWNER: dict[int, int | None] = {}


def _own_ticks() -> int | None:
    me = os.getpid()
    if me not in _OWNER:
        _OWNER.clear()
        _OWNER[me] = processes.start_ticks(me)
    return _OWNER[me]


def new_record(files: RunFiles, run: int, queue: str | None = None) -> RunRecord:
    """A record of a run owned by this process."""
    return RunRecord(files.kind, files.name, run, os.getpid(), _own_ticks(), queue=queue)


class RunEntry:
    """The record of one live run in its lock file, written by its owner, rewritten per attempt."""

    def __init__(self, lock: RunLock, record: RunRecord) -> None:
        self.lock = lock
        self.record = record
        self.write()

    def write(self) -> None:
        """Write the record as it is now."""
        self.lock.put(self.record)

    def close(self) -> None:
        """Remove the record: the run is over (any stop request for it is removed too)."""
        try:
            self.lock.drop({self.record.run})
        finally:
            clear_stop(self.record, self.lock.path.parent.parent / "pids")


def clear_stop(record: RunRecord, pids: Path) -> None:
    """Remove the stop request of a run that ended, if there was one."""
    with contextlib.suppress(FileNotFoundError):
        (pids / f"{record.kind}-{safe_name(record.name)}.{record.run}.stop").unlink()


def clear_record(files: RunFiles, run: int) -> None:
    """Remove the record and any stop request of run ``run``, whose owner is gone."""
    lockfile.edit_path(files.lock, lambda lines: _without(lines, {run}))
    with contextlib.suppress(FileNotFoundError):
        files.stop_marker(run).unlink()


def read_records(files: RunFiles) -> list[RunRecord]:
    """The live runs' records in the lock file, oldest run first."""
    return _records(lockfile.read_path(files.lock), files.lock)


def live_record(files: RunFiles, run: int) -> RunRecord | None:
    """The record of run ``run`` while it is live (or its owner died without removing it)."""
    return next((r for r in read_records(files) if r.run == run), None)


def _all_records(layout: StateLayout, kind: Kind) -> list[RunRecord]:
    """The records of every task (or queue) of ``kind`` in the state dir."""
    found: list[RunRecord] = []
    for name in sorted(_names(layout.locks)):
        if name.startswith(f"{kind}-") and name.endswith(".lock"):
            path = layout.locks / name
            found.extend(_records(lockfile.read_path(path), path))
    return found


def _names(directory: Path) -> list[str]:
    try:
        return [p.name for p in directory.iterdir()]
    except OSError:
        return []


def stop_requested(files: RunFiles, run: int) -> str | None:
    """The reason given by whoever asked run ``run`` to stop, or None."""
    try:
        return files.stop_marker(run).read_text(encoding="utf-8").strip() or "stopped by request"
    except OSError:
        return None


def request_stop(files: RunFiles, run: int, reason: str) -> None:
    """Ask run ``run`` to stop (its owner checks between attempts and when the process ends)."""
    fd = open_creating(files.stop_marker(run), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, reason.encode())
    finally:
        os.close(fd)


async def stop_records(records: list[RunRecord], grace: float) -> None:
    """End the process groups of ``records``: SIGTERM, ``grace``, SIGKILL, all at once."""
    groups = [g for g in (r.group() for r in records) if g is not None]
    # reap: when this process adopted the orphans (a subreaper), it collects them too
    await asyncio.gather(*(processes.stop_group(g, grace, reap=True) for g in groups))


async def stop_task_runs(
    layout: StateLayout,
    name: str,
    grace: float,
    reason: str = "stopped by request",
    skip_runs: Collection[int] = (),
) -> list[RunRecord]:
    """Stop every live run of task ``name`` but ``skip_runs`` (the caller's own); those found."""
    files = RunFiles.of(layout, "task", name)
    mine = os.getpid()
    records = [r for r in read_records(files) if not (r.owner_pid == mine and r.run in skip_runs)]
    live = [r for r in records if r.owner_alive() or r.group() is not None]
    for record in live:
        request_stop(files, record.run, reason)
    await stop_records(live, grace)
    for record in live:
        if not record.owner_alive():  # nobody is left to tidy up after it
            clear_record(files, record.run)
    return live


async def stop_queue_runs(
    layout: StateLayout,
    name: str,
    grace: float,
    reason: str = "stopped by request",
    skip_runs: Collection[int] = (),
) -> list[RunRecord]:
    """Stop every live run of queue ``name`` and the task it is running; the queue runs found.

    The caller's own queue runs ``skip_runs`` (which it stops itself) and their tasks are left.
    """
    files = RunFiles.of(layout, "queue", name)
    mine = os.getpid()
    live = [
        r
        for r in read_records(files)
        if r.owner_alive() and not (r.owner_pid == mine and r.run in skip_runs)
    ]
    for record in live:
        request_stop(files, record.run, reason)
    tasks = [
        r
        for r in _all_records(layout, "task")
        if r.queue == name and not (r.owner_pid == mine and skip_runs)
    ]
    for task in tasks:
        request_stop(RunFiles.of(layout, "task", task.name), task.run, reason)
    await stop_records(tasks, grace)
    for record in [*live, *tasks]:
        if not record.owner_alive():
            clear_record(RunFiles.of(layout, record.kind, record.name), record.run)
    return live


def interrupted_runs(layout: StateLayout) -> list[RunRecord]:
    """Runs whose owner died (for the daemon's startup recovery); their groups may still run.

    The caller decides: ``stop_records(found, grace)`` ends them, then it logs
    ``daemon.recovered`` and removes their records (``clear_record``).
    """
    return [
        r for kind in ("task", "queue") for r in _all_records(layout, kind) if not r.owner_alive()
    ]


def logged_runs(files: RunFiles) -> list[int]:
    """Run ids that have log files, ascending."""
    names = _names(files.log_dir)
    runs = {int(m.group(1)) for n in names if (m := re.fullmatch(r"(\d+)\.\d+\.stdout\.log", n))}
    return sorted(runs)


def attempt_logs(files: RunFiles, run: int) -> list[tuple[int, Path, Path]]:
    """``(attempt, stdout, stderr)`` of each attempt of run ``run`` that has files."""
    found = []
    for name in _names(files.log_dir):
        match = re.fullmatch(rf"{run}\.(\d+)\.stdout\.log", name)
        if match:
            attempt = int(match.group(1))
            found.append((attempt, *files.log_paths(run, attempt)))
    return sorted(found)
