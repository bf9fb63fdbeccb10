"""What ``/api/status`` and ``/metrics`` cost the daemon, next to reading the log at all.

    .venv/bin/python bench/bench_status.py [--channels 500] [--recordings 20] [--calls 50]

Builds a state directory through ``Journal`` (``--channels`` channels, each with ``--recordings``
finished recordings: started, one segment, stopped; plus a task per ten channels), then times in
one process the daemon's read path: ``ReadModel.full_status`` redacted and encoded as
``/api/status`` answers it, and ``ReadModel.metrics_input`` rendered by ``web.metrics.render``
(``/metrics``), median and p90 over
``--calls`` calls, once with nothing appended between calls (the cached path) and once with a
segment of one channel appended before each call (what a busy daemon pays). Each figure is
printed next to the baseline measured in the same run: a bare ``json.loads`` of every line of the
same log file, the least any reader of the whole log can cost; and, for what the read path cost
before it kept a read view, ``Journal.state()`` (a full copy of the fold) after an append.
The files the log lists are created empty, so the thumbnail lookups find them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamrec.core.clock import FakeClock
from streamrec.core.events import (
    Event,
    RecordingSegment,
    RecordingStarted,
    RecordingStopped,
    TaskFinished,
    TaskStarted,
)
from streamrec.core.runs import RunOutcome
from streamrec.core.timestamps import format_ts
from streamrec.daemon.reconciler import Current
from streamrec.daemon.webapi import ReadModel
from streamrec.spec.loading import LoadedConfig
from streamrec.spec.model import Config
from streamrec.state.journal import Journal
from streamrec.state.paths import StatePaths
from streamrec.web.metrics import render

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class _NoChannels:
    """The daemon's recorders, none running (the fold is what is measured)."""

    running: ClassVar[dict[str, Any]] = {}

    def writing(self, name: str) -> Path | None:
        return None

    def live_progress(self) -> dict[str, Any]:
        return {}


class _Source:
    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir


def _segment(channel: str, n: int, root: Path) -> RecordingSegment:
    start = START + timedelta(minutes=30 * n)
    return RecordingSegment(
        channel=channel, file=str(root / "rec" / channel / f"{n:05d}.mkv"),
        start=format_ts(start), end=format_ts(start + timedelta(minutes=30)),
        duration=1800.0, bytes=900_000_000,
    )  # fmt: skip


def build_log(journal: Journal, root: Path, channels: int, recordings: int) -> None:
    """The synthetic history, appended through the journal in batches."""
    for c in range(channels):
        name = f"c{c:04d}"
        batch: list[Event] = []
        for n in range(recordings):
            batch += [
                RecordingStarted(channel=name, file=str(root / "rec" / name / f"{n:05d}.mkv")),
                _segment(name, n, root),
                RecordingStopped(channel=name, reason="schedule window ended"),
            ]
        if c % 10 == 0:
            task = f"t{c:04d}"
            for run in range(1, 6):
                batch += [
                    TaskStarted(task=task, run=run, attempt=1, trigger="schedule"),
                    TaskFinished(
                        outcome=RunOutcome(task=task, run=run, attempt=1, status="succeeded",
                                           exit_code=0, duration=1.5)
                    ),
                ]  # fmt: skip
        journal.extend(batch)
        folder = root / "rec" / name
        folder.mkdir(parents=True)
        for n in range(recordings):  # the files the log lists are on disk (thumbnails look)
            (folder / f"{n:05d}.mkv").touch()


def config_of(channels: int) -> Config:
    return Config.model_validate(
        {
            "channels": {
                f"c{c:04d}": {"url": f"http://127.0.0.1/{c}.m3u8"} for c in range(channels)
            },
            "tasks": {f"t{c:04d}": {"command": "true"} for c in range(0, channels, 10)},
        }
    )


def timed(call: Callable[[], object], calls: int, before: Callable[[int], None]) -> list[float]:
    took = []
    for n in range(calls):
        before(n)
        start = time.perf_counter()
        call()
        took.append(time.perf_counter() - start)
    return took


def baseline(events: Path, calls: int) -> list[float]:
    """A bare ``json.loads`` of every line of the log."""

    def read() -> None:
        with events.open("rb") as f:
            for line in f:
                json.loads(line)

    return timed(read, max(5, calls // 10), lambda n: None)


def p90(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.9)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--recordings", type=int, default=20)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = StatePaths.at(root / "state")
        paths.ensure()
        journal = Journal(paths.root, fsync="never", compact_after=None)
        build_log(journal, root, args.channels, args.recordings)
        (root / "config").mkdir()
        config = config_of(args.channels)
        current = Current()
        current.loaded = LoadedConfig(config, root / "config", ())
        reads = ReadModel(
            paths=paths, journal=journal, environ={}, current=current,
            channels=_NoChannels(), recording=None, live=lambda: {"channels": {}},  # type: ignore[arg-type]
            source=_Source(root / "config"), started_at=time.time(),  # type: ignore[arg-type]
            clock=FakeClock(START + timedelta(days=400)),
        )  # fmt: skip
        loop = asyncio.new_event_loop()

        def status() -> None:  # the view, redacted and encoded as the route answers it
            json.dumps(reads.redact(loop.run_until_complete(reads.full_status())))

        def metrics() -> None:
            render(reads.metrics_input())

        counter = [args.recordings + 1000]

        def append(n: int) -> None:
            channel = f"c{n % args.channels:04d}"
            counter[0] += 1
            segment = _segment(channel, counter[0], root)
            Path(segment.file).touch()
            journal.append(segment)

        size = paths.events.stat().st_size
        lines = sum(1 for _ in paths.events.open("rb"))
        base = statistics.median(baseline(paths.events, args.calls))
        print(
            f"{args.channels} channels, {args.channels * args.recordings} recordings, "
            f"{lines} events, {size / 1e6:.1f} MB log"
        )
        print(f"  json.loads of every line (baseline): median {base * 1e3:8.1f} ms")
        copies = timed(journal.state, max(5, args.calls // 5), append)
        copy = statistics.median(copies)
        print(
            f"  Journal.state(), the copy each read made before: median {copy * 1e3:8.1f} ms "
            f"({copy / base:5.2f}x)"
        )
        status()  # the first read folds the log; what follows is the daemon's steady state
        for label, call in (("/api/status", status), ("/metrics   ", metrics)):
            for mode, before in (("cached  ", lambda n: None), ("appended", append)):
                took = timed(call, args.calls, before)
                median, high = statistics.median(took), p90(took)
                print(
                    f"  {label} {mode}: median {median * 1e3:8.1f} ms ({median / base:5.2f}x), "
                    f"p90 {high * 1e3:8.1f} ms ({high / base:5.2f}x)"
                )
        loop.close()


if __name__ == "__main__":
    main()
