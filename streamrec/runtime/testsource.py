"""A built-in local live source: ffmpeg encodes lavfi test signals to HLS, served on 127.0.0.1.

Used by ``streamrec demo``, by the recorder tests and by ``bench/bench_recorder.py``. It is a real
live stream (ffmpeg ``-re``, a rolling playlist without ``#EXT-X-ENDLIST``), served by a stdlib
``http.server`` thread, and it can misbehave on cue the way real origins do:

- :meth:`HlsTestSource.stop` — the encoder stops and the playlist answers 404 (the stream is down);
- :meth:`HlsTestSource.start` again — the stream comes back, continuing its media sequence, or
  restarting it at 0 (``reset_sequence=True``), as an encoder restart often does;
- :meth:`HlsTestSource.freeze` / :meth:`thaw` — SIGSTOP/SIGCONT the encoder: the playlist goes
  stale but is still served;
- :meth:`HlsTestSource.end` — the encoder finishes and the playlist gets ``#EXT-X-ENDLIST``;
- :meth:`HlsTestSource.http_down` / :meth:`http_up` — the HTTP server goes away (connections are
  refused) while the encoder goes on publishing, then comes back on the same port.

For measuring what a recorder lost by frame identity (``bench/bench_recorder.py fidelity`` and
``tests/recorder/test_fidelity.py``), ``noise=True`` adds per-frame noise with a fresh seed at each
start (so every video packet ever published is distinct) and ``keep_segments=True`` keeps every
segment on disk, named per start (``seg_<start>_<n>.ts``, so a sequence reset overwrites nothing).
:func:`packet_hashes` lists the video packets of a file by content (ffmpeg's ``framemd5``) and
:meth:`HlsTestSource.published` those of every segment the source published, and
:func:`frame_coverage` compares the two.

Nothing here listens anywhere but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamrec.errors import RecorderError

PLAYLIST = "live.m3u8"


def encoder_input_args(size: str = "320x180", rate: int = 25) -> list[str]:
    """The lavfi test signals every local source encodes: a moving picture and a tone."""
    return [
        "-re",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
    ]  # fmt: skip


def noise_filter(seed: int) -> list[str]:
    """Per-frame noise from ``seed``: no two frames of any two starts encode to the same packet."""
    return ["-vf", f"noise=alls=40:allf=t:all_seed={seed}"]


def encoder_codec_args(rate: int = 25) -> list[str]:
    """Cheap H.264 + AAC with a keyframe every second, so 1 s segments cut exactly."""
    return [
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-g", str(rate), "-keyint_min", str(rate), "-sc_threshold", "0",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
    ]  # fmt: skip


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the HLS directory; the playlist answers 404 while the source is down."""

    source: HlsTestSource

    def do_GET(self) -> None:
        if self.path.lstrip("/").split("?")[0] == PLAYLIST and not self.source.serving:
            self.send_error(404, "stream offline")
            return
        super().do_GET()

    def handle(self) -> None:
        """A client that hangs up mid-answer (a recorder stopped) is not an error."""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a request log line per segment would drown the test output."""


class HlsTestSource:
    """A restartable, freezable live HLS stream on ``http://127.0.0.1:PORT/live.m3u8``."""

    def __init__(
        self,
        ffmpeg: str,
        directory: Path | None = None,
        *,
        segment_time: float = 1.0,
        list_size: int = 6,
        size: str = "320x180",
        noise: bool = False,
        keep_segments: bool = False,
    ) -> None:
        self.ffmpeg = ffmpeg
        self._own_dir = directory is None
        self.directory = (
            Path(tempfile.mkdtemp(prefix="streamrec-src-")) if directory is None else directory
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_time = segment_time
        self.list_size = list_size
        self.size = size
        self.noise = noise
        self.keep_segments = keep_segments
        self.serving = False
        self._starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._next_seq = 0
        self._port = 0
        self._serve()
        self._port = int(self._server.server_address[1])

    def _serve(self) -> None:
        handler = type("Handler", (_Handler,), {"source": self})
        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", self._port), functools.partial(handler, directory=str(self.directory))
        )
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="hls-test-source", daemon=True
        )
        self._thread.start()
        self._http_up = True

    def http_down(self) -> None:
        """The HTTP server goes away (connections refused); the encoder keeps publishing."""
        if self._http_up:
            self._http_up = False
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)

    def http_up(self) -> None:
        """The HTTP server comes back on the same port."""
        if not self._http_up:
            self._serve()

    @property
    def port(self) -> int:
        """The TCP port the HTTP server listens on (127.0.0.1)."""
        return self._port

    @property
    def url(self) -> str:
        """The playlist URL."""
        return f"http://127.0.0.1:{self.port}/{PLAYLIST}"

    @property
    def running(self) -> bool:
        """Whether the encoder process is alive (frozen counts as alive)."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, *, reset_sequence: bool = False, wait: float = 15.0) -> None:
        """Start the encoder and serve the playlist once its first segments exist."""
        if self.running:
            return
        if reset_sequence:
            self._next_seq = 0
        playlist = self.directory / PLAYLIST
        playlist.unlink(missing_ok=True)
        self._starts += 1
        flags = "omit_endlist+temp_file" + ("" if self.keep_segments else "+delete_segments")
        name = f"seg_{self._starts}_%d.ts" if self.keep_segments else "seg_%d.ts"
        noise = noise_filter(int.from_bytes(os.urandom(4), "big") >> 2) if self.noise else []
        argv = [
            self.ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
            *encoder_input_args(self.size), *noise, *encoder_codec_args(),
            "-f", "hls", "-hls_time", str(self.segment_time),
            "-hls_list_size", str(self.list_size),
            "-hls_flags", flags,
            "-start_number", str(self._next_seq),
            "-hls_segment_filename", str(self.directory / name),
            str(playlist),
        ]  # fmt: skip
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self._segments_listed() >= 1:
                self.serving = True
                return
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RecorderError("the local test source did not produce a playlist in time")

    def _segments_listed(self) -> int:
        try:
            text = (self.directory / PLAYLIST).read_text()
        except OSError:
            return 0
        return text.count("#EXTINF")

    def _remember_sequence(self) -> None:
        """Where the media sequence goes on after a restart (the playlist's last number + 1)."""
        try:
            text = (self.directory / PLAYLIST).read_text()
        except OSError:
            return
        match = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)
        if match:
            self._next_seq = int(match.group(1)) + text.count("#EXTINF")

    def stop(self) -> None:
        """The stream goes down: the encoder is killed and the playlist answers 404."""
        self.serving = False
        if self._proc is not None:
            if self._proc.poll() is None:
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
            self._proc = None
        self._remember_sequence()

    def freeze(self) -> None:
        """The encoder hangs (SIGSTOP): the playlist is still served but stops moving."""
        if self._proc is not None:
            os.killpg(self._proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """The hung encoder resumes (SIGCONT)."""
        if self._proc is not None:
            os.killpg(self._proc.pid, signal.SIGCONT)

    def end(self) -> None:
        """The stream ends for good: the encoder stops and the playlist gets #EXT-X-ENDLIST."""
        if self._proc is not None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
            self._proc = None
        playlist = self.directory / PLAYLIST
        text = playlist.read_text()
        if "#EXT-X-ENDLIST" not in text:
            tmp = playlist.with_suffix(".tmp")
            tmp.write_text(text.rstrip("\n") + "\n#EXT-X-ENDLIST\n")
            tmp.replace(playlist)

    def between_segments(self) -> None:
        """Wait until half a segment after the latest one was published (outages start there,
        so none starts in the instant a segment appears)."""
        try:
            latest = (self.directory / PLAYLIST).stat().st_mtime
        except OSError:
            return
        moment = latest + self.segment_time / 2
        while moment < time.time():
            moment += self.segment_time
        time.sleep(moment - time.time())

    def published(self, since: float = 0.0) -> list[PublishedSegment]:
        """Every kept segment finished at or after ``since`` (epoch seconds), in publishing order.

        Needs ``keep_segments=True``; a segment counts as published once it has its final name
        (the encoder writes ``.tmp`` first), which is when the playlist lists it.
        """
        found = []
        for path in self.directory.glob("seg_*_*.ts"):
            start, number = (int(part) for part in path.stem.split("_")[1:3])
            mtime = path.stat().st_mtime
            if mtime >= since:
                found.append(((start, number), PublishedSegment(path, mtime, ())))
        found.sort(key=lambda item: item[0])
        return [
            PublishedSegment(seg.path, seg.mtime, tuple(packet_hashes(self.ffmpeg, seg.path)))
            for _, seg in found
        ]

    def close(self) -> None:
        """Stop everything and remove the directory if this source made it."""
        self.stop()
        self.http_down()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> HlsTestSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class PublishedSegment:
    """One segment the source published: its file, when it was finished, its video packets."""

    path: Path
    mtime: float
    packets: tuple[str, ...]


def packet_hashes(ffmpeg: str, path: Path) -> list[str]:
    """The MD5 of each video packet in ``path``, in order (``-c copy -f framemd5``: no decoding)."""
    done = subprocess.run(
        [ffmpeg, "-v", "quiet", "-i", str(path), "-map", "0:v:0", "-c", "copy",
         "-f", "framemd5", "-"],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    hashes = []
    for line in done.stdout.decode("ascii", "replace").splitlines():
        if line and not line.startswith("#"):
            fields = line.split(",")  # stream, dts, pts, duration, size, hash[, side data]
            if len(fields) >= 6:
                hashes.append(fields[5].strip())
    return hashes


@dataclass(frozen=True)
class Coverage:
    """What a recorder kept of what the source published, by frame identity."""

    published: int
    found: int
    duplicated: int  # recorded packets that are a copy of another recorded packet
    foreign: int  # distinct recorded packets the source never published
    gaps: tuple[float, ...]  # per outage: the longest run of missing published packets, seconds

    @property
    def ratio(self) -> float:
        """Distinct published packets found on disk over published packets."""
        return self.found / self.published if self.published else 0.0


def frame_coverage(
    published: Sequence[PublishedSegment],
    recorded: Sequence[str],
    outages: Sequence[tuple[float, float]],
    since: float,
    until: float = float("inf"),
    fps: int = 25,
) -> Coverage:
    """Compare a recorder's packets with the segments published from ``since`` to ``until``.

    ``outages`` are (start, end) epoch seconds; the gap of one is the longest run of published
    packets missing on disk among the segments finished from 5 s before it to 5 s before the
    next one.
    """
    every = {h for seg in published for h in seg.packets}
    have = set(recorded)
    timeline = [
        (seg.mtime, h) for seg in published if since <= seg.mtime < until for h in seg.packets
    ]
    found = sum(1 for _, h in timeline if h in have)
    gaps = []
    for index, (start, _) in enumerate(outages):
        low = start - 5.0
        high = outages[index + 1][0] - 5.0 if index + 1 < len(outages) else float("inf")
        longest = run = 0
        for mtime, packet in timeline:
            if not low <= mtime < high or packet in have:
                run = 0
                continue
            run += 1
            longest = max(longest, run)
        gaps.append(longest / fps)
    return Coverage(len(timeline), found, len(recorded) - len(have), len(have - every), tuple(gaps))
