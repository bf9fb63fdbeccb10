"""Faults around the recorder itself: killed processes, stubborn ffmpeg, hostile names, secrets, disk."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from loguru import logger

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "daemon"))
from daemonkit import alive  # found through the path set above
from recsources import (
    FFMPEG,
    Events,
    MakeRecorder,
    assert_all_playable,
    assert_contiguous,
    media_seconds,
    playable,
    ts,
)

from streamrec.runtime.storage import Storage
from streamrec.runtime.testsource import HlsTestSource

HERE = Path(__file__).parent


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every log line (DEBUG and up) written while the test runs."""
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    yield lines
    logger.remove(sink)


RECORD_SCRIPT = """
import asyncio, json, sys
from pathlib import Path
from streamrec.runtime.recorder import Recorder
from streamrec.runtime.storage import Storage
from streamrec.spec.model import Channel
url, out, log = sys.argv[1], Path(sys.argv[2]), open(sys.argv[3], "a")
def emit(event):
    log.write(json.dumps({"type": event.type_name(), **event.fields_json()}) + "\\n"); log.flush()
channel = Channel(url=url, segment="30s")
storage = Storage(out, min_free_space=0, emit=emit)
recorder = Recorder("killed", channel, recordings_dir=out, ffmpeg=sys.argv[4], emit=emit,
                    storage=storage)
asyncio.run(recorder.run())
"""


@pytest.mark.slow
async def test_a_sigkilled_recorder_leaves_a_playable_file_that_the_next_run_finishes(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, recordings: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """SIGKILL on streamrec: ffmpeg follows (parent-death signal), the file plays, and is finished."""
    log = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", RECORD_SCRIPT, hls.url, str(recordings), str(log), FFMPEG]
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "recording.started" not in (
            log.read_text() if log.exists() else ""
        ):
            await asyncio.sleep(0.1)
        await asyncio.sleep(3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    started = json.loads(log.read_text().splitlines()[0])
    assert started["type"] == "recording.started"
    for _ in range(50):
        if not alive(started["pid"]):
            break
        await asyncio.sleep(0.1)
    assert not alive(started["pid"]), "ffmpeg outlived the killed recorder"
    partial = Path(started["file"])
    assert partial.exists(), "the file being written is gone"
    # Straight after the kill the file plays to its end (at most its last frame is cut short) ...
    assert media_seconds(partial) > 1.5, playable(partial)
    recorder = make_recorder(hls.url, name="killed", segment="30s")
    await recorder.run(duration=3)
    # ... and the next run finishes it: repaired (no cut frame), renamed, logged.
    recovered = [s for s in events.of("recording.segment") if s.get("recovered")]
    assert len(recovered) == 1 and not partial.exists()
    assert_all_playable(events)


@pytest.mark.slow
async def test_a_crash_recovered_file_is_timed_by_the_media_it_holds(
    make_recorder: MakeRecorder, events: Events, tmp_path: Path
) -> None:
    """A partial file left after its run's earlier files were finished ends at its last write and
    starts as much media before it as it holds, not at its run's start."""
    recorder = make_recorder("http://127.0.0.1:9/live.m3u8", name="crashed")
    recorder.partial_dir.mkdir(parents=True)
    written = time.time()
    partial = recorder.partial_dir / f"{int((written - 20) * 1000)}_000003.ts"
    subprocess.run(
        [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-t", "1.2",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "mpegts", str(partial)],
        check=True, timeout=60,
    )  # fmt: skip
    os.utime(partial, (written, written))
    await recorder.finisher.recover_orphans()
    (segment,) = events.of("recording.segment")
    assert segment["recovered"] and 1.0 <= segment["duration"] <= 1.3, segment
    assert abs(ts(segment["end"]) - written) < 0.01, segment


@pytest.mark.slow
async def test_a_sigkilled_ffmpeg_leaves_a_playable_file_and_is_restarted(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events
) -> None:
    """SIGKILL on ffmpeg: its last file is finished from the progress seen, then it starts again."""
    recorder = make_recorder(hls.url, segment="30s")
    task = asyncio.create_task(recorder.run(duration=9))
    while not events.of("recording.started"):
        await asyncio.sleep(0.1)
    await asyncio.sleep(3)
    os.kill(events.of("recording.started")[0]["pid"], signal.SIGKILL)
    await task
    assert len(events.of("recording.started")) == 2
    assert len(events.of("recording.segment")) == 2
    assert_all_playable(events)
    assert_contiguous(events)


async def test_a_stubborn_ffmpeg_is_stopped_by_the_whole_ladder(
    make_recorder: MakeRecorder, events: Events, log_lines: list[str]
) -> None:
    """An ffmpeg ignoring q and SIGINT gets q, SIGINT, SIGINT, then SIGKILL, each step logged."""

    def command(url: str, pattern: str, seg_fd: int, prog_fd: int) -> list[str]:
        return [sys.executable, str(HERE / "fake_ffmpeg.py"), str(prog_fd), "stubborn"]

    recorder = make_recorder("http://127.0.0.1:9/x.ts", command=command, stop_step=0.3)
    task = asyncio.create_task(recorder.run())
    while not events.of("recording.started"):
        await asyncio.sleep(0.05)
    began = time.monotonic()
    recorder.stop("test over")
    assert await asyncio.wait_for(task, 10) == "test over"
    assert 0.8 < time.monotonic() - began < 3
    text = "\n".join(log_lines)
    for step in ("with q", "ignored q", "with SIGINT", "ignored SIGINT", "second SIGINT",
                 "killing it (SIGKILL)"):  # fmt: skip
        assert step in text
    assert not alive(events.of("recording.started")[0]["pid"])


async def test_an_ffmpeg_that_never_starts_producing_is_a_stall(
    make_recorder: MakeRecorder, events: Events
) -> None:
    """No progress within the start-up grace: stalled, stopped, and tried again with backoff."""

    def command(url: str, pattern: str, seg_fd: int, prog_fd: int) -> list[str]:
        return [sys.executable, str(HERE / "fake_ffmpeg.py"), str(prog_fd), "silent"]

    recorder = make_recorder(
        "http://127.0.0.1:9/x.ts", command=command, startup_grace=0.6, stop_step=0.2
    )
    reason = await recorder.run(duration=3)
    assert reason == "duration reached"
    stalls = events.of("recording.stalled")
    assert stalls and "no media within 0.6s" in stalls[0]["reason"]
    retries = events.of("recording.reconnecting")
    assert retries[0]["attempt"] == 1 and retries[0]["delay"] > 0


async def shell_hook(task: str, context: Mapping[str, str]) -> str:
    """A tiny real-shell task runner: the task name is the shell text, context in the environment."""
    proc = await asyncio.create_subprocess_exec(
        "/bin/sh", "-c", task, env={**os.environ, **context}
    )
    return "completed" if await proc.wait() == 0 else "failed"


@pytest.mark.slow
async def test_a_hostile_channel_name_stays_inside_recordings_and_cannot_inject(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, recordings: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """../../etc, shell metacharacters, 300 characters and unicode: files stay inside, hooks safe."""
    name = "../../etc/$(touch PWNED);`touch PWNED2`|x\u202e" + "ş" * 300
    seen = tmp_path / "seen.txt"
    hook = f'printf "%s\\n" "$STREAMREC_FILE" >> "{seen}"; test -f "$STREAMREC_FILE"'
    recorder = make_recorder(
        hls.url, name=name, category="../..", on_segment=[hook], run_hook=shell_hook
    )
    await recorder.run(duration=5)
    segments = events.of("recording.segment")
    assert segments and all(s["hooks"] == "pending" for s in segments)
    processed = events.of("recording.processed")
    assert [p["status"] for p in processed] == ["completed"] * len(segments)
    root = recordings.resolve()
    for seg in segments:
        path = Path(seg["file"]).resolve()
        assert root in path.parents
        assert all(len(part.encode()) <= 255 for part in path.parts)
    assert seen.read_text().splitlines() == [s["file"] for s in segments]
    assert not list(Path.cwd().glob("PWNED*")) and not list(tmp_path.rglob("PWNED*"))
    assert_all_playable(events)


@pytest.mark.slow
async def test_url_credentials_never_reach_events_or_logs(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, log_lines: list[str]
) -> None:
    """A password in the URL and a token in its query are hidden in every event and log line."""
    url = hls.url.replace("http://", "http://viewer:hunter2@") + "?token=s3cr3tt0ken"
    recorder = make_recorder(url)
    task = asyncio.create_task(recorder.run(duration=6))
    await asyncio.sleep(3)
    hls.stop()
    await task
    assert events.of("recording.segment")
    text = json.dumps(events.items) + "\n".join(log_lines)
    assert "hunter2" not in text and "s3cr3tt0ken" not in text
    assert "viewer:***@" in events.of("recording.started")[0]["url"]


@pytest.mark.slow
async def test_retention_deletes_oldest_processed_files_over_max_size(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, recordings: Path
) -> None:
    """With max_size ~3 files, older finished files are deleted and each deletion is logged."""
    recorder = make_recorder(hls.url, segment="1s", retention={"max_size": "330KB"})
    await recorder.run(duration=7)
    deleted = events.of("retention.deleted")
    assert deleted and all("max_size" in d["reason"] for d in deleted)
    remaining = [
        Path(s["file"]) for s in events.of("recording.segment") if Path(s["file"]).exists()
    ]
    assert sum(p.stat().st_size for p in remaining) <= 330_000
    assert {d["file"] for d in deleted}.isdisjoint(str(p) for p in remaining)
    first_kept = min(recordings.rglob("*.ts"))
    assert all(d["file"] < str(first_kept) for d in deleted), "a newer file went first"


async def test_files_whose_hooks_are_pending_are_never_deleted(tmp_path: Path) -> None:
    """Retention skips unprocessed files even when far over every limit, and says there is no room."""
    from streamrec.core.files import FinishedFile
    from streamrec.core.retention import Limits

    events = Events()
    storage = Storage(
        tmp_path, min_free_space=2**62, emit=events, on_low_space="delete_oldest",
        limits={"a": Limits(max_age=1, max_size=1)},
    )  # fmt: skip
    for i, processed in enumerate([False, True]):
        path = tmp_path / f"f{i}.ts"
        path.write_bytes(b"x" * 10)
        storage.add(FinishedFile(str(path), "a", 0, 1, 10, processed))
    assert storage.enforce().ok is False
    assert [d["file"] for d in events.of("retention.deleted")] == [str(tmp_path / "f1.ts")]
    assert (tmp_path / "f0.ts").exists()


@pytest.mark.slow
async def test_streamlink_resolves_a_local_hls_url(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events
) -> None:
    """resolver: streamlink turns hls://URL into the stream URL that ffmpeg records."""
    pytest.importorskip("streamlink", reason="streamlink is an optional extra, not installed")
    recorder = make_recorder("hls://" + hls.url, resolver="streamlink", quality="best")
    await recorder.run(duration=5)
    assert events.of("recording.started")
    assert_all_playable(events)


def test_a_frozen_hls_playlist_is_not_live(hls: HlsTestSource) -> None:
    """A playlist that stops moving is 'not live', so ffmpeg is not started on stale segments."""
    from streamrec.errors import RecorderError
    from streamrec.runtime.resolvers import probe_hls

    probe_hls(hls.url)
    hls.freeze()
    try:
        time.sleep(1.2)
        with pytest.raises(RecorderError, match="not moving"):
            probe_hls(hls.url)
    finally:
        hls.thaw()
