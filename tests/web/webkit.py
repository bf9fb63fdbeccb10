"""Helpers for the HTTP API and dashboard tests: a real daemon serving TCP on a free loopback port.

The daemon helpers of ``tests/daemon`` (``daemonkit``) are imported from there. :func:`serve` writes a
config, starts ``streamrec run`` with ``STREAMREC_HTTP_LISTEN`` on a free port (and a token when
asked), and waits until ``/healthz`` answers on it; :func:`finish` stops it.

For the dashboard tests, :func:`chromium` opens a context of the system's headless Chromium
(``/usr/bin/chromium`` through Playwright's ``executable_path``; nothing is downloaded, and the
flags keep it from calling out anywhere), and :func:`screenshot_dir` is where screenshots go:
``STREAMREC_SCREENSHOTS`` when set, else the test's own tmp directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "daemon"))

from daemonkit import DaemonProcess  # found through the path set above
from media import FFMPEG

__all__ = [
    "CHROMIUM",
    "FFMPEG",
    "TOKEN",
    "DaemonProcess",
    "Served",
    "chromium",
    "finish",
    "free_port",
    "screenshot_dir",
    "serve",
    "serve_run",
]

TOKEN = "tok-3b9f1c2e7d"
"""The API token of the daemons that accept actions."""

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium, which the dashboard tests drive (``scripts/install-test-packages.sh``)."""

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
"""Headless, no calls home, and media may start without a click (the player starts muted anyway)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """A running daemon and an HTTP client for its TCP listener."""

    daemon: DaemonProcess
    base: str
    http: httpx.Client

    def get(self, path: str, **params: object) -> httpx.Response:
        return self.http.get(path, params=params or None)

    def post(self, path: str, token: str | None = None, **params: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post(path, params=params or None, headers=headers, timeout=60)


def serve(root: Path, config: str, *, token: str | None, **env: str) -> Served:
    """Start a daemon for ``config`` under ``root`` with TCP on a free port; wait for it."""
    return serve_run(root, config, token=token, **env)


def finish(served: Served) -> None:
    """Stop the daemon (and its group, if it does not stop) and close the client."""
    served.http.close()
    proc = served.daemon.proc
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(Exception):
            served.daemon.stop(timeout=10)
    if proc is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def chromium(
    viewport: tuple[int, int] = (1400, 1000), timezone: str | None = None
) -> Iterator[Any]:
    """A context of the system's headless Chromium with a fresh profile (and ``timezone``)."""
    import pytest

    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `bash scripts/install-test-packages.sh` (as root) first; "
            "the dashboard tests use Debian's chromium and never download a browser"
        )
    from playwright.sync_api import sync_playwright

    width, height = viewport
    with (
        tempfile.TemporaryDirectory(prefix="streamrec-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
            timezone_id=timezone,
        )
        try:
            yield context
        finally:
            context.close()


def screenshot_dir(tmp_path: Path) -> Path:
    """Where a test saves its screenshots: ``$STREAMREC_SCREENSHOTS``, else ``tmp_path``."""
    chosen = os.environ.get("STREAMREC_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def serve_run(root: Path, config: str | None, *args: str, token: str | None, **env: str) -> Served:
    """As :func:`serve`, with ``args`` for ``streamrec run`` (``--git URL``); ``config`` None
    writes no config file (the config comes from ``args``)."""
    port = free_port()
    extra = {"STREAMREC_HTTP_LISTEN": f"127.0.0.1:{port}", **env}
    if token:
        extra["STREAMREC_API_TOKEN"] = token
    daemon = DaemonProcess(root, extra)
    if not token:
        daemon.env.pop("STREAMREC_API_TOKEN", None)  # the caller's environment may set one
    if config is not None:
        daemon.write("config.yaml", config)
    daemon.start(*args)
    base = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=base, timeout=20)
    deadline = time.monotonic() + 20
    while True:
        try:
            if http.get("/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no HTTP on {base}:\n{daemon.tail()}")
        time.sleep(0.05)
    return Served(daemon, base, http)
