"""Helpers for the cluster tests: a shared config of HLS channels, daemons joined to one etcd, who
owns what from their state logs, and a sampler of the ffmpeg processes of every channel."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path

from daemonkit import DaemonProcess, ffmpeg_processes

from streamrec.core.membership import held_by_log

TTL = 3


def shared_config(root: Path, url: str, names: list[str]) -> Path:
    config = root / "shared" / "config"
    config.mkdir(parents=True)
    # each member its own disk, as on separate machines (a shared one is locked per channel)
    lines = ["settings: {recordings_dir: '${MEMBER_DISK}'}", "channels:"]
    for name in names:
        lines += [f"  {name}:", f'    url: "{url}"', "    segment: 2s"]
    (config / "channels.yaml").write_text("\n".join(lines) + "\n")
    return config


def cluster_url(port: int) -> str:
    return f"etcd://127.0.0.1:{port}/test?ttl={TTL}"


def owned(d: DaemonProcess) -> set[str]:
    """The channels daemon ``d`` holds now, from its state log."""
    return held_by_log(d.events())


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``check()`` held; AssertionError after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


def recording(d: DaemonProcess, name: str, after: int = 0) -> bool:
    return any(
        e["seq"] > after and e["type"] == "recording.segment" and e["channel"] == name
        for e in d.events()
    )


def describe(pids: list[int]) -> list[str]:
    """Each pid with its parent and state (for a failure's message)."""
    found = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found.append(f"{pid} (parent {stat[1]}, state {stat[0]})")
        except OSError:
            found.append(f"{pid} (gone)")
    return found


def recorders(name: str) -> list[int]:
    """The ffmpeg processes recording channel ``name`` live (``-i`` a URL into its partial files).
    A recorder's short side processes do not count: the backfill of segments skipped at a run's
    start reads ``concat:URIs``, and the checks of a finished partial file read that file."""
    found = []
    for pid in ffmpeg_processes(f"/.partial/{name}/"):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a == b"-i" and b.startswith(b"http") for a, b in itertools.pairwise(argv)):
            found.append(pid)
    return found


class FfmpegSampler:
    """Counts each channel's recording ffmpeg every 0.1 s in a thread: the most seen at once."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.most: dict[str, int] = dict.fromkeys(names, 0)
        self.seen: list[str] = []
        """When and which pids each time a channel had more than one ffmpeg."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FfmpegSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name in self.names:
                pids = recorders(name)
                self.most[name] = max(self.most[name], len(pids))
                if len(pids) > 1:
                    self.seen.append(f"{time.strftime('%H:%M:%S')} {name}: {describe(pids)}")
            self._stop.wait(0.1)

    def check(self) -> None:
        """Every channel was seen recording, and never by two ffmpeg at once."""
        assert self.duplicates() == {}, self.seen[:10]
        assert all(self.most[name] == 1 for name in self.names), self.most

    def duplicates(self) -> dict[str, int]:
        return {name: most for name, most in self.most.items() if most > 1}
