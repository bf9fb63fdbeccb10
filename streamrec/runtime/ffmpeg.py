"""Finding ffmpeg and building the exact command line that records one channel.

Called by the recorder (``runtime.channelargv``, ``runtime.ffmpegrun``) before each start of ffmpeg, and by ``streamrec
doctor`` / ``streamrec channel command`` to show which ffmpeg is used and what it will run.

The command is an argument list, never shell text. Its parts:

- input options per protocol so that ffmpeg gives up on a dead source by itself, never hangs:
  ``-rw_timeout`` for HTTP/RTMP, ``-m3u8_hold_counters`` for HLS playlists, ``-timeout`` and TCP
  for RTSP; then the channel's ``input_args``;
- ``-live_start_index`` for HLS: where in the playlist to start (the recorder decides);
- ``-c copy`` into ffmpeg's segment muxer, always (``segment: none`` is one very long segment), with
  ``-reset_timestamps 1`` so each file starts at 0 and plays on its own;
- the segment list as CSV on a passed file descriptor (``-segment_list pipe:N``): one line the
  moment each file is closed; ``-progress pipe:M -stats_period 1`` for stall detection;
- the container per ``format``: ``ts`` (mpegts), ``mkv`` (matroska) or ``mp4`` written fragmented
  (``frag_keyframe+empty_moov``, with ``aac_adtstoasc``), so the file being written always plays;
  each packet is written through at once (``flush_packets=1`` for the inner muxer; the segment
  muxer takes no ``-flush_packets`` of its own), so the file's size, a live thumbnail and live
  playback follow the stream within a second, not 256 KiB later;
- the channel's ``output_args`` last, so they can override ours;
- the output: a pattern of *partial* names ``<run>_%06d.<ext>`` in the channel's partial directory;
  the recorder renames each closed file to its templated name (``core.filenames``).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from streamrec.errors import RecorderError
from streamrec.spec.model import ChannelOptions

SEGMENT_FORMATS = {"ts": "mpegts", "mkv": "matroska", "mp4": "mp4"}
NO_SEGMENTS = 10 * 365 * 86400
"""The segment length used for ``segment: none``: one file per ffmpeg run."""
HLS_HOLD_COUNTERS = 1000
"""Playlist reloads without a new segment before ffmpeg gives up: a safety net only (500 target
durations). A low count races a frozen source coming back: ffmpeg gives up as it opens the first
new segment and flushes that segment's first 32 KiB as a cut-short packet. The recorder decides
instead (``stall_timeout``, and a look at the playlist when ffmpeg stops following it)."""


@dataclass(frozen=True)
class FfmpegInfo:
    """Which ffmpeg is used, found where, and its version line."""

    path: str
    found_in: str
    version: str


def find_ffmpeg(
    setting: str | None, which: Callable[[str], str | None] = shutil.which
) -> FfmpegInfo:
    """``settings.ffmpeg``, else ``ffmpeg`` on PATH, else the imageio-ffmpeg wheel's binary."""
    if setting:
        found = which(setting) if "/" not in setting else setting
        if not found or not Path(found).exists():
            raise RecorderError(f"settings.ffmpeg is {setting!r}, which does not exist")
        return FfmpegInfo(found, "settings.ffmpeg", ffmpeg_version(found))
    on_path = which("ffmpeg")
    if on_path:
        return FfmpegInfo(on_path, "PATH", ffmpeg_version(on_path))
    try:
        import imageio_ffmpeg

        wheel = str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise RecorderError(
            "no ffmpeg: set settings.ffmpeg, put ffmpeg on PATH, or pip install imageio-ffmpeg "
            f"({exc})"
        ) from None
    return FfmpegInfo(wheel, "imageio-ffmpeg", ffmpeg_version(wheel))


def ffmpeg_version(path: str) -> str:
    """The first line of ``ffmpeg -version`` (``ffmpeg version 7.1 ...``)."""
    try:
        done = subprocess.run(
            [path, "-hide_banner", "-version"], capture_output=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RecorderError(f"cannot run {path}: {exc}") from None
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if done.returncode != 0 or not lines:
        raise RecorderError(f"{path} -version failed (exit code {done.returncode})")
    return lines[0].strip()


def is_hls(url: str) -> bool:
    """Whether a URL names an HLS playlist."""
    return urlsplit(url).path.lower().endswith((".m3u8", ".m3u"))


def input_options(url: str, timeout: float) -> list[str]:
    """Options that make ffmpeg give up on a dead source by itself, per protocol."""
    micros = str(int(max(1.0, timeout) * 1_000_000))
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        options = ["-rw_timeout", micros]
        if is_hls(url):
            options += ["-m3u8_hold_counters", str(HLS_HOLD_COUNTERS)]
        return options
    if scheme.startswith("rtmp"):
        return ["-rw_timeout", micros]
    if scheme in ("rtsp", "rtsps"):
        return ["-rtsp_transport", "tcp", "-timeout", micros]
    if scheme in ("srt", "udp", "rtp"):
        return ["-timeout", micros]
    return []


def output_options(options: ChannelOptions) -> list[str]:
    """Codec copy, container and segmenting for a channel's format and segment length."""
    args = ["-c", "copy"]
    if options.format == "mp4":
        args += ["-bsf:a", "aac_adtstoasc"]
    args += ["-f", "segment", "-segment_format", SEGMENT_FORMATS[options.format]]
    inner = "flush_packets=1"  # each packet reaches the file at once: the growing file is live
    if options.format == "mp4":
        inner = "movflags=+frag_keyframe+empty_moov+default_base_moof:" + inner
    args += ["-segment_format_options", inner]
    length = options.segment if options.segment is not None else NO_SEGMENTS
    args += ["-segment_time", f"{length:g}", "-reset_timestamps", "1"]
    return args


def build_command(
    ffmpeg: str,
    options: ChannelOptions,
    url: str,
    output_pattern: str,
    *,
    segment_list_fd: int | str,
    progress_fd: int | str,
    live_start_index: int | None = None,
) -> list[str]:
    """The full argument list: ffmpeg reads ``url`` and writes files named ``output_pattern``.

    ``output_pattern`` contains ``%06d`` for the file number; a ``%`` elsewhere in it must be
    written ``%%`` (see :func:`escape_pattern`). ``live_start_index`` (HLS only) is the listed
    segment to start at, 0 the oldest, negative from the newest (ffmpeg's default is -3): the
    recorder starts right after the last segment it recorded (``core.reconnecting``). ffmpeg logs
    at ``info`` with level tags, so each segment it opens ("Opening '...' for reading") is seen;
    ``runtime.child`` keeps only warnings and errors as the reason a run ended.
    """
    return [
        ffmpeg, "-hide_banner", "-nostats", "-loglevel", "level+info", "-n",
        *input_options(url, options.stall_timeout),
        *(["-live_start_index", str(live_start_index)]
          if live_start_index is not None and is_hls(url) else []),
        *options.input_args,
        "-i", url,
        *output_options(options),
        "-segment_list", f"pipe:{segment_list_fd}", "-segment_list_type", "csv",
        "-progress", f"pipe:{progress_fd}", "-stats_period", "1",
        *options.output_args,
        output_pattern,
    ]  # fmt: skip


def backfill_command(
    ffmpeg: str, options: ChannelOptions, uris: list[str], output: str
) -> list[str]:
    """One short ffmpeg that copies the listed HLS segments ``uris`` (in order) into ``output``.

    Used when a run's first segment is later than the one it was started at: the playlist moved
    on while ffmpeg started, and the segments it skipped are fetched by their URIs (a server keeps
    a segment available for a while after it leaves the playlist, RFC 8216 6.2.2). MPEG-TS
    segments joined byte by byte are one stream (the ``concat`` protocol).
    """
    fmt = options.format
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-n",
        "-protocol_whitelist", "concat,http,https,tcp,tls,crypto",
        *input_options(uris[0], options.stall_timeout)[:2], *options.input_args,
        "-i", "concat:" + "|".join(uris),
        "-c", "copy", *(["-bsf:a", "aac_adtstoasc"] if fmt == "mp4" else []),
        *(["-movflags", "+frag_keyframe+empty_moov+default_base_moof"] if fmt == "mp4" else []),
        "-f", SEGMENT_FORMATS[fmt], output,
    ]  # fmt: skip


async def run_to_end(argv: list[str]) -> bool:
    """Run a short ffmpeg to its end (at most 2 minutes); whether it succeeded."""
    return await _run(argv) is not None


def escape_pattern(text: str) -> str:
    """``text`` safe to put into an ffmpeg output pattern (``%`` doubled)."""
    return text.replace("%", "%%")


async def repair_truncated(ffmpeg: str, path: Path, fmt: str) -> float | None:
    """Rewrite a file cut short by a kill without its last (incomplete) video frame.

    A SIGKILLed ffmpeg leaves a file that plays but whose last frame is cut mid-packet, which
    decoders report as an error. Two short ``-c copy`` passes over the file: count its video frames
    and media time, then copy all but the last frame. Returns the media seconds the file holds
    afterwards (a crash-recovered file is timed by it), or None if the file could not be read; a
    file without video, or with one frame, is left alone.
    """
    counted = await _run([ffmpeg, "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
                          "-f", "null", "-", "-progress", "pipe:1"])  # fmt: skip
    if counted is None:
        return None
    values = dict(line.split("=", 1) for line in counted.splitlines() if "=" in line)
    frames, micros = values.get("frame", ""), values.get("out_time_us", "")
    seconds = int(micros) / 1_000_000 if micros.isdigit() else None
    if not frames.isdigit() or int(frames) < 2:
        return seconds
    if not await _rewrite(ffmpeg, path, fmt, ["-frames:v", str(int(frames) - 1)]):
        return seconds
    return None if seconds is None else seconds * (int(frames) - 1) / int(frames)


async def trim_to(ffmpeg: str, path: Path, fmt: str, seconds: float) -> bool:
    """Rewrite a file keeping only its first ``seconds`` of media (less one frame's worth).

    Used on the last file of a stalled run: when an RTMP publisher restarts on the same
    connection, ffmpeg writes the new media with clamped timestamps (all at the stall point)
    until it is stopped; they are exactly the packets past the file's reported duration.
    """
    if seconds <= 0.1:
        return False
    return await _rewrite(ffmpeg, path, fmt, ["-t", f"{seconds - 0.04:.3f}"])


async def _rewrite(ffmpeg: str, path: Path, fmt: str, limit: list[str]) -> bool:
    """Copy ``path`` through ffmpeg with an output ``limit``, replacing it on success."""
    fixed = path.with_name(f"{path.stem}.repair{path.suffix}")
    movflags = ["-movflags", "+frag_keyframe+empty_moov+default_base_moof"] if fmt == "mp4" else []
    copied = await _run([ffmpeg, "-v", "error", "-y", "-i", str(path), "-map", "0", "-c", "copy",
                         *limit, *movflags, "-f", SEGMENT_FORMATS[fmt], str(fixed)])  # fmt: skip
    if copied is None or not fixed.exists() or fixed.stat().st_size == 0:
        fixed.unlink(missing_ok=True)
        return False
    fixed.replace(path)
    return True


async def _run(argv: list[str]) -> str | None:
    """Run a short ffmpeg to the end; its stdout, or None if it failed."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    return out.decode("utf-8", "replace") if proc.returncode == 0 else None
