"""Resolvers: from a channel's URL to the URL ffmpeg opens, or "not live (why)".

Called by the recorder (``runtime.recorder``) before each start of ffmpeg; a
:class:`~streamrec.errors.RecorderError` means the source is not live now, and the recorder polls
again after its backoff. This is also the cheap offline polling: a dead HLS playlist costs one
HTTP request here instead of a whole ffmpeg.

- ``direct``: ffmpeg opens the URL itself. An HLS playlist is fetched first: an HTTP error, or
  ``#EXT-X-ENDLIST`` (the stream ended and what is left is a video on demand, which ffmpeg would
  record again from its beginning on every retry), means not live.
- ``streamlink`` (optional extra ``streamlink``): the streamlink library finds the streams of a
  platform URL (or a plain ``hls://`` URL), picks ``quality`` (``best``, ``720p``, or fallbacks
  ``720p,480p,best``) and hands ffmpeg the resolved stream URL. Streams that have no URL of their
  own (some need streamlink to pipe them) are not supported: the error says so.
- ``yt-dlp`` (optional extra ``yt-dlp``): likewise with ``yt_dlp``; ``quality`` is a yt-dlp format
  selector (``best`` by default), and the chosen format must carry audio and video in one URL.

A ``testsrc://NAME[?size=WxH]`` URL, whatever the resolver, is the built-in test stream
(``runtime.testsrc``): the resolver starts it on 127.0.0.1 (or shares the one already running for
that URL) and hands ffmpeg its playlist URL. Each resolver :func:`make_resolver` returns is a
:class:`SourceLease`, one per recorder: it holds the streams it started, and :func:`released`
gives them back when the recorder's run ends (the last user stops the stream).

This is the only module that imports streamlink or yt_dlp (with importlib: both are optional, and
untyped to mypy either way); their exceptions are translated here.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from streamrec.core.redact import redact_url
from streamrec.errors import RecorderError
from streamrec.runtime.ffmpeg import is_hls
from streamrec.runtime.testsrc import SOURCES, TestSources, TestSrc, is_testsrc, parse

Resolve = Callable[[str], Awaitable[str]]
PROBE_TIMEOUT = 10.0


def _fetch(url: str, timeout: float) -> str:
    """The text of an HLS playlist; RecorderError (not live) on any HTTP or network error."""
    parts = urllib.parse.urlsplit(url)
    headers = {"User-Agent": "streamrec"}
    if "@" in parts.netloc:  # urllib wants credentials as a header, not in the URL
        userinfo, _, host = parts.netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        token = base64.b64encode(
            f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}".encode()
        ).decode()
        headers["Authorization"] = f"Basic {token}"
        url = urllib.parse.urlunsplit(parts._replace(netloc=host))
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the channel's own URL, http(s) only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
            text: str = response.read(4 << 20).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise RecorderError(f"not live: the playlist answers HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RecorderError(f"not live: cannot fetch the playlist ({reason})") from None
    if "#EXTM3U" not in text:
        raise RecorderError("not live: the URL does not answer with an HLS playlist")
    if "#EXT-X-ENDLIST" in text:
        raise RecorderError("not live: the stream has ended (#EXT-X-ENDLIST)")
    return text


def _position(text: str) -> tuple[int, str]:
    """Where a media playlist is: its last sequence number and last segment URI."""
    match = re.search(r"#EXT-X-MEDIA-SEQUENCE:\s*(\d+)", text)
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    first = int(match.group(1)) if match else 0
    return first + len(uris), uris[-1] if uris else ""


def probe_hls(
    url: str, timeout: float = PROBE_TIMEOUT, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Raise :class:`RecorderError` unless ``url`` is a live HLS playlist that is moving.

    A media playlist is fetched twice, 1.5 target durations apart: one that did not move is
    stale (a hung encoder, an origin serving its last playlist), and ffmpeg would only record
    its last segments again. The wait costs nothing: ffmpeg starts 3 segments back from the live
    edge. Master playlists are checked once (their variants are ffmpeg's business). Blocking; an
    event loop uses :func:`probe_hls_async`.
    """
    text = _fetch(url, timeout)
    if (wait := _moving_wait(text)) is None:
        return
    sleep(wait)
    _check_moved(text, _fetch(url, timeout))


async def probe_hls_async(
    url: str,
    timeout: float = PROBE_TIMEOUT,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> None:
    """:func:`probe_hls` for an event loop: the two fetches in worker threads, the wait between
    them on the loop. A worker thread sleeping through the wait would hold one of the loop's
    few default workers for seconds, so channels starting together (500 of them at daemon
    start, or after a shared source's outage) would queue behind each other, and the status
    API's work with them."""
    text = await asyncio.to_thread(_fetch, url, timeout)
    if (wait := _moving_wait(text)) is None:
        return
    await (sleep or asyncio.sleep)(wait)
    _check_moved(text, await asyncio.to_thread(_fetch, url, timeout))


def _moving_wait(text: str) -> float | None:
    """Seconds to wait before the second look (1.5 target durations), None for a master list."""
    if "#EXT-X-STREAM-INF" in text:
        return None
    target = re.search(r"#EXT-X-TARGETDURATION:\s*(\d+(?:\.\d+)?)", text)
    return min(15.0, 1.5 * (float(target.group(1)) if target else 6.0))


def _check_moved(text: str, again: str) -> None:
    if _position(again) == _position(text):
        raise RecorderError("not live: the playlist is not moving (no new segment)")


def hls_target_duration(url: str, timeout: float = PROBE_TIMEOUT) -> float | None:
    """The target segment duration of a live HLS media playlist, or None if it cannot be told."""
    try:
        text = _fetch(url, timeout)
    except RecorderError:
        return None
    target = re.search(r"#EXT-X-TARGETDURATION:\s*(\d+(?:\.\d+)?)", text)
    return float(target.group(1)) if target and "#EXT-X-STREAM-INF" not in text else None


async def resolve_direct(url: str) -> str:
    """The URL itself, after checking that an HLS playlist is live."""
    if is_hls(url) and url.lower().startswith(("http://", "https://")):
        await probe_hls_async(url)
    return url


def _qualities(quality: str) -> list[str]:
    return [q.strip() for q in quality.split(",") if q.strip()] or ["best"]


def _streamlink_url(url: str, quality: str) -> str:
    try:
        session_module = importlib.import_module("streamlink.session")
        errors = importlib.import_module("streamlink.exceptions")
    except ImportError:
        raise RecorderError(
            "resolver streamlink needs the optional extra: pip install 'streamrec[streamlink]'"
        ) from None
    try:
        streams: dict[str, Any] = session_module.Streamlink().streams(url)
    except errors.StreamlinkError as exc:
        raise RecorderError(f"not live: streamlink: {redact_url(str(exc))}") from None
    if not streams:
        raise RecorderError("not live: streamlink found no streams")
    for name in _qualities(quality):
        if name in streams:
            try:
                return str(streams[name].to_url())
            except TypeError:
                raise RecorderError(
                    f"streamlink's {name!r} stream has no URL ffmpeg could open"
                ) from None
    available = ", ".join(sorted(streams))
    raise RecorderError(f"streamlink has no stream {quality!r} (available: {available})")


def _ytdlp_url(url: str, quality: str) -> str:
    try:
        yt_dlp = importlib.import_module("yt_dlp")
    except ImportError:
        raise RecorderError(
            "resolver yt-dlp needs the optional extra: pip install 'streamrec[yt-dlp]'"
        ) from None
    options = {"format": quality or "best", "quiet": True, "noplaylist": True, "no_warnings": True}
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
    except yt_dlp.utils.YoutubeDLError as exc:
        raise RecorderError(f"not live: yt-dlp: {redact_url(str(exc))}") from None
    if not isinstance(info, dict) or not info.get("url"):
        raise RecorderError(f"yt-dlp gave no single URL for format {quality!r}")
    return str(info["url"])


def _resolver_of(kind: str, quality: str) -> Resolve:
    if kind == "direct":
        return resolve_direct
    if kind == "streamlink":

        async def via_streamlink(url: str) -> str:
            return await asyncio.to_thread(_streamlink_url, url, quality)

        return via_streamlink
    if kind == "yt-dlp":

        async def via_ytdlp(url: str) -> str:
            return await asyncio.to_thread(_ytdlp_url, url, quality)

        return via_ytdlp
    raise RecorderError(f"unknown resolver {kind!r}")


class SourceLease:
    """A channel's resolver: ``testsrc://`` URLs leased from the built-in streams, others resolved.

    Called like any :data:`Resolve`. The first ``testsrc://`` URL it resolves takes a lease on
    that stream (starting it if no other recorder runs it); :meth:`release` gives it back.
    """

    def __init__(self, resolve: Resolve, sources: TestSources = SOURCES) -> None:
        self._resolve = resolve
        self._sources = sources
        self._held: TestSrc | None = None

    async def __call__(self, url: str) -> str:
        if not is_testsrc(url):
            return await self._resolve(url)
        source = parse(url)
        if self._held != source:
            self.release()
            self._sources.acquire(source)
            self._held = source
        return await asyncio.to_thread(self._sources.url, source)

    def release(self) -> None:
        """Give back the stream this resolver holds (the last user stops it)."""
        held, self._held = self._held, None
        if held is not None:
            self._sources.release(held)


def make_resolver(kind: str, quality: str = "best") -> SourceLease:
    """The resolver a channel asks for (``direct``, ``streamlink`` or ``yt-dlp``), one per recorder."""
    return SourceLease(_resolver_of(kind, quality))


@contextlib.contextmanager
def released(resolve: Resolve) -> Iterator[None]:
    """Release what ``resolve`` leased (a :class:`SourceLease`; others hold nothing) on exit."""
    try:
        yield
    finally:
        if isinstance(resolve, SourceLease):
            resolve.release()
