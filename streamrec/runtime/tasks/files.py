"""The files a task or queue run keeps in the state directory: lock, run counter, pid file, logs.

Used by the runner (``runtime.tasks.runner``, ``runtime.tasks.graph``) while it runs, and by other processes
that act on a run they do not own: ``task stop``/``queue stop`` (:func:`stop_task_runs`,
:func:`stop_queue_runs`), ``logs`` (:func:`logged_runs`, :func:`attempt_logs`) and the daemon's
startup recovery (:func:`interrupted_runs`). Names are made safe with
:func:`~streamrec.core.lifecycle.safe_name`; the layout::

    locks/task-<name>.lock        flock held for the whole run (shared for concurrency: allow)
    locks/task-<name>.run         the last run number given out (the run id: 1, 2, 3...)
    pids/task-<name>.<run>.json   the live run: pid and process group, owner, log files
    pids/task-<name>.<run>.stop   asks the run to stop; the owner then records "terminated"
    logs/tasks/<name>/<run>.<attempt>.stdout.log   (and .stderr.log)
    locks/queue-<name>.lock, locks/queue-<name>.run, pids/queue-<name>.<run>.json (and .stop)

A safe name holds no dot, so ``<name>.<run>`` is unambiguous. Directories are created only when an
open finds them missing: the common path costs no ``mkdir``. Files are 0600 and directories 0700
(``processes.open_private``): who may read them learns what runs and what it printed. The pid file is written once per run
and rewritten in place per attempt (a reader that catches a rewrite half done reads again).

Run ids are a per-task counter taken under the counter file's own lock, so they are unique across
processes; a fresh counter file starts from the last run the state log knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from streamrec.core.lifecycle import safe_name
from streamrec.runtime import processes

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

    def pid_file(self, run: int) -> Path:
        """The pid file of run ``run`` (present while it runs)."""
        return self.pids / f"{self.kind}-{self.safe}.{run}.json"

    def stop_marker(self, run: int) -> Path:
        """The file that asks run ``run`` to stop."""
        return self.pids / f"{self.kind}-{self.safe}.{run}.stop"

    def log_paths(self, run: int, attempt: int) -> tuple[Path, Path]:
        """stdout and stderr files of one attempt."""
        return (
            self.log_dir / f"{run}.{attempt}.stdout.log",
            self.log_dir / f"{run}.{attempt}.stderr.log",
        )

    def next_run(self, seed: Callable[[], int]) -> int:
        """The next run id; ``seed()`` gives the last known one when the counter is new."""
        fd = open_creating(self.counter, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held for microseconds by anyone else
            text = os.read(fd, 64).decode("ascii", "replace").strip()
            last = int(text) if text.isdigit() else seed()
            run = last + 1
            os.pwrite(fd, str(run).encode().ljust(20), 0)  # fixed width: no truncate needed
        finally:
            os.close(fd)
        return run


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


@dataclass
class RunRecord:
    """What a pid file says about a live run."""

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

    def owner_alive(self) -> bool:
        """Whether the process that owns the run is still the one running."""
        ticks = processes.start_ticks(self.owner_pid)
        if ticks is None:
            try:
                os.kill(self.owner_pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return self.owner_ticks is None
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


class PidFile:
    """The pid file of one live run, kept open by its owner and rewritten in place."""

    def __init__(self, files: RunFiles, record: RunRecord) -> None:
        self.path = files.pid_file(record.run)
        self.record = record
        self.fd = open_creating(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        self.size = 0
        self.write()

    def write(self) -> None:
        """Write the record (padded over a longer old one: JSON ignores trailing spaces)."""
        data = json.dumps({k: v for k, v in vars(self.record).items() if k != "path"}).encode()
        os.pwrite(self.fd, data.ljust(self.size), 0)
        self.size = max(self.size, len(data))

    def close(self) -> None:
        """Let go of the file (``clear_record`` removes it)."""
        os.close(self.fd)


def clear_record(files: RunFiles, run: int) -> None:
    """Remove the pid file and any stop request of a run that ended."""
    for path in (files.pid_file(run), files.stop_marker(run)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def read_record(path: Path) -> RunRecord | None:
    """The record in one pid file; None if it is gone or not a record."""
    for _ in range(3):  # a rewrite in progress reads as invalid JSON for an instant
        try:
            record = RunRecord(**json.loads(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            time.sleep(0.001)
            continue
        record.path = path
        return record
    return None


def read_records(files: RunFiles) -> list[RunRecord]:
    """The live runs' pid files, oldest run first (unreadable files are ignored)."""
    return _records(files.pids, f"{files.kind}-{files.safe}")


_PID_FILE = re.compile(r"(?P<prefix>(?:task|queue)-[A-Za-z0-9_-]+)\.(?P<run>\d+)\.json")


def _records(pids: Path, prefix: str | None, kind: Kind | None = None) -> list[RunRecord]:
    """Records of pid files named ``<prefix>.<run>.json`` (any task or queue of ``kind``)."""
    found = []
    for name in _names(pids):
        match = _PID_FILE.fullmatch(name)
        if match is None:
            continue
        if prefix is not None and match["prefix"] != prefix:
            continue
        if kind is not None and not match["prefix"].startswith(f"{kind}-"):
            continue
        found.append((int(match["run"]), name))
    records = [read_record(pids / name) for _run, name in sorted(found)]
    return [r for r in records if r is not None]


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


def _all_records(layout: StateLayout, kind: Kind) -> list[RunRecord]:
    return _records(layout.pids, None, kind)


def interrupted_runs(layout: StateLayout) -> list[RunRecord]:
    """Runs whose owner died (for the daemon's startup recovery); their groups may still run.

    The caller decides: ``stop_records(found, grace)`` ends them, then it logs
    ``daemon.recovered`` and removes the pid files (``clear_record``).
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
