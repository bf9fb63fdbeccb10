"""Where an HLS run of ffmpeg starts, and the segments its start skipped, fetched on the side.

Used by the recorder's run of ffmpeg (``runtime.ffmpegrun``) and its supervisor loop
(``runtime.supervisor``); one :class:`HlsResume` belongs to one recorder and keeps what it knows
across runs: the segment ffmpeg opened last (also written to ``last_segment`` in the partial
directory, in place by :func:`remember`, so a recorder killed with SIGKILL is resumed after it),
and the playlist a probe saw.

A start is planned with :meth:`HlsResume.start` (``-live_start_index``: right after the last
segment recorded, else from the channel's window, else the live edge). When ffmpeg then opens a
later segment than planned (the playlist moved on while it started), :meth:`HlsResume.opened`
says which planned segments it skipped; :class:`SideFetch` copies those with a short ffmpeg
into a file finished right before the run's first one, so ffmpeg itself records on. If what it
skipped is not known, the run is redone (at most :data:`OVERTAKEN_RETRIES` times in a row).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from streamrec.core.reconnecting import Playlist, Segment, first_start_index, start_index
from streamrec.core.redact import redact_url
from streamrec.core.windows import active_interval
from streamrec.log import logger
from streamrec.runtime.ffmpeg import backfill_command, is_hls, run_to_end
from streamrec.runtime.finishing import Finisher
from streamrec.runtime.probing import can_probe, probe
from streamrec.spec.model import Channel

LAST_SEGMENT = "last_segment"
"""In the partial directory: the URI of the HLS segment ffmpeg opened last, kept across crashes."""
OVERTAKEN_RETRIES = 3
"""Starts in a row that may be redone because the playlist moved on while ffmpeg started (only
when the segments skipped cannot be fetched on the side: see :class:`SideFetch`)."""


@dataclass(frozen=True)
class Opened:
    """What a segment ffmpeg opened means for its run."""

    skipped: tuple[Segment, ...] = ()
    """Planned segments it began after: fetch them on the side."""
    redo: bool = False
    """It began somewhere unknown: stop it, drop its files and start again."""


class HlsResume:
    """One recorder's HLS resume point: where each run starts, and what a start skipped."""

    def __init__(
        self,
        channel: Channel,
        *,
        partial_dir: Path,
        zone: ZoneInfo,
        secrets: frozenset[str],
        label: str,
        clock: Callable[[], float],
    ) -> None:
        self.channel = channel
        self.partial_dir = partial_dir
        self.zone = zone
        self.secrets = secrets
        self.label = label
        self._clock = clock
        self.last_segment: str | None = None  # the HLS segment ffmpeg opened last (absolute URI)
        self.ready: tuple[str, Playlist | None] | None = None  # a probe saw new media here
        self.live_start: int | None = None  # ``-live_start_index`` of the run being started
        self._expected: str | None = None  # the segment a run should open first
        self._planned: tuple[Segment, ...] = ()  # listed from ``_expected`` on, when started
        self._overtaken = 0  # starts in a row redone because the playlist moved on

    def lists_newer(self, playlist: Playlist) -> bool:
        """The playlist lists a segment after the last one opened (or no longer lists that one)."""
        return start_index(playlist, self.last_segment) is not None

    async def start(self, url: str) -> bool:
        """Plan a run of ``url``: False when an HLS playlist lists nothing new to record.

        Sets :attr:`live_start`: right after the last segment recorded (this recorder's or, on a
        first start, the one a previous recorder of this channel wrote down before it was killed;
        if that one has left the playlist and was opened less than ``reconnect.fast_for`` ago,
        the oldest listed), else the oldest listed segment that ends after the channel's window
        opened (with ``padding.before``), else None (the live edge).
        """
        fresh, self.live_start = await self._start_index(url)
        if self.live_start is None:
            self._expected = None
        return fresh

    async def _start_index(self, url: str) -> tuple[bool, int | None]:
        ready, self.ready = self.ready, None
        if not (is_hls(url) and can_probe(url)):
            return True, None
        playlist = (
            ready[1] if ready is not None and ready[0] == url else (await probe(url)).playlist
        )
        if playlist is None or playlist.master or not playlist.segments:
            return True, None
        reach_back = 0.0
        if self.last_segment is None:
            recorded, since = self._recorded_before()
            if any(segment.uri == recorded for segment in playlist.segments):
                self.last_segment = recorded  # a killed recorder's last segment: go on after it
            elif since <= self.channel.reconnect.fast_for:
                reach_back = since  # it left the playlist meanwhile: all that is listed is new
        if self.last_segment is not None:
            index = start_index(playlist, self.last_segment)
        else:
            index = first_start_index(playlist, None, max(reach_back, self._reach_back()))
        if index is not None:
            self._expected = playlist.segments[index].uri
            self._planned = playlist.segments[index:]
        return index is not None, index

    def _reach_back(self) -> float:
        """Seconds before now the channel asks for on a first start: since its window opened."""
        if not self.channel.schedule:
            return 0.0
        now = self._clock()
        interval = active_interval(
            self.channel.schedule, self.channel.padding, self.zone,
            datetime.fromtimestamp(now, timezone.utc),
        )  # fmt: skip
        return max(0.0, now - interval.start.timestamp()) if interval is not None else 0.0

    def _recorded_before(self) -> tuple[str | None, float]:
        """The last segment a previous recorder of this channel opened (it may have been killed),
        and how many seconds ago (infinite if none)."""
        path = self.partial_dir / LAST_SEGMENT
        try:
            uri, opened = path.read_text().strip(), path.stat().st_mtime
        except OSError:
            return None, float("inf")
        return uri or None, max(0.0, self._clock() - opened) if uri else float("inf")

    def opened(self, uri: str) -> Opened:
        """ffmpeg opened media segment ``uri``: remember it, and say what its start skipped."""
        expected, self._expected = self._expected, None
        planned, self._planned = self._planned, ()
        skipped = _skipped(planned, uri) if expected is not None and expected != uri else ()
        if not skipped and expected is not None and expected != uri:
            # ffmpeg began at a segment that was not listed when we looked (the playlist moved
            # on by more than it listed then, or restarted), so what it skipped is not known:
            # a new start from a fresh look; this ffmpeg has written nothing yet (its files
            # are dropped).
            said = (self.label, redact_url(uri, self.secrets), redact_url(expected, self.secrets))
            if self._overtaken < OVERTAKEN_RETRIES:
                self._overtaken += 1
                logger.info("{}: ffmpeg started at {} instead of {}: the playlist moved on "
                            "while it started; starting it again", *said)  # fmt: skip
                return Opened(redo=True)
            logger.warning("{}: ffmpeg started at {} instead of {}: the playlist moved on while "
                           "it started, so the segments between them are missing", *said)  # fmt: skip
        self._overtaken = 0
        self.last_segment = uri
        with contextlib.suppress(OSError):
            remember(self.partial_dir / LAST_SEGMENT, uri)
        return Opened(skipped=skipped)


def remember(path: Path, uri: str) -> None:
    """Write ``uri`` to ``path`` in place, in one write: this runs on the daemon's loop for every
    segment every recorder opens, and a temporary file renamed over it cost about 30 times as much
    (190 against 6 microseconds here; a quarter of a 100-channel daemon's sampled time). A kill cannot stop one
    write to a regular file half-way, so the file holds the old line or the new one; the new one is
    padded with spaces to the length already there, so no tail of a longer old line is left (the
    reader strips it). Private to the daemon's user, like every state file."""
    data = uri.encode() + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.pwrite(fd, data.ljust(os.fstat(fd).st_size, b" "), 0)
    finally:
        os.close(fd)


class SideFetch:
    """Segments a run skipped at its start, copied on the side by a short ffmpeg.

    ffmpeg itself records on: no restart, which after an outage longer than the playlist would
    lose the oldest listed segment again. The file is finished right before the run's first.
    """

    def __init__(
        self, skipped: Sequence[Segment], *, path: Path, ffmpeg: str, channel: Channel,
        secrets: frozenset[str], label: str,
    ) -> None:  # fmt: skip
        said = ", ".join(redact_url(s.uri, secrets) for s in skipped)
        logger.info("{}: ffmpeg started after {} (the playlist moved on while it started); "
                    "fetching it on the side", label, said)  # fmt: skip
        argv = backfill_command(ffmpeg, channel, [s.uri for s in skipped], str(path))
        self.path = path
        self.label = label
        self.seconds = sum(s.duration for s in skipped)
        """The listed duration of the segments fetched."""
        self._task: asyncio.Task[bool] | None = asyncio.get_running_loop().create_task(
            run_to_end(argv)
        )

    async def finish(self, finisher: Finisher, end: float, *, dropped: bool) -> None:
        """Finish the fetched file as ending at ``end`` (once); ``dropped``: the run was redone."""
        task, self._task = self._task, None
        if task is None:
            return
        try:
            fetched = await task
        except Exception as exc:  # a failed side fetch must not stop the recording
            logger.warning("{}: fetching skipped segments failed: {}", self.label, exc)
            fetched = False
        if not fetched or dropped:
            self.path.unlink(missing_ok=True)
            if not dropped:
                logger.warning("{}: the segments skipped at the start could not be fetched; "
                               "{:.1f}s are missing", self.label, self.seconds)  # fmt: skip
            return
        finisher.finish(self.path, end - self.seconds, end, self.seconds)


def _skipped(planned: Sequence[Segment], opened: str) -> tuple[Segment, ...]:
    """The planned segments before ``opened`` when ffmpeg began there instead of at the first
    planned one; empty if ``opened`` is not among them (then ffmpeg is started again)."""
    uris = [segment.uri for segment in planned]
    return tuple(planned[: uris.index(opened)]) if opened in uris[1:] else ()
