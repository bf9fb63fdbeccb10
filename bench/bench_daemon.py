"""The daemon's reaction to edits, its reconcile cost with 1,000 channels, and an optional soak.

    .venv/bin/python bench/bench_daemon.py [--edits 50] [--channels 1000] [--soak SECONDS]

1. Reaction (target: median under 200 ms): save a file declaring a new channel and time
   until its ffmpeg runs; delete it and time until the channel's file is finalized
   (``recording.stopped``). Baseline in the same run: how long watchfiles itself takes to report a
   save in the same kind of directory (the floor any watcher-based reconciler stands on).
2. Scale: 1,000 channels declared (windows far in the future, so none records), one edited: how many
   objects the reconcile touched (must be 1) and how long it took.
3. Soak (``--soak``): N channels recorded from local sources with random outages and config edits;
   RSS and open fds of the daemon at start and end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import watchfiles

from streamrec.runtime.testsource import HlsTestSource

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def events(state: Path) -> list[dict[str, Any]]:
    path = state / "events.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def wait_event(state: Path, match: Any, after: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in events(state):
            if event["seq"] > after and match(event):
                return event
        time.sleep(0.002)
    raise TimeoutError("no event")


def ffmpeg_for(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"ffmpeg" in cmd and marker.encode() in cmd:
                return True
    return False


def start_daemon(root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "STREAMREC_STATE_DIR": str(root / "state")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamrec", "-q", "-c", str(root / "config"), "run"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(root / "daemon.log").open("wb"),
    )
    wait_event(root / "state", lambda e: e["type"] == "daemon.started", 0)
    return proc


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def watch_baseline(directory: Path, rounds: int) -> list[float]:
    delays = []
    stop = asyncio.Event()
    watcher = watchfiles.awatch(directory, stop_event=stop, step=50, debounce=500)
    task = asyncio.ensure_future(watcher.__anext__())
    await asyncio.sleep(0.3)
    for i in range(rounds):
        started = time.perf_counter()
        tmp = directory / f".c{i}.tmp"
        tmp.write_text("channels: {}\n")
        tmp.replace(directory / f"c{i}.yaml")
        await task
        delays.append(time.perf_counter() - started)
        task = asyncio.ensure_future(watcher.__anext__())
        await asyncio.sleep(0.1)
    stop.set()
    task.cancel()
    return delays


def reaction(edits: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, HlsTestSource(FFMPEG, Path(tmp) / "src") as src:
        src.start()
        root = Path(tmp)
        base = root / "baseline"
        base.mkdir()
        floor = asyncio.run(watch_baseline(base, min(edits, 20)))
        config = root / "config"
        config.mkdir()
        (config / "tasks.yaml").write_text("tasks:\n  noop: {command: 'true'}\n")
        daemon = start_daemon(root)
        starts, stops = [], []
        try:
            for i in range(edits):
                name = f"edit{i}"
                mark = events(root / "state")[-1]["seq"]
                text = f'channels:\n  {name}: {{url: "{src.url}", segment: 2s}}\n'
                started = time.perf_counter()
                (config / f".{name}.tmp").write_text(text)
                (config / f".{name}.tmp").replace(config / f"{name}.yaml")
                marker = f"/.partial/{name}/"
                while not ffmpeg_for(marker):
                    time.sleep(0.002)
                starts.append(time.perf_counter() - started)
                time.sleep(0.5)
                started = time.perf_counter()
                (config / f"{name}.yaml").unlink()
                wait_event(
                    root / "state",
                    lambda e, n=name: e["type"] == "recording.stopped" and e.get("channel") == n,
                    mark,
                )
                stops.append(time.perf_counter() - started)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(20)
    print(f"reaction over {edits} edits (seconds)        median     p95")
    print(
        f"  baseline: watchfiles reports a save   {statistics.median(floor):7.3f} {pct(floor, 0.95):7.3f}"
    )
    print(
        f"  save -> new channel's ffmpeg running  {statistics.median(starts):7.3f} {pct(starts, 0.95):7.3f}"
    )
    print(
        f"  delete -> removed channel finalized   {statistics.median(stops):7.3f} {pct(stops, 0.95):7.3f}"
    )


def scale(channels: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = root / "config"
        config.mkdir()

        def write(segment: str) -> None:
            lines = ["channels:"]
            for i in range(channels):
                seg = segment if i == 0 else "1h"
                lines += [
                    f"  ch{i:04d}:",
                    f"    url: http://127.0.0.1:9/{i}.m3u8",
                    f"    segment: {seg}",
                    '    schedule: [{at: "2030-01-01T00:00", duration: 1h}]',
                ]
            tmp_file = config / ".channels.tmp"
            tmp_file.write_text("\n".join(lines) + "\n")
            tmp_file.replace(config / "channels.yaml")

        write("1h")
        daemon = start_daemon(root)
        try:
            first = wait_event(root / "state", lambda e: e["type"] == "config.applied", 0)
            mark = events(root / "state")[-1]["seq"]
            started = time.perf_counter()
            write("30m")
            try:
                applied = wait_event(root / "state", lambda e: e["type"] == "config.applied", mark)
            except TimeoutError:
                print((root / "daemon.log").read_text()[-3000:])
                raise
            wall = time.perf_counter() - started
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(20)
        touched = applied.get("outcomes", {})
        print(f"scale: {channels} channels declared, one edited")
        print(
            f"  initial apply: {first.get('took_ms')} ms for {len(first.get('outcomes', {}))} objects"
        )
        print(f"  objects touched by the edit: {len(touched)} {touched}")
        print(
            f"  reconcile (carry out) {applied.get('took_ms')} ms; save -> applied event {wall * 1000:.0f} ms"
        )


def rss_fds(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def soak(seconds: float, channels: int = 5) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sources = [HlsTestSource(FFMPEG, root / f"src{i}") for i in range(2)]
        for source in sources:
            source.start()
        config = root / "config"
        config.mkdir()

        def write(seg: str) -> None:
            lines = ["channels:"]
            for i in range(channels):
                lines += [f"  s{i}:", f'    url: "{sources[i % 2].url}"', f"    segment: {seg}"]
            (config / ".c.tmp").write_text("\n".join(lines) + "\n")
            (config / ".c.tmp").replace(config / "channels.yaml")

        write("10s")
        daemon = start_daemon(root)
        time.sleep(10)
        start_rss, start_fds = rss_fds(daemon.pid)
        end_at = time.monotonic() + seconds
        outages = edits = 0
        try:
            while time.monotonic() < end_at:
                time.sleep(rng.uniform(10, 30))
                if rng.random() < 0.5:
                    source = rng.choice(sources)
                    source.stop()
                    time.sleep(5)
                    source.start(reset_sequence=rng.random() < 0.3)
                    outages += 1
                else:
                    write(rng.choice(["10s", "15s", "20s"]))
                    edits += 1
            end_rss, end_fds = rss_fds(daemon.pid)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(20)
            for source in sources:
                source.close()
        log = events(root / "state")
        media = sum(e.get("duration") or 0 for e in log if e["type"] == "recording.segment")
        print(f"soak: {seconds:.0f}s, {channels} channels, {outages} outages, {edits} edits")
        print(
            f"  daemon RSS {start_rss} kB -> {end_rss} kB ({(end_rss / start_rss - 1) * 100:+.1f}%)"
        )
        print(f"  daemon fds {start_fds} -> {end_fds}")
        print(f"  media seconds recorded: {media:.0f} (all channels)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--soak", type=float, default=0)
    args = parser.parse_args()
    reaction(args.edits)
    scale(args.channels)
    if args.soak:
        soak(args.soak)


if __name__ == "__main__":
    main()
