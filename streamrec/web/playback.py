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
``writing``) is fed from near its end (``start``, for MPEG-TS, whose packets carry their own
sync; other formats from their start, where their headers are), following it as it grows; when
the recorder closes it and opens the next, an MPEG-TS answer goes on into that one (joined TS is
one stream), any other ends, as it does when the recording stops. So a live picture starts at
once, seconds behind the recording. ffmpeg runs from an argument list in its own
session; it is killed when the answer ends for any reason, a client that went away included
(the ASGI server cancels the body, and the ``finally`` here kills and reaps it). A request
that comes while a recording channel is between two files waits for the next one
(:func:`first_live`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from streamrec.log import logger
from streamrec.web.downloads import Download

BROWSER_AUDIO = frozenset({"aac", "mp3", "opus", "flac"})
"""Audio codecs browsers play inside MP4: copied; any other is dropped."""
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"
CHUNK = 64 * 1024
POLL = 0.25
"""Seconds between two looks at a growing file that has no new bytes."""
NEXT_FILE_WAIT = 3.0
"""Seconds live playback waits for the channel's next file to appear before it ends."""
PROBE_TIMEOUT = 10.0
_AUDIO = re.compile(r"Stream #\d+:\d+\S*: Audio: (\w+)")
_REAPING: set[asyncio.Future[int]] = set()


@dataclass
class Source:
    """An opened recording to play, from byte ``start``. A finished file has no ``writing``.
    For the file being written, ``path`` is that file, ``writing()`` names the file the channel
    writes now (None: it writes none), and ``reopen(path)`` opens the next one the way the first
    was opened."""

    opened: Download
    start: int = 0
    path: Path | None = None
    writing: Callable[[], Path | None] | None = None
    reopen: Callable[[Path], Download | None] | None = None


async def first_live(
    find: Callable[[], Source | None], recording: Callable[[], bool], wait: float = NEXT_FILE_WAIT
) -> Source | None:
    """``find()``, looked at again every :data:`POLL` seconds for up to ``wait`` seconds while
    ``recording()`` holds: a channel between two files (one closed, the next not yet measured)
    is still live, so a play request then gets the next file, not a "not found"."""
    deadline = time.monotonic() + wait
    source = find()
    while source is None and recording() and time.monotonic() < deadline:
        await asyncio.sleep(POLL)
        source = find()
    return source


def live_start(size: int, bytes_per_second: float | None, ext: str, seconds: float = 6.0) -> int:
    """Where to start feeding a file being written: ``seconds`` before its end for MPEG-TS
    (aligned to its 188-byte packets; 2 MiB when the rate is unknown), else its start."""
    if ext != "ts":
        return 0
    back = int(bytes_per_second * seconds) if bytes_per_second else 2 << 20
    return max(0, size - back) // 188 * 188


def play_argv(ffmpeg: str, audio: str | None, live: bool = False) -> list[str]:
    """ffmpeg reading a recording on stdin and writing fragmented MP4 on stdout, copying; the
    audio (of codec ``audio``) kept if browsers play it, AAC from MPEG-TS turned from ADTS
    framing into MP4's (a filter that leaves AAC already framed for MP4 as it is). ``live``:
    the input may run on from one file into the next, whose timestamps start at 0 again; a
    jump of over a second is taken for that and evened out (``-dts_delta_threshold``)."""
    if audio in BROWSER_AUDIO:
        sound = ["-map", "0:a:0?", *(["-bsf:a", "aac_adtstoasc"] if audio == "aac" else [])]
    else:
        sound = ["-an"]
    return [
        ffmpeg, "-hide_banner", "-v", "error", "-analyzeduration", "1000000",
        *(["-dts_delta_threshold", "1"] if live else []), "-i", "pipe:0",
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
                *play_argv(ffmpeg, codec, live=source.writing is not None),
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
    """Copy the file into ffmpeg's stdin from ``start``: to its end, or while it grows and then
    on into the channel's next file (a thread: a blocked write ends when ffmpeg is killed, a poll
    when ``stop`` is set)."""
    offset = source.start
    try:
        while not stop.is_set():
            data = os.pread(source.opened.fd, CHUNK, offset)
            if data:
                offset += len(data)
                view = memoryview(data)
                while view:
                    view = view[os.write(pipe, view) :]
                continue
            now = source.writing() if source.writing is not None else None
            if now is not None and now == source.path:
                stop.wait(POLL)  # still being written: more comes
                continue
            if os.pread(source.opened.fd, 1, offset):  # written while it was being closed
                continue
            if not _next_file(source, now, stop):
                break
            offset = 0
    except OSError as exc:  # ffmpeg went away (the answer ended): nothing more to feed
        logger.debug("playback: ffmpeg stopped reading ({})", exc)
    finally:
        os.close(pipe)
        _close(source)


def _next_file(source: Source, now: Path | None, stop: threading.Event) -> bool:
    """Go on into the file the channel writes after the one just fed, when both are MPEG-TS
    (TS files joined are one stream; ffmpeg evens out the timestamps that restart at 0 in each,
    see :func:`play_argv`); False when there is none (the recording stopped) or the format
    cannot be joined. ffmpeg opens a file at its first packet: it is waited for a little."""
    if source.reopen is None or source.writing is None or source.path is None:
        return False
    deadline = time.monotonic() + NEXT_FILE_WAIT
    while now is not None and now.suffix == ".ts" == source.path.suffix and not stop.is_set():
        opened = source.reopen(now)
        if opened is not None:
            source.opened.close()
            source.opened, source.path = opened, now
            return True
        if time.monotonic() > deadline:
            break
        stop.wait(POLL)
        now = source.writing()
    return False


def _close(source: Source) -> None:
    source.opened.close()


def _kill(proc: asyncio.subprocess.Process) -> None:
    """Kill ``proc`` now (no await: the caller may be cancelled) and reap it in the background."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(RuntimeError):
            reaping = asyncio.ensure_future(proc.wait())
            _REAPING.add(reaping)
            reaping.add_done_callback(_REAPING.discard)
