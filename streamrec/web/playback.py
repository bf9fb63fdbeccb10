"""Playback in the browser: a recording remuxed on the fly into fragmented MP4, never transcoded.

``web.routes`` serves ``/api/recordings/play?file=`` (a finished recording) and
``/api/channels/{name}/play`` (the file a channel writes now) as the body of a ``video/mp4``
answer from :func:`remuxed`. One ffmpeg per answer copies the streams (``-c copy``) into MP4
fragments (``-f mp4 -movflags frag_keyframe+empty_moov+default_base_moof``, written to its stdout
as they are made); a browser plays such a stream as it arrives. Video is copied as it is; audio
is copied when browsers play it in MP4 (:data:`BROWSER_AUDIO`: AAC, which the recorder's sources
carry, ``testsrc://`` included, MP3, Opus, FLAC) and dropped with ``-an`` otherwise (an MPEG-TS
from a broadcast with MP2 or AC-3 audio still plays, silent). The codec is read first with one
short ``ffmpeg -i`` of the file (:func:`audio_codec`).

ffmpeg never opens a path a request named: the file is opened and checked the way a download is
(``web.downloads.open_inside``) and ffmpeg reads it from a pipe that :func:`remuxed` feeds from
that descriptor. A finished file is fed to its end. The file being written (:class:`Source` with
``growing``) is fed from near its end (``start``, for MPEG-TS, whose packets carry their own
sync; other formats from their start, where their headers are), following it as it grows, until
the recorder no longer writes it (it was closed; the answer ends with it); so a live picture
starts at once, seconds behind the recording. ffmpeg runs from an argument list in its own
session; it is killed when the answer ends for any reason, a client that went away included
(the ASGI server cancels the body, and the ``finally`` here kills and reaps it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from loguru import logger

from streamrec.web.downloads import Download

BROWSER_AUDIO = frozenset({"aac", "mp3", "opus", "flac"})
"""Audio codecs browsers play inside MP4: copied; any other is dropped."""
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"
CHUNK = 64 * 1024
POLL = 0.25
"""Seconds between two looks at a growing file that has no new bytes."""
PROBE_TIMEOUT = 10.0
_AUDIO = re.compile(r"Stream #\d+:\d+\S*: Audio: (\w+)")
_REAPING: set[asyncio.Future[int]] = set()


@dataclass
class Source:
    """An opened recording to play: from byte ``start``; ``growing()`` says whether the recorder
    still writes it (None: a finished file, read to its end)."""

    opened: Download
    start: int = 0
    growing: Callable[[], bool] | None = None
    closing: list[Callable[[], None]] = field(default_factory=list)


def live_start(size: int, bytes_per_second: float | None, ext: str, seconds: float = 6.0) -> int:
    """Where to start feeding a file being written: ``seconds`` before its end for MPEG-TS
    (aligned to its 188-byte packets; 2 MiB when the rate is unknown), else its start."""
    if ext != "ts":
        return 0
    back = int(bytes_per_second * seconds) if bytes_per_second else 2 << 20
    return max(0, size - back) // 188 * 188


def play_argv(ffmpeg: str, audio: str | None) -> list[str]:
    """ffmpeg reading a recording on stdin and writing fragmented MP4 on stdout, copying; the
    audio (of codec ``audio``) kept if browsers play it, AAC from MPEG-TS turned from ADTS
    framing into MP4's (a filter that leaves AAC already framed for MP4 as it is)."""
    if audio in BROWSER_AUDIO:
        sound = ["-map", "0:a:0?", *(["-bsf:a", "aac_adtstoasc"] if audio == "aac" else [])]
    else:
        sound = ["-an"]
    return [
        ffmpeg, "-hide_banner", "-v", "error", "-analyzeduration", "1000000", "-i", "pipe:0",
        "-map", "0:v:0?", *sound,
        "-c", "copy", "-f", "mp4", "-movflags", MOVFLAGS, "pipe:1",
    ]  # fmt: skip


async def audio_codec(ffmpeg: str, fd: int) -> str | None:
    """The codec of the first audio stream of the open file ``fd`` (from its start), or None."""
    proc = await asyncio.create_subprocess_exec(
        ffmpeg, "-hide_banner", "-nostdin", "-i", f"/dev/fd/{fd}",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, pass_fds=(fd,), start_new_session=True,
    )  # fmt: skip
    try:
        _, err = await asyncio.wait_for(proc.communicate(), PROBE_TIMEOUT)
    except asyncio.TimeoutError:
        _kill(proc)
        return None
    except asyncio.CancelledError:
        _kill(proc)
        raise
    found = _AUDIO.search(err.decode("utf-8", "replace"))
    return found.group(1) if found else None


async def remuxed(ffmpeg: str, source: Source) -> AsyncIterator[bytes]:
    """The fragmented MP4 of ``source``, as ffmpeg writes it; ffmpeg is killed at the end."""
    try:
        codec = await audio_codec(ffmpeg, source.opened.fd)
        read_end, write_end = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                *play_argv(ffmpeg, codec),
                stdin=read_end, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
    except BaseException:
        _close(source)
        raise
    stop = threading.Event()
    feeder = threading.Thread(
        target=_feed, args=(source, write_end, stop), name="playback feeder", daemon=True
    )
    feeder.start()  # owns the file and the pipe from here on, and closes both
    try:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(CHUNK):
            yield chunk
    finally:
        stop.set()
        _kill(proc)


def _feed(source: Source, pipe: int, stop: threading.Event) -> None:
    """Copy the file into ffmpeg's stdin from ``start``: to its end, or while it grows (a
    thread: a blocked write ends when ffmpeg is killed, a poll when ``stop`` is set)."""
    offset = source.start
    fd = source.opened.fd
    try:
        while not stop.is_set():
            data = os.pread(fd, CHUNK, offset)
            if data:
                offset += len(data)
                view = memoryview(data)
                while view:
                    view = view[os.write(pipe, view) :]
                continue
            if source.growing is None or not source.growing():
                if not os.pread(fd, 1, offset):  # nothing came while it was being closed
                    break
                continue
            stop.wait(POLL)
    except OSError as exc:  # ffmpeg went away (the answer ended): nothing more to feed
        logger.debug("playback: ffmpeg stopped reading ({})", exc)
    finally:
        os.close(pipe)
        _close(source)


def _close(source: Source) -> None:
    source.opened.close()
    for close in source.closing:
        close()


def _kill(proc: asyncio.subprocess.Process) -> None:
    """Kill ``proc`` now (no await: the caller may be cancelled) and reap it in the background."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(RuntimeError):
            reaping = asyncio.ensure_future(proc.wait())
            _REAPING.add(reaping)
            reaping.add_done_callback(_REAPING.discard)
