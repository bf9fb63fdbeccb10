"""The config API of a real daemon: read, check and save the config directory over HTTP.

Each module-level daemon runs ``streamrec run`` on a temporary config directory with TCP and an
admin token (``webkit.serve``); the files are compared byte for byte before and after.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from webkit import TOKEN, Served, finish, serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PASSWORD = "pw-9c41d7e2b0"
SECRET_URL = f"http://viewer:{PASSWORD}@127.0.0.1:9/news.m3u8"
VIEWER = "view-5e1d0c8a77"
CONFIG = f"""
    # the categories first
    categories:
      news: {{description: News}}  # kept as written

    channels:
      # the one channel there is
      news:
        url: "{SECRET_URL}"
        category: news
        enabled: false
    """


def files_of(served: Served) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(served.daemon.config.iterdir())}


def post(served: Served, path: str, body: Any, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return served.http.post(path, json=body, headers=headers, timeout=60)


def get(served: Served, path: str, **params: Any) -> httpx.Response:
    """A read with the viewer token (reads need one while a viewer token is configured)."""
    return served.http.get(path, params=params, headers={"Authorization": f"Bearer {VIEWER}"})


def events_of(served: Served, kind: str) -> list[dict[str, Any]]:
    found = get(served, "/api/events", limit=1000).json()["events"]
    return [e for e in found if e["type"] == kind]


def wait_until(what: str, test: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := test():
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("config-api")
    served = serve(root, CONFIG, token=TOKEN, STREAMREC_VIEWER_TOKEN=VIEWER)
    served.daemon.write("channels.yaml", CONFIG)
    (served.daemon.config / "config.yaml").unlink()
    served.daemon.wait_for(
        lambda e: e["type"] == "config.applied" and "channel/news" in str(e.get("diff"))
    )
    yield served
    finish(served)


def test_reading_the_config_hides_the_secret(api: Served) -> None:
    assert api.get("/api/config").status_code == 401
    answer = get(api, "/api/config")
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["mode"] == "directory" and data["why"] is None and data["git"] is None
    (entry,) = [f for f in data["files"] if f["path"] == "channels.yaml"]
    assert entry["secrets"] is True
    assert PASSWORD not in answer.text
    assert "http://viewer:***@127.0.0.1:9/news.m3u8" in entry["text"]
    assert "# the one channel there is" in entry["text"]
    schema = get(api, "/api/config/schema")
    assert schema.status_code == 200 and "channels" in schema.json()["properties"]


def test_posts_need_the_admin_role(api: Served) -> None:
    body = {"ops": [{"op": "remove", "section": "channels", "name": "news"}]}
    assert post(api, "/api/config/check", body, token=None).status_code == 401
    refused = post(api, "/api/config/save", body, token=VIEWER)
    assert refused.status_code == 403 and "admin" in refused.json()["error"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"ops": [], "extra": 1}, "unknown key 'extra'"),
        ({"ops": [{"op": "upsert", "section": "channels", "name": 3}]}, "name must be a string"),
        ({"files": {"../x.yaml": "a: 1"}}, "relative to the config directory"),
        ({"files": {".hidden.yaml": "a: 1"}}, "no dot-names"),
        ({"files": {"notes.txt": "a: 1"}}, ".yaml or .yml"),
        ({"files": {}, "ops": []}, "exactly one of"),
    ],
)
def test_bad_bodies_are_400_with_what_is_wrong(api: Served, body: Any, words: str) -> None:
    answer = post(api, "/api/config/check", body)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["error"]


def test_bodies_that_are_not_json_or_too_large_are_400(api: Served) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for raw, words in [
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"ops": [', "not JSON"),
        (b'{"ops": 1, "ops": 2}', "appears twice"),
        (b'{"files": {"a.yaml": NaN}}', "not a JSON number"),
        (b'{"files": {"a.yaml": "' + b"x" * (1024 * 1024) + b'"}}', "over 1024 KiB"),
    ]:
        answer = api.http.post("/api/config/check", content=raw, headers=headers)
        assert answer.status_code == 400, (raw[:20], answer.text)
        assert words in answer.json()["error"]


def test_a_bad_ops_edit_is_located_and_nothing_is_written(api: Served) -> None:
    before = files_of(api)
    body = {
        "ops": [
            {
                "op": "upsert",
                "section": "channels",
                "name": "radio",
                "value": {"url": "http://127.0.0.1:9/radio.m3u8", "categroy": "news"},
            }
        ]
    }
    answer = post(api, "/api/config/check", body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["ok"] is False and data["mode"] == "directory"
    (problem,) = [p for p in data["problems"] if "categroy" in p["message"]]
    assert problem["file"] == "channels.yaml" and problem["line"] > 0 and problem["col"] > 0
    assert files_of(api) == before
    saved = post(api, "/api/config/save", body)
    assert saved.status_code == 422 and saved.json()["problems"]
    assert files_of(api) == before


def test_saving_a_channel_adds_exactly_that_entry_and_the_daemon_applies_it(api: Served) -> None:
    path = api.daemon.config / "channels.yaml"
    before = path.read_text()
    after_seq = api.daemon.last_seq()
    value = {"url": "http://127.0.0.1:9/radio.m3u8", "category": "news", "enabled": False}
    body = {"ops": [{"op": "upsert", "section": "channels", "name": "radio", "value": value}]}
    checked = post(api, "/api/config/check", body).json()
    assert checked["ok"] is True, checked
    assert checked["plan"] == ["+ channel/radio"]
    assert path.read_text() == before  # a check writes nothing
    saved = post(api, "/api/config/save", body)
    assert saved.status_code == 200, saved.text
    data = saved.json()
    assert data["saved_to"] == "directory" and data["plan"] == ["+ channel/radio"]
    assert data["reconcile"]["ok"] is True
    after = path.read_text()
    diff = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if not line.startswith(("---", "+++", "@@"))
    ]
    assert all(line.startswith("+") for line in diff), diff
    assert "radio:" in "".join(diff) and "http://127.0.0.1:9/radio.m3u8" in "".join(diff)
    assert after.startswith(before.rstrip("\n"))  # every old byte kept, the comments with them
    assert PASSWORD in after  # the untouched secret is still there
    status = get(api, "/api/status").json()
    assert "radio" in status["channels"]
    (event,) = [e for e in events_of(api, "config.changed") if e["seq"] > after_seq]
    assert event["role"] == "admin" and event["saved_to"] == "directory"
    assert event["files"] == ["channels.yaml"] and event["summary"] == "channel radio added"
    assert "+  radio:" in event["diff"] and PASSWORD not in json.dumps(event)
    applied = api.daemon.wait_for(lambda e: e["type"] == "config.applied", after=after_seq)
    assert "channel/radio" in applied["diff"]["added"]


def test_a_whole_file_with_a_yaml_error_is_422_located_and_not_written(api: Served) -> None:
    before = files_of(api)
    answer = post(api, "/api/config/save", {"files": {"channels.yaml": "channels:\n  a: [\n"}})
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["problems"]
    assert problem["file"] == "channels.yaml" and problem["line"] >= 2
    assert "YAML" in problem["message"]
    assert files_of(api) == before


def test_the_editor_text_keeps_its_secret_and_a_marker_it_changed_is_refused(api: Served) -> None:
    shown = next(f for f in get(api, "/api/config").json()["files"] if f["path"] == "channels.yaml")
    path = api.daemon.config / "channels.yaml"
    before = path.read_bytes()
    edited = shown["text"].replace("description: News", "description: World news")
    answer = post(api, "/api/config/check", {"files": {"channels.yaml": edited}})
    data = answer.json()
    assert data["ok"] is True, data
    assert PASSWORD not in answer.text
    (change,) = data["changes"]
    assert "+  news: {description: World news}" in change["diff"]
    assert "viewer:***@" not in change["diff"]  # the secret's line is not part of the change
    assert data["plan"] == ["~ category/news", "    description: News -> World news"]
    retyped = edited.replace("viewer:***@", "other:***@")
    refused = post(api, "/api/config/save", {"files": {"channels.yaml": retyped}})
    assert refused.status_code == 422
    (problem,) = refused.json()["problems"]
    assert problem["file"] == "channels.yaml" and "redaction marker" in problem["message"]
    assert path.read_bytes() == before
    saved = post(api, "/api/config/save", {"files": {"channels.yaml": edited}})
    assert saved.status_code == 200, saved.text
    assert PASSWORD not in saved.text
    text = path.read_text()
    assert PASSWORD in text and "World news" in text and "# kept as written" in text


def test_a_new_file_is_saved_and_one_outside_is_refused(api: Served) -> None:
    text = "tasks:\n  hello: {command: 'echo hello'}\n"
    saved = post(api, "/api/config/save", {"files": {"tasks.yaml": text}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["plan"] == ["+ task/hello"]
    assert (api.daemon.config / "tasks.yaml").read_text() == text
    outside = api.daemon.root / "elsewhere.yaml"
    (api.daemon.config / "link.yaml").symlink_to(outside)
    try:
        answer = post(api, "/api/config/save", {"files": {"link.yaml": text}})
        assert answer.status_code == 422
        assert "leads out of the config directory" in answer.text
        assert not outside.exists()
    finally:
        (api.daemon.config / "link.yaml").unlink()


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Served]:
    served = serve(tmp_path, CONFIG, token=TOKEN, STREAMREC_CONFIG_READ_ONLY="1")
    yield served
    finish(served)


def test_a_read_only_config_answers_a_patch_and_writes_nothing(read_only: Served) -> None:
    data = read_only.get("/api/config").json()
    assert data["mode"] == "read-only" and "STREAMREC_CONFIG_READ_ONLY" in data["why"]
    before = files_of(read_only)
    value = {"url": "http://127.0.0.1:9/radio.m3u8", "enabled": False}
    ops = [{"op": "upsert", "section": "channels", "name": "radio", "value": value}]
    answer = post(read_only, "/api/config/save", {"ops": ops, "file": "config.yaml"})
    assert answer.status_code == 409, answer.text
    data = answer.json()
    assert data["saved_to"] == "patch" and "read-only" in data["error"]
    assert "+++ b/config.yaml" in data["patch"] and "+  radio:" in data["patch"]
    assert "radio:" in data["files"]["config.yaml"]
    assert PASSWORD not in answer.text
    assert files_of(read_only) == before
    (event,) = events_of(read_only, "config.changed")
    assert event["saved_to"] == "patch" and event["role"] == "admin"


def test_the_daemons_own_user_saves_on_the_control_socket_as_local(api: Served) -> None:
    sock = api.daemon.state / "daemon.sock"
    transport = httpx.HTTPTransport(uds=str(sock))
    after = api.daemon.last_seq()
    with httpx.Client(transport=transport, base_url="http://streamrec", timeout=60) as local:
        body = {"ops": [{"op": "upsert", "section": "categories", "name": "talk", "value": {}}]}
        saved = local.post("/api/config/save", json=body)
    assert saved.status_code == 200, saved.text
    (event,) = [e for e in events_of(api, "config.changed") if e["seq"] > after]
    assert event["role"] == "local" and event["summary"] == "category talk added"
