"""Player options of playlist entries, read the way Kodi and VLC read them: HTTP headers mostly.

``core.m3u`` hands each option of an entry here and gets back the entry's stream URL and HTTP
headers (``User-Agent``, ``Referer``, ``Origin``, ...), which ``import m3u`` passes on to ffmpeg.
Pure: text in, values out; nothing of it is executed or interpolated.

The three spellings players understand:

- Kodi's ``URL|User-Agent=Mozilla/5.0 (Windows NT 10.0; Win64; x64)&Referer=https://x/``: the URL
  ends at the first ``|`` that a ``Name=`` follows; the values may hold spaces and are
  percent-decoded (``%20``, ``%26`` for a literal ``&``), the pairs are separated by ``&``;
- VLC's ``#EXTVLCOPT:http-user-agent=...``, ``http-referrer`` (or ``http-referer``),
  ``http-origin`` and ``http-cookie`` lines before the URL;
- Kodi's ``#KODIPROP:inputstream.adaptive.stream_headers=User-Agent=...&Referer=...`` (and
  ``common_headers``, ``manifest_headers``), in Kodi's ``|`` syntax; every other ``#KODIPROP``
  (``inputstream.adaptive.manifest_type=hls``, ...) is a plain property.

Header names are written the usual way (``user-agent`` is ``User-Agent``); when the same header
comes more than once, the last spelling read wins, in the order VLC lines, Kodi properties, ``|``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

from streamrec.core.redact import is_secret_name

_PIPE_OPTIONS = re.compile(r"\|(?=[ \t]*[A-Za-z][A-Za-z0-9_.-]*[ \t]*=)")
"""The ``|`` that starts Kodi options: one followed by ``Name=``."""
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+\Z")
"""An HTTP header name (a token): anything else is not passed on."""

VLC_HEADERS = {
    "http-user-agent": "User-Agent",
    "http-referrer": "Referer",
    "http-referer": "Referer",
    "http-origin": "Origin",
    "http-cookie": "Cookie",
}
"""The ``#EXTVLCOPT`` options that are HTTP headers, and the header each one is."""
KODI_HEADER_PROPERTIES = frozenset(
    f"inputstream.adaptive.{kind}_headers" for kind in ("stream", "common", "manifest")
)
"""The ``#KODIPROP`` properties whose value is a list of headers in Kodi's ``|`` syntax."""
_SPELLING = {
    "user-agent": "User-Agent",
    "referer": "Referer",
    "referrer": "Referer",
    "origin": "Origin",
    "cookie": "Cookie",
    "authorization": "Authorization",
    "x-forwarded-for": "X-Forwarded-For",
}


def header_name(name: str) -> str | None:
    """``name`` as a header is usually written (``user-agent`` -> ``User-Agent``), or None when
    it cannot be a header name (spaces, ``:``, empty)."""
    name = name.strip()
    if not _HEADER_NAME.match(name):
        return None
    return _SPELLING.get(name.lower(), name)


def split_url(line: str) -> tuple[str, str]:
    """A URL line as its URL and its Kodi options (``""`` when it has none).

    ``http://h/a.m3u8|User-Agent=Mozilla/5.0 (X11)`` is ``("http://h/a.m3u8", "User-Agent=...")``;
    a ``|`` that no ``Name=`` follows belongs to the URL.
    """
    found = _PIPE_OPTIONS.search(line)
    if found is None:
        return line.strip(), ""
    return line[: found.start()].strip(), line[found.end() :].strip()


def kodi_headers(options: str) -> dict[str, str]:
    """``User-Agent=Mozilla/5.0 (X11)&Referer=https%3A%2F%2Fx%2F`` as headers, values decoded;
    pairs without ``=``, with an empty value or a name that is no header name are left out."""
    headers: dict[str, str] = {}
    for pair in options.split("&"):
        key, sep, value = pair.partition("=")
        name = header_name(unquote(key))
        value = unquote(value).strip()
        if sep and name and value:
            headers[name] = value
    return headers


def vlc_option(line: str) -> tuple[str, str] | None:
    """The text after ``#EXTVLCOPT:`` as an option name (lower-case) and its value, or None."""
    key, sep, value = line.partition("=")
    key = key.strip().lower()
    return (key, value.strip()) if sep and key else None


def vlc_headers(options: dict[str, str]) -> dict[str, str]:
    """The HTTP headers among VLC options (:data:`VLC_HEADERS`), empty values left out."""
    return {VLC_HEADERS[k]: v for k, v in options.items() if k in VLC_HEADERS and v}


def kodi_property(line: str) -> tuple[str, str] | None:
    """The text after ``#KODIPROP:`` as a property name (lower-case) and its value, or None."""
    return vlc_option(line)


def normalise_url(url: str) -> str:
    """``url`` as an identity: what stays the same when a playlist is fetched again.

    Scheme and host lower-case, no default port, no fragment, no Kodi options; no user-info and no
    query values under secret-looking keys (``?token=``: they change on every fetch of some
    playlists, and a password change is the same stream); the path and the rest of the query as
    written (servers tell case apart).
    """
    url = split_url(url)[0]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # "http://[bad", "http://h:99999": compare the text as it is
        return url
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if parts.hostname is not None:
        host = parts.hostname.lower()
        host = f"[{host}]" if ":" in host else host
        default = {"http": 80, "https": 443}.get(scheme)
        netloc = f"{host}:{port}" if port is not None and port != default else host
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and not is_secret_name(pair.split("=")[0])
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))
