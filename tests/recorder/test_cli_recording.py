"""The recording commands end to end: demo, record --for, channel command, doctor, recordings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from recsources import playable

from streamrec.runtime.testsource import HlsTestSource

CONFIG = """
settings:
  recordings_dir: rec
  state_dir: state
  min_free_space: 1MB
categories:
  news: {{}}
channels:
  live:
    url: {url}
    category: news
    segment: 2s
    on_segment: [mark]
    on_recording_end: [ended]
  secret:
    url: http://viewer:hunter2@127.0.0.1:9/app/${{STREAM_KEY}}/x.m3u8?token=abc123def
    input_args: [-user_agent, streamrec-test]
tasks:
  ended:
    command: 'echo "$STREAMREC_CHANNEL|$STREAMREC_CATEGORY|$STREAMREC_START|$STREAMREC_DURATION" > ended.txt'
  mark:
    command: 'echo "$STREAMREC_CHANNEL $STREAMREC_DURATION" >> marks.txt'
"""


@pytest.fixture
def cli(write_config: Callable[..., Path], cli_for: Callable[[Path], Any], hls: HlsTestSource,
        monkeypatch: pytest.MonkeyPatch) -> Any:  # fmt: skip
    """The CLI on a config with a live channel (the local HLS source) and one with secrets."""
    monkeypatch.setenv("STREAM_KEY", "sk-live-0123456789")
    return cli_for(write_config({"main.yaml": CONFIG.format(url=hls.url)}))


@pytest.mark.slow
def test_record_for_a_while_writes_files_events_and_runs_hooks(cli: Any) -> None:
    """`record live --for 5s` records playable files, logs them, runs on_segment and on_recording_end."""
    code, out, _err = cli("record", "live", "--for", "5s")
    assert code == 0, out
    assert "duration reached" in out
    files = sorted((cli.directory.parent / "rec" / "news" / "live").glob("*.ts"))
    assert len(files) >= 2 and all(playable(f)[0] for f in files)
    marks = (cli.directory.parent / "marks.txt").read_text().splitlines()
    assert len(marks) == len(files) and all(m.startswith("live ") for m in marks)
    channel, category, start, duration = (
        (cli.directory.parent / "ended.txt").read_text().strip().split("|")
    )
    assert (channel, category) == ("live", "news") and start.endswith("Z")
    assert float(duration) > 3
    events = [json.loads(line) for line in (cli.directory.parent / "state" / "events.jsonl")
              .read_text().splitlines()]  # fmt: skip
    types = [e["type"] for e in events]
    assert "recording.started" in types and types.count("recording.segment") == len(files)
    assert types.count("recording.processed") == len(files)
    code, out, _ = cli("recordings", "list", "live")
    assert code == 0 and f"{len(files)} file(s)" in out and "hooks completed" in out
    code, out, _ = cli("recordings", "delete", str(files[0]))
    assert code == 0 and not files[0].exists()
    deleted = [json.loads(line) for line in (cli.directory.parent / "state" / "events.jsonl")
               .read_text().splitlines()][-1]  # fmt: skip
    assert deleted["type"] == "retention.deleted" and deleted["file"] == str(files[0])
    code, out, _ = cli("recordings", "list")
    assert f"{len(files) - 1} file(s)" in out


def test_recordings_delete_refuses_files_outside_recordings(cli: Any, tmp_path: Path) -> None:
    """A path outside recordings_dir (or a partial file) is refused and nothing is deleted."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    code, _out, err = cli("recordings", "delete", str(victim))
    assert code == 1 and "not a finished recording" in err and victim.exists()


def test_channel_command_prints_the_exact_argv_without_secrets(cli: Any) -> None:
    """The printed command has the protocol options, escape hatches and no secret."""
    code, out, _ = cli("channel", "command", "secret")
    assert code == 0
    for secret in ("hunter2", "abc123def", "sk-live-0123456789"):
        assert secret not in out
    assert "-rw_timeout" in out and "-m3u8_hold_counters" in out and "-user_agent" in out
    assert "-segment_list pipe:3" in out and "-progress pipe:4" in out and "-c copy" in out


def test_doctor_reports_the_ffmpeg_used_and_its_version(cli: Any) -> None:
    """doctor names the ffmpeg binary, where it was found, and its version line."""
    code, out, _ = cli("doctor")
    assert code == 0, out
    assert "ffmpeg: " in out and "ffmpeg version" in out and "min_free_space" in out


@pytest.mark.slow
def test_demo_records_the_built_in_source_end_to_end(
    cli_for: Callable[[Path], Any], tmp_path: Path
) -> None:
    """`streamrec demo` records a few seconds with a hook and prints status and files."""
    cli = cli_for(tmp_path / "unused")
    code, out, _ = cli("demo", "--for", "4s", "--dir", str(tmp_path / "demo"))
    assert code == 0, out
    assert "Recording stopped: duration reached" in out
    assert "hooks completed" in out and "checksums.txt" in out
    files = list((tmp_path / "demo" / "recordings").rglob("*.ts"))
    assert files and all(playable(f)[0] for f in files if ".partial" not in f.parts)
