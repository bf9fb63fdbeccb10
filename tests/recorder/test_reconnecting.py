"""The reconnect decisions, pure: where an HLS run starts, and when to probe or start ffmpeg."""

from __future__ import annotations

import stat
from pathlib import Path

from streamrec.core.backoff import Backoff
from streamrec.core.reconnecting import (
    first_start_index,
    next_step,
    parse_playlist,
    probes_per_minute,
    start_index,
)
from streamrec.runtime.hlsresume import remember

URL = "http://127.0.0.1:8000/live/live.m3u8"


def playlist(first: int, count: int, prefix: str = "seg_") -> str:
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:1", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for number in range(first, first + count):
        lines += ["#EXTINF:1.000000,", f"{prefix}{number}.ts"]
    return "\n".join(lines) + "\n"


def uri(number: int, prefix: str = "seg_") -> str:
    return f"http://127.0.0.1:8000/live/{prefix}{number}.ts"


def test_segments_are_parsed_with_absolute_uris_and_sequence_numbers() -> None:
    """Each listed segment gets its absolute URI, media sequence number and duration."""
    parsed = parse_playlist(playlist(40, 3), URL)
    assert [(s.uri, s.sequence, s.duration) for s in parsed.segments] == [
        (uri(40), 40, 1.0), (uri(41), 41, 1.0), (uri(42), 42, 1.0),
    ]  # fmt: skip
    assert parsed.target == 1.0 and not parsed.master and not parsed.ended


def test_a_run_starts_right_after_the_last_segment_recorded() -> None:
    """The segment after the last one recorded is the start, counted from the oldest listed."""
    assert start_index(parse_playlist(playlist(40, 6), URL), uri(42)) == 3


def test_nothing_new_when_the_last_segment_recorded_is_the_newest() -> None:
    """A stale playlist (a frozen encoder) gives no reason to start ffmpeg."""
    assert start_index(parse_playlist(playlist(40, 6), URL), uri(45)) is None


def test_every_listed_segment_is_new_after_a_sequence_reset_or_a_long_outage() -> None:
    """When the last segment recorded is no longer listed, the run starts at the oldest."""
    assert start_index(parse_playlist(playlist(0, 6), URL), uri(120)) == 0
    assert start_index(parse_playlist(playlist(60, 6), URL), uri(50)) == 0


def test_a_first_start_is_at_the_live_edge_or_as_far_back_as_asked() -> None:
    """No history: the newest segment, or the oldest that ends inside the reach-back."""
    listed = parse_playlist(playlist(40, 6), URL)
    assert start_index(listed, None) == 5
    assert start_index(listed, None, reach_back=2.5) == 3  # ends 2 s before the edge
    assert start_index(listed, None, reach_back=60) == 0


def test_a_first_start_continues_after_a_killed_recorder_if_its_segment_is_listed() -> None:
    """The segment a killed recorder wrote down is honoured when listed, ignored when not."""
    listed = parse_playlist(playlist(40, 6), URL)
    assert first_start_index(listed, uri(41), reach_back=0) == 2
    assert first_start_index(listed, uri(7), reach_back=0) == 5


def test_a_source_that_was_live_is_probed_fast_then_backed_off() -> None:
    """Probe at once, then every `fast` during `fast_for`; afterwards, backoff between starts."""
    backoff = Backoff(2.0, 300.0, jitter=0.0)
    step = next_step(backoff, 0.5, 120, down_since=100.0, now=100.0, failures=0, rand=0.5)
    assert (step.action, step.delay) == ("probe", 0.0)
    step = next_step(backoff, 0.5, 120, down_since=100.0, now=150.0, failures=3, rand=0.5)
    assert (step.action, step.delay) == ("probe", 0.5)
    step = next_step(backoff, 0.5, 120, down_since=100.0, now=221.0, failures=3, rand=0.5)
    assert (step.action, step.delay) == ("start", 8.0)
    step = next_step(backoff, 0.0, 120, down_since=100.0, now=100.0, failures=1, rand=0.5)
    assert (step.action, step.delay) == ("start", 2.0)


def test_a_source_never_live_is_backed_off_as_before() -> None:
    """Without a live past (down_since None) there is no fast phase."""
    step = next_step(Backoff(2.0, 300.0, jitter=0.0), 0.5, 120, down_since=None, now=5.0,
                     failures=2, rand=0.5)  # fmt: skip
    assert (step.action, step.delay) == ("start", 4.0)
    assert probes_per_minute(0.5) == 120


def test_the_last_segment_is_written_in_place_and_reads_back_as_the_newest(tmp_path: Path) -> None:
    """Each segment opened is written over the last in one write: a shorter URI after a longer
    one reads back whole (the reader strips the padding), no temporary file is left beside it,
    and the file is private."""
    path = tmp_path / "last_segment"
    remember(path, uri(123456, prefix="a-much-longer-segment-name-"))
    remember(path, uri(7))
    assert path.read_text().strip() == uri(7)
    assert [p.name for p in tmp_path.iterdir()] == ["last_segment"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
