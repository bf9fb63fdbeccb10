"""Thumbnails decode only a regular recording inside the recordings directory, never a link."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from webkit import FFMPEG

from streamrec.web.thumbnails import Thumbnails


def _clip(path: Path) -> None:
    subprocess.run(
        [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10",
         "-t", "1", "-pix_fmt", "yuv420p", "-y", str(path)],
        check=True,
    )  # fmt: skip


def test_a_recording_replaced_by_a_symlink_gets_no_thumbnail(tmp_path: Path) -> None:
    """A real file gets its JPEG; the same name turned into a link to a file outside gets none."""
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    outside = tmp_path / "outside.mp4"
    _clip(outside)
    real = recordings / "news.mp4"
    _clip(real)
    thumbs = Thumbnails(tmp_path / "thumbs", lambda: FFMPEG)

    made = asyncio.run(thumbs.get("news", real, recordings))
    assert made is not None and made.read_bytes()[:2] == b"\xff\xd8"

    real.unlink()
    real.symlink_to(outside)
    assert asyncio.run(thumbs.get("news", real, recordings)) is None


def test_a_recording_under_a_linked_directory_gets_no_thumbnail(tmp_path: Path) -> None:
    """A file reached through a directory link that leaves the recordings is not decoded."""
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _clip(elsewhere / "a.mp4")
    (recordings / "news").symlink_to(elsewhere)
    thumbs = Thumbnails(tmp_path / "thumbs", lambda: FFMPEG)
    assert asyncio.run(thumbs.get("news", recordings / "news" / "a.mp4", recordings)) is None
