"""Progress is drawn on a terminal only: the real `streamrec` under a pseudo-terminal and in a pipe.

`record` (real ffmpeg, the built-in local test source) shows a live status line of the file being
written on a terminal, none in a pipe, and with -q prints no progress line at all; `import m3u` of a
big playlist shows its phases as bars on a terminal only.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

STREAMREC = [sys.executable, "-m", "streamrec"]
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CONFIG = """
settings: {timezone: UTC, recordings_dir: rec, state_dir: state, min_free_space: 1MB}
channels:
  bars: {url: "testsrc://bars", segment: 2s}
"""


def terminal_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "FORCE_COLOR", "TERM"}}
    return {**env, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"}


def on_terminal(
    args: list[str], cwd: Path, stdout: Path | None = None, term: str = "xterm-256color"
) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, stdout and stderr (or stdout into a file);
    (exit code, what it drew on the terminal)."""
    master, slave = os.openpty()
    out = slave if stdout is None else stdout.open("wb")
    proc = subprocess.Popen(
        [*STREAMREC, *args], cwd=cwd, stdin=slave, stdout=out, stderr=slave,
        env={**terminal_env(), "TERM": term}, close_fds=True,
    )  # fmt: skip
    if stdout is not None:
        out.close()
    os.close(slave)
    drawn = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                drawn += chunk
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.wait(), drawn.decode("utf-8", "replace")


def in_pipe(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STREAMREC, *args], cwd=cwd, env=terminal_env(), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def config(write_config) -> Path:
    return write_config({"main.yaml": CONFIG})


STATUS = re.compile(r"bars: writing bars_\S+\.ts  \d+\.\d (KiB|MiB)  (\d+|-) kb/s  0:00:0\d")


@pytest.mark.slow
def test_record_on_a_terminal_shows_a_live_status_line(config: Path) -> None:
    """Bytes, bitrate and media time of the file being written, redrawn in place."""
    code, drawn = on_terminal(["-c", str(config), "record", "bars", "--for", "4s"], config.parent)
    assert code == 0, drawn
    shown = ESCAPE.sub("", drawn)
    assert "duration reached" in shown
    readings = STATUS.findall(shown)
    assert len(readings) >= 2, shown
    assert re.search(r"  [1-9]\d* kb/s  ", shown), shown  # a measured bitrate
    assert "\x1b[2K" in drawn  # the line is redrawn in place
    result = config.parent / "result.txt"
    code, drawn = on_terminal(
        ["-c", str(config), "record", "bars", "--for", "3s"], config.parent, stdout=result
    )
    assert code == 0 and STATUS.search(ESCAPE.sub("", drawn)), drawn
    printed = result.read_text()
    assert printed.startswith("channel 'bars': duration reached") and "\x1b" not in printed
    assert "writing" not in printed and "duration reached" not in drawn


@pytest.mark.slow
def test_record_in_a_pipe_and_with_q_draws_no_progress(config: Path) -> None:
    """Piped: event lines but no status line and no control sequence; -q: no progress line at all;
    a dumb terminal: the event lines only."""
    done = in_pipe(["-c", str(config), "record", "bars", "--for", "3s"], config.parent)
    assert done.returncode == 0, done.stderr
    assert "bars: recording into" in done.stderr and "bars: finished" in done.stderr
    assert "writing" not in done.stderr and "kb/s" not in done.stderr
    assert "\x1b" not in done.stderr + done.stdout and "\r" not in done.stderr
    quiet = in_pipe(["record", "bars", "--for", "3s", "-q", "-c", str(config)], config.parent)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert "channel 'bars': duration reached" in quiet.stdout and ".ts  " in quiet.stdout
    code, drawn = on_terminal(["-q", "-c", str(config), "record", "bars", "--for", "3s"],
                              config.parent)  # fmt: skip
    assert code == 0 and "duration reached" in drawn
    assert "writing" not in drawn and "kb/s" not in drawn and "recording into" not in drawn
    code, drawn = on_terminal(["-c", str(config), "record", "bars", "--for", "3s"], config.parent,
                              term="dumb")  # fmt: skip
    assert code == 0 and "recording into" in drawn and "kb/s" not in drawn  # cannot redraw


def _playlist(path: Path, entries: int) -> None:
    lines = ["#EXTM3U"]
    for n in range(entries):
        lines += [f'#EXTINF:-1 group-title="Group {n % 5}",Channel {n}', f"http://127.0.0.1:9/{n}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_import_m3u_shows_bars_on_a_terminal_only(write_config, tmp_path: Path) -> None:
    """A 1,000-entry playlist: the entries bar reaches 1000/1000 on a terminal; a pipe sees none."""
    playlist = tmp_path / "big.m3u"
    _playlist(playlist, 1000)
    first = write_config({"settings.yaml": "settings: {timezone: UTC}\n"}, name="first")
    code, drawn = on_terminal(["-c", str(first), "import", "m3u", str(playlist)], tmp_path)
    shown = ESCAPE.sub("", drawn)
    assert code == 0, shown
    assert re.search(r"playlist entries\s.*1000/1000", shown), shown
    assert "parsing 2002 lines" in shown
    assert "1000 channels and 5 new categories written to" in shown
    second = write_config({"settings.yaml": "settings: {timezone: UTC}\n"}, name="second")
    done = in_pipe(["import", "m3u", str(playlist), "-c", str(second)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1000 channels and 5 new categories written to" in done.stdout
    assert done.stderr == "" and "\x1b" not in done.stdout


def test_tables_have_borders_on_a_terminal_and_none_with_plain(config: Path) -> None:
    """`channel list` draws a box table on a terminal; `-o plain` there prints aligned columns."""
    code, drawn = on_terminal(["-c", str(config), "channel", "list"], config.parent)
    assert code == 0 and "╭" in drawn and "│ bars" in ESCAPE.sub("", drawn), drawn
    code, drawn = on_terminal(["-c", str(config), "channel", "list", "-o", "plain"], config.parent)
    shown = ESCAPE.sub("", drawn)
    assert code == 0 and "╭" not in shown and "│" not in shown
    assert re.search(r"^CHANNEL +CATEGORY +URL +DECLARED AT\r?$", shown, re.M), shown
