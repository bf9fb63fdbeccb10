"""Shell completion through the real `streamrec`: the scripts, and names from a real config dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "streamrec"
CONFIG = """
categories:
  news: {}
  nature: {}
channels:
  news-one: {url: "http://127.0.0.1:9/one.m3u8"}
  news-two: {url: "http://127.0.0.1:9/two.m3u8"}
  radio: {url: "http://127.0.0.1:9/radio.aac"}
tasks:
  fetch: {command: "true"}
  feed: {command: "true"}
queues:
  nightly: {tasks: [fetch]}
"""


@pytest.fixture
def config(write_config) -> Path:
    return write_config({"main.yaml": CONFIG})


def complete(words: str, instruction: str = "bash_complete", **env: str) -> list[str]:
    """What `streamrec` answers a bash asking to complete the last word of ``words``."""
    cwords = words.split(" ")
    done = subprocess.run(
        [str(BIN)],
        env={
            **os.environ,
            "_STREAMREC_COMPLETE": instruction,
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(cwords) - 1),
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.split()


def test_the_scripts_for_bash_zsh_and_fish(config: Path) -> None:
    """`completion SHELL` prints a script wired to _STREAMREC_COMPLETE for that shell."""
    for shell, mark in (("bash", "complete -o default -F"), ("zsh", "#compdef streamrec"),
                        ("fish", "complete --command streamrec")):  # fmt: skip
        done = subprocess.run([str(BIN), "completion", shell], capture_output=True, text=True)
        assert done.returncode == 0 and mark in done.stdout and "_STREAMREC_COMPLETE" in done.stdout
    done = subprocess.run([str(BIN), "completion", "tcsh"], capture_output=True, text=True)
    assert done.returncode == 64


def test_channel_task_and_queue_names_complete_from_the_config(config: Path) -> None:
    """Names come from the config dir given by -c or $STREAMREC_CONFIG; commands from the tree."""
    assert complete(f"streamrec -c {config} record news") == ["news-one", "news-two"]
    assert complete(f"streamrec record -c {config} news") == ["news-one", "news-two"]
    assert complete(f"streamrec -c {config} channel command ") == ["news-one", "news-two", "radio"]
    assert complete(f"streamrec -c {config} task run fe") == ["feed", "fetch"]
    assert complete("streamrec queue start ", STREAMREC_CONFIG=str(config)) == ["nightly"]
    assert complete(f"streamrec -c {config} logs f", "complete_bash") == ["feed", "fetch"]
    assert "list" in complete("streamrec channel ")
    assert complete(f"streamrec -c {config} channel list --category n") == ["nature", "news"]
    assert complete(f"streamrec -c {config} history -O task/f") == ["task/feed", "task/fetch"]
    assert complete(f"streamrec -c {config} history -O ni") == ["nightly"]


def test_a_config_that_does_not_load_completes_nothing_and_prints_no_error(tmp_path: Path) -> None:
    """A broken or missing config directory: no names, nothing on stderr, exit 0."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.yaml").write_text("channels: [\n")
    assert complete(f"streamrec -c {broken} record ") == []
    assert complete(f"streamrec -c {tmp_path / 'missing'} task run ") == []


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_sourcing_the_script_completes_names(config: Path) -> None:
    """The printed bash script, sourced by a real bash, fills COMPREPLY with channel names."""
    script = (
        "source <(streamrec completion bash)\n"
        f"COMP_WORDS=(streamrec -c {config} record news-t); COMP_CWORD=4\n"
        "_streamrec_completion streamrec\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "-c", script],
        env={**os.environ, "PATH": f"{BIN.parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["news-two"]
