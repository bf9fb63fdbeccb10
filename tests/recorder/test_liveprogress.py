"""The live reading of the file being written: the pure bitrate, and a real recorder's readings."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from recsources import Events, MakeRecorder

from streamrec.core.liveprogress import LiveProgress, Sample, bitrate_bps, live_bitrate, recent
from streamrec.runtime.testsource import HlsTestSource


def test_bitrate_is_the_growth_over_the_last_seconds() -> None:
    """Bits per second between the oldest and newest sample inside the window."""
    samples = [Sample(0.0, 0), Sample(1.0, 1000), Sample(2.0, 2000), Sample(10.0, 12_000)]
    assert bitrate_bps(samples[:3], now=2.0) == pytest.approx(8000.0)
    # the window is 5 s: at 10 s only the newest sample is left, so there is no rate
    assert bitrate_bps(samples, now=10.0) is None
    assert bitrate_bps(samples[2:], now=10.0, window=8.0) == pytest.approx(10_000 * 8 / 8)


def test_no_bitrate_from_one_sample_no_time_or_a_shrinking_count() -> None:
    assert bitrate_bps([], now=0.0) is None
    assert bitrate_bps([Sample(1.0, 500)], now=1.0) is None
    assert bitrate_bps([Sample(1.0, 500), Sample(1.0, 900)], now=1.0) is None
    assert bitrate_bps([Sample(1.0, 900), Sample(2.0, 100)], now=2.0) is None


def test_before_a_second_sample_the_file_average_stands_in() -> None:
    """The first reading of a run has the file's average; once two samples exist, the growth."""
    assert live_bitrate([Sample(1.0, 1000)], now=1.0, size=1000, media_seconds=2.0) == 4000.0
    assert live_bitrate([Sample(1.0, 900)], now=1.0, size=900, media_seconds=0.1) is None
    assert live_bitrate([], now=1.0, size=0, media_seconds=3.0) is None
    two = [Sample(0.0, 0), Sample(1.0, 1000)]
    assert live_bitrate(two, now=1.0, size=1000, media_seconds=10.0) == 8000.0


def test_recent_keeps_the_window_and_always_the_newest() -> None:
    samples = [Sample(0.0, 1), Sample(4.0, 2), Sample(6.0, 3)]
    assert recent(samples, now=6.0) == samples[1:]
    assert recent(samples, now=100.0) == samples[2:]


def test_to_json_names_the_file_and_stamps_with_an_offset() -> None:
    when = datetime(2026, 5, 1, 12, 0, 1, tzinfo=timezone(timedelta(hours=2)))
    reading = LiveProgress("/rec/news/a b.ts", 1234, 81234.56789, 12.34567, when)
    assert reading.to_json() == {
        "file": "/rec/news/a b.ts",
        "name": "a b.ts",
        "bytes": 1234,
        "bitrate_bps": 81234.6,
        "media_seconds": 12.346,
        "updated": "2026-05-01T12:00:01+02:00",
    }
    assert LiveProgress("x.ts", 0, None, 0.0, when).to_json()["bitrate_bps"] is None


@pytest.mark.slow
async def test_a_recorder_reports_the_file_it_writes_under_its_final_name(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, recordings: Path
) -> None:
    """Long segments: before any file closed, readings come about once a second, bytes and
    media seconds grow, the bitrate is measured, and the name is the one the file gets."""
    readings: list[LiveProgress] = []
    recorder = make_recorder(hls.url, segment="10m", on_progress=readings.append)
    assert recorder.progress is None
    task = asyncio.create_task(recorder.run(duration=6))
    while len(readings) < 4 and not task.done():
        await asyncio.sleep(0.2)
    assert recorder.progress is readings[-1]
    writing = recorder.writing
    assert writing is not None and writing.parent == recorder.partial_dir
    assert not events.of("recording.segment"), "no file should have closed yet"
    await task
    assert recorder.progress is None and recorder.writing is None
    assert readings[-1].bytes > readings[0].bytes > 0
    assert readings[-1].media_seconds > readings[0].media_seconds
    rates = [r.bitrate_bps for r in readings if r.bitrate_bps is not None]
    assert rates and all(rate > 0 for rate in rates)
    gaps = [(b.updated - a.updated).total_seconds() for a, b in itertools.pairwise(readings)]
    assert min(gaps) >= 0.5
    (segment,) = events.of("recording.segment")
    assert {r.file for r in readings} == {segment["file"]}
    assert ".partial" not in readings[-1].file and readings[-1].name == Path(segment["file"]).name
    assert Path(segment["file"]).is_relative_to(recordings)
