"""The container entrypoint adds CHANNEL_NAME/CHANNEL_URL/CATEGORY once, then becomes streamrec."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.py"
BIN = Path(sys.executable).parent
SETTINGS = "# the user's settings\nsettings:\n  timezone: UTC\n"


def run(args: list[str], env: dict[str, str], path: str = "") -> subprocess.CompletedProcess[str]:
    """The entrypoint as the image runs it (a real process), with streamrec on PATH."""
    base = {
        "PATH": f"{path}{os.pathsep if path else ''}{BIN}{os.pathsep}/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    return subprocess.run(
        [sys.executable, str(ENTRYPOINT), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_channel_variables_it_just_runs_streamrec(write_config):
    """No CHANNEL_* variables: the arguments go to streamrec untouched."""
    config = write_config(
        {"settings.yaml": SETTINGS, "c.yaml": "channels: {a: {url: 'http://h/a'}}\n"}
    )
    done = run(["validate"], {"STREAMREC_CONFIG": str(config)})
    assert done.returncode == 0, done.stderr
    assert "1 channels" in done.stdout
    assert sorted(p.name for p in config.iterdir()) == ["c.yaml", "settings.yaml"]


def test_a_writable_config_gets_the_channel_once(write_config):
    """The channel and its category go to channels.yaml; a second start changes nothing."""
    config = write_config({"settings.yaml": SETTINGS})
    env = {
        "STREAMREC_CONFIG": str(config),
        "CHANNEL_NAME": "trt-haber",
        "CHANNEL_URL": "http://127.0.0.1:9/trt.m3u8",
        "CATEGORY": "news",
    }
    done = run(["validate"], env)
    assert done.returncode == 0, done.stderr
    assert f"added channel 'trt-haber' to {config / 'channels.yaml'}" in done.stderr
    assert "1 categories, 1 channels" in done.stdout
    written = (config / "channels.yaml").read_text()
    assert written == (
        "categories:\n  news: {}\n\nchannels:\n  trt-haber:\n"
        "    url: http://127.0.0.1:9/trt.m3u8\n    category: news\n"
    )
    again = run(["validate"], {**env, "CHANNEL_URL": "http://127.0.0.1:9/other.m3u8"})
    assert again.returncode == 0
    assert "is declared at" in again.stderr and "CHANNEL_URL is not used" in again.stderr
    assert (config / "channels.yaml").read_text() == written


def test_a_read_only_config_is_left_alone_and_an_overlay_in_the_state_dir_adds_the_channel(
    write_config, tmp_path
):
    """In overlay mode /config is untouched; streamrec reads the overlay with the same paths."""
    config = write_config({"settings.yaml": SETTINGS})
    before = {p.name: p.read_bytes() for p in config.iterdir()}
    state = tmp_path / "state"
    env = {
        "STREAMREC_CONFIG": str(config),
        "STREAMREC_STATE_DIR": str(state),
        "STREAMREC_BOOTSTRAP": "overlay",
        "CHANNEL_NAME": "radio",
        "CHANNEL_URL": "http://127.0.0.1:9/radio.aac",
    }
    done = run(["channel", "list", "-o", "json"], env)
    assert done.returncode == 0, done.stderr
    assert '"name": "radio"' in done.stdout
    assert {p.name: p.read_bytes() for p in config.iterdir()} == before
    overlay = state / "config-overlay"
    assert (overlay / "base").resolve() == config.resolve()
    bootstrap = (overlay / "bootstrap.yaml").read_text()
    assert f"recordings_dir: {config.parent / 'recordings'}" in bootstrap
    assert f"state_dir: {config.parent / 'state'}" in bootstrap


def test_a_bad_channel_or_a_missing_url_stops_the_start_with_the_reason(write_config):
    """A URL that does not validate is reported located; a name without a URL is refused."""
    config = write_config({"settings.yaml": SETTINGS})
    env = {"STREAMREC_CONFIG": str(config), "CHANNEL_NAME": "x"}
    done = run(["run"], env)
    assert done.returncode == 1
    assert "set both CHANNEL_NAME and CHANNEL_URL" in done.stderr
    done = run(["run"], {**env, "CHANNEL_URL": "no scheme"})
    assert done.returncode == 1
    assert "channels.yaml:3:10: channels.x.url: expected a URL like" in done.stderr
    assert not (config / "channels.yaml").exists()


def test_the_entrypoint_process_becomes_streamrec(tmp_path):
    """exec, not a child: streamrec has the entrypoint's PID, so signals from tini reach it."""
    fake = tmp_path / "bin" / "streamrec"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport os, sys\nprint(os.getpid(), *sys.argv[1:])\n")
    fake.chmod(0o755)
    process = subprocess.Popen(
        [sys.executable, str(ENTRYPOINT)],
        env={"PATH": f"{fake.parent}:/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = process.communicate(timeout=30)
    assert out.split() == [str(process.pid), "run"]
