"""Retention decisions: which recorded files to delete, and whether there is room to record.

Called by ``runtime.storage`` after each finished file, before each start of ffmpeg, and (only when
free space is short) on the recorder's once-a-second check while ffmpeg writes. Pure: the files,
``now``, the free space, the headroom and the low-space policy are arguments; the caller deletes,
logs and stops recording.

Rules:

- files are ``core.files.FinishedFile`` records;
- only *deletable* files are ever chosen: processed (their hooks finished, or they had none) and
  not protected; the file being written is never in the list at all (it lives in ``.partial``);
- per channel ``max_age``: files that ended longer ago than that go;
- per channel ``max_size``: while the channel's files (all of them, deletable or not) add up to
  more, its oldest deletable files go;
- global ``min_free_space`` (plus the *headroom*: what is written before the next check, see
  :class:`FillRate`), by ``on_low_space``: with ``stop`` nothing is deleted to make room; with
  ``delete_oldest`` the oldest deletable files of any channel go until there is room. If there is
  still no room, :attr:`Decision.room` is False and the caller stops recording
  (:func:`low_space_reason` says why, in the user's words).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from streamrec.core.files import FinishedFile
from streamrec.spec.model import LowSpacePolicy
from streamrec.spec.units import format_duration, format_size


@dataclass(frozen=True)
class Limits:
    """A channel's retention limits (None: no limit)."""

    max_age: float | None = None
    max_size: int | None = None


@dataclass(frozen=True)
class Deletion:
    """A file to delete and why."""

    file: FinishedFile
    reason: str


@dataclass(frozen=True)
class Decision:
    """What to delete, and whether free space is at least ``needed`` afterwards."""

    deletions: list[Deletion] = field(default_factory=list)
    room: bool = True
    free_after: int = 0
    needed: int = 0
    """``min_free_space`` plus the headroom."""


def decide(
    files: Iterable[FinishedFile],
    *,
    now: float,
    limits: Mapping[str, Limits],
    free: int,
    min_free: int,
    policy: LowSpacePolicy = "stop",
    headroom: int = 0,
    protected: frozenset[str] = frozenset(),
) -> Decision:
    """The files to delete, oldest first within each rule; ``room`` if free space suffices after.

    Called after every file any recorder finishes, with every file the daemon knows: the files are
    sorted and grouped by channel once, and not at all when no rule applies and space suffices."""
    needed = min_free + headroom
    ruled = {
        n: lim for n, lim in limits.items() if lim.max_age is not None or lim.max_size is not None
    }
    if not ruled and (policy != "delete_oldest" or free >= needed):
        return Decision([], free >= needed, free, needed)
    ordered = sorted(files, key=lambda f: (f.end, f.path))
    by_channel: dict[str, list[FinishedFile]] = {}
    for f in ordered:
        by_channel.setdefault(f.channel, []).append(f)
    deleted: dict[str, Deletion] = {}

    def deletable(f: FinishedFile) -> bool:
        return f.processed and f.path not in protected and f.path not in deleted

    for name, limit in ruled.items():
        own = by_channel.get(name, [])
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
    if policy == "delete_oldest":
        for f in ordered:
            if free_after >= needed:
                break
            if deletable(f):
                reason = (
                    f"free space {approx_size(free_after)} below min_free_space "
                    f"{format_size(min_free)}{_plus(headroom)} (on_low_space: delete_oldest)"
                )
                deleted[f.path] = Deletion(f, reason)
                free_after += f.bytes
    return Decision(list(deleted.values()), free_after >= needed, free_after, needed)


def low_space_reason(
    free: int, min_free: int, headroom: int, policy: LowSpacePolicy, deleted: int
) -> str:
    """Why recording stops for space, for ``recording.stopped`` and the log."""
    said = (
        f"low disk space: {approx_size(free)} free, below min_free_space "
        f"{format_size(min_free)}{_plus(headroom)} (on_low_space: {policy})"
    )
    if policy == "stop":
        return f"{said}; nothing was deleted"
    if deleted:
        return f"{said}; {deleted} file(s) deleted and nothing more may be deleted"
    return f"{said}; nothing more may be deleted"


def _plus(headroom: int) -> str:
    return f" + {approx_size(headroom)} headroom" if headroom > 0 else ""


def approx_size(size: int) -> str:
    """A measured byte count, rounded for reading: ``3141592653`` -> ``3.1GB``."""
    for unit, factor in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= factor:
            return f"{size / factor:.1f}{unit}".replace(".0", "")
    return f"{size}B"


HEADROOM_SECONDS = 5.0
"""The headroom is this many seconds at the peak fill rate: the next check comes within a second,
and a stopping ffmpeg flushes what it holds and writes its trailer in the seconds after."""
MIN_INTERVAL = 0.5
"""Samples closer than this to the last one are ignored (several recorders check each second)."""
PEAKS = 20
"""How many intervals of filling the peak is taken over (intervals with no filling do not count,
so the headroom is still known when recording resumes after a stop for space)."""


@dataclass
class FillRate:
    """How fast the recordings filesystem fills, from free-space samples; time is an argument.

    ``observe(now, free)`` takes free space as it would be had streamrec deleted nothing (the caller
    adds back what it deleted), so deletions do not hide the writing; space freed by someone else
    makes an interval count as not filling. :meth:`headroom` is :data:`HEADROOM_SECONDS` at the
    highest rate of the last :data:`PEAKS` filling intervals: all writers of the filesystem together,
    so at least what any one channel writes, bursts included (HLS arrives a segment at a time).
    """

    last: tuple[float, int] | None = None
    rates: deque[float] = field(default_factory=lambda: deque(maxlen=PEAKS))

    def observe(self, now: float, free: int) -> None:
        """One sample of (time, free space as if nothing had been deleted)."""
        if self.last is not None:
            then, before = self.last
            if now - then < MIN_INTERVAL:
                return
            if before > free:
                self.rates.append((before - free) / (now - then))
        self.last = (now, free)

    def peak(self) -> float:
        """Bytes per second at the peak of recent filling (0 before any filling was seen)."""
        return max(self.rates, default=0.0)

    def headroom(self) -> int:
        """Bytes to keep free on top of ``min_free_space``."""
        return math.ceil(self.peak() * HEADROOM_SECONDS)
