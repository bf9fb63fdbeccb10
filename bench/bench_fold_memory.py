"""What the daemon holds in memory per finished file the state log lists.

    .venv/bin/python bench/bench_fold_memory.py [--files 5000] [--channels 20]

Appends ``--files`` ``recording.segment`` events (``--channels`` channels, file names as the
recorder makes them) to a fresh state log, publishing a read view and the per-channel file counts
every 50 events as the daemon's status does, and measures with tracemalloc what the journal's fold,
its read view and ``state.channelfiles.ChannelFiles`` hold afterwards, per file. The baseline, in
the same run: the same events parsed by ``json.loads`` and kept as dicts (what any reader holding
the log's lines in memory pays), per file.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

from streamrec.state.channelfiles import ChannelFiles
from streamrec.state.journal import Journal


def _event(n: int, channels: int) -> dict[str, Any]:
    channel = f"s{n % channels:03d}"
    stamp = f"2026-12-02_{n // 3600 % 24:02d}-{n // 60 % 60:02d}-{n % 60:02d}"
    return {
        "channel": channel,
        "file": f"/srv/recordings/uncategorized/{channel}/{channel}_{stamp}_{n}.ts",
        "start": "2026-12-02T15:03:21.000Z", "end": "2026-12-02T15:03:41.000Z",
        "duration": 20.0, "bytes": 2026452, "hooks": None,
    }  # fmt: skip


def held_by_the_daemon(files: int, channels: int) -> float:
    """Bytes per file held by the fold, its read view and the per-channel files."""
    root = Path(tempfile.mkdtemp(prefix="bench-fold-"))
    journal = Journal(root / "state", fsync="never", compact_after=None)
    counts = ChannelFiles(5)
    counts.of(journal.view())
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for n in range(files):
        journal.append("recording.segment", **_event(n, channels))
        if n % 50 == 0:
            counts.of(journal.view())
    counts.of(journal.view())
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    journal.close()
    return held / files


def held_as_parsed_lines(files: int, channels: int) -> float:
    """Bytes per file of the same events as ``json.loads`` gives them, kept in a list."""
    lines = [
        json.dumps({"seq": n + 1, "ts": "2026-12-02T15:03:41.002Z", "type": "recording.segment",
                    **_event(n, channels)})
        for n in range(files)
    ]  # fmt: skip
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    parsed = [json.loads(line) for line in lines]
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del parsed
    return held / files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--channels", type=int, default=20)
    args = parser.parse_args()
    daemon = held_by_the_daemon(args.files, args.channels)
    baseline = held_as_parsed_lines(args.files, args.channels)
    print(f"{args.files} finished files of {args.channels} channels in the state log")
    print(f"  baseline, the events parsed and kept: {baseline:7.0f} bytes per file")
    print(f"  fold + read view + per-channel files: {daemon:7.0f} bytes per file "
          f"({daemon / baseline:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
