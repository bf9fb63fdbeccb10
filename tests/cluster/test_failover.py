"""Three real daemons share six channels through a local etcd; faults move channels, never double
them (every channel's ffmpeg processes are counted through the whole run)."""

from __future__ import annotations

import json
import os
import signal
import time

import httpx
import pytest
from clusterkit import TTL, FfmpegSampler, cluster_url, owned, recording, shared_config, wait_until

from streamrec.core.membership import owner_of

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

NAMES = [f"ch{i}" for i in range(6)]


def start_cluster(etcd, hls, daemon, tmp_path, count=3):
    config = shared_config(tmp_path, hls.url, NAMES)
    url = cluster_url(etcd.port)

    def member(i: int):
        disk = str(tmp_path / f"m{i}" / "recordings")
        d = daemon(f"m{i}", STREAMREC_MEMBER=f"m{i}", STREAMREC_CLUSTER=url, MEMBER_DISK=disk)
        d.config.rmdir()
        d.config = config
        return d.start()

    members = [member(i) for i in range(count)]
    ids = [f"m{i}" for i in range(count)]
    for name in NAMES:
        d = members[ids.index(owner_of(name, ids) or "")]
        wait_until(lambda d=d, n=name: recording(d, n), 60, f"{name} recorded by its owner")
    return members, member


def test_kill_9_moves_the_dead_members_channels_within_the_ttl(etcd, hls, daemon, tmp_path):
    members, _ = start_cluster(etcd, hls, daemon, tmp_path)
    with FfmpegSampler(NAMES) as sampler:
        victim = max(members, key=lambda d: len(owned(d)))
        lost = owned(victim)
        assert lost
        survivors = [d for d in members if d is not victim]
        marks = [d.last_seq() for d in survivors]
        victim.kill()
        killed = time.monotonic()
        for name in sorted(lost):
            wait_until(
                lambda n=name: any(
                    recording(d, n, m) for d, m in zip(survivors, marks, strict=True)
                ),
                TTL + 5 + 5,
                f"{name} recorded again after the kill",
            )
            took = time.monotonic() - killed
        assert took <= TTL + 5 + 2  # the first segment is written about 2 s after the take
        for name in NAMES:
            holders = [d for d in survivors if name in owned(d)]
            assert len(holders) == 1, name
        gaps = [e for d in survivors for e in d.events() if e["type"] == "recording.gap"]
        assert {g["channel"] for g in gaps} >= lost
        assert all("failover" in g["cause"] for g in gaps if g["channel"] in lost)
        wait_until(lambda: settled(members), 20, "ownership settled")
        shows_the_cluster(survivors, lost)
    sampler.check()


def settled(members) -> bool:
    """Every channel is held by exactly one member, and by the one it hashes to."""
    live = [d for d in members if d.proc is not None and d.proc.poll() is None]
    ids = [d.env["STREAMREC_MEMBER"] for d in live]
    holders = {name: [d for d in live if name in owned(d)] for name in NAMES}
    return all(
        len(by) == 1 and by[0].env["STREAMREC_MEMBER"] == owner_of(name, ids)
        for name, by in holders.items()
    )


def test_a_stopped_member_fences_itself_and_rejoins_without_a_duplicate(
    etcd, hls, daemon, tmp_path
):
    members, _ = start_cluster(etcd, hls, daemon, tmp_path)
    with FfmpegSampler(NAMES) as sampler:
        victim = max(members, key=lambda d: len(owned(d)))
        lost = owned(victim)
        survivors = [d for d in members if d is not victim]
        marks = [d.last_seq() for d in survivors]
        mark = victim.last_seq()
        assert victim.proc is not None
        os.kill(victim.proc.pid, signal.SIGSTOP)
        for name in sorted(lost):
            wait_until(
                lambda n=name: any(
                    recording(d, n, m) for d, m in zip(survivors, marks, strict=True)
                ),
                TTL + 10,
                f"{name} recorded elsewhere while its member is stopped",
            )
        os.kill(victim.proc.pid, signal.SIGCONT)
        fenced = victim.wait_for(lambda e: e["type"] == "cluster.fenced", 10, after=mark)
        assert set(fenced["stopped"]) == lost
        victim.wait_for(lambda e: e["type"] == "cluster.joined", 10, after=fenced["seq"])
        wait_until(lambda: settled(members), 30, "ownership settled after the rejoin")
        for name in sorted(lost):
            wait_until(lambda n=name: recording(victim, n, fenced["seq"]), 30, f"{name} back")
    sampler.check()


def test_an_etcd_restart_settles_again_without_a_duplicate(etcd, hls, daemon, tmp_path):
    members, _ = start_cluster(etcd, hls, daemon, tmp_path)
    with FfmpegSampler(NAMES) as sampler:
        etcd.stop()
        time.sleep(1.0)
        etcd.start()
        marks = [d.last_seq() for d in members]
        wait_until(lambda: settled(members), 40, "ownership settled after etcd restarted")
        for name in NAMES:
            wait_until(
                lambda n=name: any(recording(d, n, m) for d, m in zip(members, marks, strict=True)),
                30,
                f"{name} recorded after etcd restarted",
            )
    sampler.check()


def test_a_fourth_member_takes_only_its_share(etcd, hls, daemon, tmp_path):
    members, member = start_cluster(etcd, hls, daemon, tmp_path)
    wait_until(lambda: settled(members), 30, "three members settled")
    before = {name: d.env["STREAMREC_MEMBER"] for d in members for name in owned(d)}
    with FfmpegSampler(NAMES) as sampler:
        fourth = member(3)
        members.append(fourth)
        wait_until(lambda: settled(members), 40, "four members settled")
        after = {name: d.env["STREAMREC_MEMBER"] for d in members for name in owned(d)}
        moved = sorted(n for n in NAMES if before[n] != after[n])
        assert moved and all(after[n] == "m3" for n in moved)
        assert len(moved) <= len(NAMES) // 4 + 2
        for name in moved:
            wait_until(lambda n=name: recording(fourth, n), 30, f"{name} recorded by m3")
        gaps = [e for e in fourth.events() if e["type"] == "recording.gap"]
        assert {g["channel"] for g in gaps if "hand-over" in g["cause"]} == set(moved)
    sampler.check()


def shows_the_cluster(survivors, lost) -> None:
    """``status -o json``, ``/api/status`` and ``/metrics`` of a survivor show the members, the
    owner of each channel and the hand-overs."""
    d = survivors[0]
    ids = sorted(x.env["STREAMREC_MEMBER"] for x in survivors)
    data = json.loads(d.cli("status", "-o", "json").stdout)
    assert data["cluster"]["members"] == ids
    assert {n: e["owner"] for n, e in data["channels"].items()} == {
        n: owner_of(n, ids) for n in NAMES
    }
    transport = httpx.HTTPTransport(uds=str(d.state / "daemon.sock"))
    with httpx.Client(transport=transport, base_url="http://streamrec", timeout=30) as api:
        status = api.get("/api/status").json()
        metrics = api.get("/metrics").text
    assert status["cluster"]["members"] == ids
    assert all(status["channels"][n]["owner"] == owner_of(n, ids) for n in NAMES)
    mine = [n for n in NAMES if owner_of(n, ids) == d.env["STREAMREC_MEMBER"]]
    taken = [h for h in status["cluster"]["handovers"] if h["channel"] in lost and h["to"]]
    assert {h["channel"] for h in taken} == lost & set(mine)
    assert "streamrec_cluster_members 2.0" in metrics
    assert f"streamrec_cluster_owned_channels {float(len(mine))}" in metrics
    assert "streamrec_cluster_lease_age_seconds" in metrics


def test_only_the_leader_runs_the_schedules_and_a_new_one_takes_over(etcd, hls, daemon, tmp_path):
    """A task every 2 s runs on the elected leader alone; once the leader is killed, another
    member is elected (its lease expired with the leader key) and runs it."""
    config = shared_config(tmp_path, hls.url, NAMES[:2])
    (config / "tasks.yaml").write_text("tasks:\n  tick: {command: 'true', schedule: {every: 2s}}\n")
    url = cluster_url(etcd.port)
    members = []
    for i in range(3):
        disk = str(tmp_path / f"m{i}" / "recordings")
        d = daemon(f"m{i}", STREAMREC_MEMBER=f"m{i}", STREAMREC_CLUSTER=url, MEMBER_DISK=disk)
        d.config.rmdir()
        d.config = config
        members.append(d.start())

    def runs(d, after: int = 0) -> int:
        return sum(
            e["type"] == "task.finished" and e["task"] == "tick" and e["seq"] > after
            for e in d.events()
        )

    def leaders() -> list:
        found = []
        for d in members:
            if d.proc is None or d.proc.poll() is not None:
                continue
            flags = [e["leader"] for e in d.events() if e["type"] == "cluster.leader"]
            if flags and flags[-1]:
                found.append(d)
        return found

    wait_until(lambda: len(leaders()) == 1, 30, "one leader")
    (leader,) = leaders()
    wait_until(lambda: runs(leader) >= 2, 30, "the leader runs the task")
    assert all(runs(d) == 0 for d in members if d is not leader)
    leader.kill()
    rest = [d for d in members if d is not leader]
    marks = [d.last_seq() for d in rest]
    wait_until(lambda: len(leaders()) == 1, TTL + 10, "a new leader")
    (new,) = leaders()
    mark = marks[rest.index(new)]
    wait_until(lambda: runs(new, mark) >= 1, 20, "the new leader runs the task")
    other = next(d for d in rest if d is not new)
    assert runs(other) == 0
