"""A soak of ``streamrec run``: channels recorded for an hour through source outages and edits.

    .venv/bin/python bench/soak.py [--minutes 60] [--channels 20] [--every 120] [--warm-rounds 1]

Two local live HLS sources (``runtime.testsource``), served as static files by nginx on 127.0.0.1
(``bench_scale.StaticNginx``), are recorded by ``--channels`` channels of a real daemon (its own
``STREAMREC_STATE_DIR``, HTTP on 127.0.0.1 with a token). About every ``--every`` seconds
(randomly 0.5x to 1.5x, seeded) one of these happens, in turn:

- an outage: one source's encoder stops for 10 to 40 s (the playlist answers 404), and comes back
  continuing its media sequence or restarting it at 0;
- a config edit: every channel's segment length changes (the channels are restarted), or one
  channel is added or removed.

With ``--retention AGE`` every channel keeps its files for ``AGE`` only, so the files on disk (and
what the daemon holds about them) reach a steady state; without it the history grows all along,
and the daemon's memory with it (about 1-2 kB per finished file, see the README).

A first reading after ``--warm`` seconds (and after the soak's first status request, which builds
the API's read model once); then ``--warm-rounds`` rounds of each kind of disturbance (an edit
that restarts every channel, and two outages of each source: one that goes on with the media
sequence, one that restarts it at 0), so that what the daemon allocates the first time it does
each is in the start reading; the start reading; and the end reading. Each
holds the daemon's RSS, open fds and threads, and the size of its state log; the growth since the
first reading is printed too. The verdict: RSS, threads and fds per declared channel grew by less
than 5 % (a small absolute slack for fds and threads, whose counts are small), every channel
records at the end (within ``--settle`` seconds after the settling time; a channel found not
recording is printed with its status), and every ``recording.gap`` event carries a cause. Every process started
here is ended when the soak ends, also on error.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import random
import re
import secrets
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import memtrace
from bench_scale import (
    FFMPEG,
    NGINX,
    StaticNginx,
    events,
    free_port,
    recording_count,
    say,
    start_daemon,
    stop,
    tear_down,
)
from measuring import proc_cpu_rss, proc_fds_threads, proc_memory

from streamrec.runtime.testsource import HlsTestSource

GROWTH = 0.05
"""Growth allowed from start to end (RSS, fds, threads)."""
SLACK = 4
"""fds and threads a moment may differ by without counting as growth (a run restarting)."""


def write_config(
    config: Path, urls: list[str], names: list[str], segment: int, retention: str = ""
) -> None:
    lines = ["settings:", f"  max_concurrent_recordings: {len(names) + 5}", "channels:"]
    for i, name in enumerate(names):
        lines += [f"  {name}:", f'    url: "{urls[i % len(urls)]}"', f"    segment: {segment}s"]
        if retention:
            lines += [f"    retention: {{max_age: {retention}}}"]
    (config / ".channels.tmp").write_text("\n".join(lines) + "\n")
    (config / ".channels.tmp").replace(config / "channels.yaml")


def snapshot(pid: int, state: Path) -> dict[str, float]:
    """The daemon's RSS (bytes), fds and threads, and the state log's size (bytes)."""
    cpu, rss = proc_cpu_rss(pid)
    fds, threads = proc_fds_threads(pid)
    log = sum(p.stat().st_size for p in state.glob("events*.jsonl*") if p.is_file())
    memory = proc_memory(pid)
    return {"rss": rss, "fds": fds, "threads": threads, "log": log, "cpu": cpu,
            "anon": memory.get("anon", 0), "file": memory.get("file", 0)}  # fmt: skip


class Sampler(threading.Thread):
    """The daemon's memory every ``every`` seconds, printed as it goes: the curve between the
    start and end readings (does it level off?), split into heap and file-backed pages."""

    def __init__(self, pid: int, every: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.began = pid, every, time.monotonic()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            memory = proc_memory(self.pid)
            if not memory:
                return
            minute = (time.monotonic() - self.began) / 60
            say(f"  memory at {minute:5.1f} min: RSS {memory['rss'] / 1e6:.1f} MB "
                f"(heap {memory['anon'] / 1e6:.1f}, file-backed {memory['file'] / 1e6:.1f})")  # fmt: skip


def _settled(path: Path) -> bool:
    size = path.stat().st_size
    time.sleep(2)
    return path.stat().st_size == size


def stopped_channels(http: httpx.Client, names: list[str]) -> dict[str, str]:
    """The declared channels not recording, each with its state and reason as status shows."""
    with contextlib.suppress(httpx.HTTPError, ValueError):
        channels = http.get("/api/status").json().get("channels") or {}
        if isinstance(channels, list):
            channels = {c.get("name"): c for c in channels if isinstance(c, dict)}
        return {
            name: f"{(channels.get(name) or {}).get('state')}: {(channels.get(name) or {}).get('reason')}"
            for name in names
            if (channels.get(name) or {}).get("state") != "recording"
        }
    return {"?": "status did not answer"}


def all_recording(
    http: httpx.Client, names: list[str], limit: float
) -> tuple[float, dict[str, str]]:
    """Wait up to ``limit`` seconds for every declared channel to record (one may be between two
    attempts after its source came back; what status said is printed): the seconds waited and
    the channels still not recording then."""
    began = time.monotonic()
    stopped = stopped_channels(http, names)
    if stopped:
        say(f"not recording after the settling time: {stopped}")
    while stopped and time.monotonic() - began < limit:
        time.sleep(1)
        stopped = stopped_channels(http, names)
    return time.monotonic() - began, stopped


def recording_now(http: httpx.Client) -> int:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        return recording_count(http.get("/api/status").json())
    return -1


def soak(args: argparse.Namespace) -> bool:
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    sources = [HlsTestSource(FFMPEG, root / f"src{i}", segment_time=2.0) for i in range(2)]
    nginx: StaticNginx | None = None
    daemon = None
    try:
        for source in sources:
            source.start()
        nginx = (
            StaticNginx(root / "nginx", [s.directory for s in sources]) if NGINX.exists() else None
        )
        urls = [nginx.url(i) for i in range(2)] if nginx else [s.url for s in sources]
        names = [f"s{i:03d}" for i in range(args.channels)]
        config = root / "config"
        config.mkdir()
        segment = 20
        write_config(config, urls, names, segment, args.retention)
        token = secrets.token_hex(16)
        port = free_port()
        daemon = start_daemon(root, f"127.0.0.1:{port}", token, trace=args.trace_memory)
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        say(
            f"soak: {args.channels} channels, {args.minutes:g} min, something every ~{args.every} s"
        )
        time.sleep(args.warm)
        # the soak's own first status request builds the API's read model once (about 1.6 MB of
        # heap): asked before the first reading, so that it is not counted as growth
        recording_now(http)
        first = snapshot(daemon.pid, root / "state")
        say(f"after the warm-up: {fmt(first)}")
        for _ in range(args.warm_rounds):  # each kind of disturbance once before the start
            say("warm-up: every channel restarted by an edit")
            write_config(config, urls, names, 30 if segment != 30 else 20, args.retention)
            time.sleep(args.settle)
            write_config(config, urls, names, segment, args.retention)
            time.sleep(args.settle)
            for (i, source), reset in itertools.product(enumerate(sources), (False, True)):
                say(f"warm-up: source {i} down 20 s (reset {reset})")
                source.stop()
                time.sleep(20)
                source.start(reset_sequence=reset)
                time.sleep(args.settle)
        start_recording = recording_now(http)
        start = snapshot(daemon.pid, root / "state")
        if args.trace_memory:
            daemon.send_signal(signal.SIGUSR2)
        say(f"start: {start_recording} recording, {fmt(start)}")
        sampler = Sampler(daemon.pid, args.sample)
        sampler.start()
        end_at = time.monotonic() + args.minutes * 60
        outages = edits = 0
        turn = 0
        while time.monotonic() < end_at:
            time.sleep(min(max(0.0, end_at - time.monotonic()), args.every * rng.uniform(0.5, 1.5)))
            if time.monotonic() >= end_at:
                break
            if turn % 2 == 0:
                source = rng.choice(sources)
                down = rng.uniform(10, 40)
                reset = rng.random() < 0.3
                say(f"outage: source {sources.index(source)} down {down:.0f} s (reset {reset})")
                source.stop()
                time.sleep(down)
                source.start(reset_sequence=reset)
                outages += 1
            else:
                kind = rng.choice(["segment", "add", "remove"])
                if kind == "segment":
                    segment = rng.choice([15, 20, 30])
                elif kind == "add" or len(names) <= 2:
                    names.append(f"s{len(names) + 100:03d}")
                else:
                    names.pop(rng.randrange(len(names)))
                say(f"edit: {kind} ({len(names)} channels, segment {segment} s)")
                write_config(config, urls, names, segment, args.retention)
                edits += 1
            turn += 1
        time.sleep(args.settle)  # the last outage or edit has settled
        waited, not_recording = all_recording(http, names, args.settle)
        end = snapshot(daemon.pid, root / "state")
        sampler.done.set()
        end_recording = len(names) - len(not_recording)
        if waited > 1 and not not_recording:
            say(f"every channel recording {waited:.0f} s after the settling time")
        if args.trace_memory:
            daemon.send_signal(signal.SIGUSR2)
            last = root / "snapshot-2.pickle"
            for _ in range(600):  # a snapshot of a traced daemon takes a while to write
                if last.exists() and last.stat().st_size and _settled(last):
                    break
                time.sleep(1)
            memtrace.compare(root / "snapshot-1.pickle", last)
        if not_recording:
            print(f"  not recording at the end: {not_recording}")
        http.close()
        stop(daemon)
        log = events(root / "state")
        return verdict(args, first, start, end, start_recording, end_recording, len(names), log,
                       outages, edits)  # fmt: skip
    finally:
        tear_down(daemon, nginx, sources)
        shutil.rmtree(root, ignore_errors=True)


def fmt(s: dict[str, float]) -> str:
    return (f"RSS {s['rss'] / 1e6:.1f} MB (heap {s['anon'] / 1e6:.1f}, file-backed "
            f"{s['file'] / 1e6:.1f}), {s['fds']:.0f} fds, {s['threads']:.0f} threads, "
            f"state log {s['log'] / 1e3:.0f} kB")  # fmt: skip


def growth(start: float, end: float, slack: float = 0) -> float:
    return max(0.0, end - start - slack) / start if start else 0.0


def verdict(
    args: argparse.Namespace,
    first: dict[str, float],
    start: dict[str, float],
    end: dict[str, float],
    start_recording: int,
    end_recording: int,
    channels: int,
    log: list[dict[str, Any]],
    outages: int,
    edits: int,
) -> bool:
    gaps = [e for e in log if e["type"] == "recording.gap"]
    uncaused = [e for e in gaps if not e.get("cause")]
    causes: dict[str, int] = {}
    for e in gaps:
        key = re.sub(r"0x[0-9a-f]+", "0x...", str(e.get("cause")))[:60]  # ffmpeg's pointers
        causes[key] = causes.get(key, 0) + 1
    media = sum(e.get("duration") or 0 for e in log if e["type"] == "recording.segment")
    rss_g = growth(start["rss"], end["rss"])
    # per declared channel: each channel an edit adds holds its own pipes (about 5), not a leak
    fds_g = growth(start["fds"] / args.channels, end["fds"] / channels, SLACK / channels)
    thr_g = growth(start["threads"], end["threads"], SLACK)
    ok = max(rss_g, fds_g, thr_g) < GROWTH and not uncaused and end_recording == channels
    wall = args.minutes * 60 + args.settle
    print(f"\nSoak: {args.minutes:g} min, {outages} outages, {edits} edits")
    print(f"  start ({start_recording} recording): {fmt(start)}")
    print(f"  end   ({end_recording}/{channels} recording): {fmt(end)}")
    print(f"  growth: RSS {(end['rss'] / start['rss'] - 1) * 100:+.1f} % (heap "
          f"{(end['anon'] - start['anon']) / 1e6:+.1f} MB, file-backed "
          f"{(end['file'] - start['file']) / 1e6:+.1f} MB), "
          f"fds {end['fds'] - start['fds']:+.0f}, threads {end['threads'] - start['threads']:+.0f}; "
          f"state log +{(end['log'] - start['log']) / 1e3:.0f} kB "
          f"({(end['log'] - start['log']) / wall * 3600 / 1e6:.1f} MB/hour)")  # fmt: skip
    if args.warm_rounds:
        print(f"  since the reading before the warm-up's disturbances ({fmt(first)}): RSS "
              f"{(end['rss'] / first['rss'] - 1) * 100:+.1f} % (heap "
              f"{(end['anon'] - first['anon']) / 1e6:+.1f} MB), of which the warm-up's "
              f"{(start['rss'] / first['rss'] - 1) * 100:+.1f} %")  # fmt: skip
    print(f"  daemon CPU over the soak: {(end['cpu'] - start['cpu']) / wall * 100:.2f} % of a core")
    print(f"  media recorded: {media:.0f} s; recording.gap events: {len(gaps)}, "
          f"without a cause: {len(uncaused)}")  # fmt: skip
    for cause, count in sorted(causes.items(), key=lambda kv: -kv[1]):
        print(f"    {count:4d}  {cause}")
    print(f"verdict: {'PASS' if ok else 'FAIL'} (growth < {GROWTH:.0%}, all recording at the end,"
          " every gap with a cause)")  # fmt: skip
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--every", type=float, default=120.0, help="seconds between disturbances")
    parser.add_argument("--warm", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=45.0)
    parser.add_argument("--warm-rounds", type=int, default=1, metavar="N",
                        help="edits and outages of each source at the end of the warm-up")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--retention", default="", metavar="AGE",
                        help="each channel keeps its files this long (e.g. 10m): a steady state")  # fmt: skip
    parser.add_argument("--sample", type=float, default=60.0, metavar="SECONDS",
                        help="print the daemon's memory this often during the soak")  # fmt: skip
    parser.add_argument("--trace-memory", type=int, default=0, metavar="FRAMES",
                        help="run the daemon under tracemalloc and print what grew")  # fmt: skip
    raise SystemExit(0 if soak(parser.parse_args()) else 1)


if __name__ == "__main__":
    main()
