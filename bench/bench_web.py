"""Latency of ``/metrics`` and ``/api/status`` with 1,000 channels declared.

    .venv/bin/python bench/bench_web.py [--channels 1000] [--requests 300]

A real ``streamrec run`` serves TCP on 127.0.0.1. Every channel has one window far in the future, so
nothing records, but the state log is filled first with a history for each channel (segments on disk,
a gap, a reconnect) and a few task runs, so the fold the endpoints read is the size a busy
installation has. Each endpoint is asked ``--requests`` times in a row by one client; the figures
are the median and the 95th percentile of the wall time per request, next to ``/healthz`` on the
same server in the same run (the floor: uvicorn, Starlette and the client) and the response size.
Meanwhile a second client asks ``/healthz`` in a loop: its p95 and worst latency say how long the
daemon's event loop (which also supervises the recorders) is held up by each endpoint.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from streamrec.state.journal import Journal


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(directory: Path, channels: int) -> None:
    lines = ["categories:", "  news: {}", "  sports: {}", "channels:"]
    for i in range(channels):
        lines += [
            f"  ch-{i:04d}:",
            f'    url: "http://127.0.0.1:9/ch-{i}/live.m3u8?token=secret-{i}"',
            f"    category: {'news' if i % 2 else 'sports'}",
            '    schedule: [{at: "2031-01-01T20:00", duration: 1h}]',
        ]
    lines += ["tasks:"]
    for i in range(20):
        lines += [f"  task-{i:02d}:", "    command: 'true'", '    schedule: "0 3 * * *"']
    lines += ["queues:", "  nightly: {tasks: [task-00, task-01], schedule: '30 3 * * *'}"]
    (directory / "config.yaml").write_text("\n".join(lines) + "\n")


def fill_history(state: Path, channels: int, recordings: Path) -> int:
    """A past for every channel: three segments on the books, a reconnect, a gap; some task runs."""
    journal = Journal(state, fsync="never")
    batch: list[tuple[str, dict[str, object]]] = []
    for i in range(channels):
        name = f"ch-{i:04d}"
        for k in range(3):
            start, end = f"2026-05-01T20:{k:02d}:00+00:00", f"2026-05-01T20:{k + 1:02d}:00+00:00"
            batch.append(
                (
                    "recording.segment",
                    {
                        "channel": name,
                        "file": str(recordings / name / f"{name}_{k}.ts"),
                        "start": start,
                        "end": end,
                        "duration": 60.0,
                        "bytes": 7_500_000,
                        "hooks": "none",
                    },
                )
            )
        batch.append(("recording.reconnecting", {"channel": name, "attempt": 1, "reason": "x"}))
        batch.append(
            (
                "recording.gap",
                {"channel": name, "start": start, "end": end, "cause": "source down"},
            )
        )
        batch.append(("recording.stopped", {"channel": name, "reason": "window closed"}))
    for i in range(20):
        for run in range(5):
            batch.append(("task.started", {"task": f"task-{i:02d}", "run": run, "attempt": 1}))
            batch.append(
                (
                    "task.finished",
                    {"task": f"task-{i:02d}", "run": run, "status": "completed", "duration": 0.1},
                )
            )
    for start in range(0, len(batch), 1000):
        journal.extend(batch[start : start + 1000])
    journal.close()
    return len(batch)


def measure(http: httpx.Client, path: str, count: int) -> tuple[float, float, int]:
    """Median and p95 in ms of ``count`` sequential requests, and the response size."""
    http.get(path).raise_for_status()  # warm up
    times, size = [], 0
    for _ in range(count):
        started = time.perf_counter()
        response = http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = len(response.content)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], size


class Prober(threading.Thread):
    """Asks /healthz every 5 ms on its own connection and keeps the latencies."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=base, timeout=60)
        self.times: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            started = time.perf_counter()
            self.http.get("/healthz")
            self.times.append((time.perf_counter() - started) * 1000)
            time.sleep(0.005)
        self.http.close()

    def stop(self) -> tuple[float, float]:
        self.done.set()
        self.join()
        ordered = sorted(self.times)
        return ordered[int(len(ordered) * 0.95) - 1], ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        root = Path(tmp)
        config, state = root / "config", root / "state"
        config.mkdir()
        write_config(config, args.channels)
        events = fill_history(state, args.channels, root / "recordings")
        port = free_port()
        env = {
            **os.environ,
            "STREAMREC_STATE_DIR": str(state),
            "STREAMREC_HTTP_LISTEN": f"127.0.0.1:{port}",
        }
        daemon = subprocess.Popen(
            [sys.executable, "-m", "streamrec", "-q", "-c", str(config), "run"],
            env=env,
            cwd=root,
            start_new_session=True,
        )
        try:
            http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
            deadline = time.monotonic() + 120
            while True:
                try:
                    if http.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or daemon.poll() is not None:
                    raise SystemExit("the daemon did not become ready")
                time.sleep(0.1)
            print(
                f"{args.channels} channels declared (none recording), {events} events of history, "
                f"{args.requests} sequential requests per endpoint"
            )
            print(
                f"{'endpoint':<28} {'median ms':>10} {'p95 ms':>10} {'bytes':>10}"
                f"   healthz meanwhile: p95 / max ms"
            )
            for path in (
                "/healthz",
                "/metrics",
                "/api/status",
                "/api/live",
                "/api/events?limit=100",
            ):
                prober = Prober(f"http://127.0.0.1:{port}")
                prober.start()
                median, p95, size = measure(http, path, args.requests)
                probe_p95, probe_max = prober.stop()
                label = f"{path} (baseline)" if path == "/healthz" else path
                print(
                    f"{label:<28} {median:>10.2f} {p95:>10.2f} {size:>10}"
                    f"   {probe_p95:>8.2f} / {probe_max:.2f}"
                )
            http.close()
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
