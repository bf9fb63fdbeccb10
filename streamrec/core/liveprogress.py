"""The file being written right now: its real name, size, bitrate and media time. Pure.

The recorder (``runtime.ffmpegrun``) makes one :class:`LiveProgress` each time ffmpeg's
``-progress`` block arrives (about once a second) and hands it to the recorder's ``on_progress``
hook and ``progress`` property; the daemon shows the latest one per channel in ``/api/status``
(``channels[name].live``), ``/metrics`` and ``streamrec status``. It is never written to the
state log: the log holds outcomes, this is a reading that is stale a second later.

``file`` is the name the file *will* have once finished (``core.filenames`` rendered with the
file's wall-clock start, as ``runtime.finishing`` renders it), never ffmpeg's temporary name in
``.partial/``. The bitrate is measured, not announced: :func:`bitrate_bps` takes the byte counts
seen in the last :data:`WINDOW` seconds (:class:`Sample`, time as an argument) and divides the
growth by the time it took; until a second sample exists (the first second of a run),
:func:`live_bitrate` gives the file's average instead (its bytes over its media seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

WINDOW = 5.0
"""Seconds of byte counts the bitrate is measured over."""
MIN_MEDIA = 0.5
"""Media seconds a file must hold before its average stands for a bitrate."""


@dataclass(frozen=True)
class Sample:
    """How big the file being written was at time ``at`` (seconds, any one clock)."""

    at: float
    bytes: int


@dataclass(frozen=True)
class LiveProgress:
    """One reading of the file a channel is writing now."""

    file: str
    """The final (templated) path the file gets when it is finished."""
    bytes: int
    """Bytes written to it so far."""
    bitrate_bps: float | None
    """Bits per second over the last few seconds (:func:`live_bitrate`; None before any media)."""
    media_seconds: float
    """Seconds of media in it so far."""
    updated: datetime
    """When this reading was taken (timezone-aware)."""

    @property
    def name(self) -> str:
        """The file's base name."""
        return PurePath(self.file).name

    def to_json(self) -> dict[str, Any]:
        """``{"file", "name", "bytes", "bitrate_bps", "media_seconds", "updated"}``;
        ``updated`` in ISO 8601 with its offset."""
        return {
            "file": self.file,
            "name": self.name,
            "bytes": self.bytes,
            "bitrate_bps": None if self.bitrate_bps is None else round(self.bitrate_bps, 1),
            "media_seconds": round(self.media_seconds, 3),
            "updated": self.updated.isoformat(),
        }


def recent(samples: Sequence[Sample], now: float, window: float = WINDOW) -> list[Sample]:
    """The samples taken within ``window`` seconds before ``now`` (the newest always kept)."""
    kept = [s for s in samples if now - s.at <= window]
    return kept or list(samples[-1:])


def bitrate_bps(samples: Sequence[Sample], now: float, window: float = WINDOW) -> float | None:
    """Bits per second from the growth of the samples within ``window`` of ``now``.

    The oldest and the newest sample in the window are compared; a shrinking count (a new file
    began) or less than two samples, or no time between them, gives None.
    """
    kept = recent(samples, now, window)
    if len(kept) < 2:
        return None
    first, last = kept[0], kept[-1]
    took = last.at - first.at
    if took <= 0 or last.bytes < first.bytes:
        return None
    return (last.bytes - first.bytes) * 8 / took


def live_bitrate(
    samples: Sequence[Sample], now: float, size: int, media_seconds: float, window: float = WINDOW
) -> float | None:
    """:func:`bitrate_bps`, or while it has none the average of the file so far (``size`` bytes
    over ``media_seconds``, once there is at least :data:`MIN_MEDIA` of media); else None."""
    measured = bitrate_bps(samples, now, window)
    if measured is not None:
        return measured
    if size > 0 and media_seconds >= MIN_MEDIA:
        return size * 8 / media_seconds
    return None
