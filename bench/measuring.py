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
