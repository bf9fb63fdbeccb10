"""Helpers for the HTTP API and dashboard tests: a real daemon serving TCP on a free loopback port.

The daemon helpers of ``tests/daemon`` (``daemonkit``) are imported from there. :func:`serve` writes a
config, starts ``streamrec run`` with ``STREAMREC_HTTP_LISTEN`` on a free port (and a token when
asked), and waits until ``/healthz`` answers on it; :func:`finish` stops it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "daemon"))

from daemonkit import DaemonProcess  # found through the path set above
from media import FFMPEG

__all__ = ["FFMPEG", "TOKEN", "DaemonProcess", "Served", "finish", "free_port", "serve"]

TOKEN = "tok-3b9f1c2e7d"
"""The API token of the daemons that accept actions."""


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
    port = free_port()
    extra = {"STREAMREC_HTTP_LISTEN": f"127.0.0.1:{port}", **env}
    if token:
        extra["STREAMREC_API_TOKEN"] = token
    daemon = DaemonProcess(root, extra)
    if not token:
        daemon.env.pop("STREAMREC_API_TOKEN", None)  # the caller's environment may set one
    daemon.write("config.yaml", config)
    daemon.start()
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
