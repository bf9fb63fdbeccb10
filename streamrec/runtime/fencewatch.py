"""The fence's second half: a small watchdog process that stops the daemon's ffmpeg children when
the daemon itself cannot (it is stopped by SIGSTOP, frozen, or its loop is blocked).

``daemon.cluster`` starts one :class:`FenceWatch` when it joins a cluster and, after each good lease
renewal, writes the fence deadline (``core.membership.fence_deadline``, in ``time.monotonic``
seconds, which every process on the machine shares) to a file in the state dir. The watchdog
(``python -m streamrec.runtime.fencewatch PID DEADLINE_FILE PIDS_DIR``) looks every 0.2 s: once the
deadline has passed, every ffmpeg named by the daemon's pid files (``daemon.channels``) that is
still the daemon's child gets SIGTERM (ffmpeg finishes its file on it), and again while the deadline
stays past; a renewal moves the deadline on. The daemon's own loop fences itself too (recorders
stopped, ``cluster.fenced``); the watchdog only covers the time the daemon cannot run, so that no
ffmpeg of this member outlives half a TTL without a renewal, before another member may take over.

It imports nothing of streamrec but this module and exits when its parent is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

EVERY = 0.2
"""Seconds between two looks of the watchdog."""


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]) if fields[0] != "Z" else None


def stop_children(daemon: int, pids_dir: Path) -> list[int]:
    """SIGTERM every ffmpeg of ``daemon``'s pid files that is still its child; the pids."""
    stopped = []
    for path in pids_dir.glob("channel-*/ffmpeg.json"):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            record = json.loads(path.read_text())
            pid = int(record["pid"])
            if int(record.get("daemon", daemon)) == daemon and _parent_of(pid) == daemon:
                os.kill(pid, signal.SIGTERM)
                stopped.append(pid)
    return stopped


def read_deadline(path: Path) -> float | None:
    with contextlib.suppress(OSError, ValueError):
        return float(path.read_text().strip())
    return None


def watch(daemon: int, deadline_file: Path, pids_dir: Path) -> None:
    """Look every :data:`EVERY` seconds until the parent ``daemon`` is gone (module docstring)."""
    while os.getppid() == daemon:
        deadline = read_deadline(deadline_file)
        if deadline is not None and time.monotonic() > deadline:
            stop_children(daemon, pids_dir)
        time.sleep(EVERY)


class FenceWatch:
    """The daemon's side: start the watchdog and move its deadline."""

    def __init__(self, deadline_file: Path, pids_dir: Path) -> None:
        self.deadline_file, self.pids_dir = deadline_file, pids_dir
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, deadline: float) -> None:
        """Write ``deadline`` and start the watchdog (once)."""
        self.move(deadline)
        if self._proc is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "streamrec.runtime.fencewatch", str(os.getpid()),
                 str(self.deadline_file), str(self.pids_dir)],
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def move(self, deadline: float) -> None:
        """Write a new deadline (atomically: a temporary file renamed)."""
        tmp = self.deadline_file.with_name(self.deadline_file.name + ".tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(f"{deadline:.3f}\n")
            tmp.replace(self.deadline_file)

    def close(self) -> None:
        """Stop the watchdog (a clean stop: the recorders are already stopped)."""
        if self._proc is not None:
            self._proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(2)
            self._proc = None
        with contextlib.suppress(OSError):
            self.deadline_file.unlink()


if __name__ == "__main__":  # pragma: no cover - the watchdog process itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
