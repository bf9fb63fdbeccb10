"""Fetching a playlist over HTTP(S), or reading it from a file: bounded bytes, or a clear error.

``import m3u`` (``cli.importing``) reads its playlist through :func:`read_playlist`, the one seam
for that side effect (a test or another front end passes its own ``opener``). What it does:

- credentials in the URL (``https://user:pass@host/list.m3u``) are taken out of the request URL
  and sent as HTTP basic auth, only to that scheme, host and port: a redirect to another origin
  goes without them;
- redirects are followed, at most :data:`MAX_REDIRECTS`;
- ``Content-Encoding: gzip`` answers and gzip bodies (``.gz`` files, or any body that starts with
  gzip's magic bytes) are decompressed;
- at most ``max_bytes`` are read, before and after decompression (a gzip bomb stops at the limit);
- the whole fetch has one deadline (``timeout`` seconds), not one per socket read;
- every failure is a :class:`FetchError` whose message names the URL with its secrets hidden
  (``core.redact``) and says what went wrong: ``HTTP 404 Not Found``, ``timed out after 30 s``.
"""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from streamrec.core.redact import redact_url
from streamrec.errors import StreamrecError

MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = 30.0
CHUNK = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"

Opener = Callable[[urllib.request.Request, float], Any]
"""Opens a request with a socket timeout and returns a response (``urllib``'s, or a test's)."""


class FetchError(StreamrecError):
    """A playlist could not be read: a network or HTTP error, a timeout, too large (nothing read)."""


@dataclass(frozen=True)
class Fetched:
    """The bytes of a playlist (decompressed) and the name of the file or URL path they came from."""

    data: bytes
    stem: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as answers: :func:`fetch_url` follows them itself, to drop credentials."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _open(request: urllib.request.Request, timeout: float) -> Any:
    opener = urllib.request.build_opener(_NoRedirect)
    return opener.open(request, timeout=timeout)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _split_credentials(url: str) -> tuple[str, str | None]:
    """The URL without its user info, and the ``Authorization`` value it stood for."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return urlunsplit(parts._replace(netloc=host)), f"Basic {token}"


def _stem(path: str) -> str:
    name = Path(unquote(path)).name
    return Path(name.removesuffix(".gz")).stem


def decompressed(data: bytes, max_bytes: int, gzipped: bool = False) -> bytes:
    """``data``, gunzipped when it says so (or starts like gzip); at most ``max_bytes`` + 1 bytes."""
    if not (gzipped or data.startswith(GZIP_MAGIC)):
        return data
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, read from the data
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise FetchError(f"the playlist is not valid gzip ({exc})") from None
    return out


def _read(response: Any, max_bytes: int, deadline: float, timeout: float) -> bytes:
    chunks, size = [], 0
    while size <= max_bytes:
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s")
        chunk = response.read(min(CHUNK, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def fetch_url(
    url: str,
    *,
    max_bytes: int,
    timeout: float = DEFAULT_TIMEOUT,
    opener: Opener = _open,
) -> Fetched:
    """The body of ``url`` (http or https), credentials sent as basic auth, redirects followed."""
    shown = redact_url(url)
    plain, auth = _split_credentials(url)
    origin = _origin(plain)
    deadline = time.monotonic() + timeout
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            headers = {"User-Agent": "streamrec", "Accept-Encoding": "gzip"}
            if auth and _origin(plain) == origin:
                headers["Authorization"] = auth
            request = urllib.request.Request(plain, headers=headers)  # noqa: S310 - http(s) only
            left = max(0.001, deadline - time.monotonic())
            try:
                response = opener(request, left)
            except urllib.error.HTTPError as exc:
                location = exc.headers.get("Location") if 300 <= exc.code < 400 else None
                exc.close()
                if not location:
                    raise FetchError(
                        f"cannot read the playlist {shown}: HTTP {exc.code} {exc.reason}"
                    ) from None
                plain = urljoin(plain, location)
                if urlsplit(plain).scheme.lower() not in {"http", "https"}:
                    raise FetchError(
                        f"cannot read the playlist {shown}: redirected to a non-http(s) URL"
                    ) from None
                continue
            with response:
                data = _read(response, max_bytes, deadline, timeout)
                encoding = (response.headers.get("Content-Encoding") or "").lower()
            gzipped = encoding in {"gzip", "x-gzip"} or urlsplit(plain).path.endswith(".gz")
            data = _limited(decompressed(data, max_bytes, gzipped), max_bytes)
            return Fetched(data, _stem(urlsplit(plain).path))
    except (TimeoutError, OSError, urllib.error.URLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            reason = f"timed out after {timeout:g} s"
        raise FetchError(f"cannot read the playlist {shown}: {reason}") from None
    raise FetchError(f"cannot read the playlist {shown}: more than {MAX_REDIRECTS} redirects")


def _limited(data: bytes, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        limit = f"{max_bytes >> 20} MiB" if max_bytes >= 1 << 20 else f"{max_bytes} bytes"
        raise FetchError(f"the playlist is larger than {limit}; refused")
    return data


def read_playlist(
    source: str,
    *,
    max_bytes: int,
    timeout: float = DEFAULT_TIMEOUT,
    opener: Opener = _open,
) -> Fetched:
    """The bytes of a playlist file or http(s) URL, gunzipped, within ``max_bytes``."""
    if urlsplit(source).scheme.lower() in {"http", "https"}:
        return fetch_url(source, max_bytes=max_bytes, timeout=timeout, opener=opener)
    path = Path(source)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"cannot read the playlist {source}: {exc.strerror or exc}") from None
    data = _limited(data, max_bytes)
    return Fetched(
        _limited(decompressed(data, max_bytes, source.endswith(".gz")), max_bytes), _stem(path.name)
    )
