"""Pure pieces of downloads and playback: which bytes a Range asks for, where live playback starts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from streamrec.web.downloads import Unsatisfiable, byte_range, open_inside
from streamrec.web.playback import BROWSER_AUDIO, Source, first_live, live_start, play_argv


def test_a_single_byte_range_in_each_form() -> None:
    assert byte_range("bytes=0-99", 1000) == (0, 100)
    assert byte_range("bytes=900-", 1000) == (900, 1000)
    assert byte_range("bytes=900-5000", 1000) == (900, 1000)
    assert byte_range("bytes=-100", 1000) == (900, 1000)
    assert byte_range("bytes=-5000", 1000) == (0, 1000)


def test_no_header_or_one_that_is_not_a_single_range_is_the_whole_file() -> None:
    for header in (None, "", "bytes=-", "items=0-5", "bytes=0-5,10-20", "bytes=50-10"):
        assert byte_range(header, 1000) is None, header


def test_a_range_past_the_end_is_unsatisfiable() -> None:
    for header in ("bytes=1000-", "bytes=5000-6000", "bytes=-0"):
        with pytest.raises(Unsatisfiable):
            byte_range(header, 1000)
    with pytest.raises(Unsatisfiable):
        byte_range("bytes=-10", 0)


def test_live_playback_starts_seconds_before_the_end_of_a_ts_only() -> None:
    assert live_start(10_000_000, 100_000.0, "ts") == (10_000_000 - 600_000) // 188 * 188
    assert live_start(10_000_000, None, "ts") == (10_000_000 - (2 << 20)) // 188 * 188
    assert live_start(1000, 100_000.0, "ts") == 0
    assert live_start(10_000_000, 100_000.0, "mkv") == 0
    assert live_start(10_000_000, 100_000.0, "mp4") == 0


def test_audio_browsers_cannot_play_is_dropped_and_nothing_is_transcoded() -> None:
    aac = play_argv("ffmpeg", "aac")
    assert "-an" not in aac and aac[aac.index("-bsf:a") + 1] == "aac_adtstoasc"
    assert "-an" not in play_argv("ffmpeg", "opus") and "-bsf:a" not in play_argv("ffmpeg", "opus")
    for other in ("mp2", "ac3", None):
        assert other not in BROWSER_AUDIO and "-an" in play_argv("ffmpeg", other)
    for argv in (aac, play_argv("ffmpeg", None)):
        assert argv[argv.index("-c") + 1] == "copy" and argv[argv.index("-f") + 1] == "mp4"


async def test_a_play_request_between_two_files_waits_for_the_next_one(tmp_path: Path) -> None:
    """While the channel records but names no file (one closed, the next not yet measured), the
    request is answered with the next file; a channel that does not record is not waited for."""
    path = tmp_path / "next.ts"
    path.write_bytes(b"\x47" * 188)
    opened = open_inside(path, tmp_path)
    assert opened is not None
    looks: list[float] = []

    def find() -> Source | None:
        looks.append(time.monotonic())
        return Source(opened) if len(looks) >= 3 else None

    found = await first_live(find, lambda: True, wait=5.0)
    assert found is not None and found.opened is opened and len(looks) == 3
    assert await first_live(lambda: None, lambda: False, wait=5.0) is None
    started = time.monotonic()
    assert await first_live(lambda: None, lambda: True, wait=0.3) is None
    assert time.monotonic() - started < 2.0
