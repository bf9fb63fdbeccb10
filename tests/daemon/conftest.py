"""Fixtures for daemon tests: a live local HLS source and a daemon factory that cleans up."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from daemonkit import DaemonProcess


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    """Make DaemonProcess objects; each one still running at the end is killed with its group."""
    made: list[DaemonProcess] = []

    def make(name: str = "d", **env: str) -> DaemonProcess:
        process = DaemonProcess(tmp_path / name if name != "d" else tmp_path, env or None)
        made.append(process)
        return process

    yield make
    for process in made:
        if process.proc is not None and process.proc.poll() is None:
            with contextlib.suppress(Exception):
                process.stop(timeout=10)
        if process.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.proc.pid, signal.SIGKILL)
