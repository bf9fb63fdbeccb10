"""The writing end of the journal: the lock, the tail descriptor, torn-tail repair, fsync policy.

``state.journal.Journal`` owns one :class:`TailWriter` and calls it for every append and every
compaction; nothing else writes ``events.jsonl``. Under :meth:`TailWriter.locked` (a thread lock
plus ``flock`` on ``locks/journal.lock``, re-entrant within one thread), :meth:`open_tail` returns
the descriptor of the current tail, reopened when a compaction elsewhere replaced the file, and
brings the cached last seq up to date: only when the file's inode or size differs from what this
writer last saw does it read the file's end again. A partial last line left by a dead writer is
cut off there and kept in ``archive/torn-<seq>.bin``. :meth:`write` appends with one ``write()``
on an ``O_APPEND`` descriptor and applies the fsync policy (see ``state.journal``); on any OSError
it truncates the file back to where it was, so a full disk never leaves a half line behind.

The state directory may vanish under a running process (a wiped volume, ``rm -rf state``): the next
:meth:`locked` sees that the lock file is no longer the one it holds, recreates the directory
(``StatePaths.ensure``, private modes) and locks the new file; :meth:`open_tail` then finds a log
that ends below the seq it last wrote, keeps counting from there (so readers' ``since=`` stays
valid) and sets :attr:`lost`, which the journal turns into a ``state.recreated`` event.

A journal object inherited over ``fork()`` notices the new pid and opens its own descriptors: the
child must not share the parent's lock.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from streamrec.errors import StateError
from streamrec.log import logger
from streamrec.state import lines, snapshot
from streamrec.state.paths import StatePaths
from streamrec.state.private import open_private

FsyncPolicy = Literal["always", "interval", "never"]
FSYNC_INTERVAL = 1.0
"""Seconds between fsyncs under the ``interval`` policy."""
_APPEND_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


class TailWriter:
    """Appends to one state directory's ``events.jsonl``; see the module docstring."""

    def __init__(
        self,
        paths: StatePaths,
        fsync: FsyncPolicy,
        write: Callable[[int, bytes], int],
        sync: Callable[[int], None],
    ) -> None:
        self.paths, self.fsync = paths, fsync
        self.raw_write, self._sync_fd = write, sync
        self._reset()

    def _reset(self) -> None:
        """Forget every descriptor (at start, and in a forked child)."""
        self._pid = os.getpid()
        self._mutex = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._known: tuple[int, int] | None = None  # (inode, size) of the tail as we left it
        self.last_seq = 0
        self.lost: tuple[int, int] | None = None
        """``(last seq written, last seq still on disk)`` once the log lost events under us."""
        self.tail_count = 0
        self._last_fsync = 0.0
        self._timer: threading.Timer | None = None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the thread lock and the flock on ``locks/journal.lock`` (re-entrant)."""
        if os.getpid() != self._pid:
            self._reset()
        with self._mutex:
            lock_fd = self._lock_fd
            if lock_fd is not None and self._depth == 0 and not _same_file(lock_fd, self.paths):
                os.close(lock_fd)  # the state dir was removed: lock what others will lock
                lock_fd = self._lock_fd = None
            if lock_fd is None:
                self.paths.ensure()
                lock_fd = self._lock_fd = _open(self.paths.journal_lock, os.O_RDWR | os.O_CREAT)
            if self._depth == 0:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def open_tail(self) -> tuple[int, int]:
        """``(fd, size)`` of the current tail, torn tail repaired, ``last_seq`` current. Locked."""
        try:
            current = self.paths.events.stat()
        except FileNotFoundError:
            current = None
        if self._fd is not None and (
            current is None or os.fstat(self._fd).st_ino != current.st_ino
        ):
            self.detach()
        if self._fd is None:
            self._fd = _open(self.paths.events, _APPEND_FLAGS)
            if current is None and self.fsync != "never":
                snapshot.fsync_dir(self.paths.root)  # make the new file itself durable
        fd = self._fd
        info = os.fstat(fd)
        size = info.st_size
        if (info.st_ino, size) == self._known:
            return fd, size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            size = self._repair_torn(fd, size)
        last = lines.last_seq(fd, size)
        found = max(last or 0, snapshot.compacted_seq(self.paths))
        if found < self.last_seq:  # the log was removed under us: keep counting from where it was
            self.lost = (self.last_seq, found)
        else:
            self.last_seq = found
        first = lines.first_seq(fd) if last is not None else None
        self.tail_count = last - first + 1 if last is not None and first is not None else 0
        self._known = (info.st_ino, size)
        return fd, size

    def detach(self) -> None:
        """Close the tail descriptor (compaction moved the file away); reopened on next use."""
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._known = None, None

    def _repair_torn(self, fd: int, size: int) -> int:
        """Cut the partial last line off, keeping its bytes in ``archive/torn-<seq>.bin``."""
        keep = lines.complete_size(fd, size)
        torn = os.pread(fd, size - keep, keep)
        seq = max(lines.last_seq(fd, keep) or 0, snapshot.compacted_seq(self.paths)) + 1
        target = snapshot.free_name(self.paths.archive, f"torn-{seq}", ".bin")
        try:
            snapshot.write_file_atomic(target, torn, self.raw_write, sync=self.fsync != "never")
            os.ftruncate(fd, keep)
            if self.fsync != "never":
                self._sync_fd(fd)
        except OSError as exc:
            raise StateError(
                f"{self.paths.events} ends with a torn line that cannot be repaired: "
                f"{exc.strerror or exc}; nothing was appended"
            ) from exc
        logger.warning(
            "state log: {} ended with a torn line ({} bytes, a writer died mid-write); "
            "cut off and kept in {}",
            self.paths.events, len(torn), target,
        )  # fmt: skip
        return keep

    def write(self, fd: int, size: int, data: bytes, last_seq: int, count: int) -> None:
        """Append ``data`` (``count`` events, the last numbered ``last_seq``) at ``size``. Locked.

        On failure the file is cut back to ``size`` and StateError says what was not recorded.
        """
        try:
            snapshot.write_all(fd, data, self.raw_write)
            if self.fsync == "always":
                self._sync_fd(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, size)
            except OSError as undo:  # the next append repairs what is left as a torn tail
                logger.error("state log: cannot truncate a failed write: {}", undo)
            self._known = None
            raise StateError(_write_failure(self.paths, exc, count)) from exc
        self._known = (os.fstat(fd).st_ino, size + len(data))
        self.last_seq, self.tail_count = last_seq, self.tail_count + count
        if self.fsync == "interval":
            self._fsync_soon(fd)

    def _fsync_soon(self, fd: int) -> None:
        """``interval``: fsync now if the last one is a second old, else within a second."""
        now = time.monotonic()
        if now - self._last_fsync >= FSYNC_INTERVAL:
            self._flush(fd)
        elif self._timer is None:
            self._timer = threading.Timer(FSYNC_INTERVAL - (now - self._last_fsync), self._flush)
            self._timer.daemon = True
            self._timer.start()

    def _flush(self, fd: int | None = None) -> None:
        """fsync the tail (called directly, or by the ``interval`` timer with no argument)."""
        with self._mutex:
            if fd is None:
                self._timer = None
                fd = self._fd
            if fd is None or os.getpid() != self._pid:
                return
            try:
                self._sync_fd(fd)
            except OSError as exc:
                logger.warning("state log: fsync of {} failed: {}", self.paths.events, exc)
            self._last_fsync = time.monotonic()

    def close(self) -> None:
        """fsync what the ``interval`` policy still owes and close the descriptors."""
        with self._mutex:
            if self._timer is not None:
                self._timer.cancel()
                self._flush()
            if os.getpid() == self._pid:
                for fd in (self._fd, self._lock_fd):
                    if fd is not None:
                        os.close(fd)
            self._fd = self._lock_fd = None
            self._known = None


def _same_file(fd: int, paths: StatePaths) -> bool:
    """Whether ``fd`` is still the lock file at its path (False once the state dir was removed)."""
    try:
        return paths.journal_lock.stat().st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _open(path: Path, flags: int) -> int:
    try:
        return open_private(path, flags)
    except OSError as exc:
        raise StateError(f"cannot open {path}: {exc.strerror or exc}") from exc


def _write_failure(paths: StatePaths, exc: OSError, count: int) -> str:
    what = "1 event was" if count == 1 else f"{count} events were"
    hint = "free space on the state volume" if exc.errno == errno.ENOSPC else "check the state dir"
    return (
        f"cannot append to the state log {paths.events}: {exc.strerror or exc}; "
        f"{what} not recorded, the log is unchanged ({hint})"
    )
