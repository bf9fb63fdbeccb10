"""The recorder: one supervised ffmpeg per channel, from "record now" until told to stop.

The daemon creates one :class:`Recorder` per channel that should be recording and awaits
:meth:`Recorder.run`; ``streamrec record`` and ``streamrec demo`` do the same in the foreground.
:meth:`Recorder.stop` ends it from outside. Everything that happens is reported through ``emit``
(``emit(record)``, a ``core.events`` record, wired to ``Journal.append`` by the CLI and the
daemon), so the recorder does not know the state log. What the file being written looks like
right now (its final name, bytes, bitrate, media seconds: ``core.liveprogress``) is not an
outcome and never logged: it is the ``progress`` property, and the optional ``on_progress``
hook is told each reading (about once a second, ``runtime.livemeter``).

One run of ffmpeg (``runtime.child``) writes numbered *partial* files into
``recordings_dir/.partial/<channel>/``; each time ffmpeg closes one, its segment-list line arrives
and ``runtime.finishing`` renames the file to its templated name (``core.filenames``) with
wall-clock start and end, logs ``recording.segment`` and runs its hooks. So the file being
written is never a finished file, a crash leaves partial files that the next run finishes
(``Finisher.recover_orphans``), and no half-written file is ever offered to hooks or retention.
The wall-clock time of media time 0 of a run (its *anchor*) is taken from the first
``-progress`` block (now minus ``out_time``), so segment times within a run are exactly
contiguous, and the space between two runs is a ``recording.gap`` with its cause.

This module assembles the parts and holds the channel's lock; each part has its own module:

- ``runtime.supervisor``: the loop between runs (free space, resolving, reconnect, backoff,
  fast probing of a source that went down);
- ``runtime.ffmpegrun``: one run of ffmpeg, watched every second, its files finished;
- ``runtime.runwatch``: the stall and playlist decisions taken while ffmpeg runs;
- ``runtime.livemeter``: the live reading of the file being written;
- ``runtime.hlsresume``: where an HLS run starts, and the segments its start skipped, fetched on
  the side.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import random
import time
import zoneinfo
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from streamrec.core.events import Emit, RecordingStopped
from streamrec.core.filenames import EXTENSIONS
from streamrec.core.liveprogress import LiveProgress
from streamrec.core.retention import Limits
from streamrec.errors import RecorderError
from streamrec.log import logger
from streamrec.runtime.channelargv import PARTIAL, partial_dir_of
from streamrec.runtime.ffmpegrun import Command, FfmpegRun
from streamrec.runtime.finishing import KEEP_FILES, Finisher
from streamrec.runtime.hlsresume import HlsResume
from streamrec.runtime.livemeter import LiveMeter, OnProgress
from streamrec.runtime.resolvers import make_resolver, released
from streamrec.runtime.runwatch import Status, emit_gap
from streamrec.runtime.storage import Storage
from streamrec.runtime.supervisor import Resolve, Supervisor
from streamrec.spec.model import Channel

__all__ = ["PARTIAL_DIR", "Command", "LiveProgress", "OnProgress", "Recorder", "Resolve", "RunHook"]

RunHook = Callable[[str, Mapping[str, str]], Awaitable[str]]
"""``run_hook(task_name, context)`` -> final status (``completed`` or ``failed``)."""
PARTIAL_DIR = PARTIAL
"""``runtime.channelargv.PARTIAL``, under the name ``streamrec recordings`` imports from here."""


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
        on_progress: OnProgress | None = None,
        keep_files: int = KEEP_FILES,
    ) -> None:
        if (channel.on_segment or channel.on_recording_end) and run_hook is None:
            raise RecorderError(f"channel {name!r} has hooks but no task runner was given")
        self.name = name
        self.ffmpeg = ffmpeg
        self.channel = channel
        self.recordings_dir = recordings_dir
        self.partial_dir = partial_dir_of(recordings_dir, name)
        self.zone = zoneinfo.ZoneInfo(timezone_name)
        self.ext = EXTENSIONS[channel.format]
        self.secrets = secrets
        self.storage = storage
        storage.limits[name] = Limits(channel.retention.max_age, channel.retention.max_size)
        self.startup_grace = startup_grace or max(15.0, channel.stall_timeout)
        self.stop_step = stop_step
        self._emit = emit
        self._clock = clock
        self._resolve = resolve or make_resolver(channel.resolver, channel.quality)
        self._status = Status()
        self.finisher = Finisher(
            name, channel, recordings_dir=recordings_dir, partial_dir=self.partial_dir,
            zone=self.zone, ext=self.ext, ffmpeg=ffmpeg, storage=storage, emit=emit,
            run_hook=run_hook, keep=keep_files,
        )  # fmt: skip
        self._meter = LiveMeter(self.finisher, clock=clock, on_progress=on_progress)
        resume = HlsResume(
            channel, partial_dir=self.partial_dir, zone=self.zone, secrets=secrets,
            label=self.label, clock=clock,
        )  # fmt: skip
        runs = FfmpegRun(
            name, channel, partial_dir=self.partial_dir, ext=self.ext, ffmpeg=ffmpeg,
            command=command, emit=emit, storage=storage, finisher=self.finisher, resume=resume,
            status=self._status, secrets=secrets, startup_grace=self.startup_grace,
            stop_step=stop_step, clock=clock, meter=self._meter,
        )  # fmt: skip
        self._supervisor = Supervisor(
            name, channel, runs=runs, resume=resume, resolve=self._resolve, emit=emit,
            storage=storage, finisher=self.finisher, status=self._status, rand=rand,
        )  # fmt: skip

    @property
    def state(self) -> str:
        """What the recorder does now: ``idle``, ``starting``, ``recording``, ``stalled``,
        ``reconnecting``, ``waiting for space`` or ``stopped``."""
        return self._status.state

    @property
    def progress(self) -> LiveProgress | None:
        """The latest reading of the file being written (``core.liveprogress``), or None while
        nothing is being written (starting, reconnecting, stopped)."""
        return self._meter.latest

    @property
    def writing(self) -> Path | None:
        """The partial file ffmpeg writes now (what a live thumbnail or playback reads)."""
        return self._meter.writing if self._meter.latest is not None else None

    @property
    def on_progress(self) -> OnProgress | None:
        """Told each reading of the file being written, about once a second (settable)."""
        return self._meter.on_progress

    @on_progress.setter
    def on_progress(self, hook: OnProgress | None) -> None:
        self._meter.on_progress = hook

    @property
    def files(self) -> list[dict[str, Any]]:
        """The files finished so far (the newest ``keep_files`` of them, by default
        ``runtime.finishing.KEEP_FILES``), as their ``recording.segment`` fields."""
        return list(self.finisher.files)

    @property
    def label(self) -> str:
        """How log lines name this recorder."""
        return f"channel {self.name!r}"

    def hold_when(self, hold: Callable[[], str | None]) -> None:
        """Stop on its own, before ffmpeg is started again, once ``hold()`` gives a reason (a
        cluster member past its fence deadline: ``daemon.cluster``)."""
        self._status.hold = hold

    def stop(self, reason: str = "stopped by request") -> None:
        """Ask :meth:`run` to stop ffmpeg (politely) and return."""
        self._status.stop_reason = reason
        self._status.stop.set()

    async def run(self, duration: float | None = None) -> str:
        """Record until stopped; returns the reason recording stopped."""
        loop = asyncio.get_running_loop()
        status = self._status
        status.deadline = None if duration is None else loop.time() + duration
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        with self._lock(), released(self._resolve):  # a testsrc:// stream is given back
            await self.finisher.recover_orphans()
            try:
                reason = await self._supervisor.loop()
            except BaseException:
                status.state = "stopped"
                self._emit(RecordingStopped(channel=self.name, reason="recorder crashed"))
                raise
            if status.gap_cause is not None and self.finisher.last_end is not None:
                emit_gap(self._emit, self.name, self.label, self.finisher.last_end,
                         self._clock(), status.gap_cause)  # fmt: skip
                status.gap_cause = None
            status.state = "stopped"
            logger.info("{}: recording stopped: {}", self.label, reason)
            self._emit(RecordingStopped(channel=self.name, reason=reason))
            await self.finisher.close()
        return reason

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One recorder per channel per machine: a second one would steal the partial files."""
        with (self.partial_dir / "lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RecorderError(
                    f"{self.label} is being recorded by another streamrec process already"
                ) from None
            yield
