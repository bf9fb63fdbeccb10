"""A finished recording file: the one record storage, retention and the fold's catalog share.

A file is finished when ffmpeg closed it and it got its final name. :class:`FinishedFile` is how
retention decides about it (``core.retention``, times in epoch seconds) and what
``runtime.storage.Storage`` keeps in its catalog; :meth:`FinishedFile.entry` is the same file as
the fold lists it under ``recordings`` (keyed by path: channel, start, end, duration, bytes, hooks)
and :meth:`FinishedFile.from_entry` reads such an entry back (the CLI and the daemon seed the
catalog from it). In the log, times are stamps as the recorder wrote them; both stamp forms read
back (``core.timestamps.parse_epoch``). Pure data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streamrec.core.timestamps import format_epoch, parse_epoch

SETTLED_HOOKS = frozenset({"none", "completed", "failed"})
"""Hook states after which a file may be deleted (``pending`` files are kept)."""


@dataclass(frozen=True, slots=True)
class FinishedFile:
    """One finished recording file (times are epoch seconds)."""

    path: str
    channel: str
    start: float
    end: float
    bytes: int
    processed: bool = True
    """Its hooks finished, or it had none: retention may delete it."""
    duration: float | None = None

    def hooks(self) -> str:
        """The file's hook state as the fold lists it, when nothing more precise is known."""
        return "none" if self.processed else "pending"

    def entry(self, hooks: str | None = None) -> dict[str, Any]:
        """The fold's ``recordings[path]`` entry of this file."""
        return recording_entry(
            self.channel, format_epoch(self.start), format_epoch(self.end),
            self.duration if self.duration is not None else round(self.end - self.start, 3),
            self.bytes, hooks or self.hooks(),
        )  # fmt: skip

    @classmethod
    def from_entry(
        cls, path: str, entry: Mapping[str, Any], mtime: float | None = None
    ) -> FinishedFile:
        """A file from its fold entry; missing or unreadable times fall back to ``mtime``."""
        end = parse_epoch(entry.get("end")) or mtime or 0.0
        start = parse_epoch(entry.get("start")) or end
        duration = entry.get("duration")
        return cls(
            path=path,
            channel=str(entry.get("channel")),
            start=start,
            end=end,
            bytes=int(entry.get("bytes") or 0),
            processed=entry.get("hooks") in (None, *SETTLED_HOOKS),
            duration=float(duration) if isinstance(duration, (int, float)) else None,
        )


def recording_entry(
    channel: str, start: Any, end: Any, duration: Any, size: Any, hooks: Any
) -> dict[str, Any]:
    """The one shape of a ``recordings`` entry in the fold (times as the log carries them)."""
    return {
        "channel": channel, "start": start, "end": end, "duration": duration,
        "bytes": size, "hooks": hooks or "none",
    }  # fmt: skip
