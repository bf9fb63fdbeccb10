"""Recorder figures, each next to a baseline measured in the same run (run by hand, not in CI).

    .venv/bin/python bench/bench_recorder.py [fidelity] [overhead] [reaction] [sigkill]
        [--channels 50] [--seconds N] [--kills 3]

fidelity  A local HLS source with per-frame noise (every video packet distinct; 1 s segments,
          6 listed, every segment kept) runs for ``--seconds`` (180) with three outages: the
          encoder restarts (5 s down, media sequence back to 0), the HTTP server is down 8 s,
          the encoder freezes 5 s. Recorded at the same time by streamrec (a default channel),
          bare ffmpeg with its reconnect flags, ffmpeg in a restart loop and streamlink in a
          restart loop. Figures by frame identity (``framemd5`` of each packet): coverage =
          distinct published packets on disk / published packets, duplicated and foreign
          packets, and the longest run of missing packets per outage next to the unavoidable one.
overhead  ``--channels`` recorders of one local source for ``--seconds``: CPU and peak RSS of
          streamrec's own process next to the sum of its ffmpeg children, and the same number of
          bare ffmpeg processes with the same command as the baseline.
reaction  Seconds from the source coming back to recording again (3 outages), and from a frozen
          source to the stall being detected and to recording again after it thaws.
sigkill   ``streamrec run`` recording a noise HLS source, SIGKILLed with its ffmpeg ``--kills``
          (3) times and started again at once: per crash, the seconds until it records again
          and the media missing around the crash, by frame identity.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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
from streamrec.runtime.testsource import HlsTestSource, frame_coverage, packet_hashes
from streamrec.spec.model import Channel

FFMPEG = shutil.which("ffmpeg") or imageio_ffmpeg.get_ffmpeg_exe()
FPS = 25
CLK = os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


OUTAGES = (
    ("encoder restart", 0.2, 5.0),  # 5 s down, media sequence back to 0
    ("HTTP down", 0.5, 8.0),  # 2 s longer than the 6-segment playlist
    ("encoder freeze", 0.8, 5.0),  # SIGSTOP: the playlist is served but stale
)


def unavoidable(kind: str, seconds: float, source: HlsTestSource) -> float:
    """Media a client that reconnects instantly still loses: what left the playlist meanwhile."""
    if kind != "HTTP down":
        return 0.0
    return max(0.0, seconds - source.list_size * source.segment_time)


def run_outages(source: HlsTestSource, total: float, log: list[tuple[float, float]]) -> None:
    """The three outages at 20 %, 50 % and 80 % of the run; (start, end) of each into ``log``."""
    began = time.monotonic()
    for kind, at, seconds in OUTAGES:
        time.sleep(max(0.0, began + total * at - time.monotonic()))
        source.between_segments()
        say(f"outage: {kind} for {seconds:g} s")
        start = time.time()
        if kind == "encoder restart":
            source.stop()
            time.sleep(seconds)
            source.start(reset_sequence=True)
        elif kind == "HTTP down":
            source.http_down()
            time.sleep(seconds)
            source.http_up()
        else:
            source.freeze()
            time.sleep(seconds)
            source.thaw()
        log.append((start, time.time()))


async def streamrec_record(url: str, out: Path, seconds: float, events: list[Any]) -> Recorder:
    """streamrec with a default channel, as ``streamrec record URL --for SECONDS`` runs it."""

    def emit(type_: str, /, **fields: Any) -> None:
        events.append((time.time(), type_, fields))

    storage = Storage(out, min_free_space=0, emit=emit)
    recorder = Recorder("bench", Channel(url=url), recordings_dir=out, ffmpeg=FFMPEG, emit=emit,
                        storage=storage)  # fmt: skip
    await recorder.run(seconds)
    return recorder


def restart_loop(command: str, out: Path) -> subprocess.Popen[bytes]:
    """``while true; do COMMAND OUT/part_N.ts; sleep 2; done`` in its own process group."""
    out.mkdir(parents=True)
    script = f'i=0; while true; do i=$((i+1)); {command} "{out}/part_$i.ts"; sleep 2; done'
    return subprocess.Popen(["/bin/sh", "-c", script], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to the whole group (ffmpeg closes its file), SIGKILL after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def bench_fidelity(seconds: float) -> None:
    sl_exe = shutil.which("streamlink") or str(Path(sys.executable).parent / "streamlink")
    say(f"fidelity: {seconds:g} s of a noise HLS source (1 s segments, 6 listed), three outages")
    work = Path(tempfile.mkdtemp(prefix="bench-fidelity-"))
    source = HlsTestSource(FFMPEG, work / "source", noise=True, keep_segments=True)
    source.start()
    time.sleep(3)
    url = source.url
    began = time.time()
    bare_out = work / "ffmpeg.ts"
    others: dict[str, subprocess.Popen[bytes]] = {
        "ffmpeg -reconnect*": subprocess.Popen(
            [
                FFMPEG,
                "-v",
                "error",
                "-nostdin",
                "-reconnect",
                "1",
                "-reconnect_streamed",
                "1",
                "-reconnect_on_network_error",
                "1",
                "-reconnect_on_http_error",
                "4xx,5xx",
                "-reconnect_delay_max",
                "5",
                "-i",
                url,
                "-c",
                "copy",
                "-f",
                "mpegts",
                str(bare_out),
            ],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        ),
        "ffmpeg restart loop": restart_loop(
            f"{FFMPEG} -v error -nostdin -i {url} -c copy -f mpegts", work / "loop-ffmpeg"
        ),
    }
    if Path(sl_exe).exists():
        others["streamlink loop"] = restart_loop(
            f"{sl_exe} --loglevel error hls://{url} best -o", work / "loop-streamlink"
        )
    events: list[Any] = []
    outages: list[tuple[float, float]] = []
    thread = threading.Thread(target=run_outages, args=(source, seconds, outages))
    thread.start()
    recorder = asyncio.run(streamrec_record(url, work / "streamrec", seconds, events))
    until = time.time() - 3.0  # the last segments: nobody had time to record them
    thread.join()
    for proc in others.values():
        stop_group(proc)
    source.stop()
    say("counting packets by frame identity")
    published = source.published()
    files: dict[str, list[Path]] = {
        "streamrec": [Path(f["file"]) for f in recorder.files],
        "ffmpeg -reconnect*": [bare_out] if bare_out.exists() else [],
        "ffmpeg restart loop": sorted((work / "loop-ffmpeg").glob("*.ts")),
        "streamlink loop": sorted((work / "loop-streamlink").glob("*.ts")),
    }
    total = sum(len(seg.packets) for seg in published if began <= seg.mtime < until)
    print(f"\nFidelity over {seconds:g} s: {total} video packets published while recording")
    kinds = [kind for kind, _, _ in OUTAGES]
    print(f"{'recorder':<22}{'coverage':>9}{'dup':>5}{'foreign':>8}  longest gap per outage (s)")
    print(f"{'(unavoidable)':<22}{'':>22}  " + "  ".join(
        f"{kind} {unavoidable(kind, length, source):.1f}" for kind, _, length in OUTAGES
    ))  # fmt: skip
    for name, paths in files.items():
        if name not in others and name != "streamrec":
            continue
        recorded = [h for path in paths for h in packet_hashes(FFMPEG, path)]
        cov = frame_coverage(published, recorded, outages, began, until)
        gaps = "  ".join(f"{kind} {gap:.1f}" for kind, gap in zip(kinds, cov.gaps, strict=True))
        print(f"{name:<22}{cov.ratio:>9.4f}{cov.duplicated:>5}{cov.foreign:>8}  {gaps}")
    probes = [t for t, kind, _ in events if kind == "recording.reconnecting"]
    print(f"streamrec: {len(probes)} reconnect(s); gaps it logged: " + "; ".join(
        f"{f['start'][11:19]}..{f['end'][11:19]} {f['cause'][:40]}"
        for _, t, f in events if t == "recording.gap"
    ))  # fmt: skip
    source.close()
    shutil.rmtree(work, ignore_errors=True)


def _daemon_events(state: Path) -> list[dict[str, Any]]:
    path = state / "events.jsonl"
    found = []
    for line in path.read_text().splitlines() if path.exists() else []:
        with contextlib.suppress(ValueError):
            found.append(json.loads(line))
    return found


def _wait_event(state: Path, kind: str, after: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in _daemon_events(state):
            if event["seq"] > after and event["type"] == kind:
                return event
        time.sleep(0.05)
    raise RuntimeError(f"no {kind} within {timeout:g}s")


def bench_sigkill(kills: int) -> None:
    """``streamrec run`` and its ffmpeg SIGKILLed ``kills`` times; what each crash cost."""
    say(f"sigkill: a daemon recording a noise HLS source (6 listed) is SIGKILLed {kills} times")
    work = Path(tempfile.mkdtemp(prefix="bench-sigkill-"))
    source = HlsTestSource(FFMPEG, work / "source", noise=True, keep_segments=True)
    source.start()
    config, state = work / "config", work / "state"
    config.mkdir()
    (config / "channels.yaml").write_text(
        f'settings: {{recordings_dir: "{work / "recordings"}"}}\n'
        f'channels:\n  crash: {{url: "{source.url}", segment: 2s}}\n'
    )
    argv = [sys.executable, "-m", "streamrec", "-c", str(config), "run"]
    env = {**os.environ, "STREAMREC_STATE_DIR": str(state)}

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, env=env, cwd=work, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip

    daemon = start()
    started = _wait_event(state, "recording.started", 0)
    crashes: list[tuple[float, float]] = []
    for _ in range(kills):
        time.sleep(7.3)
        killed = time.time()
        os.kill(started["pid"], signal.SIGKILL)
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()
        mark = _daemon_events(state)[-1]["seq"]
        daemon = start()
        started = _wait_event(state, "recording.started", mark)
        crashes.append((killed, time.time()))
    time.sleep(7)
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(30)
    source.stop()
    published = source.published()
    files = [Path(e["file"]) for e in _daemon_events(state) if e["type"] == "recording.segment"]
    recorded = [h for path in files for h in packet_hashes(FFMPEG, path)]
    print(f"\nSIGKILL of `streamrec run` and its ffmpeg, {kills} times (1 s segments, 6 listed)")
    print(f"{'crash':<7}{'restart to recording (s)':>26}{'media missing (s)':>19}{'dup':>5}")
    for index, (killed, back) in enumerate(crashes):
        cov = frame_coverage(published, recorded, [(killed, back)], killed - 5, back + 5)
        missing = (cov.published - cov.found) / FPS
        print(f"{index + 1:<7}{back - killed:>26.1f}{missing:>19.2f}{cov.duplicated:>5}")
    source.close()
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
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--seconds", type=float, help="fidelity: 180 s; overhead: 60 s")
    parser.add_argument("--kills", type=int, default=3, help="sigkill: how many crashes")
    args = parser.parse_args()
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    say(f"ffmpeg: {FFMPEG}")
    if "reaction" in args.which:
        bench_reaction()
    if "overhead" in args.which:
        bench_overhead(args.channels, args.seconds or 60.0)
    if "fidelity" in args.which:
        bench_fidelity(args.seconds or 180.0)
    if "sigkill" in args.which:
        bench_sigkill(args.kills)


if __name__ == "__main__":
    main()
