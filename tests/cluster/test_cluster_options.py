"""``run --cluster``: a bad URL and a shard given with a cluster are refused before anything starts,
with a message that says what to do; no etcd is needed for that."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHANNELS = "channels:\n  news: {url: 'http://127.0.0.1:9/news.m3u8'}\n"


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None, settings: str = ""):
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "channels.yaml").write_text(CHANNELS + settings)
    environ = {**os.environ, "STREAMREC_STATE_DIR": str(tmp_path / "state"), **(env or {})}
    for name in ("STREAMREC_SHARD", "STREAMREC_CLUSTER"):
        if name not in (env or {}):
            environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "streamrec", "-c", str(config), "run", *args],
        capture_output=True, text=True, timeout=60, env=environ, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--shard", "0/2", "--cluster", "etcd://127.0.0.1:9/x"], {}),
        (["--cluster", "etcd://127.0.0.1:9/x"], {"STREAMREC_SHARD": "1/2"}),
        (["--shard", "0/2"], {"STREAMREC_CLUSTER": "etcd://127.0.0.1:9/x"}),
    ],
)
def test_a_shard_and_a_cluster_cannot_be_combined(tmp_path, args, env):
    done = run(tmp_path, *args, env=env)
    assert done.returncode == 1, done.stderr
    assert "cannot be combined" in done.stderr
    assert not (tmp_path / "state" / "events.jsonl").exists()


def test_a_shard_with_a_cluster_in_the_settings_is_refused_by_the_daemon(tmp_path):
    settings = "settings: {cluster: 'etcd://127.0.0.1:9/x'}\n"
    done = run(tmp_path, "--shard", "0/2", settings=settings)
    assert done.returncode == 1, done.stderr
    assert "cannot be combined" in done.stderr


def test_a_bad_cluster_url_is_refused_without_its_password(tmp_path):
    done = run(tmp_path, "--cluster", "etcd://user:hunter2@127.0.0.1:9/x")
    assert done.returncode == 1
    assert "credentials" in done.stderr and "hunter2" not in done.stderr + done.stdout
