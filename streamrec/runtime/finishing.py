"""Finishing recorded files: final name, ``recording.segment``, storage catalog, hooks.

Used by the recorder's runs (``runtime.ffmpegrun``): each time ffmpeg closes a partial file (its
segment list line arrives) and when ffmpeg was killed before closing one; and by
``runtime.recorder`` at start-up, for partial files left by a streamrec that died. A :class:`Finisher` belongs to one recorder.

Naming: ffmpeg writes ``<run>_%06d.<ext>`` in ``recordings_dir/.partial/<channel>/``; a closed file
is moved to ``channel.filename`` rendered with its wall-clock start in the settings zone
(``core.filenames``), as a hard link then unlink (a rename where hard links are not supported), so
an existing file is never overwritten: a taken name gets ``-2``, ``-3`` … before the extension.

Hooks: ``on_segment`` tasks run for each finished file through the injected ``run_hook`` (the task
runner), in the order listed; the file is "processed" (``recording.processed``, and deletable by
retention) when all of them have finished, ``completed`` if every one completed. The context is
passed as environment variables (``STREAMREC_CHANNEL``, ``_CATEGORY``, ``_FILE``, ``_START``,
``_END``, ``_DURATION``), never as shell text.
"""

from __future__ import annotations

import asyncio
import collections
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone, tzinfo
from pathlib import Path, PurePosixPath
from typing import Any

from streamrec.core.events import Emit, RecordingProcessed, RecordingSegment
from streamrec.core.filenames import render_filename, with_counter
from streamrec.core.files import FinishedFile
from streamrec.core.timestamps import format_epoch
from streamrec.log import logger
from streamrec.runtime.ffmpeg import repair_truncated
from streamrec.runtime.storage import Storage
from streamrec.spec.model import Channel
from streamrec.spec.units import format_size

RunHook = Callable[[str, Mapping[str, str]], Awaitable[str]]
PARTIAL = re.compile(r"^(\d+)_(\d{6})\.(\w+)$")
"""The name ffmpeg gives a partial file: ``<run id>_<number>.<ext>``."""
BACKFILL = re.compile(r"^backfill_(\d+)\.(\w+)$")
"""Segments a run skipped at its start, fetched on the side: ``backfill_<run id>.<ext>``."""
KEEP_FILES = 1000
"""How many of its newest finished files a recorder keeps in memory (``Recorder.files``)."""


class Finisher:
    """Turns closed partial files of one channel into finished, logged, processed recordings."""

    def __init__(
        self,
        name: str,
        channel: Channel,
        *,
        recordings_dir: Path,
        partial_dir: Path,
        zone: tzinfo,
        ext: str,
        ffmpeg: str,
        storage: Storage,
        emit: Emit,
        run_hook: RunHook | None,
        keep: int = KEEP_FILES,
    ) -> None:
        self.name = name
        self.channel = channel
        self.recordings_dir = recordings_dir
        self.partial_dir = partial_dir
        self.zone = zone
        self.ext = ext
        self.ffmpeg = ffmpeg
        self.storage = storage
        self._emit = emit
        self._run_hook = run_hook
        self.files: collections.deque[dict[str, Any]] = collections.deque(maxlen=max(1, keep))
        """The newest finished files of this recorder (at most ``keep``, :data:`KEEP_FILES`
        unless told), as their ``recording.segment`` fields: a recorder that runs for months
        keeps no more. The newest one is the summary ``on_recording_end`` is given."""
        self._first_start: Any = None
        self._total_duration = 0.0
        self.last_end: float | None = None
        """Wall-clock end of the last finished file."""
        self._index = 0
        self._hook_tasks: set[asyncio.Task[None]] = set()

    @property
    def label(self) -> str:
        return f"channel {self.name!r}"

    async def repair(self, path: Path) -> float | None:
        """Drop the cut-short last frame of a file whose ffmpeg was killed; its media seconds."""
        return await repair_truncated(self.ffmpeg, path, self.channel.format)

    async def recover_orphans(self) -> None:
        """Partial files left by a streamrec that died, finished: each ends at its mtime (the last
        write) and starts as much media earlier as it holds (no earlier than the previous file of
        its run ended, nor its run started); a half-fetched backfill file is dropped."""
        previous: dict[str, float] = {}
        for path in sorted(self.partial_dir.iterdir()):
            if BACKFILL.match(path.name):
                path.unlink(missing_ok=True)
                continue
            match = PARTIAL.match(path.name)
            if not match:
                continue
            run_id = match.group(1)
            end = path.stat().st_mtime
            earliest = previous.get(run_id, int(run_id) / 1000)
            previous[run_id] = end
            logger.info("{}: finishing {} left by an earlier run", self.label, path.name)
            seconds = await self.repair(path)
            start = earliest if seconds is None else max(earliest, end - seconds)
            self.finish(path, start, end, end - start, recovered=True)

    def finish(
        self, path: Path, start: float, end: float, duration: float, recovered: bool = False
    ) -> None:
        """A closed partial file gets its final name, its event, its hooks."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        if size == 0 or duration <= 0:
            path.unlink(missing_ok=True)
            return
        final = self._place(path, start)
        self.last_end = max(self.last_end or 0.0, end)
        self._index += 1
        file = FinishedFile(
            str(final), self.name, start, end, size,
            processed=not self.channel.on_segment, duration=round(duration, 3),
        )  # fmt: skip
        segment = RecordingSegment(
            channel=file.channel, file=file.path, start=format_epoch(start), end=format_epoch(end),
            duration=file.duration, bytes=size, hooks=file.hooks(), recovered=recovered or None,
        )  # fmt: skip
        record = segment.fields_json()
        self.files.append(record)
        if self._first_start is None:
            self._first_start = record["start"]
        self._total_duration += float(record["duration"] or 0)
        logger.info("{}: finished {} ({:.1f}s, {})", self.label, final, duration, format_size(size))
        self._emit(segment)
        self.storage.add(file)
        if self.channel.on_segment:
            task = asyncio.get_running_loop().create_task(self._segment_hooks(record))
            self._hook_tasks.add(task)
            task.add_done_callback(self._hook_tasks.discard)
        self.storage.enforce()

    def _relative(self, start: float) -> PurePosixPath:
        """The templated name (relative to ``recordings_dir``) of the next file to finish."""
        return render_filename(
            self.channel.filename,
            channel=self.name,
            category=self.channel.category,
            start=datetime.fromtimestamp(start, timezone.utc),
            zone=self.zone,
            ext=self.ext,
            index=self._index,
        )

    def planned_name(self, start: float) -> Path:
        """The name the file being written gets when it is finished, if it starts at wall-clock
        ``start`` and is the next one finished: its templated name, with the counter it would
        get if that name is taken now (what ``runtime.ffmpegrun`` shows as the live file)."""
        relative = self._relative(start)
        target = self.recordings_dir / relative
        counter = 1
        while target.exists():
            counter += 1
            target = self.recordings_dir / with_counter(relative, counter)
        return target

    def _place(self, path: Path, start: float) -> Path:
        """Move a finished partial file to its templated name (never over another file)."""
        relative = self._relative(start)
        target = self.recordings_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        counter = 1
        while True:
            try:
                target.hardlink_to(path)
            except FileExistsError:
                counter += 1
                target = self.recordings_dir / with_counter(relative, counter)
                continue
            except OSError:  # a filesystem without hard links: check, then rename
                if target.exists():
                    counter += 1
                    target = self.recordings_dir / with_counter(relative, counter)
                    continue
                path.rename(target)
                return target
            path.unlink()
            return target

    def _context(self, record: Mapping[str, Any]) -> dict[str, str]:
        return {
            "STREAMREC_CHANNEL": self.name,
            "STREAMREC_CATEGORY": self.channel.category or "",
            "STREAMREC_FILE": str(record["file"]),
            "STREAMREC_START": str(record["start"]),
            "STREAMREC_END": str(record["end"]),
            "STREAMREC_DURATION": f"{record['duration']:g}",
        }

    async def _run_hooks(self, tasks: Sequence[str], context: dict[str, str]) -> str:
        assert self._run_hook is not None
        status = "completed"
        for task in tasks:
            try:
                result = await self._run_hook(task, context)
            except Exception as exc:  # a broken runner must not stop the recording
                logger.error("{}: hook {} could not run: {}", self.label, task, exc)
                result = "failed"
            if result != "completed":
                status = "failed"
        return status

    async def _segment_hooks(self, record: Mapping[str, Any]) -> None:
        status = await self._run_hooks(self.channel.on_segment, self._context(record))
        for entry in reversed(self.files):  # the newest first: it is nearly always the last one
            if entry["file"] == record["file"]:
                entry["hooks"] = status
                break
        self._emit(RecordingProcessed(channel=self.name, file=str(record["file"]), status=status))
        self.storage.set_processed(str(record["file"]))

    async def close(self) -> None:
        """Wait for the hooks of every file, then run ``on_recording_end`` (the whole recording)."""
        while self._hook_tasks:
            await asyncio.gather(*self._hook_tasks)
        if not self.channel.on_recording_end or not self.files:
            return
        summary = {
            **self.files[-1], "start": self._first_start, "duration": self._total_duration,
        }  # fmt: skip
        await self._run_hooks(self.channel.on_recording_end, self._context(summary))
