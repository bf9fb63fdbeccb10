"""Fixtures for the cluster tests: a local etcd on free 127.0.0.1 ports (data dir in tmp) and real
daemons sharing one config through it.

The etcd fixture skips only when the ``etcd`` binary is missing outside CI; in CI (``CI=true``)
``scripts/install-test-packages.sh`` provides it, so a missing one fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "daemon"))

from daemonkit import DaemonProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalEtcd:
    """One etcd server on 127.0.0.1 that a test may stop and start again (same data dir)."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary, self.root = binary, root
        self.port, self.peer = free_port(), free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        client, peer = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.peer}"
        with (self.root / "etcd.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "--name",
                    "test",
                    "--data-dir",
                    str(self.root / "data"),
                    "--listen-client-urls",
                    client,
                    "--advertise-client-urls",
                    client,
                    "--listen-peer-urls",
                    peer,
                    "--initial-advertise-peer-urls",
                    peer,
                    "--initial-cluster",
                    f"test={peer}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"etcd did not start:\n{(self.root / 'etcd.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[LocalEtcd]:
    binary = shutil.which("etcd")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "etcd is missing in CI: scripts/install-test-packages.sh installs etcd-server"
            )
        pytest.skip("no etcd binary here (Debian: etcd-server)")
    root = tmp_path / "etcd"
    root.mkdir()
    server = LocalEtcd(binary, root)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    """Make DaemonProcess objects; each one still running at the end is killed with its group."""
    made: list[DaemonProcess] = []

    def make(name: str, **env: str) -> DaemonProcess:
        process = DaemonProcess(tmp_path / name, env or None)
        made.append(process)
        return process

    yield make
    for process in made:
        if process.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(process.proc.pid, signal.SIGCONT)
        if process.proc is not None and process.proc.poll() is None:
            with contextlib.suppress(Exception):
                process.stop(timeout=10)
        if process.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.proc.pid, signal.SIGKILL)
