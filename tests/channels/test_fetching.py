"""Reading a playlist over HTTP (runtime.fetching), against real servers on 127.0.0.1: basic auth
from the URL, redirects (credentials kept to their origin), gzip, the size limit (a gzip bomb too),
HTTP errors with their status, and a server that never answers."""

from __future__ import annotations

import base64
import gzip
import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streamrec.runtime.fetching import FetchError, read_playlist

PLAYLIST = b'#EXTM3U\n#EXTINF:-1 group-title="News",News\nhttp://127.0.0.1:9/news/index.m3u8\n'
SECRET = "s3cr3t-pw"
AUTH = "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 whose answers are ``routes[path](handler)``."""

    def __init__(self, routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]]):
        self.seen: list[tuple[str, str | None]] = []  # (path, Authorization) of each request
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.seen.append((self.path, self.headers.get("Authorization")))
                route = routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                route(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _body(data: bytes, encoding: str | None = None) -> Callable[..., None]:
    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        if encoding:
            handler.send_header("Content-Encoding", encoding)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return answer


def _redirect(location: Callable[[], str]) -> Callable[..., None]:
    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location())
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def _protected(handler: http.server.BaseHTTPRequestHandler) -> None:
    if handler.headers.get("Authorization") != AUTH:
        handler.send_response(401)
        handler.send_header("WWW-Authenticate", 'Basic realm="tv"')
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return
    _body(PLAYLIST)(handler)


@pytest.fixture
def server() -> Iterator[Server]:
    other = Server({"/list.m3u": _body(PLAYLIST)})
    routes = {
        "/list.m3u": _body(PLAYLIST),
        "/private.m3u": _protected,
        "/moved": _redirect(lambda: "/private.m3u"),
        "/away": _redirect(lambda: f"{other.url}/list.m3u"),
        "/loop": _redirect(lambda: "/loop"),
        "/zipped": _body(gzip.compress(PLAYLIST), "gzip"),
        "/list.m3u.gz": _body(gzip.compress(PLAYLIST)),
        "/bomb.m3u.gz": _body(gzip.compress(b"#" * (20 << 20))),
        "/big.m3u": _body(PLAYLIST * 1000),
    }
    main = Server(routes)
    main.other = other  # type: ignore[attr-defined]
    yield main
    main.close()
    other.close()


def _with_credentials(url: str) -> str:
    return url.replace("http://", f"http://user:{SECRET}@")


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown(server):
    with pytest.raises(FetchError) as refused:
        read_playlist(f"{server.url}/private.m3u", max_bytes=1 << 20)
    assert "HTTP 401 Unauthorized" in str(refused.value)
    fetched = read_playlist(_with_credentials(f"{server.url}/private.m3u"), max_bytes=1 << 20)
    assert fetched.data == PLAYLIST and fetched.stem == "private"
    assert server.seen[-1] == ("/private.m3u", AUTH)
    with pytest.raises(FetchError) as missing:
        read_playlist(_with_credentials(f"{server.url}/missing.m3u"), max_bytes=1 << 20)
    assert "HTTP 404 Not Found" in str(missing.value)
    assert SECRET not in str(missing.value) and "user:***@127.0.0.1" in str(missing.value)


def test_redirects_are_followed_and_credentials_stay_with_their_origin(server):
    fetched = read_playlist(_with_credentials(f"{server.url}/moved"), max_bytes=1 << 20)
    assert fetched.data == PLAYLIST and fetched.stem == "private"
    assert server.seen[-2:] == [("/moved", AUTH), ("/private.m3u", AUTH)]
    other = server.other
    assert (
        read_playlist(_with_credentials(f"{server.url}/away"), max_bytes=1 << 20).data == PLAYLIST
    )
    assert other.seen == [("/list.m3u", None)]  # another port: no Authorization sent there
    with pytest.raises(FetchError, match="more than 5 redirects"):
        read_playlist(f"{server.url}/loop", max_bytes=1 << 20)


def test_gzip_answers_and_gz_bodies_are_decompressed(server, tmp_path: Path):
    assert read_playlist(f"{server.url}/zipped", max_bytes=1 << 20).data == PLAYLIST
    fetched = read_playlist(f"{server.url}/list.m3u.gz", max_bytes=1 << 20)
    assert fetched.data == PLAYLIST and fetched.stem == "list"
    local = tmp_path / "tv.m3u.gz"
    local.write_bytes(gzip.compress(PLAYLIST))
    assert read_playlist(str(local), max_bytes=1 << 20) == type(fetched)(PLAYLIST, "tv")


def test_the_size_limit_holds_before_and_after_decompression(server):
    assert (
        len(read_playlist(f"{server.url}/big.m3u", max_bytes=1 << 20).data) == len(PLAYLIST) * 1000
    )
    small = len(PLAYLIST) * 10
    with pytest.raises(FetchError, match="larger than"):
        read_playlist(f"{server.url}/big.m3u", max_bytes=small)
    started = time.monotonic()
    with pytest.raises(FetchError, match="larger than 1 MiB"):  # 20 MiB of text in 20 KiB of gzip
        read_playlist(f"{server.url}/bomb.m3u.gz", max_bytes=1 << 20)
    assert time.monotonic() - started < 5


@pytest.fixture
def silent() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/list.m3u"
    listener.close()


def test_a_server_that_never_answers_times_out(silent):
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out after 0\.3 s"):
        read_playlist(silent, max_bytes=1 << 20, timeout=0.3)
    assert time.monotonic() - started < 3


def test_import_from_a_url_with_credentials_writes_and_shows_no_secret(
    server, silent, write_config, cli_for
):
    directory = write_config({"settings.yaml": "settings: {timezone: UTC}\n"})
    cli = cli_for(directory)
    code, out, err = cli("import", "m3u", _with_credentials(f"{server.url}/moved"))
    assert code == 0, err
    assert "1 channels and 1 new categories written to config/imported-private.yaml" in out
    written = "".join(p.read_text(encoding="utf-8") for p in directory.glob("*.yaml"))
    assert SECRET not in out + err + written
    code, out, err = cli("import", "m3u", _with_credentials(f"{server.url}/nothing.m3u"))
    assert code == 1 and "HTTP 404 Not Found" in err and SECRET not in out + err
    code, _, err = cli("import", "m3u", silent, "--timeout", "0.3")
    assert code == 1 and "timed out after 0.3 s" in err
