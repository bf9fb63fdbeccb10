"""Media helpers every test folder shares: the ffmpeg the tests use, and a playability check."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
"""The wheel's static ffmpeg: the same binary on every machine, with or without a system one."""


def playable(path: Path) -> tuple[bool, str]:
    """Whether ffmpeg decodes the whole file without an error, and what it said."""
    done = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    text = done.stderr.decode("utf-8", "replace")
    return done.returncode == 0 and not text.strip(), text
