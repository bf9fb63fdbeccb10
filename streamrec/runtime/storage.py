"""The recorded files on disk: a catalog, free space, and retention carried out and logged.

One :class:`Storage` is shared by every recorder of a process (the daemon's, or the one of
``streamrec record``). Recorders call :meth:`Storage.add` for each finished file,
:meth:`Storage.set_processed` when its hooks finish, :meth:`Storage.enforce` after each file, and
:meth:`Storage.check` before each start of ffmpeg and once a second while ffmpeg writes (also
while they wait for space). ``check`` is one ``statvfs`` while free space is above
``min_free_space`` plus the headroom (``core.retention.FillRate``, fed here from every check);
below it, it runs retention with the ``on_low_space`` policy and answers a :class:`Room`: ``ok``
False, with the reason, means "stop recording (or stay stopped), the file finalized". The CLI seeds
the catalog from the state log (:func:`files_from_state`). Files are ``core.files.FinishedFile``
records; the time comes from an injected ``Clock``. Decisions are made by
``core.retention``; every deletion is logged to the state log as ``retention.deleted`` with its
reason and to the log.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamrec.core.clock import Clock
from streamrec.core.events import Emit, RetentionDeleted
from streamrec.core.files import FinishedFile
from streamrec.core.retention import FillRate, Limits, decide, low_space_reason
from streamrec.log import logger
from streamrec.runtime.clock import SYSTEM_CLOCK
from streamrec.spec.model import LowSpacePolicy
from streamrec.spec.units import format_size


def files_from_state(recordings: Mapping[str, Mapping[str, Any]]) -> list[FinishedFile]:
    """The catalog from the fold's ``state()["recordings"]``, keeping files that still exist."""
    files = []
    for path, entry in recordings.items():
        try:
            mtime = Path(path).stat().st_mtime
        except FileNotFoundError:
            continue
        files.append(FinishedFile.from_entry(path, entry, mtime))
    return files


@dataclass(frozen=True)
class Room:
    """The answer of :meth:`Storage.check`: may recording go on, and if not, why."""

    ok: bool
    free: int
    needed: int
    reason: str = ""


class Storage:
    """The files of ``recordings_dir`` that streamrec recorded, and the rules that delete them."""

    def __init__(
        self,
        recordings_dir: Path,
        *,
        min_free_space: int,
        emit: Emit,
        on_low_space: LowSpacePolicy = "stop",
        limits: Mapping[str, Limits] | None = None,
        files: Iterable[FinishedFile] = (),
        disk_free: Callable[[Path], int] | None = None,
        clock: Clock | Callable[[], float] = SYSTEM_CLOCK,
    ) -> None:
        self.recordings_dir = recordings_dir
        self.min_free_space = min_free_space
        self.on_low_space: LowSpacePolicy = on_low_space
        self.limits: dict[str, Limits] = dict(limits or {})
        self._emit = emit
        self._files = {f.path: f for f in files}
        self._disk_free = disk_free or (lambda p: shutil.disk_usage(p).free)
        # a bare epoch function is the form callers used before clocks were objects
        self._clock: Callable[[], float] = clock if callable(clock) else clock.time
        self._rate = FillRate()
        self._freed = 0  # bytes deleted so far: added back for the fill rate

    def files(self, channel: str | None = None) -> list[FinishedFile]:
        """The catalogued files (of one channel), oldest first."""
        chosen = [f for f in self._files.values() if channel is None or f.channel == channel]
        return sorted(chosen, key=lambda f: (f.end, f.path))

    def add(self, file: FinishedFile) -> None:
        """A finished file joins the catalog."""
        self._files[file.path] = file

    def set_processed(self, path: str, processed: bool = True) -> None:
        """A file's hooks have finished (it may now be deleted by retention)."""
        f = self._files.get(path)
        if f is not None:
            self._files[path] = dataclasses.replace(f, processed=processed)

    def free(self) -> int:
        """Free bytes on the recordings filesystem."""
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        return self._disk_free(self.recordings_dir)

    def check(self) -> Room:
        """Is there room to record? Cheap (one ``statvfs``) unless free space is short."""
        free = self.free()
        self._rate.observe(self._clock(), free - self._freed)
        headroom = self._rate.headroom()
        if free >= self.min_free_space + headroom:
            return Room(True, free, self.min_free_space + headroom)
        return self.enforce()

    def enforce(self) -> Room:
        """Apply retention now (with the ``on_low_space`` policy); is there room afterwards?"""
        headroom = self._rate.headroom()
        decision = decide(
            self._files.values(),
            now=self._clock(),
            limits=self.limits,
            free=self.free(),
            min_free=self.min_free_space,
            policy=self.on_low_space,
            headroom=headroom,
        )
        deleted = sum(self.delete(d.file.path, d.reason) for d in decision.deletions)
        if decision.room:
            return Room(True, decision.free_after, decision.needed)
        free = self.free()
        if free >= decision.needed:  # a file was bigger on disk than the catalog said
            return Room(True, free, decision.needed)
        reason = low_space_reason(free, self.min_free_space, headroom, self.on_low_space, deleted)
        return Room(False, free, decision.needed, reason)

    def delete(self, path: str, reason: str) -> bool:
        """Delete one file, log it, forget it; False if it was gone already."""
        f = self._files.pop(path, None)
        size = f.bytes if f else 0
        try:
            size = Path(path).stat().st_size
            Path(path).unlink()
        except FileNotFoundError:
            logger.info("retention: {} was already gone", path)
            return False
        channel = f.channel if f else None
        logger.info("retention: deleted {} ({}): {}", path, format_size(size), reason)
        self._freed += size
        self._emit(RetentionDeleted(channel=channel, file=path, bytes=size, reason=reason))
        self._prune_dirs(Path(path).parent)
        return True

    def _prune_dirs(self, directory: Path) -> None:
        """Remove directories left empty by a deletion, up to ``recordings_dir``."""
        root = self.recordings_dir.resolve()
        current = directory.resolve()
        while current != root and root in current.parents:
            try:
                current.rmdir()
            except OSError:
                return
            current = current.parent
