"""Recording real live sources with real ffmpeg: files playable, times contiguous, outages explained."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from recsources import (
    NGINX,
    RTMP_MODULE,
    Events,
    ListenSource,
    MakeRecorder,
    NginxRtmp,
    assert_all_playable,
    assert_contiguous,
    media_seconds,
    ts,
)

from streamrec.runtime.storage import Storage
from streamrec.runtime.testsource import HlsTestSource

pytestmark = pytest.mark.slow


async def test_hls_is_recorded_into_contiguous_playable_segments(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, recordings: Path
) -> None:
    """A live HLS stream becomes 2 s files, each playable, whose times touch end to start."""
    recorder = make_recorder(hls.url, category="news")
    reason = await recorder.run(duration=7)
    assert reason == "duration reached"
    types = events.types()
    assert types[0] == "recording.started" and types[-1] == "recording.stopped"
    segments = events.of("recording.segment")
    assert len(segments) >= 3
    assert_all_playable(events)
    assert_contiguous(events)
    for seg in segments:
        path = Path(seg["file"])
        assert path.is_relative_to(recordings / "news" / "test")
        assert seg["bytes"] == path.stat().st_size and seg["hooks"] == "none"
        assert abs(media_seconds(path) - seg["duration"]) < 0.3
    assert not any((recordings / ".partial" / "test").glob("*.ts")), "a partial file was left"
    assert not events.of("recording.gap")


@pytest.mark.parametrize("reset_sequence", [False, True], ids=["continued", "sequence-reset"])
async def test_source_down_and_back_is_a_logged_gap_then_recording_again(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, reset_sequence: bool
) -> None:
    """The source stops for ~3 s and comes back: reconnecting, one gap, recording resumes."""
    recorder = make_recorder(hls.url)
    task = asyncio.create_task(recorder.run(duration=13))
    await asyncio.sleep(4)
    hls.stop()
    await asyncio.sleep(3)
    await asyncio.to_thread(hls.start, reset_sequence=reset_sequence)
    await task
    assert len(events.of("recording.started")) >= 2
    assert events.of("recording.reconnecting")
    gaps = events.of("recording.gap")
    assert len(gaps) == 1
    assert 2 <= ts(gaps[0]["end"]) - ts(gaps[0]["start"]) < 10
    assert_all_playable(events)
    assert_contiguous(events)
    last = events.of("recording.segment")[-1]
    assert ts(last["start"]) > ts(gaps[0]["end"]) - 0.1


async def test_a_frozen_source_is_detected_as_a_stall_and_restarted(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events
) -> None:
    """SIGSTOP on the encoder: no media progress for stall_timeout -> stalled, restart, recording.
    Frozen 8 s: ffmpeg may still read listed segments for a while after the freeze, and a source
    thawed before the stall fires is simply followed again (no stall at all)."""
    recorder = make_recorder(hls.url, stall_timeout="3s")
    task = asyncio.create_task(recorder.run(duration=18))
    await asyncio.sleep(4)
    hls.freeze()
    await asyncio.sleep(8)
    hls.thaw()
    await task
    stalls = events.of("recording.stalled")
    assert stalls and "no media progress for 3s" in stalls[0]["reason"]
    types = events.types()
    assert types.index("recording.stalled") < len(types) - 1 - types[::-1].index(
        "recording.started"
    )
    assert_all_playable(events)
    assert_contiguous(events)


async def test_a_source_gone_for_good_is_retried_with_growing_capped_delays(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events
) -> None:
    """With the fast probing off, attempts back off exponentially up to reconnect.max."""
    recorder = make_recorder(hls.url, reconnect={"initial": "0.5s", "max": "2s", "fast": "0s"})
    task = asyncio.create_task(recorder.run())
    await asyncio.sleep(3)
    hls.stop()
    await asyncio.sleep(5)
    recorder.stop("test over")
    assert await asyncio.wait_for(task, 10) == "test over"
    retries = events.of("recording.reconnecting")
    assert len(retries) >= 4
    assert [r["attempt"] for r in retries] == list(range(1, len(retries) + 1))
    delays = [r["delay"] for r in retries]
    assert delays[0] == 0 and delays[1] <= 0.6 and max(delays) <= 2
    assert "404" in retries[-1]["reason"]
    gap = events.of("recording.gap")[-1]
    assert gap["cause"].startswith("ffmpeg exited")
    assert events.types()[-1] == "recording.stopped"
    assert_all_playable(events)


async def test_a_stream_that_ends_is_closed_and_polled(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events
) -> None:
    """#EXT-X-ENDLIST: ffmpeg finishes its file, the recorder probes for new segments, records
    none twice."""
    recorder = make_recorder(hls.url)
    task = asyncio.create_task(recorder.run(duration=7))
    await asyncio.sleep(4)
    hls.end()
    await task
    retries = events.of("recording.reconnecting")
    assert retries and retries[-1].get("probing") == 0.5, retries
    assert len(events.of("recording.started")) == 1, "the ended stream was recorded again"
    assert_all_playable(events)
    assert_contiguous(events)


@pytest.mark.parametrize("kind", ["http", "rtmp"])
async def test_listen_sources_over_http_ts_and_rtmp_are_recorded(
    kind: str, make_recorder: MakeRecorder, events: Events
) -> None:
    """A single-client HTTP-TS or RTMP source (ffmpeg -listen 1) is recorded into playable files."""
    source = ListenSource(kind)
    try:
        recorder = make_recorder(source.url, format="mkv" if kind == "rtmp" else "ts")
        await recorder.run(duration=6)
    finally:
        source.close()
    assert len(events.of("recording.segment")) >= 2
    assert_all_playable(events)
    assert_contiguous(events)


@pytest.mark.parametrize("fmt", ["mp4", "mkv"])
async def test_mp4_and_mkv_are_written_playable(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, fmt: str
) -> None:
    """mp4 (fragmented) and mkv recordings are playable and carry their extension."""
    recorder = make_recorder(hls.url, format=fmt)
    await recorder.run(duration=5)
    assert_all_playable(events)
    assert all(s["file"].endswith(f".{fmt}") for s in events.of("recording.segment"))


async def test_disk_below_min_free_space_stops_recording_cleanly(
    hls: HlsTestSource, make_recorder: MakeRecorder, events: Events, recordings: Path
) -> None:
    """With min_free_space above the free space, no ffmpeg starts: stopped with why, then waiting."""
    storage = Storage(recordings, min_free_space=2**62, emit=events)
    recorder = make_recorder(hls.url, storage=storage)
    reason = await asyncio.wait_for(recorder.run(duration=4), 10)
    assert reason == "duration reached"
    assert events.types() == ["recording.stopped", "recording.stopped"]
    assert events.of("recording.stopped")[0]["reason"].startswith("low disk space")
    assert not list(recordings.rglob("*.ts"))


@pytest.mark.skipif(
    not (NGINX.exists() and RTMP_MODULE.exists()),
    reason="Debian's nginx + libnginx-mod-rtmp are not installed (apt-get install nginx-light "
    "libnginx-mod-rtmp)",
)
async def test_nginx_rtmp_publisher_restart_is_a_gap_then_recording_again(
    tmp_path: Path, make_recorder: MakeRecorder, events: Events
) -> None:
    """Through nginx-rtmp, a publisher that drops for longer than ``stall_timeout`` and comes
    back: a gap, resumed. (One back within ``stall_timeout`` is continued by ffmpeg on the same
    connection with clamped timestamps, a stall the recorder restarts after: that is two gaps.)
    On a loaded host the returning publisher can also be slow enough to make the first reconnect
    stall once more: then a second gap follows, with its cause, and recording resumes again."""
    server = NginxRtmp(tmp_path / "nginx")
    try:
        server.publish()
        recorder = make_recorder(server.url, stall_timeout="3s")
        task = asyncio.create_task(recorder.run(duration=18))
        await asyncio.sleep(5)
        server.unpublish()
        await asyncio.sleep(5)
        server.publish()
        await task
    finally:
        server.close()
    assert len(events.of("recording.started")) >= 2
    gaps = events.of("recording.gap")
    assert 1 <= len(gaps) <= 2, gaps
    assert all(gap["cause"] for gap in gaps), gaps
    assert_all_playable(events)
    assert_contiguous(events)
