"""Reconnecting to a live source: when to look again, and where in an HLS playlist to start.

Called by the recorder (``runtime.supervisor``, ``runtime.hlsresume``) after each run of ffmpeg and before each start; the
probe itself is ``runtime.probing``. Pure: the playlist is text, time and randomness are arguments.

- :func:`next_step`: while a source that was live is down, probe it every ``fast`` seconds for
  ``fast_for`` seconds (a playlist GET is cheap; an ffmpeg start is not), then fall back to the
  jittered exponential backoff of ``core.backoff`` between full starts of ffmpeg.
- :func:`parse_playlist`: the segments of an HLS media playlist, with absolute URIs.
- :func:`start_index`: the first segment to record, counted from the oldest listed (ffmpeg's
  ``-live_start_index``): the one after the last segment recorded if it is still listed; every
  listed segment if it is not (it left the playlist during the outage, or the media sequence
  restarted); on a first start, the oldest that ends after ``reach_back`` seconds before the live
  edge (0: the newest segment). ``None`` means nothing new is listed: no reason to start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

from streamrec.core.backoff import Backoff

_EXTINF = re.compile(r"#EXTINF:\s*([\d.]+)")
_SEQUENCE = re.compile(r"#EXT-X-MEDIA-SEQUENCE:\s*(\d+)")
_TARGET = re.compile(r"#EXT-X-TARGETDURATION:\s*([\d.]+)")


@dataclass(frozen=True)
class Segment:
    """One listed media segment."""

    uri: str  # absolute
    sequence: int
    duration: float


@dataclass(frozen=True)
class Playlist:
    """What an HLS playlist lists (a master playlist lists no segments)."""

    segments: tuple[Segment, ...]
    target: float
    master: bool = False
    ended: bool = False


def parse_playlist(text: str, url: str) -> Playlist:
    """The segments of the playlist ``text`` fetched from ``url``."""
    if "#EXT-X-STREAM-INF" in text:
        return Playlist((), 0.0, master=True)
    match = _SEQUENCE.search(text)
    sequence = int(match.group(1)) if match else 0
    segments = []
    duration = 0.0
    for line in text.splitlines():
        line = line.strip()
        if found := _EXTINF.match(line):
            duration = float(found.group(1))
        elif line and not line.startswith("#"):
            segments.append(Segment(urljoin(url, line), sequence, duration))
            sequence += 1
    target = _TARGET.search(text)
    return Playlist(
        tuple(segments), float(target.group(1)) if target else 0.0, ended="#EXT-X-ENDLIST" in text
    )


def start_index(playlist: Playlist, last_uri: str | None, reach_back: float = 0.0) -> int | None:
    """Where to start recording in ``playlist`` (0 = oldest listed), or None if nothing is new."""
    segments = playlist.segments
    if not segments:
        return None
    if last_uri is not None:
        for index, segment in enumerate(segments):
            if segment.uri == last_uri:
                return index + 1 if index + 1 < len(segments) else None
        return 0
    index = len(segments) - 1
    later = 0.0  # media listed after segment ``index``: how long before the live edge it ends
    while index > 0 and later + segments[index].duration < reach_back:
        later += segments[index].duration
        index -= 1
    return index


def first_start_index(playlist: Playlist, recorded: str | None, reach_back: float) -> int | None:
    """Where the first run of a recorder starts: right after ``recorded`` if it is still listed
    (a previous recorder of the channel was killed), else ``reach_back`` seconds back."""
    if recorded is not None and any(s.uri == recorded for s in playlist.segments):
        return start_index(playlist, recorded)
    return start_index(playlist, None, reach_back)


@dataclass(frozen=True)
class Step:
    """What the recorder does next: probe the source, or start ffmpeg, after ``delay`` seconds."""

    action: Literal["probe", "start"]
    delay: float


def next_step(
    backoff: Backoff,
    fast: float,
    fast_for: float,
    *,
    down_since: float | None,
    now: float,
    failures: int,
    rand: float,
) -> Step:
    """The next step after a run of ffmpeg ended (or a probe saw nothing new).

    ``down_since`` is when a source that was live went down (None: it has not been live, or it
    cannot be probed); ``failures`` counts runs in a row that recorded nothing.
    """
    if down_since is not None and fast > 0 and now - down_since < fast_for:
        return Step("probe", 0.0 if now - down_since < fast else fast)
    return Step("start", backoff.delay(failures, rand) if failures else 0.0)


def probes_per_minute(fast: float) -> float:
    """Requests a minute while probing in the fast phase (one playlist GET each)."""
    return 60.0 / fast if fast > 0 else 0.0
