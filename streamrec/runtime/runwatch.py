"""Watching one run of ffmpeg: its progress, and the stall and playlist decisions taken on it.

Used by ``runtime.ffmpegrun`` once a tick while ffmpeg runs, and by ``runtime.supervisor``
between runs. :class:`Run` is what a run has shown so far (its media time from ``-progress``,
the files it closed, the segment it opened last); :class:`Outcome` is how it ended;
:class:`Status` is what the recorder's parts share (the state word shown to users, the cause of
the gap being open, the stop request and the deadline).

The decisions: a run with no media within ``startup_grace``, or whose media time gains less than
:data:`MIN_ADVANCE` in ``stall_timeout``, is stalled (:func:`stalled`), except right after it
opened a segment (it would cut that packet short). File size is not progress: after an RTMP
publisher restarts on the same connection, ffmpeg clamps timestamps, so media time stands still
while the file grows. An HLS run with no media and no segment opened for :data:`BEHIND_AFTER`
whose playlist lists newer segments than it follows is not following it (:func:`not_following`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from streamrec.core.events import Emit, RecordingGap
from streamrec.core.timestamps import format_epoch
from streamrec.log import logger
from streamrec.runtime.child import FfmpegChild
from streamrec.runtime.hlsresume import HlsResume, SideFetch
from streamrec.runtime.probing import can_probe, probe

MIN_ADVANCE = 0.5
"""Media seconds a run must gain to count as progress (a clamped timestamp gains microseconds)."""
READING_GRACE = 2.0
"""Seconds after ffmpeg opens a segment in which it is not stopped for a stall: it is reading a
freshly listed segment (a frozen source that just came back), and progress follows."""
BEHIND_AFTER = 3.0
"""Seconds without media and without a segment opened before the recorder looks at the playlist
itself: if it lists something after the segment ffmpeg opened last (or no longer lists that one:
a media-sequence reset), ffmpeg is not following it and is started again."""
_OUT_TIME = re.compile(rb"^out_time_us=(\d+)", re.MULTILINE)


@dataclass
class Status:
    """What a recorder's parts share: its state word, the open gap's cause, stop and deadline."""

    state: str = "idle"
    gap_cause: str | None = None  # set while media is missing since the last file
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: str = "stopped"
    deadline: float | None = None  # loop time the recording's ``duration`` ends
    hold: Callable[[], str | None] | None = None
    """Why this recorder may not record on now (a cluster member past its fence), or None;
    asked with every :meth:`stopping`, so before each start of ffmpeg."""

    def stopping(self) -> str | None:
        """Why the recorder must stop now (a stop asked, the duration reached, a hold), or None."""
        if self.stop.is_set():
            return self.stop_reason
        if self.hold is not None and (held := self.hold()):
            self.stop_reason = held
            self.stop.set()
            return held
        if self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline:
            return "duration reached"
        return None

    def capped(self, delay: float) -> float:
        """``delay``, shortened so a wait ends at the deadline."""
        if self.deadline is None:
            return delay
        return max(0.0, min(delay, self.deadline - asyncio.get_running_loop().time()))


@dataclass
class Run:
    """One run of ffmpeg."""

    run_id: str
    url: str
    child: FfmpegChild
    started: float  # loop time
    hls: bool = False
    anchor: float | None = None  # wall-clock time of media time 0
    out_time: float = 0.0
    last_change: float = 0.0  # loop time media time last advanced by MIN_ADVANCE
    stalled: bool = False
    ref_out_time: float = 0.0
    closed: int = 0
    closed_end: float = 0.0
    reported: set[str] = field(default_factory=set)
    overtaken: bool = False  # killed at its first segment: the playlist had moved on
    opened_at: float = 0.0  # loop time ffmpeg last opened a media segment
    looked_at: float = 0.0  # loop time the recorder last looked at the playlist itself
    side: SideFetch | None = None  # segments skipped at the start, fetched aside

    @property
    def side_seconds(self) -> float:
        """The listed duration of the segments fetched on the side (not missing media)."""
        return self.side.seconds if self.side is not None else 0.0


@dataclass(frozen=True)
class Outcome:
    """How a run ended, as the supervisor loop needs it."""

    productive: bool
    reason: str
    final: bool = False
    again: bool = False  # start again at once: no reconnect, no backoff


def stalled(run: Run, now: float, *, startup_grace: float, stall_timeout: float) -> str | None:
    """Why the run is stalled at loop time ``now``, or None."""
    if now - run.opened_at < READING_GRACE:
        return None  # reading a segment just listed: stopping now would cut a packet short
    if run.anchor is None:
        if now - run.started > startup_grace:
            return f"no media within {startup_grace:g}s of starting ffmpeg"
        return None
    if now - run.last_change > stall_timeout:
        return f"no media progress for {stall_timeout:g}s"
    return None


async def not_following(run: Run, now: float, resume: HlsResume) -> bool:
    """Whether an HLS ffmpeg waits for a segment the playlist will not list: no media and no
    segment opened for :data:`BEHIND_AFTER`, and the playlist lists segments after the one
    it opened last (a media-sequence reset while the playlist stayed up). A frozen source's
    stale playlist is not that: ffmpeg waits for it, and goes on by itself when it moves."""
    quiet = min(now - run.last_change, now - run.opened_at, now - run.looked_at)
    if not run.hls or run.anchor is None or quiet < BEHIND_AFTER:
        return False
    run.looked_at = now
    if resume.last_segment is None or not can_probe(run.url):
        return False
    playlist = (await probe(run.url)).playlist
    if playlist is None or playlist.master or not playlist.segments:
        return False
    return resume.lists_newer(playlist)


async def read_progress(
    run: Run, on_media: Callable[[float], None], on_block: Callable[[], None] | None = None
) -> None:
    """Follow ``out_time_us`` in ffmpeg's progress blocks (read a block at a time: cheap);
    ``on_media(out_time)`` once, when the first media time arrives; ``on_block()`` after each
    read that carried a media time, once the run has media, except ffmpeg's last block
    (``progress=end``: it comes after the last file closed, so no file is being written)."""
    loop = asyncio.get_running_loop()
    rest = b""
    while chunk := await run.child.progress.read(1 << 16):
        complete, _, rest = (rest + chunk).rpartition(b"\n")
        times = _OUT_TIME.findall(complete)
        if not times:
            continue
        out_time = int(times[-1]) / 1_000_000
        run.out_time = out_time
        if out_time - run.ref_out_time >= MIN_ADVANCE:
            run.ref_out_time = out_time
            run.last_change = loop.time()
        if run.anchor is None and out_time > 0:
            on_media(out_time)
        if run.anchor is not None and on_block is not None and b"progress=end" not in complete:
            on_block()


def emit_gap(emit: Emit, channel: str, label: str, start: float, end: float, cause: str) -> None:
    """``recording.gap`` between two files, unless the new run overlaps the old one."""
    if end - start < 0.05:
        return  # the new run overlaps the old one (HLS starts a few segments back)
    logger.info("{}: gap of {:.1f}s: {}", label, end - start, cause)
    emit(
        RecordingGap(channel=channel, start=format_epoch(start), end=format_epoch(end), cause=cause)
    )
