"""A running daemon stays responsive and keeps recording while hostile config files are dropped in."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from daemonkit import DaemonProcess, alive, never, read_events

from streamrec.daemon.configload import SLOW_REASON, ConfigLoader, Planned, Refused, load_and_plan
from streamrec.daemon.service import Daemon
from streamrec.errors import ConfigError
from streamrec.runtime.clock import SYSTEM_CLOCK

SEGMENT = 2.0


def healthz(sock: Path, timeout: float = 5.0) -> float:
    """Seconds one ``GET /healthz`` over the Unix socket took (inf when it did not answer 200)."""
    started = time.monotonic()
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(timeout)
            conn.connect(str(sock))
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
    except OSError:
        return float("inf")
    return time.monotonic() - started if answer.startswith(b"HTTP/1.1 200") else float("inf")


class Poller(threading.Thread):
    """Asks ``/healthz`` every ~100 ms and keeps the longest answer time."""

    def __init__(self, sock: Path) -> None:
        super().__init__(daemon=True)
        self.sock = sock
        self.longest = 0.0
        self.count = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.longest = max(self.longest, healthz(self.sock))
            self.count += 1
            self.done.wait(0.1)


def alias_bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def write_big(path: Path, size: int) -> None:
    """A YAML file of ``size`` bytes (comments after one section), renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    line = b"# " + b"x" * 97 + b"\n"
    with tmp.open("wb") as out:
        out.write(b"categories:\n  big: {}\n")
        out.write(line * (size // len(line)))
    tmp.replace(path)


def stamp(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["ts"]).replace("Z", "+00:00")).timestamp()


def longest_gap(events: list[dict[str, Any]], channel: str, since: float) -> float:
    """The longest time between finished segments of ``channel`` from ``since`` to now."""
    times = [since]
    times += [
        stamp(e)
        for e in events
        if e["type"] == "recording.segment" and e.get("channel") == channel and stamp(e) > since
    ]
    times.append(time.time())
    return max(b - a for a, b in itertools.pairwise(times))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_daemon_keeps_answering_and_recording_while_hostile_files_are_rejected(daemon, hls):
    """Alias bomb, FIFO and a 50 MB file: each rejected, /healthz < 1 s, same ffmpeg, segments go on."""
    d: DaemonProcess = daemon()
    d.write(
        "channels.yaml",
        f'channels:\n  a:\n    url: "{hls.url}"\n    segment: 2s\n    stall_timeout: 8s\n',
    )
    d.start()
    started = d.wait_for(lambda e: e["type"] == "recording.started" and e.get("channel") == "a")
    d.wait_for(lambda e: e["type"] == "recording.segment" and e.get("channel") == "a")
    poller = Poller(d.state / "daemon.sock")
    poller.start()
    since = time.time()
    drops = [
        ("bomb.yaml", lambda: d.write("bomb.yaml", alias_bomb()), "aliases expand to more than"),
        ("zz.yaml", lambda: os.mkfifo(d.config / "zz.yaml"), "is a FIFO (named pipe)"),
        ("big.yaml", lambda: write_big(d.config / "big.yaml", 50 * 2**20), "over 8 MiB"),
    ]
    try:
        for name, drop, message in drops:
            mark = d.last_seq()
            drop()
            rejected = d.wait_for(lambda e: e["type"] == "config.rejected", after=mark)
            assert any(f"{name}" in line and message in line for line in rejected["errors"]), (
                rejected["errors"]
            )
            d.wait_for(
                lambda e: e["type"] == "recording.segment" and e.get("channel") == "a",
                after=rejected["seq"],
            )
        time.sleep(SEGMENT)
    finally:
        poller.done.set()
        poller.join(10)
    assert poller.count > 10
    assert poller.longest < 1.0, f"/healthz took {poller.longest:.2f} s"
    assert alive(started["pid"])
    events = d.events()
    restarts = [e for e in events if e["type"] == "recording.started" and e["seq"] > started["seq"]]
    assert restarts == []
    assert longest_gap(events, "a", since) < 2 * SEGMENT + 1.5


def slow_when_marked(directory: Path, environ: Mapping[str, str], base: Path | None) -> Any:
    """The real load, after sleeping for a minute when ``.slow`` exists (its pid written there)."""
    marker = directory / ".slow"
    if marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(60)
    return load_and_plan(directory, environ, base)


@pytest.mark.timeout(60)
async def test_a_load_past_the_deadline_is_killed_and_rejected_as_too_slow(tmp_path):
    """A stuck load is killed at the deadline, rejected as too slow; the next load works again."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "tasks.yaml").write_text('tasks:\n  t:\n    command: "true"\n')
    state = tmp_path / "state"
    loader = ConfigLoader(job=slow_when_marked, deadline=1.5)
    daemon = Daemon(
        config,
        environ={"STREAMREC_STATE_DIR": str(state)},
        changes=never(),
        loader=loader,
        clock=SYSTEM_CLOCK,
    )
    running = asyncio.create_task(daemon.run())
    try:
        while not any(e["type"] == "config.applied" for e in read_events(state)):
            await asyncio.sleep(0.05)
        (config / ".slow").write_text("")
        answer = await daemon.reconcile("test")
        assert answer["ok"] is False
        rejected = [e for e in read_events(state) if e["type"] == "config.rejected"]
        assert rejected[-1]["reason"] == SLOW_REASON == "too slow to load"
        assert "took longer than 1.5 s" in rejected[-1]["errors"][0]
        stuck = int((config / ".slow").read_text())
        deadline = time.monotonic() + 5
        while alive(stuck) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not alive(stuck)
        (config / ".slow").unlink()
        assert (await daemon.reconcile("test again"))["ok"] is True
    finally:
        daemon.request_shutdown("test over")
        await asyncio.wait_for(running, 20)


@pytest.mark.timeout(60)
async def test_the_worker_sends_back_a_pickled_config_or_every_problem(tmp_path):
    """The loader returns the loaded config with its plan, or raises the located problems."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "a.yaml").write_text('channels:\n  a:\n    url: "http://127.0.0.1:9/x.m3u8"\n')
    loader = ConfigLoader()
    try:
        planned = await loader.load(config, {}, None)
        assert isinstance(planned, Planned)
        assert list(planned.loaded.config.channels) == ["a"]
        assert "channel/a" in planned.want.hashes
        (config / "b.yaml").write_text("channels:\n  b: {url: [\n")
        with pytest.raises(ConfigError) as info:
            await loader.load(config, {}, None)
        assert "b.yaml:3:1: invalid YAML" in str(info.value.problems[0])
        assert isinstance(load_and_plan(config, {}, None), Refused)
    finally:
        loader.close()
