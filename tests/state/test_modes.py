"""Everything streamrec creates under the state directory is private: 0700 directories, 0600 files."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamrec.state.journal import Journal

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

STREAMREC = [sys.executable, "-m", "streamrec"]
CONFIG = "tasks:\n  hello: {command: 'echo hello; echo oops >&2'}\n"


class Setup:
    """A config dir with one task and its state dir, driven by real streamrec processes."""

    def __init__(self, root: Path) -> None:
        self.root, self.config, self.state = root, root / "config", root / "state"
        self.config.mkdir()
        (self.config / "tasks.yaml").write_text(CONFIG)
        self.env = {**os.environ, "STREAMREC_STATE_DIR": str(self.state)}
        self.env.pop("STREAMREC_CONFIG", None)
        self.log = root / "daemon.log"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a CLI command under umask 000, so only explicit modes can keep files private."""
        done = subprocess.run(
            [*STREAMREC, "-c", str(self.config), *args],
            cwd=self.root, env=self.env, capture_output=True, text=True, timeout=60, umask=0,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done

    def start_daemon(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                [*STREAMREC, "-c", str(self.config), "run"],
                cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT, umask=0,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while (
            not (self.state / "daemon.sock").exists() or not (self.state / "daemon.json").exists()
        ):
            assert proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)
        return proc


def loose_paths(root: Path) -> list[str]:
    """Paths under ``root`` (itself included) that are not 0700 directories or 0600 files."""
    found = []
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        mode = stat.S_IMODE(info.st_mode)
        want = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
        if mode != want:
            found.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return found


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_cli_commands_and_the_daemon_create_only_private_paths(tmp_path):
    """apply, task run (alone and through the daemon) and a daemon start leave 0700/0600 only."""
    s = Setup(tmp_path)
    s.cli("apply")
    assert loose_paths(s.state) == []
    s.cli("task", "run", "hello")
    assert list((s.state / "logs").rglob("*.stdout.log"))
    assert loose_paths(s.state) == []
    proc = s.start_daemon()
    try:
        assert stat.S_ISSOCK((s.state / "daemon.sock").lstat().st_mode)
        s.cli("task", "run", "hello")
        assert len(list((s.state / "logs").rglob("*.stderr.log"))) == 2
        assert loose_paths(s.state) == []
    finally:
        stop(proc)
    assert loose_paths(s.state) == []


def test_world_readable_state_dir_is_tightened_at_start_with_one_log_line(tmp_path):
    """A 0755/0644 state dir left by an older version becomes 0700/0600 when the daemon starts."""
    s = Setup(tmp_path)
    with Journal(s.state) as journal:
        journal.append("note", text="left by an older version")
    (s.state / "logs" / "tasks").mkdir(parents=True)
    (s.state / "logs" / "tasks" / "old.log").write_text("output\n")
    for path in [s.state, *s.state.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    before = len([s.state, *s.state.rglob("*")])
    proc = s.start_daemon()
    try:
        assert loose_paths(s.state) == []
    finally:
        stop(proc)
    lines = [line for line in s.log.read_text().splitlines() if "tightened permissions" in line]
    assert len(lines) == 1
    assert f"tightened permissions of {before} paths under {s.state}" in lines[0]
    assert "(were world/group-readable)" in lines[0]
