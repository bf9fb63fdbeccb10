"""Which resolver can record a URL: page URLs of streaming platforms need one, media URLs do not.

``core.m3u`` gives each playlist entry the resolver :func:`resolver_for` chooses, and
``import m3u`` writes it into the channel (``resolver:`` of ``spec.model``; ``runtime.resolvers``
does the work). Pure: a URL in, a name out, no network.

- a URL whose path ends in a media or playlist extension (``.m3u8``, ``.mpd``, ``.ts``, ``.mp4``,
  ``.aac``, ``.mp3``, ...) is ``direct``, whatever its host: ffmpeg opens it itself;
- a page of a platform in :data:`PLATFORMS` (YouTube watch, ``youtu.be`` and ``/@name/live``
  pages, Twitch channels, Dailymotion, Vimeo, Kick, ...) is ``streamlink``: ffmpeg cannot record
  a web page, streamlink (a dependency of the ``streamlink`` extra, with a plugin for each of
  these hosts) finds the stream behind it. ``yt-dlp`` could read most of them too, but it is the
  heavier extra, so it is never chosen here; a channel can still name it;
- anything else (icecast mounts such as ``/stream`` or ``/;``, plain HTTP endpoints) is
  ``direct``.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from streamrec.spec.model import Resolver

PLATFORMS: dict[str, str] = {
    "youtube.com": "YouTube",
    "youtu.be": "YouTube",
    "twitch.tv": "Twitch",
    "dailymotion.com": "Dailymotion",
    "vimeo.com": "Vimeo",
    "kick.com": "Kick",
    "live.bilibili.com": "Bilibili",
    "huya.com": "Huya",
    "douyu.com": "Douyu",
    "douyin.com": "Douyin",
    "ok.ru": "OK.ru",
    "vk.com": "VK",
    "vk.ru": "VK",
    "vkplay.live": "VK Play Live",
    "live.vkvideo.ru": "VK Video Live",
    "tiktok.com": "TikTok",
    "play.sooplive.co.kr": "SOOP",
    "play.afreecatv.com": "SOOP",
    "picarto.tv": "Picarto",
    "chzzk.naver.com": "CHZZK",
    "twitcasting.tv": "TwitCasting",
    "pluto.tv": "Pluto TV",
}
"""Hosts (and their subdomains: ``www.``, ``m.``) whose pages only a resolver can record, each
with the platform's name for reports. All of them have a streamlink plugin."""

MEDIA_EXTENSIONS = frozenset(
    {"m3u8", "m3u", "mpd", "ism", "ts", "mp4", "m4v", "m4a", "mkv", "webm", "flv", "mov"}
    | {"aac", "mp3", "ogg", "oga", "opus", "flac", "wav", "pls"}
)
"""Extensions of media files and stream playlists: URLs that ffmpeg opens itself."""


def platform_of(url: str) -> str | None:
    """The name of the platform whose page ``url`` is, or None (a media URL, or no platform)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
    except ValueError:  # "http://[bad": no host to look up
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    last = unquote(parts.path).rstrip("/").rsplit("/", 1)[-1]
    if "." in last and last.rsplit(".", 1)[1].lower() in MEDIA_EXTENSIONS:
        return None
    labels = host.split(".")
    for start in range(len(labels) - 1):
        if (platform := PLATFORMS.get(".".join(labels[start:]))) is not None:
            return platform
    return None


def resolver_for(url: str) -> Resolver:
    """``streamlink`` for a page of one of :data:`PLATFORMS`, else ``direct``."""
    return "streamlink" if platform_of(url) is not None else "direct"
