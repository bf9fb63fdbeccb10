"""The config API's service in-process: a change checked as a whole, located, saved or refused.

``app.configadmin.ConfigAdmin`` on a temporary config directory with the loader run in this
process (the daemon hands it its loader worker); the real daemon is in ``test_config_api.py``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from streamrec.app.applying import desired_of
from streamrec.app.configadmin import READ_ONLY_VARIABLE, ConfigAdmin, read_only_reason
from streamrec.app.configchecks import restore
from streamrec.app.configrequest import BadRequest, ConfigRequest, parse_request
from streamrec.core import planning
from streamrec.core.events import ConfigChanged, Event
from streamrec.core.redact import Redactor
from streamrec.spec.editing import Remove, Upsert
from streamrec.spec.loading import LoadedConfig, load_config

SECRET = "pw-0b7e11c3d9"
CHANNELS = (
    "# channels\r\n"
    "channels:\r\n"
    f"  news: {{url: 'http://u:{SECRET}@127.0.0.1:9/n.m3u8', enabled: false}}  # the news\r\n"
)
HIDE = Redactor.of([SECRET])


async def load(directory: Path) -> tuple[LoadedConfig, planning.Desired]:
    loaded = load_config(directory, {})
    return loaded, desired_of(loaded)


class Admin:
    """A ConfigAdmin over ``directory`` with the events it emitted and the reconciles asked for."""

    def __init__(self, directory: Path, environ: dict[str, str] | None = None) -> None:
        self.events: list[Event] = []
        self.reconciles: list[str] = []
        self.directory = directory

        async def reconcile(reason: str) -> dict[str, Any]:
            self.reconciles.append(reason)
            return {"ok": True, "revision": "r"}

        applied = asyncio.run(load(directory))[1].applied()  # what the daemon runs
        self.admin = ConfigAdmin(
            config_dir=lambda: directory, environ=environ or {}, load=load,
            applied=lambda: applied, redact=HIDE.value, emit=self.events.append,
            reconcile=reconcile,
        )  # fmt: skip

    def check(self, request: ConfigRequest) -> Any:
        return asyncio.run(self.admin.check(request))

    def save(self, request: ConfigRequest) -> Any:
        return asyncio.run(self.admin.save(request, "admin", "alice"))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "channels.yaml").write_bytes(CHANNELS.encode())
    return directory


def test_bodies_are_read_strictly() -> None:
    ops = parse_request(
        {"ops": [{"op": "upsert", "section": "channels", "name": "a", "value": {"url": "x"}}]}
    )
    assert ops.ops == (Upsert("channels", "a", {"url": "x"}),)
    assert parse_request({"ops": [{"op": "remove", "section": "tasks", "name": "t"}]}).ops == (
        Remove("tasks", "t"),
    )
    for body, words in [
        ([], "must be a JSON object"),
        ({"ops": [{"op": "remove", "section": "tasks", "name": "t", "value": {}}]}, "'value'"),
        ({"ops": [{"op": "upsert", "section": "settings", "name": "s", "value": {}}]}, "section"),
        ({"ops": [{"op": "upsert", "section": "tasks", "name": "t", "value": []}]}, "object"),
        ({"ops": [{"op": "upsert", "section": "tasks", "name": "t", "unset": "x"}]}, "unset"),
        ({"files": {"a.yaml": 1}}, "must be a string"),
        ({"files": {"/etc/a.yaml": ""}}, "relative"),
        ({"files": {"a.yaml": ""}, "file": "b.yaml"}, "belongs to 'ops'"),
        ({"files": {"a.yaml": ""}, "message": 3}, "message must be a string"),
    ]:
        with pytest.raises(BadRequest, match=words):
            parse_request(body)


def test_a_line_sent_back_as_shown_gets_its_secret_back() -> None:
    before = "a: http://u:pw-0b7e11c3d9@h/x\nb: '***'\n"
    shown = HIDE.text(before)
    assert SECRET not in shown
    assert restore(before, shown + "c: 1\n", HIDE.text) == (before + "c: 1\n", [])
    changed = shown.replace("h/x", "h/y")
    assert restore(before, changed, HIDE.text)[1] == [(1, 13)]
    twice = "a: http://u:pw-0b7e11c3d9@h/x\na: http://u:other-secret-1@h/x\n"
    ambiguous = HIDE.with_secrets(["other-secret-1"]).text
    assert restore(twice, ambiguous(twice), ambiguous)[1] == [(1, 13), (2, 13)]


def test_a_check_is_located_relative_to_the_config_dir_and_writes_nothing(config: Path) -> None:
    admin = Admin(config)
    body = parse_request(
        {
            "ops": [
                {"op": "upsert", "section": "channels", "name": "b", "value": {"url": 3, "x": 1}}
            ],
            "file": "more/b.yaml",
        }
    )
    answer = admin.check(body)
    assert answer.status == 200 and answer.body["ok"] is False
    files = {p["file"] for p in answer.body["problems"]}
    assert files == {"more/b.yaml"}, answer.body
    assert not (config / "more").exists() and admin.events == []


def test_a_save_keeps_crlf_and_comments_and_hides_the_secret(config: Path) -> None:
    admin = Admin(config)
    shown = HIDE.text(CHANNELS).replace("\r\n", "\n")  # as a browser sends it back
    edited = shown + "categories:\n  music: {}\n"
    answer = admin.save(ConfigRequest(files={"channels.yaml": edited}))
    assert answer.status == 200, answer.body
    assert answer.body["saved_to"] == "directory" and answer.body["plan"] == ["+ category/music"]
    text = (config / "channels.yaml").read_bytes().decode()
    assert text == CHANNELS + "categories:\r\n  music: {}\r\n"
    assert admin.reconciles == ["config saved over the HTTP API"]
    (event,) = admin.events
    assert isinstance(event, ConfigChanged)
    assert event.who == "alice" and event.summary == "category music added"
    assert SECRET not in event.diff and SECRET not in str(answer.body)


def test_a_fifo_among_the_files_is_the_loaders_problem_not_a_hang(config: Path) -> None:
    admin = Admin(config)
    os.mkfifo(config / "pipe.yaml")
    answer = admin.check(ConfigRequest(files={"pipe.yaml": "channels: {}\n"}))
    (problem,) = answer.body["problems"]
    assert problem["file"] == "pipe.yaml" and "FIFO" in problem["message"]


def test_removing_every_channel_is_refused_as_the_daemon_would(config: Path) -> None:
    admin = Admin(config)
    answer = admin.save(ConfigRequest(ops=(Remove("channels", "news"),)))
    assert answer.status == 422
    assert "removes every channel and task" in answer.body["problems"][0]["message"]
    assert (config / "channels.yaml").read_bytes() == CHANNELS.encode()


def test_read_only_is_found_from_the_variable_the_mount_and_the_permissions(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert read_only_reason(config, {}) is None
    assert "is set" in (read_only_reason(config, {READ_ONLY_VARIABLE: "1"}) or "")
    real = os.statvfs

    class Mounted:
        def __init__(self, result: os.statvfs_result) -> None:
            self.f_flag = result.f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda path: Mounted(real(path)))
    assert read_only_reason(config, {}) == "the config directory is mounted read-only"
    monkeypatch.setattr(os, "statvfs", real)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert "not writable" in (read_only_reason(config, {}) or "")
    admin = Admin(config)
    answer = admin.save(ConfigRequest(ops=(Upsert("categories", "music", {}),)))
    assert answer.status == 409 and answer.body["saved_to"] == "patch"
    assert "music" in answer.body["files"]["channels.yaml"]
    assert (config / "channels.yaml").read_bytes() == CHANNELS.encode()


def test_a_file_that_cannot_be_written_leaves_every_file_as_it_was(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamrec.app import configwrite

    real = configwrite._prepared
    calls: list[Path] = []

    def failing(path: Path, text: str) -> Path:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(path))
        return real(path, text)

    monkeypatch.setattr(configwrite, "_prepared", failing)
    files = {"channels.yaml": CHANNELS + "categories: {music: {}}\n", "more.yaml": "tasks: {}\n"}
    with pytest.raises(Exception, match="No space left on device; nothing written"):
        Admin(config).save(ConfigRequest(files=files))
    assert (config / "channels.yaml").read_bytes() == CHANNELS.encode()
    assert sorted(p.name for p in config.iterdir()) == ["channels.yaml"]  # no temporary file left


def test_a_problem_names_the_other_file_relative_to_the_config_dir_too(config: Path) -> None:
    twice = {"b.yaml": "channels:\n  news: {url: 'http://127.0.0.1:9/b.m3u8'}\n"}
    answer = Admin(config).check(ConfigRequest(files=twice))
    (problem,) = answer.body["problems"]
    assert problem["file"] == "channels.yaml"
    assert problem["message"].endswith("declared twice: here and at b.yaml:2:3")
