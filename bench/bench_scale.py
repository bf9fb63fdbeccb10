"""One host recording many channels: what ``streamrec run`` itself costs next to its ffmpegs.

    .venv/bin/python bench/bench_scale.py [--channels 500] [--seconds 60] [--sources 1]
        [--segment 10] [--source-segment 2] [--skip-baseline] [--profile]

One local live HLS source per ``--sources`` (``runtime.testsource``'s lavfi encoder) is written to
disk and served by nginx as static files on 127.0.0.1 (the stdlib server of the test source when
nginx is missing), so serving costs next to nothing. A real ``streamrec run`` gets a generated
config directory with ``--channels`` channels spread over the sources, its own
``STREAMREC_STATE_DIR`` and an HTTP listener on 127.0.0.1 with a token. Once every channel records
(or two minutes passed), for ``--seconds`` of steady state:

- the daemon process alone: CPU % of one core and peak RSS (``/proc/PID/stat``), open fds and
  threads (peak);
- its ffmpeg children, summed: CPU % of one core and RSS;
- then ``--asked`` seconds (30) more while one client asks ``GET /api/status`` and ``GET /metrics``
  in turn every 0.5 s: their median and p95, and the daemon's CPU meanwhile;
- channels recording (``/api/status``), and whether the ffmpegs kept up: media seconds the
  closed segments hold over channels × wall seconds, reconnects and gaps in the window.

Then the baseline, in the same run: as many bare ffmpeg processes with the argv one of the
daemon's children had (read from ``/proc``; its two pipes sent to /dev/null), their CPU and RSS
over the same seconds. Every process started here is ended when the bench ends, also on error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
from measuring import child_pids, proc_cpu_rss, proc_fds_threads

from streamrec.runtime.testsource import PLAYLIST, HlsTestSource

FFMPEG = shutil.which("ffmpeg") or imageio_ffmpeg.get_ffmpeg_exe()
NGINX = Path("/usr/sbin/nginx")


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StaticNginx:
    """nginx serving directories as static files on 127.0.0.1 (one ``location`` per source)."""

    def __init__(self, directory: Path, roots: list[Path]) -> None:
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        locations = "".join(
            f"location /s{i}/ {{ alias {root}/; }} " for i, root in enumerate(roots)
        )
        conf = directory / "nginx.conf"
        conf.write_text(
            "daemon off; master_process off; worker_processes 1;\n"
            "worker_rlimit_nofile 65536;\n"
            f"pid {directory / 'nginx.pid'}; error_log {directory / 'error.log'};\n"
            "events { worker_connections 16384; }\n"
            f"http {{ access_log off; client_body_temp_path {directory}; "
            f"proxy_temp_path {directory}; fastcgi_temp_path {directory}; "
            f"uwsgi_temp_path {directory}; scgi_temp_path {directory}; "
            "types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; } "
            "open_file_cache off; keepalive_requests 100000; "
            f"server {{ listen 127.0.0.1:{self.port}; {locations}}} }}\n"
        )
        self.proc = subprocess.Popen(
            [str(NGINX), "-p", str(directory), "-c", str(conf)], start_new_session=True
        )
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("nginx did not start listening; see its error.log")
            time.sleep(0.05)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.port}/s{index}/{PLAYLIST}"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def write_config(
    config: Path, urls: list[str], channels: int, segment: int, fsync: str = "always"
) -> None:
    lines = ["settings:", f"  max_concurrent_recordings: {channels}", f"  state_fsync: {fsync}"]
    lines += ["channels:"]
    for i in range(channels):
        lines += [f"  c{i:04d}:", f'    url: "{urls[i % len(urls)]}"', f"    segment: {segment}s"]
    (config / ".channels.tmp").write_text("\n".join(lines) + "\n")
    (config / ".channels.tmp").replace(config / "channels.yaml")


def events(state: Path) -> list[dict[str, Any]]:
    path = state / "events.jsonl"
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


def start_daemon(
    root: Path, listen: str, token: str, profile: bool = False, trace: int = 0
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "STREAMREC_STATE_DIR": str(root / "state"),
        "STREAMREC_HTTP_LISTEN": listen,
        "STREAMREC_API_TOKEN": token,
    }
    profiler = ["-m", "cProfile", "-o", str(root / "daemon.prof")] if profile else []
    module = ["-m", "streamrec"]
    if trace:  # tracemalloc with ``trace`` frames; SIGUSR2 writes a snapshot (bench/memtrace.py)
        module = [str(Path(__file__).with_name("memtrace.py")), str(root), str(trace)]
    argv = [sys.executable, *profiler, *module, "-c", str(root / "config"), "run"]
    return subprocess.Popen(
        argv,
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(root / "daemon.log").open("wb"),
        start_new_session=True,
    )


def recording_count(status: dict[str, Any]) -> int:
    """Channels whose state is ``recording`` in a ``/api/status`` answer."""
    channels = status.get("channels") or []
    if isinstance(channels, dict):
        channels = list(channels.values())
    return sum(1 for c in channels if isinstance(c, dict) and c.get("state") == "recording")


class Asker(threading.Thread):
    """Asks ``/api/status`` and ``/metrics`` in turn every ``every`` seconds; keeps latencies."""

    def __init__(self, http: httpx.Client, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.http, self.every = http, every
        self.times: dict[str, list[float]] = {"/api/status": [], "/metrics": []}
        self.recording: list[int] = []
        self.errors = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for path in self.times:
                started = time.perf_counter()
                try:
                    response = self.http.get(path)
                    response.raise_for_status()
                except httpx.HTTPError:
                    self.errors += 1
                    continue
                self.times[path].append((time.perf_counter() - started) * 1000)
                if path == "/api/status":
                    self.recording.append(recording_count(response.json()))
                self.done.wait(self.every)

    def stop(self) -> None:
        self.done.set()
        self.join()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sample(daemon: int, seconds: float) -> dict[str, float]:
    """Every second for ``seconds``: the daemon's and its children's CPU, RSS, fds, threads."""
    own0 = proc_cpu_rss(daemon)[0]
    seen: dict[int, tuple[float, float]] = {}
    peak = {"rss": 0.0, "kids_rss": 0.0, "fds": 0.0, "threads": 0.0, "kids": 0.0}
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        kids = ffmpeg_children(daemon)
        kids_rss = 0
        for pid in kids:
            cpu, rss = proc_cpu_rss(pid)
            seen[pid] = (seen.get(pid, (cpu, cpu))[0], cpu)
            kids_rss += rss
        _, rss = proc_cpu_rss(daemon)
        fds, threads = proc_fds_threads(daemon)
        for key, value in (("rss", rss), ("kids_rss", kids_rss), ("fds", fds),
                           ("threads", threads), ("kids", len(kids))):  # fmt: skip
            peak[key] = max(peak[key], value)
        time.sleep(1)
    wall = time.monotonic() - started
    own = proc_cpu_rss(daemon)[0] - own0
    kids_cpu = sum(last - first for first, last in seen.values())
    return {**peak, "cpu": own / wall * 100, "kids_cpu": kids_cpu / wall * 100, "wall": wall}


def ffmpeg_children(pid: int) -> list[int]:
    """The children of ``pid`` that are ffmpeg (not the config loader's worker process)."""
    out = []
    for child in child_pids(pid):
        with contextlib.suppress(OSError):
            if "ffmpeg" in Path(f"/proc/{child}/comm").read_text():
                out.append(child)
    return out


def bare_argv(argv: list[str], recordings: str, index: int) -> list[str]:
    """A daemon child's argv for bare ffmpeg number ``index``: pipes to stdout/stderr (both
    /dev/null), files under the bare directory."""
    out = []
    for arg in argv:
        if arg.startswith("pipe:"):
            arg = "pipe:1" if out and out[-1] == "-segment_list" else "pipe:2"
        out.append(arg.replace(recordings, f"{recordings}-bare/b{index}"))
    return out


def baseline(argv: list[str], recordings: str, channels: int, seconds: float) -> dict[str, float]:
    """``channels`` bare ffmpegs with ``argv``'s shape: CPU % of a core and RSS, summed."""
    procs = []
    try:
        for i in range(channels):
            one = bare_argv(argv, recordings, i)
            for arg in one:
                if f"-bare/b{i}" in arg:
                    Path(arg).parent.mkdir(parents=True, exist_ok=True)
            procs.append(subprocess.Popen(one, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True))  # fmt: skip
        time.sleep(10)
        before = [proc_cpu_rss(p.pid)[0] for p in procs]
        started = time.monotonic()
        peak = 0
        while time.monotonic() - started < seconds:
            peak = max(peak, sum(proc_cpu_rss(p.pid)[1] for p in procs))
            time.sleep(1)
        wall = time.monotonic() - started
        after = [proc_cpu_rss(p.pid)[0] for p in procs]
        alive = sum(1 for p in procs if p.poll() is None)
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
        for p in procs:
            p.wait()
    cpu = sum(a - b for a, b in zip(after, before, strict=True))
    return {"cpu": cpu / wall * 100, "rss": peak, "alive": alive}


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def tear_down(
    daemon: subprocess.Popen[bytes] | None, nginx: StaticNginx | None, sources: list[HlsTestSource]
) -> None:
    """Stop what a bench started: the daemon and any child it left, nginx, the sources."""
    if daemon is not None:
        stop(daemon)
        kill_children_of(daemon.pid)
    if nginx is not None:
        nginx.close()
    for source in sources:
        source.close()


def kill_children_of(pid: int) -> None:
    """The daemon's ffmpegs lead their own process groups: end any left behind."""
    for child in child_pids(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child, signal.SIGKILL)


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    sources = [HlsTestSource(FFMPEG, root / f"src{i}", segment_time=args.source_segment)
               for i in range(args.sources)]  # fmt: skip
    nginx: StaticNginx | None = None
    daemon: subprocess.Popen[bytes] | None = None
    try:
        for source in sources:
            source.start()
        if NGINX.exists():
            nginx = StaticNginx(root / "nginx", [s.directory for s in sources])
            urls = [nginx.url(i) for i in range(len(sources))]
        else:
            urls = [s.url for s in sources]
        say(f"{len(sources)} source(s) served by {'nginx' if nginx else 'http.server'}: {urls[0]}")
        (root / "config").mkdir()
        write_config(root / "config", urls, args.channels, args.segment, args.state_fsync)
        token = secrets.token_hex(16)
        port = free_port()
        daemon = start_daemon(root, f"127.0.0.1:{port}", token, args.profile)
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        ramp = time.monotonic()
        count = 0
        while time.monotonic() - ramp < args.ramp:
            if daemon.poll() is not None:
                raise RuntimeError("the daemon exited; see daemon.log")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                count = recording_count(http.get("/api/status").json())
                if count >= args.channels:
                    break
            time.sleep(2)
        say(f"{count}/{args.channels} recording after {time.monotonic() - ramp:.0f} s; "
            f"steady state for {args.seconds:g} s")  # fmt: skip
        time.sleep(args.warm)
        mark = events(root / "state")[-1]["seq"]
        t0 = time.time()
        figures = sample(daemon.pid, args.seconds)
        asker = Asker(http)
        asker.start()
        asked = sample(daemon.pid, args.asked)
        asker.stop()
        t1 = time.time()
        kids = ffmpeg_children(daemon.pid)
        argv = Path(f"/proc/{kids[0]}/cmdline").read_bytes().split(b"\0")[:-1] if kids else []
        window = [e for e in events(root / "state") if e["seq"] > mark]
        stop(daemon)
        kill_children_of(daemon.pid)
        log = events(root / "state")
        limit_line = next((line for line in (root / "daemon.log").read_text().splitlines()
                           if "open-file limit" in line), "")  # fmt: skip
        http.close()
        recordings = _recordings_dir(argv)
        base = None
        if argv and not args.skip_baseline:
            say(f"baseline: {args.channels} bare ffmpeg processes, same argv shape")
            base = baseline([a.decode() for a in argv], recordings, args.channels, args.seconds)
        report(args, figures, asked, asker, window, log, t0, t1, base, limit_line)
        if args.profile:
            _print_profile(root / "daemon.prof")
    finally:
        tear_down(daemon, nginx, sources)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            say(f"kept {root}")


def _recordings_dir(argv: list[bytes]) -> str:
    """The directory above ``.partial`` in the output pattern of a child's argv."""
    for arg in reversed(argv):
        text = arg.decode()
        if "/.partial/" in text:
            return text.split("/.partial/")[0]
    return "/nonexistent"


def report(
    args: argparse.Namespace,
    figures: dict[str, float],
    asked: dict[str, float],
    asker: Asker,
    window: list[dict[str, Any]],
    log: list[dict[str, Any]],
    t0: float,
    t1: float,
    base: dict[str, float] | None,
    limit_line: str,
) -> None:
    n = args.channels
    media = sum(e.get("duration") or 0 for e in window if e["type"] == "recording.segment")
    # segments closed in the window hold media from before it too: normalise by their count
    segments = sum(1 for e in window if e["type"] == "recording.segment")
    kept_up = media / (segments * args.segment) if segments else 0.0
    expected = n * (t1 - t0) / args.segment
    figures = {**figures, **{k: max(figures[k], asked[k]) for k in ("fds", "threads", "kids")}}
    kinds: dict[str, int] = {}
    for e in window:
        kinds[e["type"]] = kinds.get(e["type"], 0) + 1
    uncaused = sum(1 for e in log if e["type"] == "recording.gap" and not e.get("cause"))
    rec = asker.recording
    print(f"\nScale: {n} channels, {args.sources} source(s), state_fsync {args.state_fsync}, "
          f"{figures['wall']:.0f} s steady state,"
          f" then {asked['wall']:.0f} s with status and /metrics asked")  # fmt: skip
    print(f"{'':<38}{'CPU % of a core':>16}{'RSS MB':>10}{'per channel':>22}")
    print(f"{'streamrec daemon alone':<38}{figures['cpu']:>16.2f}{figures['rss'] / 1e6:>10.1f}"
          f"{figures['cpu'] / n:>11.3f} %{figures['rss'] / 1e6 / n:>8.2f} MB")  # fmt: skip
    print(f"{'  while status+metrics asked 1/s each':<38}{asked['cpu']:>16.2f}"
          f"{asked['rss'] / 1e6:>10.1f}")  # fmt: skip
    print(f"{'its ffmpeg children (sum)':<38}{figures['kids_cpu']:>16.2f}"
          f"{figures['kids_rss'] / 1e6:>10.1f}{figures['kids_cpu'] / n:>11.3f} %"
          f"{figures['kids_rss'] / 1e6 / n:>8.2f} MB")  # fmt: skip
    if base:
        print(f"{'baseline: bare ffmpeg (sum)':<38}{base['cpu']:>16.2f}{base['rss'] / 1e6:>10.1f}"
              f"{base['cpu'] / n:>11.3f} %{base['rss'] / 1e6 / n:>8.2f} MB"
              f"   ({base['alive']:.0f}/{n} alive)")  # fmt: skip
        print(f"  daemon / bare ffmpegs: CPU {figures['cpu'] / base['cpu'] * 100:.1f} %, "
              f"RSS {figures['rss'] / base['rss'] * 100:.1f} %")  # fmt: skip
    print(f"daemon peak: {figures['fds']:.0f} open fds, {figures['threads']:.0f} threads, "
          f"{figures['kids']:.0f} ffmpeg children; {limit_line.partition('INFO')[2].strip()}")  # fmt: skip
    for path, times in asker.times.items():
        print(f"GET {path:<12} median {statistics.median(times) if times else float('nan'):7.1f} ms"
              f"   p95 {pct(times, 0.95):7.1f} ms   ({len(times)} asked)")  # fmt: skip
    print(f"channels recording (status): min {min(rec) if rec else 0}, last {rec[-1] if rec else 0}"
          f" of {n}; request errors {asker.errors}")  # fmt: skip
    print(f"segments closed in the window: {segments} (~{expected:.0f} if all kept up); "
          f"media per segment / segment length: {kept_up:.3f}")  # fmt: skip
    print(f"events in the window: {dict(sorted(kinds.items()))}")
    print(f"recording.gap events without a cause (whole run): {uncaused}")
    print("targets: daemon < 5 % of a core and < 150 MB at 500 channels; status, /metrics < 100 ms")


def _print_profile(path: Path) -> None:
    import pstats

    if path.exists():
        print("\ndaemon profile (main thread), by own time:")
        pstats.Stats(str(path)).sort_stats("tottime").print_stats(25)
        pstats.Stats(str(path)).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sources", type=int, default=1)
    parser.add_argument("--segment", type=int, default=10, help="segment length, seconds")
    parser.add_argument("--source-segment", type=float, default=2.0,
                        help="the source's HLS segment length, seconds")  # fmt: skip
    parser.add_argument("--ramp", type=float, default=120.0, help="seconds to wait for recording")
    parser.add_argument("--warm", type=float, default=10.0, help="seconds before sampling")
    parser.add_argument("--asked", type=float, default=30.0,
                        help="seconds of status and /metrics asked, after the quiet ones")  # fmt: skip
    parser.add_argument("--state-fsync", default="always", choices=["always", "interval", "never"],
                        help="settings.state_fsync of the generated config")  # fmt: skip
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="run the daemon under cProfile (its CPU figures are then inflated)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
