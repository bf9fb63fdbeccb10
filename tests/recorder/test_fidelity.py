"""What a recorder keeps of a live HLS source through outages, counted packet by packet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger
from media import playable
from recsources import FFMPEG, Events, MakeRecorder, ts

from streamrec.core.reconnecting import parse_playlist
from streamrec.runtime.recorder import Recorder
from streamrec.runtime.storage import Storage
from streamrec.runtime.testsource import (
    Coverage,
    HlsTestSource,
    frame_coverage,
    packet_hashes,
)
from streamrec.spec.model import Channel


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every log line (DEBUG and up) written while the test runs."""
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    yield lines
    logger.remove(sink)


async def _outage(source: HlsTestSource, kind: str, seconds: float) -> tuple[float, float]:
    """One outage of ``kind`` starting between two segments; returns its (start, end)."""
    await asyncio.to_thread(source.between_segments)
    start = time.time()
    if kind == "restart":
        source.stop()
        await asyncio.sleep(seconds)
        await asyncio.to_thread(source.start, reset_sequence=True)
    elif kind == "http":
        source.http_down()
        await asyncio.sleep(seconds)
        source.http_up()
    else:
        source.freeze()
        await asyncio.sleep(seconds)
        source.thaw()
    return start, time.time()


async def _three_outages(root: Path, make_recorder: MakeRecorder) -> tuple[Coverage, float]:
    """One recording through an encoder restart, an 8 s HTTP outage and a freeze; its coverage."""
    source = HlsTestSource(FFMPEG, root / "source", noise=True, keep_segments=True)
    try:
        await asyncio.to_thread(source.start)
        await asyncio.sleep(2)
        recorder = make_recorder(source.url, segment="10s", stall_timeout="10s")
        began = time.time()
        task = asyncio.create_task(recorder.run(duration=33))
        outages = []
        for kind, at, seconds in (("restart", 4, 4.0), ("http", 12, 8.0), ("freeze", 25, 4.0)):
            await asyncio.sleep(max(0.0, began + at - time.time()))
            outages.append(await _outage(source, kind, seconds))
        await task
        until = time.time() - 3
        source.stop()
        published = await asyncio.to_thread(source.published)
    finally:
        source.close()
    recorded = [h for f in recorder.files for h in packet_hashes(FFMPEG, Path(f["file"]))]
    return frame_coverage(published, recorded, outages, began, until), source.segment_time


@pytest.mark.slow
@pytest.mark.timeout(170)
async def test_outages_cost_no_more_than_one_second_beyond_what_left_the_playlist(
    tmp_path: Path, make_recorder: MakeRecorder, events: Events
) -> None:
    """An encoder restart, an 8 s HTTP outage and a freeze: no packet twice or foreign, and each
    gap within 1 s of the unavoidable one (what left the 6 s playlist meanwhile).

    Gaps are timings, and a machine loaded by other work can stretch one past the bound; a run
    whose only miss is a gap is measured once more. Duplicated and foreign packets are never
    retried: one of those fails at once."""
    for attempt in (1, 2):
        coverage, segment_time = await _three_outages(tmp_path / f"run{attempt}", make_recorder)
        assert coverage.duplicated == 0, coverage
        assert coverage.foreign == 0, coverage
        unavoidable = (0.0, 8.0 - 6 * segment_time, 0.0)
        late = [
            (gap, floor)
            for gap, floor in zip(coverage.gaps, unavoidable, strict=True)
            if gap > floor + 1.0
        ]
        if not late or attempt == 2:
            break
        logger.warning("fidelity run {}: gaps {} over the bound; measuring again", attempt, late)
    assert not late, coverage
    assert coverage.ratio > 0.75, coverage  # the first start is at the live edge


@pytest.mark.slow
async def test_a_playlist_that_moves_while_ffmpeg_starts_costs_no_segment(
    tmp_path: Path, recordings: Path, events: Events, log_lines: list[str]
) -> None:
    """ffmpeg slowed down so the playlist moves on before it looks: the segment it skips is
    fetched on the side and finished first, in order, nothing twice, and ffmpeg is not restarted."""
    source = HlsTestSource(FFMPEG, tmp_path / "source", noise=True, keep_segments=True)
    mark = tmp_path / "delayed-once"
    slow = tmp_path / "slow-ffmpeg"
    slow.write_text(
        f'#!/bin/sh\nif [ ! -e "{mark}" ]; then : > "{mark}"; sleep 1.4; fi\nexec "{FFMPEG}" "$@"\n'
    )
    slow.chmod(0o755)
    try:
        await asyncio.to_thread(source.start)
        await asyncio.sleep(7)  # the 6-segment playlist slides: a start index moves with it
        await asyncio.to_thread(source.between_segments)
        listed = parse_playlist((source.directory / "live.m3u8").read_text(), source.url)
        recorder = Recorder(
            "moving", Channel(url=source.url, segment="10s"), recordings_dir=recordings,
            ffmpeg=str(slow), emit=events, storage=Storage(recordings, min_free_space=0,
                                                           emit=events),
        )  # fmt: skip
        recorder.partial_dir.mkdir(parents=True)
        (recorder.partial_dir / "last_segment").write_text(listed.segments[-2].uri)
        await recorder.run(duration=5)
    finally:
        source.close()  # the segments stay: the directory is the test's
    expected = source.directory / Path(listed.segments[-1].uri).name
    wanted = packet_hashes(FFMPEG, expected)
    recorded = [h for f in recorder.files for h in packet_hashes(FFMPEG, Path(f["file"]))]
    assert wanted and set(wanted) <= set(recorded), f"{len(set(wanted) - set(recorded))} missing"
    assert len(recorded) == len(set(recorded)), "a packet was recorded twice"
    assert recorded[: len(wanted)] == wanted, "the skipped segment is not the first file's media"
    assert any("fetching it on the side" in line for line in log_lines)
    assert not any("starting it again" in line for line in log_lines)
    starts = [ts(f["start"]) for f in recorder.files]
    assert starts == sorted(starts) and len(recorder.files) >= 2
    assert all(playable(Path(f["file"]))[0] for f in recorder.files)


@pytest.mark.slow
async def test_a_source_frozen_shorter_than_the_stall_timeout_is_ridden_out_by_the_same_ffmpeg(
    tmp_path: Path, make_recorder: MakeRecorder, events: Events
) -> None:
    """A 6 s freeze, past the ~5 s after which an ffmpeg giving up on 10 stale reloads could open
    the first new segment and flush its first frame cut short: no restart, no foreign packet."""
    source = HlsTestSource(FFMPEG, tmp_path / "source", noise=True, keep_segments=True)
    try:
        await asyncio.to_thread(source.start)
        await asyncio.sleep(2)
        recorder = make_recorder(source.url, segment="10s", stall_timeout="10s")
        began = time.time()
        task = asyncio.create_task(recorder.run(duration=16))
        await asyncio.sleep(4)
        outage = await _outage(source, "freeze", 6.0)
        await task
        until = time.time() - 3
        source.stop()
        published = await asyncio.to_thread(source.published)
    finally:
        source.close()
    recorded = [h for f in recorder.files for h in packet_hashes(FFMPEG, Path(f["file"]))]
    coverage = frame_coverage(published, recorded, [outage], began + 3, until)
    assert events.of("recording.reconnecting") == [], events.of("recording.reconnecting")
    assert coverage.foreign == 0 and coverage.duplicated == 0, coverage
    assert coverage.gaps == (0.0,), coverage
