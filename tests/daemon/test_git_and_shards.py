"""Git as the config source, and several daemons sharing the channels between them."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from daemonkit import ffmpeg_processes

from streamrec.core.sharding import owner

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit(work: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (work / name).write_text(textwrap.dedent(text).lstrip("\n"))
    git(work, "add", "-A")
    git(work, "commit", "-qm", message)
    git(work, "push", "-q", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


def test_git_source_applies_good_commits_and_keeps_the_last_good_one(daemon, tmp_path):
    """Each new commit that validates is applied; a broken one is rejected and logged."""
    bare = tmp_path / "config.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    git(work, "checkout", "-q", "-b", "main")
    first = commit(
        work,
        {"tasks.yaml": "tasks:\n  hello: {command: 'echo one > hello.txt', schedule: once}\n"},
        "one",
    )
    d = daemon("git")
    d.start("--git", f"file://{bare}", "--branch", "main", "--interval", "1s")
    applied = d.wait_for(lambda e: e["type"] == "config.applied")
    assert applied["git"]["commit"] == first
    d.wait_for(lambda e: e["type"] == "task.finished" and e["task"] == "hello")
    assert (d.root / "hello.txt").read_text() == "one\n"
    assert not (d.state / "git" / "live" / "recordings").exists()  # paths are not in the checkout

    bad = commit(work, {"tasks.yaml": "tasks:\n  hello: {command: [\n"}, "broken")
    rejected = d.wait_for(lambda e: e["type"] == "config.rejected")
    assert rejected["commit"] == bad
    assert "tasks.yaml:3:1: invalid YAML" in rejected["errors"][0]
    live = str(d.state / "git" / "live")
    status = json.loads(d.cli("-c", live, "status", "-o", "json").stdout)
    assert status["daemon"]["git"]["live"] == first
    assert status["daemon"]["git"]["rejected"] == bad
    assert status["config"]["rejected"]["commit"] == bad

    fixed = commit(
        work,
        {"tasks.yaml": "tasks:\n  hello: {command: 'echo two > hello.txt', schedule: once}\n"},
        "fixed",
    )
    reapplied = d.wait_for(lambda e: e["type"] == "config.applied", after=rejected["seq"])
    assert reapplied["git"]["commit"] == fixed
    d.wait_for(
        lambda e: e["type"] == "task.finished" and e["task"] == "hello", after=reapplied["seq"]
    )
    assert (d.root / "hello.txt").read_text() == "two\n"


def recorded_by(processes: list, names: list[str]) -> dict[str, list[int]]:
    """For each channel, the indexes of the daemons whose log shows it recording."""
    found: dict[str, list[int]] = {name: [] for name in names}
    for index, process in enumerate(processes):
        for event in process.events():
            channel = event.get("channel")
            started = event["type"] == "recording.started" and channel in found
            if started and index not in found[channel]:
                found[channel].append(index)
    return found


def test_three_shards_record_each_channel_once_and_two_take_over(daemon, hls, tmp_path):
    """With --shard i/3 every channel is recorded by one daemon; after going to i/2, still once."""
    names = [f"ch{i}" for i in range(6)]
    config = tmp_path / "shared" / "config"
    config.mkdir(parents=True)
    lines = ["settings: {recordings_dir: recordings}", "channels:"]
    for name in names:
        lines += [f"  {name}:", f'    url: "{hls.url}"', "    segment: 2s"]
    (config / "channels.yaml").write_text("\n".join(lines) + "\n")

    def shard_daemon(index: int, count: int, generation: str):
        d = daemon(f"{generation}{index}")
        d.config.rmdir()
        d.config = config
        d.start("--shard", f"{index}/{count}")
        return d

    three = [shard_daemon(i, 3, "a") for i in range(3)]
    for name in names:
        expected = owner(name, 3)
        three[expected].wait_for(
            lambda e, n=name: e["type"] == "recording.segment" and e["channel"] == n
        )
    assert all(len(by) == 1 for by in recorded_by(three, names).values())
    for name in names:
        assert len(ffmpeg_processes(f"/.partial/{name}/")) == 1

    for process in three:
        process.stop()
    two = [shard_daemon(i, 2, "b") for i in range(2)]
    for name in names:
        two[owner(name, 2)].wait_for(
            lambda e, n=name: e["type"] == "recording.segment" and e["channel"] == n
        )
    assert all(len(by) == 1 for by in recorded_by(two, names).values())
    for name in names:
        assert len(ffmpeg_processes(f"/.partial/{name}/")) == 1
    moved = [n for n in names if owner(n, 3) != owner(n, 2)]
    stayed = [n for n in names if owner(n, 3) == owner(n, 2)]
    assert all(owner(n, 3) == 2 for n in moved)  # only the removed shard's channels moved
    assert stayed
