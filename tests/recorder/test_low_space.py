"""Low disk space: the on_low_space policy decided purely, and carried out on a real small filesystem.

The filesystem tests mount a tmpfs of a few MB as ``recordings_dir`` (root only; skipped otherwise),
fill most of it, and record the local HLS source into it with real ffmpeg.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger
from recsources import Events, MakeRecorder, assert_all_playable, playable

from streamrec.core.files import FinishedFile
from streamrec.core.retention import FillRate, Limits, decide, low_space_reason
from streamrec.runtime.recorder import Recorder
from streamrec.runtime.storage import Storage
from streamrec.runtime.testsource import HlsTestSource

MB = 1_000_000
MIN_FREE = 2 * MB
ROOM = 700_000
"""Free bytes above min_free_space left by the filler: a few seconds of the test stream."""
ENOSPC = "No space left on device"


def _file(name: str, end: float, size: int = 100, ch: str = "a") -> FinishedFile:
    return FinishedFile(name, ch, end - 10, end, size, True)


# --- the pure decision ---------------------------------------------------------------------------


def test_stop_deletes_nothing_for_free_space_even_with_many_deletable_files() -> None:
    """With on_low_space stop, free space below min_free_space chooses no file and says no room."""
    files = [_file(f"f{i}", i, ch="ab"[i % 2]) for i in range(50)]
    decision = decide(files, now=100, limits={}, free=10, min_free=10**6, policy="stop")
    assert decision.deletions == [] and not decision.room and decision.free_after == 10


def test_stop_still_applies_each_channels_max_age_and_max_size() -> None:
    """Under stop, max_age and max_size delete exactly what they would with plenty of space."""
    files = [_file(f"a{i}", i) for i in range(5)] + [_file(f"b{i}", i, ch="b") for i in range(5)]
    limits = {"a": Limits(max_age=97.5), "b": Limits(max_size=250)}
    low = decide(files, now=100, limits=limits, free=0, min_free=10**9, policy="stop")
    plenty = decide(files, now=100, limits=limits, free=10**12, min_free=0, policy="stop")
    chosen = [d.file.path for d in low.deletions]
    assert chosen == ["a0", "a1", "a2", "b0", "b1", "b2"] == [d.file.path for d in plenty.deletions]
    assert not low.room and plenty.room


def test_delete_oldest_makes_room_for_the_headroom_too() -> None:
    """delete_oldest deletes until free space reaches min_free_space plus the headroom."""
    files = [_file(f"f{i}", i) for i in range(5)]
    without = decide(files, now=10, limits={}, free=0, min_free=200, policy="delete_oldest")
    within = decide(
        files, now=10, limits={}, free=0, min_free=200, policy="delete_oldest", headroom=150
    )
    assert [d.file.path for d in without.deletions] == ["f0", "f1"]
    assert [d.file.path for d in within.deletions] == ["f0", "f1", "f2", "f3"]
    assert within.needed == 350 and within.room and "150B headroom" in within.deletions[0].reason


def test_the_stop_reason_names_free_space_threshold_policy_and_what_was_deleted() -> None:
    """The reason says the free space, min_free_space, the headroom, the policy and the deletions."""
    said = low_space_reason(3_100_000_000, 5_000_000_000, 0, "stop", 0)
    assert said == (
        "low disk space: 3.1GB free, below min_free_space 5GB (on_low_space: stop); "
        "nothing was deleted"
    )
    assert "+ 2MB headroom" in low_space_reason(1, 5, 2 * MB, "delete_oldest", 3)
    assert "3 file(s) deleted" in low_space_reason(1, 5, 0, "delete_oldest", 3)


def test_the_fill_rate_headroom_is_five_seconds_at_the_recent_peak() -> None:
    """Headroom is 5 s at the fastest recent filling; close samples and freed space are ignored."""
    rate = FillRate()
    assert rate.headroom() == 0
    for now, free in [(0, 10_000), (1, 9_000), (1.2, 0), (2, 8_500), (3, 9_500), (4, 9_400)]:
        rate.observe(now, free)
    assert rate.peak() == 1_000 and rate.headroom() == 5_000


def test_storage_check_stops_at_the_headroom_and_deletes_nothing_under_stop(
    tmp_path: Path,
) -> None:
    """Storage.check: room while free space stays above threshold + headroom, then no room, no deletion."""
    free = [10_000]
    now = [0.0]
    events = Events()
    storage = Storage(
        tmp_path, min_free_space=1_000, emit=events, disk_free=lambda p: free[0],
        clock=lambda: now[0],
    )  # fmt: skip
    (tmp_path / "old.ts").write_bytes(b"x" * 100)
    storage.add(FinishedFile(str(tmp_path / "old.ts"), "a", 0, 1, 100, True))
    seen = []
    while free[0] > 0:
        seen.append(storage.check())
        now[0] += 1
        free[0] -= 1_000
    stop = next(room for room in seen if not room.ok)
    assert stop.free == 5_000 and stop.needed == 1_000 + 5_000
    assert "5KB headroom" in stop.reason and "nothing was deleted" in stop.reason
    assert events.of("retention.deleted") == [] and (tmp_path / "old.ts").exists()


# --- a real small filesystem ---------------------------------------------------------------------


@pytest.fixture
def recordings(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of 8 MB as the recordings directory (root only), unmounted afterwards."""
    path = tmp_path / "small"
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.fixture
def ffmpeg_said() -> Iterator[list[str]]:
    """Every log line while the test runs (the recorder logs each ffmpeg stderr line)."""
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    yield lines
    logger.remove(sink)


def _fill(recordings: Path, leave: int) -> Path:
    """A filler file that leaves ``leave`` bytes free."""
    st = os.statvfs(recordings)
    filler = recordings / "filler.bin"
    filler.write_bytes(b"\0" * (st.f_bavail * st.f_frsize - leave))
    return filler


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


async def _until(events: Events, predicate: object, timeout: float) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate(events):
            await asyncio.sleep(0.1)


def _low_space_stops(events: Events) -> list[dict[str, object]]:
    return [s for s in events.of("recording.stopped") if "low disk space" in str(s["reason"])]


async def _record_until_low_space(recorder: Recorder, events: Events) -> asyncio.Task[str]:
    task = asyncio.create_task(recorder.run())
    await _until(events, _low_space_stops, 30)
    return task


@pytest.mark.slow
async def test_low_space_stops_ffmpeg_before_enospc_and_deletes_nothing(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, recordings: Path,
    ffmpeg_said: list[str],
) -> None:  # fmt: skip
    """Under stop, ffmpeg stops while there is room: never ENOSPC, files playable, nothing deleted."""
    _fill(recordings, MIN_FREE + ROOM)
    storage = Storage(recordings, min_free_space=MIN_FREE, emit=events)
    recorder = make_recorder(hls.url, storage=storage)
    task = await _record_until_low_space(recorder, events)
    assert recorder.state == "waiting for space"
    free_when_stopped = _free(recordings)
    recorder.stop()
    assert await task == "stopped by request"
    reason = str(_low_space_stops(events)[0]["reason"])
    assert reason.endswith("(on_low_space: stop); nothing was deleted") and "headroom" in reason
    assert not [line for line in ffmpeg_said if ENOSPC in line]
    assert free_when_stopped > MIN_FREE // 2, "ffmpeg ran on far below min_free_space"
    assert_all_playable(events)
    assert events.of("retention.deleted") == []


@pytest.mark.slow
async def test_delete_oldest_deletes_the_oldest_finished_files_and_recording_goes_on(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, recordings: Path,
    ffmpeg_said: list[str],
) -> None:  # fmt: skip
    """Under delete_oldest, old files of any channel go oldest first, logged, and recording goes on."""
    storage = Storage(
        recordings, min_free_space=MIN_FREE, emit=events, on_low_space="delete_oldest"
    )
    old = []
    for i in range(3):
        path = recordings / "other" / f"old{i}.ts"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"\1" * 400_000)
        storage.add(FinishedFile(str(path), "other", 100.0 * i, 100.0 * i + 50, 400_000, True))
        old.append(str(path))
    _fill(recordings, MIN_FREE + ROOM)
    recorder = make_recorder(hls.url, storage=storage)
    task = asyncio.create_task(recorder.run(duration=40))
    await _until(events, lambda e: len(e.of("retention.deleted")) >= 2, 40)
    await _until(events, lambda e: len(e.of("recording.segment")) >= 4, 20)
    recorder.stop()
    await task
    deleted = [d["file"] for d in events.of("retention.deleted")]
    own = [s["file"] for s in events.of("recording.segment")]
    assert deleted == (old + own)[: len(deleted)], "not oldest first"
    assert all(
        "(on_low_space: delete_oldest)" in d["reason"] for d in events.of("retention.deleted")
    )
    assert not any(Path(f).exists() for f in deleted)
    assert events.of("recording.stopped")[0]["reason"] == "stopped by request"
    assert not [line for line in ffmpeg_said if ENOSPC in line]
    for kept in [Path(f) for f in own if f not in deleted]:
        assert playable(kept)[0], kept


@pytest.mark.slow
async def test_recording_resumes_by_itself_once_space_is_freed(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, recordings: Path,
) -> None:  # fmt: skip
    """Under stop, removing the filler brings recording back without a restart, the gap explained."""
    filler = _fill(recordings, MIN_FREE + ROOM)
    storage = Storage(recordings, min_free_space=MIN_FREE, emit=events)
    recorder = make_recorder(hls.url, storage=storage)
    task = await _record_until_low_space(recorder, events)
    before = len(events.of("recording.started"))
    filler.unlink()
    await _until(events, lambda e: len(e.of("recording.started")) > before, 15)
    await _until(events, lambda e: len(e.of("recording.segment")) >= before + 2, 15)
    assert recorder.state == "recording"
    recorder.stop()
    await task
    assert any("low disk space" in g["cause"] for g in events.of("recording.gap"))
    assert_all_playable(events)


@pytest.mark.slow
async def test_the_headroom_stops_ffmpeg_before_enospc_even_with_min_free_space_zero(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, recordings: Path,
    ffmpeg_said: list[str],
) -> None:  # fmt: skip
    """With min_free_space 0, the fill-rate headroom alone stops ffmpeg before the disk is full."""
    _fill(recordings, ROOM)
    storage = Storage(recordings, min_free_space=0, emit=events)
    recorder = make_recorder(hls.url, storage=storage)
    task = await _record_until_low_space(recorder, events)
    recorder.stop()
    await task
    assert "headroom" in str(_low_space_stops(events)[0]["reason"])
    assert not [line for line in ffmpeg_said if ENOSPC in line]
    assert _free(recordings) > 0
    assert_all_playable(events)
