"""The testsrc:// URL scheme: built-in streams shared per URL, owned by this process, and config/.

Real processes throughout: the helper that runs each stream, its ffmpeg encoder, and a real
``streamrec run`` on a copy of the shipped ``config/``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from media import playable
from recsources import media_seconds

from streamrec.errors import RecorderError
from streamrec.runtime.resolvers import SourceLease, released, resolve_direct
from streamrec.runtime.testsrc import TestSources, TestSrc, parse

ROOT = Path(__file__).resolve().parents[2]


def encoders(size: str) -> list[int]:
    """The pids of running ffmpeg encoders of test streams of this (test-unique) picture size."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"testsrc2=size={size}:".encode() in cmdline:
                found.append(int(entry.name))
    return found


def answers(url: str) -> bool:
    """Whether the playlist URL is served right now."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return b"#EXTM3U" in response.read()
    except (urllib.error.URLError, OSError):
        return False


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_urls_name_streams_and_bad_options_are_refused():
    """Case, slashes and a default size normalize to one key; unknown options and sizes fail."""
    assert parse("testsrc://Bars/").key == parse("TESTSRC://bars?size=320x180").key
    assert parse("testsrc://").name == "default"
    assert parse("testsrc://bars?size=640x360") == TestSrc("bars", "640x360")
    with pytest.raises(RecorderError, match="unknown option 'rate'"):
        parse("testsrc://bars?rate=30")
    with pytest.raises(RecorderError, match="WIDTHxHEIGHT"):
        parse("testsrc://bars?size=big")


@pytest.mark.slow
async def test_channels_naming_one_url_share_one_stream_until_the_last_lets_go():
    """Two resolvers of one URL get one playlist and one encoder; the last release stops both."""
    sources = TestSources()
    url = "testsrc://shared?size=322x182"
    first, second = SourceLease(resolve_direct, sources), SourceLease(resolve_direct, sources)
    try:
        playlist = await first(url)
        assert await second(url) == playlist and answers(playlist)
        assert len(encoders("322x182")) == 1 and sources.running() == [parse(url).key]
        with released(first):
            pass
        assert answers(playlist), "the stream stopped while a channel still used it"
        with released(second):
            pass
        assert sources.running() == []
        assert not answers(playlist)
        assert eventually(lambda: not encoders("322x182"))
    finally:
        sources.close()


@pytest.mark.slow
def test_a_killed_process_leaves_no_stream_behind(tmp_path):
    """SIGKILL of the process that owns a stream ends its helper and its encoder too."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        from streamrec.runtime.resolvers import make_resolver
        print(asyncio.run(make_resolver("direct")("testsrc://orphan?size=324x184")), flush=True)
        sys.stdin.read()
        """
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        playlist = owner.stdout.readline().strip()
        assert answers(playlist) and len(encoders("324x184")) == 1
    finally:
        owner.kill()
        owner.wait()
        if owner.stdin is not None:
            owner.stdin.close()
        if owner.stdout is not None:
            owner.stdout.close()
    assert eventually(lambda: not encoders("324x184")), "the encoder outlived its owner"
    assert not answers(playlist)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_streamrec_run_on_the_shipped_config_records_a_playable_file(tmp_path):
    """A real `streamrec run` on a copy of config/ finishes a playable file within seconds."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMREC_", "DEMO_URL"))}
    log = (tmp_path / "run.log").open("wb")
    started = time.monotonic()
    daemon = subprocess.Popen(
        [sys.executable, "-m", "streamrec", "-c", "config", "run"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    events = tmp_path / "state" / "events.jsonl"

    def segment() -> dict[str, object] | None:
        lines = events.read_text().splitlines() if events.exists() else []
        found = [json.loads(line) for line in lines if '"recording.segment"' in line]
        return found[0] if found else None

    try:
        assert eventually(lambda: segment() is not None or daemon.poll() is not None, 45.0)
        elapsed = time.monotonic() - started
        first = segment()
        assert first is not None, (tmp_path / "run.log").read_text()[-3000:]
        path = Path(str(first["file"]))
        assert path.is_relative_to(tmp_path / "recordings" / "demo" / "demo-bars")
        ok, said = playable(path)
        assert ok, said
        assert media_seconds(path) >= 5.0
        print(f"first finished file after {elapsed:.1f}s: {path.name}")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(20)
        log.close()
    assert daemon.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
