"""The cheap look at a source that is down: one HTTP request, no ffmpeg.

Called by the recorder's supervisor (``runtime.supervisor``, ``runtime.hlsresume``) every ``reconnect.fast`` while a source that was live
is down, and right before each start of ffmpeg on an HLS playlist (to choose where to start,
``core.reconnecting.start_index``). An HLS playlist is fetched with one GET; any other HTTP(S) URL
gets one GET for its first byte (``Range: bytes=0-0``, the connection closed after the headers).
Other protocols cannot be probed this cheaply (:func:`can_probe` says so): the recorder starts
ffmpeg on them with backoff as before.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from streamrec.core.reconnecting import Playlist, parse_playlist
from streamrec.runtime.ffmpeg import is_hls

PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Probe:
    """What one look at the source found: an answer (and the playlist, for HLS), or why not."""

    answered: bool
    playlist: Playlist | None = None
    error: str = ""


def can_probe(url: str) -> bool:
    """Whether ``url`` can be looked at with one HTTP request."""
    return urlsplit(url).scheme.lower() in ("http", "https")


def probe_once(url: str, timeout: float = PROBE_TIMEOUT) -> Probe:
    """One request to ``url`` (blocking; see :func:`probe`)."""
    request = urllib.request.Request(url, headers={"User-Agent": "streamrec"})  # noqa: S310 - http(s) only (can_probe)
    hls = is_hls(url)
    if not hls:
        request.add_header("Range", "bytes=0-0")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - http(s) only (can_probe)
            if not hls:
                return Probe(True)
            text = answer.read(4 << 20).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return Probe(False, error=f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        return Probe(False, error=str(getattr(exc, "reason", exc)))
    if "#EXTM3U" not in text:
        return Probe(False, error="not an HLS playlist")
    return Probe(True, parse_playlist(text, url))


async def probe(url: str, timeout: float = PROBE_TIMEOUT) -> Probe:
    """One request to ``url``, off the event loop."""
    return await asyncio.to_thread(probe_once, url, timeout)
