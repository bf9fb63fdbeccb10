"""Run ``python -m streamrec`` under tracemalloc; each SIGUSR2 writes a snapshot (for ``soak.py``).

    python bench/memtrace.py DIR FRAMES -c CONFIG run

The snapshots are ``DIR/snapshot-1.pickle``, ``-2`` and so on, in the order of the signals;
:func:`compare` prints what grew between two of them, by the allocating line (the innermost
frame inside ``streamrec`` when there is one, else the innermost of all). Only the bench uses
this: the daemon itself has no signal for it.
"""

from __future__ import annotations

import itertools
import linecache
import runpy
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType


def _install(directory: Path) -> None:
    counter = itertools.count(1)

    def dump(_signum: int, _frame: FrameType | None) -> None:
        snapshot = tracemalloc.take_snapshot()
        snapshot.dump(str(directory / f"snapshot-{next(counter)}.pickle"))

    signal.signal(signal.SIGUSR2, dump)


def _where(trace: tracemalloc.Traceback) -> str:
    frames = list(trace)  # most recent call last
    own = [f for f in frames if "/streamrec/" in f.filename]
    frame = own[-1] if own else frames[-1]
    name = frame.filename.split("/site-packages/")[-1].split("/streamrec/")[-1]
    line = linecache.getline(frame.filename, frame.lineno).strip()
    return f"{name}:{frame.lineno}  {line[:70]}"


def compare(first: Path, last: Path, top: int = 25) -> None:
    """Print the total traced growth and the ``top`` lines whose allocations grew the most."""
    old = tracemalloc.Snapshot.load(str(first))
    new = tracemalloc.Snapshot.load(str(last))
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    old, new = old.filter_traces(ignore), new.filter_traces(ignore)
    total_old = sum(s.size for s in old.statistics("filename"))
    total_new = sum(s.size for s in new.statistics("filename"))
    print(f"\ntraced memory: {total_old / 1e6:.1f} MB -> {total_new / 1e6:.1f} MB "
          f"({(total_new - total_old) / 1e6:+.2f} MB)")  # fmt: skip
    grown: dict[str, list[int]] = {}
    for diff in new.compare_to(old, "traceback"):
        entry = grown.setdefault(_where(diff.traceback), [0, 0])
        entry[0] += diff.size_diff
        entry[1] += diff.count_diff
    print(f"  top {top} growth by allocating line (kB, blocks):")
    for where, (size, count) in sorted(grown.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"  {size / 1e3:+9.1f} kB {count:+7d}  {where}")


def main() -> None:
    directory, frames, *argv = sys.argv[1:]
    tracemalloc.start(int(frames))
    _install(Path(directory))
    sys.argv = ["streamrec", *argv]
    runpy.run_module("streamrec", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
