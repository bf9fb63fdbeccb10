"""What a task's (or queue's) lock file says: the last run id given out, and its live runs.

``runtime.tasks.files`` holds an ``flock`` on ``locks/<kind>-<name>.lock`` for the whole of a run
(exclusive, or shared for ``concurrency: allow``). The same file, which exists from the task's
first run on, also carries the run counter and the record of each live run, so that a run creates
no file of its own in the state directory (creating an inode costs far more than rewriting a few
hundred bytes of one that exists). Its content is JSON lines::

    {"last_run": 41}
    {"kind": "task", "name": "remux", "run": 42, "owner_pid": 1234, "pid": 1240, ...}

Every change goes through :func:`edit`, which holds an ``fcntl`` write lock on the file (Linux
keeps these apart from ``flock``, so a run holding its ``flock`` can still edit) while it reads
the lines, changes them and writes them back; :func:`read_path` takes a read lock, so a reader
never sees a rewrite half done. Both locks are held for microseconds. Lines that are not JSON
objects (a file written by hand, or by an older version that left it empty) are dropped.

An ``fcntl`` lock belongs to the process and goes away when *any* descriptor of the file is
closed in it; edits and reads are short, synchronous and never interleave within one thread,
which is all this module needs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Line = dict[str, Any]
"""One line of a lock file: the counter (``last_run``) or one live run's record."""

_MAX = 1 << 20
"""Bytes read of a lock file (a few hundred per live run)."""


def parse(data: bytes) -> list[Line]:
    """The lines of a lock file's content (invalid ones dropped)."""
    found = []
    for raw in data.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict):
            found.append(line)
    return found


def encode(lines: list[Line]) -> bytes:
    """The content of a lock file holding ``lines``."""
    return b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines)


@contextlib.contextmanager
def _locked(fd: int, exclusive: bool) -> Iterator[None]:
    fcntl.lockf(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN)


def edit(fd: int, change: Callable[[list[Line]], list[Line]]) -> list[Line]:
    """Rewrite the lock file open on ``fd`` (read and write) with ``change(lines)``; the result."""
    with _locked(fd, exclusive=True):
        before = os.pread(fd, _MAX, 0)
        after = change(parse(before))
        data = encode(after)
        if data != before:
            os.pwrite(fd, data, 0)
            if len(data) < len(before):
                os.ftruncate(fd, len(data))
    return after


def read_fd(fd: int) -> list[Line]:
    """The lines of the lock file open on ``fd``."""
    with _locked(fd, exclusive=False):
        return parse(os.pread(fd, _MAX, 0))


def read_path(path: Path) -> list[Line]:
    """The lines of the lock file at ``path``; none if it does not exist or cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        return read_fd(fd)
    except OSError:
        return []
    finally:
        os.close(fd)


def edit_path(path: Path, change: Callable[[list[Line]], list[Line]]) -> None:
    """:func:`edit` of the lock file at ``path`` if it exists (nothing to change otherwise)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        edit(fd, change)
    finally:
        os.close(fd)


def last_run(lines: list[Line]) -> int | None:
    """The last run id given out, if the file has the counter."""
    for line in lines:
        value = line.get("last_run")
        if type(value) is int:
            return value
    return None


def with_last_run(lines: list[Line], run: int) -> list[Line]:
    """``lines`` with the counter set to ``run`` (first line)."""
    return [{"last_run": run}, *(line for line in lines if "last_run" not in line)]


def runs(lines: list[Line]) -> list[Line]:
    """The live-run records among ``lines``."""
    return [line for line in lines if "last_run" not in line]
