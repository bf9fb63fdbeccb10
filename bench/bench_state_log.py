"""Benchmark of the state log: `status` (the fold) on a long history, compaction, append throughput.

Writes a realistic history (default 1,000,000 events: 20 channels recording hourly segments for
about a year, a remux hook per segment, retention deleting week-old files, stalls, reconnects, gaps,
scheduled tasks and queues, daemon restarts) straight into a temporary state directory, then times:

- the baseline: reading the raw file and ``json.loads`` on every line, nothing else;
- ``Journal(root).state()`` on a fresh journal (what ``streamrec status`` does) before compaction;
- ``compact()``, then ``state()`` again on a fresh journal, and in a fresh interpreter;
- ``read(include_archive=True)`` over the whole history (``streamrec history --all``);
- appends under each fsync policy, next to a raw ``os.write`` of the same lines.

Run: ``.venv/bin/python bench/bench_state_log.py [--events N] [--appends N] [--dir DIR]``.
Not part of the test suite; it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from loguru import logger

from streamrec.state.journal import Journal

CHANNELS = 20
RETENTION_SEGMENTS = 168  # a week of hourly segments per channel


def history(count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """A plausible stream of ``count`` events (type, fields), in the order a daemon would log them."""
    emitted, hour, run = 0, 0, 0
    yield "daemon.started", {"pid": 100, "version": "0.1.0"}
    yield (
        "config.applied",
        {"revision": "r0", "git": "abc123", "diff": {"channels": {"added": CHANNELS}}},
    )
    emitted += 2
    while emitted < count:
        for c in range(CHANNELS):
            name = f"channel-{c:02d}"
            path = f"/recordings/news/{name}/{hour // 24:04d}/{name}_{hour % 24:02d}0000.ts"
            start, end = f"2026-01-01T{hour % 24:02d}:00:00Z", f"2026-01-01T{hour % 24:02d}:59:59Z"
            run += 1
            batch: list[tuple[str, dict[str, Any]]] = [
                ("recording.segment", {"channel": name, "file": path, "start": start, "end": end,
                                       "duration": 3600.0, "bytes": 1_800_000_000, "hooks": "pending"}),
                ("task.started", {"task": "remux-mp4", "run": f"run-{run}", "attempt": 1, "trigger": "on_segment",
                                  "definition": "9f2c1e0d4b7a6c35", "pid": 4000 + run % 30000,
                                  "stdout_log": f"logs/remux-mp4/run-{run}.out",
                                  "stderr_log": f"logs/remux-mp4/run-{run}.err"}),
                ("task.finished", {"task": "remux-mp4", "run": f"run-{run}", "attempt": 1, "status": "completed",
                                   "exit_code": 0, "started_at": start, "ended_at": end, "duration": 41.2,
                                   "stdout_tail": "", "stderr_tail": "", "stdout_log": f"logs/remux-mp4/run-{run}.out",
                                   "stderr_log": f"logs/remux-mp4/run-{run}.err", "definition": "9f2c1e0d4b7a6c35"}),
                ("recording.processed", {"channel": name, "file": path, "status": "completed"}),
            ]  # fmt: skip
            if hour >= RETENTION_SEGMENTS:
                old = hour - RETENTION_SEGMENTS
                old_path = f"/recordings/news/{name}/{old // 24:04d}/{name}_{old % 24:02d}0000.ts"
                batch.append(("retention.deleted", {"channel": name, "file": old_path,
                                                    "bytes": 1_800_000_000, "reason": "max_age 7d"}))  # fmt: skip
            if (hour + c) % 50 == 0:
                batch += [
                    ("recording.stalled", {"channel": name, "reason": "no progress for 30s"}),
                    ("recording.reconnecting", {"channel": name, "attempt": 1, "delay": 2.0, "reason": "stalled"}),
                    ("recording.gap", {"channel": name, "start": end, "end": end, "cause": "stall"}),
                    ("recording.started", {"channel": name, "file": path, "pid": 9000 + c,
                                           "url": "https://example.com/live.m3u8"}),
                ]  # fmt: skip
            yield from batch
            emitted += len(batch)
        if hour % 6 == 0:
            run += 1
            yield "task.started", {"task": "fetch-epg", "run": f"run-{run}", "attempt": 1, "trigger": "schedule",
                                   "definition": "0badc0ffee000001", "pid": 3000, "stdout_log": "o", "stderr_log": "e"}  # fmt: skip
            yield "task.finished", {"task": "fetch-epg", "run": f"run-{run}", "attempt": 1, "status": "completed",
                                    "exit_code": 0, "started_at": "a", "ended_at": "b", "duration": 1.3,
                                    "stdout_tail": "", "stderr_tail": "", "stdout_log": "o", "stderr_log": "e",
                                    "definition": "0badc0ffee000001"}  # fmt: skip
            emitted += 2
        if hour % 24 == 3:
            yield "queue.started", {"queue": "nightly", "run": f"q-{hour}", "order": ["fetch-epg", "build-index"],
                                    "trigger": "schedule"}  # fmt: skip
            yield "queue.finished", {"queue": "nightly", "run": f"q-{hour}", "status": "completed",
                                     "results": {"fetch-epg": "completed", "build-index": "completed"}}  # fmt: skip
            emitted += 2
        if hour % 500 == 499:
            yield "daemon.stopped", {"reason": "SIGTERM"}
            yield "daemon.started", {"pid": 100 + hour, "version": "0.1.0"}
            emitted += 2
        hour += 1


def write_history(root: Path, count: int) -> int:
    """Write ``count`` events as lines of events.jsonl (no journal involved); returns the bytes."""
    root.mkdir(parents=True, exist_ok=True)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with (root / "events.jsonl").open("w", encoding="utf-8") as out:
        chunk: list[str] = []
        for seq, (kind, fields) in enumerate(history(count), start=1):
            if seq > count:
                break
            ts = f"2026-01-01T00:00:{seq % 60:02d}.{seq % 1000:03d}Z"
            chunk.append(dumps({"seq": seq, "ts": ts, "type": kind, **fields}))
            if len(chunk) == 10_000:
                out.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            out.write("\n".join(chunk) + "\n")
    return (root / "events.jsonl").stat().st_size


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The median wall time of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def raw_loads(path: Path) -> int:
    """Baseline: every line of the file through json.loads, nothing more."""
    count = 0
    with path.open("rb") as fh:
        for line in fh:
            json.loads(line)
            count += 1
    return count


def fresh_state(root: Path) -> dict[str, Any]:
    with Journal(root) as journal:
        return journal.state()


def in_new_interpreter(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def appends(root: Path, policy: str, count: int) -> float:
    """Seconds for ``count`` appends of a segment-sized event under ``policy``."""
    shutil.rmtree(root, ignore_errors=True)
    with Journal(root, fsync=policy, compact_after=None) as journal:  # type: ignore[arg-type]
        start = time.perf_counter()
        for i in range(count):
            journal.append("recording.segment", channel="channel-01", file=f"/recordings/x/{i}.ts",
                           start="s", end="e", duration=3600.0, bytes=1_800_000_000)  # fmt: skip
        return time.perf_counter() - start


def raw_writes(root: Path, count: int, sync: bool) -> float:
    """Baseline: the same lines written with os.write on an O_APPEND file, no lock, no seq."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    fd = os.open(root / "events.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    line = json.dumps({"seq": 1, "ts": "2026-01-01T00:00:00.000Z", "type": "recording.segment",
                       "channel": "channel-01", "file": "/recordings/x/1.ts", "start": "s", "end": "e",
                       "duration": 3600.0, "bytes": 1_800_000_000}).encode() + b"\n"  # fmt: skip
    start = time.perf_counter()
    for _ in range(count):
        os.write(fd, line)
        if sync:
            os.fsync(fd)
    elapsed = time.perf_counter() - start
    os.close(fd)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to make the temp state dir")
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    base = Path(tempfile.mkdtemp(prefix="bench-state-", dir=args.dir))
    root = base / "state"
    rows: list[tuple[str, str]] = []
    try:
        start = time.perf_counter()
        size = write_history(root, args.events)
        print(
            f"wrote {args.events:,} events ({size / 1e6:.0f} MB) in {time.perf_counter() - start:.1f} s to {root}"
        )
        events = root / "events.jsonl"
        seconds, _ = timed(lambda: raw_loads(events), 2)
        rows.append(("baseline: read lines + json.loads each", f"{seconds:.3f} s"))
        seconds, state = timed(lambda: fresh_state(root), 2)
        assert isinstance(state, dict) and state["seq"] == args.events
        rows.append(("status = Journal().state(), before compaction", f"{seconds:.3f} s"))
        with Journal(root) as journal:
            start = time.perf_counter()
            journal.compact()
            rows.append(("compact()", f"{time.perf_counter() - start:.3f} s"))
            snapshot_size = (root / "snapshot.json").stat().st_size
            seconds, after = timed(lambda: fresh_state(root), 7)
            assert after == state, "compaction changed the state"
            rows.append(
                ("status = Journal().state(), after compaction", f"{seconds * 1000:.1f} ms")
            )
            for i in range(1000):
                journal.append(
                    "recording.gap", channel="channel-01", start=str(i), end=str(i), cause="bench"
                )
            seconds, _ = timed(lambda: fresh_state(root), 7)
            rows.append(("  same, with 1,000 events in the new tail", f"{seconds * 1000:.1f} ms"))
            journal.state()
            journal.append("recording.stalled", channel="channel-01", reason="bench")
            seconds, _ = timed(journal.state, 7)
            rows.append(("  warm journal (cached fold, 1 new event)", f"{seconds * 1000:.2f} ms"))
        code = f"from streamrec.state.journal import Journal; Journal({str(root)!r}).state()"
        seconds, _ = timed(lambda: in_new_interpreter(code), 3)
        bare, _ = timed(lambda: in_new_interpreter("import streamrec.state.journal"), 3)
        rows.append(
            ("  in a new interpreter (incl. start-up + imports)", f"{seconds * 1000:.0f} ms")
        )
        rows.append(("  of which interpreter start-up + imports", f"{bare * 1000:.0f} ms"))
        seconds, count = timed(lambda: sum(1 for _ in Journal(root).read(include_archive=True)), 1)
        rows.append((f"read(include_archive=True), {count:,} events", f"{seconds:.3f} s"))
        print(
            f"state: {len(state['recordings']):,} recordings, snapshot.json {snapshot_size / 1e6:.2f} MB"
        )

        rows.append((f"-- {args.appends:,} appends each --", ""))
        scratch = base / "appends"
        for label, sync in (
            ("baseline: raw os.write, no lock/seq", False),
            ("baseline: raw os.write + fsync", True),
        ):
            seconds = raw_writes(scratch, args.appends, sync)
            rows.append((label, _rate(seconds, args.appends)))
        for policy in ("never", "interval", "always"):
            seconds = appends(scratch, policy, args.appends)
            rows.append((f"append, fsync={policy}", _rate(seconds, args.appends)))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def _rate(seconds: float, count: int) -> str:
    return f"{count / seconds:>9,.0f} /s  ({seconds / count * 1e6:,.0f} µs each)"


if __name__ == "__main__":
    main()
