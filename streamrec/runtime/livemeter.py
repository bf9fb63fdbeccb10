"""The live reading of a recorder: which file ffmpeg writes now, under which final name, how big.

``runtime.ffmpegrun`` owns one :class:`LiveMeter` per recorder and calls :meth:`LiveMeter.read`
for each ``-progress`` block of a run that has media (about once a second), and
:meth:`LiveMeter.closed` / :meth:`LiveMeter.clear` as files close and runs end. The recorder
(``runtime.recorder``) shows :attr:`LiveMeter.latest` as its ``progress`` and passes each
reading to its ``on_progress`` hook; :attr:`LiveMeter.writing` is the partial file itself (a
thumbnail or a live playback reads it while it grows).

ffmpeg's segment muxer reports no ``total_size``, so the size is the partial file's own (one
``stat``); the bitrate is the growth of every byte the run wrote (files it closed included, so
it does not drop to nothing as a new file opens) over the last seconds (``core.liveprogress``);
the name is the one ``runtime.finishing`` will give the file (``Finisher.planned_name``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from streamrec.core.liveprogress import LiveProgress, Sample, live_bitrate, recent
from streamrec.log import logger
from streamrec.runtime.finishing import Finisher

OnProgress = Callable[[LiveProgress], None]
"""``on_progress(reading)``: told each reading of the file being written."""
MIN_INTERVAL = 0.5
"""Seconds between two readings at least (progress blocks that arrive together count once)."""


class LiveMeter:
    """Readings of the file one recorder writes now (module docstring)."""

    def __init__(
        self, finisher: Finisher, *, clock: Callable[[], float], on_progress: OnProgress | None
    ) -> None:
        self.on_progress = on_progress
        self.latest: LiveProgress | None = None
        """The newest reading while a file is being written, else None."""
        self.writing: Path | None = None
        """The partial file ffmpeg writes now (None between runs)."""
        self._finisher = finisher
        self._clock = clock
        self._samples: list[Sample] = []
        self._closed_bytes = 0
        self._last_at = float("-inf")

    def read(self, partial: Path, start: float, media_seconds: float) -> LiveProgress | None:
        """A reading of ``partial``, the file that started at wall-clock ``start`` and holds
        ``media_seconds`` so far; None when the last one is younger than :data:`MIN_INTERVAL`."""
        now = self._clock()
        if now - self._last_at < MIN_INTERVAL:
            return None
        self._last_at = now
        try:
            size = partial.stat().st_size
        except OSError:
            size = 0  # not opened yet: ffmpeg opens a file with its first packet
        self.writing = partial
        self._samples = recent([*self._samples, Sample(now, self._closed_bytes + size)], now)
        reading = LiveProgress(
            file=str(self._finisher.planned_name(start)),
            bytes=size,
            bitrate_bps=live_bitrate(self._samples, now, size, media_seconds),
            media_seconds=max(0.0, media_seconds),
            updated=datetime.fromtimestamp(now, timezone.utc),
        )
        self.latest = reading
        if self.on_progress is not None:
            try:
                self.on_progress(reading)
            except Exception:  # a broken listener must not stop the recording
                logger.exception("on_progress failed; the recording goes on")
        return reading

    def closed(self, size: int) -> None:
        """A file of this run closed with ``size`` bytes (the run's bytes go on counting)."""
        self._closed_bytes += size

    def clear(self) -> None:
        """The run ended: nothing is being written until the next one has media."""
        self.latest = None
        self.writing = None
        self._samples = []
        self._closed_bytes = 0
        self._last_at = float("-inf")
