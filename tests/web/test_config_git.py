"""The config API of a daemon following git (``run --git``): a save is a pushed commit, applied at once.

The remote is a bare repository in the test's tmp directory (``file://``); a clone of it plays the
colleague who pushes in the meantime. The daemon fetches only every 60 s, so a commit applied
within seconds was fetched because the save asked for it.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from webkit import TOKEN, Served, finish, serve_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PASSWORD = "pw-31f0aa9c5e"
CHANNELS = f"""\
# channels kept in git
channels:
  news:
    url: "http://viewer:{PASSWORD}@127.0.0.1:9/news.m3u8"
    enabled: false
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=c@example.com", "-c", "user.name=colleague", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def push(work: Path, files: dict[str, str], message: str) -> str:
    git(work, "pull", "--quiet", "--rebase", "origin", "main")
    for name, text in files.items():
        (work / name).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", message)
    git(work, "push", "--quiet", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


def head(bare: Path) -> str:
    return git(bare, "rev-parse", "refs/heads/main")


def save(served: Served, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return served.http.post("/api/config/save", json=body, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("config-git")
    bare = root / "config.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = root / "work"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    git(work, "checkout", "-q", "-b", "main")
    (work / "channels.yaml").write_text(CHANNELS)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "first")
    git(work, "push", "-q", "origin", "HEAD:main")
    return bare, work, git(work, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, repo: tuple[Path, Path, str]) -> Iterator[Served]:
    bare, _, first = repo
    served = serve_run(
        tmp_path_factory.mktemp("daemon"), None,
        "--git", f"file://{bare}", "--branch", "main", "--interval", "60s", token=TOKEN,
    )  # fmt: skip
    served.daemon.wait_for(lambda e: e["type"] == "config.applied" and e["git"]["commit"] == first)
    yield served
    finish(served)


def radio(name: str, url: str) -> dict[str, Any]:
    value = {"url": url, "enabled": False}
    return {"ops": [{"op": "upsert", "section": "channels", "name": name, "value": value}]}


def test_a_save_is_a_commit_on_the_branch_and_the_daemon_applies_it_at_once(api, repo):
    bare, _, first = repo
    data = api.get("/api/config").json()
    assert data["mode"] == "git"
    assert data["git"]["branch"] == "main" and data["git"]["commit"] == first
    assert PASSWORD not in json.dumps(data)
    after = api.daemon.last_seq()
    saved = save(api, radio("radio", "http://127.0.0.1:9/radio.m3u8"))
    assert saved.status_code == 200, saved.text
    answer = saved.json()
    assert answer["saved_to"] == "git" and answer["commit"] == head(bare)
    assert answer["plan"] == ["+ channel/radio"]
    message = git(bare, "log", "-1", "--format=%an%n%B", "main")
    assert message.splitlines()[:4] == ["admin", "channel radio added", "", "+ channel/radio"]
    text = git(bare, "show", "main:channels.yaml")
    assert text.startswith(CHANNELS.rstrip("\n")) and "radio:" in text  # comment and secret kept
    started = time.monotonic()
    applied = api.daemon.wait_for(
        lambda e: e["type"] == "config.applied" and e["git"]["commit"] == answer["commit"],
        after=after, timeout=15,
    )  # fmt: skip
    assert time.monotonic() - started < 10  # not the 60 s interval
    assert "channel/radio" in applied["diff"]["added"]
    (event,) = [
        e for e in api.daemon.events() if e["type"] == "config.changed" and e["seq"] > after
    ]
    assert event["saved_to"] == "git" and event["commit"] == answer["commit"]
    assert event["role"] == "admin" and PASSWORD not in json.dumps(event)


def test_a_push_by_someone_else_to_another_file_is_rebased_past(api, repo):
    bare, work, _ = repo
    theirs = push(work, {"tasks.yaml": "tasks:\n  hello: {command: 'echo hello'}\n"}, "a task")
    saved = save(api, radio("jazz", "http://127.0.0.1:9/jazz.m3u8"))
    assert saved.status_code == 200, saved.text
    answer = saved.json()
    assert answer["rebased"] is True and answer["commit"] == head(bare)
    assert git(bare, "rev-parse", "main^") == theirs
    api.daemon.wait_for(
        lambda e: e["type"] == "config.applied" and e["git"]["commit"] == answer["commit"],
        timeout=15,
    )


def test_a_push_by_someone_else_to_the_same_lines_is_a_409_conflict(api, repo):
    bare, work, _ = repo
    git(work, "pull", "--quiet", "--rebase", "origin", "main")
    text = (work / "channels.yaml").read_text().replace("news.m3u8", "news-hd.m3u8")
    theirs = push(work, {"channels.yaml": text}, "news in HD")
    saved = save(api, radio("news", "http://127.0.0.1:9/news-sd.m3u8"))
    assert saved.status_code == 409, saved.text
    answer = saved.json()
    assert answer["conflict"] == ["channels.yaml"] and answer["saved_to"] == "patch"
    assert "news-sd.m3u8" in answer["patch"] and PASSWORD not in saved.text
    assert head(bare) == theirs


def test_a_change_that_would_not_validate_on_top_of_someone_elses_is_not_pushed(api, repo):
    bare, work, _ = repo
    theirs = push(work, {"talk.yaml": "categories:\n  talk: {description: Talk}\n"}, "talk")
    body = {
        "ops": [{"op": "upsert", "section": "categories", "name": "talk", "value": {}}],
        "file": "mine.yaml",
    }
    saved = save(api, body)
    assert saved.status_code == 409, saved.text
    answer = saved.json()
    assert answer["conflict"] == [] and answer["saved_to"] == "patch"
    (problem,) = answer["problems"]
    assert "declared twice" in problem and problem.startswith(("mine.yaml", "talk.yaml"))
    assert head(bare) == theirs
