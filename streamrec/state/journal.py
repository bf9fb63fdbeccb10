"""The journal: the append-only event log of a state directory, and its current state.

Every outcome streamrec produces (a recording started, a segment closed, a task finished or was
skipped, a config applied or rejected) is one event appended here by the daemon, the task runner or
a CLI command; ``status``, ``history``, the HTTP API and startup recovery read it back. Several
processes append to the same log, so every write happens under an advisory ``flock`` on
``locks/journal.lock`` (plus a thread lock inside one process).

Writing (``state.writer``). ``append``/``extend`` take the lock, find the last seq (cached; read
from the file's end again only when its inode or size changed under us), cut off a torn tail if a
writer died mid-line (its bytes are kept in ``archive/torn-<seq>.bin``, with a warning), and write
the new lines with one ``write()`` on an ``O_APPEND`` descriptor: the lines of every append queued
meanwhile (``state.grouping``), in the order they were queued. Each event is ``{"seq", "ts", "type", **fields}``: ``seq``
strictly increasing across all writers, ``ts`` UTC ISO 8601 with milliseconds and ``Z``
(``core.timestamps.format_ts``, the time read from the journal's ``Clock``). An event is a typed
record (``core.events``); the legacy form ``append("type", **fields)`` builds the record from the
registry, so a wrong field name raises. If the
write or the fsync fails (ENOSPC, EIO), the file is truncated back to where it was and StateError
says so: the log stays valid and the caller knows the event was not recorded.

The fsync policy (``settings.state_fsync``) decides what a crash can cost:

- ``always`` (default): an append returns (``append_async`` resolves) only once an fsync covering
  its line is done (and of the directory when the file is created). Nothing acknowledged is ever
  lost, not even to a power cut. Appends made while a write and its fsync are in flight are
  queued and written together with one fsync (group commit, ``state.grouping``), so parallel
  task runs share fsyncs; ``bench/bench_state_log.py`` and ``bench/bench_tasks.py`` measure it.
- ``interval``: the data is written to the file at once, so a crashed or killed *process* loses
  nothing; fsync runs at most once a second (a timer flushes the last appends of a burst), so a
  power cut or kernel crash can lose up to the last second.
- ``never``: fsync is left to the OS (typically within 30 s); a power cut can lose that much.

Measured on the development VM (2 cores, virtio disk): ~210-230 µs per append under ``always``,
~25-40 µs under ``interval`` and ``never``.

A state directory removed while a journal is in use is recreated by the next append (private
modes, ``state.private``); its first event is ``state.recreated`` with the seq the log had reached
(``previous_seq``) and how many events are no longer in view (``lost_events``), and numbering goes
on from there, so a reader polling with ``since=`` misses nothing written afterwards.
:attr:`Journal.failure` says why the last write failed, until one succeeds.

Reading. Readers take no lock. ``read()`` yields events in seq order and skips corrupt lines with
a warning and a torn tail silently (it may be a write in progress). ``state()`` is the fold (see
``state.fold``) of ``snapshot.json`` plus the tail, cached and extended incrementally as the tail
grows; each call copies it whole, for callers that change what they get. ``view()`` is the same
state for readers that only read (the HTTP API, ``/metrics``): shared, and renewed per batch of new
events only in the tables and entries they reached (``state.readview``), so a read costs what
changed, not what the history holds. Compaction (``compact()``, or automatically once the tail passes ``compact_after`` events)
writes the snapshot atomically, then moves the whole tail to ``archive/events-<first>-<last>.jsonl``
and starts an empty tail; other writers wait meanwhile (~0.5 s for a 100,000-event tail). So
``status`` costs one snapshot load (~10 ms for a year of 20 channels, 1,000,000 events) plus at most
``compact_after`` tail events (~5 µs each). A crash between any two steps of compaction leaves a
consistent log: tail events with ``seq <= snapshot.seq`` are skipped, and readers open the tail
*before* the snapshot, so a compaction running concurrently can never make them miss events.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, get_args

from streamrec.core.clock import Clock
from streamrec.core.events import Event, StateRecreated, build, to_json
from streamrec.core.timestamps import format_ts
from streamrec.errors import StateError
from streamrec.log import logger
from streamrec.state import lines, snapshot
from streamrec.state.current import FoldCache, folded_seq
from streamrec.state.grouping import GroupCommit, Pending
from streamrec.state.paths import StatePaths
from streamrec.state.readview import ReadView
from streamrec.state.writer import FSYNC_INTERVAL, FsyncPolicy, TailWriter

__all__ = ["FSYNC_INTERVAL", "FsyncPolicy", "Journal", "format_ts"]

PendingEvent = Event | tuple[str, dict[str, Any]]
"""What ``extend`` takes: a record, or (legacy) a type name and its fields."""


class _WallClock:
    """The clock of a journal made without one (benchmarks, tests that do not look at stamps).

    The same as ``runtime.clock.SYSTEM_CLOCK``, which ``state`` may not import (``runtime`` and
    ``state`` are one layer, independent of each other); every journal the package opens is handed
    a clock by ``app.statedir``.
    """

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def time(self) -> float:
        return time.time()


_WALL_CLOCK = _WallClock()


def _recreated(paths: StatePaths, last: int, kept: int) -> StateRecreated:
    """``state.recreated``: what the log held before it vanished."""
    return StateRecreated(
        state_dir=str(paths.root),
        previous_seq=last,
        lost_events=last - kept,
        reason="the state directory or its log was removed while streamrec was running",
    )


@contextmanager
def _os_errors(action: str) -> Iterator[None]:
    """Turn an OSError into a StateError that says what could not be done."""
    try:
        yield
    except OSError as exc:
        raise StateError(f"{action}: {exc.strerror or exc}") from exc


class Journal:
    """The event log under ``root`` (a state directory); see the module docstring.

    ``write`` is the seam every byte written passes through (``os.write``; a test passes one that
    fails with ENOSPC), ``sync`` the one every fsync of the tail passes through (``os.fsync``).
    ``clock`` gives the time stamped on events (``app.statedir`` passes the front end's, which is
    ``SYSTEM_CLOCK`` or a test's ``FakeClock``); without one, the system's wall time.
    ``checkpoint`` is called with a step name after each step of a compaction (``snapshot``,
    ``archive``, ``tail``; a test crashes there).
    """

    def __init__(
        self,
        root: Path,
        *,
        fsync: FsyncPolicy = "always",
        compact_after: int | None = 100_000,
        write: Callable[[int, bytes], int] = os.write,
        sync: Callable[[int], None] = os.fsync,
        clock: Clock | None = None,
        checkpoint: Callable[[str], None] | None = None,
    ) -> None:
        if fsync not in get_args(FsyncPolicy):
            raise ValueError(f"fsync must be one of {get_args(FsyncPolicy)}, not {fsync!r}")
        self.paths = StatePaths.at(Path(root))
        self.fsync: FsyncPolicy = fsync
        self.compact_after = compact_after
        self._clock: Clock = _WALL_CLOCK if clock is None else clock
        self._checkpoint = checkpoint
        self._writer = TailWriter(self.paths, fsync, write, sync)
        self._folds, self._pid = FoldCache(self.paths), os.getpid()
        self._grouping, self._group_pid = GroupCommit(self._flush), os.getpid()
        self.failure: str | None = None
        """Why the last write failed (None once one succeeds): the daemon's readiness asks."""

    def _fold_cache(self) -> FoldCache:
        """The fold cache; a fresh one in a forked child (its lock may have been held at fork)."""
        if self._pid != os.getpid():
            self._folds, self._pid = FoldCache(self.paths), os.getpid()
        return self._folds

    def close(self) -> None:
        """fsync what ``interval`` still owes and release descriptors; the journal stays usable."""
        self._writer.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ------------------------------------------------------------------------------

    def append(self, event: Event | str, /, **fields: Any) -> dict[str, Any]:
        """Write one event and return it as written: ``{"seq", "ts", "type", **fields}``.

        ``event`` is a record; a type name with keyword fields (the legacy form) is turned into
        one by ``core.events.build``, which raises for a field the type does not have. Safe across
        threads and processes. Raises StateError if it could not be written (the log is left as
        it was).
        """
        if isinstance(event, Event):
            if fields:
                raise TypeError("append takes a record or a type name with fields, not both")
            return self.extend([event])[0]
        return self.extend([(event, fields)])[0]

    def extend(self, events: Sequence[PendingEvent]) -> list[dict[str, Any]]:
        """Write several events in one ``write()``; returns them with seq and ts.

        The events share the write (and the fsync) of whatever other threads append meanwhile
        (``state.grouping``); the call returns once that fsync is done.
        """
        records = [e if isinstance(e, Event) else build(e[0], e[1]) for e in events]
        if not records:
            return []
        pending = self._group().submit(Pending(records))
        if pending.error is not None:
            raise pending.error
        return pending.written

    async def append_async(self, event: Event) -> dict[str, Any]:
        """:meth:`append` for an event loop: awaits the fsync covering the event, never blocking.

        Under ``always`` the write and its fsync happen on the group commit's leader thread,
        shared with every append queued meanwhile; under ``interval`` and ``never`` (no fsync to
        wait for) the event is written at once, as :meth:`append` does.
        """
        if self.fsync != "always":
            return self.append(event)
        written = await self._group().submit_async(Pending([event]))
        return written[0]

    @property
    def batches(self) -> int:
        """How many batches (one write and at most one fsync each) this journal has flushed."""
        return self._group().batches

    def _group(self) -> GroupCommit:
        """The group commit queue; a fresh one in a forked child (its lock may be held)."""
        if self._group_pid != os.getpid():
            self._grouping, self._group_pid = GroupCommit(self._flush), os.getpid()
        return self._grouping

    def reopen(self) -> dict[str, Any] | None:
        """Recreate a vanished state directory now; the ``state.recreated`` event, if one was due.

        The daemon's state keeper calls it every second; an append does the same on its own.
        Raises StateError when the directory or the log cannot be opened.
        """
        try:
            recreated = self._write([])
        except StateError as exc:
            self.failure = str(exc)
            raise
        if recreated is not None:
            self.failure = None
        return recreated  # otherwise a write failure stands until a write succeeds

    def _flush(self, batch: list[Pending]) -> None:
        """Write one batch of the group commit (see ``state.grouping``), tracking ``failure``."""
        try:
            self._write(batch)
        except StateError as exc:
            self.failure = str(exc)
            raise
        errors = [pending.error for pending in batch if pending.error is not None]
        self.failure = str(errors[0]) if batch and len(errors) == len(batch) else None

    def _write(self, batch: list[Pending]) -> dict[str, Any] | None:
        """Write ``batch``, after a ``state.recreated`` if the log was lost (returned, if so).

        Each pending gets its events as written; one whose events are not JSON gets its own
        StateError and takes no seq, the rest of the batch is written.
        """
        writer = self._writer
        with writer.locked(), _os_errors(f"cannot append to the state log {self.paths.events}"):
            fd, size = writer.open_tail()
            lost = writer.lost
            if lost is None and not batch:
                return None
            ts, seq = format_ts(self._clock.now()), writer.last_seq
            recreated: dict[str, Any] | None = None
            chunks: list[bytes] = []
            if lost is not None:
                seq += 1
                recreated = to_json(_recreated(self.paths, *lost), seq=seq, ts=ts)
                chunks.append(lines.encode(recreated))
            for pending in batch:
                written = [to_json(e, seq=seq + n, ts=ts) for n, e in enumerate(pending.items, 1)]
                try:
                    chunks.extend([lines.encode(event) for event in written])
                except StateError as exc:  # nothing of it was added: the list is built first
                    pending.error = exc
                    continue
                pending.written, seq = written, seq + len(written)
            count = seq - writer.last_seq
            if not count:
                return None
            writer.write(fd, size, b"".join(chunks), seq, count)
            if lost is not None:
                writer.lost = None
                logger.warning(
                    "state log: {} was removed while in use; recreated it, {} events are no "
                    "longer in view, numbering goes on from seq {}",
                    self.paths.root, lost[0] - lost[1], lost[0] + 1,
                )  # fmt: skip
            if self.compact_after is not None and writer.tail_count > self.compact_after:
                try:
                    self._compact_locked()
                except StateError as exc:
                    logger.warning("state log: automatic compaction failed, will retry: {}", exc)
        return recreated

    # --- reading ------------------------------------------------------------------------------

    def _open_for_reading(self, path: Path) -> int | None:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {path}: {exc.strerror or exc}") from exc

    @property
    def last_seq(self) -> int:
        """The seq of the last event written (0 for an empty log). Takes no lock."""
        fd = self._open_for_reading(self.paths.events)
        with _os_errors(f"cannot read {self.paths.events}"):
            try:
                last = lines.last_seq(fd, os.fstat(fd).st_size) if fd is not None else None
            finally:
                if fd is not None:
                    os.close(fd)
            return max(last or 0, snapshot.compacted_seq(self.paths))

    def read(self, since: int = 0, *, include_archive: bool = False) -> Iterator[dict[str, Any]]:
        """Events with ``seq > since`` in order; the archive too if asked (the whole history).

        Corrupt lines are skipped with a logged warning; a torn last line is not yielded.
        """
        with ExitStack() as stack, _os_errors(f"cannot read the state log in {self.paths.root}"):
            fd = self._open_for_reading(self.paths.events)  # before the archive: see the docstring
            if fd is not None:
                stack.callback(os.close, fd)
            archived = snapshot.archive_files(self.paths.archive) if include_archive else []
            newest = since
            for _first, last, path in archived:
                if last <= newest:
                    continue
                archived_fd = self._open_for_reading(path)
                if archived_fd is None:
                    continue  # removed by hand since it was listed
                try:
                    for event in lines.LineReader(archived_fd, str(path)):
                        if event["seq"] > newest:
                            newest = event["seq"]
                            yield event
                finally:
                    os.close(archived_fd)
            if fd is not None:
                for event in lines.LineReader(fd, str(self.paths.events)):
                    if event["seq"] > newest:
                        newest = event["seq"]
                        yield event

    def state(self) -> dict[str, Any]:
        """The current state: the snapshot with the tail folded onto it (a fresh copy each call)."""
        fd = self._open_for_reading(self.paths.events)  # the tail first: see the docstring
        try:
            folds = self._fold_cache()
            with _os_errors(f"cannot read the state log in {self.paths.root}"), folds.lock:
                data = pickle.dumps(folds.current(fd), pickle.HIGHEST_PROTOCOL)
        finally:
            if fd is not None:
                os.close(fd)
        copy: dict[str, Any] = pickle.loads(data)  # noqa: S301  # our own bytes, made just above
        return copy

    def shared_state(self) -> dict[str, Any]:
        """The state of :meth:`view`: shared, never modify it (what the task runner reads)."""
        return self.view().state

    def view(self) -> ReadView:
        """The current state as :meth:`state`, shared: never modify it (``state.readview``).

        Each call costs what the events appended since the last one changed, not a copy of the
        whole state: the HTTP API and ``/metrics`` read this. Callers that change what they get
        call :meth:`state`.
        """
        fd = self._open_for_reading(self.paths.events)  # the tail first: see the docstring
        try:
            folds = self._fold_cache()
            with _os_errors(f"cannot read the state log in {self.paths.root}"), folds.lock:
                return folds.view(fd)
        finally:
            if fd is not None:
                os.close(fd)

    # --- compaction ---------------------------------------------------------------------------

    def compact(self) -> None:
        """Snapshot the fold, move the tail to ``archive/``, start a fresh tail (under the lock)."""
        with self._writer.locked():
            self._compact_locked()

    def _compact_locked(self) -> None:
        writer = self._writer
        try:
            fd, size = writer.open_tail()
            folds = self._fold_cache()
            with folds.lock:
                folded = folds.current(fd)
                seq, old_seq = folded_seq(folded), snapshot.snapshot_seq(self.paths.snapshot)
                if size == 0 and seq <= old_seq:
                    return
                snapshot.remove_stale_tmp(self.paths.snapshot)
                if seq > old_seq:
                    snapshot.write_snapshot(self.paths.snapshot, seq, folded, writer.raw_write)
                self._step("snapshot")
                if size:
                    first, last = lines.first_seq(fd) or seq, lines.last_seq(fd, size) or seq
                    name = f"events-{first}-{last}"
                    self.paths.events.rename(snapshot.free_name(self.paths.archive, name, ".jsonl"))
                    snapshot.fsync_dir(self.paths.archive)
                    snapshot.fsync_dir(self.paths.root)
                    self._step("archive")
                writer.detach()
                writer.open_tail()
                self._step("tail")
                folds.invalidate()
        except OSError as exc:
            raise StateError(
                f"cannot compact the state log in {self.paths.root}: {exc.strerror or exc}; "
                "the log stays consistent and readable, and compaction will be retried"
            ) from exc
        logger.info("state log: compacted up to seq {} ({} bytes of tail archived)", seq, size)

    def _step(self, name: str) -> None:
        if self._checkpoint is not None:
            self._checkpoint(name)
