"""Helpers for daemon tests: a real `streamrec run` in a subprocess, and waiting on its state log."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

STREAMREC = [sys.executable, "-m", "streamrec"]


class DaemonProcess:
    """One `streamrec run` child with its config dir and state dir under a test's tmp_path."""

    def __init__(self, root: Path, extra_env: dict[str, str] | None = None) -> None:
        self.root = root
        self.config = root / "config"
        self.state = root / "state"
        self.config.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "STREAMREC_STATE_DIR": str(self.state), **(extra_env or {})}
        self.env.pop("STREAMREC_CONFIG", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "daemon.log"

    def write(self, name: str, text: str) -> None:
        """Write a config file atomically (temp file + rename, as editors do)."""
        path = self.config / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        tmp.replace(path)

    def start(self, *args: str) -> DaemonProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*STREAMREC, "-c", str(self.config), "run", *args],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for(lambda e: e["type"] == "daemon.started" and e["pid"] == self.proc.pid)
        return self

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*STREAMREC, "-c", str(self.config), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"streamrec {' '.join(args)}: {done.returncode}\n{done.stderr}")
        return done

    def events(self) -> list[dict[str, Any]]:
        path = self.state / "events.jsonl"
        if not path.exists():
            return []
        found = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 30.0, after: int = 0
    ) -> dict[str, Any]:
        """The first event after seq ``after`` that matches; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if event["seq"] > after and match(event):
                    return event
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}):\n{self.tail()}")
            time.sleep(0.05)
        raise AssertionError(f"no matching event within {timeout}s:\n{self.tail()}")

    def last_seq(self) -> int:
        events = self.events()
        return events[-1]["seq"] if events else 0

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL the daemon alone (its children get their parent-death signal)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> float:
        """SIGTERM and wait; how long the exit took."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        return time.monotonic() - started


RECORDER = "_%06d."
"""In the command line of a recording ffmpeg (its segment pattern), not in that of a side fetch
of the segments a restart skipped (``backfill_...``, which may run beside it for a while)."""


def processes() -> Iterator[tuple[int, str, str]]:
    """Every running process as (pid, command line with spaces, ``/proc/PID/stat``)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        yield int(entry.name), cmdline, stat


def ffmpeg_processes(marker: str, *, also: str = "") -> list[int]:
    """Pids of running ffmpeg processes whose command line contains ``marker`` (and ``also``)."""
    return [
        pid
        for pid, cmdline, stat in processes()
        if "ffmpeg" in cmdline and marker in cmdline and also in cmdline and ") Z " not in stat
    ]


def children(pid: int, *, marker: str = "") -> list[int]:
    """Pids of the processes whose parent is ``pid`` (and whose command line holds ``marker``)."""
    return [
        child
        for child, cmdline, stat in processes()
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and marker in cmdline
    ]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped by init does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def never() -> AsyncIterator[set[Any]]:
    """A config watch that reports nothing (for an in-process daemon a test reconciles itself)."""
    await asyncio.Event().wait()
    yield set()


def read_events(state: Path) -> list[dict[str, Any]]:
    """The events of ``state/events.jsonl`` as written (none when there is no log yet)."""
    path = state / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
