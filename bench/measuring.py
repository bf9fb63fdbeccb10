"""Wall time and peak memory of one command, for the bench scripts (run as ``python bench/X.py``).

The peak RSS of children is a running maximum, so each command is measured in a fresh helper
process of its own; :func:`measure_cpu` reads its CPU time instead. :func:`import_times` reads
what a Python command imports, and what each import took, from ``python -X importtime``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_HELPER = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], capture_output=True); "
    "w = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(w, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024, r.returncode)"
)


def measured_env() -> dict[str, str]:
    """The environment of every measured command: this one's now, less
    ``PYTHONDONTWRITEBYTECODE``. An installed package has its bytecode (pip writes it), and a
    measured command's first run writes it for a source checkout; with that variable set, every
    run would compile streamrec's modules again (70-80 ms of a 250 ms ``--help``), which no
    user's start-up pays."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run_measured(argv: list[str], cwd: Path) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds, peak MB and exit code of ``argv`` run in ``cwd``, measured by
    a fresh interpreter whose only child it is."""
    out = subprocess.run(
        [sys.executable, "-c", _HELPER, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=measured_env(),
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), int(out[3])


def measure(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak MB and exit code of ``argv`` run in ``cwd``."""
    wall, _cpu, peak, code = _run_measured(argv, cwd)
    return wall, peak, code


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


def measure_cpu(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, children included) and exit code of ``argv``.

    On a busy host the CPU time moves much less than the wall time, which waits for a core.
    """
    wall, cpu, _peak, code = _run_measured(argv, cwd)
    return wall, cpu, code


@dataclass(frozen=True)
class ImportTime:
    """One line of ``python -X importtime``: a module and what importing it took."""

    module: str
    self_s: float
    cumulative_s: float
    depth: int
    """How deep in the import tree it was (0: imported by the program itself)."""


def import_times(argv: list[str], cwd: Path) -> list[ImportTime]:
    """The imports ``argv`` (a Python program) makes, from ``-X importtime``
    (``PYTHONPROFILEIMPORTTIME``, so a console script is profiled as it is run)."""
    stderr = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**measured_env(), "PYTHONPROFILEIMPORTTIME": "1"},
    ).stderr
    found: list[ImportTime] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        if not own.strip().isdigit():  # the header line
            continue
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        found.append(ImportTime(name.strip(), int(own) / 1e6, int(cumulative) / 1e6, depth))
    return found


def proc_memory(pid: int) -> dict[str, int]:
    """RSS of one process split as the kernel counts it (``/proc/PID/smaps_rollup``, bytes):
    ``anon`` (heap, stacks: what a leak grows), ``file`` (pages of libraries and mapped files,
    paged in as code first runs) and ``rss``, their sum; ``{}`` once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    kb = {}
    for line in text.splitlines()[1:]:
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            kb[key] = int(fields[0]) * 1024
    rss = kb.get("Rss", 0)
    anon = kb.get("Anonymous", 0)
    return {"rss": rss, "anon": anon, "file": rss - anon}
