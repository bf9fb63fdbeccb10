"""Wall time and peak memory of one command, for the bench scripts (run as ``python bench/X.py``).

The peak RSS of children is a running maximum, so each command is measured in a fresh helper
process of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_HELPER = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], capture_output=True); "
    "w = time.perf_counter() - t; "
    "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, r.returncode)"
)


def measure(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak MB and exit code of ``argv`` run in ``cwd``."""
    out = subprocess.run(
        [sys.executable, "-c", _HELPER, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu_rss(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and RSS bytes of one process; (0, 0) once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, int(fields[21]) * os.sysconf(
        "SC_PAGE_SIZE"
    )


def proc_fds_threads(pid: int) -> tuple[int, int]:
    """Open file descriptors and threads of one process; (0, 0) once it is gone."""
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0, 0
    return fds, threads


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` (from ``/proc/PID/task/*/children``)."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            out += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return out
