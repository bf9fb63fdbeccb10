"""One run of ffmpeg for a recorder: started, watched every tick, stopped, its files finished.

Used by the supervisor loop (``runtime.supervisor``), which calls :meth:`FfmpegRun.run` once per
attempt and reads the :class:`~streamrec.runtime.runwatch.Outcome`. The run writes numbered
partial files (``runtime.channelargv.partial_pattern``); each segment-list line finishes one
(``runtime.finishing``), timed from the run's *anchor*, the wall-clock time of its media time 0
(from the first ``-progress`` block or segment line). Once a tick (:data:`TICK`) the run is
stopped for a stop request or the duration, for not following its playlist, for a stall
(``runtime.runwatch``), or for low space (``Storage.check``: stopped before ENOSPC, the file
finalized). On HLS, the segments ffmpeg opens go to ``runtime.hlsresume``. After the run, files
ffmpeg did not report closing (it was killed) are repaired and finished from what was seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streamrec.core.events import Emit, RecordingStalled, RecordingStarted
from streamrec.core.redact import redact_text, redact_url
from streamrec.log import logger
from streamrec.runtime.channelargv import channel_argv, partial_pattern
from streamrec.runtime.child import FfmpegChild
from streamrec.runtime.ffmpeg import is_hls, trim_to
from streamrec.runtime.finishing import Finisher
from streamrec.runtime.hlsresume import HlsResume, SideFetch
from streamrec.runtime.livemeter import LiveMeter
from streamrec.runtime.runwatch import (
    Outcome,
    Run,
    Status,
    emit_gap,
    not_following,
    read_progress,
    stalled,
)
from streamrec.runtime.storage import Storage
from streamrec.spec.model import Channel

Command = Callable[[str, str, int, int], Sequence[str]]
"""``command(url, output_pattern, segment_list_fd, progress_fd)`` -> argv (a seam for fakes)."""
TICK = 1.0
"""Seconds between two looks at a running ffmpeg (progress comes once a second anyway)."""
_OPENING = re.compile(r"Opening '(.+)' for reading$")


class FfmpegRun:
    """Runs ffmpeg for one recorder, one run per :meth:`run`."""

    def __init__(
        self, name: str, channel: Channel, *, partial_dir: Path, ext: str, ffmpeg: str,
        command: Command | None, emit: Emit, storage: Storage, finisher: Finisher, resume: HlsResume,
        status: Status, secrets: frozenset[str], startup_grace: float, stop_step: float,
        clock: Callable[[], float], meter: LiveMeter,
    ) -> None:  # fmt: skip
        self.name = name
        self.channel = channel
        self.partial_dir = partial_dir
        self.ext = ext
        self.ffmpeg = ffmpeg
        self.secrets = secrets
        self.startup_grace = startup_grace
        self.stop_step = stop_step
        self.label = f"channel {name!r}"
        self._command = command
        self._emit = emit
        self._storage = storage
        self._finisher = finisher
        self._resume = resume
        self._status = status
        self._clock = clock
        self._meter = meter

    async def run(self, url: str) -> Outcome:
        """Start ffmpeg on ``url`` and watch it until it ends or is stopped."""
        loop = asyncio.get_running_loop()
        run_id = str(int(self._clock() * 1000))
        if not await self._resume.start(url):
            return Outcome(False, "no new segment listed since the last one recorded")
        pattern = partial_pattern(self.channel, self.partial_dir, run_id)
        child = await FfmpegChild.spawn(
            lambda seg, prog: self._argv(url, run_id, pattern, seg, prog), label=self.label
        )
        run = Run(run_id, url, child, started=loop.time(), last_change=loop.time(), hls=is_hls(url))
        self._status.state = "starting"
        readers = [
            asyncio.create_task(self._read_segments(run)),
            asyncio.create_task(
                read_progress(run, lambda out: self._media(run, out), lambda: self._live(run))
            ),
            asyncio.create_task(child.read_stderr(lambda line: self._on_stderr(run, line))),
        ]
        outcome: Outcome | None = None
        stop_asked: asyncio.Future[Any] = asyncio.ensure_future(self._status.stop.wait())
        try:
            while not child.exit.done():
                watched: set[asyncio.Future[Any]] = {child.exit, stop_asked}
                await asyncio.wait(watched, timeout=TICK, return_when=asyncio.FIRST_COMPLETED)
                if child.exit.done():
                    break
                outcome = await self._look(run, loop.time())
                if outcome is not None:
                    break
            try:
                await asyncio.wait_for(asyncio.gather(*readers), 10)
            except asyncio.TimeoutError:
                logger.warning("{}: ffmpeg's pipes stayed open after it exited", self.label)
        finally:
            self._meter.clear()
            stop_asked.cancel()
            if not child.exited:
                child.kill()
                await child.wait()
            for task in readers:
                task.cancel()
        await self._finish_side(run)
        await self._finish_leftovers(run)
        if outcome is None and run.overtaken:
            return Outcome(False, "the playlist moved on while ffmpeg started", again=True)
        if outcome is None:
            last = redact_text(child.stderr_tail[-1], self.secrets) if child.stderr_tail else ""
            outcome = Outcome(run.anchor is not None, f"ffmpeg exited ({last or 'end of stream'})")
        if outcome.productive and not outcome.final:
            self._status.gap_cause = outcome.reason
        return outcome

    def _argv(
        self, url: str, run_id: str, pattern: str, seg_fd: int, prog_fd: int
    ) -> Sequence[str]:
        """The injected command's argv, else ``channel_argv``: what ``channel command`` prints."""
        if self._command is not None:
            return self._command(url, pattern, seg_fd, prog_fd)
        return channel_argv(
            self.channel, self.partial_dir, url, ffmpeg=self.ffmpeg, run_id=run_id,
            segment_list_fd=seg_fd, progress_fd=prog_fd, live_start_index=self._resume.live_start,
        )  # fmt: skip

    async def _look(self, run: Run, now: float) -> Outcome | None:
        """One tick's look at a running ffmpeg: stopped (and why), or None to go on."""
        child = run.child
        if reason := self._status.stopping():
            await child.stop(self.stop_step)
            return Outcome(True, reason, final=True)
        if await not_following(run, now, self._resume):
            logger.info("{}: ffmpeg stopped following the playlist (it lists newer "
                        "segments); starting it again", self.label)  # fmt: skip
            await child.stop(min(1.0, self.stop_step))
            return Outcome(True, "ffmpeg stopped following the playlist")
        timeout = self.channel.stall_timeout
        if stall := stalled(run, now, startup_grace=self.startup_grace, stall_timeout=timeout):
            self._status.state = "stalled"
            run.stalled = True
            logger.warning("{}: {}; restarting ffmpeg", self.label, stall)
            self._emit(RecordingStalled(channel=self.name, reason=stall))
            await child.stop(min(1.0, self.stop_step))
            return Outcome(run.anchor is not None, stall)
        if not (room := self._storage.check()).ok:  # every tick: never reach ENOSPC
            await child.stop(self.stop_step)
            return Outcome(run.anchor is not None, room.reason)
        return None

    def _on_stderr(self, run: Run, line: str) -> None:
        # two lines a second per channel: redacted only when a debug sink will show them
        logger.opt(lazy=True).debug(
            "{}: ffmpeg: {}", lambda: self.label, lambda: redact_text(line, self.secrets)
        )
        opening = _OPENING.search(line) if run.hls and not run.overtaken else None
        if opening is None or is_hls(opening.group(1)):
            return
        run.opened_at = asyncio.get_running_loop().time()
        opened = self._resume.opened(opening.group(1))
        if opened.redo:
            run.overtaken = True
            run.child.kill()
        elif opened.skipped:
            run.side = SideFetch(
                opened.skipped, path=self.partial_dir / f"backfill_{run.run_id}.{self.ext}",
                ffmpeg=self.ffmpeg, channel=self.channel, secrets=self.secrets, label=self.label,
            )  # fmt: skip

    async def _finish_side(self, run: Run) -> None:
        """The side-fetched segments, finished as the file before the run's first (once)."""
        if run.side is not None:
            end = run.anchor if run.anchor is not None else self._clock()
            await run.side.finish(self._finisher, end, dropped=run.overtaken)

    def _media(self, run: Run, out_time: float) -> None:
        """The run's first media: its anchor is now minus its media time; it is recording."""
        run.anchor = self._clock() - out_time
        self._status.state = "recording"
        status = self._status
        if status.gap_cause is not None and self._finisher.last_end is not None:
            start = run.anchor - run.side_seconds  # fetched on the side: not missing
            emit_gap(self._emit, self.name, self.label, self._finisher.last_end, start,
                     status.gap_cause)  # fmt: skip
        status.gap_cause = None
        file = str(self.partial_dir / f"{run.run_id}_{run.closed:06d}.{self.ext}")
        logger.info("{}: recording into {}", self.label, file)
        self._emit(RecordingStarted(
            channel=self.name, file=file, pid=run.child.pid,
            url=redact_url(self.channel.url, self.secrets),
        ))  # fmt: skip

    def _live(self, run: Run) -> None:
        """A reading of the file being written (``runtime.livemeter``): the run's current
        partial file, started where the last closed one ended."""
        assert run.anchor is not None
        partial = self.partial_dir / f"{run.run_id}_{run.closed:06d}.{self.ext}"
        self._meter.read(partial, run.anchor + run.closed_end, run.out_time - run.closed_end)

    async def _read_segments(self, run: Run) -> None:
        while line := await run.child.segments.readline():
            try:
                name, start_text, end_text = next(csv.reader([line.decode("utf-8")]))[:3]
                start, end = float(start_text), float(end_text)
            except (ValueError, StopIteration, UnicodeDecodeError):
                logger.warning("{}: unreadable segment list line {!r}", self.label, line)
                continue
            if run.anchor is None:
                self._media(run, end)
            assert run.anchor is not None
            with contextlib.suppress(OSError):
                self._meter.closed((self.partial_dir / name).stat().st_size)
            run.closed += 1
            run.closed_end = end
            run.reported.add(name)
            await self._finish_side(run)  # in order: the skipped segments come first
            if run.stalled:  # the file closed by the stop: drop media written after the stall
                await trim_to(
                    self.ffmpeg, self.partial_dir / name, self.channel.format, end - start
                )
            self._finisher.finish(
                self.partial_dir / name, run.anchor + start, run.anchor + end, end - start
            )

    async def _finish_leftovers(self, run: Run) -> None:
        """Files ffmpeg did not report closing (it was killed): finished from what we saw."""
        for path in sorted(self.partial_dir.glob(f"{run.run_id}_*.{self.ext}")):
            if path.name in run.reported:
                continue
            if run.anchor is None or run.overtaken:  # nothing recorded, or recorded again next
                path.unlink(missing_ok=True)
                continue
            end = max(run.out_time, run.closed_end)
            await self._finisher.repair(path)
            self._finisher.finish(
                path, run.anchor + run.closed_end, run.anchor + end, end - run.closed_end
            )
