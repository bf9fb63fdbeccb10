"""The recorder: one supervised ffmpeg per channel, from "record now" until told to stop.

The daemon creates one :class:`Recorder` per channel that should be recording and awaits
:meth:`Recorder.run`; ``streamrec record`` and ``streamrec demo`` do the same in the foreground.
:meth:`Recorder.stop` ends it from outside. Everything that happens is reported through ``emit``
(``emit(record)``, a ``core.events`` record, wired to ``Journal.append`` by the CLI and the
daemon), so the recorder does not know the state log.

One run of ffmpeg (``runtime.child``) writes numbered *partial* files into
``recordings_dir/.partial/<channel>/``; each time ffmpeg closes one, its segment-list line arrives
and ``runtime.finishing`` renames the file to its templated name (``core.filenames``) with
wall-clock start and end, logs ``recording.segment`` and runs its hooks. So the file being written is never a finished file, a crash leaves partial
files that the next run finishes (``Finisher.recover_orphans``), and no half-written file is
ever offered to hooks or retention. The wall-clock time of media time 0 of a run (its *anchor*) is
taken from the first ``-progress`` block (now minus ``out_time``), so segment times within a run are
exactly contiguous, and the space between two runs is a ``recording.gap`` with its cause.

Supervision: a run that produces nothing within ``startup_grace``, or whose media time gains
less than half a second in ``stall_timeout``, is stalled (``recording.stalled``) and stopped
firmly. File size is deliberately not counted as progress: when an RTMP publisher restarts on the
same connection, ffmpeg clamps the new timestamps ("non-monotonic DTS") so media time stands
still while the file grows with mistimed media; a fresh ffmpeg records it correctly;
ffmpeg exiting by itself (source down, ended, timed out) is just the end of a run. On HLS,
ffmpeg waits through a stale playlist (a frozen encoder) and goes on by itself when it moves; it
is not stopped for a stall right after it opened a segment (it would cut that packet short), and
is started again when the playlist lists newer segments than it follows (a media-sequence reset).
Segments it skipped at its start (the playlist moved on while it started) are fetched on the side
(``_backfill``) and finished before its first file. Then
``recording.reconnecting`` and a retry: at once after a run that recorded something, else after
jittered exponential backoff (``core.backoff``) — which is also the offline polling of a channel
whose source is not live. Before each start and once a second while ffmpeg writes,
``Storage.check`` looks at free space (``runtime.storage``; retention runs after each file): below
``min_free_space`` plus the headroom, with no room made by ``on_low_space``, ffmpeg is stopped
while there is still room (the file finalized), ``recording.stopped`` says why, and the recorder
waits (state ``waiting for space``, a look every few seconds) until there is room, then records on.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import fcntl
import random
import re
import time
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from loguru import logger

from streamrec.core.backoff import Backoff
from streamrec.core.events import (
    Emit,
    RecordingGap,
    RecordingReconnecting,
    RecordingStalled,
    RecordingStarted,
    RecordingStopped,
)
from streamrec.core.filenames import EXTENSIONS, safe_component
from streamrec.core.reconnecting import (
    Playlist,
    Segment,
    first_start_index,
    next_step,
    start_index,
)
from streamrec.core.redact import redact_text, redact_url
from streamrec.core.retention import Limits, approx_size
from streamrec.core.timestamps import format_epoch
from streamrec.core.windows import active_interval
from streamrec.errors import RecorderError
from streamrec.runtime.child import FfmpegChild
from streamrec.runtime.ffmpeg import (
    backfill_command,
    build_command,
    escape_pattern,
    is_hls,
    run_to_end,
    trim_to,
)
from streamrec.runtime.finishing import Finisher
from streamrec.runtime.probing import can_probe, probe
from streamrec.runtime.resolvers import make_resolver, released
from streamrec.runtime.storage import Storage
from streamrec.spec.model import Channel

RunHook = Callable[[str, Mapping[str, str]], Awaitable[str]]
"""``run_hook(task_name, context)`` -> final status (``completed`` or ``failed``)."""
Command = Callable[[str, str, int, int], Sequence[str]]
"""``command(url, output_pattern, segment_list_fd, progress_fd)`` -> argv (a seam for fakes)."""
Resolve = Callable[[str], Awaitable[str]]
"""``resolve(channel_url)`` -> the URL ffmpeg opens (``runtime.resolvers``)."""

PARTIAL_DIR = ".partial"
TICK = 1.0
"""Seconds between two looks at a running ffmpeg (progress comes once a second anyway)."""
SPACE_RECHECK = 3.0
"""Seconds between looks at free space while recording is stopped for it."""
MIN_ADVANCE = 0.5
"""Media seconds a run must gain to count as progress (a clamped timestamp gains microseconds)."""
_OUT_TIME = re.compile(rb"^out_time_us=(\d+)", re.MULTILINE)
_OPENING = re.compile(r"Opening '(.+)' for reading$")
LAST_SEGMENT = "last_segment"
"""In the partial directory: the URI of the HLS segment ffmpeg opened last, kept across crashes."""
OVERTAKEN_RETRIES = 3
"""Starts in a row that may be redone because the playlist moved on while ffmpeg started (only
when the segments skipped cannot be fetched on the side: see :meth:`Recorder._backfill`)."""
READING_GRACE = 2.0
"""Seconds after ffmpeg opens a segment in which it is not stopped for a stall: it is reading a
freshly listed segment (a frozen source that just came back), and progress follows."""
BEHIND_AFTER = 3.0
"""Seconds without media and without a segment opened before the recorder looks at the playlist
itself: if it lists something after the segment ffmpeg opened last (or no longer lists that one:
a media-sequence reset), ffmpeg is not following it and is started again."""


@dataclass
class _Run:
    """One run of ffmpeg."""

    run_id: str
    url: str
    child: FfmpegChild
    started: float  # loop time
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
    backfill: asyncio.Task[bool] | None = None  # segments skipped at the start, fetched aside
    backfill_path: Path | None = None
    backfill_seconds: float = 0.0  # listed duration of the segments fetched aside


@dataclass(frozen=True)
class _Outcome:
    productive: bool
    reason: str
    final: bool = False
    again: bool = False  # start again at once: no reconnect, no backoff


class Recorder:
    """Records one channel until :meth:`stop`, a ``duration``, or a full disk."""

    def __init__(
        self,
        name: str,
        channel: Channel,
        *,
        recordings_dir: Path,
        ffmpeg: str,
        emit: Emit,
        storage: Storage,
        timezone_name: str = "UTC",
        secrets: frozenset[str] = frozenset(),
        run_hook: RunHook | None = None,
        command: Command | None = None,
        resolve: Resolve | None = None,
        startup_grace: float | None = None,
        stop_step: float = 3.0,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if (channel.on_segment or channel.on_recording_end) and run_hook is None:
            raise RecorderError(f"channel {name!r} has hooks but no task runner was given")
        self.name = name
        self.ffmpeg = ffmpeg
        self.channel = channel
        self.recordings_dir = recordings_dir
        self.partial_dir = recordings_dir / PARTIAL_DIR / safe_component(name)
        self.zone = zoneinfo.ZoneInfo(timezone_name)
        self.ext = EXTENSIONS[channel.format]
        self.secrets = secrets
        self.storage = storage
        storage.limits[name] = Limits(channel.retention.max_age, channel.retention.max_size)
        self._emit = emit
        self._run_hook = run_hook
        self._command: Command = command or self._default_command
        self._live_start: int | None = None
        self._last_segment: str | None = None  # the HLS segment ffmpeg opened last (absolute URI)
        self._down_since: float | None = None  # loop time a source that was live went down
        self._ready: tuple[str, Playlist | None] | None = None  # a probe saw new media here
        self._hls_run = False
        self._expected: str | None = None  # the segment a run should open first
        self._planned: tuple[Segment, ...] = ()  # listed from ``_expected`` on, when started
        self._overtaken = 0  # starts in a row redone because the playlist moved on
        self._resolve = resolve or make_resolver(channel.resolver, channel.quality)
        self.startup_grace = startup_grace or max(15.0, channel.stall_timeout)
        self.stop_step = stop_step
        self._clock = clock
        self._rand = rand
        self._backoff = Backoff(channel.reconnect.initial, channel.reconnect.max)
        self._stop = asyncio.Event()
        self._stop_reason = "stopped"
        self._deadline: float | None = None
        self._gap_cause: str | None = None  # set while media is missing since the last file
        self.finisher = Finisher(
            name, channel, recordings_dir=recordings_dir, partial_dir=self.partial_dir,
            zone=self.zone, ext=self.ext, ffmpeg=ffmpeg, storage=storage, emit=emit,
            run_hook=run_hook,
        )  # fmt: skip
        self.state = "idle"

    @property
    def files(self) -> list[dict[str, Any]]:
        """The files finished so far, as their ``recording.segment`` fields."""
        return self.finisher.files

    @property
    def label(self) -> str:
        """How log lines name this recorder."""
        return f"channel {self.name!r}"

    def stop(self, reason: str = "stopped by request") -> None:
        """Ask :meth:`run` to stop ffmpeg (politely) and return."""
        self._stop_reason = reason
        self._stop.set()

    def _stopping(self) -> str | None:
        if self._stop.is_set():
            return self._stop_reason
        if self._deadline is not None and asyncio.get_running_loop().time() >= self._deadline:
            return "duration reached"
        return None

    async def run(self, duration: float | None = None) -> str:
        """Record until stopped; returns the reason recording stopped."""
        loop = asyncio.get_running_loop()
        self._deadline = None if duration is None else loop.time() + duration
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        with self._lock(), released(self._resolve):  # a testsrc:// stream is given back
            await self.finisher.recover_orphans()
            try:
                reason = await self._supervise()
            except BaseException:
                self.state = "stopped"
                self._emit(RecordingStopped(channel=self.name, reason="recorder crashed"))
                raise
            if self._gap_cause is not None and self.finisher.last_end is not None:
                self._emit_gap(self.finisher.last_end, self._clock(), self._gap_cause)
            self.state = "stopped"
            logger.info("{}: recording stopped: {}", self.label, reason)
            self._emit(RecordingStopped(channel=self.name, reason=reason))
            await self.finisher.close()
        return reason

    @contextlib.contextmanager
    def _lock(self) -> Any:
        """One recorder per channel per machine: a second one would steal the partial files."""
        with (self.partial_dir / "lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RecorderError(
                    f"{self.label} is being recorded by another streamrec process already"
                ) from None
            yield

    async def _supervise(self) -> str:
        failures = 0  # runs in a row that recorded nothing: the backoff exponent
        attempt = 0  # reconnects since media last flowed
        while True:
            if reason := self._stopping():
                return reason
            if await self._wait_for_space():
                continue  # space is back (or a stop was asked): look again from the top
            url = self._ready[0] if self._ready is not None else None
            try:
                url = url or await self._resolve(self.channel.url)
            except RecorderError as exc:
                outcome = _Outcome(False, str(exc))
            else:
                if reason := self._stopping():
                    return reason
                outcome = await self._run_ffmpeg(url)
            if outcome.final:
                return outcome.reason
            if outcome.again:
                continue
            if reason := self._stopping():
                return reason
            failures = 0 if outcome.productive else failures + 1
            attempt = 1 if outcome.productive else attempt + 1
            loop = asyncio.get_running_loop()
            if outcome.productive:
                self._down_since = loop.time() if url and can_probe(url) else None
            options = self.channel.reconnect
            step = next_step(
                self._backoff, options.fast, options.fast_for, down_since=self._down_since,
                now=loop.time(), failures=failures, rand=self._rand(),
            )  # fmt: skip
            delay = step.delay
            if self._deadline is not None:
                delay = max(0.0, min(delay, self._deadline - loop.time()))
            self.state = "reconnecting"
            how = f"probing every {options.fast:g}s" if step.action == "probe" else "retrying"
            logger.info(
                "{}: {}; {} in {:.1f}s (attempt {})",
                self.label, outcome.reason, how, delay, attempt,
            )  # fmt: skip
            self._emit(RecordingReconnecting(
                channel=self.name, attempt=attempt, delay=round(delay, 2), reason=outcome.reason,
                probing=options.fast if step.action == "probe" else None,
            ))  # fmt: skip
            if step.action == "probe" and url:
                await self._probe_until_new(url)
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _probe_until_new(self, url: str) -> None:
        """Probe every ``reconnect.fast`` until new media is listed, the fast phase ends, or stop.

        New media: an HLS playlist listing a segment after the last one recorded (or no longer
        listing it), or any answer from another HTTP source. The playlist seen is kept for the
        next start (``self._ready``), so ffmpeg starts exactly after the last segment recorded.
        """
        loop = asyncio.get_running_loop()
        options = self.channel.reconnect
        while self._stopping() is None and self._down_since is not None:
            if loop.time() - self._down_since >= options.fast_for:
                return
            seen = await probe(url)
            playlist = seen.playlist
            if seen.answered and (
                playlist is None
                or playlist.master
                or start_index(playlist, self._last_segment) is not None
            ):
                self._ready = (url, playlist)
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), options.fast)

    def _default_command(self, url: str, pattern: str, seg_fd: int, prog_fd: int) -> list[str]:
        return build_command(
            self.ffmpeg, self.channel, url, pattern, segment_list_fd=seg_fd, progress_fd=prog_fd,
            live_start_index=self._live_start,
        )  # fmt: skip

    async def _hls_start(self, url: str) -> tuple[bool, int | None]:
        """Where an HLS run starts: (anything new to record?, ``-live_start_index``).

        Right after the last segment recorded (this run's or, on a first start, the one a
        previous recorder of this channel wrote down before it was killed; if that one has left
        the playlist and was opened less than ``reconnect.fast_for`` ago, at the oldest listed),
        else at the oldest listed segment that ends after the channel's window opened (with
        ``padding.before``), else at the live edge.
        """
        ready, self._ready = self._ready, None
        if not (is_hls(url) and can_probe(url)):
            return True, None
        playlist = (
            ready[1] if ready is not None and ready[0] == url else (await probe(url)).playlist
        )
        if playlist is None or playlist.master or not playlist.segments:
            return True, None
        reach_back = 0.0
        if self._last_segment is None:
            recorded, since = self._recorded_before()
            if any(segment.uri == recorded for segment in playlist.segments):
                self._last_segment = recorded  # a killed recorder's last segment: go on after it
            elif since <= self.channel.reconnect.fast_for:
                reach_back = since  # it left the playlist meanwhile: all that is listed is new
        if self._last_segment is not None:
            index = start_index(playlist, self._last_segment)
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

    async def _wait_for_space(self) -> bool:
        """Below min_free_space: ``recording.stopped`` with the reason, then state ``waiting for
        space``, checking every :data:`SPACE_RECHECK` seconds until there is room (True: it waited)
        or a stop or the duration comes. With room at once, False and nothing happens."""
        room = self.storage.check()
        if room.ok:
            return False
        self.state = "waiting for space"
        logger.warning(
            "{}: recording stopped: {}; recording resumes by itself once there is room "
            "(checked every {:g}s)", self.label, room.reason, SPACE_RECHECK,
        )  # fmt: skip
        self._emit(RecordingStopped(channel=self.name, reason=room.reason))
        if self.finisher.last_end is not None:
            self._gap_cause = room.reason
        loop = asyncio.get_running_loop()
        while not self._stopping():
            wait = SPACE_RECHECK
            if self._deadline is not None:
                wait = max(0.0, min(wait, self._deadline - loop.time()))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
            if self._stopping():
                break
            room = self.storage.check()
            if room.ok:
                logger.info(
                    "{}: {} free again (needed {}): recording resumes",
                    self.label, approx_size(room.free), approx_size(room.needed),
                )  # fmt: skip
                break
        return True

    async def _run_ffmpeg(self, url: str) -> _Outcome:
        loop = asyncio.get_running_loop()
        run_id = str(int(self._clock() * 1000))
        fresh, self._live_start = await self._hls_start(url)
        if not fresh:
            return _Outcome(False, "no new segment listed since the last one recorded")
        self._hls_run = is_hls(url)
        if self._live_start is None:
            self._expected = None
        pattern = escape_pattern(str(self.partial_dir)) + f"/{run_id}_%06d.{self.ext}"
        child = await FfmpegChild.spawn(
            lambda seg, prog: self._command(url, pattern, seg, prog), label=self.label
        )
        run = _Run(run_id, url, child, started=loop.time(), last_change=loop.time())
        self.state = "starting"
        readers = [
            asyncio.create_task(self._read_segments(run)),
            asyncio.create_task(self._read_progress(run)),
            asyncio.create_task(child.read_stderr(lambda line: self._on_stderr(run, line))),
        ]
        outcome: _Outcome | None = None
        stop_asked: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        try:
            while not child.exit.done():
                watched: set[asyncio.Future[Any]] = {child.exit, stop_asked}
                await asyncio.wait(watched, timeout=TICK, return_when=asyncio.FIRST_COMPLETED)
                if child.exit.done():
                    break
                now = loop.time()
                if reason := self._stopping():
                    await child.stop(self.stop_step)
                    outcome = _Outcome(True, reason, final=True)
                    break
                if await self._not_following(run, now):
                    logger.info("{}: ffmpeg stopped following the playlist (it lists newer "
                                "segments); starting it again", self.label)  # fmt: skip
                    await child.stop(min(1.0, self.stop_step))
                    outcome = _Outcome(True, "ffmpeg stopped following the playlist")
                    break
                if stall := self._stalled(run, now):
                    self.state = "stalled"
                    run.stalled = True
                    logger.warning("{}: {}; restarting ffmpeg", self.label, stall)
                    self._emit(RecordingStalled(channel=self.name, reason=stall))
                    await child.stop(min(1.0, self.stop_step))
                    outcome = _Outcome(run.anchor is not None, stall)
                    break
                if not (room := self.storage.check()).ok:  # every tick: never reach ENOSPC
                    await child.stop(self.stop_step)
                    outcome = _Outcome(run.anchor is not None, room.reason)
                    break
            try:
                await asyncio.wait_for(asyncio.gather(*readers), 10)
            except asyncio.TimeoutError:
                logger.warning("{}: ffmpeg's pipes stayed open after it exited", self.label)
        finally:
            stop_asked.cancel()
            if not child.exited:
                child.kill()
                await child.wait()
            for task in readers:
                task.cancel()
        await self._finish_backfill(run)
        await self._finish_leftovers(run)
        if outcome is None and run.overtaken:
            return _Outcome(False, "the playlist moved on while ffmpeg started", again=True)
        if outcome is None:
            last = redact_text(child.stderr_tail[-1], self.secrets) if child.stderr_tail else ""
            outcome = _Outcome(run.anchor is not None, f"ffmpeg exited ({last or 'end of stream'})")
        if outcome.productive and not outcome.final:
            self._gap_cause = outcome.reason
        return outcome

    def _stalled(self, run: _Run, now: float) -> str | None:
        if now - run.opened_at < READING_GRACE:
            return None  # reading a segment just listed: stopping now would cut a packet short
        if run.anchor is None:
            if now - run.started > self.startup_grace:
                return f"no media within {self.startup_grace:g}s of starting ffmpeg"
            return None
        if now - run.last_change > self.channel.stall_timeout:
            return f"no media progress for {self.channel.stall_timeout:g}s"
        return None

    def _on_stderr(self, run: _Run, line: str) -> None:
        logger.debug("{}: ffmpeg: {}", self.label, redact_text(line, self.secrets))
        opened = _OPENING.search(line) if self._hls_run and not run.overtaken else None
        if opened is None or is_hls(opened.group(1)):
            return
        run.opened_at = asyncio.get_running_loop().time()
        uri, expected, self._expected = opened.group(1), self._expected, None
        planned, self._planned = self._planned, ()
        skipped = _skipped(planned, uri) if expected is not None and expected != uri else ()
        if skipped:
            self._backfill(run, skipped)
        elif expected is not None and expected != uri:
            # ffmpeg began at a segment that was not listed when we looked (the playlist moved
            # on by more than it listed then, or restarted), so what it skipped is not known:
            # a new start from a fresh look; this ffmpeg has written nothing yet (its files
            # are dropped).
            said = (self.label, redact_url(uri, self.secrets), redact_url(expected, self.secrets))
            if self._overtaken < OVERTAKEN_RETRIES:
                self._overtaken += 1
                run.overtaken = True
                run.child.kill()
                logger.info("{}: ffmpeg started at {} instead of {}: the playlist moved on "
                            "while it started; starting it again", *said)  # fmt: skip
                return
            logger.warning("{}: ffmpeg started at {} instead of {}: the playlist moved on while "
                           "it started, so the segments between them are missing", *said)  # fmt: skip
        self._overtaken = 0
        self._last_segment = uri
        tmp = self.partial_dir / f"{LAST_SEGMENT}.tmp"
        with contextlib.suppress(OSError):
            tmp.write_text(uri)
            tmp.replace(self.partial_dir / LAST_SEGMENT)

    def _backfill(self, run: _Run, skipped: Sequence[Segment]) -> None:
        """ffmpeg started later than planned (the playlist moved on while it started): the
        segments it skipped are copied on the side by a short ffmpeg, into a file that is
        finished right before the run's first one. ffmpeg itself records on: no restart, which
        after an outage longer than the playlist would lose the oldest listed segment again."""
        said = ", ".join(redact_url(s.uri, self.secrets) for s in skipped)
        logger.info("{}: ffmpeg started after {} (the playlist moved on while it started); "
                    "fetching it on the side", self.label, said)  # fmt: skip
        path = self.partial_dir / f"backfill_{run.run_id}.{self.ext}"
        argv = backfill_command(self.ffmpeg, self.channel, [s.uri for s in skipped], str(path))
        run.backfill_path = path
        run.backfill_seconds = sum(s.duration for s in skipped)
        run.backfill = asyncio.get_running_loop().create_task(run_to_end(argv))

    async def _finish_backfill(self, run: _Run) -> None:
        """The side-fetched segments, finished as the file before the run's first (once)."""
        task, path, run.backfill = run.backfill, run.backfill_path, None
        if task is None or path is None:
            return
        try:
            fetched = await task
        except Exception as exc:  # a failed side fetch must not stop the recording
            logger.warning("{}: fetching skipped segments failed: {}", self.label, exc)
            fetched = False
        if not fetched or run.overtaken:
            path.unlink(missing_ok=True)
            if not run.overtaken:
                logger.warning("{}: the segments skipped at the start could not be fetched; "
                               "{:.1f}s are missing", self.label, run.backfill_seconds)  # fmt: skip
            return
        end = run.anchor if run.anchor is not None else self._clock()
        self.finisher.finish(path, end - run.backfill_seconds, end, run.backfill_seconds)

    async def _not_following(self, run: _Run, now: float) -> bool:
        """Whether an HLS ffmpeg waits for a segment the playlist will not list: no media and no
        segment opened for :data:`BEHIND_AFTER`, and the playlist lists segments after the one
        it opened last (a media-sequence reset while the playlist stayed up). A frozen source's
        stale playlist is not that: ffmpeg waits for it, and goes on by itself when it moves."""
        quiet = min(now - run.last_change, now - run.opened_at, now - run.looked_at)
        if not self._hls_run or run.anchor is None or quiet < BEHIND_AFTER:
            return False
        run.looked_at = now
        if self._last_segment is None or not can_probe(run.url):
            return False
        playlist = (await probe(run.url)).playlist
        if playlist is None or playlist.master or not playlist.segments:
            return False
        return start_index(playlist, self._last_segment) is not None

    def _current_partial(self, run: _Run) -> Path:
        return self.partial_dir / f"{run.run_id}_{run.closed:06d}.{self.ext}"

    def _announce(self, run: _Run) -> None:
        """The run has media: it is recording. Close the gap since the previous run."""
        assert run.anchor is not None
        self.state = "recording"
        if self._gap_cause is not None and self.finisher.last_end is not None:
            start = run.anchor - run.backfill_seconds  # fetched on the side: not missing
            self._emit_gap(self.finisher.last_end, start, self._gap_cause)
        self._gap_cause = None
        file = str(self._current_partial(run))
        logger.info("{}: recording into {}", self.label, file)
        self._emit(RecordingStarted(
            channel=self.name, file=file, pid=run.child.pid,
            url=redact_url(self.channel.url, self.secrets),
        ))  # fmt: skip

    def _emit_gap(self, start: float, end: float, cause: str) -> None:
        self._gap_cause = None
        if end - start < 0.05:
            return  # the new run overlaps the old one (HLS starts a few segments back)
        logger.info("{}: gap of {:.1f}s: {}", self.label, end - start, cause)
        self._emit(RecordingGap(
            channel=self.name, start=format_epoch(start), end=format_epoch(end), cause=cause
        ))  # fmt: skip

    async def _read_progress(self, run: _Run) -> None:
        """Follow ``out_time_us`` in ffmpeg's progress blocks (read a block at a time: cheap)."""
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
                run.anchor = self._clock() - out_time
                self._announce(run)

    async def _read_segments(self, run: _Run) -> None:
        while line := await run.child.segments.readline():
            try:
                name, start_text, end_text = next(csv.reader([line.decode("utf-8")]))[:3]
                start, end = float(start_text), float(end_text)
            except (ValueError, StopIteration, UnicodeDecodeError):
                logger.warning("{}: unreadable segment list line {!r}", self.label, line)
                continue
            if run.anchor is None:
                run.anchor = self._clock() - end
                self._announce(run)
            run.closed += 1
            run.closed_end = end
            run.reported.add(name)
            await self._finish_backfill(run)  # in order: the skipped segments come first
            if run.stalled:  # the file closed by the stop: drop media written after the stall
                await trim_to(
                    self.ffmpeg, self.partial_dir / name, self.channel.format, end - start
                )
            self.finisher.finish(
                self.partial_dir / name, run.anchor + start, run.anchor + end, end - start
            )

    async def _finish_leftovers(self, run: _Run) -> None:
        """Files ffmpeg did not report closing (it was killed): finished from what we saw."""
        for path in sorted(self.partial_dir.glob(f"{run.run_id}_*.{self.ext}")):
            if path.name in run.reported:
                continue
            if run.anchor is None or run.overtaken:  # nothing recorded, or recorded again next
                path.unlink(missing_ok=True)
                continue
            end = max(run.out_time, run.closed_end)
            await self.finisher.repair(path)
            self.finisher.finish(
                path, run.anchor + run.closed_end, run.anchor + end, end - run.closed_end
            )


def _skipped(planned: Sequence[Segment], opened: str) -> tuple[Segment, ...]:
    """The planned segments before ``opened`` when ffmpeg began there instead of at the first
    planned one; empty if ``opened`` is not among them (then ffmpeg is started again)."""
    uris = [segment.uri for segment in planned]
    return tuple(planned[: uris.index(opened)]) if opened in uris[1:] else ()
