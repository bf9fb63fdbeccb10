"""Start-up of the command line: ``--version``, ``--help``, ``status`` and ``validate``.

Prints the median wall time (and CPU time, user + system, which a busy host moves much less) of
each command over ``--runs`` runs of the real ``streamrec`` console script, next to a baseline
measured in the same run, interleaved with them: the bare interpreter, ``python -c pass``. Then, for each command, the modules that cost most to import
(cumulative, from ``python -X importtime``), leaving out those the bare interpreter imports too.
``status`` and ``validate`` run on a copy of the shipped ``config/`` in a scratch directory (no
daemon runs there, so ``status`` says so). Target: each command within 4x the bare interpreter.

Every command runs as an installed one does, from compiled bytecode: the bytecode goes to a
scratch ``PYTHONPYCACHEPREFIX`` (written by a first, untimed run of each row), whatever
``PYTHONDONTWRITEBYTECODE`` says; else a module edited since its ``.pyc`` was written would be
compiled again at every run.

    .venv/bin/python bench/bench_startup.py [--runs 15] [--top 8] [--config config]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from measuring import ImportTime, import_times, measure_cpu

BIN = Path(sys.executable).parent
TARGET_RATIO = 4.0


def profile(argv: list[str], cwd: Path, baseline: set[str], top: int) -> list[ImportTime]:
    """The ``top`` imports of ``argv`` by cumulative time, the bare interpreter's left out."""
    found = [t for t in import_times(argv, cwd) if t.module not in baseline]
    return sorted(found, key=lambda t: t.cumulative_s, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--config", type=Path, default=Path(__file__).parent.parent / "config")
    args = parser.parse_args()
    streamrec = [str(BIN / "streamrec"), "-q", "-c", "config"]
    rows = [
        ("streamrec --version", [str(BIN / "streamrec"), "--version"]),
        ("streamrec --help", [str(BIN / "streamrec"), "--help"]),
        ("streamrec status", [*streamrec, "status"]),
        ("streamrec validate", [*streamrec, "validate"]),
    ]
    bare = [sys.executable, "-c", "pass"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(args.config, root / "config")
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the children inherit os.environ
        os.environ["PYTHONPYCACHEPREFIX"] = str(root / "bytecode")
        walls: dict[str, list[float]] = {"python -c pass": []}
        cpus: dict[str, list[float]] = {"python -c pass": []}
        measure_cpu(bare, root)
        for label, argv in rows:
            _, _, exit_code = measure_cpu(argv, root)  # a first run: bytecode, state dir made
            if exit_code != 0:
                sys.exit(f"{label} exited {exit_code}; fix it before timing it")
            walls[label], cpus[label] = [], []
        for _ in range(args.runs):  # interleaved, so a busy moment of the host hits every row
            for label, argv in [("python -c pass", bare), *rows]:
                wall, cpu, _ = measure_cpu(argv, root)
                walls[label].append(wall)
                cpus[label].append(cpu)
        base = statistics.median(walls["python -c pass"])
        base_cpu = statistics.median(cpus["python -c pass"])
        print(
            f"medians over {args.runs} runs; target <= {TARGET_RATIO:.0f}x the baseline's wall time"
        )
        print(f"{'command':<24} {'wall s':>8} {'x bare':>7} {'cpu s':>8} {'x bare':>7}  verdict")
        for label in walls:
            wall, cpu = statistics.median(walls[label]), statistics.median(cpus[label])
            ratio = wall / base
            verdict = "baseline" if label == "python -c pass" else "met"
            if ratio > TARGET_RATIO:
                verdict = "missed"
            print(
                f"{label:<24} {wall:>8.3f} {ratio:>7.1f} {cpu:>8.3f} {cpu / base_cpu:>7.1f}  {verdict}"
            )
        baseline = {t.module for t in import_times(bare, root)}
        for label, argv in rows:
            print(f"\n{label}: top imports by cumulative time (ms), beyond the bare interpreter's")
            for entry in profile(argv, root, baseline, args.top):
                own = f"self {entry.self_s * 1000:.1f}, depth {entry.depth}"
                print(f"  {entry.module:<40} {entry.cumulative_s * 1000:>7.1f}  ({own})")


if __name__ == "__main__":
    main()
