"""Retention decisions: which recorded files to delete, given limits, the time and the free space.

Called by ``runtime.storage`` after each finished file and before each start of ffmpeg. Pure: the
files, ``now`` and the free space are arguments; the caller deletes and logs.

Rules (DESIGN §6, issue 4):

- only *deletable* files are ever chosen: processed (their hooks finished, or they had none) and
  not protected; the file being written is never in the list at all (it lives in ``.partial``);
- per channel ``max_age``: files that ended longer ago than that go;
- per channel ``max_size``: while the channel's files (all of them, deletable or not) add up to
  more, its oldest deletable files go;
- global ``min_free_space``: while free space is below it, the oldest deletable files of any
  channel go. If that is not enough, :attr:`Decision.room` is False and the caller stops recording.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from streamrec.spec.units import format_duration, format_size


@dataclass(frozen=True)
class StoredFile:
    """One finished recording file as retention sees it (times are epoch seconds)."""

    path: str
    channel: str
    start: float
    end: float
    bytes: int
    processed: bool = True


@dataclass(frozen=True)
class Limits:
    """A channel's retention limits (None: no limit)."""

    max_age: float | None = None
    max_size: int | None = None


@dataclass(frozen=True)
class Deletion:
    """A file to delete and why."""

    file: StoredFile
    reason: str


@dataclass(frozen=True)
class Decision:
    """What to delete, and whether free space is at least ``min_free_space`` afterwards."""

    deletions: list[Deletion] = field(default_factory=list)
    room: bool = True
    free_after: int = 0


def decide(
    files: Iterable[StoredFile],
    *,
    now: float,
    limits: Mapping[str, Limits],
    free: int,
    min_free: int,
    protected: frozenset[str] = frozenset(),
) -> Decision:
    """The files to delete, oldest first within each rule."""
    ordered = sorted(files, key=lambda f: (f.end, f.path))
    deleted: dict[str, Deletion] = {}

    def deletable(f: StoredFile) -> bool:
        return f.processed and f.path not in protected and f.path not in deleted

    for name, limit in limits.items():
        own = [f for f in ordered if f.channel == name]
        if limit.max_age is not None:
            cutoff = now - limit.max_age
            for f in own:
                if f.end < cutoff and deletable(f):
                    reason = f"older than max_age {format_duration(limit.max_age)}"
                    deleted[f.path] = Deletion(f, reason)
        if limit.max_size is not None:
            total = sum(f.bytes for f in own if f.path not in deleted)
            for f in own:
                if total <= limit.max_size:
                    break
                if deletable(f):
                    reason = f"channel over max_size {format_size(limit.max_size)}"
                    deleted[f.path] = Deletion(f, reason)
                    total -= f.bytes
    free_after = free + sum(d.file.bytes for d in deleted.values())
    for f in ordered:
        if free_after >= min_free:
            break
        if deletable(f):
            reason = f"free space below min_free_space {format_size(min_free)}"
            deleted[f.path] = Deletion(f, reason)
            free_after += f.bytes
    return Decision(list(deleted.values()), free_after >= min_free, free_after)
