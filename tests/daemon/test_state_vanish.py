"""A running daemon whose state directory is removed or unwritable recreates it and keeps recording."""

from __future__ import annotations

import itertools
import json
import shutil
import socket
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from daemonkit import DaemonProcess, ffmpeg_processes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def channel_yaml(url: str) -> str:
    return f'channels:\n  a:\n    url: "{url}"\n    segment: 2s\n    stall_timeout: 8s\n'


def get(sock_path: Path, route: str) -> tuple[int, dict[str, Any]]:
    """``GET route`` over the control socket: the status code and the JSON body."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(str(sock_path))
        conn.sendall(
            f"GET {route} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body or b"{}")


def until(check: Callable[[], bool], timeout: float, what: str, d: DaemonProcess) -> float:
    """Wait until ``check()`` holds; the seconds it took. AssertionError with the log after."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {timeout}s:\n{d.tail()}")


def remove_tree(path: Path) -> None:
    """``rm -rf``, again if the daemon wrote into the directory while it was being removed."""
    for _ in range(5):
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            continue


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_removed_state_dir_is_recreated_and_recording_goes_on(daemon, hls):
    """After rm -rf state/: state.recreated comes first, seq goes on, the API is back, no gap."""
    d = daemon()
    d.write("channels.yaml", channel_yaml(hls.url))
    d.start()
    first = d.wait_for(lambda e: e["type"] == "recording.started")
    d.wait_for(lambda e: e["type"] == "recording.segment", timeout=30)
    d.wait_for(lambda e: e["type"] == "recording.segment", after=d.last_seq(), timeout=30)
    before = d.events()
    removed = time.monotonic()
    remove_tree(d.state)

    recreated = d.wait_for(lambda e: e["type"] == "state.recreated", timeout=10)
    took = time.monotonic() - removed
    assert d.events()[0]["type"] == "state.recreated"
    assert recreated["seq"] > before[-1]["seq"]
    assert recreated["previous_seq"] >= before[-1]["seq"]
    assert recreated["lost_events"] == recreated["previous_seq"]
    until(lambda: (d.state / "daemon.json").is_file(), 10, "daemon.json", d)
    until(lambda: get(d.state / "daemon.sock", "/healthz")[0] == 200, 10, "/healthz", d)
    assert json.loads((d.state / "daemon.json").read_text())["pid"] == d.proc.pid
    assert (d.state / "locks" / "daemon.lock").read_text().strip() == str(d.proc.pid)
    pid_file = d.state / "pids" / "channel-a" / "ffmpeg.json"
    until(pid_file.is_file, 10, "the ffmpeg pid file", d)
    assert (d.state / "applied.json").is_file()
    assert "Daemon running" in d.cli("status").stdout

    d.wait_for(lambda e: e["type"] == "recording.segment", after=recreated["seq"], timeout=30)
    mark = d.last_seq()
    d.wait_for(lambda e: e["type"] == "recording.segment", after=mark, timeout=30)
    after = d.events()
    restarts = [e for e in after if e["type"] == "recording.started"]
    assert len(restarts) <= 1
    if not restarts:
        assert first["pid"] in ffmpeg_processes("")
    segments = sorted(
        (stamp(e["start"]), stamp(e["end"]))
        for e in before + after
        if e["type"] == "recording.segment"
    )
    gap = max(nxt[0] - prev[1] for prev, nxt in itertools.pairwise(segments))
    print(f"state.recreated {took:.2f}s after rm -rf; largest gap between segments {gap:.2f}s")
    assert gap < 5
    assert not [e for e in after if e["type"] == "recording.gap"]
    log = d.tail()
    assert "StateError" not in log and "Traceback" not in log


def test_readyz_is_503_while_the_state_log_cannot_be_written(daemon):
    """/readyz answers 503 with a reason while events.jsonl is not writable, 200 once it is again."""
    d = daemon()
    d.write("tasks.yaml", "tasks:\n  noop: {command: 'true'}\n")
    d.start()
    sock = d.state / "daemon.sock"
    until(lambda: get(sock, "/readyz")[0] == 200, 10, "ready", d)
    mark = d.last_seq()
    events = d.state / "events.jsonl"
    events.rename(d.state / "events.old")
    events.mkdir()
    until(lambda: get(sock, "/readyz")[0] == 503, 10, "not ready", d)
    code, body = get(sock, "/readyz")
    assert code == 503 and "cannot be written" in body["reason"]
    assert get(sock, "/healthz")[0] == 200
    events.rmdir()
    (d.state / "events.old").rename(events)
    until(lambda: get(sock, "/readyz")[0] == 200, 10, "ready again", d)
    writable = d.wait_for(lambda e: e["type"] == "state.writable", timeout=10)
    assert writable["seq"] > mark
    assert "Traceback" not in d.tail()
