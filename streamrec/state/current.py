"""The current state of a state directory: the snapshot with the tail folded onto it, cached.

``Journal.state()`` and ``Journal.compact()`` ask a :class:`FoldCache` for the fold. The first call
reads ``snapshot.json`` and folds the whole tail; later calls check that the files are the same ones
(same snapshot, same tail inode, and the last bytes folded still in place) and fold only the lines
appended since. So ``status`` costs one snapshot load plus the tail, and a long-lived daemon pays
only for new events. :meth:`FoldCache.view` gives the read view of the fold (``state.readview``),
renewed from what the events folded since the last view reached.

Tail events with ``seq`` at or below the snapshot's are skipped: they are left over from a
compaction that crashed after writing the snapshot and before archiving the tail. A snapshot that
cannot be read (or is missing while ``archive/`` is not empty) is rebuilt from the archive, with a
warning: the archive is the complete history, so the state is never silently lost.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, cast

from streamrec.errors import StateError
from streamrec.log import logger
from streamrec.state import lines, snapshot
from streamrec.state.fold import empty_state, fold_into
from streamrec.state.paths import StatePaths
from streamrec.state.readview import Changes, ReadView, Writes, publish

FileKey = tuple[int, int, int]
_GUARD = 64


@dataclass(frozen=True)
class _Folded:
    """One fold and the files it came from."""

    snapshot_key: FileKey
    ino: int
    end: int  # offset just past the last tail line folded
    guard: bytes  # the bytes before ``end``: if they changed, the tail was rewritten
    state: dict[str, Any]

    def extends(self, key: FileKey, ino: int, size: int, fd: int) -> bool:
        """Whether the files are this fold's files, possibly with lines appended."""
        if (key, ino) != (self.snapshot_key, self.ino) or size < self.end:
            return False
        return os.pread(fd, len(self.guard), self.end - len(self.guard)) == self.guard


class FoldCache:
    """The fold of one state directory's snapshot and tail, extended as the tail grows.

    Hold :attr:`lock` around :meth:`current` and around any use of the dict it returns: that
    dict is the cache itself, to be copied (``Journal.state``) or serialised (compaction), never
    handed out. :meth:`view` is what may be handed out: a copy renewed only where events changed
    the fold (``state.readview``), shared by readers that do not modify it.
    """

    def __init__(self, paths: StatePaths) -> None:
        self.paths = paths
        self.lock = threading.Lock()
        self._folded: _Folded | None = None
        self._view: ReadView | None = None
        self._changes = Changes()

    def invalidate(self) -> None:
        """Forget the cached fold (compaction replaced the files)."""
        self._folded = None

    def view(self, tail_fd: int | None) -> ReadView:
        """The read view of :meth:`current` (``state.readview``): shared, never to be modified.

        Renewed only where events folded since the last call reached, so a read costs what the
        new events changed, not what the history holds.
        """
        live, last = self.current(tail_fd), self._view
        if last is None or self._changes:
            changes, self._changes = self._changes, Changes(False)
            state = publish(last.state if last else None, live, changes)
            generation = last.generation + 1 if last else 0
            last = self._view = ReadView(
                state, generation, Changes() if generation == 0 else changes
            )
        return last

    def current(self, tail_fd: int | None) -> dict[str, Any]:
        """The fold of the snapshot and the tail open as ``tail_fd`` (None: there is no tail).

        Open the tail *before* calling: the snapshot is opened here, after it, so that a
        concurrent compaction (snapshot first, then the tail moved away) cannot be half seen.
        """
        ino, size = 0, 0
        if tail_fd is not None:
            info = os.fstat(tail_fd)
            ino, size = info.st_ino, info.st_size
        try:
            snap_fd: int | None = os.open(self.paths.snapshot, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            snap_fd = None
        try:
            key = _file_key(snap_fd)
            cached = self._folded
            if (
                cached is not None
                and tail_fd is not None
                and cached.extends(key, ino, size, tail_fd)
            ):
                start, state = cached.end, cached.state
            else:
                start, state = 0, self._load_snapshot(snap_fd)
                self._changes = Changes()  # a fold made afresh: the next view copies it all
        finally:
            if snap_fd is not None:
                os.close(snap_fd)
        end = start
        if tail_fd is not None and size > start:
            base = folded_seq(state)
            reader = lines.LineReader(tail_fd, str(self.paths.events), start)
            tracked = cast(dict[str, Any], Writes(state, self._changes))
            fold_into(tracked, (event for event in reader if event["seq"] > base))
            end = reader.end
        guard = b""
        if tail_fd is not None:
            guard = os.pread(tail_fd, min(end, _GUARD), end - min(end, _GUARD))
        self._folded = _Folded(key, ino, end, guard, state)
        return state

    def _load_snapshot(self, fd: int | None) -> dict[str, Any]:
        """The snapshot's state; rebuilt from the archive if it is unreadable or missing."""
        archived = snapshot.archive_files(self.paths.archive)
        if fd is None and not archived:
            return empty_state()
        if fd is not None:
            try:
                seq, state = snapshot.read_snapshot_fd(fd, self.paths.snapshot)
            except (StateError, OSError) as exc:
                problem = str(exc)
            else:
                state["seq"] = max(seq, folded_seq(state))
                return state
        else:
            problem = f"{self.paths.snapshot} is missing but {self.paths.archive} is not empty"
        logger.warning("state log: {}; rebuilding the state from the archive", problem)
        state = empty_state()
        for _first, _last, path in archived:
            try:
                archived_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise StateError(f"cannot read {path}: {exc.strerror or exc}") from exc
            try:
                base = folded_seq(state)
                reader = lines.LineReader(archived_fd, str(path))
                fold_into(state, (event for event in reader if event["seq"] > base))
            finally:
                os.close(archived_fd)
        return state


def folded_seq(state: dict[str, Any]) -> int:
    """The last seq folded into a state."""
    return int(state.get("seq") or 0)


def _file_key(fd: int | None) -> FileKey:
    if fd is None:
        return (0, 0, 0)
    info = os.fstat(fd)
    return (info.st_ino, info.st_size, info.st_mtime_ns)
