"""Failover figures of an etcd cluster of daemons, each next to its ideal (run by hand, not in CI).

    .venv/bin/python bench/bench_failover.py [--runs 3] [--ttl 3] [--channels 6] [--members 3]
        [--moved-channels 30]

failover  ``--members`` daemons share ``--channels`` channels of one local noise HLS source (1 s
          segments, 6 listed, every segment kept) through a local etcd with a lease of ``--ttl``
          seconds. ``--runs`` times the member holding the most channels is SIGKILLed: per channel,
          the seconds from the SIGKILL to its take by a survivor (``channel.owned``) and to its
          first finished file there (``recording.segment``), next to the TTL + reconnect bound,
          and the ``recording.gap`` the new owner logged; then, by frame identity (``framemd5``
          of each packet), the media each moved channel lost and doubled from 6 s before the kill
          to 4 s after it records again, across all members' recordings, next to the channels
          that did not move in the same window (the baseline: nothing lost). The member is
          started again between runs and records 14 s steadily before the next kill, so the
          hand-overs of its rejoin are outside the window.
moved     ``--members`` daemons and ``--moved-channels`` channels of a dead URL (no ffmpeg load:
          ownership alone is measured, from each member's ``channel.owned`` and
          ``channel.released`` events): a member joins (moved / total next to 1/N), then one
          leaves with SIGTERM (moved next to its share).

Everything runs on 127.0.0.1 in a temp dir and is torn down at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg

from streamrec.core.membership import held_by_log, owner_of
from streamrec.runtime.testsource import HlsTestSource, PublishedSegment, packet_hashes

FFMPEG = shutil.which("ffmpeg") or imageio_ffmpeg.get_ffmpeg_exe()
FPS = 25
RECONNECT = 5.0  # ffmpeg's start and the first finished 2 s file after the take
DEAD_URL = "http://127.0.0.1:9/dead.m3u8"
QUIET = 14.0  # seconds of steady recording before a kill
BEFORE = 6.0  # the media compared starts this long before the kill
CAUGHT = (signal.SIGINT, signal.SIGTERM)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"not within {timeout:g}s: {what}")


class Etcd:
    """One etcd on free 127.0.0.1 ports, its data dir under ``root``."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("etcd")
        if binary is None:
            raise SystemExit("no etcd binary (Debian: etcd-server)")
        self.root, self.port, peer = root, free_port(), free_port()
        root.mkdir(parents=True)
        client, peer_url = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{peer}"
        with (root / "etcd.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [binary, "--name", "bench", "--data-dir", str(root / "data"),
                 "--listen-client-urls", client, "--advertise-client-urls", client,
                 "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                 "--initial-cluster", f"bench={peer_url}"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_until(self._healthy, 20, "etcd answers")

    def _healthy(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200
        return False

    def stop(self) -> None:
        stop_group(self.proc)


def stop_group(proc: subprocess.Popen[bytes], *, alone: bool = False) -> None:
    """SIGTERM to the process (``alone``) or its group, then SIGKILL to the group after 20 s
    (and always, for whatever is left in it)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if alone:
                proc.send_signal(signal.SIGTERM)
            else:
                os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(20)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


class Member:
    """One ``streamrec run`` joined to the cluster, with its own state dir and recordings disk."""

    def __init__(self, root: Path, ident: str, config: Path, cluster: str) -> None:
        self.ident, self.config, self.root = ident, config, root / ident
        self.state, self.disk = self.root / "state", self.root / "recordings"
        self.root.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "STREAMREC_STATE_DIR": str(self.state),
                    "STREAMREC_MEMBER": ident, "STREAMREC_CLUSTER": cluster,
                    "MEMBER_DISK": str(self.disk)}  # fmt: skip
        self.env.pop("STREAMREC_CONFIG", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.groups: list[int] = []

    def start(self) -> Member:
        mark = self.last_seq()
        with (self.root / "daemon.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamrec", "-c", str(self.config), "run"],
                cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        pid = self.proc.pid
        self.groups.append(pid)
        wait_until(
            lambda: any(
                e["type"] == "daemon.started" and e.get("pid") == pid for e in self.events(mark)
            ),
            60,
            f"{self.ident} started",
        )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        path = self.state / "events.jsonl"
        found = []
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if event.get("seq", 0) > after:
                    found.append(event)
        return found

    def last_seq(self) -> int:
        events = self.events()
        return events[-1]["seq"] if events else 0

    def owned(self) -> set[str]:
        """The channels it holds now, from its state log (nothing once it is not running)."""
        return held_by_log(self.events()) if self.alive else set()

    def kill9(self) -> None:
        """SIGKILL the daemon alone (its ffmpeg get their parent-death signal)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc, alone=True)  # a clean stop: recorders first, then the lease
        for group in self.groups:  # what an earlier, killed run of it may have left
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)


def shared_config(root: Path, names: list[str], url: str | None) -> Path:
    """One config every member reads; ``url`` None gives each channel a dead URL."""
    config = root / "config"
    config.mkdir(parents=True)
    lines = ["settings: {recordings_dir: '${MEMBER_DISK}'}", "channels:"]
    for name in names:
        lines += [f"  {name}:", f'    url: "{url or DEAD_URL}"', "    segment: 2s"]
    (config / "channels.yaml").write_text("\n".join(lines) + "\n")
    return config


def settled(members: list[Member], names: list[str]) -> bool:
    """Every channel held by exactly one live member, the one it hashes to."""
    live = [m for m in members if m.alive]
    ids = [m.ident for m in live]
    held = {m.ident: m.owned() for m in live}
    return all([i for i in ids if name in held[i]] == [owner_of(name, ids)] for name in names)


def owners(members: list[Member]) -> dict[str, str]:
    return {name: m.ident for m in members for name in m.owned()}


def channel_files(members: list[Member], name: str) -> list[Path]:
    """Every file of channel ``name`` on every member's disk, finished or partial, by mtime."""
    found = []
    for m in members:
        for path in m.disk.rglob("*"):
            if path.is_file() and name in path.relative_to(m.disk).parts[:-1]:
                found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime)


def seconds_between(start: str, end: str) -> float:
    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return (parse(end) - parse(start)).total_seconds()


def window_loss(
    published: list[PublishedSegment], recorded: list[str], low: float, high: float, zero: float
) -> tuple[int, int, int, str]:
    """(published packets, missing, doubled, where the missing ones were published relative to
    ``zero``) among the segments finished in [low, high)."""
    window = [(seg.mtime, h) for seg in published if low <= seg.mtime < high for h in seg.packets]
    counts = Counter(recorded)
    gone = [t for t, h in window if h not in counts]
    doubled = sum(counts[h] - 1 for h in {h for _, h in window} if counts[h] > 1)
    where = f"{min(gone) - zero:+.1f}..{max(gone) - zero:+.1f}" if gone else "-"
    return len(window), len(gone), doubled, where


def bench_failover(work: Path, etcd: Etcd, args: argparse.Namespace, cleanup: list) -> None:
    names = [f"ch{i}" for i in range(args.channels)]
    say(f"failover: {args.members} members, {len(names)} channels of one noise HLS source, "
        f"TTL {args.ttl:g} s, {args.runs} kill -9")  # fmt: skip
    source = HlsTestSource(FFMPEG, work / "source", noise=True, keep_segments=True)
    cleanup.append(source.close)
    source.start()
    config = shared_config(work / "failover", names, source.url)
    cluster = f"etcd://127.0.0.1:{etcd.port}/failover?ttl={args.ttl:g}"
    members = [Member(work / "failover", f"m{i}", config, cluster) for i in range(args.members)]
    cleanup.extend(m.stop for m in reversed(members))
    for m in members:
        m.start()
    wait_until(lambda: settled(members, names), 90, "ownership settled")
    for name in names:  # every channel records before the first kill
        wait_until(
            lambda n=name: any(
                e["type"] == "recording.segment" and e.get("channel") == n
                for m in members
                for e in m.events()
            ),
            90,
            f"{name} recorded",
        )
    runs: list[dict[str, Any]] = []
    for run in range(args.runs):
        time.sleep(QUIET)  # the hand-overs of the start or the rejoin are out of the window
        victim = max(members, key=lambda m: (len(m.owned()), m.ident))
        lost = sorted(victim.owned())
        survivors = [m for m in members if m is not victim]
        marks = {m.ident: m.last_seq() for m in survivors}
        source.between_segments()
        killed = time.time()
        victim.kill9()
        say(f"run {run + 1}: kill -9 {victim.ident} holding {', '.join(lost)}")
        taken: dict[str, float] = {}
        again: dict[str, float] = {}
        deadline = time.monotonic() + args.ttl + 60
        while len(again) < len(lost) and time.monotonic() < deadline:
            now = time.time()
            for m in survivors:
                for e in m.events(marks[m.ident]):
                    ch = e.get("channel")
                    if ch in lost and e["type"] == "channel.owned":
                        taken.setdefault(ch, now - killed)
                    if ch in lost and e["type"] == "recording.segment":
                        again.setdefault(ch, now - killed)
            time.sleep(0.1)
        back = time.time()
        gaps = {
            e["channel"]: seconds_between(e["start"], e["end"])
            for m in survivors
            for e in m.events(marks[m.ident])
            if e["type"] == "recording.gap" and e.get("channel") in lost
        }
        time.sleep(8)  # the new owners' files after the take are finished
        runs.append({"victim": victim.ident, "lost": lost, "killed": killed, "back": back,
                     "taken": taken, "again": again, "gaps": gaps, "load": load()})  # fmt: skip
        victim.start()
        wait_until(lambda: settled(members, names), 60, "settled after the rejoin")
    time.sleep(4)
    for m in reversed(members):
        m.stop()
    source.stop()
    say("counting packets by frame identity")
    published = source.published()
    hashes = {
        name: [h for path in channel_files(members, name) for h in packet_hashes(FFMPEG, path)]
        for name in names
    }
    bound = args.ttl + RECONNECT
    print(f"\nFailover: kill -9 of a member, {args.members} members, {len(names)} channels, "
          f"TTL {args.ttl:g} s (1 s source segments, 2 s files)")  # fmt: skip
    print(f"{'run':<5}{'member':<8}{'channel':<9}{'to take (s)':>12}{'to recording (s)':>18}"
          f"{'bound (s)':>11}{'gap logged':>11}{'lost (s)':>10}{'lost pkts':>10}{'dup pkts':>10}"
          "  lost at (s)")  # fmt: skip
    worst: list[float] = []
    for index, r in enumerate(runs):
        low, high = r["killed"] - BEFORE, r["back"] + 4.0
        for name in r["lost"]:
            total, missing, doubled, where = window_loss(
                published, hashes[name], low, high, r["killed"]
            )
            take = r["taken"].get(name)
            rec = r["again"].get(name)
            print(f"{index + 1:<5}{r['victim']:<8}{name:<9}"
                  f"{take if take is not None else float('nan'):>12.1f}"
                  f"{rec if rec is not None else float('nan'):>18.1f}{bound:>11.1f}"
                  f"{r['gaps'].get(name, float('nan')):>11.1f}"
                  f"{missing / FPS:>10.2f}{missing:>10}{doubled:>10}  {where}")  # fmt: skip
        kept = [n for n in names if n not in r["lost"]]
        base = [window_loss(published, hashes[n], low, high, r["killed"]) for n in kept]
        print(f"{'':<5}{'':<8}{'baseline: ' + str(len(kept)) + ' channels not moved':<39}"
              f"{'':>22}{sum(b[1] for b in base) / FPS / max(1, len(base)):>10.2f}"
              f"{sum(b[1] for b in base):>10}{sum(b[2] for b in base):>10}"
              f"   (of {total} pkts each; load {r['load']})")  # fmt: skip
        times = [r["again"].get(n, float("inf")) for n in r["lost"]]
        worst.append(max(times))
        print(f"{'':<5}run {index + 1}: max to recording {max(times):.1f} s "
              f"(bound TTL + reconnect {bound:.1f} s)")  # fmt: skip
    per_channel = [t for r in runs for t in r["again"].values()]
    if per_channel:
        print(f"kill -9 -> every channel recording again: median {statistics.median(per_channel):.1f} s"
              f" per channel, median of the per-run max {statistics.median(worst):.1f} s, max "
              f"{max(worst):.1f} s; bound TTL {args.ttl:g} + reconnect {RECONNECT:g} = {bound:.1f} s")  # fmt: skip


def bench_moved(work: Path, etcd: Etcd, args: argparse.Namespace, cleanup: list) -> None:
    names = [f"d{i:02d}" for i in range(args.moved_channels)]
    n = args.members
    say(f"moved: {n} members and {len(names)} channels of a dead URL, a member joins, one leaves")
    config = shared_config(work / "moved", names, None)
    cluster = f"etcd://127.0.0.1:{etcd.port}/moved?ttl={args.ttl:g}"
    members = [Member(work / "moved", f"n{i}", config, cluster) for i in range(n + 1)]
    cleanup.extend(m.stop for m in reversed(members))
    for m in members[:n]:
        m.start()
    wait_until(lambda: settled(members, names), 90, f"{n} members settled")
    before = owners(members)
    members[n].start()
    took_join = wait_until(lambda: settled(members, names), 90, f"{n + 1} members settled")
    after = owners(members)
    moved_join = [x for x in names if before[x] != after[x]]
    wrong = [x for x in moved_join if after[x] != members[n].ident]
    leaver = members[0]
    share = sorted(x for x in names if after[x] == leaver.ident)
    leaver.stop()
    took_leave = wait_until(lambda: settled(members, names), 90, f"{n} members settled again")
    final = owners(members)
    moved_leave = [x for x in names if after[x] != final[x]]
    print(f"\nChannels moved, {len(names)} channels (ownership only), TTL {args.ttl:g} s, "
          f"load {load()}")  # fmt: skip
    print(f"{'change':<34}{'moved':>7}{'of':>5}{'ratio':>8}{'ideal':>8}{'settled in (s)':>16}")
    print(f"{f'{n} -> {n + 1} (n{n} joins)':<34}{len(moved_join):>7}{len(names):>5}"
          f"{len(moved_join) / len(names):>8.3f}{1 / (n + 1):>8.3f}{took_join:>16.1f}"
          f"   ({len(wrong)} moved elsewhere than the new member)")  # fmt: skip
    print(f"{f'{n + 1} -> {n} (n0 leaves, SIGTERM)':<34}{len(moved_leave):>7}{len(names):>5}"
          f"{len(moved_leave) / len(names):>8.3f}{len(share) / len(names):>8.3f}"
          f"{took_leave:>16.1f}   (its share: {len(share)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", default=["failover", "moved"])
    parser.add_argument("--runs", type=int, default=3, help="kill -9 runs")
    parser.add_argument("--ttl", type=float, default=3.0, help="lease TTL, seconds (2..3600)")
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--channels", type=int, default=6, help="failover: live channels")
    parser.add_argument("--moved-channels", type=int, default=30, help="moved: dead channels")
    args = parser.parse_args()
    started = time.monotonic()
    say(f"ffmpeg: {FFMPEG}; load average {load()} on {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix="bench-failover-"))
    cleanup: list[Callable[[], None]] = []
    # Ctrl-C and SIGTERM both raise KeyboardInterrupt, so the finally below tears down (SIGINT
    # too when started in the background, where it is inherited as ignored)
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in CAUGHT}
    try:
        etcd = Etcd(work / "etcd")
        cleanup.append(etcd.stop)
        if "failover" in args.which:
            bench_failover(work, etcd, args, cleanup)
        if "moved" in args.which:
            bench_moved(work, etcd, args, cleanup)
        print(f"\nload average at the end {load()}; {time.monotonic() - started:.0f} s in all")
    finally:
        for sig in CAUGHT:
            signal.signal(sig, signal.SIG_IGN)
        for step in reversed(cleanup):
            with contextlib.suppress(Exception):
                step()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
