"""The ``testsrc://`` URL scheme: a built-in live test stream, started on demand by this process.

A channel whose ``url`` is ``testsrc://NAME`` records the lavfi test picture and tone that
``streamrec demo`` records: ``runtime.testsource.HlsTestSource`` encodes them to a live HLS stream
served on ``127.0.0.1`` on a free port. ``NAME`` is any label (channels naming the same URL share
one stream, different names get different streams); ``?size=WxH`` sets the picture size (default
320x180). The resolvers (``runtime.resolvers``) turn such a URL into the source's playlist URL.

Ownership: each recorder that resolves a ``testsrc://`` URL holds a lease on its stream; the stream
starts with the first lease and stops when the last recorder releases it (at the end of
``Recorder.run``) or when this process exits. Each stream runs in a helper process
(``python -m streamrec.runtime.testsrc FFMPEG SIZE``) that keeps the source and stops it, encoder
and files, as soon as its stdin reaches end of file. The kernel closes that pipe whenever this
process ends, also when it is killed with SIGKILL, so no encoder outlives it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass

from streamrec.errors import RecorderError

SCHEME = "testsrc"
DEFAULT_SIZE = "320x180"
START_TIMEOUT = 20.0
"""Seconds the helper may take to announce its playlist (the source itself waits up to 15)."""
STOP_TIMEOUT = 5.0
_SIZE = re.compile(r"[1-9]\d{1,3}x[1-9]\d{1,3}")


def is_testsrc(url: str) -> bool:
    """Whether ``url`` names a built-in test stream (``testsrc://...``)."""
    return urllib.parse.urlsplit(url).scheme.lower() == SCHEME


@dataclass(frozen=True)
class TestSrc:
    """One built-in stream, as a ``testsrc://`` URL asks for it."""

    __test__ = False  # not a pytest test class, whatever its name

    name: str
    size: str = DEFAULT_SIZE

    @property
    def key(self) -> str:
        """The normalized URL: channels whose URLs have the same key share one stream."""
        return f"{SCHEME}://{self.name}?size={self.size}"


def parse(url: str) -> TestSrc:
    """The stream a ``testsrc://NAME[?size=WxH]`` URL asks for; RecorderError if it is malformed."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != SCHEME:
        raise RecorderError(f"not a {SCHEME}:// URL: {url!r}")
    options = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(options) - {"size"})
    if unknown:
        raise RecorderError(f"{url}: unknown option {unknown[0]!r} (the one option is size=WxH)")
    size = options.get("size", [DEFAULT_SIZE])[-1]
    if not _SIZE.fullmatch(size):
        raise RecorderError(f"{url}: size must be WIDTHxHEIGHT, like 640x360, not {size!r}")
    return TestSrc((parts.netloc + parts.path).strip("/").lower() or "default", size)


class _Helper:
    """One running helper process and the playlist URL it announced."""

    def __init__(self, ffmpeg: str, source: TestSrc) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__, ffmpeg, source.size],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C in our terminal is ours; we stop it ourselves
        )
        assert self.proc.stdout is not None  # stdout=PIPE above
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT)
        line = os.read(self.proc.stdout.fileno(), 4096).decode() if ready else ""
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise RecorderError(f"not live: the built-in test stream {source.key} did not start")
        self.url = line.strip()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """End of file on its stdin stops the source; killed if it does not exit in time."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class TestSources:
    """The built-in streams of this process, counted by lease, each started once and shared."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, int] = {}
        self._helpers: dict[str, _Helper] = {}
        self._exit_hook = False

    def acquire(self, source: TestSrc) -> None:
        """One more user of ``source`` (started by :meth:`url`, stopped by the last release)."""
        with self._lock:
            self._users[source.key] = self._users.get(source.key, 0) + 1

    def release(self, source: TestSrc) -> None:
        """One user fewer; the last one stops the stream."""
        with self._lock:
            left = self._users.get(source.key, 0) - 1
            if left > 0:
                self._users[source.key] = left
                return
            self._users.pop(source.key, None)
            helper = self._helpers.pop(source.key, None)
        if helper is not None:
            helper.stop()

    def url(self, source: TestSrc) -> str:
        """The playlist URL of ``source``, started (again, if it died) as needed. Blocks."""
        from streamrec.runtime.ffmpeg import find_ffmpeg  # late: the helper process never needs it

        with self._lock:
            helper = self._helpers.get(source.key)
            if helper is None or not helper.alive:
                if helper is not None:
                    helper.stop()
                if not self._exit_hook:
                    atexit.register(self.close)
                    self._exit_hook = True
                helper = self._helpers[source.key] = _Helper(find_ffmpeg(None).path, source)
            return helper.url

    def running(self) -> list[str]:
        """The keys of the streams running now."""
        with self._lock:
            return sorted(key for key, helper in self._helpers.items() if helper.alive)

    def close(self) -> None:
        """Stop every stream (at exit)."""
        with self._lock:
            helpers = list(self._helpers.values())
            self._helpers.clear()
            self._users.clear()
        for helper in helpers:
            helper.stop()


SOURCES = TestSources()
"""The streams of this process; the resolvers lease from it."""


def _serve(ffmpeg: str, size: str) -> int:
    """The helper: run one source until stdin ends (or SIGTERM), then stop it and its files."""
    from streamrec.runtime.testsource import HlsTestSource

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with HlsTestSource(ffmpeg, size=size) as source:
        source.start()
        os.write(sys.stdout.fileno(), f"{source.url}\n".encode())
        while source.running:
            ready, _, _ = select.select([sys.stdin], [], [], 1.0)
            if ready and not os.read(sys.stdin.fileno(), 4096):
                return 0
    return 1  # the encoder died: the next resolve starts a new helper


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(_serve(sys.argv[1], sys.argv[2]))
