"""Live means live: a real daemon records testsrc:// with real ffmpeg, and the API shows the file
being written (name, bytes, bitrate, media time), its thumbnail and its picture before any file
closed; finished files play and download with byte ranges; /metrics passes promtool."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webkit import FFMPEG, Served, finish, serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

CONFIG = """
    channels:
      long:
        url: testsrc://live-api?size=322x182
        segment: 10m
        stall_timeout: 20s
      short:
        url: testsrc://live-api?size=322x182
        segment: 2s
        stall_timeout: 20s
    """
TEMPORARY = re.compile(r"^\d+_\d{6}\.\w+$")
"""ffmpeg's temporary name of a partial file: never what the API shows."""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = serve(tmp_path_factory.mktemp("live"), CONFIG, token=None)
    yield served
    finish(served)


def channel(served: Served, name: str) -> dict[str, Any]:
    """The status entry of channel ``name``; empty until the daemon's first reconcile lists it."""
    entry: dict[str, Any] = served.get("/api/status").json().get("channels", {}).get(name, {})
    return entry


def until(check: Any, timeout: float = 40.0, step: float = 0.25) -> Any:
    """The first truthy value of ``check()`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(step)
    raise AssertionError(f"not within {timeout}s")


def live_reading(served: Served) -> dict[str, Any] | None:
    entry = channel(served, "long")
    reading = entry.get("live")
    return reading if reading and reading["bytes"] > 0 else None


def long_closed(served: Served) -> bool:
    return any(
        e["type"] == "recording.segment" and e.get("channel") == "long"
        for e in served.daemon.events()
    )


def media_info(data: bytes, tmp_path: Path) -> str:
    """What ffmpeg says of ``data`` as an input (format and streams)."""
    path = tmp_path / "probe.bin"
    path.write_bytes(data)
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True, check=False
    )
    return done.stderr


def play_children(served: Served) -> list[int]:
    """Pids of the daemon's playback ffmpegs (fragmented MP4 to stdout) that still run."""
    assert served.daemon.proc is not None
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        zombie = stat.rsplit(")", 1)[1].split()[0] == "Z"
        if ppid == served.daemon.proc.pid and b"empty_moov" in b" ".join(cmdline) and not zombie:
            found.append(int(entry.name))
    return found


def test_status_shows_the_file_being_written_growing_under_its_final_name(live: Served) -> None:
    """Within seconds, before the 10-minute file closes: bytes and media time grow, a bitrate
    is measured, and the name is the templated one, not ffmpeg's."""
    first = until(lambda: live_reading(live))
    second = until(
        lambda: (
            (r := live_reading(live))
            and r["updated"] != first["updated"]
            and r["bytes"] > first["bytes"]
            and r
        )
    )
    assert second["media_seconds"] > first["media_seconds"] > 0
    assert until(lambda: (r := live_reading(live)) and r["bitrate_bps"]) > 0
    assert not TEMPORARY.match(second["name"]) and ".partial" not in second["file"]
    assert second["name"].startswith("long_") and second["file"].endswith(second["name"])
    entry = channel(live, "long")
    assert entry["file"] == entry["live"]["file"], "the card's file is the final name too"
    assert entry["thumbnail_version"]
    assert not long_closed(live)


def test_the_thumbnail_is_of_the_file_being_written(live: Served) -> None:
    """A JPEG of the current recording before any file of the channel closed; the version for
    cache-busting is the one the status gives."""
    until(lambda: live_reading(live))
    response = until(
        lambda: (r := live.get("/api/channels/long/thumbnail")).status_code == 200 and r
    )
    assert response.content[:2] == b"\xff\xd8"
    assert not long_closed(live)
    version = channel(live, "long")["thumbnail_version"]
    cached = live.get("/api/channels/long/thumbnail", v=version)
    assert cached.status_code == 200 and cached.content[:2] == b"\xff\xd8"

    # while it records, a newer frame replaces it (at most about every 10 s)
    # (a new version may show the same keyframe while the file has not grown past the next one
    # on a loaded host: wait for a version whose picture differs)
    def newer_frame() -> Any:
        newer = channel(live, "long")["thumbnail_version"]
        if newer == version:
            return None
        later = live.get("/api/channels/long/thumbnail", v=newer)
        return later.status_code == 200 and later.content != cached.content and later

    try:
        later = until(newer_frame, timeout=60)
    except AssertionError:
        raise AssertionError("the thumbnail should show a newer frame") from None
    assert later.content[:2] == b"\xff\xd8"
    assert not long_closed(live)


def test_live_play_is_fragmented_mp4_and_its_ffmpeg_ends_with_the_client(
    live: Served, tmp_path: Path
) -> None:
    """``/api/channels/long/play`` streams MP4 with video from the growing file; when the client
    goes away, no ffmpeg of it is left running."""
    until(lambda: live_reading(live))
    received, running = b"", []
    with live.http.stream("GET", "/api/channels/long/play", timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "video/mp4"
        for chunk in response.iter_bytes():
            received += chunk
            if len(received) > 150_000:
                running = play_children(live)
                break
    assert running, "the playback ffmpeg should run while the client reads"
    info = media_info(received, tmp_path)
    assert "Input #0, mov,mp4" in info and "Video: h264" in info, info
    until(lambda: not play_children(live), timeout=15)
    assert live.get("/api/channels/nope/play").status_code == 404


def complete_fragments(data: bytes) -> bytes:
    """``data`` up to the end of its last complete fragment (a stream cut off mid-fragment):
    top-level MP4 boxes, cut after the last whole ``mdat``."""
    at, end = 0, 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        if size < 8 or at + size > len(data):
            break
        at += size
        if data[at - size + 4 : at - size + 8] == b"mdat":
            end = at
    return data[:end]


def short_segments(served: Served) -> int:
    return sum(
        1
        for e in served.daemon.events()
        if e["type"] == "recording.segment" and e.get("channel") == "short"
    )


def test_live_play_goes_on_into_the_next_file(live: Served, tmp_path: Path) -> None:
    """Watching the 2-second channel: the answer does not end when its file closes; it goes on
    into the next files as one stream that ffmpeg reads without an error."""
    until(lambda: channel(live, "short").get("live"))
    before, received, ended = short_segments(live), b"", True
    with live.http.stream("GET", "/api/channels/short/play", timeout=30) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += chunk
            if short_segments(live) >= before + 2:
                ended = False
                break
    assert not ended, "the live answer ended when the file being written was closed"
    path = tmp_path / "across.mp4"
    path.write_bytes(complete_fragments(received))
    done = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    assert "Video: h264" in media_info(received, tmp_path)
    until(lambda: not play_children(live), timeout=15)


def test_finished_files_play_download_with_ranges_and_nothing_else_is_served(
    live: Served, tmp_path: Path
) -> None:
    """A finished file of the short channel: listed with play and download URLs, played as MP4,
    downloaded whole or by range (206, 416); a path outside the log is 404 on both."""
    listed = until(
        lambda: live.get("/api/recordings", channel="short").json()["channels"].get("short")
    )
    item = listed[-1]
    data = Path(item["file"]).read_bytes()
    assert item["play"].startswith("/api/recordings/play?file=")
    assert item["download"].startswith("/api/recordings/download?file=")

    whole = live.http.get(item["download"])
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    part = live.http.get(item["download"], headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    tail = live.http.get(item["download"], headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]
    beyond = live.http.get(item["download"], headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"

    played = live.http.get(item["play"], timeout=60)
    assert played.status_code == 200 and played.headers["content-type"] == "video/mp4"
    info = media_info(played.content, tmp_path)
    assert "Input #0, mov,mp4" in info and "Video: h264" in info and "Audio: aac" in info, info
    until(lambda: not play_children(live), timeout=15)

    recordings = Path(item["file"]).parent
    outside = tmp_path / "outside.ts"
    outside.write_bytes(data)
    for file in (
        str(outside),
        str(recordings / ".." / ".." / "config" / "config.yaml"),
        str(recordings / "not-listed.ts"),
        "../../state/events.jsonl",
    ):
        for route in ("/api/recordings/play", "/api/recordings/download"):
            assert live.get(route, file=file).status_code == 404, (route, file)


def test_metrics_show_the_live_file_and_pass_promtool(live: Served) -> None:
    """The live gauges of a recording channel are there, in base units, and promtool finds
    nothing to complain about in the whole scrape."""
    until(lambda: (r := live_reading(live)) and r["bitrate_bps"])
    text = until(
        lambda: (
            "streamrec_channel_live_bitrate_bytes_per_second{" in (t := live.get("/metrics").text)
            and t
        )
    )
    assert re.search(r'^streamrec_channel_live_bytes\{channel="long"\} [1-9]', text, re.M)
    assert re.search(
        r'^streamrec_channel_live_media_seconds\{channel="long"\} [0-9.e+]+$', text, re.M
    )
    assert "bits_per_second" not in text
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), (
        done.stdout + done.stderr
    )


def test_streamrec_status_shows_the_live_file(live: Served) -> None:
    """``streamrec status`` names the live file by its final name, with its size and rate."""
    reading = until(lambda: (r := live_reading(live)) and r["bitrate_bps"] and r)
    shown = live.daemon.cli("status", "-o", "wide").stdout
    line = next(line for line in shown.splitlines() if line.lstrip("│ ").startswith("long"))
    assert reading["name"] in line.replace("…", "") or reading["name"][:20] in line
    assert "kb/s" in line


def test_the_live_name_is_the_name_the_file_gets(live: Served) -> None:
    """Stopping the daemon finishes the 10-minute file: under the very name the API showed."""
    shown = until(lambda: live_reading(live))["file"]
    live.daemon.stop()
    finished = [
        e["file"]
        for e in live.daemon.events()
        if e["type"] == "recording.segment" and e.get("channel") == "long"
    ]
    assert finished == [shown]
