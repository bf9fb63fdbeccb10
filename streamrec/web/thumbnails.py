"""Thumbnails: the latest frame of a recording, finished or being written, made with ffmpeg, cached.

``daemon.webapi`` asks :meth:`Thumbnails.get` when the dashboard loads
``/api/channels/{name}/thumbnail``: for the file a channel writes now while it records, else for
its last finished file. ffmpeg decodes the last seconds of the file (``-sseof``) and keeps
overwriting one JPEG (``-update 1``), so what remains is the file's last frame, scaled to
:data:`WIDTH` pixels wide. Each thumbnail is kept under ``state/thumbs/<channel>/`` named by its
*version*: for a finished file a hash of its path, size and mtime (:func:`file_version`: made once
per file); for the file being written a hash of its path and the current :data:`REFRESH`-second
period (:func:`live_version`: a new frame at most every 10 s, however many dashboards ask, and
only when one asks). The same version is ``thumbnail_version`` in ``/api/status``, for the
dashboard's ``?v=``. Making a channel's new thumbnail removes its older ones. The cache is
private like the rest of the state directory (``state.private``: 0700 directories, 0600 files).

Why the live frame comes from the partial file and not from a second, low-rate output of the
recording ffmpeg: the recording stays a pure ``-c copy`` (a second output would decode every
frame of every channel all the time, even when nobody looks, and a failing encoder or a full
cache would end the recording's run with it); the work is done only on demand, bounded in time
and off the event loop, by the same code that serves finished files. ffmpeg reads the growing
file up to its current end and stops there (no ``-follow``); the recorder writes each packet
through at once (``runtime.ffmpeg``), so that end is at most a second old. ``-sseof`` works on a
growing MPEG-TS, Matroska and fragmented MP4 alike (ffmpeg seeks by bytes, then decodes from the
next keyframe).

ffmpeg runs from an argument list in its own session with a time limit (killed after it), never
through a shell, and two requests for the same version share one ffmpeg run. The recording is
opened first the way a download is (``web.downloads.open_inside``: no symlink, a regular file
inside the recordings directory) and ffmpeg reads that very descriptor (``/dev/fd/N``), so a
recording replaced by a link to another file is never decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path

from streamrec.core.filenames import safe_component
from streamrec.log import logger
from streamrec.state.private import FILE_MODE, private_dir
from streamrec.web.downloads import open_inside

WIDTH = 320
TIMEOUT = 20.0
"""Seconds ffmpeg may take for one thumbnail before it is killed."""
REFRESH = 10.0
"""Seconds a thumbnail of the file being written stays current."""


def file_version(source: Path) -> str | None:
    """The version of a finished file's thumbnail (its path, size and mtime); None if gone."""
    try:
        stat = source.stat()
    except OSError:
        return None
    key = f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def live_version(source: Path, now: float) -> str:
    """The version of the thumbnail of ``source``, a file being written, at Unix time ``now``:
    the same for :data:`REFRESH` seconds."""
    return f"{hashlib.sha256(str(source).encode()).hexdigest()[:12]}-{int(now // REFRESH)}"


class Thumbnails:
    """The thumbnail cache under ``directory``; ``ffmpeg()`` gives the binary to run."""

    def __init__(
        self,
        directory: Path,
        ffmpeg: Callable[[], str],
        *,
        timeout: float = TIMEOUT,
    ) -> None:
        self.directory = directory
        self.ffmpeg = ffmpeg
        self.timeout = timeout
        self._pending: dict[Path, asyncio.Task[bool]] = {}

    def path_for(self, channel: str, version: str) -> Path:
        """Where the thumbnail of ``version`` (see :func:`file_version`) is cached."""
        return self.directory / safe_component(channel) / f"{safe_component(version)}.jpg"

    async def get(
        self, channel: str, source: Path, inside: Path | None = None, version: str | None = None
    ) -> Path | None:
        """The cached thumbnail of ``source`` at ``version`` (default: :func:`file_version`),
        made now if needed; None if it cannot be made or ``source`` is not a regular file inside
        ``inside`` (the recordings directory; None: its own directory)."""
        version = version or file_version(source)
        if version is None:
            return None
        target = self.path_for(channel, version)
        if target.exists():
            return target
        task = self._pending.get(target)
        if task is None:
            task = asyncio.ensure_future(self._make(source, target, inside or source.parent))
            self._pending[target] = task
            task.add_done_callback(lambda _t: self._pending.pop(target, None))
        ok = await asyncio.shield(task)
        return target if ok else None

    async def _make(self, source: Path, target: Path, inside: Path) -> bool:
        opened = open_inside(source, inside)
        if opened is None:
            logger.warning("thumbnail of {}: not a regular file inside the recordings", source)
            return False
        try:
            return await self._decode(source, opened.fd, target)
        finally:
            opened.close()

    async def _decode(self, source: Path, fd: int, target: Path) -> bool:
        private_dir(target.parent)
        partial = target.with_suffix(".part.jpg")
        argv = [
            self.ffmpeg(), "-nostdin", "-v", "error", "-sseof", "-3", "-i", f"/dev/fd/{fd}",
            "-map", "0:v:0", "-vf", f"scale={WIDTH}:-2", "-q:v", "5",
            "-update", "1", "-f", "image2", "-y", str(partial),
        ]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            pass_fds=(fd,),
        )
        try:
            _, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            logger.warning(
                "thumbnail of {}: ffmpeg took over {:.0f}s; killed", source, self.timeout
            )
            partial.unlink(missing_ok=True)
            return False
        if proc.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
            message = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no frame"]
            logger.warning("thumbnail of {}: {}", source, message[0])
            partial.unlink(missing_ok=True)
            return False
        partial.chmod(FILE_MODE)  # ffmpeg made it with the umask's mode
        partial.replace(target)
        for old in target.parent.glob("*.jpg"):
            if old != target and not old.name.endswith(".part.jpg"):
                old.unlink(missing_ok=True)
        return True
