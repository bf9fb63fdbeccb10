"""Reading IPTV playlists (M3U / M3U8 channel lists) into channel entries. Pure: text in, values out.

``streamrec import m3u`` (``cli.channels``) calls :func:`parse_m3u` on the playlist's text and turns
each :class:`Entry` into a channel (``group-title`` becomes its category). Real-world playlists are
untidy, so the parser never stops at a problem: it reports each one with its line number and goes on.

What it understands:

- ``#EXTINF:<duration> key="value" ...,Title``: attributes ``tvg-name``, ``tvg-id``, ``tvg-logo``,
  ``group-title``, ``tvg-shift``, ``catchup``, ``catchup-days``, ``catchup-source`` (quoted,
  single-quoted or bare), a title that may itself hold commas;
- ``#EXTGRP:Group`` (the group of the next entry when it has no ``group-title``);
- player options as players read them (``core.player_options``): Kodi's
  ``URL|User-Agent=...&Referer=...`` (values with spaces, percent-encoded), ``#EXTVLCOPT:`` lines
  and ``#KODIPROP:`` properties, as :attr:`Entry.headers` (the VLC spelling also as
  :attr:`Entry.options`, Kodi properties in :attr:`Entry.attrs`);
- a UTF-8 byte order mark, CRLF or CR line ends, blank lines, missing ``#EXTM3U``, URL lines
  without ``#EXTINF``, ``#EXTINF`` lines without a URL;
- names in every script, without decorations (``core.slugs``): ``Беларусь 1`` is ``беларусь-1``,
  ``AXN (720p) [Not 24/7]`` is ``axn`` with the tags ``720p`` and ``Not 24/7``; duplicate names
  made unique (``news``, ``news-2``, ``news-3``);
- duplicate URLs (compared as :attr:`Entry.key` compares them: reported, the first kept; with
  ``duplicates=True`` all kept, for a caller that chooses among them);
- page URLs of streaming platforms (YouTube, Twitch, ...): :attr:`Entry.resolver` is the resolver
  that can record them (``core.platforms``);
- lines that are not http(s) URLs (``rtmp://``, ``udp://@...``, paths, junk): reported and left
  out unless their scheme is in ``schemes``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from streamrec.core import player_options as opts
from streamrec.core.platforms import resolver_for
from streamrec.core.slugs import MAX_CHARS, name_and_tags, slugify
from streamrec.spec.model import Resolver

__all__ = ["HTTP_SCHEMES", "MAX_NAME", "Entry", "Issue", "Playlist", "parse_m3u", "slugify"]
__all__ += ["unique_name"]

HTTP_SCHEMES = frozenset({"http", "https"})
"""The schemes imported by default."""

_ATTR = re.compile(r"""([A-Za-z0-9_.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s,"']+))""")
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://\S+\Z")
_TAG = re.compile(r"#[A-Za-z0-9-]*")
_KODI_OPTIONS = {"User-Agent": "http-user-agent", "Referer": "http-referrer"}
"""Kodi headers also kept in :attr:`Entry.options`, under VLC's names."""
MAX_NAME = MAX_CHARS


@dataclass(frozen=True)
class Entry:
    """One channel of a playlist."""

    name: str
    """A unique slug of the title, usable as a channel name (a proposal: the importer keeps the
    name a channel of the same :attr:`key` already has)."""
    title: str
    url: str
    """The stream URL, without Kodi's ``|Header=Value`` options (those are in :attr:`headers`)."""
    line: int
    """The line of the URL (1-based)."""
    group: str | None = None
    tvg_id: str | None = None
    tvg_name: str | None = None
    tvg_logo: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    """Every ``#EXTINF`` attribute (lower-case keys), and ``#KODIPROP`` properties."""
    options: dict[str, str] = field(default_factory=dict)
    """``#EXTVLCOPT`` options such as ``http-user-agent`` and ``http-referrer``."""
    key: str = ""
    """The entry's identity across imports: ``tvg-id:<id>``, else ``url:<normalised URL>``, else
    ``title:<normalised title>``."""
    resolver: Resolver = "direct"
    """``direct``, ``streamlink`` or ``yt-dlp``: what can record :attr:`url`."""
    tags: tuple[str, ...] = ()
    """Decorations taken out of the title for the name: ``720p``, ``HD``, ``Geo-blocked``, ..."""
    headers: dict[str, str] = field(default_factory=dict)
    """HTTP headers the players send (``User-Agent``, ``Referer``, ``Origin``, ...), from Kodi
    ``|`` options, ``#EXTVLCOPT`` and ``#KODIPROP`` stream headers."""
    shift: str | None = None
    """``tvg-shift``: the guide's time shift in hours."""
    catchup: dict[str, str] = field(default_factory=dict)
    """The ``catchup``, ``catchup-days`` and ``catchup-source`` attributes, keyed as written:
    ``{"catchup": "shift", "catchup-days": "7"}``."""


@dataclass(frozen=True)
class Issue:
    """Something in the playlist that was skipped or guessed, with its line (1-based)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class Playlist:
    """What a playlist holds: its entries in order, and what was wrong with it."""

    entries: tuple[Entry, ...]
    issues: tuple[Issue, ...]
    attrs: dict[str, str] = field(default_factory=dict)
    """Attributes of the ``#EXTM3U`` header line (``x-tvg-url``, ...)."""


def unique_name(base: str, taken: Collection[str]) -> str:
    """``base``, or ``base-2``, ``base-3``, ... whichever is first not in ``taken``."""
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _split_extinf(body: str) -> tuple[dict[str, str], str]:
    """``-1 tvg-id="x" group-title="A, B",Title, with comma`` -> attributes and title."""
    quote = ""
    for index, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == ",":
            head, title = body[:index], body[index + 1 :]
            break
    else:
        head, title = body, ""
    attrs = {}
    for match in _ATTR.finditer(head):
        value = next(v for v in match.group(2, 3, 4) if v is not None)
        attrs[match.group(1).lower()] = value.strip()
    return attrs, title.strip()


def _key(tvg_id: str | None, url: str, title: str) -> str:
    """``tvg-id:<id>``, else ``url:<normalised URL>``, else ``title:<normalised title>``."""
    if tvg_id and tvg_id.strip():
        return f"tvg-id:{tvg_id.strip()}"
    if url.strip():
        return f"url:{opts.normalise_url(url)}"
    return "title:" + " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def _title_from_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "http://[bad": no usable parts, but the line is still an entry
        return "channel"
    path = unquote(parts.path).rstrip("/")
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if stem.lower() in {"", "index", "playlist", "master", "live", "stream", "chunklist"}:
        parent = path.rsplit("/", 2)
        stem = parent[-2] if len(parent) > 2 and parent[-2] else host or "channel"
    return stem


class _Reader:
    """Walks the lines once, holding the pending ``#EXTINF`` (and the options before the URL)
    until its URL arrives."""

    def __init__(
        self, schemes: Collection[str] | None, taken: Collection[str], duplicates: bool = False
    ) -> None:
        self.schemes = None if schemes is None else {s.lower() for s in schemes}
        self.duplicates = duplicates
        self.names: set[str] = set(taken)
        self.urls: dict[str, Entry] = {}
        self.entries: list[Entry] = []
        self.issues: list[Issue] = []
        self.header: dict[str, str] = {}
        self.pending: tuple[int, dict[str, str], str] | None = None
        self.group: str | None = None
        self.options: dict[str, str] = {}
        self.properties: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        """Headers of ``#KODIPROP`` stream headers, for the next URL."""

    def issue(self, line: int, message: str) -> None:
        self.issues.append(Issue(line, message))

    def directive(self, number: int, line: str) -> None:
        tag = _TAG.match(line).group(0).upper()  # type: ignore[union-attr]  # "#" always matches
        rest = line[len(tag) :].removeprefix(":")
        if tag == "#EXTM3U":
            self.header = _split_extinf(line[len("#EXTM3U") :])[0]
        elif tag == "#EXTINF":
            if self.pending is not None:
                self.issue(self.pending[0], "#EXTINF without a URL after it: skipped")
            attrs, title = _split_extinf(rest)
            self.pending = (number, attrs, title)
        elif tag == "#EXTGRP":
            self.group = rest.strip() or None
        elif tag == "#EXTVLCOPT":
            if option := opts.vlc_option(rest):
                self.options[option[0]] = option[1]
        elif tag == "#KODIPROP":
            if prop := opts.kodi_property(rest):
                self.properties[prop[0]] = prop[1]
                if prop[0] in opts.KODI_HEADER_PROPERTIES:
                    self.headers.update(opts.kodi_headers(prop[1]))
        elif tag in {"#EXT-X-TARGETDURATION", "#EXT-X-STREAM-INF", "#EXT-X-MEDIA-SEQUENCE"}:
            self.issue(
                number,
                f"{tag} belongs to an HLS stream playlist, not a channel list: add the "
                "playlist's own URL as one channel instead",
            )
        # anything else (#EXTVLCOPT without '=', plain comments) is ignored

    def url(self, number: int, url: str, scheme: str, kodi: dict[str, str]) -> None:
        pending, self.pending = self.pending, None
        group, self.group = self.group, None
        options, self.options = self.options, {}
        properties, self.properties = self.properties, {}
        prop_headers, self.headers = self.headers, {}
        if self.schemes is not None and scheme.lower() not in self.schemes:
            self.issue(number, f"{scheme}:// is not an http(s) URL: skipped ({url[:80]})")
            return
        same = opts.normalise_url(url)
        if same in self.urls and not self.duplicates:
            first = self.urls[same]
            self.issue(number, f"same URL as line {first.line} ({first.name}): skipped")
            return
        attrs, title = (pending[1], pending[2]) if pending else ({}, "")
        title = title or attrs.get("tvg-name") or attrs.get("tvg-id") or _title_from_url(url)
        base, tags = name_and_tags(title)
        name = unique_name(base, self.names)
        self.names.add(name)
        headers = {**opts.vlc_headers(options), **prop_headers, **kodi}
        for header, option in _KODI_OPTIONS.items():
            if header in kodi:
                options.setdefault(option, kodi[header])
        entry = Entry(
            name=name,
            title=title,
            url=url,
            line=number,
            group=attrs.get("group-title") or group,
            tvg_id=attrs.get("tvg-id") or None,
            tvg_name=attrs.get("tvg-name") or None,
            tvg_logo=attrs.get("tvg-logo") or None,
            attrs={**properties, **attrs},
            options=options,
            key=_key(attrs.get("tvg-id"), url, title),
            resolver=resolver_for(url),
            tags=tags,
            headers=headers,
            shift=attrs.get("tvg-shift") or None,
            catchup={k: v for k, v in attrs.items() if k.startswith("catchup") and v},
        )
        self.urls.setdefault(same, entry)
        self.entries.append(entry)

    def line(self, number: int, line: str) -> None:
        if not line:
            return
        if line.startswith("#"):
            self.directive(number, line)
            return
        url, kodi = opts.split_url(line)  # Kodi style: URL|User-Agent=...&Referer=...
        found = _URL.match(url)
        if found:
            self.url(number, url, found.group(1), opts.kodi_headers(kodi))
        elif line.startswith("/"):
            self.issue(number, f"a local path, not an http(s) URL: skipped ({line[:80]})")
        else:
            self.issue(number, f"not a URL or a #EXT line: skipped ({line[:80]!r})")


def parse_m3u(
    text: str,
    schemes: Collection[str] | None = HTTP_SCHEMES,
    taken: Collection[str] = (),
    duplicates: bool = False,
) -> Playlist:
    """Every channel of an M3U playlist, with unique names that avoid ``taken``, and the issues.

    Only URLs with one of ``schemes`` become entries (None: any scheme). A URL seen before is
    reported and skipped, unless ``duplicates``: then every entry is returned and the caller picks
    (``import m3u`` keeps the one an earlier import wrote, so reordering never swaps titles).
    """
    reader = _Reader(schemes, taken, duplicates)
    lines = text.removeprefix("\ufeff").splitlines()
    if not lines or not lines[0].strip().upper().startswith("#EXTM3U"):
        reader.issue(1, "no #EXTM3U header: read as a plain list of URLs and #EXTINF lines")
    for number, raw in enumerate(lines, start=1):
        reader.line(number, raw.strip().removeprefix("\ufeff"))
    if reader.pending is not None:
        reader.issue(reader.pending[0], "#EXTINF without a URL after it: skipped")
    return Playlist(tuple(reader.entries), tuple(reader.issues), reader.header)
