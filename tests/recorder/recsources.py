"""Helpers for the recorder tests: local live sources besides HLS, and checks on recorded files.

The HLS source is the package's own ``streamrec.runtime.testsource.HlsTestSource``. Here: single-client
HTTP-TS and RTMP sources made with ffmpeg ``-listen 1`` (127.0.0.1 only), the playability check (ffmpeg
decodes the whole file), the contiguity check of segment times, and an event recorder.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from media import FFMPEG, playable

from streamrec.core.events import Event
from streamrec.runtime.recorder import Recorder
from streamrec.runtime.testsource import encoder_codec_args, encoder_input_args

MakeRecorder = Callable[..., Recorder]
"""Builds a recorder for a test (the ``make_recorder`` fixture)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ListenSource:
    """ffmpeg encoding test signals and serving them to one client: HTTP-TS or RTMP (``-listen 1``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port = free_port()
        if kind == "http":
            self.url = f"http://127.0.0.1:{self.port}/live.ts"
            out = ["-f", "mpegts", "-listen", "1", self.url]
        else:
            self.url = f"rtmp://127.0.0.1:{self.port}/live/stream"
            out = ["-f", "flv", "-listen", "1", self.url]
        argv = [FFMPEG, "-hide_banner", "-nostdin", "-v", "error",
                *encoder_input_args(), *encoder_codec_args(), *out]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_listening()

    def _wait_listening(self) -> None:
        """Wait for the LISTEN socket in /proc/net/tcp (a test connection would be its one client)."""
        needle = f":{self.port:04X} 00000000:0000 0A"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if needle in Path("/proc/net/tcp").read_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the {self.kind} source did not start listening")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def media_seconds(path: Path) -> float:
    """How many seconds of media a file holds (decoded by ffmpeg, read from its progress)."""
    done = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "null", "-",
         "-progress", "pipe:1"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    times = [line.split("=")[1] for line in done.stdout.decode().splitlines()
             if line.startswith("out_time_us=") and line.split("=")[1].isdigit()]  # fmt: skip
    return int(times[-1]) / 1e6 if times else 0.0


def ts(text: str) -> float:
    """Epoch seconds of an event time."""
    return datetime.fromisoformat(text).timestamp()


@dataclass
class Events:
    """Collects the records ``emit`` receives (the recorder's seam for the state log), each as
    its type and its fields as the log would hold them."""

    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, event: Event, /) -> None:
        self.items.append((event.type_name(), event.fields_json()))

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [f for t, f in self.items if t == type_]

    def types(self) -> list[str]:
        return [t for t, _ in self.items]


def assert_contiguous(events: Events, tolerance: float = 0.06) -> None:
    """Consecutive segments touch, or the space between them is a logged gap."""
    segments = sorted(events.of("recording.segment"), key=lambda s: ts(s["start"]))
    gaps = [(ts(g["start"]), ts(g["end"])) for g in events.of("recording.gap")]
    for before, after in itertools.pairwise(segments):
        hole = ts(after["start"]) - ts(before["end"])
        if hole <= tolerance:
            continue
        covered = any(
            g0 <= ts(before["end"]) + tolerance and g1 >= ts(after["start"]) - tolerance
            for g0, g1 in gaps
        )
        assert covered, f"{hole:.2f}s between {before['file']} and {after['file']} is no gap"
    for seg in segments:
        assert ts(seg["end"]) > ts(seg["start"])


def assert_all_playable(events: Events) -> None:
    """Every file a segment event names exists and ffmpeg decodes it without an error."""
    files = [Path(s["file"]) for s in events.of("recording.segment")]
    assert files, "no file was recorded"
    for path in files:
        assert path.exists(), path
        ok, said = playable(path)
        assert ok, f"{path} is not playable: {said}"


NGINX = Path("/usr/sbin/nginx")
RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")


class NginxRtmp:
    """Debian's nginx with libnginx-mod-rtmp on 127.0.0.1, and a restartable ffmpeg publisher."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        conf = directory / "nginx.conf"
        conf.write_text(
            f"load_module {RTMP_MODULE};\n"
            f"daemon off; master_process off; worker_processes 1;\n"
            f"pid {directory / 'nginx.pid'}; error_log {directory / 'error.log'};\n"
            "events {}\n"
            f"rtmp {{ server {{ listen 127.0.0.1:{self.port}; "
            "application live { live on; record off; } } }\n"
        )
        self.url = f"rtmp://127.0.0.1:{self.port}/live/stream"
        self.server = subprocess.Popen(
            [str(NGINX), "-p", str(directory), "-c", str(conf)], start_new_session=True
        )
        needle = f":{self.port:04X} 00000000:0000 0A"
        deadline = time.monotonic() + 10
        while needle not in Path("/proc/net/tcp").read_text():
            if time.monotonic() > deadline or self.server.poll() is not None:
                raise RuntimeError("nginx-rtmp did not start listening")
            time.sleep(0.05)
        self.publisher: subprocess.Popen[bytes] | None = None

    def publish(self) -> None:
        """Start (or restart) the ffmpeg publishing test signals to live/stream."""
        argv = [FFMPEG, "-hide_banner", "-nostdin", "-v", "error",
                *encoder_input_args(), *encoder_codec_args(), "-f", "flv", self.url]  # fmt: skip
        self.publisher = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)

    def unpublish(self) -> None:
        """The publisher goes away (killed)."""
        if self.publisher is not None:
            self.publisher.kill()
            self.publisher.wait()
            self.publisher = None

    def close(self) -> None:
        self.unpublish()
        self.server.kill()
        self.server.wait()
