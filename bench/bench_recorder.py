"""Recorder figures, each next to a baseline measured in the same run (run by hand, not in CI).

    .venv/bin/python bench/bench_recorder.py [fidelity] [overhead] [reaction]
        [--minutes 10] [--channels 50] [--seconds 60]

fidelity  A local HLS source runs for ``--minutes`` with three 5-second outages (the second one
          restarts the HLS media sequence at 0, as an encoder restart does). Recorded at the same
          time by streamrec, by bare ffmpeg with its reconnect flags, and by streamlink (if
          installed). Figure: media seconds on disk (video frames / 25) over the media seconds the
          source published (what a perfect recorder could get).
overhead  ``--channels`` recorders of one local source for ``--seconds``: CPU and peak RSS of
          streamrec's own process next to the sum of its ffmpeg children, and the same number of
          bare ffmpeg processes with the same command as the baseline.
reaction  Seconds from the source coming back to recording again (3 outages), and from a frozen
          source to the stall being detected and to recording again after it thaws.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from streamrec.runtime.recorder import Recorder
from streamrec.runtime.storage import Storage
from streamrec.runtime.testsource import PLAYLIST, HlsTestSource
from streamrec.spec.model import Channel

FFMPEG = shutil.which("ffmpeg") or imageio_ffmpeg.get_ffmpeg_exe()
FPS = 25
CLK = os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def frames_seconds(path: Path) -> float:
    """Media seconds in a file: its video packets (copied, not decoded) over the frame rate."""
    done = subprocess.run(
        [FFMPEG, "-v", "quiet", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-",
         "-progress", "pipe:1"],
        capture_output=True, check=False,
    )  # fmt: skip
    frames = re.findall(rb"^frame=(\d+)", done.stdout, re.M)
    return int(frames[-1]) / FPS if frames else 0.0


class Published:
    """Watches the source's playlist on disk: every segment it ever published, with durations."""

    def __init__(self, source: HlsTestSource) -> None:
        self.source = source
        self.generation = 0
        self.segments: dict[tuple[int, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.3):
            try:
                text = (self.source.directory / PLAYLIST).read_text()
            except OSError:
                continue
            match = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)
            if not match:
                continue
            first = int(match.group(1))
            for offset, duration in enumerate(re.findall(r"#EXTINF:([\d.]+)", text)):
                self.segments[(self.generation, first + offset)] = float(duration)

    def seconds(self) -> float:
        return sum(self.segments.values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def run_outages(source: HlsTestSource, published: Published, minutes: float) -> list[float]:
    """Three 5 s outages spread over the run; returns when each came back (time.time())."""
    total = minutes * 60
    marks = [total * 0.2, total * 0.5, total * 0.8]
    began = time.monotonic()
    back = []
    for index, mark in enumerate(marks):
        time.sleep(max(0.0, began + mark - time.monotonic()))
        reset = index == 1
        say(
            f"outage {index + 1}: source down for 5 s{' (sequence restarts at 0)' if reset else ''}"
        )
        source.stop()
        time.sleep(5)
        if reset:
            published.generation += 1
        source.start(reset_sequence=reset)
        back.append(time.time())
    time.sleep(max(0.0, began + total - time.monotonic()))
    return back


async def streamrec_record(url: str, out: Path, seconds: float, events: list[Any]) -> Recorder:
    def emit(type_: str, /, **fields: Any) -> None:
        events.append((time.time(), type_, fields))

    channel = Channel(url=url, segment="60s", stall_timeout="10s",
                      reconnect={"initial": "1s", "max": "5s"})  # fmt: skip
    storage = Storage(out, min_free_space=0, emit=emit)
    recorder = Recorder("bench", channel, recordings_dir=out, ffmpeg=FFMPEG, emit=emit,
                        storage=storage)  # fmt: skip
    await recorder.run(seconds)
    return recorder


def bench_fidelity(minutes: float) -> None:
    sl_exe = shutil.which("streamlink") or str(Path(sys.executable).parent / "streamlink")
    say(
        f"fidelity: {minutes:g} min source, three 5 s outages; recorders: streamrec, ffmpeg"
        + (", streamlink" if Path(sl_exe).exists() else " (streamlink not installed)")
    )
    work = Path(tempfile.mkdtemp(prefix="bench-fidelity-"))
    source = HlsTestSource(FFMPEG, work / "source")
    source.start()
    published = Published(source)
    seconds = minutes * 60
    bare_out = work / "ffmpeg.ts"
    bare = subprocess.Popen(
        [FFMPEG, "-v", "error", "-reconnect", "1", "-reconnect_streamed", "1",
         "-reconnect_on_network_error", "1",
         "-reconnect_on_http_error", "4xx,5xx", "-reconnect_delay_max", "5",
         "-i", source.url, "-c", "copy", "-f", "mpegts", str(bare_out)],
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    sl_out = work / "streamlink.ts"
    streamlink = None
    if Path(sl_exe).exists():
        streamlink = subprocess.Popen(
            [sl_exe, "--loglevel", "error", "--retry-streams", "1", "--retry-open", "5",
             "-o", str(sl_out), "hls://" + source.url, "best"],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    events: list[Any] = []
    outages = threading.Thread(target=run_outages, args=(source, published, minutes))
    outages.start()
    recorder = asyncio.run(streamrec_record(source.url, work / "streamrec", seconds, events))
    outages.join()
    for proc in (bare, streamlink):
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    published.close()
    source.close()
    perfect = published.seconds()
    rows = [("streamrec", sum(frames_seconds(Path(f["file"])) for f in recorder.files))]
    rows.append(("ffmpeg -reconnect*", frames_seconds(bare_out) if bare_out.exists() else 0.0))
    if streamlink is not None:
        rows.append(("streamlink", frames_seconds(sl_out) if sl_out.exists() else 0.0))
    print(f"\nFidelity over {minutes:g} min, source published {perfect:.1f} media seconds")
    print(f"{'recorder':<22}{'media s on disk':>16}{'fidelity':>10}")
    for name, got in rows:
        print(f"{name:<22}{got:>16.1f}{got / perfect:>10.4f}")
    gaps = [f for _, t, f in events if t == "recording.gap"]
    print(
        f"streamrec logged {len(gaps)} gap(s): "
        + "; ".join(f"{f['start'][11:19]}..{f['end'][11:19]} {f['cause'][:50]}" for f in gaps)
    )
    shutil.rmtree(work, ignore_errors=True)


def _proc_stats(pid: int) -> tuple[float, int]:
    """CPU seconds (user+sys) and RSS bytes of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0
    cpu = (int(fields[11]) + int(fields[12])) / CLK
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) * 1024 if "VmRSS" in status else 0  # type: ignore[union-attr]
    return cpu, rss


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


OVERHEAD_SCRIPT = """
import asyncio, sys
from pathlib import Path
from loguru import logger
from streamrec.runtime.recorder import Recorder
from streamrec.runtime.storage import Storage
from streamrec.spec.model import Channel
logger.remove()
url, out, n, seconds, ffmpeg = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
def emit(type_, **fields): pass
async def main():
    storage = Storage(out, min_free_space=0, emit=emit)
    recs = [Recorder(f"ch{i}", Channel(url=url, segment="10s"), recordings_dir=out,
                     ffmpeg=ffmpeg, emit=emit, storage=storage) for i in range(n)]
    await asyncio.gather(*(r.run(seconds) for r in recs))
asyncio.run(main())
"""


def _sample(parent: int, children_of: int | None, seconds: float) -> tuple[float, int, float, int]:
    """Sample for ``seconds``: (own CPU s, own peak RSS, children CPU s, children peak RSS)."""
    own_cpu0 = _proc_stats(parent)[0] if children_of is not None else 0.0
    seen: dict[int, tuple[float, float]] = {}
    own_rss = kids_rss = 0
    end = time.monotonic() + seconds
    own_cpu = 0.0
    while time.monotonic() < end:
        kids = _children(children_of) if children_of is not None else [parent]
        total_rss = 0
        for pid in kids:
            cpu, rss = _proc_stats(pid)
            first = seen.get(pid, (cpu, cpu))[0]
            seen[pid] = (first, cpu)
            total_rss += rss
        kids_rss = max(kids_rss, total_rss)
        if children_of is not None:
            own_cpu, rss = _proc_stats(parent)
            own_rss = max(own_rss, rss)
        time.sleep(1)
    kids_cpu = sum(last - first for first, last in seen.values())
    return own_cpu - own_cpu0, own_rss, kids_cpu, kids_rss


def bench_overhead(channels: int, seconds: float) -> None:
    say(f"overhead: {channels} channels for {seconds:g} s (one local source, shared)")
    work = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    source = HlsTestSource(FFMPEG, work / "source")
    source.start()
    warm = 8.0
    script = [sys.executable, "-c", OVERHEAD_SCRIPT, source.url, str(work / "sr"), str(channels),
              str(seconds + warm + 5), FFMPEG]  # fmt: skip
    proc = subprocess.Popen(script, start_new_session=True)
    time.sleep(warm)
    own_cpu, own_rss, kids_cpu, kids_rss = _sample(proc.pid, proc.pid, seconds)
    proc.send_signal(signal.SIGINT)  # its ffmpeg children are killed as its tasks are cancelled
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()  # the children get SIGTERM from their parent-death signal
        proc.wait()
    time.sleep(2)
    say(f"baseline: {channels} bare ffmpeg processes, same command")
    bare_dir = work / "bare"
    bare_dir.mkdir()
    bares = [
        subprocess.Popen(
            [
                FFMPEG,
                "-v",
                "error",
                "-nostdin",
                "-rw_timeout",
                "30000000",
                "-i",
                source.url,
                "-c",
                "copy",
                "-f",
                "segment",
                "-segment_format",
                "mpegts",
                "-segment_time",
                "10",
                "-reset_timestamps",
                "1",
                "-progress",
                "pipe:1",
                "-stats_period",
                "1",
                str(bare_dir / f"b{i}_%06d.ts"),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        for i in range(channels)
    ]
    time.sleep(warm)
    cpu_rss = [(_proc_stats(p.pid)) for p in bares]
    t0 = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    after = [(_proc_stats(p.pid)) for p in bares]
    bare_cpu = sum(a[0] - b[0] for a, b in zip(after, cpu_rss, strict=True))
    bare_rss = sum(a[1] for a in after)
    for p in bares:
        p.kill()
        p.wait()
    source.close()
    shutil.rmtree(work, ignore_errors=True)
    core = 100.0 / seconds
    print(f"\nOverhead, {channels} channels, {seconds:g} s")
    print(f"{'':<34}{'CPU % of a core':>16}{'RSS MB':>10}")
    print(f"{'streamrec own process':<34}{own_cpu * core:>16.2f}{own_rss / 1e6:>10.1f}")
    print(f"{'its ffmpeg children (sum)':<34}{kids_cpu * core:>16.2f}{kids_rss / 1e6:>10.1f}")
    print(
        f"{'baseline: bare ffmpeg (sum)':<34}{bare_cpu * 100 / elapsed:>16.2f}{bare_rss / 1e6:>10.1f}"
    )
    print("targets: streamrec own < 2 % of one core and < 80 MB")


async def _reaction(source: HlsTestSource, out: Path) -> None:
    events: list[Any] = []

    def emit(type_: str, /, **fields: Any) -> None:
        events.append((time.time(), type_, fields))

    channel = Channel(url=source.url, segment="10s", stall_timeout="5s",
                      reconnect={"initial": "1s", "max": "5s"})  # fmt: skip
    recorder = Recorder("react", channel, recordings_dir=out, ffmpeg=FFMPEG, emit=emit,
                        storage=Storage(out, min_free_space=0, emit=emit))  # fmt: skip
    task = asyncio.create_task(recorder.run())

    async def started_after(moment: float) -> float:
        while True:
            for t, kind, _ in events:
                if kind == "recording.started" and t > moment:
                    return t - moment
            await asyncio.sleep(0.05)

    await started_after(0)
    comebacks = []
    for outage in range(3):
        await asyncio.sleep(6)
        source.stop()
        await asyncio.sleep(5 + outage * 5)
        await asyncio.to_thread(source.start)
        back = time.time()
        comebacks.append(await asyncio.wait_for(started_after(back), 120))
    await asyncio.sleep(6)
    frozen = time.time()
    source.freeze()
    noticed = ("recording.stalled", "recording.reconnecting")
    while not any(kind in noticed and t > frozen for t, kind, _ in events):
        await asyncio.sleep(0.05)
    detected, how = min(
        (t - frozen, kind) for t, kind, _ in events if kind in noticed and t > frozen
    )
    await asyncio.sleep(3)
    source.thaw()
    thawed = time.time()
    again = await asyncio.wait_for(started_after(thawed), 120)
    recorder.stop()
    await task
    print("\nReaction")
    for index, seconds in enumerate(comebacks):
        print(f"source back after a {5 + index * 5} s outage -> recording again: {seconds:5.2f} s")
    print(f"frozen source -> noticed ({how}): {detected:5.2f} s (stall_timeout 5 s)")
    print(f"frozen source thawed -> recording again: {again:5.2f} s")


def bench_reaction() -> None:
    say("reaction: outages of 5, 10, 15 s, then a frozen source")
    work = Path(tempfile.mkdtemp(prefix="bench-reaction-"))
    source = HlsTestSource(FFMPEG, work / "source")
    source.start()
    try:
        asyncio.run(_reaction(source, work / "rec"))
    finally:
        source.close()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", default=["fidelity", "overhead", "reaction"])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    say(f"ffmpeg: {FFMPEG}")
    if "reaction" in args.which:
        bench_reaction()
    if "overhead" in args.which:
        bench_overhead(args.channels, args.seconds)
    if "fidelity" in args.which:
        bench_fidelity(args.minutes)


if __name__ == "__main__":
    main()
