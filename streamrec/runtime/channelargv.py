"""The argv a channel's ffmpeg gets: one pure function, for the recorder and ``channel command``.

``runtime.ffmpeg.build_command`` knows the options; this module knows where a run writes: partial
files ``<run>_%06d.<ext>`` in the channel's partial directory (``%`` in the directory doubled for
ffmpeg's pattern), the extension from the channel's ``format``. ``streamrec channel command`` prints
:func:`channel_argv` with 3 and 4 standing for the two pipes the recorder passes; the recorder
builds the same argv per start with its run id, its pipes and ``-live_start_index``. No I/O, no clock.
"""

from __future__ import annotations

from pathlib import Path

from streamrec.core.filenames import EXTENSIONS, safe_component
from streamrec.runtime.ffmpeg import build_command, escape_pattern
from streamrec.spec.model import Channel

PARTIAL = ".partial"
"""The directory under ``recordings_dir`` where files are written before they are renamed."""
SEGMENT_LIST_FD = 3
"""Stands for the pipe of ffmpeg's segment list where no real one is passed."""
PROGRESS_FD = 4
"""Stands for the pipe of ffmpeg's ``-progress`` lines where no real one is passed."""


def partial_dir_of(recordings_dir: Path, name: str) -> Path:
    """Where channel ``name`` writes its files before they are closed and renamed."""
    return recordings_dir / PARTIAL / safe_component(name)


def partial_pattern(channel: Channel, partial_dir: Path, run_id: str) -> str:
    """ffmpeg's output pattern for the partial files of one run (``%`` in the directory doubled)."""
    return escape_pattern(str(partial_dir)) + f"/{run_id}_%06d.{EXTENSIONS[channel.format]}"


def channel_argv(
    channel: Channel,
    partial_dir: Path,
    url: str,
    *,
    ffmpeg: str,
    run_id: str = "RUN",
    segment_list_fd: int | str = SEGMENT_LIST_FD,
    progress_fd: int | str = PROGRESS_FD,
    live_start_index: int | None = None,
) -> list[str]:
    """The full argument list of one ffmpeg run of ``channel`` reading ``url``."""
    return build_command(
        ffmpeg,
        channel,
        url,
        partial_pattern(channel, partial_dir, run_id),
        segment_list_fd=segment_list_fd,
        progress_fd=progress_fd,
        live_start_index=live_start_index,
    )
