"""What hostile config files cost: `streamrec validate` on each, and a running daemon while each lands.

    .venv/bin/python bench/bench_hostile.py [--window SECONDS]

1. ``streamrec validate`` (a real subprocess; wall time and peak RSS from ``os.wait4``) on a
   directory holding one good channel file plus each hostile file: an alias bomb, a FIFO, symlinks
   to /dev/zero and /dev/urandom, a socket, 100,000 ``[``, 1,000 nested mappings and flow
   sequences, a file over the size cap, a 1 MiB scalar, a directory over the total cap. Baselines
   in the same run: validate on the good file alone, and a bare ``python -c pass``.
2. A real daemon recording a local HLS source (2 s segments) while an alias bomb, then a FIFO, then
   a 50 MB file are dropped into its config directory: the longest ``/healthz`` answer (polled
   every 100 ms on the Unix socket) and the longest gap between finished segments, from the drop
   until ``--window`` seconds after its ``config.rejected``. Baseline: the same figures over an
   idle window of the same length before the first drop.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from streamrec.runtime.testsource import HlsTestSource

MIB = 2**20
GOOD = 'channels:\n  ok:\n    url: "http://127.0.0.1:9/live.m3u8"\n'


def bomb_text() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def sparse(path: Path, size: int) -> None:
    with path.open("wb") as out:
        out.truncate(size)


def bind_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))


BAD: dict[str, Callable[[Path], None]] = {
    "alias bomb": lambda d: (d / "bomb.yaml").write_text(bomb_text()) and None,
    "FIFO": lambda d: os.mkfifo(d / "zz.yaml"),
    "-> /dev/zero": lambda d: (d / "z.yaml").symlink_to("/dev/zero"),
    "-> /dev/urandom": lambda d: (d / "u.yaml").symlink_to("/dev/urandom"),
    "socket": lambda d: bind_socket(d / "s.yaml"),
    "100,000 [": lambda d: (d / "b.yaml").write_text("[" * 100_000) and None,
    "1,000 nested maps": lambda d: (
        (d / "m.yaml").write_text("".join(" " * i + f"k{i}:\n" for i in range(1000))) and None
    ),
    "1,000 nested [": lambda d: (d / "f.yaml").write_text("a: " + "[" * 1000 + "]" * 1000) and None,
    "file of 8 MiB + 1": lambda d: sparse(d / "big.yaml", 8 * MIB + 1),
    "1 MiB + 1 scalar": lambda d: (d / "l.yaml").write_text("a: " + "x" * (MIB + 1)) and None,
    "9 x 8 MiB files": lambda d: [sparse(d / f"p{i}.yaml", 8 * MIB) for i in range(9)] and None,
}


def measured(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of one child."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, proc.returncode


def validate_figures() -> None:
    print("streamrec validate on each hostile file (one good file beside it)")
    print(f"{'case':24} {'wall s':>7} {'x base':>7} {'peak MB':>8} {'x base':>7} exit")
    with tempfile.TemporaryDirectory(prefix="sr-bench-") as tmp:
        root = Path(tmp)
        pass_wall, pass_mb, _ = measured([sys.executable, "-c", "pass"], root)
        good = root / "good"
        good.mkdir()
        (good / "a.yaml").write_text(GOOD)
        validate = [sys.executable, "-m", "streamrec", "-q", "-c"]
        base_wall, base_mb, code = measured([*validate, str(good), "validate"], root)
        print(f"{'python -c pass':24} {pass_wall:7.2f} {'':7} {pass_mb:8.0f}")
        print(
            f"{'baseline: good config':24} {base_wall:7.2f} {1:7.2f} {base_mb:8.0f} {1:7.2f} {code}"
        )
        for index, (case, make) in enumerate(BAD.items()):
            directory = root / f"c{index}"
            directory.mkdir()
            (directory / "a.yaml").write_text(GOOD)
            make(directory)
            wall, mb, code = measured([*validate, str(directory), "validate"], root)
            print(
                f"{case:24} {wall:7.2f} {wall / base_wall:7.2f} {mb:8.0f} {mb / base_mb:7.2f} {code}"
            )


def healthz(sock: Path) -> float:
    started = time.monotonic()
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(30)
            conn.connect(str(sock))
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            while conn.recv(65536):
                pass
    except OSError:
        return float("inf")
    return time.monotonic() - started


class Poller(threading.Thread):
    def __init__(self, sock: Path) -> None:
        super().__init__(daemon=True)
        self.sock, self.samples, self.done = sock, [], threading.Event()
        self.samples: list[tuple[float, float]] = []

    def run(self) -> None:
        while not self.done.is_set():
            started = time.time()
            self.samples.append((started, healthz(self.sock)))
            self.done.wait(0.1)

    def longest(self, start: float, end: float) -> float:
        return max((took for at, took in self.samples if start <= at <= end), default=0.0)


def events(state: Path) -> list[dict[str, Any]]:
    path = state / "events.jsonl"
    found = []
    for line in path.read_text().splitlines() if path.exists() else []:
        with contextlib.suppress(ValueError):
            found.append(json.loads(line))
    return found


def wait_event(state: Path, match: Callable[[dict[str, Any]], bool], after: int) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for event in events(state):
            if event["seq"] > after and match(event):
                return event
        time.sleep(0.05)
    raise TimeoutError("no such event within 120 s")


def segment_gap(state: Path, start: float, end: float) -> float:
    stamps = [
        datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()
        for e in events(state)
        if e["type"] == "recording.segment"
    ]
    inside = [start, *(s for s in stamps if start < s < end), end]
    return max(b - a for a, b in itertools.pairwise(inside))


def write_big(path: Path, size: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    line = b"# " + b"x" * 97 + b"\n"
    with tmp.open("wb") as out:
        out.write(b"categories:\n  big: {}\n" + line * (size // len(line)))
    tmp.replace(path)


def daemon_figures(window: float) -> None:
    print(
        f"\na running daemon while each file is rejected (window: drop .. rejected + {window:g} s)"
    )
    with tempfile.TemporaryDirectory(prefix="sr-bench-") as tmp:
        root = Path(tmp)
        config, state = root / "config", root / "state"
        config.mkdir()
        with HlsTestSource(imageio_ffmpeg.get_ffmpeg_exe(), root / "src") as src:
            src.start()
            (config / "a.yaml").write_text(
                f'channels:\n  a:\n    url: "{src.url}"\n    segment: 2s\n'
            )
            env = {**os.environ, "STREAMREC_STATE_DIR": str(state)}
            with (root / "daemon.log").open("wb") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "streamrec", "-q", "-c", str(config), "run"],
                    cwd=root,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            try:
                wait_event(state, lambda e: e["type"] == "recording.segment", 0)
                poller = Poller(state / "daemon.sock")
                poller.start()
                start = time.time()
                time.sleep(window + 2)
                end = time.time()
                base_health, base_gap = poller.longest(start, end), segment_gap(state, start, end)
                print(
                    f"{'case':24} {'healthz max s':>13} {'x base':>7} {'seg gap s':>10} {'x base':>7}"
                )
                print(
                    f"{'baseline: idle':24} {base_health:13.3f} {1:7.2f} {base_gap:10.2f} {1:7.2f}"
                )
                drops: list[tuple[str, Callable[[], None]]] = [
                    ("alias bomb", lambda: (config / "bomb.yaml").write_text(bomb_text()) and None),
                    ("FIFO zz.yaml", lambda: os.mkfifo(config / "zz.yaml")),
                    ("50 MB file", lambda: write_big(config / "big.yaml", 50 * MIB)),
                ]
                for case, drop in drops:
                    mark = events(state)[-1]["seq"]
                    start = time.time()
                    drop()
                    wait_event(state, lambda e: e["type"] == "config.rejected", mark)
                    time.sleep(window)
                    end = time.time()
                    health, gap = poller.longest(start, end), segment_gap(state, start, end)
                    print(
                        f"{case:24} {health:13.3f} {health / base_health:7.2f} "
                        f"{gap:10.2f} {gap / base_gap:7.2f}"
                    )
                poller.done.set()
                poller.join(5)
            finally:
                proc.terminate()
                proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=6.0)
    args = parser.parse_args()
    validate_figures()
    daemon_figures(args.window)


if __name__ == "__main__":
    main()
