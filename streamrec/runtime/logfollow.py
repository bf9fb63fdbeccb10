"""Copying a task run's log files to a terminal, once or while the run goes on (``--follow``).

Called by the CLI: ``streamrec logs TASK [--follow] [--run N]`` and ``task run``, which shows the
output of the task it runs as it comes. The files are the ones the child writes itself
(``runtime.tasks.files``: one stdout and one stderr file per attempt); following polls their sizes
and copies what is new, in bounded chunks, so a task that writes gigabytes never passes through
memory at once. A run is live while its record is in its lock file and its owner (or its group) is
alive; following ends after one last copy once it is not.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import BinaryIO

from streamrec.runtime.tasks.files import RunFiles, attempt_logs, live_record

CHUNK = 1 << 16
"""Bytes copied at a time."""


class Copier:
    """Copies what is new in files to sinks, remembering how far each file was copied."""

    def __init__(self) -> None:
        self.offsets: dict[Path, int] = {}

    def copy(self, path: Path, sink: BinaryIO) -> int:
        """Copy the bytes of ``path`` not copied yet; how many were copied."""
        start = self.offsets.get(path, 0)
        copied = 0
        with contextlib.suppress(FileNotFoundError), path.open("rb") as file:
            file.seek(start)
            while chunk := file.read(CHUNK):
                sink.write(chunk)
                copied += len(chunk)
        if copied:
            sink.flush()
            self.offsets[path] = start + copied
        return copied


def run_is_live(files: RunFiles, run: int) -> bool:
    """Whether run ``run`` is still going (its record names a live owner or group)."""
    record = live_record(files, run)
    if record is None:
        return False
    return record.owner_alive() or record.group() is not None


def copy_run(
    files: RunFiles, run: int, out: BinaryIO, err: BinaryIO, copier: Copier | None = None
) -> Copier:
    """Copy every attempt's output of run ``run`` (what is new since ``copier`` last copied)."""
    copier = copier or Copier()
    for _attempt, stdout, stderr in attempt_logs(files, run):
        copier.copy(stdout, out)
        copier.copy(stderr, err)
    return copier


async def follow_run(
    files: RunFiles, run: int, out: BinaryIO, err: BinaryIO, interval: float = 0.1
) -> None:
    """Copy run ``run``'s output as it is written, until the run is over."""
    copier = Copier()
    while True:
        live = run_is_live(files, run)  # asked before copying: nothing written after is missed
        copy_run(files, run, out, err, copier)
        if not live:
            return
        await asyncio.sleep(interval)
