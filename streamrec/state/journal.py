"""The journal: the append-only event log of a state directory, and its current state.

Every outcome streamrec produces (a recording started, a segment closed, a task finished or was
skipped, a config applied or rejected) is one event appended here by the daemon, the task runner or
a CLI command; ``status``, ``history``, the HTTP API and startup recovery read it back. Several
processes append to the same log, so every write happens under an advisory ``flock`` on
``locks/journal.lock`` (plus a thread lock inside one process).

Writing. ``append``/``extend`` take the lock, find the last seq (cached; re-read from the file's end
only when its inode or size changed under us), cut off a torn tail if a writer died mid-line (its
bytes are kept in ``archive/torn-<seq>.bin``, with a warning), and write the new lines with one
``write()`` on an ``O_APPEND`` descriptor. Each event is ``{"seq", "ts", "type", **fields}``: ``seq``
strictly increasing across all writers, ``ts`` UTC ISO 8601 with milliseconds and ``Z``. If the
write or the fsync fails (ENOSPC, EIO), the file is truncated back to where it was and StateError
says so: the log stays valid and the caller knows the event was not recorded.

The fsync policy (``settings.state_fsync``) decides what a crash can cost:

- ``always`` (default): fsync after every append (and of the directory when the file is created).
  Nothing acknowledged is ever lost, not even to a power cut. Events are low-volume (starts,
  segments, finishes), so this costs little; ``bench/bench_state_log.py`` measures it.
- ``interval``: the data is written to the file at once, so a crashed or killed *process* loses
  nothing; fsync runs at most once a second (a timer flushes the last appends of a burst), so a
  power cut or kernel crash can lose up to the last second.
- ``never``: fsync is left to the OS (typically within 30 s); a power cut can lose that much.

Reading. Readers take no lock. ``read()`` yields events in seq order and skips corrupt lines with
a warning and a torn tail silently (it may be a write in progress). ``state()`` is the fold (see
``state.fold``) of ``snapshot.json`` plus the tail, cached and extended incrementally as the tail
grows. Compaction (``compact()``, or automatically once the tail passes ``compact_after`` events)
writes the snapshot atomically, then moves the whole tail to ``archive/events-<first>-<last>.jsonl``
and starts an empty tail. A crash between any two steps leaves a consistent log: tail events with
``seq <= snapshot.seq`` are skipped, and readers open the tail *before* the snapshot so a compaction
running concurrently can never make them miss events.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

from loguru import logger

from streamrec.errors import StateError
from streamrec.state import lines, snapshot
from streamrec.state.current import FoldCache, folded_seq
from streamrec.state.paths import StatePaths

FsyncPolicy = Literal["always", "interval", "never"]
"""Same literal as ``spec.model.FsyncPolicy`` (``settings.state_fsync``)."""

FSYNC_INTERVAL = 1.0
"""Seconds between fsyncs under the ``interval`` policy."""
_RESERVED = frozenset({"seq", "ts", "type"})
_APPEND_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


def utc_now() -> datetime:
    """The default clock of a journal."""
    return datetime.now(timezone.utc)


def format_ts(moment: datetime) -> str:
    """``2026-05-01T20:00:00.123Z``: UTC, milliseconds, ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Journal:
    """The event log under ``root`` (a state directory); see the module docstring.

    ``write`` is the seam every byte written passes through (``os.write``; a test passes one that
    fails with ENOSPC), ``sync`` the one every fsync of the tail passes through (``os.fsync``).
    ``clock`` gives the time stamped on events. ``checkpoint`` is called with a step name after
    each step of a compaction (``snapshot``, ``archive``, ``tail``; a test crashes there).
    """

    def __init__(
        self,
        root: Path,
        *,
        fsync: FsyncPolicy = "always",
        compact_after: int | None = 100_000,
        write: Callable[[int, bytes], int] = os.write,
        sync: Callable[[int], None] = os.fsync,
        clock: Callable[[], datetime] = utc_now,
        checkpoint: Callable[[str], None] | None = None,
    ) -> None:
        if fsync not in get_args(FsyncPolicy):
            raise ValueError(f"fsync must be one of {get_args(FsyncPolicy)}, not {fsync!r}")
        self.paths = StatePaths.at(Path(root))
        self.fsync: FsyncPolicy = fsync
        self.compact_after = compact_after
        self._write, self._sync_fd = write, sync
        self._clock, self._checkpoint = clock, checkpoint
        self._reset()

    def _reset(self) -> None:
        """Forget every descriptor and cache (at start, and in a forked child)."""
        self._pid = os.getpid()
        self._mutex = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._known: tuple[int, int] | None = None  # (inode, size) of the tail we last saw
        self._last_seq = 0
        self._tail_count = 0
        self._last_fsync = 0.0
        self._timer: threading.Timer | None = None
        self._folds = FoldCache(self.paths)

    # --- writing ------------------------------------------------------------------------------

    def append(self, type: str, /, **fields: Any) -> dict[str, Any]:
        """Write one event ``{"seq", "ts", "type", **fields}`` and return it.

        Safe across threads and processes. Raises StateError if it could not be written (the log
        is left as it was).
        """
        return self.extend([(type, fields)])[0]

    def extend(self, events: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Write several events under one lock and one ``write()``; returns them with seq and ts."""
        for kind, fields in events:
            if not isinstance(kind, str) or not kind:
                raise ValueError(f"an event type must be a non-empty string, not {kind!r}")
            if fields.keys() & _RESERVED:
                raise ValueError(
                    f"event fields may not be named {sorted(fields.keys() & _RESERVED)}"
                )
        if not events:
            return []
        with self._locked():
            fd = self._tail_fd()
            size = self._sync(fd)
            ts, seq = format_ts(self._clock()), self._last_seq
            written = []
            for kind, fields in events:
                seq += 1
                written.append({"seq": seq, "ts": ts, "type": kind, **fields})
            data = b"".join(lines.encode(event) for event in written)
            try:
                snapshot.write_all(fd, data, self._write)
                if self.fsync == "always":
                    self._sync_fd(fd)
            except OSError as exc:
                self._undo(fd, size)
                raise StateError(_write_failure(self.paths.events, exc, len(written))) from exc
            self._known = (os.fstat(fd).st_ino, size + len(data))
            self._last_seq, self._tail_count = seq, self._tail_count + len(written)
            if self.fsync == "interval":
                self._fsync_soon(fd)
            if self.compact_after is not None and self._tail_count > self.compact_after:
                try:
                    self._compact_locked()
                except StateError as exc:
                    logger.warning("state log: automatic compaction failed, will retry: {}", exc)
        return written

    def _undo(self, fd: int, size: int) -> None:
        """Cut a failed write back off, so the file ends where it did before."""
        try:
            os.ftruncate(fd, size)
        except OSError as exc:  # the next append repairs what is left as a torn tail
            logger.error("state log: cannot truncate a failed write: {}", exc)
        self._known = None

    def _fsync_soon(self, fd: int) -> None:
        """``interval`` policy: fsync now if the last one is a second old, else within a second."""
        now = time.monotonic()
        if now - self._last_fsync >= FSYNC_INTERVAL:
            self._flush(fd)
        elif self._timer is None:
            self._timer = threading.Timer(FSYNC_INTERVAL - (now - self._last_fsync), self._flush)
            self._timer.daemon = True
            self._timer.start()

    def _flush(self, fd: int | None = None) -> None:
        with self._mutex:
            if self._timer is not None and fd is None:
                self._timer = None
            fd = self._fd if fd is None else fd
            if fd is None or os.getpid() != self._pid:
                return
            try:
                self._sync_fd(fd)
            except OSError as exc:
                logger.warning("state log: fsync of {} failed: {}", self.paths.events, exc)
            self._last_fsync = time.monotonic()

    def close(self) -> None:
        """Flush pending data (``interval``) and release descriptors; the journal can be reused."""
        with self._mutex:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
                self._flush()
            for fd in (self._fd, self._lock_fd):
                if fd is not None and os.getpid() == self._pid:
                    os.close(fd)
            self._fd = self._lock_fd = None
            self._known = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the lock and the tail ----------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the thread lock and the flock on ``locks/journal.lock`` (re-entrant)."""
        if os.getpid() != self._pid:
            self._reset()  # a forked child must not share the parent's descriptors or lock
        with self._mutex:
            lock_fd = self._lock_fd
            if lock_fd is None:
                self.paths.ensure()
                lock_fd = self._lock_fd = self._open(
                    self.paths.journal_lock, os.O_RDWR | os.O_CREAT
                )
            if self._depth == 0:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def _open(self, path: Path, flags: int) -> int:
        try:
            return os.open(path, flags | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StateError(f"cannot open {path}: {exc.strerror or exc}") from exc

    def _tail_fd(self) -> int:
        """The descriptor of the current ``events.jsonl``, reopened if compaction replaced it."""
        try:
            current = self.paths.events.stat()
        except FileNotFoundError:
            current = None
        if self._fd is not None:
            if current is not None and os.fstat(self._fd).st_ino == current.st_ino:
                return self._fd
            os.close(self._fd)
            self._fd, self._known = None, None
        self._fd = self._open(self.paths.events, _APPEND_FLAGS)
        if current is None and self.fsync != "never":
            snapshot.fsync_dir(self.paths.root)  # make the new file itself durable
        return self._fd

    def _sync(self, fd: int) -> int:
        """Bring the cached last seq up to date with the file; repair a torn tail. Returns size."""
        info = os.fstat(fd)
        size = info.st_size
        if (info.st_ino, size) == self._known:
            return size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            size = self._repair_torn(fd, size)
        last = lines.last_seq(fd, size)
        self._last_seq = max(last or 0, snapshot.compacted_seq(self.paths))
        first = lines.first_seq(fd) if last is not None else None
        self._tail_count = last - first + 1 if last is not None and first is not None else 0
        self._known = (info.st_ino, size)
        return size

    def _repair_torn(self, fd: int, size: int) -> int:
        """Cut the partial last line off, keeping its bytes in ``archive/torn-<seq>.bin``."""
        keep = lines.complete_size(fd, size)
        torn = os.pread(fd, size - keep, keep)
        seq = max(lines.last_seq(fd, keep) or 0, snapshot.compacted_seq(self.paths)) + 1
        target = snapshot.free_name(self.paths.archive, f"torn-{seq}", ".bin")
        try:
            snapshot.write_file_atomic(target, torn, self._write, sync=self.fsync != "never")
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

    # --- reading ------------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The seq of the last event written (0 for an empty log). Takes no lock."""
        fd = self._open_tail_for_reading()
        try:
            last = lines.last_seq(fd, os.fstat(fd).st_size) if fd is not None else None
        finally:
            if fd is not None:
                os.close(fd)
        return max(last or 0, snapshot.compacted_seq(self.paths))

    def _open_tail_for_reading(self) -> int | None:
        try:
            return os.open(self.paths.events, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {self.paths.events}: {exc.strerror or exc}") from exc

    def read(self, since: int = 0, *, include_archive: bool = False) -> Iterator[dict[str, Any]]:
        """Events with ``seq > since`` in order; the archive too if asked (the whole history)."""
        fd = self._open_tail_for_reading()  # before listing the archive: see the module docstring
        try:
            last = since
            if include_archive:
                for _first, final, path in snapshot.archive_files(self.paths.archive):
                    if final <= last:
                        continue
                    archived = self._open(path, os.O_RDONLY)
                    try:
                        for event in lines.LineReader(archived, str(path)):
                            if event["seq"] > last:
                                last = event["seq"]
                                yield event
                    finally:
                        os.close(archived)
            if fd is not None:
                for event in lines.LineReader(fd, str(self.paths.events)):
                    if event["seq"] > last:
                        last = event["seq"]
                        yield event
        finally:
            if fd is not None:
                os.close(fd)

    def state(self) -> dict[str, Any]:
        """The current state: the snapshot with the tail folded onto it (a fresh copy each call)."""
        fd = self._open_tail_for_reading()  # the tail before the snapshot: see the docstring
        try:
            with self._folds.lock:
                data = pickle.dumps(self._folds.current(fd), pickle.HIGHEST_PROTOCOL)
            copy: dict[str, Any] = pickle.loads(data)  # noqa: S301  # our own bytes, made just above
            return copy
        finally:
            if fd is not None:
                os.close(fd)

    # --- compaction ---------------------------------------------------------------------------

    def compact(self) -> None:
        """Snapshot the fold, move the tail to ``archive/``, start a fresh tail (under the lock)."""
        with self._locked():
            self._compact_locked()

    def _compact_locked(self) -> None:
        fd = self._tail_fd()
        size = self._sync(fd)
        with self._folds.lock:
            folded = self._folds.current(fd)
            seq = folded_seq(folded)
            old_seq = snapshot.snapshot_seq(self.paths.snapshot)
            if size == 0 and seq <= old_seq:
                return
            try:
                snapshot.remove_stale_tmp(self.paths.snapshot)
                if seq > old_seq:
                    snapshot.write_snapshot(self.paths.snapshot, seq, folded, self._write)
                self._step("snapshot")
                if size:
                    first = lines.first_seq(fd) or seq
                    last = lines.last_seq(fd, size) or seq
                    target = snapshot.free_name(
                        self.paths.archive, f"events-{first}-{last}", ".jsonl"
                    )
                    self.paths.events.rename(target)
                    snapshot.fsync_dir(self.paths.archive)
                    snapshot.fsync_dir(self.paths.root)
                    self._step("archive")
                self._fd = None
                os.close(fd)
                self._sync(self._tail_fd())
                self._step("tail")
            except OSError as exc:
                raise StateError(
                    f"cannot compact the state log in {self.paths.root}: {exc.strerror or exc}; "
                    "the log is unchanged and stays readable, compaction will be retried"
                ) from exc
            self._folds.invalidate()
        logger.info("state log: compacted up to seq {} ({} bytes of tail archived)", seq, size)

    def _step(self, name: str) -> None:
        if self._checkpoint is not None:
            self._checkpoint(name)


def _write_failure(path: Path, exc: OSError, count: int) -> str:
    what = "1 event was" if count == 1 else f"{count} events were"
    reason = exc.strerror or str(exc)
    hint = "free space on the state volume" if exc.errno == errno.ENOSPC else "check the state dir"
    return f"cannot append to the state log {path}: {reason}; {what} not recorded, the log is unchanged ({hint})"
